//! A plugin whose linear memory starts at over 256 MiB (a zero-initialised static,
//! so the binary stays small): instantiating it must fail at the memory limit, before
//! any of its code runs.

// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "baton:plugin/plugin",
});

use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};

/// 256 MiB of zeroes in bss: part of the initial memory, but no bytes in the binary.
static mut BALLAST: [u8; 256 << 20] = [0; 256 << 20];

struct Bloated;

impl Guest for Bloated {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "bloated".into(),
            version: "0.1.0".into(),
            summary: "Starts with 256 MiB of memory".into(),
            input_schema: "{}".into(),
            output_schema: "{}".into(),
            capabilities: vec![],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        // SAFETY: a single-threaded guest reads one byte of its own static.
        let touched =
            unsafe { std::ptr::read_volatile((&raw const BALLAST).cast::<u8>().add(12345)) };
        Ok(format!("{{\"input\": {input}, \"byte\": {touched}}}"))
    }
}

export!(Bloated);
