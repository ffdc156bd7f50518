//! Baton's service layer: what every front end (the `host` commands, `host serve`'s
//! pages and API, a timer) calls to work with runs. It owns
//!
//! - the state [`Store`], its backend chosen when it is opened;
//! - the process's wasmtime runtimes and a cache of loaded workflows ([`Loader`],
//!   [`WorkflowCache`]), so a decision does not reload what the last one loaded;
//! - the clock and the operator's identity;
//! - the run operations ([`Service::start`], [`Service::decide`], [`Service::resume`],
//!   [`Service::cancel`], [`Service::sweep`], [`Service::recover`]) and the queries
//!   ([`Service::runs`], [`Service::inbox`], [`Service::run`], [`Service::stats`],
//!   [`Service::audit`], [`Service::verify`]).
//!
//! Every call returns typed values and never prints: turning them into text, JSON or
//! pages is the front end's job, and so is telling its user how to go on after an
//! error. [`wire`] holds the types that cross the command-to-server HTTP wire.

mod clock;
pub mod config;
mod error;
mod learning;
mod store;
pub mod wire;
mod workflows;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use baton_core::{
    Clock, DecisionId, DecisionOutcome, DecisionRecord, InboxKey, RunEvent, RunId, RunState,
    RunStatus, RunStore, RunSummary, StepKey, StoreError,
};
use baton_engine::{Decision, Engine, Outcome};
use baton_runtime::PluginSet;
use baton_store::{AuditEntry, Verified};
use baton_workflow::Workflow;

pub use clock::HostClock;
pub use error::{Result, ServiceError};
pub use learning::{SPOT_CHECK_WINDOW, SpotChecked, agreement};
pub use store::{Purpose, Store};
pub use wire::{Expired, Recovered, Swept};
pub use workflows::{
    Compiled, LoadOptions, LoadedWorkflow, Loader, WorkflowCache, capability_problem, limits_for,
    read_workflow, refused_capabilities,
};

/// Called with every event the engine appends (a terminal's progress lines).
pub type Observer = &'static (dyn Fn(&RunEvent) + Sync);

/// What a service needs besides its store.
#[derive(Debug)]
pub struct ServiceOptions {
    pub load: LoadOptions,
    /// Who is operating when a call names no one else: recorded as the actor of what
    /// the service starts and allows.
    pub operator: String,
    pub clock: HostClock,
}

/// The runs of one state store, and everything needed to drive them.
pub struct Service {
    store: Store,
    loader: Loader,
    workflows: WorkflowCache,
    clock: HostClock,
    operator: String,
    observer: Option<Observer>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.store)
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

/// The pending decisions, and the runs that could not be read to find theirs.
#[derive(Debug, Default)]
pub struct Inbox {
    pub pending: Vec<(DecisionRecord, String)>,
    /// How many decisions are pending in all (`pending` may hold only a screen).
    pub total: u64,
    /// Where the next screen starts, when this one was full (there may be more).
    pub next: Option<InboxKey>,
    pub unreadable: Vec<Unreadable>,
    /// What each run with pending decisions or spot checks is about (its
    /// workflow's `summary`).
    pub about: std::collections::BTreeMap<RunId, String>,
    /// Auto-approved decisions drawn for a person to review after the fact, oldest
    /// first, with their runs' workflow names: a review changes nothing by itself.
    pub spot_checks: Vec<(DecisionRecord, String)>,
    /// Auto-approval rules suspended because their spot checks disagreed.
    pub suspended: Vec<baton_core::Suspension>,
}

/// Runs' states, and the runs whose logs could not be read.
#[derive(Debug, Default)]
pub struct States {
    pub runs: Vec<RunState>,
    pub unreadable: Vec<Unreadable>,
}

/// A run whose log cannot be read (damaged on disk): left out of lists, named.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Unreadable {
    pub run: RunId,
    pub workflow: String,
    pub error: String,
}

impl Unreadable {
    fn of(summary: &RunSummary, error: ServiceError) -> Unreadable {
        Unreadable {
            run: summary.id.clone(),
            workflow: summary.workflow.clone(),
            error: error.to_string(),
        }
    }

    /// The runs a listing ([`Service::runs`]) found damaged.
    pub fn in_listing(summaries: &[RunSummary]) -> Vec<Unreadable> {
        summaries
            .iter()
            .filter_map(|s| {
                Some(Unreadable {
                    run: s.id.clone(),
                    workflow: s.workflow.clone(),
                    error: s.damaged.clone()?,
                })
            })
            .collect()
    }
}

/// What a run operation did: where the run stands and what was appended, and the
/// workflow it ran on (none for a cancel, which runs nothing).
#[derive(Debug)]
pub struct Acted {
    pub outcome: Outcome,
    pub workflow: Option<Arc<LoadedWorkflow>>,
}

impl Acted {
    pub fn state(&self) -> &RunState {
        &self.outcome.state
    }

    pub fn status(&self) -> RunStatus {
        self.outcome.status()
    }
}

impl Service {
    pub fn new(store: Store, options: ServiceOptions) -> Service {
        Service {
            store,
            loader: Loader::new(options.load),
            workflows: WorkflowCache::default(),
            clock: options.clock,
            operator: options.operator,
            observer: None,
        }
    }

    /// Calls `observer` with every event the engine appends from now on.
    pub fn observe(mut self, observer: Option<Observer>) -> Service {
        self.observer = observer;
        self
    }

    pub fn loader(&self) -> &Loader {
        &self.loader
    }

    /// The store the service works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &HostClock {
        &self.clock
    }

    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The workflow at `path`, loaded, or as loaded before if nothing changed.
    pub async fn workflow(&self, path: &Path) -> Result<Arc<LoadedWorkflow>> {
        self.workflows
            .get(&self.loader, path, &self.store.kv())
            .await
    }

    /// [`Service::workflow`] for a workflow its caller has read and checked with
    /// [`read_workflow`] (it is not read or checked again).
    pub async fn workflow_read(&self, read: (Workflow, String)) -> Result<Arc<LoadedWorkflow>> {
        self.workflows
            .get_read(&self.loader, read, &self.store.kv())
            .await
    }

    fn engine<'a>(
        &'a self,
        workflow: &'a LoadedWorkflow,
        operator: &'a str,
    ) -> Result<Engine<'a, Store, PluginSet, HostClock>> {
        Ok(Engine {
            workflow: &workflow.workflow,
            store: &self.store,
            runner: &workflow.runner,
            clock: &self.clock,
            observer: self.observer,
            operator,
            suspended: self.suspended_for(&workflow.workflow)?,
        })
    }

    // ---- run operations ----

    /// Starts a run of `workflow` on `input` for `by` (recording the file it came
    /// from and the code it runs on), and drives it until it ends or waits.
    pub async fn start(
        &self,
        workflow: Arc<LoadedWorkflow>,
        input: serde_json::Value,
        by: &str,
    ) -> Result<Acted> {
        check_input(&workflow.workflow, &input)?;
        let path = &workflow.workflow.path;
        let path = std::fs::canonicalize(path).unwrap_or(path.clone());
        let outcome = self
            .engine(&workflow, by)?
            .start(
                input,
                path.display().to_string(),
                workflow.digest.clone(),
                workflow.plugin_digests(),
            )
            .await?;
        Ok(Acted {
            outcome,
            workflow: Some(workflow),
        })
    }

    /// Creates a run of `workflow` and leaves it for a worker to drive (shared store
    /// only); returns where it stands: started, nothing run yet.
    pub fn enqueue(
        &self,
        workflow: Arc<LoadedWorkflow>,
        input: serde_json::Value,
        by: &str,
    ) -> Result<Acted> {
        let shared = self.store.shared()?;
        check_input(&workflow.workflow, &input)?;
        let path = &workflow.workflow.path;
        let path = std::fs::canonicalize(path).unwrap_or(path.clone());
        let outcome = self.engine(&workflow, by)?.enqueue(
            input,
            path.display().to_string(),
            workflow.digest.clone(),
            workflow.plugin_digests(),
        )?;
        shared.release(&outcome.state.id)?;
        Ok(Acted {
            outcome,
            workflow: Some(workflow),
        })
    }

    /// Takes up to `limit` runnable runs for this process to drive (shared store
    /// only): new runs left for workers, and runs whose driver is gone.
    pub fn claim(&self, limit: usize) -> Result<Vec<RunId>> {
        Ok(self.store.shared()?.claim(limit)?)
    }

    /// Lets go of a run this process claimed and could not drive.
    pub fn release(&self, run: &RunId) -> Result<()> {
        Ok(self.store.shared()?.release(run)?)
    }

    /// Commits `decision` on `id` for `by` and continues the run at once.
    pub async fn decide(
        &self,
        id: &DecisionId,
        decision: Decision,
        by: &str,
        allow_changed: bool,
    ) -> Result<Acted> {
        self.decide_via(id, decision, by, allow_changed, None).await
    }

    /// [`Service::decide`], recording where the person decided (`mcp`).
    pub async fn decide_via(
        &self,
        id: &DecisionId,
        decision: Decision,
        by: &str,
        allow_changed: bool,
        via: Option<&str>,
    ) -> Result<Acted> {
        // Another process may commit on the run between this one's read and its
        // append (a decision on the same gate sent to another server, say): the
        // append is refused, and the decision is tried again on the run as it now
        // stands, where it is made, or refused as already decided.
        let mut tries = 0;
        loop {
            let (workflow, state) = self
                .workflow_for(self.run(&id.run)?, allow_changed, by)
                .await?;
            match self
                .engine(&workflow, by)?
                .decide_via(state, id, decision.clone(), by, via)
                .await
            {
                Err(baton_engine::EngineError::Store(StoreError::Conflict { .. })) if tries < 3 => {
                    tries += 1;
                }
                outcome => {
                    return Ok(Acted {
                        outcome: outcome?,
                        workflow: Some(workflow),
                    });
                }
            }
        }
    }

    /// Continues a run from its log on the code it started with (or, with
    /// `allow_changed`, on the code there is now, recorded in its log). A finished
    /// run is left as it is.
    pub async fn resume(&self, run: &RunId, allow_changed: bool, by: &str) -> Result<Acted> {
        let state = self.run(run)?;
        if state.status().is_finished() {
            return Ok(Acted {
                outcome: Outcome::new(state),
                workflow: None,
            });
        }
        let (workflow, state) = self.workflow_for(state, allow_changed, by).await?;
        let outcome = self.engine(&workflow, by)?.advance_from(state).await?;
        Ok(Acted {
            outcome,
            workflow: Some(workflow),
        })
    }

    /// Cancels a run that has not finished. Loads no workflow: nothing runs.
    pub fn cancel(&self, run: &RunId, by: &str) -> Result<Acted> {
        let outcome = baton_engine::cancel(&self.store, &self.clock, run, by)?;
        Ok(Acted {
            outcome,
            workflow: None,
        })
    }

    /// Applies every gate timeout that has passed: records the expiries of each due
    /// run (durably, needing no workflow), then continues the run on its recorded
    /// workflow. A run that cannot continue (its workflow moved or changed) keeps its
    /// expiries and says why; the sweep goes on with the next.
    ///
    /// On a shared store only the process holding the sweep duty does this (one of
    /// all the servers and commands sharing it at a time, for as long as the sweep
    /// takes); the others find nothing to do. [`Service::expire_due`] sweeps whoever holds the duty.
    pub async fn sweep(&self) -> Result<Vec<Swept>> {
        // Nothing due (one indexed read on a shared store): no duty to take.
        if self
            .store
            .next_expiry()?
            .is_none_or(|at| at > self.clock.now())
        {
            return Ok(Vec::new());
        }
        let Ok(shared) = self.store.shared() else {
            return self.expire_due().await;
        };
        if !shared.hold_duty("sweep")? {
            return Ok(Vec::new());
        }
        let swept = self.expire_due().await;
        shared.release_duty("sweep")?;
        swept
    }

    /// [`Service::sweep`], now, whoever holds the sweep duty (`host expire`): an
    /// expiry is still recorded once, since every append is checked against the
    /// run's version.
    pub async fn expire_due(&self) -> Result<Vec<Swept>> {
        let now = self.clock.now();
        let due: Vec<RunId> = self
            .store
            .summaries_in(RunStatus::Waiting)?
            .into_iter()
            .filter(|s| s.expires_at.is_some_and(|at| at <= now))
            .map(|s| s.id)
            .collect();
        let mut swept = Vec::new();
        for run in due {
            let outcome = match baton_engine::expire(&self.store, &self.clock, &run) {
                Ok(outcome) => outcome,
                // Another process changed it meanwhile (decided it, or is driving
                // it): the next sweep looks again.
                Err(baton_engine::EngineError::Store(
                    StoreError::Conflict { .. } | StoreError::Held { .. },
                )) => continue,
                Err(e) => return Err(e.into()),
            };
            let expired: Vec<Expired> = outcome
                .events
                .iter()
                .filter_map(|event| match event {
                    RunEvent::DecisionMade {
                        id,
                        outcome: DecisionOutcome::Expired { action },
                        ..
                    } => Some(Expired {
                        decision: id.clone(),
                        on_timeout: *action,
                    }),
                    _ => None,
                })
                .collect();
            if expired.is_empty() {
                continue;
            }
            let workflow = outcome.state.workflow.clone();
            let continued = self.continue_run(outcome.state).await;
            swept.push(Swept {
                run,
                workflow,
                expired,
                status: continued.as_ref().ok().copied(),
                error: continued.err().map(|e| e.to_string()),
            });
        }
        Ok(swept)
    }

    /// Continues every run a crash left `running`, on the code it started with. Only
    /// for the process that holds the store (no other can be running them); on a
    /// shared store, only the runs nobody drives, claimed first.
    pub async fn recover(&self) -> Result<Vec<Recovered>> {
        let running = self.store.summaries_in(RunStatus::Running)?;
        // On a shared store, only the runs nobody drives, claimed under this
        // process's lease (the others belong to their drivers); every run claimed is
        // driven here, also one queued since the summaries were read.
        let runs: Vec<RunId> = match self.store.is_shared() {
            true if running.is_empty() => Vec::new(),
            true => self.claim(running.len())?,
            false => running.iter().map(|s| s.id.clone()).collect(),
        };
        let mut recovered = Vec::new();
        for run in runs {
            let (workflow, continued) = match self.run(&run) {
                Ok(state) => (state.workflow.clone(), self.continue_run(state).await),
                Err(e) => {
                    self.let_go(&run);
                    let workflow = running.iter().find(|s| s.id == run);
                    (
                        workflow.map(|s| s.workflow.clone()).unwrap_or_default(),
                        Err(e),
                    )
                }
            };
            recovered.push(Recovered {
                run,
                workflow,
                status: continued.as_ref().ok().copied(),
                error: continued.err().map(|e| e.to_string()),
            });
        }
        Ok(recovered)
    }

    /// On a shared store, lets go of a run this process cannot drive, so that
    /// another (`host resume`, a worker) may take it at once.
    fn let_go(&self, run: &RunId) {
        if let Ok(shared) = self.store.shared()
            && let Err(e) = shared.release(run)
        {
            tracing::warn!("cannot let go of run {run}: {e}");
        }
    }

    /// Continues a run on the code it started with, acting as this service's operator.
    /// On a shared store, a run that cannot go on here is let go of, so that
    /// another process (`host resume`, a worker) may take it at once.
    async fn continue_run(&self, state: RunState) -> Result<RunStatus> {
        let run = state.id.clone();
        let continued = async {
            let (workflow, state) = self.workflow_for(state, false, &self.operator).await?;
            let outcome = self
                .engine(&workflow, &self.operator)?
                .advance_from(state)
                .await?;
            Ok(outcome.status())
        }
        .await;
        if continued.is_err() {
            self.let_go(&run);
        }
        continued
    }

    /// The workflow a run continues on: the file it recorded, loaded (or as loaded
    /// before), with the run as it now stands. Refused if its code changed since the
    /// run started, unless `allow_changed`; then the change is recorded in the run's
    /// log, by `by`.
    async fn workflow_for(
        &self,
        state: RunState,
        allow_changed: bool,
        by: &str,
    ) -> Result<(Arc<LoadedWorkflow>, RunState)> {
        let workflow = self.workflow(Path::new(&state.workflow_path)).await?;
        let changes = workflow.changes_since(&state);
        if !changes.is_empty() {
            if !allow_changed {
                return Err(ServiceError::ChangedCode {
                    run: state.id.clone(),
                    changes,
                });
            }
            self.engine(&workflow, by)?.record_code_change(
                &state,
                workflow.digest.clone(),
                workflow.plugin_digests(),
            )?;
            let state = self.run(&state.id)?;
            return Ok((workflow, state));
        }
        Ok((workflow, state))
    }

    // ---- queries ----

    /// Every run's summary, newest first.
    ///
    /// Each run that has not finished (the ones an operator acts on) is also read, so
    /// that one whose log is damaged is marked `damaged` with why, rather than
    /// offered as waiting; `host audit --verify` checks every run.
    pub fn runs(&self) -> Result<Vec<RunSummary>> {
        let mut summaries = self.store.summaries()?;
        summaries.sort_by_key(|s| std::cmp::Reverse(s.started_at));
        for summary in summaries.iter_mut().filter(|s| !s.status.is_finished()) {
            if let Err(error) = self.run(&summary.id) {
                summary.damaged = Some(error.to_string());
            }
        }
        Ok(summaries)
    }

    /// A run, folded from its log.
    pub fn run(&self, run: &RunId) -> Result<RunState> {
        Ok(baton_engine::load(&self.store, run)?)
    }

    /// A run's log (an unknown run is `NoSuchRun`).
    pub fn events(&self, run: &RunId) -> Result<Vec<RunEvent>> {
        Ok(self.store.events(run)?)
    }

    /// Every pending decision, critical first, then oldest first, with its run's
    /// workflow name; a run whose log cannot be read is named and left out, so that
    /// it never hides the others.
    pub fn inbox(&self) -> Result<Inbox> {
        self.inbox_first(usize::MAX)
    }

    /// [`Service::inbox`] with only the first `limit` pending decisions (a screen);
    /// `total` says how many are pending in all. Read from the store's index of
    /// pending decisions: the cost follows the screen, not the store.
    pub fn inbox_first(&self, limit: usize) -> Result<Inbox> {
        let mut inbox = self.pending_page(None, limit)?;
        for summary in self.store.summaries_to_check()? {
            match self.run(&summary.id) {
                Ok(state) => {
                    if let Some(about) = &state.about {
                        inbox.about.insert(state.id.clone(), about.clone());
                    }
                    inbox.spot_checks.extend(
                        state
                            .spot_checks_due()
                            .map(|d| (d.clone(), state.workflow.clone())),
                    )
                }
                Err(error) => {
                    if !inbox.unreadable.iter().any(|u| u.run == summary.id) {
                        inbox.unreadable.push(Unreadable::of(&summary, error))
                    }
                }
            }
        }
        inbox.spot_checks.sort_by_key(|(d, _)| d.opened_at);
        inbox.suspended = self.suspensions(None)?;
        inbox.suspended.retain(baton_core::Suspension::active);
        Ok(inbox)
    }

    /// Up to `limit` pending decisions after `after`, in inbox order, from the store's
    /// index. Each run on the page is read once, so that one whose log is damaged is
    /// named (`unreadable`) instead of offered.
    /// A `limit` of 0 reads nothing (and says 0 in all).
    pub fn pending_page(&self, after: Option<&InboxKey>, limit: usize) -> Result<Inbox> {
        if limit == 0 {
            return Ok(Inbox::default());
        }
        let page = self.store.inbox_page(after, limit)?;
        let mut inbox = Inbox {
            total: page.total,
            // A full page may have more after it; a shorter one is the last.
            next: (page.entries.len() == limit)
                .then(|| page.entries.last().map(|(key, _)| key.clone()))
                .flatten(),
            ..Inbox::default()
        };
        // Each run on the page is read (all in one go), so that one whose log is
        // damaged is named once rather than offered.
        let mut runs: Vec<RunId> = page
            .entries
            .iter()
            .map(|(_, entry)| entry.record.request.id.run.clone())
            .collect();
        runs.sort();
        runs.dedup();
        let mut damaged: HashMap<RunId, Option<String>> = HashMap::new();
        for (run, events) in self.store.events_of(&runs)? {
            let problem = match events {
                Err(error) => Some(ServiceError::from(error).to_string()),
                Ok(events) => RunState::fold(&run, &events)
                    .is_none()
                    .then(|| format!("run {run} has an empty log")),
            };
            if problem.is_some() {
                damaged.insert(run, problem);
            }
        }
        for (_, entry) in page.entries {
            let run = entry.record.request.id.run.clone();
            if let Some(problem) = damaged.get_mut(&run) {
                // Named with its first decision on the page, left out with all of them.
                if let Some(error) = problem.take() {
                    inbox.unreadable.push(Unreadable {
                        run,
                        workflow: entry.workflow,
                        error,
                    });
                }
                continue;
            }
            if let Some(about) = entry.about {
                inbox.about.insert(run, about);
            }
            inbox.pending.push((entry.record, entry.workflow));
        }
        Ok(inbox)
    }

    /// Every run's state, or one workflow's; runs whose log cannot be read are named
    /// and left out.
    pub fn states(&self, workflow: Option<&str>) -> Result<States> {
        let mut states = States::default();
        for summary in self
            .store
            .summaries()?
            .into_iter()
            .filter(|s| workflow.is_none_or(|w| s.workflow == w))
        {
            match self.run(&summary.id) {
                Ok(state) => states.runs.push(state),
                Err(error) => states.unreadable.push(Unreadable::of(&summary, error)),
            }
        }
        Ok(states)
    }

    /// What past decisions teach, per workflow and gate, and the runs left out
    /// because their logs cannot be read.
    pub fn stats(
        &self,
        workflow: Option<&str>,
    ) -> Result<(Vec<baton_engine::stats::WorkflowStats>, Vec<Unreadable>)> {
        let states = self.states(workflow)?;
        Ok((baton_engine::stats::stats(&states.runs), states.unreadable))
    }

    /// A run's audit entries, each with who or what caused it.
    pub fn audit(&self, run: &RunId) -> Result<Vec<(AuditEntry, String)>> {
        let entries = self.store.audit(run)?;
        let by = actors(&entries);
        Ok(entries.into_iter().zip(by).collect())
    }

    /// Checks every run's hash chain.
    pub fn verify(&self) -> Result<Verified> {
        Ok(self.store.verify()?)
    }

    /// When the next pending decision is due to expire, if any is.
    pub fn next_expiry(&self) -> Result<Option<u64>> {
        Ok(self.store.next_expiry()?)
    }

    /// Writes the whole store to `out` as JSON Lines (`docs/store-export.md`): each
    /// run at the version its summary had when read, so it is consistent while runs
    /// continue.
    pub fn export(&self, out: &mut dyn std::io::Write) -> Result<baton_store::Exported> {
        Ok(self
            .store
            .export(out, baton_core::Clock::now(&self.clock))?)
    }

    /// Reads an export into this store, which must be empty; a broken file is
    /// refused, naming its line, and nothing is written.
    pub fn import(&self, file: &std::path::Path) -> Result<baton_store::Exported> {
        self.store.import(file).map_err(|e| match e {
            baton_store::ImportError::Broken { .. } => ServiceError::Invalid(e.to_string()),
            baton_store::ImportError::Store(message) => ServiceError::Invalid(message),
        })
    }

    /// Makes everything appended durable.
    pub fn sync(&self) -> Result<()> {
        Ok(self.store.sync()?)
    }
}

/// Refuses an input that does not match the workflow's `input_schema`, naming where.
pub fn check_input(workflow: &Workflow, input: &serde_json::Value) -> Result<()> {
    match &workflow.input_schema {
        Some(schema) => baton_runtime::check_value(schema, input).map_err(|problem| {
            ServiceError::Invalid(format!(
                "the input does not match the input_schema of {}: {problem}",
                workflow.path.display()
            ))
        }),
        None => Ok(()),
    }
}

/// Who or what caused each entry: the operator who started the run, decided or
/// allowed changed code; `auto-approve` or `timeout` for decisions no one made;
/// `plugin:NAME` for a step's events; `baton` for what the workflow's rules did.
fn actors(entries: &[AuditEntry]) -> Vec<String> {
    let mut plugins: HashMap<StepKey, String> = HashMap::new();
    entries
        .iter()
        .map(|entry| match &entry.event {
            RunEvent::RunStarted { by, .. }
            | RunEvent::DecisionMade { by, .. }
            | RunEvent::RunCancelled { by, .. }
            | RunEvent::CodeChanged { by, .. }
            | RunEvent::SpotChecked { by, .. }
            | RunEvent::OutcomeRecorded { by, .. } => by.clone(),
            RunEvent::DecisionShown { to, .. } => to.clone(),
            RunEvent::StepStarted { key, plugin, .. } if !plugin.is_empty() => {
                plugins.insert(key.clone(), plugin.clone());
                format!("plugin:{plugin}")
            }
            RunEvent::StepCompleted { key, .. } | RunEvent::StepFailed { key, .. } => plugins
                .get(key)
                .map_or_else(|| "baton".to_string(), |p| format!("plugin:{p}")),
            _ => "baton".to_string(),
        })
        .collect()
}
