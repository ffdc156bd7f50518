//! The engine's operations: start a run, advance it, decide at a gate, cancel.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use baton_core::{
    Clock, DecisionId, DecisionOutcome, DecisionStatus, ExchangeJournal, InboxChange, LlmExchange,
    LlmUsage, PluginRunner, RunEvent, RunId, RunState, RunStatus, RunStore, RunSummary, StepCall,
    StepFailure, StepKey, StepStatus, Suspension,
};
use baton_workflow::Workflow;
use futures::StreamExt;
use futures::channel::{mpsc, oneshot};
use futures::stream::FuturesUnordered;
use serde_json::Value;

use crate::context::context_all;
use crate::error::EngineError;
use crate::plan::{Action, plan};

/// What an operator decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// 0 approves the default, 1-3 an alternative.
    Approve {
        choice: usize,
    },
    Edit {
        value: Value,
    },
    Reject {
        reason: Option<String>,
    },
}

/// Where a run stands after an operation, and what the operation appended.
#[derive(Debug)]
pub struct Outcome {
    pub state: RunState,
    pub events: Vec<RunEvent>,
    /// Events applied to `state` and not appended yet: the engine appends once per
    /// step of its own (a step's result with what it starts next), not once per event
    /// batch.
    unwritten: Unwritten,
}

#[derive(Debug, Default)]
struct Unwritten {
    events: Vec<RunEvent>,
    /// The decisions pending before the first of them.
    pending_before: Vec<DecisionId>,
}

impl Outcome {
    /// Where `state` stands, with nothing appended.
    pub fn new(state: RunState) -> Outcome {
        Outcome {
            state,
            events: vec![],
            unwritten: Unwritten::default(),
        }
    }

    pub fn status(&self) -> RunStatus {
        self.state.status()
    }

    /// Applies `events` to the state; they are appended by the next [`write`].
    fn defer(&mut self, events: Vec<RunEvent>) {
        if self.unwritten.events.is_empty() {
            self.unwritten.pending_before = baton_core::inbox::pending_ids(&self.state);
        }
        for event in &events {
            self.state.apply(event);
        }
        self.unwritten.events.extend(events);
    }
}

/// Drives runs of one workflow.
pub struct Engine<'a, S, R, C> {
    pub workflow: &'a Workflow,
    pub store: &'a S,
    pub runner: &'a R,
    pub clock: &'a C,
    /// Called with every event as it is appended (progress on a terminal).
    pub observer: Option<&'a (dyn Fn(&RunEvent) + Sync)>,
    /// Who is operating: recorded as the actor of the runs they start and the code
    /// changes they allow.
    pub operator: &'a str,
    /// The workflow's auto-approval rules that spot checks suspended: a gate whose
    /// rule would approve such a kind asks a person instead.
    pub suspended: Suspended,
}

/// The auto-approval rules of one workflow that spot checks suspended.
#[derive(Clone, Debug, Default)]
pub struct Suspended(pub Vec<Suspension>);

impl Suspended {
    /// The suspension of `gate`'s auto-approval of `kind`, if one is in force.
    pub fn of(&self, gate: &str, kind: Option<&str>) -> Option<&Suspension> {
        self.0
            .iter()
            .find(|s| s.active() && s.gate == gate && s.kind.as_deref() == kind)
    }
}

/// Whether decision `id` is among the `share` (0 to 1) of auto-approved decisions
/// sent to a spot check: a hash of its id, so the draw is spread evenly, the same
/// on every machine, and cannot be steered by what a plugin outputs.
fn drawn(id: &DecisionId, share: f64) -> bool {
    // FNV-1a over the id's text.
    let hash = id
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    (hash % 10_000) < (share * 10_000.0).round() as u64
}

impl<S, R, C> std::fmt::Debug for Engine<'_, S, R, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("workflow", &self.workflow.name)
            .finish_non_exhaustive()
    }
}

impl<S: RunStore, R: PluginRunner, C: Clock> Engine<'_, S, R, C> {
    /// Creates a run and advances it until it finishes or waits for decisions.
    pub async fn start(
        &self,
        input: Value,
        workflow_path: String,
        workflow_digest: String,
        plugin_digests: BTreeMap<String, String>,
    ) -> Result<Outcome, EngineError> {
        let mut outcome = self.create(input, workflow_path, workflow_digest, plugin_digests)?;
        self.drive(&mut outcome).await?;
        Ok(outcome)
    }

    /// Creates a run and advances nothing: someone else (a worker) will. Synced.
    pub fn enqueue(
        &self,
        input: Value,
        workflow_path: String,
        workflow_digest: String,
        plugin_digests: BTreeMap<String, String>,
    ) -> Result<Outcome, EngineError> {
        let mut outcome = self.create(input, workflow_path, workflow_digest, plugin_digests)?;
        self.write(&mut outcome, true)?;
        Ok(outcome)
    }

    fn create(
        &self,
        input: Value,
        workflow_path: String,
        workflow_digest: String,
        plugin_digests: BTreeMap<String, String>,
    ) -> Result<Outcome, EngineError> {
        let run = RunId::generate();
        let started = RunEvent::RunStarted {
            at: self.clock.now(),
            workflow: self.workflow.name.clone(),
            workflow_path,
            workflow_digest,
            plugin_digests,
            input,
            by: self.operator.to_string(),
        };
        let state = RunState::fold(&run, std::slice::from_ref(&started)).expect("a started run");
        let mut outcome = Outcome::new(state);
        outcome.unwritten.events.push(started);
        // A summary over the input alone says what the run is about from the start.
        if let Some(described) = self.described(&outcome.state) {
            outcome.defer(vec![described]);
        }
        // Appended with what the engine does first, and not synced on its own:
        // `drive` syncs when the engine stops, and a run lost to a crash before then
        // never reported anything to anyone.
        Ok(outcome)
    }

    pub fn load(&self, run: &RunId) -> Result<RunState, EngineError> {
        load(self.store, run)
    }

    /// Continues a run from its log (after a decision, a crash, or a restart).
    pub async fn advance(&self, run: &RunId) -> Result<Outcome, EngineError> {
        self.advance_from(self.load(run)?).await
    }

    /// [`Engine::advance`] for a run its caller has just loaded.
    pub async fn advance_from(&self, state: RunState) -> Result<Outcome, EngineError> {
        let mut outcome = Outcome::new(state);
        self.drive(&mut outcome).await?;
        Ok(outcome)
    }

    /// Records the code a run continues on when it differs from what it started with.
    pub fn record_code_change(
        &self,
        state: &RunState,
        workflow_digest: String,
        plugin_digests: BTreeMap<String, String>,
    ) -> Result<(), EngineError> {
        let mut outcome = Outcome::new(state.clone());
        let at = self.clock.now();
        self.commit(
            &mut outcome,
            vec![RunEvent::CodeChanged {
                at,
                workflow_digest,
                plugin_digests,
                by: self.operator.to_string(),
            }],
            true,
        )
    }

    /// Commits a decision (synced to disk before this returns), then advances the run.
    pub async fn decide(
        &self,
        id: &DecisionId,
        decision: Decision,
        by: &str,
    ) -> Result<Outcome, EngineError> {
        self.decide_on(self.load(&id.run)?, id, decision, by).await
    }

    /// [`Engine::decide`] on `state`, the decision's run as its caller has just loaded it.
    pub async fn decide_on(
        &self,
        state: RunState,
        id: &DecisionId,
        decision: Decision,
        by: &str,
    ) -> Result<Outcome, EngineError> {
        self.decide_via(state, id, decision, by, None).await
    }

    /// [`Engine::decide_on`], recording where the person decided (`mcp`) when not at
    /// Baton's own front ends.
    pub async fn decide_via(
        &self,
        state: RunState,
        id: &DecisionId,
        decision: Decision,
        by: &str,
        via: Option<&str>,
    ) -> Result<Outcome, EngineError> {
        debug_assert_eq!(state.id, id.run);
        let mut outcome = Outcome::new(state);
        self.expire(&mut outcome)?;
        let state = &outcome.state;
        let record = state
            .decisions
            .get(id)
            .ok_or_else(|| EngineError::NoSuchDecision { id: id.to_string() })?;
        if record.status == DecisionStatus::Withdrawn {
            return Err(EngineError::Finished {
                run: id.run.to_string(),
                status: state.status(),
            });
        }
        if record.status != DecisionStatus::Pending {
            let choice = match &record.outcome {
                Some(DecisionOutcome::Approved { choice: 0 }) => " as proposed".to_string(),
                Some(DecisionOutcome::Approved { choice }) => format!(
                    " (alternative {choice}: {})",
                    record
                        .request
                        .choices
                        .get(*choice)
                        .map(|value| {
                            // One short line: a plugin's text may hold anything.
                            let headline: String = baton_core::choice_headline(value)
                                .chars()
                                .map(|c| if c.is_control() { ' ' } else { c })
                                .collect();
                            match headline.char_indices().nth(80) {
                                Some((cut, _)) => format!("{}...", &headline[..cut]),
                                None => headline,
                            }
                        })
                        .unwrap_or_default()
                ),
                Some(DecisionOutcome::Rejected {
                    reason: Some(reason),
                }) => format!(" ({reason})"),
                _ => String::new(),
            };
            return Err(EngineError::AlreadyDecided {
                id: id.to_string(),
                status: format!("{}{choice}", record.status.as_str()),
                by: record.decided_by.clone().unwrap_or_default(),
                at: format_time(record.decided_at.unwrap_or_default()),
            });
        }
        if state.status().is_finished() {
            return Err(EngineError::Finished {
                run: id.run.to_string(),
                status: state.status(),
            });
        }
        if !record.request.allows(by) {
            return Err(EngineError::NotAnApprover {
                id: id.to_string(),
                operator: by.to_string(),
                approvers: record.request.approvers.clone(),
            });
        }
        let outcome_value = match decision {
            Decision::Approve { choice } => {
                if choice >= record.request.choices.len() {
                    return Err(EngineError::NoSuchChoice {
                        id: id.to_string(),
                        choice,
                        count: record.request.choices.len(),
                    });
                }
                DecisionOutcome::Approved { choice }
            }
            Decision::Edit { value } => {
                if !record.request.editable {
                    return Err(EngineError::NotEditable { id: id.to_string() });
                }
                if let Some(plugin) = &record.request.schema_plugin {
                    self.runner
                        .check_edit(plugin, record.request.edit_schema.as_deref(), &value)
                        .map_err(|reason| EngineError::InvalidEdit { reason })?;
                }
                DecisionOutcome::Edited { value }
            }
            Decision::Reject { reason } => DecisionOutcome::Rejected { reason },
        };
        let at = self.clock.now();
        self.commit(
            &mut outcome,
            vec![RunEvent::DecisionMade {
                at,
                id: id.clone(),
                outcome: outcome_value,
                by: by.to_string(),
                via: via.map(str::to_string),
            }],
            true,
        )?;
        self.drive(&mut outcome).await?;
        Ok(outcome)
    }

    fn commit(
        &self,
        outcome: &mut Outcome,
        events: Vec<RunEvent>,
        durable: bool,
    ) -> Result<(), EngineError> {
        let outputs = events.iter().any(|e| {
            matches!(
                e,
                RunEvent::StepCompleted { .. } | RunEvent::DecisionMade { .. }
            )
        });
        outcome.defer(events);
        // What the run is about may read outputs that just arrived.
        if outputs && let Some(described) = self.described(&outcome.state) {
            outcome.defer(vec![described]);
        }
        if durable {
            self.write(outcome, true)?;
        }
        Ok(())
    }

    /// Appends what the outcome has not appended yet, in one write, and tells the
    /// observer; `durable` syncs to disk before returning.
    fn write(&self, outcome: &mut Outcome, durable: bool) -> Result<(), EngineError> {
        let count = outcome.unwritten.events.len();
        write(self.store, outcome, durable)?;
        if let Some(observer) = self.observer {
            outcome.events[outcome.events.len() - count..]
                .iter()
                .for_each(observer);
        }
        Ok(())
    }

    /// The workflow's `summary` rendered over what the run has, when that renders
    /// (every value it names exists) and says something new.
    fn described(&self, state: &RunState) -> Option<RunEvent> {
        let template = self.workflow.summary.as_ref()?;
        let rendered = template
            .render_text(&context_all(self.workflow, state))
            .ok()?;
        let about = rendered.split_whitespace().collect::<Vec<_>>().join(" ");
        if about.is_empty() || state.about.as_deref() == Some(about.as_str()) {
            return None;
        }
        Some(RunEvent::Described {
            at: self.clock.now(),
            about,
        })
    }

    /// Decisions whose timeout has passed take their `on_timeout` action.
    fn expire(&self, outcome: &mut Outcome) -> Result<(), EngineError> {
        let expired = expired_events(&outcome.state, self.clock.now());
        if expired.is_empty() {
            return Ok(());
        }
        // Synced with the decision that follows, or when `drive` stops.
        self.commit(outcome, expired, false)
    }

    /// Advances until the run finishes or every open branch waits on a decision,
    /// then makes everything it appended durable.
    ///
    /// Durability rule: step events are appended without waiting for the disk; sled
    /// recovers a prefix of the appends after a crash, so a lost `StepCompleted` only
    /// means that step runs again (at-least-once), and nothing that depends on it can
    /// have been recorded after it. Decisions are synced before they are acknowledged,
    /// and the run is synced whenever the engine stops (waiting or finished).
    async fn drive(&self, outcome: &mut Outcome) -> Result<(), EngineError> {
        let result = self.drive_unsynced(outcome).await;
        let written = match result {
            Ok(()) => self.write(outcome, false),
            // Nothing more is appended after a failed append.
            Err(_) => Ok(()),
        };
        self.store.sync()?;
        result.and(written)
    }

    async fn drive_unsynced(&self, outcome: &mut Outcome) -> Result<(), EngineError> {
        self.expire(outcome)?;
        loop {
            if outcome.state.status().is_finished() {
                return Ok(());
            }
            if let Some(failure) = first_failure(&outcome.state) {
                let at = self.clock.now();
                return self.commit(
                    outcome,
                    vec![RunEvent::RunFailed { at, error: failure }],
                    false,
                );
            }
            let actions = plan(self.workflow, &outcome.state, self.clock.now());
            let (tasks, immediate): (Vec<_>, Vec<_>) = actions
                .into_iter()
                .partition(|a| matches!(a, Action::Run { .. }));
            if !immediate.is_empty() {
                let at = self.clock.now();
                let events = immediate
                    .into_iter()
                    .flat_map(|a| immediate_events(a, at, &self.suspended))
                    .collect();
                self.commit(outcome, events, false)?;
                continue;
            }
            if tasks.is_empty() {
                return self.finish(outcome);
            }
            self.run_tasks(outcome, tasks).await?;
        }
    }

    /// Commits `StepStarted` for every task, calls them concurrently, and commits
    /// each result as it arrives.
    async fn run_tasks(
        &self,
        outcome: &mut Outcome,
        tasks: Vec<Action>,
    ) -> Result<(), EngineError> {
        let at = self.clock.now();
        let started = tasks
            .iter()
            .filter_map(|t| match t {
                Action::Run {
                    key,
                    attempt,
                    plugin,
                    ..
                } => Some(RunEvent::StepStarted {
                    at,
                    key: key.clone(),
                    attempt: *attempt,
                    plugin: plugin.to_string(),
                }),
                _ => None,
            })
            .collect();
        self.commit(outcome, started, false)?;
        // On the log before any plugin runs, with what led here.
        self.write(outcome, false)?;
        // Exchanges with a model arrive here while the steps run; each is committed
        // (synced) before its step's plugin sees the answer.
        let (journal, mut exchanges) = mpsc::unbounded::<Recording>();
        let mut usage: BTreeMap<baton_core::PluginName, Arc<Mutex<LlmUsage>>> = BTreeMap::new();
        let mut running: FuturesUnordered<_> = tasks
            .into_iter()
            .filter_map(|t| match t {
                Action::Run {
                    key, plugin, input, ..
                } => {
                    let step = StepCall {
                        recorded: outcome
                            .state
                            .step(&key)
                            .map(|record| record.llm.clone())
                            .unwrap_or_default(),
                        usage: usage
                            .entry(plugin.clone())
                            .or_insert_with(|| {
                                Arc::new(Mutex::new(outcome.state.llm_usage(Some(&plugin))))
                            })
                            .clone(),
                        journal: Some(Arc::new(StepJournal {
                            key: key.clone(),
                            sender: journal.clone(),
                        })),
                    };
                    Some(async move {
                        let began = Instant::now();
                        let result = self.runner.invoke(&plugin, &input, step).await;
                        (key, result, began.elapsed().as_millis() as u64)
                    })
                }
                _ => None,
            })
            .collect();
        drop(journal);
        loop {
            let (key, result, elapsed_ms) = tokio::select! {
                Some((key, exchange, ack)) = exchanges.next() => {
                    let at = self.clock.now();
                    let event = RunEvent::LlmExchanged { at, key, exchange };
                    let committed = self.commit(outcome, vec![event], true);
                    let _ = ack.send(committed.as_ref().map(drop).map_err(|e| e.to_string()));
                    committed?;
                    continue;
                }
                done = running.next() => match done {
                    Some(done) => done,
                    None => break,
                },
            };
            let at = self.clock.now();
            let event = match result {
                Ok(output) => RunEvent::StepCompleted {
                    at,
                    key,
                    output,
                    elapsed_ms,
                },
                Err(e) => RunEvent::StepFailed {
                    at,
                    key,
                    error: StepFailure {
                        kind: e.kind,
                        message: e.message,
                    },
                },
            };
            self.commit(outcome, vec![event], false)?;
            // A result is appended at once while other steps still run; the last
            // one goes with what the engine does next.
            if !running.is_empty() {
                self.write(outcome, false)?;
            }
        }
        Ok(())
    }

    fn finish(&self, outcome: &mut Outcome) -> Result<(), EngineError> {
        let state = &outcome.state;
        if state.pending().next().is_some() {
            return Ok(());
        }
        let at = self.clock.now();
        let decided: Vec<_> = state.decisions.values().collect();
        let all_rejected =
            !decided.is_empty() && decided.iter().all(|d| d.chosen_value().is_none());
        let event = if all_rejected {
            RunEvent::RunRejected { at }
        } else {
            RunEvent::RunCompleted { at }
        };
        self.commit(outcome, vec![event], false)
    }
}

/// An exchange on its way to the run's log, and who waits for it to be durable.
type Recording = (StepKey, LlmExchange, oneshot::Sender<Result<(), String>>);

/// A step's journal: sends its exchanges to the loop that commits them.
struct StepJournal {
    key: StepKey,
    sender: mpsc::UnboundedSender<Recording>,
}

impl ExchangeJournal for StepJournal {
    fn record(
        &self,
        exchange: LlmExchange,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        let (ack, committed) = oneshot::channel();
        let sent = self
            .sender
            .unbounded_send((self.key.clone(), exchange, ack));
        Box::pin(async move {
            sent.map_err(|_| "the run stopped before the exchange was recorded".to_string())?;
            committed
                .await
                .map_err(|_| "the run stopped before the exchange was recorded".to_string())?
        })
    }
}

/// Reads a run: its newest snapshot and the events after it, or (without a usable
/// snapshot) its whole log, folded. A read that had to fold many events keeps a
/// snapshot for the next one.
pub fn load<S: RunStore>(store: &S, run: &RunId) -> Result<RunState, EngineError> {
    let (state, folded) = match store.snapshot(run)?.and_then(|(version, bytes)| {
        RunState::from_snapshot(&bytes).filter(|s| s.version == version && s.id == *run)
    }) {
        Some(mut state) => {
            let events = store.events_after(run, state.version)?;
            for event in &events {
                state.apply(event);
            }
            (state, events.len() as u64)
        }
        None => {
            let events = store.events(run)?;
            let state = RunState::fold(run, &events).ok_or_else(|| EngineError::EmptyRun {
                run: run.to_string(),
            })?;
            (state, events.len() as u64)
        }
    };
    if folded >= SNAPSHOT_EVERY {
        keep_snapshot(store, &state);
    }
    Ok(state)
}

/// Keeps `state` as the run's snapshot; a failure only costs speed.
fn keep_snapshot<S: RunStore>(store: &S, state: &RunState) {
    if let Err(e) = store.save_snapshot(&state.id, state.version, &state.snapshot()) {
        tracing::warn!("cannot keep a snapshot of run {}: {e}", state.id);
    }
}

/// A run's folded state is kept every this many events, so that reading a run
/// applies fewer than this many events to a snapshot instead of folding its log.
pub const SNAPSHOT_EVERY: u64 = 64;

/// Cancels a run that has not finished. Needs no workflow: nothing runs.
pub fn cancel<S: RunStore, C: Clock>(
    store: &S,
    clock: &C,
    run: &RunId,
    by: &str,
) -> Result<Outcome, EngineError> {
    let mut outcome = Outcome::new(load(store, run)?);
    if outcome.state.status().is_finished() {
        return Err(EngineError::Finished {
            run: run.to_string(),
            status: outcome.state.status(),
        });
    }
    let at = clock.now();
    commit(
        store,
        &mut outcome,
        vec![RunEvent::RunCancelled {
            at,
            by: by.to_string(),
        }],
        true,
    )?;
    Ok(outcome)
}

/// The run of decision `id`, read for an operation on that decision; an unknown
/// decision is `NoSuchDecision`.
fn read_decision<S: RunStore>(store: &S, id: &DecisionId) -> Result<Outcome, EngineError> {
    let state = load(store, &id.run)?;
    if !state.decisions.contains_key(id) {
        return Err(EngineError::NoSuchDecision { id: id.to_string() });
    }
    Ok(Outcome::new(state))
}

/// Records that decision `id` was shown to `to` through `via` (`focus`, `web`,
/// `api`), the first time only, while it is pending: the wait ends and the handling
/// time starts. Returns whether it recorded anything. Not synced on its own: losing
/// it to a crash loses a timing, nothing anyone decided.
pub fn shown<S: RunStore, C: Clock>(
    store: &S,
    clock: &C,
    id: &DecisionId,
    to: &str,
    via: &str,
) -> Result<bool, EngineError> {
    let mut outcome = read_decision(store, id)?;
    let record = &outcome.state.decisions[id];
    if record.status != DecisionStatus::Pending || record.shown_at.is_some() {
        return Ok(false);
    }
    let event = RunEvent::DecisionShown {
        at: clock.now(),
        id: id.clone(),
        to: to.to_string(),
        via: via.to_string(),
    };
    commit(store, &mut outcome, vec![event], false)?;
    Ok(true)
}

/// Records `by`'s review of an auto-approved decision drawn for a spot check: what
/// they would have decided. It changes nothing the run did. Synced.
pub fn answer_spot_check<S: RunStore, C: Clock>(
    store: &S,
    clock: &C,
    id: &DecisionId,
    answer: baton_core::SpotCheckAnswer,
    by: &str,
) -> Result<Outcome, EngineError> {
    let mut outcome = read_decision(store, id)?;
    let record = &outcome.state.decisions[id];
    let check = record
        .spot_check
        .as_ref()
        .ok_or_else(|| EngineError::NoSpotCheck { id: id.to_string() })?;
    if check.answer.is_some() {
        return Err(EngineError::AlreadyChecked {
            id: id.to_string(),
            by: check.answered_by.clone().unwrap_or_default(),
            at: format_time(check.answered_at.unwrap_or_default()),
        });
    }
    if !record.request.allows(by) {
        return Err(EngineError::NotAnApprover {
            id: id.to_string(),
            operator: by.to_string(),
            approvers: record.request.approvers.clone(),
        });
    }
    match &answer.would {
        DecisionOutcome::Approved { choice } if *choice >= record.request.choices.len() => {
            return Err(EngineError::NoSuchChoice {
                id: id.to_string(),
                choice: *choice,
                count: record.request.choices.len(),
            });
        }
        DecisionOutcome::Edited { .. } if !record.request.editable => {
            return Err(EngineError::NotEditable { id: id.to_string() });
        }
        _ => {}
    }
    let event = RunEvent::SpotChecked {
        at: clock.now(),
        id: id.clone(),
        answer,
        by: by.to_string(),
    };
    commit(store, &mut outcome, vec![event], true)?;
    Ok(outcome)
}

/// Records, in the run of decision `id`, whose spot check tipped it, that its gate's
/// auto-approval of a kind was suspended. Synced.
pub fn record_suspension<S: RunStore>(
    store: &S,
    suspension: &baton_core::Suspension,
    id: &DecisionId,
) -> Result<Outcome, EngineError> {
    let mut outcome = read_decision(store, id)?;
    let event = RunEvent::AutoApprovalSuspended {
        at: suspension.at,
        gate: id.gate.step.clone(),
        kind: suspension.kind.clone(),
        agreed: suspension.agreed,
        checked: suspension.checked,
        by: suspension.by.clone(),
    };
    commit(store, &mut outcome, vec![event], true)?;
    Ok(outcome)
}

/// Records what happened after decision `id`, as `by` reports it: good or bad, and
/// why. A decision may collect several (a reply, then a complaint). Synced.
pub fn record_outcome<S: RunStore, C: Clock>(
    store: &S,
    clock: &C,
    id: &DecisionId,
    good: bool,
    note: Option<String>,
    by: &str,
) -> Result<Outcome, EngineError> {
    let mut outcome = read_decision(store, id)?;
    let record = &outcome.state.decisions[id];
    if record.outcome.is_none() {
        return Err(EngineError::NotDecided {
            id: id.to_string(),
            status: record.status.as_str().to_string(),
        });
    }
    let event = RunEvent::OutcomeRecorded {
        at: clock.now(),
        id: id.clone(),
        good,
        note,
        by: by.to_string(),
    };
    commit(store, &mut outcome, vec![event], true)?;
    Ok(outcome)
}

/// Records the `on_timeout` action of every decision of `run` whose timeout has
/// passed, synced to disk; needs no workflow, since nothing runs. The run continues
/// (the approved branch runs, or the run finishes) when an engine next advances it.
/// Returns the outcome with the expiries it recorded, none if nothing was due.
pub fn expire<S: RunStore, C: Clock>(
    store: &S,
    clock: &C,
    run: &RunId,
) -> Result<Outcome, EngineError> {
    let mut outcome = Outcome::new(load(store, run)?);
    let expired = expired_events(&outcome.state, clock.now());
    if !expired.is_empty() {
        commit(store, &mut outcome, expired, true)?;
    }
    Ok(outcome)
}

/// A `DecisionMade` by `timeout` for each pending decision due at `now`; none once
/// the run has finished.
fn expired_events(state: &RunState, now: u64) -> Vec<RunEvent> {
    if state.status().is_finished() {
        return vec![];
    }
    state
        .pending()
        .filter(|d| d.request.expires_at.is_some_and(|at| at <= now))
        .map(|d| RunEvent::DecisionMade {
            at: now,
            id: d.request.id.clone(),
            outcome: DecisionOutcome::Expired {
                action: d.request.on_timeout,
            },
            by: "timeout".into(),
            via: None,
        })
        .collect()
}

/// Applies events to the outcome's state and appends them (with any not appended
/// yet) after the version it was read at, with the run's new summary; `durable`
/// syncs to disk before returning.
fn commit<S: RunStore>(
    store: &S,
    outcome: &mut Outcome,
    events: Vec<RunEvent>,
    durable: bool,
) -> Result<(), EngineError> {
    outcome.defer(events);
    write(store, outcome, durable)
}

/// Appends the outcome's unwritten events in one write, with the run's new summary
/// and what they did to its pending decisions. If the append fails the outcome is
/// ahead of the log; every caller then returns the error and drops it.
fn write<S: RunStore>(store: &S, outcome: &mut Outcome, durable: bool) -> Result<(), EngineError> {
    let Unwritten {
        events,
        pending_before,
    } = std::mem::take(&mut outcome.unwritten);
    if !events.is_empty() {
        let expected = outcome.state.version - events.len() as u64;
        let inbox = InboxChange::between(&pending_before, &outcome.state, &events);
        store.append(
            &outcome.state.id,
            expected,
            &events,
            &summary(&outcome.state),
            &inbox,
        )?;
        if expected / SNAPSHOT_EVERY != outcome.state.version / SNAPSHOT_EVERY {
            keep_snapshot(store, &outcome.state);
        }
        outcome.events.extend(events);
    }
    if durable {
        store.sync()?;
    }
    Ok(())
}

fn immediate_events(action: Action, at: u64, suspended: &Suspended) -> Vec<RunEvent> {
    match action {
        Action::Expand { step, items } => vec![RunEvent::StepExpanded { at, step, items }],
        Action::Skip { key, reason } => vec![RunEvent::StepSkipped { at, key, reason }],
        Action::Fail { key, error } => vec![RunEvent::StepFailed { at, key, error }],
        Action::OpenGate {
            key,
            mut request,
            auto,
        } => {
            let id = request.id.clone();
            // A rule whose spot checks disagreed asks a person, and says why.
            let auto =
                auto.filter(
                    |_| match suspended.of(key.step.as_str(), request.kind.as_deref()) {
                        Some(suspension) => {
                            request.auto_suspended = Some(suspension.message());
                            false
                        }
                        None => true,
                    },
                );
            let spot_check = request.spot_check;
            let mut events = vec![RunEvent::GateOpened {
                at,
                key,
                request: *request,
            }];
            if let Some(by) = auto {
                events.push(RunEvent::DecisionMade {
                    at,
                    id: id.clone(),
                    outcome: DecisionOutcome::Approved { choice: 0 },
                    by,
                    via: None,
                });
                if spot_check.is_some_and(|policy| drawn(&id, policy.share)) {
                    events.push(RunEvent::SpotCheckRequested { at, id });
                }
            }
            events
        }
        Action::Run { .. } => vec![],
    }
}

fn first_failure(state: &RunState) -> Option<String> {
    state
        .steps
        .values()
        .find(|r| r.status == StepStatus::Failed)
        .map(|r| {
            let error = r.error.as_ref();
            format!(
                "step {} failed ({}): {}",
                r.key,
                error.map(|e| e.kind.as_str()).unwrap_or("unknown"),
                error.map(|e| e.message.as_str()).unwrap_or("")
            )
        })
}

pub(crate) fn summary(state: &RunState) -> RunSummary {
    RunSummary {
        id: state.id.clone(),
        workflow: state.workflow.clone(),
        status: state.status(),
        started_at: state.started_at,
        updated_at: state.updated_at,
        pending: state.pending().count() as u32,
        version: state.version,
        expires_at: state.pending().filter_map(|d| d.request.expires_at).min(),
        about: state.about.clone(),
        spot_checks: state.spot_checks_due().count() as u32,
        damaged: None,
    }
}

/// `2026-11-21T19:40:12Z`.
pub fn format_time(millis: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis);
    humantime::format_rfc3339_seconds(time).to_string()
}
