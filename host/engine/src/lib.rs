//! Baton's executor. It advances a run from its log: runs every step whose
//! dependencies have finished (independent steps concurrently), commits each output
//! before any step that depends on it starts, opens gates and stops there, applies
//! decisions exactly once, and finishes the run. It talks only to `baton-core`'s
//! traits, so it knows neither wasmtime nor sled.
//!
//! Guarantees:
//! - a step's `StepStarted` is committed before its plugin is called, and its output
//!   (`StepCompleted`) before anything that reads it is planned; a step whose output
//!   was committed never runs again (at-least-once for calls interrupted by a crash);
//! - a decision is committed and synced to disk before it is acknowledged, and a
//!   second decision on the same gate is refused (exactly once).
//!
//! Layout: `engine` (the public [`Engine`] and its operations), `plan` (what can
//! happen next, from the state), `context` (the values templates see), `stats`
//! (what past decisions teach), `error`.

mod context;
mod engine;
mod error;
mod plan;
pub mod stats;

pub use engine::{
    Decision, Engine, Outcome, Suspended, answer_spot_check, cancel, expire, format_time, load,
    record_outcome, record_suspension, shown,
};
pub use error::EngineError;
