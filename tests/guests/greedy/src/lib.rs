//! A plugin that asks for `files` and `kv` in `describe` and lists `/data` when
//! called: loading it must fail unless the workflow grants what it asks for.

// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "baton:plugin/plugin",
});

use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};

struct Greedy;

impl Guest for Greedy {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "greedy".into(),
            version: "0.1.0".into(),
            summary: "Asks for files and kv".into(),
            input_schema: "{}".into(),
            output_schema: "{}".into(),
            capabilities: vec!["files".into(), "kv".into()],
        }
    }

    fn invoke(_input: String) -> Result<String, ToolError> {
        let names: Vec<String> = std::fs::read_dir("/data")
            .map_err(|e| ToolError::Denied(format!("files: {e}")))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        Ok(format!("{names:?}"))
    }
}

export!(Greedy);
