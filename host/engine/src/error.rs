//! What can go wrong when driving a run, split by what the caller does next.

use baton_core::{RunStatus, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {run} has no events; the state store may be damaged")]
    EmptyRun { run: String },
    #[error("no decision {id}")]
    NoSuchDecision { id: String },
    #[error("decision {id} was already decided: {status} by {by} at {at}; a decision is made once")]
    AlreadyDecided {
        id: String,
        status: String,
        by: String,
        at: String,
    },
    #[error("run {run} is {}; it cannot be changed any more", status.as_str())]
    Finished { run: String, status: RunStatus },
    #[error("choice {choice} does not exist; decision {id} offers 0 (the default){}", alternatives(*count))]
    NoSuchChoice {
        id: String,
        choice: usize,
        count: usize,
    },
    #[error(
        "{operator} may not decide {id}: its gate allows only {}",
        approvers.join(", ")
    )]
    NotAnApprover {
        id: String,
        operator: String,
        approvers: Vec<String>,
    },
    #[error(
        "decision {id} has no spot check to answer: only the auto-approved decisions a gate's `spot_check` drew are reviewed"
    )]
    NoSpotCheck { id: String },
    #[error("the spot check of {id} was already answered by {by} at {at}")]
    AlreadyChecked { id: String, by: String, at: String },
    #[error("decision {id} is {status}: record what happened after it once it is decided")]
    NotDecided { id: String, status: String },
    #[error("decision {id} does not allow edits (the gate sets edit = false)")]
    NotEditable { id: String },
    #[error(
        "the edited value does not fit the plugin's output schema: {reason}; fix it and decide again"
    )]
    InvalidEdit { reason: String },
}

fn alternatives(count: usize) -> String {
    match count {
        0 | 1 => " only".to_string(),
        n => format!(" to {}", n - 1),
    }
}
