//! `host plugin inspect`: what a plugin is and what it asks for.

use std::path::{Path, PathBuf};

use baton_core::units::bytes as human;
use baton_runtime::Plugin;
use baton_workflow::{PluginDecl, Workflow};
use serde_json::json;

use crate::GlobalArgs;
use crate::exit::{Exit, Failure};
use crate::report;
use crate::terminal::{escape_control, say, say_part};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  host plugin inspect target/wasm32-wasip2/release/lead_scorer.wasm\n  \
host plugin inspect plugin.wasm --json | jq .input_schema\n  \
host plugin inspect scorer --workflow examples/lead-followup/workflow.toml"
)]
pub struct Args {
    /// The plugin component (.wasm), or with --workflow the name of a plugin it declares
    #[arg(value_name = "PLUGIN.wasm|NAME")]
    plugin: PathBuf,
    /// Also show what this workflow grants the plugin, and what it asks for that the
    /// workflow does not grant
    #[arg(long, value_name = "WORKFLOW.toml")]
    workflow: Option<PathBuf>,
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Failure> {
    let Some(workflow_path) = &args.workflow else {
        let runtime = crate::access::loader(global).runtime(false)?;
        let plugin = runtime.load(&args.plugin).await?;
        if args.json {
            say!("{}", crate::terminal::json(&to_json(&plugin), false));
        } else {
            say_part!("{}", to_text(&plugin));
        }
        return Ok(Exit::Success);
    };
    let (workflow, _) = baton_service::read_workflow(workflow_path)?;
    let decl = declaration(&workflow, &args.plugin).ok_or_else(|| {
        Failure::Usage(format!(
            "{} declares no plugin named {:?} or loaded from that file; it declares: {}",
            workflow_path.display(),
            args.plugin.display(),
            workflow
                .plugins
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let runtime = crate::access::loader(global).runtime(decl.limits.fuel.is_some())?;
    let plugin = runtime
        .load_with(&decl.source, &baton_service::limits_for(decl))
        .await?;
    let missing: Vec<&String> = baton_service::refused_capabilities(decl, plugin.info());
    if args.json {
        let mut value = to_json(&plugin);
        value["workflow"] = json!({
            "file": workflow_path,
            "declared_as": decl.name,
            "granted": decl.grants.capabilities(),
            "grants": report::grants_text(decl),
            "missing": missing,
        });
        say!("{}", crate::terminal::json(&value, false));
    } else {
        let mut text = to_text(&plugin);
        text.push_str(&format!(
            "\nin {} as `{}`:\n  asks for  {}\n  granted   {}\n",
            workflow_path.display(),
            decl.name,
            if plugin.info().capabilities.is_empty() {
                "nothing".to_string()
            } else {
                plugin.info().capabilities.join(", ")
            },
            report::grants_text(decl)
        ));
        if !missing.is_empty() {
            let problem = baton_service::capability_problem(decl, plugin.info(), &missing);
            text.push_str(&format!("  refused   {problem}\n"));
        }
        say_part!("{}", escape_control(&text));
    }
    Ok(Exit::Success)
}

/// The declaration `plugin` names: a plugin name, or the file a declaration loads.
fn declaration<'a>(workflow: &'a Workflow, plugin: &Path) -> Option<&'a PluginDecl> {
    if let Some(decl) = plugin.to_str().and_then(|name| workflow.plugins.get(name)) {
        return Some(decl);
    }
    let wanted = std::fs::canonicalize(plugin).ok()?;
    workflow
        .plugins
        .values()
        .find(|decl| std::fs::canonicalize(&decl.source).is_ok_and(|p| p == wanted))
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
