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
            | RunEvent::RunCompleted { at }
            | RunEvent::RunFailed { at, .. }
            | RunEvent::RunRejected { at }
            | RunEvent::RunCancelled { at, .. } => *at,
        }
    }
}
