//! {{ name }}: a Baton plugin. `describe` says what it is; `invoke` turns one JSON
//! input into one JSON output.

wit_bindgen::generate!({ path: "wit", world: "baton:plugin/plugin" });

use baton::plugin::log;
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};
use serde_json::{Value, json};

const INPUT_SCHEMA: &str = r#"{"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}"#;
const OUTPUT_SCHEMA: &str = r#"{"type": "object", "required": ["text", "words"], "properties": {"text": {"type": "string"}, "words": {"type": "integer"}}}"#;

struct Plugin;

impl Guest for Plugin {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "{{ name }}".into(),
            version: "0.1.0".into(),
            summary: "Counts the words of a text".into(),
            input_schema: INPUT_SCHEMA.into(),
            output_schema: OUTPUT_SCHEMA.into(),
            capabilities: vec![],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input: {e}")))?;
        let text = input["text"].as_str().unwrap_or_default();
        let words = text.split_whitespace().count();
        log::write(log::Level::Info, &format!("counted {words} words"));
        Ok(json!({"text": text, "words": words}).to_string())
    }
}

export!(Plugin);
