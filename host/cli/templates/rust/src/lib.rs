//! {{ name }}: a Baton plugin. `describe` says what it is; `invoke` turns one JSON
//! input into one JSON output.

wit_bindgen::generate!({ path: "wit", world: "baton:plugin/plugin" });

{% if kv %}
use baton::plugin::{kv, log};
{% else %}
use baton::plugin::log;
{% endif %}
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};
use serde_json::{Value, json};

const INPUT_SCHEMA: &str = r#"{"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}"#;
{% if kv %}
const OUTPUT_SCHEMA: &str = r#"{"type": "object", "required": ["text", "words", "texts"], "properties": {"text": {"type": "string"}, "words": {"type": "integer"}, "texts": {"type": "integer"}}}"#;
{% else %}
const OUTPUT_SCHEMA: &str = r#"{"type": "object", "required": ["text", "words"], "properties": {"text": {"type": "string"}, "words": {"type": "integer"}}}"#;
{% endif %}

struct Plugin;

impl Guest for Plugin {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "{{ name }}".into(),
            version: "0.1.0".into(),
{% if kv %}
            summary: "Counts the words of a text, and the texts it has counted".into(),
{% else %}
            summary: "Counts the words of a text".into(),
{% endif %}
            input_schema: INPUT_SCHEMA.into(),
            output_schema: OUTPUT_SCHEMA.into(),
{% if kv %}
            // The workflow must grant each one: grants = { kv = { quota = "1MiB" } }
            capabilities: vec!["kv".into()],
{% else %}
            capabilities: vec![],
{% endif %}
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input: {e}")))?;
        let text = input["text"].as_str().unwrap_or_default();
        let words = text.split_whitespace().count();
        log::write(log::Level::Info, &format!("counted {words} words"));
{% if kv %}
        // How many texts this plugin has counted: kept in kv across calls and runs.
        let texts = texts_counted()? + 1;
        kv::set("texts", texts.to_string().as_bytes()).map_err(kv_error)?;
        Ok(json!({"text": text, "words": words, "texts": texts}).to_string())
{% else %}
        Ok(json!({"text": text, "words": words}).to_string())
{% endif %}
    }
}
{% if kv %}

/// The number kept under `texts`, or 0 before the first call.
fn texts_counted() -> Result<u64, ToolError> {
    // `kv::get` is Ok(None) when the key is not set, Ok(Some(bytes)) when it is.
    match kv::get("texts").map_err(kv_error)? {
        None => Ok(0),
        Some(bytes) => String::from_utf8_lossy(&bytes)
            .parse()
            .map_err(|_| ToolError::Failed("kv `texts` does not hold a number".into())),
    }
}

/// A kv error as the plugin's own: not granted or over quota is `denied` (another
/// attempt would not help); the rest is `failed`.
fn kv_error(error: kv::KvError) -> ToolError {
    match error {
        kv::KvError::Denied(why) | kv::KvError::Quota(why) => ToolError::Denied(format!("kv: {why}")),
        kv::KvError::Invalid(why) | kv::KvError::Unavailable(why) => {
            ToolError::Failed(format!("kv: {why}"))
        }
    }
}
{% endif %}

export!(Plugin);
