//! A run's state, derived from its log by folding the events in order. The log is
//! the truth; a store may keep a snapshot of the folded state ([`RunState::snapshot`])
//! so that reading a long run folds only what came after it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::event::{
    DecisionOutcome, DecisionRequest, OnTimeout, RunEvent, SpotCheckAnswer, StepFailure, Timestamp,
};
use crate::ids::{DecisionId, RunId, StepId, StepKey};
use crate::llm::{LlmExchange, LlmUsage};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Waiting,
    Completed,
    Failed,
    Rejected,
    Cancelled,
}

impl RunStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Rejected | RunStatus::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Rejected => "rejected",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Started and not finished: running now, or interrupted by a crash.
    Running,
    Completed,
    Skipped,
    Failed,
    /// A gate waiting for its decision.
    Waiting,
    /// A gate whose decision was a rejection: its branch ends here.
    Rejected,
    /// A gate still waiting when its run ended (cancelled, or failed elsewhere):
    /// nothing is left to decide.
    Withdrawn,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct StepRecord {
    pub key: StepKey,
    pub status: StepStatus,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<StepFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    pub started_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// The step's exchanges with a model, every attempt's, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub llm: Vec<LlmExchange>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionStatus {
    Pending,
    Approved,
    Edited,
    Rejected,
    Expired,
    /// The run ended (cancelled, failed, or finished another way) before anyone
    /// decided: nothing is left to decide.
    Withdrawn,
}

impl DecisionStatus {
    /// As it appears in JSON output: `pending`, `approved`, `edited`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionStatus::Pending => "pending",
            DecisionStatus::Approved => "approved",
            DecisionStatus::Edited => "edited",
            DecisionStatus::Rejected => "rejected",
            DecisionStatus::Expired => "expired",
            DecisionStatus::Withdrawn => "withdrawn",
        }
    }
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct DecisionRecord {
    pub request: DecisionRequest,
    pub status: DecisionStatus,
    pub opened_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<DecisionOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Timestamp>,
    /// Where the person decided when not at Baton's own front ends (`mcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_via: Option<String>,
    /// When a person first saw it, and who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_to: Option<String>,
    /// The review of an auto-approved decision, when one was drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_check: Option<SpotCheck>,
    /// What happened after it, as reported, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<ReportedOutcome>,
}

/// A spot check of an auto-approved decision: asked, then answered.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct SpotCheck {
    pub requested_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<SpotCheckAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<Timestamp>,
}

/// What an operator or a system said happened after a decision.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct ReportedOutcome {
    pub at: Timestamp,
    pub good: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub by: String,
}

impl DecisionRecord {
    /// The value later steps see, once decided and not rejected.
    pub fn chosen_value(&self) -> Option<Value> {
        match self.outcome.as_ref()? {
            DecisionOutcome::Approved { choice } => self.request.choices.get(*choice).cloned(),
            DecisionOutcome::Edited { value } => Some(value.clone()),
            DecisionOutcome::Expired {
                action: OnTimeout::ApproveDefault,
            } => self.request.choices.first().cloned(),
            DecisionOutcome::Rejected { .. }
            | DecisionOutcome::Expired {
                action: OnTimeout::Reject,
            } => None,
        }
    }
}

/// What a choice is, in one phrase: its `action`, an email's `subject`, its `title` or
/// `name`, a string as it is, or else compact JSON. Not shortened or escaped.
pub fn choice_headline(value: &Value) -> String {
    match value {
        Value::Object(map) => map
            .get("action")
            .or_else(|| map.get("subject"))
            .or_else(|| map.get("title"))
            .or_else(|| map.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An earlier decision of the same run that changed what a pending one touches.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Earlier {
    pub decision: DecisionId,
    /// What it approved.
    pub value: Value,
    pub decided_at: Option<Timestamp>,
    /// The entities, of those the pending decision's choices touch, it changed.
    pub entities: Vec<String>,
    /// Which of the pending decision's choices touch them (0 is the default).
    pub choices: Vec<usize>,
}

/// The entities a value says it touches: its `affects`, a list of strings.
pub fn affects(value: &Value) -> Vec<String> {
    value
        .get("affects")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether two entity paths are the same thing or one holds the other.
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        inner.len() > outer.len()
            && inner.starts_with(outer)
            && inner.as_bytes()[outer.len()] == b'/'
    };
    a == b || inside(a, b) || inside(b, a)
}

/// Everything known about a run, derived from its log.
#[derive(Clone, Debug, Serialize)]
pub struct RunState {
    pub id: RunId,
    /// Events in the log; an append must name this version or it is refused.
    pub version: u64,
    pub workflow: String,
    pub workflow_path: String,
    pub workflow_digest: String,
    pub plugin_digests: BTreeMap<String, String>,
    pub input: Value,
    pub started_at: Timestamp,
    pub updated_at: Timestamp,
    /// Serialised as an object keyed by `score` or `draft[2]`.
    #[serde(serialize_with = "steps_by_name")]
    pub steps: BTreeMap<StepKey, StepRecord>,
    /// Items of each `for_each` step, once its list was evaluated.
    pub expansions: BTreeMap<StepId, u32>,
    pub decisions: BTreeMap<DecisionId, DecisionRecord>,
    /// What the run is about (the workflow's `summary`), once it rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    #[serde(skip)]
    finished: Option<(RunStatus, Option<String>)>,
}

fn steps_by_name<S: serde::Serializer>(
    steps: &BTreeMap<StepKey, StepRecord>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(steps.iter().map(|(key, record)| (key.to_string(), record)))
}

impl RunState {
    /// Folds a log; `None` if it does not start with `RunStarted`.
    pub fn fold(id: &RunId, events: &[RunEvent]) -> Option<RunState> {
        let RunEvent::RunStarted {
            at,
            workflow,
            workflow_path,
            workflow_digest,
            plugin_digests,
            input,
            ..
        } = events.first()?
        else {
            return None;
        };
        let mut state = RunState {
            id: id.clone(),
            version: 1,
            workflow: workflow.clone(),
            workflow_path: workflow_path.clone(),
            workflow_digest: workflow_digest.clone(),
            plugin_digests: plugin_digests.clone(),
            input: input.clone(),
            started_at: *at,
            updated_at: *at,
            steps: BTreeMap::new(),
            expansions: BTreeMap::new(),
            decisions: BTreeMap::new(),
            about: None,
            finished: None,
        };
        for event in &events[1..] {
            state.apply(event);
        }
        Some(state)
    }

    /// Applies one more event (the engine keeps its view current this way).
    pub fn apply(&mut self, event: &RunEvent) {
        self.version += 1;
        self.updated_at = self.updated_at.max(event.at());
        match event {
            RunEvent::RunStarted { .. } => {}
            RunEvent::StepStarted {
                at, key, attempt, ..
            } => {
                // A step started again after a crash keeps the exchanges it recorded.
                let llm = self
                    .steps
                    .remove(key)
                    .map(|record| record.llm)
                    .unwrap_or_default();
                self.steps.insert(
                    key.clone(),
                    StepRecord {
                        key: key.clone(),
                        status: StepStatus::Running,
                        attempts: *attempt,
                        output: None,
                        error: None,
                        skipped_because: None,
                        started_at: *at,
                        finished_at: None,
                        elapsed_ms: None,
                        llm,
                    },
                );
            }
            RunEvent::StepCompleted {
                at,
                key,
                output,
                elapsed_ms,
            } => {
                let record = self.record(key, *at);
                record.status = StepStatus::Completed;
                record.output = Some(output.clone());
                record.finished_at = Some(*at);
                record.elapsed_ms = Some(*elapsed_ms);
            }
            RunEvent::StepSkipped { at, key, reason } => {
                let record = self.record(key, *at);
                record.status = StepStatus::Skipped;
                record.skipped_because = Some(reason.clone());
                record.finished_at = Some(*at);
            }
            RunEvent::StepExpanded { step, items, .. } => {
                self.expansions.insert(step.clone(), *items);
            }
            RunEvent::StepFailed { at, key, error } => {
                let record = self.record(key, *at);
                record.status = StepStatus::Failed;
                record.error = Some(error.clone());
                record.finished_at = Some(*at);
            }
            RunEvent::LlmExchanged { at, key, exchange } => {
                self.record(key, *at).llm.push(exchange.clone());
            }
            RunEvent::GateOpened { at, key, request } => {
                let record = self.record(key, *at);
                record.status = StepStatus::Waiting;
                self.decisions.insert(
                    request.id.clone(),
                    DecisionRecord {
                        request: request.clone(),
                        status: DecisionStatus::Pending,
                        opened_at: *at,
                        outcome: None,
                        decided_by: None,
                        decided_at: None,
                        decided_via: None,
                        shown_at: None,
                        shown_to: None,
                        spot_check: None,
                        outcomes: Vec::new(),
                    },
                );
            }
            RunEvent::DecisionShown { at, id, to, .. } => {
                if let Some(decision) = self.decisions.get_mut(id)
                    && decision.shown_at.is_none()
                {
                    decision.shown_at = Some(*at);
                    decision.shown_to = Some(to.clone());
                }
            }
            RunEvent::SpotCheckRequested { at, id } => {
                if let Some(decision) = self.decisions.get_mut(id) {
                    decision.spot_check = Some(SpotCheck {
                        requested_at: *at,
                        answer: None,
                        answered_by: None,
                        answered_at: None,
                    });
                }
            }
            RunEvent::SpotChecked { at, id, answer, by } => {
                if let Some(check) = self
                    .decisions
                    .get_mut(id)
                    .and_then(|d| d.spot_check.as_mut())
                {
                    check.answer = Some(answer.clone());
                    check.answered_by = Some(by.clone());
                    check.answered_at = Some(*at);
                }
            }
            RunEvent::AutoApprovalSuspended { .. } => {}
            RunEvent::OutcomeRecorded {
                at,
                id,
                good,
                note,
                by,
            } => {
                if let Some(decision) = self.decisions.get_mut(id) {
                    decision.outcomes.push(ReportedOutcome {
                        at: *at,
                        good: *good,
                        note: note.clone(),
                        by: by.clone(),
                    });
                }
            }
            RunEvent::DecisionMade {
                at,
                id,
                outcome,
                by,
                via,
            } => {
                let Some(decision) = self.decisions.get_mut(id) else {
                    return;
                };
                decision.decided_via = via.clone();
                decision.status = match outcome {
                    DecisionOutcome::Approved { .. } => DecisionStatus::Approved,
                    DecisionOutcome::Edited { .. } => DecisionStatus::Edited,
                    DecisionOutcome::Rejected { .. } => DecisionStatus::Rejected,
                    DecisionOutcome::Expired { .. } => DecisionStatus::Expired,
                };
                decision.outcome = Some(outcome.clone());
                decision.decided_by = Some(by.clone());
                decision.decided_at = Some(*at);
                let chosen = decision.chosen_value();
                let record = self.record(&id.gate, *at);
                record.finished_at = Some(*at);
                match chosen {
                    Some(value) => {
                        record.status = StepStatus::Completed;
                        record.output = Some(value);
                    }
                    None => record.status = StepStatus::Rejected,
                }
            }
            RunEvent::CodeChanged {
                workflow_digest,
                plugin_digests,
                ..
            } => {
                self.workflow_digest = workflow_digest.clone();
                self.plugin_digests = plugin_digests.clone();
            }
            RunEvent::Described { about, .. } => self.about = Some(about.clone()),
            RunEvent::RunCompleted { .. } => self.finished = Some((RunStatus::Completed, None)),
            RunEvent::RunFailed { error, .. } => {
                self.finished = Some((RunStatus::Failed, Some(error.clone())))
            }
            RunEvent::RunRejected { .. } => self.finished = Some((RunStatus::Rejected, None)),
            RunEvent::RunCancelled { by, .. } => {
                self.finished = Some((RunStatus::Cancelled, Some(format!("cancelled by {by}"))))
            }
        }
        let ends = matches!(
            event,
            RunEvent::RunCompleted { .. }
                | RunEvent::RunFailed { .. }
                | RunEvent::RunRejected { .. }
                | RunEvent::RunCancelled { .. }
        );
        if ends {
            // A run that ended asks nobody anything any more.
            for decision in self.decisions.values_mut() {
                if decision.status == DecisionStatus::Pending {
                    decision.status = DecisionStatus::Withdrawn;
                }
            }
            for step in self.steps.values_mut() {
                if step.status == StepStatus::Waiting {
                    step.status = StepStatus::Withdrawn;
                }
            }
        }
    }

    fn record(&mut self, key: &StepKey, at: Timestamp) -> &mut StepRecord {
        self.steps.entry(key.clone()).or_insert_with(|| StepRecord {
            key: key.clone(),
            status: StepStatus::Running,
            attempts: 0,
            output: None,
            error: None,
            skipped_because: None,
            started_at: at,
            finished_at: None,
            elapsed_ms: None,
            llm: Vec::new(),
        })
    }

    /// What `plugin`'s exchanges with a model add up to in this run (all of the
    /// plugins' when `None`).
    pub fn llm_usage(&self, plugin: Option<&str>) -> LlmUsage {
        LlmUsage::of(
            self.steps
                .values()
                .flat_map(|record| &record.llm)
                .filter(|exchange| plugin.is_none_or(|p| exchange.plugin == p)),
        )
    }

    /// Finished runs keep their final status; otherwise a run with a pending
    /// decision is waiting, and one without is running (or was interrupted).
    pub fn status(&self) -> RunStatus {
        match &self.finished {
            Some((status, _)) => *status,
            None if self.pending().next().is_some() => RunStatus::Waiting,
            None => RunStatus::Running,
        }
    }

    /// Why the run failed or was cancelled, when it was.
    pub fn finish_note(&self) -> Option<&str> {
        self.finished.as_ref().and_then(|(_, note)| note.as_deref())
    }

    pub fn pending(&self) -> impl Iterator<Item = &DecisionRecord> {
        self.decisions
            .values()
            .filter(|d| d.status == DecisionStatus::Pending)
    }

    /// Auto-approved decisions drawn for a spot check that nobody answered yet.
    pub fn spot_checks_due(&self) -> impl Iterator<Item = &DecisionRecord> {
        self.decisions
            .values()
            .filter(|d| d.spot_check.as_ref().is_some_and(|c| c.answer.is_none()))
    }

    pub fn step(&self, key: &StepKey) -> Option<&StepRecord> {
        self.steps.get(key)
    }

    /// What earlier decisions of this run already did to what decision `id`'s choices
    /// touch: each approved (or edited) decision whose value `affects` an entity one of
    /// these choices `affects` too, with those entities and the choices that touch
    /// them. Entities are paths: `campaign:Brand/keyword:boots` is inside
    /// `campaign:Brand`, so pausing the campaign touches the keyword.
    pub fn earlier_on(&self, id: &DecisionId) -> Vec<Earlier> {
        let Some(record) = self.decisions.get(id) else {
            return Vec::new();
        };
        let mine: Vec<Vec<String>> = record.request.choices.iter().map(affects).collect();
        if mine.iter().all(Vec::is_empty) {
            return Vec::new();
        }
        let mut earlier: Vec<Earlier> = self
            .decisions
            .values()
            .filter(|other| other.request.id != *id)
            .filter_map(|other| {
                let value = other.chosen_value()?;
                let theirs = affects(&value);
                let mut entities: Vec<String> = Vec::new();
                let mut choices = Vec::new();
                for (index, touched) in mine.iter().enumerate() {
                    let overlap: Vec<&String> = touched
                        .iter()
                        .filter(|a| theirs.iter().any(|b| overlaps(a, b)))
                        .collect();
                    if !overlap.is_empty() {
                        choices.push(index);
                    }
                    for entity in overlap {
                        if !entities.contains(entity) {
                            entities.push(entity.clone());
                        }
                    }
                }
                (!choices.is_empty()).then(|| Earlier {
                    decision: other.request.id.clone(),
                    value,
                    decided_at: other.decided_at,
                    entities,
                    choices,
                })
            })
            .collect();
        earlier.sort_by_key(|e| e.decided_at);
        earlier
    }

    /// The folded state as bytes a store may keep beside the log, tagged with
    /// [`FOLD_FORMAT`].
    pub fn snapshot(&self) -> Vec<u8> {
        let out = SnapshotOut {
            fold: FOLD_FORMAT,
            id: &self.id,
            version: self.version,
            workflow: &self.workflow,
            workflow_path: &self.workflow_path,
            workflow_digest: &self.workflow_digest,
            plugin_digests: &self.plugin_digests,
            input: &self.input,
            started_at: self.started_at,
            updated_at: self.updated_at,
            steps: self.steps.values().collect(),
            expansions: self.expansions.iter().collect(),
            decisions: self.decisions.values().collect(),
            about: &self.about,
            finished: &self.finished,
        };
        serde_json::to_vec(&out).unwrap_or_default()
    }

    /// A state from [`RunState::snapshot`]'s bytes; `None` if they are not one, or
    /// were written by a fold that worked differently (then the log is folded).
    pub fn from_snapshot(bytes: &[u8]) -> Option<RunState> {
        let snapshot: SnapshotIn = serde_json::from_slice(bytes).ok()?;
        if snapshot.fold != FOLD_FORMAT {
            return None;
        }
        Some(RunState {
            id: snapshot.id,
            version: snapshot.version,
            workflow: snapshot.workflow,
            workflow_path: snapshot.workflow_path,
            workflow_digest: snapshot.workflow_digest,
            plugin_digests: snapshot.plugin_digests,
            input: snapshot.input,
            started_at: snapshot.started_at,
            updated_at: snapshot.updated_at,
            steps: snapshot
                .steps
                .into_iter()
                .map(|record| (record.key.clone(), record))
                .collect(),
            expansions: snapshot.expansions.into_iter().collect(),
            decisions: snapshot
                .decisions
                .into_iter()
                .map(|record| (record.request.id.clone(), record))
                .collect(),
            about: snapshot.about,
            finished: snapshot.finished,
        })
    }
}

/// How [`RunState::apply`] folds events. Change it whenever a change to `apply`
/// would fold the same log to a different state: snapshots of the old fold are then
/// ignored and the logs folded again.
pub const FOLD_FORMAT: u32 = 3;

#[derive(Serialize)]
struct SnapshotOut<'a> {
    fold: u32,
    id: &'a RunId,
    version: u64,
    workflow: &'a str,
    workflow_path: &'a str,
    workflow_digest: &'a str,
    plugin_digests: &'a BTreeMap<String, String>,
    input: &'a Value,
    started_at: Timestamp,
    updated_at: Timestamp,
    steps: Vec<&'a StepRecord>,
    expansions: Vec<(&'a StepId, &'a u32)>,
    decisions: Vec<&'a DecisionRecord>,
    about: &'a Option<String>,
    finished: &'a Option<(RunStatus, Option<String>)>,
}

#[derive(serde::Deserialize)]
struct SnapshotIn {
    fold: u32,
    id: RunId,
    version: u64,
    workflow: String,
    workflow_path: String,
    workflow_digest: String,
    plugin_digests: BTreeMap<String, String>,
    input: Value,
    started_at: Timestamp,
    updated_at: Timestamp,
    steps: Vec<StepRecord>,
    expansions: Vec<(StepId, u32)>,
    decisions: Vec<DecisionRecord>,
    #[serde(default)]
    about: Option<String>,
    finished: Option<(RunStatus, Option<String>)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use serde_json::json;

    fn started(run: &RunId) -> Vec<RunEvent> {
        let _ = run;
        vec![RunEvent::RunStarted {
            at: 1,
            workflow: "w".into(),
            workflow_path: "w.toml".into(),
            workflow_digest: "d".into(),
            plugin_digests: BTreeMap::new(),
            input: json!({}),
            by: "ana".into(),
        }]
    }

    fn key(step: &str) -> StepKey {
        StepKey::whole(StepId::try_from(step.to_string()).unwrap())
    }

    #[test]
    fn an_open_gate_makes_the_run_wait_and_its_decision_completes_the_gate() {
        let run = RunId::generate();
        let id = DecisionId::new(run.clone(), key("review"));
        let mut events = started(&run);
        events.push(RunEvent::GateOpened {
            at: 2,
            key: key("review"),
            request: DecisionRequest {
                context: None,
                id: id.clone(),
                title: "t".into(),
                reason: "r".into(),
                severity: Severity::High,
                choices: vec![json!("a"), json!("b")],
                editable: true,
                schema_plugin: None,
                edit_schema: None,
                expires_at: None,
                on_timeout: OnTimeout::Reject,
                approvers: Vec::new(),
                views: Vec::new(),
                kind: None,
                spot_check: None,
                auto_suspended: None,
                inbox_only: false,
            },
        });
        let waiting = RunState::fold(&run, &events).unwrap();
        assert_eq!(waiting.status(), RunStatus::Waiting);
        assert_eq!(waiting.version, 2);

        events.push(RunEvent::DecisionMade {
            at: 3,
            id: id.clone(),
            outcome: DecisionOutcome::Approved { choice: 1 },
            by: "ana".into(),
            via: None,
        });
        let decided = RunState::fold(&run, &events).unwrap();
        assert_eq!(decided.status(), RunStatus::Running);
        let gate = decided.step(&key("review")).unwrap();
        assert_eq!(gate.status, StepStatus::Completed);
        assert_eq!(gate.output, Some(json!("b")));

        // A snapshot at the gate, plus the events after it, is the same state as
        // the whole log folded.
        let mut resumed = RunState::from_snapshot(&waiting.snapshot()).unwrap();
        assert_eq!(resumed.snapshot(), waiting.snapshot());
        resumed.apply(&events[2]);
        assert_eq!(resumed.snapshot(), decided.snapshot());
        events.push(RunEvent::RunCancelled {
            at: 4,
            by: "ana".into(),
        });
        let cancelled = RunState::fold(&run, &events).unwrap();
        let kept = RunState::from_snapshot(&cancelled.snapshot()).unwrap();
        assert_eq!(kept.status(), RunStatus::Cancelled);
        assert_eq!(kept.finish_note(), Some("cancelled by ana"));
        // Bytes that are no snapshot, or one of another fold, are not used.
        assert!(RunState::from_snapshot(b"{}").is_none());
        let other_fold = String::from_utf8(cancelled.snapshot())
            .unwrap()
            .replace(&format!("\"fold\":{FOLD_FORMAT}"), "\"fold\":0");
        assert!(RunState::from_snapshot(other_fold.as_bytes()).is_none());
    }

    #[test]
    fn a_rejection_marks_the_gate_rejected_with_no_output() {
        let run = RunId::generate();
        let id = DecisionId::new(run.clone(), key("review"));
        let mut events = started(&run);
        events.push(RunEvent::GateOpened {
            at: 2,
            key: key("review"),
            request: DecisionRequest {
                context: None,
                id: id.clone(),
                title: "t".into(),
                reason: "r".into(),
                severity: Severity::Info,
                choices: vec![json!(1)],
                editable: false,
                schema_plugin: None,
                edit_schema: None,
                expires_at: None,
                on_timeout: OnTimeout::Reject,
                approvers: Vec::new(),
                views: Vec::new(),
                kind: None,
                spot_check: None,
                auto_suspended: None,
                inbox_only: false,
            },
        });
        events.push(RunEvent::DecisionMade {
            at: 3,
            id,
            outcome: DecisionOutcome::Rejected { reason: None },
            by: "bo".into(),
            via: None,
        });
        let state = RunState::fold(&run, &events).unwrap();
        let gate = state.step(&key("review")).unwrap();
        assert_eq!(gate.status, StepStatus::Rejected);
        assert!(gate.output.is_none());
    }

    #[test]
    fn entities_overlap_when_equal_or_nested_and_not_by_name_prefix() {
        assert!(overlaps("campaign:Brand", "campaign:Brand"));
        assert!(overlaps("campaign:Brand/keyword:boots", "campaign:Brand"));
        assert!(overlaps("campaign:Brand", "campaign:Brand/keyword:boots"));
        assert!(!overlaps("campaign:Brand", "campaign:Brand - Northwind"));
        assert!(!overlaps("campaign:A/keyword:x", "campaign:A/keyword:y"));
        assert_eq!(
            affects(&serde_json::json!({"affects": ["a", 3, "b"]})),
            ["a", "b"]
        );
    }
}
