//! One module per command.

pub mod audit;
pub mod bench;
pub mod decide;
pub mod expire;
pub mod focus;
pub mod inspect;
pub mod invoke;
pub mod new;
pub mod resume;
pub mod run;
pub mod runs;
pub mod stats;

use std::path::PathBuf;

use crate::session::Store;
use baton_core::{RunId, RunState};
use baton_engine::EngineError;
use baton_runtime::{Runtime, RuntimeOptions};

use crate::GlobalArgs;
use crate::exit::Failure;

/// The runtime every command uses, with the cache the user asked for.
pub fn runtime(global: &GlobalArgs, fuel: bool) -> Result<Runtime, Failure> {
    let cache_dir = if global.no_cache {
        None
    } else {
        global.cache_dir.clone().or_else(default_cache_dir)
    };
    if let Some(dir) = &cache_dir {
        tracing::debug!("component cache: {}", dir.display());
    }
    Runtime::new(RuntimeOptions {
        cache_dir,
        fuel,
        ..RuntimeOptions::default()
    })
    .map_err(|e| Failure::Host(format!("{e}; pass --cache-dir DIR or --no-cache")))
}

fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("baton").join("components"))
}

/// Reads a run, or says how to find one.
pub fn load_run(store: &Store, run: &RunId) -> Result<RunState, Failure> {
    baton_engine::load(store, run).map_err(engine_failure)
}

/// Engine errors that the user caused (a wrong id, a second decision, a bad edit)
/// are usage errors; the rest are the host's.
pub fn engine_failure(error: EngineError) -> Failure {
    match error {
        EngineError::Store(baton_core::StoreError::Io(_)) | EngineError::EmptyRun { .. } => {
            Failure::Host(error.to_string())
        }
        other => Failure::Usage(other.to_string()),
    }
}
