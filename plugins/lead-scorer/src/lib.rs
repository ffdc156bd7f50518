//! The `lead-scorer` plugin: scores and ranks sales leads by buying signals.
//!
//! A thin component around the `lead-scoring` crate: it reads settings from the
//! `config` import, logs what it did, and turns the result into JSON. Build it with
//! `cargo build -p lead-scorer --target wasm32-wasip2 --release`.
// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "baton:plugin/plugin",
});

use baton::plugin::{config, log};
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};
use lead_scoring::{KNOWN_KEYS, Settings, score_json};

struct LeadScorer;

impl Guest for LeadScorer {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "lead-scorer".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "Scores sales leads 0-100 by buying signals, explains each score, and picks the one to act on now".into(),
            input_schema: lead_scoring::INPUT_SCHEMA.into(),
            output_schema: lead_scoring::OUTPUT_SCHEMA.into(),
            capabilities: vec![],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        for key in config::keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                log::write(
                    log::Level::Warn,
                    &format!(
                        "ignoring unknown config key `{key}`; known keys: {}",
                        KNOWN_KEYS.join(", ")
                    ),
                );
            }
        }
        let settings = Settings::from_config(config::get)
            .map_err(|e| ToolError::InvalidInput(e.to_string()))?;
        let scored = score_json(&input, &settings).map_err(|e| ToolError::InvalidInput(e.0))?;
        log::write(
            log::Level::Info,
            &format!(
                "scored {} leads: {} actionable, {} hot",
                scored.summary.scored, scored.summary.actionable, scored.summary.hot
            ),
        );
        serde_json::to_string(&scored)
            .map_err(|e| ToolError::Failed(format!("cannot encode the output: {e}")))
    }
}

export!(LeadScorer);
