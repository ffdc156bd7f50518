//! `host serve` from outside, as a browser or a script sees it: the pending
//! decisions as JSON, the focus page rendered, and a decision made through the API
//! (the run continues to its end before the answer), with 50 runs waiting.
//!
//! `cargo bench -p baton-tests --bench serve` (see BENCHMARKS.md for results).

use std::process::{Child, Command, Stdio};

use baton_tests::{http, plugin, release_host_binary};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

const GATED_ECHO: &str = r#"
name = "bench-serve"
[plugins.echo]
source = "{echo}"
[[steps]]
id = "draft"
uses = "echo"
input = "{{ input }}"
[[steps]]
id = "review"
approve = "draft"
title = "Send {{ steps.draft.output.n }}?"
[[steps]]
id = "send"
uses = "echo"
input = "{{ steps.review.output }}"
"#;

const WAITING_RUNS: usize = 50;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn benchmarks(c: &mut Criterion) {
    let scratch = tempfile::tempdir().unwrap();
    let workflow = scratch.path().join("workflow.toml");
    std::fs::write(
        &workflow,
        GATED_ECHO.replace("{echo}", &plugin("echo-guest").display().to_string()),
    )
    .unwrap();
    let state = scratch.path().join("state");
    let mut child = Command::new(release_host_binary())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("BATON_STATE", &state)
        .env("BATON_CACHE_DIR", scratch.path().join("cache"))
        .env("XDG_CONFIG_HOME", scratch.path().join("config"))
        .env("BATON_OPERATOR", "bench")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start host serve");
    let url = baton_tests::served_url(&mut child);
    let _server = Server(child);
    let server: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("server.json")).unwrap()).unwrap();
    let bearer = format!("Bearer {}", server["token"].as_str().unwrap());
    let headers = [
        ("Authorization", bearer.as_str()),
        ("X-Baton-Operator", "bench"),
        ("Content-Type", "application/json"),
    ];
    let start = |n: usize| -> String {
        let body = json!({ "workflow": workflow, "input": { "n": n } }).to_string();
        let (status, answer) = http(&url, "POST", "/api/runs", &headers, &body);
        assert_eq!(status, 200, "{answer}");
        let state: Value = serde_json::from_str(&answer).unwrap();
        format!("{}/review", state["id"].as_str().unwrap())
    };
    for n in 0..WAITING_RUNS {
        start(n);
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
            let (status, _) = http(&url, "GET", "/api/decisions", &headers, "");
            assert_eq!(status, 200);
        })
    });
    group.bench_function("GET / focus page (50 pending)", |b| {
        b.iter(|| {
            let (status, _) = http(&url, "GET", "/", &[("Cookie", cookie.as_str())], "");
            assert_eq!(status, 200);
        })
    });
    group.bench_function("POST decision, run continues to its end", |b| {
        b.iter_batched(
            || start(0),
            |decision| {
                let path = format!("/api/decisions/{decision}");
                let (status, answer) = http(&url, "POST", &path, &headers, r#"{"approve": 0}"#);
                assert_eq!(status, 200, "{answer}");
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
