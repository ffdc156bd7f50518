//! `host worker`: drives runs kept in a shared store (PostgreSQL), on any machine.
//! It claims runnable runs (queued with `host run --enqueue`, or left by a process
//! that died) under its lease, looking when another process announces one (`NOTIFY`)
//! and every `--poll` in case an announcement was lost, drives each until it finishes or waits at a gate, and
//! claims more. Its lease is renewed while it lives; if it is killed, its runs go to
//! another worker once the lease runs out, and a step whose output was not committed
//! runs again (at-least-once, as after any crash).

use std::collections::HashSet;
use std::time::Duration;

use baton_core::{RunId, RunStatus};
use baton_service::ServiceError;
use baton_store::Notice;

use crate::GlobalArgs;
use crate::exit::{Exit, Failure};
use crate::terminal::tell;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Needs a shared store: --store postgres://… (or BATON_STORE). Run as many \
workers as you like, on as many machines; each run is driven by one at a time.\n\n\
Stops on Ctrl-C or SIGTERM once the runs it is driving stop (finish or wait at a gate).\n\n\
Example:\n  host worker --store postgres://baton@db.internal/baton --concurrency 8"
)]
pub struct WorkerArgs {
    /// Runs driven at once
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    concurrency: u32,
    /// How often to look for runnable runs while there is nothing to do
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    poll: Duration,
    /// Stop once no run is left running anywhere in the store (for scripts and tests)
    #[arg(long)]
    until_idle: bool,
}

pub async fn worker(global: &GlobalArgs, args: WorkerArgs) -> Result<Exit, Failure> {
    if global.store.is_none() {
        return Err(Failure::Usage(
            "host worker drives runs of a shared store: pass --store postgres://… (or set BATON_STORE)".into(),
        ));
    }
    let service = std::sync::Arc::new(crate::access::service(global)?);
    let shared = service.store().shared()?;
    tell!(
        "worker {} on {}: driving up to {} runs at once",
        shared.owner(),
        shared.url(),
        args.concurrency
    );
    let own = shared.owner().to_string();
    let mut notices = shared.notices();
    let concurrency = args.concurrency as usize;
    // Each run is driven on a thread of its own (the store's calls wait for the
    // database; the plugins use the CPU), and says when it stops here.
    let (finished, mut stopped) = tokio::sync::mpsc::unbounded_channel();
    let mut active = 0usize;
    // Runs this worker could not drive: it keeps holding them (its lease is renewed
    // with the others) so that no worker spins on them, and says why once.
    let mut parked: HashSet<RunId> = HashSet::new();
    let mut stop = Box::pin(crate::serve::shutdown());
    let mut stopping = false;
    loop {
        let mut claimed = 0;
        if !stopping && active < concurrency {
            match service.claim(concurrency - active) {
                Ok(runs) => {
                    claimed = runs.len();
                    for run in runs {
                        tell!("run {run}: driving");
                        active += 1;
                        drive(service.clone(), run, finished.clone());
                    }
                }
                Err(e) => tell!("cannot claim runs: {e}; trying again"),
            }
        }
        if active == 0 {
            if stopping {
                break;
            }
            if args.until_idle && claimed == 0 && running(&service)? == parked.len() {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(args.poll) => {}
                () = work_announced(&mut notices, &own) => {}
                () = &mut stop => stopping = true,
            }
            continue;
        }
        tokio::select! {
            Some((run, result)) = stopped.recv() => {
                active -= 1;
                settle(&service, &mut parked, run, result);
            }
            () = tokio::time::sleep(args.poll), if active < concurrency && !stopping => {}
            () = work_announced(&mut notices, &own), if active < concurrency && !stopping => {}
            () = &mut stop, if !stopping => {
                stopping = true;
                tell!("stopping once the {active} runs being driven stop");
            }
        }
    }
    Ok(Exit::Success)
}

/// Says how a run this worker drove stopped; lets go of it when the store or the
/// machine failed, and keeps holding it when it cannot be driven here.
fn settle(
    service: &baton_service::Service,
    parked: &mut HashSet<RunId>,
    run: RunId,
    result: Result<baton_service::Acted, ServiceError>,
) {
    match result {
        Ok(acted) => {
            let state = acted.state();
            let pending = state.pending().count();
            let status = match state.status() {
                RunStatus::Waiting => format!(
                    "waits for {pending} decision{}",
                    if pending == 1 { "" } else { "s" }
                ),
                other => other.as_str().to_string(),
            };
            tell!("run {run} ({}): {status}", state.workflow);
        }
        // The store or the machine failed (a lost connection, say): let go,
        // so that this worker or another tries again.
        Err(e) if !e.is_callers() => {
            tell!(
                "run {run}: {}; let go, to be tried again",
                crate::exit::failure(e)
            );
            if let Err(e) = service.release(&run) {
                tell!("run {run}: cannot let go ({e}); its lease runs out instead");
            }
        }
        Err(e) => {
            tell!(
                "run {run} cannot be driven here: {}; this worker holds it while it runs (`host resume {run}` says more)",
                crate::exit::failure(e)
            );
            parked.insert(run);
        }
    }
}

/// Drives `run` on a thread of its own, with a runtime of its own, and tells
/// `finished` how it stopped.
fn drive(
    service: std::sync::Arc<baton_service::Service>,
    run: RunId,
    finished: tokio::sync::mpsc::UnboundedSender<Driven>,
) {
    let (reply, id) = (finished.clone(), run.clone());
    let spawned = std::thread::Builder::new()
        .name("baton-run".into())
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ServiceError::Host(format!("cannot start a runtime for the run: {e}")))
                .and_then(|runtime| {
                    runtime.block_on(service.resume(&run, false, service.operator()))
                });
            let _ = reply.send((run, result));
        });
    if let Err(e) = spawned {
        let _ = finished.send((
            id,
            Err(ServiceError::Host(format!(
                "cannot start a thread for the run: {e}"
            ))),
        ));
    }
}

/// A run a thread drove, and how it stopped.
type Driven = (RunId, Result<baton_service::Acted, ServiceError>);

/// Returns when another process announces a run that waits for a worker (queued,
/// decided, or let go), or that it may have missed some: a hint to claim now rather
/// than at the next poll.
async fn work_announced(notices: &mut tokio::sync::broadcast::Receiver<Notice>, own: &str) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match notices.recv().await {
            Ok(Notice::Changed { status, by, .. }) if status == "running" && by != own => return,
            Ok(Notice::Changed { .. }) => {}
            Ok(Notice::Reconnected) | Err(RecvError::Lagged(_)) => return,
            Err(RecvError::Closed) => std::future::pending().await,
        }
    }
}

/// How many runs of the store are running (being driven, or waiting for a driver),
/// from their summaries alone: this is asked on every idle poll.
fn running(service: &baton_service::Service) -> Result<usize, Failure> {
    use baton_core::RunStore;
    Ok(service
        .store()
        .summaries_in(RunStatus::Running)
        .map_err(baton_service::ServiceError::from)?
        .len())
}
