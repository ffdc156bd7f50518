//! The inbox as the store grows: the first screen of pending decisions through
//! `GET /api/decisions?limit=50`, and `host inbox --json` as a whole process, with
//! 100, 1,000 and 10,000 runs waiting at a gate, on the embedded store and on
//! PostgreSQL (a server started as the tests start theirs).
//!
//! `cargo bench -p baton-tests --bench inbox` (see BENCHMARKS.md for results).
//! `BATON_BENCH_HOST=/path/to/host` measures another build of `host` (an older
//! commit's, say) on the same runs; `BATON_BENCH_STORES=embedded` leaves PostgreSQL out.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use baton_tests::{http, plugin, release_host_binary};
use serde_json::{Value, json};

const GATED_ECHO: &str = r#"
name = "bench-inbox"
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
"#;

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const SAMPLES: usize = 30;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a filter is not taken.
    let host: PathBuf = std::env::var_os("BATON_BENCH_HOST")
        .map(PathBuf::from)
        .unwrap_or_else(|| release_host_binary().to_path_buf());
    let stores = std::env::var("BATON_BENCH_STORES").unwrap_or_else(|_| "embedded,postgres".into());
    println!("host: {}", host.display());
    println!(
        "| store | waiting runs | first screen, GET /api/decisions?limit=50 (median) | `host inbox --json`, whole process (median of 5) |"
    );
    println!("|---|---|---|---|");
    for store in stores.split(',') {
        let url = (store == "postgres").then(|| baton_tests::postgres().database());
        measure(&host, store, url.as_deref());
    }
}

fn measure(host: &PathBuf, label: &str, store: Option<&str>) {
    let scratch = tempfile::tempdir().unwrap();
    let workflow = scratch.path().join("workflow.toml");
    std::fs::write(
        &workflow,
        GATED_ECHO.replace("{echo}", &plugin("echo-guest").display().to_string()),
    )
    .unwrap();
    let env = |command: &mut Command| {
        command
            .env("BATON_STATE", scratch.path().join("state"))
            .env("BATON_CACHE_DIR", scratch.path().join("cache"))
            .env("XDG_CONFIG_HOME", scratch.path().join("config"))
            .env("BATON_OPERATOR", "bench");
        if let Some(url) = store {
            command.args(["--store", url]);
        }
    };
    let mut serve = Command::new(host);
    serve.args(["serve", "--bind", "127.0.0.1:0"]);
    env(&mut serve);
    let mut child = serve
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start host serve");
    let url = baton_tests::served_url(&mut child);
    let _server = Server(child);
    let server: Value = serde_json::from_str(
        &std::fs::read_to_string(scratch.path().join("state/server.json")).unwrap(),
    )
    .unwrap();
    let bearer = format!("Bearer {}", server["token"].as_str().unwrap());
    let headers = [
        ("Authorization", bearer.as_str()),
        ("X-Baton-Operator", "bench"),
        ("Content-Type", "application/json"),
    ];
    let mut started = 0;
    for size in SIZES {
        while started < size {
            let body = json!({ "workflow": workflow, "input": { "n": started } }).to_string();
            let (status, answer) = http(&url, "POST", "/api/runs", &headers, &body);
            assert_eq!(status, 200, "{answer}");
            started += 1;
        }
        let (status, page) = http(&url, "GET", "/api/decisions?limit=50", &headers, "");
        assert_eq!(status, 200, "{page}");
        let listed = serde_json::from_str::<Value>(&page).unwrap();
        let listed = listed.as_array().unwrap().len();
        let api = median(
            (0..SAMPLES)
                .map(|_| {
                    let began = Instant::now();
                    let (status, _) = http(&url, "GET", "/api/decisions?limit=50", &headers, "");
                    assert_eq!(status, 200);
                    began.elapsed()
                })
                .collect(),
        );
        let cli = median(
            (0..5)
                .map(|_| {
                    let mut inbox = Command::new(host);
                    inbox.args(["inbox", "--json"]);
                    env(&mut inbox);
                    let began = Instant::now();
                    let out = inbox.stdout(Stdio::null()).status().unwrap();
                    assert!(out.success());
                    began.elapsed()
                })
                .collect(),
        );
        println!("| {label} | {size} | {api:.2?} ({listed} listed) | {cli:.1?} |");
    }
}
