//! The `copy-drafter` plugin: three follow-up emails for one scored lead, each with
//! a distinct angle (pick up the thread, proof from peers, an easy next step), each
//! built from the lead's real signals (the scorer's `signals`, deal stage, notes).
//! Templates, not a model: the `llm` capability arrives in a later contract version.
//!
//! Config: `sender` (who signs, default "Sam"), `product` (default "our platform"),
//! `meeting-minutes` (default 20), `examples-link` (a page of customer stories) and
//! `booking-link` (a booking page), each linked from one draft when set.

// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "baton:plugin/plugin",
});

mod draft;

use baton::plugin::{config, log};
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};

struct CopyDrafter;

impl Guest for CopyDrafter {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "copy-drafter".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary:
                "Drafts three follow-up emails with distinct angles from a scored lead's signals"
                    .into(),
            input_schema: draft::INPUT_SCHEMA.into(),
            output_schema: draft::OUTPUT_SCHEMA.into(),
            capabilities: vec![],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        let settings = draft::Settings {
            sender: config::get("sender").unwrap_or_else(|| "Sam".into()),
            product: config::get("product").unwrap_or_else(|| "our platform".into()),
            meeting_minutes: match config::get("meeting-minutes") {
                Some(v) => v.trim().parse().map_err(|_| {
                    ToolError::InvalidInput(format!(
                        "config `meeting-minutes` = {v:?} is not a number of minutes"
                    ))
                })?,
                None => 20,
            },
            examples_link: config::get("examples-link"),
            booking_link: config::get("booking-link"),
        };
        let input: draft::Input = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input: {e}")))?;
        let drafts = draft::drafts(&input, &settings);
        log::write(
            log::Level::Info,
            &format!(
                "drafted {} follow-ups for {}",
                drafts.variants.len(),
                input.lead.lead.company
            ),
        );
        serde_json::to_string(&drafts)
            .map_err(|e| ToolError::Failed(format!("cannot encode the drafts: {e}")))
    }
}

export!(CopyDrafter);
