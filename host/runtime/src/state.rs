//! What a plugin's store holds for the length of one call: its WASI context (with
//! nothing granted), its limiter, its configuration, and the log lines it wrote.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::error::ErrorKind;
use crate::grants::Grants;
use crate::host::config::ConfigCtx;
use crate::host::http::{HttpGrant, HttpSandbox, MAX_REQUEST_FIELDS};
use crate::host::kv::{KvAccess, KvCtx};
use crate::host::llm::LlmView;
use crate::host::llm::{HostWait, LlmSession};

use crate::host::log::LogBuffer;
use crate::limits::{Limiter, Limits};

/// Bytes of the guest's stdout and stderr kept per call (shown with a trap, so a Rust
/// panic message or a Python traceback reaches the plugin author).
pub(crate) const GUEST_OUTPUT_CAP: usize = 16 * 1024;

pub(crate) struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    /// Each import's own context, projected out by the linker (see `host/`).
    pub(crate) config: ConfigCtx,
    pub(crate) logs: LogBuffer,
    pub(crate) kv: KvCtx,
    http_ctx: WasiHttpCtx,
    pub(crate) http: HttpSandbox,
    /// The `llm` grant for this call; `None` answers every request `not-granted`.
    pub(crate) llm: Option<LlmSession>,
    /// Time spent waiting on a model, which moves the call's deadlines.
    pub(crate) host_wait: Arc<HostWait>,
}

impl PluginState {
    /// A sandbox with only what `grants` names: those directories (read-only unless
    /// marked writable) and those environment variables; never arguments, sockets or
    /// name lookups; stdin closed. The guest's stdout and stderr go to one capped
    /// in-memory pipe (`guest_output`).
    pub(crate) fn new(
        limits: &Limits,
        config: Arc<BTreeMap<String, String>>,
        grants: &Grants,
        kv: Option<KvAccess>,
        http: Option<Arc<HttpGrant>>,
        llm: Option<LlmSession>,
        guest_output: &MemoryOutputPipe,
    ) -> Result<PluginState, ErrorKind> {
        let mut builder = WasiCtx::builder();
        builder
            .stdout(guest_output.clone())
            .stderr(guest_output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .envs(&grants.env);
        for dir in &grants.dirs {
            let perms = if dir.write {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            builder
                .preopened_dir(&dir.host, &dir.guest, perms)
                .map_err(|e| {
                    ErrorKind::Grant(format!(
                        "cannot open the granted directory {} (seen as {}): {e}",
                        dir.host.display(),
                        dir.guest
                    ))
                })?;
        }
        builder.max_random_size(crate::plugin::MAX_RANDOM_BYTES);
        let wasi = builder.build();
        let mut http_ctx = WasiHttpCtx::new();
        http_ctx.set_field_size_limit(MAX_REQUEST_FIELDS);
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.handles);
        Ok(PluginState {
            wasi,
            table,
            limiter: Limiter::new(limits),
            config: ConfigCtx(config),
            logs: LogBuffer::default(),
            kv: KvCtx(kv),
            http_ctx,
            http: HttpSandbox::new(http),
            llm,
            host_wait: Arc::default(),
        })
    }
}

impl PluginState {
    /// What `llm` may touch: its session, the call's log, the wait clock.
    pub(crate) fn llm_view(&mut self) -> LlmView<'_> {
        LlmView {
            session: self.llm.as_mut(),
            logs: &mut self.logs,
            wait: &self.host_wait,
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

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http_ctx,
            table: &mut self.table,
            hooks: &mut self.http,
        }
    }
}

impl std::fmt::Debug for PluginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginState")
            .field("limiter", &self.limiter)
            .field("config_keys", &self.config.0.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
