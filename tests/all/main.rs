//! Baton's integration tests: the real `host` binary and the real runtime, running
//! components built from the sources in this repository.

/// Each test twice: on the embedded store and on PostgreSQL (a new database of the
/// tests' server), the same body: `fn name(scratch = Scratch::new) { ... }` makes
/// `name::embedded` and `name::postgres`.
macro_rules! on_both_stores {
    ($(fn $name:ident($scratch:ident = $make:path) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn check($scratch: baton_tests::Scratch) $body
                #[test]
                fn embedded() {
                    check($make());
                }
                #[test]
                fn postgres() {
                    check($make().in_postgres());
                }
            }
        )*
    };
}

mod ads_audit;
mod audit;
mod bench;
mod cache;
mod cluster;
mod focus;
mod fuzz_regressions;
mod grants;
mod hostile;
mod inspect;
mod invoke;
mod kv;
mod lead_scorer;
mod learning;
mod llm;
mod load_errors;
mod mcp;
mod polyglot;
mod sandbox;
mod scaffold;
mod stats;
mod store;
mod timeouts;
mod ui;
mod web;
mod workflow;
