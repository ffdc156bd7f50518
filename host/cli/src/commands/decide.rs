//! `host approve` and `host reject`: one decision, committed once, and the run
//! continues at once in the same command.

use std::path::PathBuf;

use baton_core::DecisionId;
use baton_engine::Decision;

use baton_service::wire::DecisionRequest;

use crate::GlobalArgs;
use crate::access::Access;
use crate::commands::run::print_outcome;
use crate::exit::{Exit, Failure};
use crate::terminal::say;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 the run completed, 1 it failed or was rejected, 2 bad usage, 3 it waits on more decisions.\n\n\
Examples:\n  host approve 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review\n  host approve 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review --choice 2\n  \
host approve 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review --edit my-email.json"
)]
pub struct ApproveArgs {
    /// The decision, as `host inbox` lists it (RUN/gate or RUN/gate/item)
    #[arg(value_parser = super::decision_id)]
    decision: DecisionId,
    /// Approve an alternative instead of the default (0)
    #[arg(long, value_name = "N", conflicts_with = "edit")]
    choice: Option<usize>,
    /// Approve your own value instead: a JSON file, checked against the plugin's output schema
    #[arg(long, value_name = "FILE")]
    edit: Option<PathBuf>,
    /// Continue even if the workflow or a plugin changed since the run started
    #[arg(long)]
    allow_changed: bool,
    /// Print one JSON object with `run`, `status` and `decisions`
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  host reject 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review --reason \"wrong tone for this client\""
)]
pub struct RejectArgs {
    /// The decision, as `host inbox` lists it
    #[arg(value_parser = super::decision_id)]
    decision: DecisionId,
    /// Why, for the log and for whoever tunes the plugin
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Continue even if the workflow or a plugin changed since the run started
    #[arg(long)]
    allow_changed: bool,
    /// Print one JSON object with `run`, `status` and `decisions`
    #[arg(long)]
    pub json: bool,
}

pub async fn approve(global: &GlobalArgs, args: ApproveArgs) -> Result<Exit, Failure> {
    let decision = match (&args.edit, args.choice) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Usage(format!("cannot read the edit {}: {e}", path.display()))
            })?;
            let value = serde_json::from_str(&text).map_err(|e| {
                Failure::Usage(format!(
                    "the edit {} is not valid JSON: line {}, column {}: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ))
            })?;
            Decision::Edit { value }
        }
        (None, choice) => Decision::Approve {
            choice: choice.unwrap_or(0),
        },
    };
    decide(
        global,
        &args.decision,
        decision,
        args.allow_changed,
        args.json,
    )
    .await
}

pub async fn reject(global: &GlobalArgs, args: RejectArgs) -> Result<Exit, Failure> {
    decide(
        global,
        &args.decision,
        Decision::Reject {
            reason: args.reason,
        },
        args.allow_changed,
        args.json,
    )
    .await
}

async fn decide(
    global: &GlobalArgs,
    id: &DecisionId,
    decision: Decision,
    allow_changed: bool,
    json: bool,
) -> Result<Exit, Failure> {
    let state = match Access::open(global).await? {
        Access::Local(service) => {
            service
                .decide(id, decision, service.operator(), allow_changed)
                .await?
                .outcome
                .state
        }
        Access::Server(server) => {
            let body = DecisionRequest::new(decision, allow_changed);
            let path = format!("/api/decisions/{id}");
            server.act(global, &path, &body, &id.run).await?
        }
    };
    // What was done, in words, before where the run stands.
    if !json && let Some(said) = crate::report::decided_line(&state, id) {
        say!("{said}");
    }
    print_outcome(&state, json);
    Ok(Exit::Run(state.status()))
}
