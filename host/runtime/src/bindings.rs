//! Code generated from `wit/` by `wasmtime::component::bindgen!`, kept apart from
//! hand-written code so the two never mix.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "baton:plugin/plugin",
    // Exports run guest code and are awaited so that a call can be cut off by the
    // wall-clock timeout while the guest waits on the host. The imports (`log`,
    // `config`) only touch memory the host already holds, so they stay synchronous.
    exports: { default: async },
});

pub use baton::plugin::log::Level;
pub use exports::baton::plugin::tool::{ToolError, ToolInfo};
