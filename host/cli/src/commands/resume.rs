//! `host resume` and `host cancel`.

use baton_core::RunId;

use crate::GlobalArgs;
use crate::access::Access;
use crate::commands::run::print_outcome;
use crate::exit::{Exit, Failure};
use baton_service::wire::ResumeRequest;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Continues a run from its log after a crash or a restart: steps whose output was committed \
never run again; a step that was interrupted runs again.\n\nExample:\n  host resume 01JD3KX5N7Q2W8ZB6T4VYR9M1C"
)]
pub struct ResumeArgs {
    #[arg(value_parser = super::run_id)]
    run: RunId,
    /// Continue even if the workflow or a plugin changed since the run started
    #[arg(long)]
    allow_changed: bool,
    /// Print one JSON object with `run`, `status` and `decisions`
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  host cancel 01JD3KX5N7Q2W8ZB6T4VYR9M1C")]
pub struct CancelArgs {
    #[arg(value_parser = super::run_id)]
    run: RunId,
    /// Print one JSON object with `run`, `status` and `decisions`
    #[arg(long)]
    pub json: bool,
}

pub async fn resume(global: &GlobalArgs, args: ResumeArgs) -> Result<Exit, Failure> {
    let state = match Access::open(global).await? {
        Access::Local(service) => {
            service
                .resume(&args.run, args.allow_changed, service.operator())
                .await?
                .outcome
                .state
        }
        Access::Server(server) => {
            let body = ResumeRequest {
                allow_changed: args.allow_changed,
            };
            let path = format!("/api/runs/{}/resume", args.run);
            server.act(global, &path, &body, &args.run).await?
        }
    };
    print_outcome(&state, args.json);
    Ok(Exit::Run(state.status()))
}

pub async fn cancel(global: &GlobalArgs, args: CancelArgs) -> Result<Exit, Failure> {
    let state = match Access::open(global).await? {
        Access::Local(service) => service.cancel(&args.run, service.operator())?.outcome.state,
        Access::Server(server) => {
            let path = format!("/api/runs/{}/cancel", args.run);
            server
                .act(global, &path, &serde_json::json!({}), &args.run)
                .await?
        }
    };
    print_outcome(&state, args.json);
    Ok(Exit::Run(state.status()))
}
