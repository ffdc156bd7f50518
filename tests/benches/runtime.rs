//! The runtime's per-plugin costs: compile, load from the cache, instantiate, and
//! invoke with a 1 KB input, beside the same scoring logic called natively; and one
//! model completion through the host, live from 127.0.0.1 and reused from the log.
//!
//! `cargo bench -p baton-tests --bench runtime` (see BENCHMARKS.md for results).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use baton_core::{ExchangeJournal, LlmExchange, LlmGrant, Provider, ProviderApi, StepCall};
use baton_runtime::{Call, LlmAccess, LlmTarget, Plugin, Runtime, RuntimeOptions};
use baton_tests::model_server::{ModelServer, Reply};
use baton_tests::plugin;
use criterion::{Criterion, criterion_group, criterion_main};

/// Leads whose JSON is about 1 KB.
fn one_kb_of_leads() -> String {
    let lead = r#"{"id": "L-1001", "company": "Northwind Analytics", "contact": "Ana Okafor", "title": "VP of Sales", "industry": "SaaS", "employees": 240, "website_visits": 6, "pricing_page_views": 3, "email_opens": 4, "email_replies": 1, "last_reply_days_ago": 1, "days_since_last_contact": 1, "deal_stage": "demo", "notes": "Asked for a quote for 40 seats."}"#;
    let input = format!("{{\"leads\": [{lead}, {lead}, {lead}]}}");
    assert!((900..1200).contains(&input.len()), "{} bytes", input.len());
    input
}

fn echo_call() -> Call {
    Call {
        config: Arc::new(BTreeMap::from([("mode".into(), "echo".into())])),
        ..Call::default()
    }
}

fn runtime(cache: Option<&std::path::Path>) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: cache.map(|p| p.to_path_buf()),
        ..RuntimeOptions::default()
    })
    .expect("a runtime")
}

fn benchmarks(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scorer_path = plugin("lead-scorer");
    let scorer_bytes = std::fs::read(&scorer_path).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cached = runtime(Some(cache.path()));
    let uncached = runtime(None);
    let scorer: Plugin = rt.block_on(cached.load(&scorer_path)).unwrap();
    let echo: Plugin = rt.block_on(cached.load(plugin("echo-guest"))).unwrap();
    let input = one_kb_of_leads();
    let echo_input = format!("{{\"payload\": \"{}\"}}", "x".repeat(1000));
    let hostile: Plugin = rt.block_on(cached.load(plugin("hostile-guest"))).unwrap();

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("compile (lead-scorer, no cache)", |b| {
        b.iter(|| {
            rt.block_on(uncached.load_bytes("lead-scorer", scorer_bytes.clone()))
                .unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("load");
    group.bench_function("from cache (lead-scorer)", |b| {
        b.iter_with_large_drop(|| rt.block_on(cached.load(&scorer_path)).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("call");
    group.bench_function("instantiate (fresh store)", |b| {
        b.iter(|| {
            rt.block_on(scorer.instantiate_only(&Call::default()))
                .unwrap()
        })
    });
    group.bench_function("invoke echo, 1 KB in and out", |b| {
        b.iter(|| {
            rt.block_on(echo.invoke(&echo_input, &Call::default()))
                .unwrap()
        })
    });
    // The same echo from a plugin that imports 29 interfaces (every WASI one it can
    // misuse) and reads its config: what a heavier import list costs per step.
    group.bench_function("invoke hostile-guest echo, 1 KB in and out", |b| {
        b.iter(|| {
            rt.block_on(hostile.invoke(&echo_input, &echo_call()))
                .unwrap()
        })
    });
    group.bench_function("invoke lead-scorer, 1 KB of leads", |b| {
        b.iter(|| {
            rt.block_on(scorer.invoke(&input, &Call::default()))
                .unwrap()
        })
    });
    group.bench_function("native lead scoring, same input", |b| {
        let settings = lead_scoring::Settings::default();
        b.iter(|| {
            let scored = lead_scoring::score_json(&input, &settings).unwrap();
            serde_json::to_string(&scored).unwrap()
        })
    });
    group.finish();

    // A completion through the host from a provider on 127.0.0.1 that answers at once:
    // the host's own cost per model call (request building, HTTP, parsing, budgets),
    // and the same call answered from the run's log, as after a crash.
    let server = ModelServer::start(vec![Reply::openai("a short answer", 20, 5)]);
    let probe: Plugin = rt.block_on(cached.load(plugin("llm-probe-guest"))).unwrap();
    let access = Arc::new(LlmAccess {
        plugin: "probe".into(),
        grant: LlmGrant {
            calls_per_run: u32::MAX,
            tokens_per_run: u64::MAX,
            ..LlmGrant::default()
        },
        target: Ok(LlmTarget::new(
            "local".into(),
            Provider {
                api: ProviderApi::Openai,
                base_url: server.base_url(),
                model: "m".into(),
                key_env: None,
                timeout: None,
                retries: None,
                max_tokens_field: None,
            },
            Some("sk-bench".into()),
            None,
        )
        .unwrap()),
    });
    let ask = r#"{"calls": [{"messages": [{"role": "user", "content": "Say hi"}]}]}"#;
    let journal = Arc::new(Kept::default());
    let live = Call {
        llm: Some(access.clone()),
        step: StepCall {
            journal: Some(journal.clone()),
            ..StepCall::default()
        },
        ..Call::default()
    };
    rt.block_on(probe.invoke(ask, &live)).unwrap();
    let recorded = journal.0.lock().unwrap()[0].clone();
    let mut group = c.benchmark_group("llm");
    group.bench_function("invoke llm-probe, one completion from 127.0.0.1", |b| {
        b.iter(|| rt.block_on(probe.invoke(ask, &live)).unwrap())
    });
    group.bench_function(
        "invoke llm-probe, the completion reused from the log",
        |b| {
            b.iter(|| {
                let replay = Call {
                    llm: Some(access.clone()),
                    step: StepCall {
                        recorded: vec![recorded.clone()],
                        ..StepCall::default()
                    },
                    ..Call::default()
                };
                rt.block_on(probe.invoke(ask, &replay)).unwrap()
            })
        },
    );
    group.finish();
}

/// A journal that keeps what it is given (the engine's commits to the run log).
#[derive(Default)]
struct Kept(Mutex<Vec<LlmExchange>>);

impl ExchangeJournal for Kept {
    fn record(
        &self,
        exchange: LlmExchange,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        self.0.lock().unwrap().push(exchange);
        Box::pin(async { Ok(()) })
    }
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
