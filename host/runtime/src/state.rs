//! What a plugin's store holds for the length of one call: its WASI context (with
//! nothing granted), its limiter, its configuration, and the log lines it wrote.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::host::log::LogBuffer;
use crate::limits::{Limiter, Limits};

/// Bytes of the guest's stdout and stderr kept per call (shown with a trap, so a Rust
/// panic message or a Python traceback reaches the plugin author).
pub(crate) const GUEST_OUTPUT_CAP: usize = 16 * 1024;

pub(crate) struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) config: Arc<BTreeMap<String, String>>,
    pub(crate) logs: LogBuffer,
}

impl PluginState {
    /// A sandbox with nothing granted: no preopened directories, no environment, no
    /// arguments, no sockets, no name lookups, stdin closed. The guest's stdout and
    /// stderr go to one capped in-memory pipe (`guest_output`).
    pub(crate) fn new(
        limits: &Limits,
        config: Arc<BTreeMap<String, String>>,
        guest_output: &MemoryOutputPipe,
    ) -> PluginState {
        let wasi = WasiCtx::builder()
            .stdout(guest_output.clone())
            .stderr(guest_output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        PluginState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(limits),
            config,
            logs: LogBuffer::default(),
        }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl std::fmt::Debug for PluginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginState")
            .field("limiter", &self.limiter)
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
