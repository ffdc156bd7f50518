//! The entries of a run's append-only log. Everything about a run (its status, its
//! steps' outputs, its pending decisions, its audit trail) is derived from these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{DecisionId, StepKey};

/// Milliseconds since the Unix epoch.
pub type Timestamp = u64;

/// How urgent a decision is; the inbox shows critical first.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Monitor,
    #[default]
    Info,
}

impl Severity {
    /// `critical`, `high`, `monitor`, `info`: as written in workflow files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Monitor => "monitor",
            Severity::Info => "info",
        }
    }

    /// The severity named `name` (as [`Severity::as_str`] writes it), if any.
    pub fn parse(name: &str) -> Option<Severity> {
        [
            Severity::Critical,
            Severity::High,
            Severity::Monitor,
            Severity::Info,
        ]
        .into_iter()
        .find(|s| s.as_str() == name.trim())
    }
}

/// What an expired decision becomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    #[default]
    Reject,
    ApproveDefault,
}

impl OnTimeout {
    /// `reject` or `approve_default`: as written in workflow files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OnTimeout::Reject => "reject",
            OnTimeout::ApproveDefault => "approve_default",
        }
    }
}

/// What the operator is asked at a gate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRequest {
    pub id: DecisionId,
    pub title: String,
    pub reason: String,
    pub severity: Severity,
    /// The default first, then up to three alternatives.
    pub choices: Vec<Value>,
    /// What the workflow shows beside the choices (its gate's `context`), e.g. a tone
    /// checker's flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    /// Whether the operator may submit an edited value instead of a choice.
    pub editable: bool,
    /// The plugin whose output schema an edit must match.
    pub schema_plugin: Option<String>,
    /// A JSON pointer into that schema when the choices are a part of the output,
    /// e.g. `#/$defs/email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    pub on_timeout: OnTimeout,
    /// The operators who may decide (the gate's `approvers`); empty means anyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// How each choice reads to a person, in the order of `choices`: the gate's `view`
    /// template rendered per choice (a small markdown subset). Empty when the gate has
    /// no `view`: the value's shape decides how it reads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<String>,
    /// What kind of decision this is (the gate's `kind`), e.g.
    /// `negative-keyword/monitor`: stats and auto-approval rules work per kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The gate's spot checks, when it auto-approves with `spot_check`: what share
    /// of its auto-approved decisions a person reviews after the fact, and the
    /// agreement below which auto-approval of the kind is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_check: Option<SpotCheckPolicy>,
    /// Why a person decides what the gate's `auto_approve` would have decided: its
    /// auto-approval of this kind is suspended because spot checks disagreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_suspended: Option<String>,
    /// The gate's `decide_in = "inbox"`: decided in Baton's own inbox only, never
    /// through an agent's client (MCP elicitation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inbox_only: bool,
}

/// A gate's `spot_check` and `spot_check_agreement`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpotCheckPolicy {
    /// The share of auto-approved decisions sent to a person, 0 to 1.
    pub share: f64,
    /// Below this share of agreeing spot checks (once [`SPOT_CHECKS_TO_JUDGE`] were
    /// answered) auto-approval of the kind is suspended.
    pub min_agreement: f64,
}

/// Spot checks answered before a kind's agreement can suspend its auto-approval.
pub const SPOT_CHECKS_TO_JUDGE: u32 = 3;

/// What a person says of an auto-approved decision after the fact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpotCheckAnswer {
    /// What they would have decided: approving the default means they agree.
    pub would: DecisionOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SpotCheckAnswer {
    /// Whether the person would have done what the gate did (approve the default).
    pub fn agrees(&self) -> bool {
        matches!(self.would, DecisionOutcome::Approved { choice: 0 })
    }
}

/// A gate's auto-approval of one kind of decision, suspended because its spot checks
/// agreed too little: until an operator resumes it, its decisions go to people.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suspension {
    pub workflow: String,
    pub gate: String,
    /// The kind of decision; `None` for a gate that declares no kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub at: Timestamp,
    /// Spot checks that agreed, of those answered, when it was suspended.
    pub agreed: u32,
    pub checked: u32,
    /// The gate's `spot_check_agreement`.
    pub min_agreement: f64,
    /// Who answered the spot check that tipped it, and in which run.
    pub by: String,
    pub run: String,
    /// Set when an operator resumed the auto-approval: spot checks answered before
    /// then no longer count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_by: Option<String>,
}

impl Suspension {
    /// Whether the gate's auto-approval of the kind is held back now.
    pub fn active(&self) -> bool {
        self.resumed_at.is_none()
    }

    /// `ads-audit/review kind wasted-spend/high`.
    pub fn what(&self) -> String {
        match &self.kind {
            Some(kind) => format!("{}/{} kind {kind}", self.workflow, self.gate),
            None => format!("{}/{}", self.workflow, self.gate),
        }
    }

    /// In words, for the inbox, `host stats` and the webhook.
    pub fn message(&self) -> String {
        format!(
            "auto-approval of {} is suspended: spot checks agreed with {} of {} ({:.0}%, below the {:.0}% the gate asks); \
             its decisions come to people until it is resumed",
            self.what(),
            self.agreed,
            self.checked,
            100.0 * f64::from(self.agreed) / f64::from(self.checked.max(1)),
            100.0 * self.min_agreement
        )
    }
}

impl DecisionRequest {
    /// Whether `operator` may make this decision.
    pub fn allows(&self, operator: &str) -> bool {
        self.approvers.is_empty() || self.approvers.iter().any(|name| name == operator)
    }
}

/// How a decision ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// A choice was approved: 0 is the default, 1-3 the alternatives.
    Approved { choice: usize },
    /// The operator replaced the proposal with their own value.
    Edited { value: Value },
    Rejected {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The decision expired and took its `on_timeout` action.
    Expired { action: OnTimeout },
}

/// Why a step failed, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    /// A stable kind, e.g. `timeout`, `tool-failed`, `template`.
    pub kind: String,
    pub message: String,
}

/// One entry of a run's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    RunStarted {
        at: Timestamp,
        workflow: String,
        /// Path of the workflow file, as given.
        workflow_path: String,
        /// BLAKE3 digests of the workflow file and of each plugin's component: a
        /// resumed run executes the same code unless told otherwise.
        workflow_digest: String,
        plugin_digests: BTreeMap<String, String>,
        input: Value,
        /// Who started it: the operator's name (`--as NAME`, or the OS user).
        #[serde(default = "unknown_actor")]
        by: String,
    },
    StepStarted {
        at: Timestamp,
        key: StepKey,
        attempt: u32,
        /// The plugin the step calls: what caused the step's events.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        plugin: String,
    },
    StepCompleted {
        at: Timestamp,
        key: StepKey,
        output: Value,
        elapsed_ms: u64,
    },
    /// The step's `when` was false, or a gate upstream rejected its branch.
    StepSkipped {
        at: Timestamp,
        key: StepKey,
        reason: String,
    },
    /// `for_each` of a step evaluated to this many items.
    StepExpanded {
        at: Timestamp,
        step: crate::ids::StepId,
        items: u32,
    },
    StepFailed {
        at: Timestamp,
        key: StepKey,
        error: StepFailure,
    },
    /// A step's plugin asked a model; recorded (and synced) before the plugin sees
    /// the answer.
    LlmExchanged {
        at: Timestamp,
        key: StepKey,
        exchange: crate::llm::LlmExchange,
    },
    GateOpened {
        at: Timestamp,
        key: StepKey,
        request: DecisionRequest,
    },
    DecisionMade {
        at: Timestamp,
        id: DecisionId,
        outcome: DecisionOutcome,
        /// Who decided: an operator's name, `auto-approve`, or `timeout`.
        by: String,
        /// Where a person decided, when not at Baton's own front ends: `mcp` (asked
        /// through an agent's client).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<String>,
    },
    /// A front end showed a pending decision to a person for the first time: the
    /// wait ends here and the handling time starts.
    DecisionShown {
        at: Timestamp,
        id: DecisionId,
        /// The operator it was shown to.
        to: String,
        /// `focus`, `web` or `api`.
        via: String,
    },
    /// An auto-approved decision was drawn for a person to review after the fact
    /// (the gate's `spot_check` share); the review changes nothing by itself.
    SpotCheckRequested {
        at: Timestamp,
        id: DecisionId,
    },
    /// A person reviewed an auto-approved decision.
    SpotChecked {
        at: Timestamp,
        id: DecisionId,
        answer: SpotCheckAnswer,
        by: String,
    },
    /// Spot checks of a kind agreed less than the gate asks: its auto-approval is
    /// suspended (recorded in the run whose spot check tipped it) until an operator
    /// resumes it; its decisions come to people meanwhile.
    AutoApprovalSuspended {
        at: Timestamp,
        gate: crate::ids::StepId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        agreed: u32,
        checked: u32,
        by: String,
    },
    /// What happened after a decision, as an operator or a system reports it (the
    /// email got a reply, the change was reverted).
    OutcomeRecorded {
        at: Timestamp,
        id: DecisionId,
        good: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        by: String,
    },
    /// The run continued on code whose digest differs from the one it started with.
    CodeChanged {
        at: Timestamp,
        workflow_digest: String,
        plugin_digests: BTreeMap<String, String>,
        /// The operator who allowed the run to continue on changed code.
        #[serde(default = "unknown_actor")]
        by: String,
    },
    /// What the run is about, in the workflow's words (its `summary` template), e.g.
    /// "Ana Okafor at Northwind Analytics"; recorded when it first renders and
    /// whenever it changes as steps finish.
    Described {
        at: Timestamp,
        about: String,
    },
    RunCompleted {
        at: Timestamp,
    },
    RunFailed {
        at: Timestamp,
        error: String,
    },
    RunRejected {
        at: Timestamp,
    },
    RunCancelled {
        at: Timestamp,
        by: String,
    },
}

/// The actor of events recorded before actors were.
fn unknown_actor() -> String {
    "unknown".into()
}

impl RunEvent {
    /// The decision the event is about, if it is about one.
    pub fn decision(&self) -> Option<&DecisionId> {
        match self {
            RunEvent::GateOpened { request, .. } => Some(&request.id),
            RunEvent::DecisionMade { id, .. }
            | RunEvent::DecisionShown { id, .. }
            | RunEvent::SpotCheckRequested { id, .. }
            | RunEvent::SpotChecked { id, .. }
            | RunEvent::OutcomeRecorded { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn at(&self) -> Timestamp {
        match self {
            RunEvent::RunStarted { at, .. }
            | RunEvent::StepStarted { at, .. }
            | RunEvent::StepCompleted { at, .. }
            | RunEvent::StepSkipped { at, .. }
            | RunEvent::StepExpanded { at, .. }
            | RunEvent::StepFailed { at, .. }
            | RunEvent::LlmExchanged { at, .. }
            | RunEvent::GateOpened { at, .. }
            | RunEvent::DecisionMade { at, .. }
            | RunEvent::CodeChanged { at, .. }
            | RunEvent::Described { at, .. }
            | RunEvent::DecisionShown { at, .. }
            | RunEvent::SpotCheckRequested { at, .. }
            | RunEvent::SpotChecked { at, .. }
            | RunEvent::AutoApprovalSuspended { at, .. }
            | RunEvent::OutcomeRecorded { at, .. }
            | RunEvent::RunCompleted { at }
            | RunEvent::RunFailed { at, .. }
            | RunEvent::RunRejected { at }
            | RunEvent::RunCancelled { at, .. } => *at,
        }
    }
}
