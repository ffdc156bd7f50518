//! Host-side implementations of the WIT imports, one module per interface.

pub(crate) mod config;
pub(crate) mod kv;
pub(crate) mod log;
