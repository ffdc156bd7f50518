//! The wasmtime engine every plugin runs on, and the one epoch ticker that enforces
//! wall-clock timeouts for all of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

/// Bytes of each memory kept mapped between calls (see `build_engine`).
const KEEP_RESIDENT: usize = 1 << 20;

use crate::RuntimeOptions;

/// Builds the engine. Features a plugin does not need are switched off at compile time
/// (see the workspace `Cargo.toml`); here we switch on what the sandbox relies on:
/// epoch interruption for timeouts, a bounded guest stack, optional fuel, and the
/// pooling allocator so that a fresh instance per call costs microseconds.
pub(crate) fn build_engine(options: &RuntimeOptions) -> Result<Engine, String> {
    let mut config = base_config(options);
    let mut pooling = PoolingAllocationConfig::default();
    // Enough for dozens of concurrent calls of Python or JavaScript components, which
    // hold several core instances and memories each. Slots are reserved virtual address
    // space, committed only when used.
    pooling
        .total_component_instances(options.max_concurrent_instances)
        .total_core_instances(options.max_concurrent_instances * 16)
        .total_memories(options.max_concurrent_instances * 4)
        .total_tables(options.max_concurrent_instances * 8)
        .total_stacks(options.max_concurrent_instances)
        .max_memory_size(options.max_memory_per_plugin as usize)
        // Reset a finished call's memory by rewriting the pages it dirtied (found with
        // Linux's PAGEMAP_SCAN) instead of unmapping them: the next call takes no page
        // faults and no TLB shootdown. Contents are reset either way.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT / 16);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        Err(pool_error) => {
            // The pool reserves address space up front; a machine that restricts
            // virtual memory (ulimit -v) refuses it. On-demand allocation is slower
            // to instantiate but just as safe.
            tracing::warn!(
                "the pooling allocator is unavailable ({pool_error}); allocating instances on demand"
            );
            Engine::new(&base_config(options)).map_err(|e| e.to_string())
        }
    }
}

fn base_config(options: &RuntimeOptions) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(options.fuel)
        .max_wasm_stack(options.max_stack)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true);
    config
}

/// One thread that advances the engine's epoch every `tick`. Each call sets its
/// deadline as a number of ticks, so thousands of concurrent calls share this one
/// thread (never a thread or timer per call). Stops when dropped.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine, tick: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("baton-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .ok();
        if thread.is_none() {
            tracing::error!("could not start the epoch ticker thread; timeouts will not fire");
        }
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
