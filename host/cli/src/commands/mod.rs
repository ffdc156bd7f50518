//! One module per command. What they share with `host serve` (opening the service,
//! the operator, the service's errors in the command line's words) is in `access`.

pub mod audit;
pub mod bench;
pub mod decide;
pub mod expire;
pub mod focus;
pub mod inspect;
pub mod invoke;
pub mod learn;
pub mod mcp;
pub mod new;
pub mod resume;
pub mod run;
pub mod runs;
pub mod stats;
pub mod store;
pub mod worker;

/// A run id from the command line; a malformed one says where ids are listed.
pub fn run_id(text: &str) -> Result<baton_core::RunId, String> {
    text.parse().map_err(|e| format!("{e} (see `host runs`)"))
}

/// A decision id from the command line; a malformed one says where they are listed.
pub fn decision_id(text: &str) -> Result<baton_core::DecisionId, String> {
    text.parse().map_err(|e| format!("{e} (see `host inbox`)"))
}
