//! `host plugin inspect`: what a plugin is and what it asks for.

use std::path::PathBuf;

use baton_runtime::{Plugin, human};
use serde_json::json;

use crate::GlobalArgs;
use crate::exit::{Exit, Failure};
use crate::terminal::escape_control;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  host plugin inspect target/wasm32-wasip2/release/lead_scorer.wasm\n  \
host plugin inspect plugin.wasm --json | jq .input_schema"
)]
pub struct Args {
    /// The plugin component (.wasm)
    #[arg(value_name = "PLUGIN.wasm")]
    plugin: PathBuf,
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Failure> {
    let runtime = super::runtime(global, false)?;
    let plugin = runtime.load(&args.plugin).await?;
    if args.json {
        println!("{}", to_json(&plugin));
    } else {
        print!("{}", to_text(&plugin));
    }
    Ok(Exit::Success)
}

fn to_json(plugin: &Plugin) -> serde_json::Value {
    let info = plugin.info();
    let source = plugin.source();
    json!({
        "name": info.name,
        "version": info.version,
        "summary": info.summary,
        "contract": format!("baton:plugin@{}", source.contract),
        "capabilities": info.capabilities,
        "input_schema": info.input_schema,
        "output_schema": info.output_schema,
        "imports": plugin.interfaces().imports,
        "exports": plugin.interfaces().exports,
        "file": source.path,
        "size": source.size,
        "digest": source.digest,
    })
}

fn to_text(plugin: &Plugin) -> String {
    let info = plugin.info();
    let source = plugin.source();
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join("\n               ")
        }
    };
    let pretty = |value: &serde_json::Value| {
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    };
    let file = source
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let text = format!(
        "{name} {version}\n  {summary}\n\n\
         contract       baton:plugin@{contract}\n\
         file           {file} ({size})\n\
         digest         {digest}\n\
         capabilities   {capabilities}\n\
         imports        {imports}\n\
         exports        {exports}\n\n\
         input schema:\n{input}\n\noutput schema:\n{output}\n",
        name = info.name,
        version = info.version,
        summary = info.summary,
        contract = source.contract,
        size = human(source.size as u64),
        digest = source.digest,
        capabilities = list(&info.capabilities),
        imports = list(&plugin.interfaces().imports),
        exports = list(&plugin.interfaces().exports),
        input = pretty(&info.input_schema),
        output = pretty(&info.output_schema),
    );
    escape_control(&text).into_owned()
}
