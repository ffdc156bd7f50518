//! The `email-outbox` plugin: the last step of a follow-up. It checks an approved
//! email (a real address, a subject, a body that is not a placeholder) and renders
//! the message exactly as it would be sent, so the operator can read what went into
//! the outbox with `host show`. Sending comes with the `http` capability.

// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "baton:plugin/plugin",
});

mod message;

use baton::plugin::{config, log};
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};

struct EmailOutbox;

impl Guest for EmailOutbox {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "email-outbox".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "Checks an approved email and renders the message for the outbox".into(),
            input_schema: message::INPUT_SCHEMA.into(),
            output_schema: message::OUTPUT_SCHEMA.into(),
            capabilities: vec![],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        let input: message::Input = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input: {e}")))?;
        let from = config::get("from").unwrap_or_else(|| "sales@example.com".into());
        let queued = message::render(&input.email, &from).map_err(ToolError::InvalidInput)?;
        log::write(
            log::Level::Info,
            &format!("queued \"{}\" for {}", queued.subject, queued.to),
        );
        serde_json::to_string(&queued)
            .map_err(|e| ToolError::Failed(format!("cannot encode the message: {e}")))
    }
}

export!(EmailOutbox);
