//! One module per command.

pub mod inspect;
pub mod invoke;

use std::path::PathBuf;

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
