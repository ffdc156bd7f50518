//! The `ad-auditor` plugin: audits a Google Ads account export (campaigns, ad groups,
//! keywords, search terms, impression share) and returns findings grouped Critical,
//! High priority and Monitor, each with its evidence in numbers, a recommended change
//! and up to two alternatives, ready for a `for_each` gate.
//!
//! A thin component around the `ad-audit` crate. Config: `min-spend` (the spend,
//! in the account's currency, below which nothing is judged on spend alone; default
//! 50). Every check, its threshold and severity: `README.md`.
// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "baton:plugin/plugin",
});

use ad_audit::{Settings, audit_json};
use baton::plugin::{config, log};
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};

struct AdAuditor;

impl Guest for AdAuditor {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "ad-auditor".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "Audits a Google Ads account export against its target cost per conversion: tracking, wasted spend, costly keywords, missing negatives, budget- and rank-limited winners, networks, broad match without smart bidding, quality scores".into(),
            input_schema: ad_audit::INPUT_SCHEMA.into(),
            output_schema: ad_audit::OUTPUT_SCHEMA.into(),
            capabilities: vec![],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        let settings = Settings::from_config(config::get).map_err(ToolError::InvalidInput)?;
        let report = audit_json(&input, &settings).map_err(ToolError::InvalidInput)?;
        log::write(
            log::Level::Info,
            &format!(
                "audited {} campaigns and {} keywords: {} critical, {} high priority, {} to monitor",
                report.summary.campaigns,
                report.summary.keywords,
                report.summary.critical,
                report.summary.high,
                report.summary.monitor
            ),
        );
        serde_json::to_string(&report)
            .map_err(|e| ToolError::Failed(format!("cannot encode the report: {e}")))
    }
}

export!(AdAuditor);
