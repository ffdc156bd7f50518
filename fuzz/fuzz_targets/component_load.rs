//! Any bytes as a plugin: loading must end in a plugin or in a typed load error,
//! never in a panic. Uses the real runtime (no cache), so recognising the header,
//! validation, compilation, the contract check and `describe` are all exercised.
#![no_main]

use std::sync::OnceLock;

use baton_runtime::{Runtime, RuntimeOptions};
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static (tokio::runtime::Runtime, Runtime) {
    static RUNTIME: OnceLock<(tokio::runtime::Runtime, Runtime)> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let runtime = Runtime::new(RuntimeOptions {
            cache_dir: None,
            max_concurrent_instances: 4,
            ..RuntimeOptions::default()
        })
        .expect("a Baton runtime");
        (tokio, runtime)
    })
}

fuzz_target!(|data: &[u8]| {
    let (tokio, runtime) = runtime();
    let _ = tokio.block_on(runtime.load_bytes("fuzz.wasm", data.to_vec()));
});
