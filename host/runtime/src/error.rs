//! Typed errors. Each names the plugin and, where a limit was reached, the limit;
//! the kind tells the caller what to do next (fix the input, raise a limit, retry).

use std::path::PathBuf;
use std::time::Duration;

use baton_core::units::{bytes, duration};

/// A plugin failed to load or a call did not produce a valid output.
#[derive(Debug, thiserror::Error)]
#[error("plugin \"{plugin}\" {kind}")]
pub struct PluginError {
    /// The plugin's name from `describe`, or its file name when it never got that far.
    pub plugin: String,
    pub kind: ErrorKind,
}

impl PluginError {
    pub fn new(plugin: impl Into<String>, kind: impl Into<ErrorKind>) -> PluginError {
        PluginError {
            plugin: plugin.into(),
            kind: kind.into(),
        }
    }
}

/// What went wrong, in terms the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot be loaded: {0}")]
    Load(#[from] LoadError),
    #[error(
        "was given {} of input, over its input limit of {} (limit `max_input`)",
        bytes(*size as u64), bytes(*limit as u64)
    )]
    InputTooLarge { size: usize, limit: usize },
    #[error("cannot take this input: {0}")]
    InvalidInput(String),
    #[error(
        "was stopped at its timeout of {} (limit `timeout`); raise the timeout or give it less work",
        duration(*limit)
    )]
    Timeout { limit: Duration },
    #[error(
        "was stopped at its memory limit of {} (it asked for {}; limit `memory`); raise the limit or give it less data",
        bytes(*limit), bytes(*requested)
    )]
    MemoryLimit { limit: u64, requested: u64 },
    #[error(
        "was stopped at its table limit of {limit} elements (it asked for {requested}; limit `table_elements`)"
    )]
    TableLimit { limit: usize, requested: usize },
    #[error(
        "held more than its {limit} resource handles at once (limit `handles`); a plugin that opens streams, pollables or requests must drop them"
    )]
    HandleLimit { limit: usize },
    #[error(
        "tried to create more {what} than the {limit} a plugin may have (limit `{what}`, fixed by the host)"
    )]
    CountLimit { what: &'static str, limit: usize },
    #[error(
        "{what} ({}; limit `{name}`, fixed by the host); {advice}",
        bytes(*limit)
    )]
    SizeLimit {
        /// What the plugin did, e.g. `asked for more random bytes in one call than the host gives`.
        what: &'static str,
        /// The limit's name, e.g. `random_bytes`.
        name: &'static str,
        limit: u64,
        /// How a plugin stays under it.
        advice: &'static str,
    },
    #[error("had an outbound HTTP request refused ({refusal}), then {then}")]
    HttpRefused {
        /// The first refusal: the request and the rule or limit that stopped it.
        refusal: String,
        /// How the call ended after it, e.g. the plugin's own error.
        then: String,
    },
    #[error(
        "overflowed its stack (limit `stack`, {} for the whole host); look for unbounded recursion",
        bytes(*limit as u64)
    )]
    StackOverflow { limit: usize },
    #[error("ran out of fuel ({limit} units, limit `fuel`); raise the fuel or give it less work")]
    FuelExhausted { limit: u64 },
    #[error("trapped: {message}{}", guest_output_suffix(guest_output))]
    Trap {
        /// What wasmtime reported, e.g. `wasm 'unreachable' instruction executed`.
        message: String,
        /// The tail of what the guest wrote to stdout and stderr, e.g. a Rust panic
        /// message or a Python traceback.
        guest_output: String,
        /// The guest's call stack, function names demangled, when known.
        backtrace: Option<String>,
    },
    #[error("{}", output_too_large(*size, *limit))]
    OutputTooLarge {
        /// The size, when the host saw the whole output; `None` when it was stopped
        /// at the boundary before being copied.
        size: Option<usize>,
        limit: usize,
    },
    #[error("returned invalid output: {0}")]
    InvalidOutput(String),
    #[error("refused the input: {0}")]
    ToolInvalidInput(String),
    #[error("failed: {0}")]
    ToolFailed(String),
    #[error("was denied a capability: {0}")]
    ToolDenied(String),
    #[error("could not be given what the workflow grants it: {0}")]
    Grant(String),
    #[error("hit a host error (a bug in Baton, please report it): {0}")]
    Internal(String),
}

impl ErrorKind {
    /// A stable, kebab-case name for the kind, used in `--json` output and the run log.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Load(_) => "load",
            ErrorKind::InputTooLarge { .. } => "input-too-large",
            ErrorKind::InvalidInput(_) => "invalid-input",
            ErrorKind::Timeout { .. } => "timeout",
            ErrorKind::MemoryLimit { .. } => "memory-limit",
            ErrorKind::TableLimit { .. } => "table-limit",
            ErrorKind::HandleLimit { .. } => "handle-limit",
            ErrorKind::CountLimit { .. } => "count-limit",
            ErrorKind::SizeLimit { .. } => "size-limit",
            ErrorKind::HttpRefused { .. } => "http-refused",
            ErrorKind::StackOverflow { .. } => "stack-overflow",
            ErrorKind::FuelExhausted { .. } => "fuel-exhausted",
            ErrorKind::Trap { .. } => "trap",
            ErrorKind::OutputTooLarge { .. } => "output-too-large",
            ErrorKind::InvalidOutput(_) => "invalid-output",
            ErrorKind::ToolInvalidInput(_) => "tool-invalid-input",
            ErrorKind::ToolFailed(_) => "tool-failed",
            ErrorKind::ToolDenied(_) => "tool-denied",
            ErrorKind::Grant(_) => "grant",
            ErrorKind::Internal(_) => "internal",
        }
    }

    /// The input was at fault: fix it, do not retry.
    pub fn blames_input(&self) -> bool {
        matches!(
            self,
            ErrorKind::InputTooLarge { .. }
                | ErrorKind::InvalidInput(_)
                | ErrorKind::ToolInvalidInput(_)
        )
    }

    /// Another attempt with the same input may succeed. Only the plugin can say so
    /// (`tool-error::failed`); limits and traps are deterministic enough that
    /// retrying them burns resources for the same result.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ErrorKind::ToolFailed(_))
    }
}

/// Why a component could not become a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("{} cannot be read: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{} is empty; expected a WebAssembly component", path.display())]
    Empty { path: PathBuf },
    #[error("{} is not WebAssembly (it does not start with \\0asm); expected a component built for wasm32-wasip2", path.display())]
    NotWasm { path: PathBuf },
    #[error(
        "{} is a core WebAssembly module, not a component; build it for the wasm32-wasip2 target \
         or wrap it with `wasm-tools component new`",
        path.display()
    )]
    CoreModule { path: PathBuf },
    #[error("{} is not a valid component: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "{} asks for more than the host gives any plugin ({reason}); the counts of memories, tables and instances per plugin are fixed by the host",
        path.display()
    )]
    OverHostLimits { path: PathBuf, reason: String },
    #[error(
        "does not export `baton:plugin/tool`, so it was not built for the `baton:plugin/plugin` world \
         (see wit/world.wit); it exports: {}",
        list_or_nothing(exports)
    )]
    WrongWorld { exports: Vec<String> },
    #[error(
        "was built against contract {found}, but this host speaks baton:plugin@{supported}; \
         rebuild it against the wit/ of this host"
    )]
    ContractVersion { found: String, supported: String },
    #[error(
        "exports `baton:plugin/tool` with the wrong shape: {reason}; rebuild it against the wit/ of this host"
    )]
    WrongExportType { reason: String },
    #[error(
        "imports `{import}`, which this host does not provide ({detail}); Baton provides \
         baton:plugin/log, baton:plugin/config, baton:plugin/kv and WASI preview 2 (0.2.x)"
    )]
    UnsupportedImport { import: String, detail: String },
    #[error("failed while describing itself: {0}")]
    Describe(Box<ErrorKind>),
    #[error("described itself wrongly: {field} {reason}")]
    InvalidDescription { field: &'static str, reason: String },
    #[error("could not be compiled: {0}")]
    Compile(String),
}

fn output_too_large(size: Option<usize>, limit: usize) -> String {
    match size {
        Some(size) => format!(
            "returned {} of output, over its output limit of {} (limit `max_output`)",
            bytes(size as u64),
            bytes(limit as u64)
        ),
        None => format!(
            "tried to hand the host more than its output limit of {} in one go (limit `max_output`)",
            bytes(limit as u64)
        ),
    }
}

fn list_or_nothing(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

fn guest_output_suffix(output: &str) -> String {
    let output = output.trim_end();
    if output.is_empty() {
        String::new()
    } else {
        format!("\nguest output:\n{output}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_names_the_plugin_and_the_limit() {
        let error = PluginError::new(
            "looper",
            ErrorKind::Timeout {
                limit: Duration::from_millis(1500),
            },
        );
        let text = error.to_string();
        assert!(
            text.starts_with("plugin \"looper\" was stopped at its timeout of 1s 500ms"),
            "{text}"
        );
        assert!(text.contains("limit `timeout`"));
    }

    #[test]
    fn a_memory_limit_reports_sizes_in_binary_units() {
        let text = ErrorKind::MemoryLimit {
            limit: 64 << 20,
            requested: 65 << 20,
        }
        .to_string();
        assert!(
            text.contains("64.0 MiB") && text.contains("65.0 MiB"),
            "{text}"
        );
    }

    #[test]
    fn only_the_input_kinds_blame_the_input() {
        assert!(ErrorKind::InvalidInput("x".into()).blames_input());
        assert!(ErrorKind::ToolInvalidInput("x".into()).blames_input());
        assert!(!ErrorKind::ToolFailed("x".into()).blames_input());
        assert!(ErrorKind::ToolFailed("x".into()).is_retryable());
        assert!(
            !ErrorKind::Timeout {
                limit: Duration::ZERO
            }
            .is_retryable()
        );
    }
}
