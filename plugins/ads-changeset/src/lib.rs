//! The `ads-changeset` plugin: the last step of an ads audit. It takes the options
//! the operator approved (each a list of Google Ads Editor rows) and writes them as
//! one CSV that Editor imports (Account > Import > From file), into the directory
//! the workflow grants it (`files`, writable, seen by the plugin as `dir`, default
//! `/changes`). It asks for `files` and for nothing else.
// The bindings wit-bindgen generates use `unsafe` for the canonical ABI.
#![allow(unsafe_code)]

wit_bindgen::generate!({
    path: "../../wit",
    world: "baton:plugin/plugin",
});

use ad_audit::{Change, Choice};
use baton::plugin::{config, log};
use exports::baton::plugin::tool::{Guest, ToolError, ToolInfo};
use serde::{Deserialize, Serialize};

const INPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["file", "approved"],
  "properties": {
    "file": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*\\.csv$", "maxLength": 120},
    "approved": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["action", "changes"],
        "properties": {
          "action": {"type": "string"},
          "changes": {"type": "array", "items": {"type": "object", "required": ["Campaign"]}}
        }
      }
    }
  }
}"##;

const OUTPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["path", "rows", "actions"],
  "properties": {
    "path": {"type": "string"},
    "rows": {"type": "integer", "minimum": 0},
    "actions": {"type": "array", "items": {"type": "string"}}
  }
}"##;

#[derive(Deserialize)]
struct Input {
    file: String,
    approved: Vec<Choice>,
}

#[derive(Serialize)]
struct Output {
    /// Where the plugin wrote it, as the plugin sees it (`/changes/...`).
    path: String,
    rows: usize,
    actions: Vec<String>,
}

struct AdsChangeset;

impl Guest for AdsChangeset {
    fn describe() -> ToolInfo {
        ToolInfo {
            name: "ads-changeset".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            summary: "Writes approved ad account changes as a CSV for Google Ads Editor".into(),
            input_schema: INPUT_SCHEMA.into(),
            output_schema: OUTPUT_SCHEMA.into(),
            capabilities: vec!["files".into()],
        }
    }

    fn invoke(input: String) -> Result<String, ToolError> {
        let input: Input = serde_json::from_str(&input)
            .map_err(|e| ToolError::InvalidInput(format!("input: {e}")))?;
        if input.file.contains('/') || input.file.starts_with('.') {
            return Err(ToolError::InvalidInput(format!(
                "file {:?} must be a plain file name, e.g. changes.csv",
                input.file
            )));
        }
        let dir = config::get("dir").unwrap_or_else(|| "/changes".into());
        let path = format!("{}/{}", dir.trim_end_matches('/'), input.file);
        let rows: Vec<&Change> = input.approved.iter().flat_map(|c| &c.changes).collect();
        let csv = render(&rows).map_err(ToolError::Failed)?;
        std::fs::write(&path, csv).map_err(|e| {
            ToolError::Failed(format!(
                "cannot write {path}: {e}; grant the directory with files = [{{ path = \"changes\", guest = \"{dir}\", write = true }}]"
            ))
        })?;
        log::write(
            log::Level::Info,
            &format!(
                "wrote {} rows for {} approved actions to {path}",
                rows.len(),
                input.approved.len()
            ),
        );
        serde_json::to_string(&Output {
            path,
            rows: rows.len(),
            actions: input.approved.into_iter().map(|c| c.action).collect(),
        })
        .map_err(|e| ToolError::Failed(format!("cannot encode the output: {e}")))
    }
}

/// The CSV: Editor's column names, then one line per row, quoted where needed.
fn render(rows: &[&Change]) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| format!("cannot write the CSV: {e}");
    writer.write_record(Change::COLUMNS).map_err(fail)?;
    for row in rows {
        writer.write_record(row.cells()).map_err(fail)?;
    }
    writer
        .into_inner()
        .map_err(|e| format!("cannot write the CSV: {e}"))
}

export!(AdsChangeset);
