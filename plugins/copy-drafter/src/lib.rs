//! The `copy-drafter` plugin: three follow-up emails for one scored lead, each with
//! a distinct angle (pick up the thread, proof from peers, an easy next step), each
//! built from the lead's real signals (the scorer's `signals`, deal stage, notes).
//!
//! With a model (the workflow grants `llm` and the operator configured a provider) the
//! drafts are written by it, asked for as structured JSON and grounded in the same
//! facts; without one, or when its answer is unusable, they come from templates, and
//! `drafted_by` says so ("drafted from templates: no model configured"), so the
//! operator sees it beside the decision.
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

use baton::plugin::{config, llm, log};
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};

struct CopyDrafter;

impl Guest for CopyDrafter {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "copy-drafter".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary:
                "Drafts three follow-up emails with distinct angles from a scored lead's signals, with the granted model or templates"
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
        let mut drafts = draft::drafts(&input, &settings);
        match with_model(&input, &settings, &drafts.to) {
            Ok((variants, model)) => {
                drafts.variants = variants;
                drafts.drafted_by = format!("drafted by {model}");
            }
            Err(why) => {
                drafts.drafted_by = format!("drafted from templates: {why}");
                log::write(log::Level::Info, &drafts.drafted_by);
            }
        }
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

/// Three drafts written by the granted model, and its name; `Err` says why not.
fn with_model(
    input: &draft::Input,
    settings: &draft::Settings,
    to: &str,
) -> Result<(Vec<draft::Email>, String), String> {
    let (system, user) = draft::prompt(input, settings);
    let request = llm::Request {
        messages: vec![
            llm::Message {
                role: llm::Role::System,
                content: system,
            },
            llm::Message {
                role: llm::Role::User,
                content: user,
            },
        ],
        json_schema: Some(draft::MODEL_SCHEMA.into()),
        max_tokens: Some(1200),
        temperature: Some(0.7),
    };
    let completion = llm::complete(&request).map_err(|e| match e {
        llm::LlmError::NotGranted(_) => "no model granted to this plugin".to_string(),
        llm::LlmError::NotConfigured(_) => "no model configured".to_string(),
        llm::LlmError::BudgetExhausted(m) => format!("the model budget is spent ({m})"),
        llm::LlmError::ProviderUnavailable(m) | llm::LlmError::RateLimited(m) => {
            format!("the model was unavailable ({m})")
        }
        llm::LlmError::InvalidRequest(m) | llm::LlmError::InvalidResponse(m) => {
            format!("the model's answer was unusable ({m})")
        }
    })?;
    let variants = draft::from_model(&completion.text, to)
        .map_err(|why| format!("the model's answer was unusable ({why})"))?;
    Ok((variants, completion.model))
}

export!(CopyDrafter);
