//! Baton's plugin runtime: loads WebAssembly components that implement the
//! `baton:plugin` contract (see `wit/`) and runs them in a sandbox.
//!
//! - [`Runtime`] owns the wasmtime engine, the linker with the host's imports, the
//!   on-disk cache of precompiled components, and the one epoch ticker that enforces
//!   every call's timeout.
//! - [`Runtime::load`] turns a `.wasm` file into a [`Plugin`]: compiled once (or
//!   loaded from the verified cache), checked against the contract, pre-instantiated,
//!   and asked to `describe` itself.
//! - [`Plugin::invoke`] checks the input against the plugin's schema, runs the call in
//!   a fresh store with nothing granted (no files, environment, arguments, sockets),
//!   under the [`Limits`] of the [`Call`], and checks the output.
//! - [`PluginSet`] is a workflow's plugins as the engine's `PluginRunner`.
//! - Every failure is a [`PluginError`] naming the plugin and, where one was reached,
//!   the limit; [`ErrorKind`] says whether to fix the input, raise a limit or retry.
//!
//! Layout: `engine` (wasmtime configuration, epoch ticker), `cache` (precompiled
//! artifacts), `load` (file to component, contract checks), `plugin` (describe,
//! invoke, the sandboxed call), `limits`, `state` (what a store holds), `host/` (one
//! module per import, each on its own context: `log`, `config`, `kv`, `llm`
//! (providers, budgets, recording), `http` (`wasi:http`'s checks and sending, and the
//! host's own requests, public as [`outbound`])), `bindings` (generated), `schema`,
//! `error`.

mod bindings;
mod cache;
mod engine;
mod error;
mod grants;
mod host;
mod limits;
mod load;
mod plugin;
mod runner;
mod schema;
mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::Linker;

pub use cache::Digest;
pub use error::{ErrorKind, LoadError, PluginError};
pub use grants::{DirGrant, Grants, redact};
pub use host::http::{HttpGrant, HttpRule};
pub use host::kv::KvAccess;
pub use host::log::{LogLevel, LogLine, MAX_LOG_BYTES, MAX_LOG_LINES};

/// The host's own HTTP requests (model providers, webhooks, the `host` commands
/// talking to `host serve`), never a plugin's: one request on a fresh connection, TLS
/// for `https`, every stage under a timeout, the answer read whole up to a cap.
pub mod outbound {
    pub use crate::host::http::own::{HostRequest, host_of, send};
}
pub use host::llm::{LlmAccess, LlmTarget};
pub use limits::Limits;
pub use load::{CONTRACT_VERSION, CacheOutcome, Interfaces};
pub use plugin::{Call, Invocation, Plugin, PluginInfo, PluginSource};
pub use runner::PluginSet;
pub use schema::check_value;

use cache::ComponentCache;
use engine::EpochTicker;
use state::PluginState;

/// How the runtime is built. The defaults are what `host` uses.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Where precompiled components are kept; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Count fuel so that [`Limits::fuel`] can bound a call deterministically. Costs
    /// some speed on every call, so it is off unless asked for.
    pub fuel: bool,
    /// The guest stack, for every plugin. Default: 512 KiB.
    pub max_stack: usize,
    /// How often the epoch advances; a timeout fires within one tick of its limit.
    /// Default: 10 ms.
    pub epoch_tick: Duration,
    /// Plugin instances that may be alive at once. Default: 32.
    pub max_concurrent_instances: u32,
    /// The most memory any one plugin memory may be given. Default: 4 GiB.
    pub max_memory_per_plugin: u64,
    /// Told, in words, of a compile that takes more than a moment (a large plugin's
    /// first use), when it starts to take long and when it ends. Default: nobody.
    pub progress: Option<Progress>,
}

/// Where the runtime says what it is doing while a person waits.
#[derive(Clone)]
pub struct Progress {
    /// How long a compile runs before it is said. Default: 1 s.
    pub after: Duration,
    pub tell: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Progress {
    pub fn new(tell: impl Fn(&str) + Send + Sync + 'static) -> Progress {
        Progress {
            after: Duration::from_secs(1),
            tell: Arc::new(tell),
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: None,
            fuel: false,
            max_stack: 512 * 1024,
            epoch_tick: Duration::from_millis(10),
            max_concurrent_instances: 32,
            max_memory_per_plugin: 4 << 30,
            progress: None,
        }
    }
}

/// Why a runtime could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot configure the WebAssembly engine: {0}")]
    Engine(String),
    #[error("cannot open the component cache at {}: {reason}", path.display())]
    Cache { path: PathBuf, reason: String },
}

/// The engine, linker, cache and epoch ticker that all plugins share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<PluginState>,
    cache: Option<ComponentCache>,
    fuel: bool,
    max_stack: usize,
    tick: Duration,
    _ticker: EpochTicker,
    progress: Option<Progress>,
    /// Code loaded by live plugins, by digest (`Plugin`'s `Compiled`).
    loaded: std::sync::Mutex<
        std::collections::HashMap<cache::Digest, std::sync::Weak<plugin::Compiled>>,
    >,
}

impl std::fmt::Debug for RuntimeInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeInner")
            .field("cache", &self.cache)
            .field("fuel", &self.fuel)
            .field("tick", &self.tick)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    pub fn new(options: RuntimeOptions) -> Result<Runtime, RuntimeError> {
        let engine = engine::build_engine(&options).map_err(RuntimeError::Engine)?;
        let mut linker = Linker::new(&engine);
        Runtime::link(&mut linker).map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let cache = match &options.cache_dir {
            Some(dir) => {
                Some(
                    ComponentCache::open(dir, &engine).map_err(|e| RuntimeError::Cache {
                        path: dir.clone(),
                        reason: e.to_string(),
                    })?,
                )
            }
            None => None,
        };
        let ticker = EpochTicker::start(&engine, options.epoch_tick);
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                cache,
                fuel: options.fuel,
                max_stack: options.max_stack,
                tick: options.epoch_tick,
                _ticker: ticker,
                loaded: Default::default(),
                progress: options.progress.clone(),
            }),
        })
    }

    /// Where the cache entry for a component with these bytes lives (for tools and
    /// tests that inspect the cache).
    pub fn cache_entry_path(&self, component_bytes: &[u8]) -> Option<PathBuf> {
        let cache = self.inner.cache.as_ref()?;
        Some(cache.entry_path(&Digest::of(component_bytes)))
    }

    /// Ticks of the epoch that make up `timeout`, rounded up, plus one for the tick
    /// already under way.
    fn deadline_ticks(&self, timeout: Duration) -> u64 {
        let tick = self.inner.tick.as_nanos().max(1);
        (timeout.as_nanos().div_ceil(tick) as u64).saturating_add(1)
    }
}
