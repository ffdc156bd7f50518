//! Host-side implementations of the WIT imports, one module per interface, each on
//! a context of its own (as wasmtime's WASI crates do): `log` on the call's log
//! buffer, `config` on its configuration, `kv` on its grant, `llm` on a view of its
//! session, log and wait clock. The linker projects each out of the plugin's state,
//! so no import reaches what another owns, and each can be tested alone.

pub(crate) mod config;
pub(crate) mod http;
pub(crate) mod kv;
pub(crate) mod llm;
pub(crate) mod log;
