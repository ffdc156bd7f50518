//! `host bench`: the workflow-level figures of BENCHMARKS.md, measured on this machine
//! with the operator's own workflow and input, in stores of its own (the user's state
//! store is never touched; the component cache is the user's, so loads are warm).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use baton_core::RunStatus;
use serde_json::Value;

use crate::GlobalArgs;
use crate::exit::{Exit, Failure};
use crate::terminal::say;
use baton_service::{LoadedWorkflow, Service, Store, limits_for};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  \
    host bench examples/lead-followup/workflow.toml --input examples/leads.json\n\n\
    Each figure is a median. `host run` is timed as whole processes; the rest in this one. \
    With --store postgres://…, the runs go to that database (use an empty one); otherwise to a \
    scratch embedded store.")]
pub struct Args {
    /// The workflow to measure
    #[arg(value_name = "WORKFLOW.toml")]
    workflow: PathBuf,
    /// The runs' input, a JSON file [default: {}]
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Samples per figure
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(3..=10_000))]
    samples: u32,
    /// Runs at once in the throughput figure
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    concurrency: u32,
    /// With --store: also durable runs per second through this many `host worker`
    /// processes, for each number in the list (e.g. 1,2,4)
    #[arg(long, value_delimiter = ',', value_name = "N,...", value_parser = clap::value_parser!(u32).range(1..=64))]
    workers: Vec<u32>,
    /// Runs queued for each worker figure
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    queued: u32,
}

/// One line of the table.
struct Figure {
    what: String,
    value: String,
    note: String,
}

pub async fn bench(global: &GlobalArgs, args: Args) -> Result<Exit, Failure> {
    let input: Value = match &args.input {
        Some(path) => crate::json_input::read_value(crate::json_input::Source::File(path))?,
        None => Value::Object(Default::default()),
    };
    let samples = args.samples as usize;
    let scratch = tempfile::tempdir()
        .map_err(|e| Failure::Host(format!("cannot create a scratch directory: {e}")))?;
    // The runs go to a scratch embedded store, or to the PostgreSQL store named
    // with --store (use an empty database: the runs stay there).
    let store = match global.store.as_deref() {
        Some(url) => Store::open_postgres(url, global.lease)?,
        None => Store::scratch(&scratch.path().join("state"))?,
    };
    let service = Service::new(store, crate::access::service_options(global)?);
    let session = service.workflow(&args.workflow).await?;
    let mut figures = Vec::new();

    // Loading each plugin from the (warm) cache, in this process.
    let runtime = service.loader().runtime(false)?;
    for decl in session.workflow.plugins.values() {
        let limits = limits_for(decl);
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let started = Instant::now();
            let plugin = runtime.load_with(&decl.source, &limits).await;
            times.push(started.elapsed());
            plugin.map_err(|e| Failure::Usage(e.to_string()))?;
        }
        figures.push(Figure {
            what: format!("load plugin `{}` from the cache", decl.name),
            value: format!("{:.2?}", median(&mut times)),
            note: "map the verified artifact, pre-instantiate, read its description".into(),
        });
    }

    // One run to where it stops (finished, or waiting at a gate), in this process.
    let mut times = Vec::with_capacity(samples);
    let mut stopped = RunStatus::Running;
    for _ in 0..samples {
        let started = Instant::now();
        let outcome = start_run(&service, &session, &input).await?;
        times.push(started.elapsed());
        stopped = outcome.status();
    }
    figures.push(Figure {
        what: "one run to where it stops, in process".into(),
        value: format!("{:.2?}", median(&mut times)),
        note: format!("ends {}; synced to disk", stopped.as_str()),
    });

    // Durable runs per second, `concurrency` at a time, sharing fsyncs.
    let (runs, elapsed) = throughput(&service, &session, &input, args.concurrency as usize)?;
    figures.push(Figure {
        what: format!("durable runs, {} at a time", args.concurrency),
        value: format!("{:.0} runs/s", runs as f64 / elapsed.as_secs_f64()),
        note: format!("{runs} runs in {elapsed:.2?}; each returns once its events are on disk"),
    });

    // `host run` as the operator runs it: a whole process, cache warm.
    let mut times = Vec::with_capacity(samples);
    let state = scratch.path().join("processes");
    for _ in 0..samples {
        let started = Instant::now();
        host_run(global, &args, &state)?;
        times.push(started.elapsed());
    }
    figures.push(Figure {
        what: "`host run` to where it stops, whole process".into(),
        value: format!("{:.1?}", median(&mut times)),
        note: "start-up, checks, plugins from the cache, the run, exit".into(),
    });

    // Memory while 100 runs wait (or sit finished, for a workflow with no gate).
    let held = Service::new(
        Store::scratch(&scratch.path().join("held"))?,
        crate::access::service_options(global)?,
    );
    let session = held.workflow(&args.workflow).await?;
    let before = resident_bytes();
    let mut waiting = 0;
    for _ in 0..100 {
        let outcome = start_run(&held, &session, &input).await?;
        waiting += usize::from(outcome.status() == RunStatus::Waiting);
    }
    let after = resident_bytes();
    if let (Some(before), Some(after)) = (before, after) {
        figures.push(Figure {
            what: format!("memory of this host holding 100 runs ({waiting} waiting)"),
            value: format!("{} MiB", after / (1 << 20)),
            note: format!(
                "resident set; {:+.1} MiB for the 100 runs",
                (after as f64 - before as f64) / f64::from(1 << 20)
            ),
        });
    }

    // A decision through a running `host serve`, on the same kind of store.
    if stopped == RunStatus::Waiting {
        let mut times = decision_latency(global, &args, &input, scratch.path()).await?;
        figures.push(Figure {
            what: "a decision through `host serve`, approved to where the run stops".into(),
            value: format!("{:.2?}", median(&mut times)),
            note: format!(
                "HTTP on loopback; p90 {:.2?}; {}",
                times[times.len() * 9 / 10],
                if global.store.is_some() {
                    "on the PostgreSQL store"
                } else {
                    "on the embedded store"
                }
            ),
        });
    }

    // Durable runs per second through `host worker` processes sharing the store.
    if !args.workers.is_empty() && global.store.is_none() {
        return Err(Failure::Usage(
            "--workers measures `host worker` processes on a shared store: pass --store postgres://… (an empty database)".into(),
        ));
    }
    for &count in &args.workers {
        for _ in 0..args.queued {
            service.enqueue(session.clone(), input.clone(), "bench")?;
        }
        let elapsed = workers(global, count)?;
        figures.push(Figure {
            what: format!(
                "durable runs through {count} `host worker` process{}",
                if count == 1 { "" } else { "es" }
            ),
            value: format!(
                "{:.0} runs/s",
                f64::from(args.queued) / elapsed.as_secs_f64()
            ),
            note: format!(
                "{} queued runs in {elapsed:.2?}, from the workers' start to the last one's exit",
                args.queued
            ),
        });
    }

    print_table(&args.workflow, samples, &figures);
    Ok(Exit::Success)
}

/// Starts one run of the benchmarked workflow and drives it to where it stops,
/// through the same service call as `host run`.
async fn start_run(
    service: &Service,
    workflow: &Arc<LoadedWorkflow>,
    input: &Value,
) -> Result<baton_service::Acted, Failure> {
    Ok(service
        .start(workflow.clone(), input.clone(), "bench")
        .await?)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs the workflow for about two seconds on `concurrency` threads, each starting
/// runs back to back; returns how many finished and how long it took, or the first
/// failure (a figure that silently counted fewer runs would mislead).
fn throughput(
    service: &Service,
    session: &Arc<LoadedWorkflow>,
    input: &Value,
    concurrency: usize,
) -> Result<(u64, Duration), Failure> {
    const FOR: Duration = Duration::from_secs(2);
    let started = Instant::now();
    let worker = || -> Result<u64, Failure> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Host(format!("cannot start an async runtime: {e}")))?;
        let mut done = 0u64;
        while started.elapsed() < FOR {
            rt.block_on(start_run(service, session, input))?;
            done += 1;
        }
        Ok(done)
    };
    let runs = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..concurrency).map(|_| scope.spawn(worker)).collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| Failure::Host("a benchmark thread panicked".into()))?
            })
            .sum::<Result<u64, Failure>>()
    })?;
    Ok((runs, started.elapsed()))
}

/// `host run WORKFLOW --input FILE --state DIR` (and the --store, if any), as a
/// child process.
fn host_run(global: &GlobalArgs, args: &Args, state: &Path) -> Result<(), Failure> {
    let mut command = host_command(global)?;
    command
        .arg("run")
        .arg(&args.workflow)
        .arg("--state")
        .arg(state);
    if let Some(input) = &args.input {
        command.arg("--input").arg(input);
    }
    let output = command
        .output()
        .map_err(|e| Failure::Host(format!("cannot start `host run`: {e}")))?;
    // 0 completed, 3 waiting: both are a run that got where it stops.
    match output.status.code() {
        Some(0 | 3) => Ok(()),
        _ => Err(Failure::Host(format!(
            "`host run` failed while benchmarking: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

/// The `host` binary as a child process, with this command's cache and store.
fn host_command(global: &GlobalArgs) -> Result<std::process::Command, Failure> {
    let exe = std::env::current_exe()
        .map_err(|e| Failure::Host(format!("cannot find the host binary: {e}")))?;
    let mut command = std::process::Command::new(exe);
    if let Some(dir) = &global.cache_dir {
        command.arg("--cache-dir").arg(dir);
    }
    if global.no_cache {
        command.arg("--no-cache");
    }
    if let Some(url) = &global.store {
        command.arg("--store").arg(url);
    }
    command.stdin(std::process::Stdio::null());
    Ok(command)
}

/// Starts `count` `host worker --until-idle` processes on the store and waits for
/// them all to stop (every queued run driven to where it stops).
fn workers(global: &GlobalArgs, count: u32) -> Result<Duration, Failure> {
    let started = Instant::now();
    let mut children = Vec::new();
    for _ in 0..count {
        let child = host_command(global)?
            .args(["worker", "--until-idle", "--poll", "50ms"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| Failure::Host(format!("cannot start `host worker`: {e}")))?;
        children.push(child);
    }
    for mut child in children {
        let status = child
            .wait()
            .map_err(|e| Failure::Host(format!("`host worker` was lost: {e}")))?;
        if !status.success() {
            return Err(Failure::Host(format!(
                "`host worker` failed while benchmarking ({status}); run it by hand to see why"
            )));
        }
    }
    Ok(started.elapsed())
}

/// Starts `host serve` on a state directory of its own (and the --store, if any),
/// starts runs through it, and times approving each one's first decision through
/// its API: the request, the decision committed, and the run driven on.
async fn decision_latency(
    global: &GlobalArgs,
    args: &Args,
    input: &Value,
    scratch: &Path,
) -> Result<Vec<Duration>, Failure> {
    let state = scratch.join("served");
    let mut child = host_command(global)?
        .args(["serve", "--bind", "127.0.0.1:0", "--state"])
        .arg(&state)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| Failure::Host(format!("cannot start `host serve`: {e}")))?;
    let timed = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        let server = loop {
            if let Some(server) = crate::access::Server::find(&state)
                && server.answers(global).await.is_ok()
            {
                break server;
            }
            if Instant::now() > deadline {
                return Err(Failure::Host(
                    "`host serve` did not start within a minute".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let workflow = std::fs::canonicalize(&args.workflow).unwrap_or(args.workflow.clone());
        let start = serde_json::to_value(baton_service::wire::StartRequest {
            workflow,
            input: Some(input.clone()),
        })
        .map_err(|e| Failure::Host(e.to_string()))?;
        let approve = serde_json::to_value(baton_service::wire::DecisionRequest::new(
            baton_engine::Decision::Approve { choice: 0 },
            false,
        ))
        .map_err(|e| Failure::Host(e.to_string()))?;
        let mut times = Vec::with_capacity(args.samples as usize);
        for _ in 0..args.samples {
            let started: Value = server
                .json(global, http::Method::POST, "/api/runs", Some(&start))
                .await?;
            let Some(decision) = started["decisions"]
                .as_object()
                .and_then(|d| d.keys().next().cloned())
            else {
                return Err(Failure::Host(format!(
                    "a run started through `host serve` did not wait at a gate: {started}"
                )));
            };
            let at = Instant::now();
            server
                .request(
                    global,
                    http::Method::POST,
                    &format!("/api/decisions/{decision}"),
                    Some(&approve),
                )
                .await?;
            times.push(at.elapsed());
        }
        times.sort();
        Ok(times)
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    timed
}

/// This process's resident set, from /proc (Linux); `None` elsewhere.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn print_table(workflow: &Path, samples: usize, figures: &[Figure]) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    say!(
        "host bench {} ({samples} samples per figure, {cores} cores, release build: {})\n",
        workflow.display(),
        !cfg!(debug_assertions)
    );
    let width = figures.iter().map(|f| f.what.len()).max().unwrap_or(0);
    let value_width = figures.iter().map(|f| f.value.len()).max().unwrap_or(0);
    for figure in figures {
        say!(
            "  {:<width$}  {:>value_width$}  {}",
            figure.what,
            figure.value,
            figure.note
        );
    }
}
