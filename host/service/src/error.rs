//! What can go wrong in a service call, said without naming any front end: the CLI
//! and the web API each add how their user goes on.

use baton_engine::EngineError;

/// A service call that did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// What the caller gave cannot be used as it is: a workflow file, a plugin, the
    /// host configuration, a run on changed code. The message names the file, the
    /// line or field, and what to change.
    #[error("{0}")]
    Invalid(String),
    /// The engine refused the operation (a second decision, a bad edit, a run that
    /// does not exist) or could not complete it.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A run would continue on code other than the code it started with, which is
    /// refused unless the caller allows it (and then recorded in its log).
    #[error("run {run} started on other code: {}", changes.join(", "))]
    ChangedCode {
        run: baton_core::RunId,
        changes: Vec<String>,
    },
    /// Another process holds the state store.
    #[error("{message}")]
    StoreBusy { message: String },
    /// The host failed: the disk, the runtime, the store.
    #[error("{0}")]
    Host(String),
}

impl ServiceError {
    /// Whether the caller can fix it (a wrong id, a bad file, a second decision),
    /// rather than the host having failed.
    pub fn is_callers(&self) -> bool {
        match self {
            ServiceError::Invalid(_)
            | ServiceError::ChangedCode { .. }
            | ServiceError::StoreBusy { .. } => true,
            ServiceError::Engine(error) => !matches!(
                error,
                EngineError::Store(baton_core::StoreError::Io(_)) | EngineError::EmptyRun { .. }
            ),
            ServiceError::Host(_) => false,
        }
    }
}

impl From<baton_core::StoreError> for ServiceError {
    fn from(error: baton_core::StoreError) -> ServiceError {
        ServiceError::Engine(EngineError::Store(error))
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
