//! What a decision costs early and late in a long run: one run whose gate fans out
//! over 1,000 items, decided one by one in process (engine + wasmtime + sled, each
//! decision synced), printing the median time of the first and the last 20.
//!
//! `cargo bench -p baton-tests --bench late_decision` (see BENCHMARKS.md for results).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_core::{DecisionId, RunStatus, StepKey, SystemClock};
use baton_engine::{Decision, Engine};
use baton_runtime::{Call, PluginSet, Runtime, RuntimeOptions};
use baton_store::SledStore;
use baton_tests::{FAN_OUT, plugin};
use baton_workflow::Workflow;

const ITEMS: u32 = 1_000;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("fan-out.toml");
    std::fs::write(
        &path,
        FAN_OUT.replace("{echo}", &plugin("echo-guest").display().to_string()),
    )
    .unwrap();
    let workflow = Workflow::parse(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(scratch.path().join("cache")),
        ..RuntimeOptions::default()
    })
    .unwrap();
    let decl = &workflow.plugins["echo"];
    let echo = rt.block_on(runtime.load(&decl.source)).unwrap();
    let plugins = PluginSet::new(BTreeMap::from([(
        decl.name.clone(),
        (
            echo,
            Call {
                config: Arc::new(decl.config.clone()),
                ..Call::default()
            },
        ),
    )]));
    let store = SledStore::open(&scratch.path().join("state")).unwrap();
    let engine = Engine {
        suspended: Default::default(),
        workflow: &workflow,
        store: &store,
        runner: &plugins,
        clock: &SystemClock,
        observer: None,
        operator: "tester",
    };
    let items: Vec<_> = (0..ITEMS)
        .map(|n| serde_json::json!({"n": n, "note": "pay the invoice"}))
        .collect();
    let started = Instant::now();
    let outcome = rt
        .block_on(engine.start(
            serde_json::json!({ "items": items }),
            "w".into(),
            "d".into(),
            BTreeMap::new(),
        ))
        .unwrap();
    println!(
        "to the gate, {ITEMS} decisions opened: {:.1?}",
        started.elapsed()
    );
    let run = outcome.state.id.clone();
    let load = || {
        let started = Instant::now();
        engine.load(&run).unwrap();
        started.elapsed()
    };
    let first_load = median((0..20).map(|_| load()).collect());
    let mut times = Vec::with_capacity(ITEMS as usize);
    let mut last = None;
    for n in 0..ITEMS {
        let id = DecisionId::new(
            run.clone(),
            StepKey::item(
                baton_core::StepId::try_from("review".to_string()).unwrap(),
                n,
            ),
        );
        let started = Instant::now();
        let outcome = rt
            .block_on(engine.decide(&id, Decision::Approve { choice: 0 }, "tester"))
            .unwrap();
        times.push(started.elapsed());
        last = Some(outcome.status());
    }
    assert_eq!(last, Some(RunStatus::Completed));
    let last_load = median((0..20).map(|_| load()).collect());
    let total: Duration = times.iter().sum();
    println!(
        "decide, median of the first 20: {:.2?}",
        median(times[..20].to_vec())
    );
    println!(
        "decide, median of the last 20:  {:.2?}",
        median(times[times.len() - 20..].to_vec())
    );
    println!("all {ITEMS} decisions: {total:.2?}");
    println!(
        "load the run (show), at its first decision: {first_load:.2?}; after its last: {last_load:.2?}"
    );
}
