//! Returns its input unchanged: a step with no work of its own, so a benchmark of it
//! measures what the host costs per step (a fresh sandbox, the copies across the
//! boundary, and both schema checks).
// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "baton:plugin/plugin",
});

use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};

struct Echo;

impl Guest for Echo {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "echo".into(),
            version: "0.1.0".into(),
            summary: "Returns its input unchanged".into(),
            input_schema: r#"{"type": "object"}"#.into(),
            output_schema: r#"{"type": "object"}"#.into(),
            capabilities: vec![],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        Ok(input)
    }
}

export!(Echo);
