//! The inbox as the store grows: the first screen of pending decisions through
//! `GET /api/decisions?limit=50`, and `host inbox --json` as a whole process, with
//! 100, 1,000 and 10,000 runs waiting at a gate, on the embedded store and on
//! PostgreSQL (a server started as the tests start theirs).
//!
//! `cargo bench -p baton-tests --bench inbox` (see BENCHMARKS.md for results).
//! `BATON_BENCH_HOST=/path/to/host` measures another build of `host` (an older
//! commit's, say) on the same runs; `BATON_BENCH_STORES=embedded` leaves PostgreSQL out.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use baton_tests::{BenchServer, http, release_host_binary};
use serde_json::Value;

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const SAMPLES: usize = 30;

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

fn measure(host: &std::path::Path, label: &str, store: Option<&str>) {
    let scratch = tempfile::tempdir().unwrap();
    let server = BenchServer::start(host, scratch.path(), store);
    let headers = server.headers();
    let mut started = 0;
    for size in SIZES {
        while started < size {
            server.start_run(started);
            started += 1;
        }
        let (status, page) = http(&server.url, "GET", "/api/decisions?limit=50", &headers, "");
        assert_eq!(status, 200, "{page}");
        let listed = serde_json::from_str::<Value>(&page).unwrap();
        let listed = listed.as_array().unwrap().len();
        let api = median(
            (0..SAMPLES)
                .map(|_| {
                    let began = Instant::now();
                    let (status, _) =
                        http(&server.url, "GET", "/api/decisions?limit=50", &headers, "");
                    assert_eq!(status, 200);
                    began.elapsed()
                })
                .collect(),
        );
        let cli = median(
            (0..5)
                .map(|_| {
                    let mut inbox = server.command(&["inbox", "--json"]);
                    let began = Instant::now();
                    let out = inbox
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .unwrap();
                    assert!(out.success());
                    began.elapsed()
                })
                .collect(),
        );
        println!("| {label} | {size} | {api:.2?} ({listed} listed) | {cli:.1?} |");
    }
}
