//! The one place that decides exit codes and prints errors.
//!
//! 0: success (a run completed). 1: the plugin failed (trapped, hit a limit, returned
//! an error or invalid output, or is not a loadable plugin), or a run failed, was
//! rejected or was cancelled. 2: bad usage or bad input (a flag, a missing file, input
//! that is not JSON or does not match the plugin's schema, a workflow file with
//! problems, a decision that cannot be made). 3: a run waits for decisions.

use std::process::ExitCode;

use baton_core::RunStatus;
use baton_engine::EngineError;
use baton_runtime::{ErrorKind, LoadError, PluginError};
use baton_service::ServiceError;
use serde_json::json;

use crate::terminal::{escape_control, tell};

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The user asked for something that cannot be done as asked.
    Usage(String),
    /// A plugin failed to load or to run.
    Plugin(PluginError),
    /// The host itself could not do its job (a bug or the machine).
    Host(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(message) | Failure::Host(message) => f.write_str(message),
            Failure::Plugin(error) => write!(f, "{error}"),
        }
    }
}

impl From<PluginError> for Failure {
    fn from(error: PluginError) -> Self {
        Failure::Plugin(error)
    }
}

impl From<ServiceError> for Failure {
    fn from(error: ServiceError) -> Self {
        failure(error)
    }
}

/// A service error in the command line's words: how the user goes on.
pub fn failure(error: ServiceError) -> Failure {
    match error {
        ServiceError::Invalid(message) | ServiceError::StoreBusy { message } => {
            Failure::Usage(message)
        }
        ServiceError::ChangedCode { .. } => Failure::Usage(format!(
            "{error}; pass --allow-changed to continue on the new code"
        )),
        ServiceError::Engine(error) => engine_failure(error),
        ServiceError::Host(message) => Failure::Host(message),
    }
}

/// Engine errors that the user caused (a wrong id, a second decision, a bad edit)
/// are usage errors, with the command that helps; the rest are the host's.
pub fn engine_failure(error: EngineError) -> Failure {
    let hint = match &error {
        EngineError::Store(baton_core::StoreError::Io(_)) | EngineError::EmptyRun { .. } => {
            return Failure::Host(error.to_string());
        }
        EngineError::Store(baton_core::StoreError::NoSuchRun(_)) => "; `host runs` lists them",
        EngineError::NoSuchDecision { .. } => "; `host inbox` lists the pending ones",
        EngineError::NotAnApprover { .. } => "; ask one of them, or act as one with --as",
        _ => "",
    };
    Failure::Usage(format!("{error}{hint}"))
}

const PLUGIN_FAILED: u8 = 1;
const BAD_USAGE: u8 = 2;
const WAITING: u8 = 3;

/// How a command that did its job ended.
#[derive(Debug)]
pub enum Exit {
    Success,
    /// A run was driven as far as it could go and stands here.
    Run(RunStatus),
    /// A check ran and found a problem (e.g. `host audit --verify` found a broken chain).
    CheckFailed,
}

pub fn code(exit: Exit) -> ExitCode {
    ExitCode::from(match exit {
        Exit::Success | Exit::Run(RunStatus::Completed) => 0,
        Exit::Run(RunStatus::Waiting) => WAITING,
        Exit::Run(
            RunStatus::Failed | RunStatus::Rejected | RunStatus::Cancelled | RunStatus::Running,
        )
        | Exit::CheckFailed => PLUGIN_FAILED,
    })
}

fn failure_code(failure: &Failure) -> u8 {
    match failure {
        Failure::Usage(_) => BAD_USAGE,
        Failure::Plugin(error) => match &error.kind {
            kind if kind.blames_input() => BAD_USAGE,
            // A file named on the command line that is missing, unreadable or not
            // WebAssembly at all is bad input, like malformed JSON.
            ErrorKind::Load(
                LoadError::NotFound { .. }
                | LoadError::Unreadable { .. }
                | LoadError::Empty { .. }
                | LoadError::NotWasm { .. },
            ) => BAD_USAGE,
            _ => PLUGIN_FAILED,
        },
        Failure::Host(_) => PLUGIN_FAILED,
    }
}

/// Prints the failure on stderr (as JSON with `--json`) and returns its exit code.
pub fn report(failure: Failure, json: bool) -> ExitCode {
    let code = failure_code(&failure);
    if json {
        let error = match &failure {
            Failure::Usage(message) => json!({"kind": "usage", "message": message}),
            Failure::Host(message) => json!({"kind": "host", "message": message}),
            Failure::Plugin(error) => plugin_error_json(error),
        };
        tell!(
            "{}",
            crate::terminal::json(&json!({ "error": error }), false)
        );
    } else {
        let mut message = failure.to_string();
        if let Failure::Plugin(error) = &failure
            && let ErrorKind::Trap {
                backtrace: Some(backtrace),
                ..
            } = &error.kind
            && tracing::enabled!(tracing::Level::DEBUG)
        {
            message.push_str(&format!("\nguest backtrace:\n{backtrace}"));
        }
        tell!("error: {}", escape_control(&message));
    }
    ExitCode::from(code)
}

fn plugin_error_json(error: &PluginError) -> serde_json::Value {
    let mut value = json!({
        "kind": error.kind.code(),
        "plugin": error.plugin,
        "message": error.to_string(),
        "retryable": error.kind.is_retryable(),
    });
    let limit = match &error.kind {
        ErrorKind::Timeout { limit } => Some(json!({"timeout_ms": limit.as_millis() as u64})),
        ErrorKind::MemoryLimit { limit, requested } => {
            Some(json!({"memory_bytes": limit, "requested_bytes": requested}))
        }
        ErrorKind::TableLimit { limit, requested } => {
            Some(json!({"table_elements": limit, "requested": requested}))
        }
        ErrorKind::StackOverflow { limit } => Some(json!({"stack_bytes": limit})),
        ErrorKind::FuelExhausted { limit } => Some(json!({"fuel": limit})),
        ErrorKind::InputTooLarge { limit, .. } => Some(json!({"max_input_bytes": limit})),
        ErrorKind::OutputTooLarge { limit, .. } => Some(json!({"max_output_bytes": limit})),
        _ => None,
    };
    if let Some(limit) = limit {
        value["limit"] = limit;
    }
    if let ErrorKind::Trap {
        guest_output,
        backtrace,
        ..
    } = &error.kind
    {
        value["guest_output"] = json!(guest_output);
        value["backtrace"] = json!(backtrace);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn plugin(kind: impl Into<ErrorKind>) -> Failure {
        Failure::Plugin(PluginError::new("p", kind))
    }

    #[test]
    fn input_problems_and_missing_files_are_usage_errors() {
        assert_eq!(
            failure_code(&plugin(ErrorKind::InvalidInput("x".into()))),
            BAD_USAGE
        );
        assert_eq!(
            failure_code(&plugin(ErrorKind::ToolInvalidInput("x".into()))),
            BAD_USAGE
        );
        assert_eq!(
            failure_code(&plugin(LoadError::NotFound {
                path: PathBuf::from("x")
            })),
            BAD_USAGE
        );
        assert_eq!(failure_code(&Failure::Usage("x".into())), BAD_USAGE);
        for load in [
            LoadError::Empty {
                path: PathBuf::from("x"),
            },
            LoadError::NotWasm {
                path: PathBuf::from("x"),
            },
        ] {
            assert_eq!(failure_code(&plugin(load)), BAD_USAGE);
        }
    }

    #[test]
    fn limits_traps_and_broken_plugins_are_plugin_failures() {
        assert_eq!(
            failure_code(&plugin(ErrorKind::Timeout {
                limit: Duration::ZERO
            })),
            PLUGIN_FAILED
        );
        assert_eq!(
            failure_code(&plugin(ErrorKind::ToolFailed("x".into()))),
            PLUGIN_FAILED
        );
        assert_eq!(
            failure_code(&plugin(LoadError::CoreModule {
                path: PathBuf::from("x")
            })),
            PLUGIN_FAILED
        );
    }
}
