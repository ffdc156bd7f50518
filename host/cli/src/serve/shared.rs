//! What the server's parts share: the jobs the worker takes, the state every handler
//! holds, the live-update messages, and the API's errors (with their HTTP status).

use std::path::PathBuf;
use std::sync::Arc;

use baton_core::{DecisionId, RunState};
use baton_engine::{Decision, EngineError};
use baton_service::{Service, ServiceError, Swept};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::auth;
use crate::exit::Failure;

/// A change of state, and the answer it gets.
pub enum Job {
    Decide {
        id: DecisionId,
        decision: Decision,
        by: String,
        allow_changed: bool,
        reply: oneshot::Sender<Result<RunState, ApiError>>,
    },
    Start {
        workflow: PathBuf,
        input: Value,
        by: String,
        reply: oneshot::Sender<Result<RunState, ApiError>>,
    },
    Expire {
        reply: oneshot::Sender<Result<Vec<Swept>, ApiError>>,
    },
    /// `host resume`: continue a run on its recorded workflow.
    Resume {
        run: baton_core::RunId,
        allow_changed: bool,
        by: String,
        reply: oneshot::Sender<Result<RunState, ApiError>>,
    },
    Cancel {
        run: baton_core::RunId,
        by: String,
        reply: oneshot::Sender<Result<RunState, ApiError>>,
    },
    /// A spot check, an outcome, or resuming an auto-approval: answered as JSON.
    Learn {
        op: Learn,
        by: String,
        reply: oneshot::Sender<Result<Value, ApiError>>,
    },
}

/// What teaches the system, as a job.
#[derive(Debug)]
pub enum Learn {
    SpotCheck {
        id: DecisionId,
        answer: baton_core::SpotCheckAnswer,
    },
    Outcome {
        id: DecisionId,
        good: bool,
        note: Option<String>,
    },
    ResumeAutoApproval {
        workflow: String,
        gate: String,
        kind: Option<String>,
    },
}

/// What every handler shares.
pub struct Shared {
    /// Reads go to the service directly; changes go through `jobs`.
    pub service: Arc<Service>,
    pub auth: auth::Auth,
    pub jobs: mpsc::Sender<Job>,
    /// Ticks whenever state changed: the pages' live updates listen here.
    pub changes: broadcast::Sender<Change>,
    /// Becomes true when the server is stopping: live streams end so that it can.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    pub templates: minijinja::Environment<'static>,
}

/// What changed, for the live pages.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Change {
    pub run: String,
    pub status: String,
    pub pending: usize,
}

/// An answer that is not a success: its HTTP status and the message.
#[derive(Debug)]
pub struct ApiError {
    pub status: axum::http::StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: axum::http::StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> ApiError {
        use axum::http::StatusCode;
        let status = match &failure {
            Failure::Usage(_) => StatusCode::BAD_REQUEST,
            Failure::Plugin(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Failure::Host(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, failure.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> ApiError {
        use axum::http::StatusCode;
        let (status, hint) = match &error {
            EngineError::NotAnApprover { .. } => (StatusCode::FORBIDDEN, "; ask one of them"),
            EngineError::NoSuchDecision { .. } => {
                (StatusCode::NOT_FOUND, "; the inbox lists the pending ones")
            }
            EngineError::Store(baton_core::StoreError::NoSuchRun(_)) => {
                (StatusCode::NOT_FOUND, "; the runs page lists them")
            }
            EngineError::NoSpotCheck { .. } => (StatusCode::NOT_FOUND, ""),
            EngineError::AlreadyDecided { .. }
            | EngineError::AlreadyChecked { .. }
            | EngineError::NotDecided { .. }
            | EngineError::Finished { .. }
            | EngineError::Store(baton_core::StoreError::Conflict { .. })
            | EngineError::Store(baton_core::StoreError::Held { .. }) => (StatusCode::CONFLICT, ""),
            EngineError::NoSuchChoice { .. }
            | EngineError::NotEditable { .. }
            | EngineError::InvalidEdit { .. } => (StatusCode::UNPROCESSABLE_ENTITY, ""),
            EngineError::Store(_) | EngineError::EmptyRun { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, "")
            }
        };
        ApiError::new(status, format!("{error}{hint}"))
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        use axum::http::StatusCode;
        match error {
            ServiceError::Engine(error) => error.into(),
            ServiceError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, message),
            ServiceError::ChangedCode { .. } => ApiError::new(
                StatusCode::CONFLICT,
                format!("{error}; send \"allow_changed\": true to continue on the new code"),
            ),
            ServiceError::StoreBusy { message } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
            }
            ServiceError::Host(message) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
            }
        }
    }
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        (self.status, axum::Json(json!({ "error": self.message }))).into_response()
    }
}
