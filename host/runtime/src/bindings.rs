//! Code generated from `wit/` by `wasmtime::component::bindgen!`, kept apart from
//! hand-written code so the two never mix.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "baton:plugin/plugin",
    // Exports run guest code and are awaited so that a call can be cut off by the
    // wall-clock timeout while the guest waits on the host. The imports (`log`,
    // `config`, `kv`) only touch memory or the local store, so they stay synchronous;
    // `llm.complete` waits on the network and is awaited.
    imports: { "baton:plugin/llm.complete": async },
    exports: { default: async },
});

pub use baton::plugin::log::Level;
pub use exports::baton::plugin::tool::{ToolError, ToolInfo};
