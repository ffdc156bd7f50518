//! Baton's integration tests: the real `host` binary and the real runtime, running
//! components built from the sources in this repository.

mod ads_audit;
mod audit;
mod bench;
mod cache;
mod focus;
mod fuzz_regressions;
mod grants;
mod hostile;
mod inspect;
mod invoke;
mod kv;
mod lead_scorer;
mod llm;
mod load_errors;
mod polyglot;
mod sandbox;
mod scaffold;
mod stats;
mod store;
mod timeouts;
mod ui;
mod web;
mod workflow;
