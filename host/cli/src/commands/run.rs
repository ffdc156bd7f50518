//! `host run`: start a run of a workflow and drive it until it ends or waits.

use std::path::PathBuf;

use baton_workflow::StepKind;
use serde_json::Value;

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::json_input;
use crate::report;
use crate::terminal::{say, say_part};
use baton_service::wire::StartRequest;
use baton_service::{LoadedWorkflow, read_workflow};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 completed, 1 failed or rejected, 2 bad usage or input, 3 waiting for decisions.\n\n\
Example:\n  host run examples/lead-followup/workflow.toml --input examples/leads.json"
)]
pub struct Args {
    /// The workflow file
    #[arg(value_name = "WORKFLOW.toml")]
    workflow: PathBuf,
    /// The run's input: a JSON file, `-` for stdin, or JSON text ('{"text": "hi"}') [default: {}]
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Check the workflow and its plugins and print the plan, without running
    #[arg(long)]
    dry_run: bool,
    /// First rebuild the plugins whose sources changed, with their `build` command
    #[arg(long)]
    build: bool,
    /// On a shared store (--store postgres://…): create the run and leave it for a `host worker` to drive; exits 0 once it is queued
    #[arg(long)]
    enqueue: bool,
    /// Print one JSON object with `run`, `status` and `decisions`
    #[arg(long)]
    pub json: bool,
}

pub async fn run(global: &GlobalArgs, args: Args) -> Result<Exit, Failure> {
    let input = read_input(args.input.as_deref())?;
    let (workflow, source) = read_workflow(&args.workflow)?;
    if args.build {
        crate::build::build_stale(&workflow)?;
    }
    if args.dry_run {
        let loaded = crate::access::loader(global)
            .load(workflow, &source, None)
            .await?;
        crate::access::report_load(&loaded);
        say_part!("{}", plan_text(&loaded));
        return Ok(Exit::Success);
    }
    let state = match Access::open(global).await? {
        Access::Local(service) if args.enqueue => {
            let loaded = service.workflow_read((workflow, source)).await?;
            crate::access::report_load(&loaded);
            let state = service
                .enqueue(loaded, input, service.operator())?
                .outcome
                .state;
            if args.json {
                let queued = serde_json::json!({"run": state.id.to_string(), "workflow": state.workflow, "status": "queued"});
                say!("{}", crate::terminal::json(&queued, false));
            } else {
                say!(
                    "run {} ({}): queued; a `host worker` on this store will drive it",
                    state.id,
                    state.workflow
                );
            }
            return Ok(Exit::Success);
        }
        Access::Server(_) if args.enqueue => {
            return Err(Failure::Usage(
                "--enqueue needs a shared store: pass --store postgres://… (host serve holds an embedded store)".into(),
            ));
        }
        Access::Local(service) => {
            let loaded = service.workflow_read((workflow, source)).await?;
            crate::access::report_load(&loaded);
            service
                .start(loaded, input, service.operator())
                .await?
                .outcome
                .state
        }
        Access::Server(server) => {
            // The server loads the workflow itself, from the same file.
            let path = std::fs::canonicalize(&args.workflow).unwrap_or(args.workflow.clone());
            let request = StartRequest {
                workflow: path,
                input: Some(input),
            };
            let started: Value = server
                .json(
                    global,
                    http::Method::POST,
                    "/api/runs",
                    Some(
                        &serde_json::to_value(&request)
                            .map_err(|e| Failure::Host(e.to_string()))?,
                    ),
                )
                .await?;
            let run = started["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| {
                    Failure::Host("host serve did not say which run it started".into())
                })?;
            Access::Server(server).load_run(global, &run).await?
        }
    };
    print_outcome(&state, args.json);
    Ok(Exit::Run(state.status()))
}

pub fn print_outcome(state: &baton_core::RunState, json: bool) {
    if json {
        say!(
            "{}",
            crate::terminal::json(&report::outcome_json(state), false)
        );
    } else {
        say_part!("{}", report::outcome_text(state));
    }
}

/// The input from a file, stdin (`-`), or, when no such file exists and the text is
/// a JSON object or list, the text itself (as `host invoke --input` takes it).
fn read_input(path: Option<&std::path::Path>) -> Result<Value, Failure> {
    match path {
        Some(path) => {
            let text = path.to_string_lossy();
            if !path.exists() && text.trim_start().starts_with(['{', '[']) {
                json_input::read_value(json_input::Source::Flag("--input", &text))
            } else {
                json_input::read_value(json_input::Source::File(path))
            }
        }
        None => Ok(Value::Object(Default::default())),
    }
}

/// `--dry-run`: the steps in file order with what they use and wait for, and what
/// each plugin may do.
fn plan_text(session: &LoadedWorkflow) -> String {
    let workflow = &session.workflow;
    let mut out = format!(
        "workflow {} ({}): checked, {} steps\n\nsteps:\n",
        workflow.name,
        workflow.path.display(),
        workflow.steps.len()
    );
    for step in &workflow.steps {
        let what = match &step.kind {
            StepKind::Task { uses, .. } => format!("uses {uses}"),
            StepKind::Gate(gate) => format!("gate on {}", gate.approve),
        };
        let after: Vec<&str> = step.depends_on.iter().map(|s| s.as_str()).collect();
        let mut line = format!("  {:<18} {what}", step.id.as_str());
        if !after.is_empty() {
            line.push_str(&format!(", after {}", after.join(", ")));
        }
        if let Some(when) = &step.when {
            line.push_str(&format!(", when {}", when.source()));
        }
        if let Some(source) = &step.after_each {
            line.push_str(&format!(", after each item of {source} as it is done"));
        }
        if let Some(for_each) = &step.for_each {
            line.push_str(&format!(", for each of {}", for_each.source()));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("\nplugins:\n");
    for (name, decl) in &workflow.plugins {
        let plugin = session.runner.plugin(name);
        let described = plugin
            .map(|p| format!("{} {}", p.info().name, p.info().version))
            .unwrap_or_default();
        let wants = plugin
            .map(|p| {
                if p.info().capabilities.is_empty() {
                    "nothing".to_string()
                } else {
                    p.info().capabilities.join(", ")
                }
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "  {name:<18} {described} ({})\n    asks for: {wants}\n    granted:  {}\n",
            decl.source.display(),
            report::grants_text(decl)
        ));
        if let Some(build) = &decl.build {
            let state = match crate::build::stale(decl, build) {
                Ok(Some(why)) => format!("--build runs it: {why}"),
                Ok(None) => "up to date".to_string(),
                Err(e) => e.to_string(),
            };
            out.push_str(&format!(
                "    build:    {} (in {}; {state})\n",
                build.command,
                build.dir.display()
            ));
        }
    }
    out
}
