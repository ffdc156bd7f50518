//! Baton's vocabulary, shared by the engine, the store and the command line, with no
//! wasmtime and no sled in sight.
//!
//! - `ids`: [`RunId`], [`StepId`], [`DecisionId`] and [`StepKey`] (a step, or one item
//!   of a `for_each` step).
//! - `event`: [`RunEvent`], one entry of a run's append-only log, the only truth.
//! - `state`: [`RunState`], everything derived from the log by folding it: status,
//!   step records, pending and decided decisions.
//! - `traits`: what the engine needs from the outside: a [`RunStore`] that appends
//!   events with an optimistic version check, a [`PluginRunner`], and a [`Clock`].
//! - `http`: [`HttpGrant`], a plugin's outbound HTTP allowlist, and the address
//!   policy that goes with it.
//! - `llm`: model providers as configured, a plugin's [`LlmGrant`], one recorded
//!   [`LlmExchange`], and the [`StepCall`] a step's plugin call gets from its run.

mod event;
pub mod http;
mod ids;
pub mod inbox;
pub mod llm;
mod state;
mod traits;
pub mod units;

pub use event::{
    DecisionOutcome, DecisionRequest, OnTimeout, RunEvent, SPOT_CHECKS_TO_JUDGE, Severity,
    SpotCheckAnswer, SpotCheckPolicy, StepFailure, Suspension, Timestamp,
};
pub use http::{HttpGrant, HttpRule};
pub use ids::{
    DecisionId, IdError, PluginName, RunId, StepId, StepKey, is_env_var_name, is_tool_name,
};
pub use inbox::{InboxChange, InboxEntry, InboxKey, InboxPage};
pub use llm::{
    ExchangeJournal, LlmConfig, LlmExchange, LlmGrant, LlmUsage, MaxTokensField, Price, Provider,
    ProviderApi, StepCall,
};
pub use state::{
    DecisionRecord, DecisionStatus, Earlier, ReportedOutcome, RunState, RunStatus, SpotCheck,
    StepRecord, StepStatus, affects, choice_headline,
};
pub use traits::{
    Clock, KvError, KvQuota, KvStore, PluginRunner, RunStore, RunSummary, StepError, StoreError,
    SystemClock,
};
