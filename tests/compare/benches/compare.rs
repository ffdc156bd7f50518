//! The lead scorer's logic timed three ways in one run: called natively, as a Baton
//! plugin (a fresh sandbox per call), and as an Extism plugin (extism 1.30, the newest
//! that builds on Rust 1.95), for one lead and for a batch of 1,000 leads.
//!
//! `cargo bench -p baton-compare --features extism` prints criterion's figures, then a
//! summary table of medians and ratios (see BENCHMARKS.md).
//!
//! Both plugins call the same library, `lead-scoring`, with its default settings, and
//! are built in release mode: the Baton one for wasm32-wasip2 as a component, the
//! Extism one for wasm32-unknown-unknown with extism-pdk (`tests/extism/guest`).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use baton_runtime::{Call, Plugin, Runtime, RuntimeOptions};
use baton_tests::{plugin, target_dir, workspace_root};
use criterion::{BenchmarkId, Criterion};

/// Builds the Extism guest once, into the workspace's target directory.
fn extism_guest() -> PathBuf {
    let target = target_dir().join("extism-guest");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--manifest-path")
        .arg(workspace_root().join("tests/extism/guest/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the Extism guest did not build");
    target.join("wasm32-unknown-unknown/release/extism_lead_scorer.wasm")
}

/// `n` leads as the scorer takes them, cycling through the example's leads.
fn leads(n: usize) -> String {
    let example: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("examples/leads.json")).unwrap(),
    )
    .unwrap();
    let all = example["leads"].as_array().unwrap();
    let batch: Vec<_> = all.iter().cycle().take(n).cloned().collect();
    serde_json::json!({ "leads": batch }).to_string()
}

fn native(input: &str) -> String {
    let scored = lead_scoring::score_json(input, &lead_scoring::Settings::default()).unwrap();
    serde_json::to_string(&scored).unwrap()
}

/// The contenders, set up once.
struct Contenders {
    rt: tokio::runtime::Runtime,
    baton: Runtime,
    baton_path: PathBuf,
    baton_plugin: Plugin,
    extism_wasm: extism::Wasm,
    extism_compiled: extism::CompiledPlugin,
    extism_plugin: extism::Plugin,
    _cache: tempfile::TempDir,
}

impl Contenders {
    fn new() -> Contenders {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let cache = tempfile::tempdir().unwrap();
        let baton = Runtime::new(RuntimeOptions {
            cache_dir: Some(cache.path().to_path_buf()),
            ..RuntimeOptions::default()
        })
        .unwrap();
        let baton_path = plugin("lead-scorer");
        let baton_plugin = rt.block_on(baton.load(&baton_path)).unwrap();
        let extism_wasm = extism::Wasm::data(std::fs::read(extism_guest()).unwrap());
        let manifest = extism::Manifest::new([extism_wasm.clone()]);
        let extism_compiled =
            extism::CompiledPlugin::new(extism::PluginBuilder::new(manifest)).unwrap();
        let extism_plugin = extism::Plugin::new_from_compiled(&extism_compiled).unwrap();
        Contenders {
            rt,
            baton,
            baton_path,
            baton_plugin,
            extism_wasm,
            extism_compiled,
            extism_plugin,
            _cache: cache,
        }
    }

    fn baton_step(&self, input: &str) -> String {
        self.step(&self.baton_plugin, input)
    }

    fn baton_load_and_step(&self, input: &str) -> String {
        let plugin = self.rt.block_on(self.baton.load(&self.baton_path)).unwrap();
        self.step(&plugin, input)
    }

    fn step(&self, plugin: &Plugin, input: &str) -> String {
        let done = self.rt.block_on(plugin.invoke(input, &Call::default()));
        done.unwrap().output_text
    }

    fn extism_reused(&mut self, input: &str) -> String {
        self.extism_plugin
            .call::<&str, String>("score", input)
            .unwrap()
    }

    /// As most Extism users write it: a plugin from the manifest for the call
    /// (Extism compiles, or finds the module in wasmtime's cache).
    fn extism_new_and_call(&self, input: &str) -> String {
        let manifest = extism::Manifest::new([self.extism_wasm.clone()]);
        let mut plugin = extism::Plugin::new(&manifest, [], false).unwrap();
        plugin.call::<&str, String>("score", input).unwrap()
    }

    /// Extism's fastest way to a fresh plugin: from a module compiled once.
    fn extism_fresh_and_call(&self, input: &str) -> String {
        let mut plugin = extism::Plugin::new_from_compiled(&self.extism_compiled).unwrap();
        plugin.call::<&str, String>("score", input).unwrap()
    }
}

const SIZES: [(usize, &str); 2] = [(1, "1 lead"), (1000, "1,000 leads")];

fn criterion_runs(c: &mut Criterion, contenders: &mut Contenders) {
    for (n, label) in SIZES {
        let input = leads(n);
        // All three must agree before any is timed.
        let expected: serde_json::Value = serde_json::from_str(&native(&input)).unwrap();
        for (who, output) in [
            ("baton", contenders.baton_step(&input)),
            ("extism", contenders.extism_reused(&input)),
        ] {
            let output: serde_json::Value = serde_json::from_str(&output).unwrap();
            assert_eq!(output, expected, "{who} scored {label} differently");
        }
        let mut group = c.benchmark_group(format!("score {label}"));
        if n > 1 {
            group.sample_size(20);
        }
        group.bench_function("native", |b| b.iter(|| native(&input)));
        group.bench_function("baton step (fresh sandbox)", |b| {
            b.iter(|| contenders.baton_step(&input))
        });
        group.bench_function("extism call (reused plugin)", |b| {
            b.iter(|| contenders.extism_reused(&input))
        });
        group.bench_function(BenchmarkId::new("baton load from cache + step", n), |b| {
            b.iter(|| contenders.baton_load_and_step(&input))
        });
        group.bench_function(BenchmarkId::new("extism Plugin::new + call", n), |b| {
            b.iter(|| contenders.extism_new_and_call(&input))
        });
        group.bench_function(
            BenchmarkId::new("extism new_from_compiled + call", n),
            |b| b.iter(|| contenders.extism_fresh_and_call(&input)),
        );
        group.finish();
    }
}

/// The median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// One table with every figure and the ratios the issue asks for.
fn summary(contenders: &mut Contenders) {
    println!("\nSummary (medians of this run; ratio < 1 means Baton is faster)");
    println!(
        "| input | native | Baton step | Extism call, reused plugin | Baton step / native | Baton step / Extism reused | Baton load + step | Extism Plugin::new + call | Extism new_from_compiled + call | Baton load+step / Extism new+call | Baton load+step / Extism from-compiled+call |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (n, label) in SIZES {
        let input = leads(n);
        let runs = if n > 1 { 31 } else { 501 };
        let native = median(runs, || drop(native(&input)));
        let step = median(runs, || drop(contenders.baton_step(&input)));
        let reused = median(runs, || drop(contenders.extism_reused(&input)));
        let runs = if n > 1 { 21 } else { 101 };
        let load_step = median(runs, || drop(contenders.baton_load_and_step(&input)));
        let new_call = median(runs, || drop(contenders.extism_new_and_call(&input)));
        let fresh_call = median(runs, || drop(contenders.extism_fresh_and_call(&input)));
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "| {label} | {native:.1?} | {step:.1?} | {reused:.1?} | {:.2}x | {:.2}x | {load_step:.1?} | {new_call:.1?} | {fresh_call:.1?} | {:.3}x | {:.2}x |",
            ratio(step, native),
            ratio(step, reused),
            ratio(load_step, new_call),
            ratio(load_step, fresh_call),
        );
    }
}

fn main() {
    let mut contenders = Contenders::new();
    let mut criterion = Criterion::default().configure_from_args();
    criterion_runs(&mut criterion, &mut contenders);
    criterion.final_summary();
    summary(&mut contenders);
}
