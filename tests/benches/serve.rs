//! `host serve` from outside, as a browser or a script sees it: the pending
//! decisions as JSON, the focus page rendered, and a decision made through the API
//! (the run continues to its end before the answer), with 50 runs waiting.
//!
//! `cargo bench -p baton-tests --bench serve` (see BENCHMARKS.md for results).

use baton_tests::{BenchServer, http, release_host_binary};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const WAITING_RUNS: usize = 50;

fn benchmarks(c: &mut Criterion) {
    let scratch = tempfile::tempdir().unwrap();
    let server = BenchServer::start(release_host_binary(), scratch.path(), None);
    let (url, headers) = (&server.url, server.headers());
    let state = scratch.path().join("state");
    for n in 0..WAITING_RUNS {
        server.start_run(n);
    }
    let cookie = format!(
        "baton_session={}",
        std::fs::read_to_string(state.join("serve-token"))
            .unwrap()
            .trim()
    );

    let mut group = c.benchmark_group("serve");
    group.bench_function("GET /api/decisions (50 pending)", |b| {
        b.iter(|| {
            let (status, _) = http(url, "GET", "/api/decisions", &headers, "");
            assert_eq!(status, 200);
        })
    });
    group.bench_function("GET / focus page (50 pending)", |b| {
        b.iter(|| {
            let (status, _) = http(url, "GET", "/", &[("Cookie", cookie.as_str())], "");
            assert_eq!(status, 200);
        })
    });
    group.bench_function("POST decision, run continues to its end", |b| {
        b.iter_batched(
            || server.start_run(0),
            |decision| {
                let path = format!("/api/decisions/{decision}");
                let (status, answer) = http(url, "POST", &path, &headers, r#"{"approve": 0}"#);
                assert_eq!(status, 200, "{answer}");
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
