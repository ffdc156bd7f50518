//! Workflow-level figures: the lead follow-up to its gate, and durable runs through a
//! three-step workflow with no gate, every step committed to sled.
//!
//! `cargo bench -p baton-tests --bench workflow` (see BENCHMARKS.md for results).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use baton_core::SystemClock;
use baton_engine::Engine;
use baton_runtime::{Call, PluginSet, Runtime, RuntimeOptions};
use baton_store::SledStore;
use baton_tests::{plugin, workspace_root};
use baton_workflow::Workflow;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;

/// Loads a workflow's plugins the way `host run` does.
async fn plugins(runtime: &Runtime, workflow: &Workflow) -> PluginSet {
    let mut set = BTreeMap::new();
    for decl in workflow.plugins.values() {
        let plugin = runtime.load(&decl.source).await.expect("plugin loads");
        let call = Call {
            config: Arc::new(decl.config.clone()),
            ..Call::default()
        };
        set.insert(decl.name.clone(), (plugin, call));
    }
    PluginSet::new(set)
}

fn workflow_at(path: &Path) -> Workflow {
    Workflow::parse(path, &std::fs::read_to_string(path).unwrap()).unwrap()
}

const THREE_STEPS: &str = r#"
name = "three-steps"
[plugins.echo]
source = "{hostile}"
[[steps]]
id = "one"
uses = "echo"
[[steps]]
id = "two"
uses = "echo"
input = "{{ steps.one.output }}"
[[steps]]
id = "three"
uses = "echo"
input = "{{ steps.two.output }}"
"#;

fn benchmarks(c: &mut Criterion) {
    for package in [
        "lead-scorer",
        "copy-drafter",
        "email-outbox",
        "hostile-guest",
        "tone-checker",
        "utm-tagger",
    ] {
        plugin(package);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(scratch.path().join("cache")),
        ..RuntimeOptions::default()
    })
    .unwrap();
    let store = SledStore::open(&scratch.path().join("state")).unwrap();

    let followup = workflow_at(&workspace_root().join("examples/lead-followup/workflow.toml"));
    let followup_plugins = rt.block_on(plugins(&runtime, &followup));
    let leads: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("examples/leads.json")).unwrap(),
    )
    .unwrap();
    let engine = Engine {
        workflow: &followup,
        store: &store,
        runner: &followup_plugins,
        clock: &SystemClock,
        observer: None,
        operator: "tester",
    };
    c.bench_function(
        "workflow/lead-followup to its gate (60 leads, in process)",
        |b| {
            b.iter(|| {
                let outcome = rt
                    .block_on(engine.start(leads.clone(), "w".into(), "d".into(), BTreeMap::new()))
                    .unwrap();
                assert_eq!(outcome.status(), baton_core::RunStatus::Waiting);
            })
        },
    );

    let three_path = scratch.path().join("three.toml");
    std::fs::write(
        &three_path,
        THREE_STEPS.replace("{hostile}", &plugin("hostile-guest").display().to_string()),
    )
    .unwrap();
    let three = workflow_at(&three_path);
    let three_plugins = rt.block_on(plugins(&runtime, &three));
    let engine = Engine {
        workflow: &three,
        store: &store,
        runner: &three_plugins,
        clock: &SystemClock,
        observer: None,
        operator: "tester",
    };
    let input = serde_json::json!({"lead": "Ana Okafor", "score": 93});
    c.bench_function(
        "workflow/three-step run, no gate, every step committed",
        |b| {
            b.iter(|| {
                let outcome = rt
                    .block_on(engine.start(input.clone(), "w".into(), "d".into(), BTreeMap::new()))
                    .unwrap();
                assert_eq!(outcome.status(), baton_core::RunStatus::Completed);
            })
        },
    );
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
