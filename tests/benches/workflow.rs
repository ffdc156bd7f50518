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

fn benchmarks(c: &mut Criterion) {
    for package in [
        "lead-scorer",
        "copy-drafter",
        "email-outbox",
        "echo-guest",
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
        suspended: Default::default(),
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
        baton_tests::THREE_ECHO_STEPS
            .replace("{echo}", &plugin("echo-guest").display().to_string()),
    )
    .unwrap();
    let three = workflow_at(&three_path);
    let three_plugins = rt.block_on(plugins(&runtime, &three));
    let engine = Engine {
        suspended: Default::default(),
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

    // Many runs at once, as a server driving triggers would: each of `WORKERS`
    // threads starts runs back to back, and each run returns only once its events
    // are on disk. Group commit lets the runs waiting on the disk share one fsync.
    const WORKERS: usize = 8;
    let mut group = c.benchmark_group("workflow");
    group.throughput(criterion::Throughput::Elements(1));
    group.bench_function(
        "three-step runs, no gate, durable, 8 at a time (group commit)",
        |b| {
            b.iter_custom(|iters| {
                let started = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for worker in 0..WORKERS as u64 {
                        let engine = &engine;
                        let input = &input;
                        let runs =
                            iters / WORKERS as u64 + u64::from(worker < iters % WORKERS as u64);
                        scope.spawn(move || {
                            let rt = tokio::runtime::Builder::new_current_thread()
                                .enable_all()
                                .build()
                                .unwrap();
                            for _ in 0..runs {
                                let outcome = rt
                                    .block_on(engine.start(
                                        input.clone(),
                                        "w".into(),
                                        "d".into(),
                                        BTreeMap::new(),
                                    ))
                                    .unwrap();
                                assert_eq!(outcome.status(), baton_core::RunStatus::Completed);
                            }
                        });
                    }
                });
                started.elapsed()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
