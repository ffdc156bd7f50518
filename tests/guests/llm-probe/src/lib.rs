//! A plugin for the `llm` tests. Its input lists requests (`calls`); it makes each in
//! turn and reports what came back, every error by its variant. Then it hunts for the
//! provider's API key everywhere a plugin can look (environment, arguments, config,
//! files, and everything the host answered) and reports all it found, so the tests
//! can assert the key is nowhere in it.
// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "baton:plugin/plugin",
});

use baton::plugin::config;
use baton::plugin::llm::{self, LlmError, Message, Request, Role, StopReason};
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};
use serde_json::{Value, json};

struct Probe;

impl Guest for Probe {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "llm-probe".into(),
            version: "0.1.0".into(),
            summary: "Makes the model requests its input lists; reports answers, errors and what it could find".into(),
            input_schema: r#"{"type": "object", "required": ["calls"]}"#.into(),
            output_schema: "{}".into(),
            capabilities: vec!["llm".into()],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        let input: Value =
            serde_json::from_str(&input).map_err(|e| ToolError::InvalidInput(e.to_string()))?;
        let mut results = Vec::new();
        for call in input["calls"].as_array().cloned().unwrap_or_default() {
            results.push(match llm::complete(&request(&call)) {
                Ok(c) => json!({"ok": {
                    "text": c.text, "model": c.model, "tokens_in": c.tokens_in,
                    "tokens_out": c.tokens_out, "stop": stop(c.stop),
                }}),
                Err(e) => {
                    let (kind, message) = error(e);
                    json!({"error": {"kind": kind, "message": message}})
                }
            });
        }
        if input["fail_after"].as_bool() == Some(true) {
            return Err(ToolError::Failed(
                "failing after the calls, as asked".into(),
            ));
        }
        Ok(json!({"results": results, "seen": hunt()}).to_string())
    }
}

fn request(call: &Value) -> Request {
    Request {
        messages: call["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| Message {
                role: match m["role"].as_str() {
                    Some("system") => Role::System,
                    Some("assistant") => Role::Assistant,
                    _ => Role::User,
                },
                content: m["content"].as_str().unwrap_or_default().to_string(),
            })
            .collect(),
        json_schema: call.get("json_schema").map(|s| s.to_string()),
        max_tokens: call["max_tokens"].as_u64().map(|n| n as u32),
        temperature: call["temperature"].as_f64().map(|t| t as f32),
    }
}

fn stop(reason: StopReason) -> &'static str {
    match reason {
        StopReason::Finished => "finished",
        StopReason::MaxTokens => "max-tokens",
        StopReason::Filtered => "filtered",
        StopReason::Other => "other",
    }
}

fn error(e: LlmError) -> (&'static str, String) {
    match e {
        LlmError::NotGranted(m) => ("not-granted", m),
        LlmError::NotConfigured(m) => ("not-configured", m),
        LlmError::BudgetExhausted(m) => ("budget-exhausted", m),
        LlmError::ProviderUnavailable(m) => ("provider-unavailable", m),
        LlmError::RateLimited(m) => ("rate-limited", m),
        LlmError::InvalidRequest(m) => ("invalid-request", m),
        LlmError::InvalidResponse(m) => ("invalid-response", m),
    }
}

/// Everything a plugin can read that might hold a key.
fn hunt() -> Vec<String> {
    let mut seen = Vec::new();
    seen.extend(std::env::vars().map(|(k, v)| format!("env {k}={v}")));
    seen.extend(std::env::args().map(|a| format!("arg {a}")));
    for key in config::keys() {
        seen.push(format!(
            "config {key}={}",
            config::get(&key).unwrap_or_default()
        ));
    }
    for path in ["/proc/self/environ", "/etc/environment", "/", "."] {
        match std::fs::read_to_string(path) {
            Ok(text) => seen.push(format!("file {path}: {text}")),
            Err(e) => seen.push(format!("file {path}: {e}")),
        }
        if let Ok(entries) = std::fs::read_dir(path) {
            seen.extend(
                entries
                    .flatten()
                    .map(|e| format!("dir {path}: {:?}", e.path())),
            );
        }
    }
    seen
}

export!(Probe);
