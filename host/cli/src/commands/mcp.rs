//! `host mcp`: the workflows and plugins it is given, as the tools of an MCP server
//! on stdin and stdout, for an agent's client to start (see `crate::mcp`).

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::ServiceExt;

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Speaks MCP on stdin and stdout: an agent's client starts it. Each workflow is a \
tool `workflow.NAME` (its input_schema, its [mcp] annotations), each plugin a tool `plugin.NAME` (its \
own schemas; no files, network, environment or model), and `baton.run_status` follows a run up. What \
a plugin may use comes from the workflow files and the host configuration only: nothing the agent \
sends grants anything. A decision is asked of the person at the client (elicitation) or waits in \
Baton's inbox; the agent never decides.\n\n\
Examples:\n  host mcp examples/lead-followup/workflow.toml\n  \
host mcp examples/ads-audit/workflow.toml --plugin lead-scorer=target/wasm32-wasip2/release/lead_scorer.wasm"
)]
pub struct McpArgs {
    /// The workflows to offer as tools
    #[arg(value_name = "WORKFLOW.toml")]
    workflows: Vec<PathBuf>,
    /// A plugin to offer as a tool of its own, NAME=PLUGIN.wasm (repeatable)
    #[arg(long = "plugin", value_name = "NAME=PLUGIN.wasm", value_parser = parse_plugin)]
    plugins: Vec<(String, PathBuf)>,
}

pub fn parse_plugin(text: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: give NAME=PLUGIN.wasm, e.g. scorer=lead_scorer.wasm"))?;
    if !baton_core::is_tool_name(name) {
        return Err(format!(
            "{name:?} is not a plugin name: letters, digits, - and _ only"
        ));
    }
    Ok((name.to_string(), PathBuf::from(path)))
}

/// Workflow files, and plugins by the name their tools take.
pub type Offered = (Vec<PathBuf>, Vec<(String, PathBuf)>);

/// The tools to offer: the ones named on the command line, else the host
/// configuration's `[mcp]` table.
pub fn tools_to_offer(
    global: &GlobalArgs,
    workflows: &[PathBuf],
    plugins: &[(String, PathBuf)],
) -> Result<Offered, Failure> {
    if !workflows.is_empty() || !plugins.is_empty() {
        return Ok((workflows.to_vec(), plugins.to_vec()));
    }
    let config = baton_service::config::HostConfig::load(global.host_config.as_deref())?;
    for name in config.mcp.plugins.keys() {
        parse_plugin(&format!("{name}=x"))
            .map_err(|e| Failure::Usage(format!("{}: mcp.plugins: {e}", config.path.display())))?;
    }
    Ok(config.mcp_tools())
}

pub async fn mcp(global: &GlobalArgs, args: McpArgs) -> Result<Exit, Failure> {
    let (workflows, plugins) = tools_to_offer(global, &args.workflows, &args.plugins)?;
    if workflows.is_empty() && plugins.is_empty() {
        return Err(Failure::Usage(
            "give the workflows (and --plugin NAME=PLUGIN.wasm) to offer as tools, e.g. host mcp examples/lead-followup/workflow.toml, or list them in the host configuration's [mcp] table".into(),
        ));
    }
    let service = match Access::open(global).await? {
        Access::Local(service) => service.observe(None),
        Access::Server(server) => {
            return Err(Failure::Usage(format!(
                "host serve ({}, pid {}) holds the state store; point the client at its /mcp endpoint ({}/mcp) with an operator token instead",
                server.url, server.pid, server.url
            )));
        }
    };
    let runtime = service.loader().runtime(false)?;
    let catalog = crate::mcp::Catalog::load(&service, &workflows, &plugins, &runtime).await?;
    let operator = service.operator().to_string();
    // The embedded store is let go of between calls, so that the operator can decide
    // in host focus or host inbox while an agent is connected; a shared store is held.
    let source = if service.store().shared().is_ok() {
        crate::mcp::Source::Held(Arc::new(service))
    } else {
        drop(service);
        crate::mcp::Source::PerCall(global.clone())
    };
    let server = crate::mcp::BatonMcp::new(source, Arc::new(catalog), operator);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Failure::Host(format!("MCP over stdio: {e}")))?;
    running
        .waiting()
        .await
        .map_err(|e| Failure::Host(format!("MCP over stdio: {e}")))?;
    Ok(Exit::Success)
}
