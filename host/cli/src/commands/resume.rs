//! `host resume` and `host cancel`.

use baton_core::RunId;

use crate::GlobalArgs;
use crate::commands::run::print_outcome;
use crate::exit::{Exit, Failure};
use crate::serve::client::Access;
use crate::session::{HostClock, Session, operator};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Continues a run from its log after a crash or a restart: steps whose output was committed \
never run again; a step that was interrupted runs again.\n\nExample:\n  host resume 01JD3KX5N7Q2W8ZB6T4VYR9M1C"
)]
pub struct ResumeArgs {
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
    run: RunId,
    /// Print one JSON object with `run`, `status` and `decisions`
    #[arg(long)]
    pub json: bool,
}

pub async fn resume(global: &GlobalArgs, args: ResumeArgs) -> Result<Exit, Failure> {
    let store = match Access::open(global).await? {
        Access::Store(store) => store,
        Access::Server(server) => {
            let body = serde_json::json!({ "allow_changed": args.allow_changed });
            let path = format!("/api/runs/{}/resume", args.run);
            return server.act(global, &path, &body, &args.run, args.json).await;
        }
    };
    let state = crate::commands::load_run(&store, &args.run)?;
    if state.status().is_finished() {
        print_outcome(&state, args.json);
        return Ok(Exit::Run(state.status()));
    }
    let session = Session::for_run(global, &store, &state, args.allow_changed).await?;
    let outcome = session
        .engine(&store)
        .advance(&args.run)
        .await
        .map_err(crate::commands::engine_failure)?;
    print_outcome(&outcome.state, args.json);
    Ok(Exit::Run(outcome.status()))
}

pub async fn cancel(global: &GlobalArgs, args: CancelArgs) -> Result<Exit, Failure> {
    let store = match Access::open(global).await? {
        Access::Store(store) => store,
        Access::Server(server) => {
            let path = format!("/api/runs/{}/cancel", args.run);
            let body = serde_json::json!({});
            return server.act(global, &path, &body, &args.run, args.json).await;
        }
    };
    let outcome = baton_engine::cancel(
        &store,
        &HostClock::from_env()?,
        &args.run,
        &operator(global),
    )
    .map_err(crate::commands::engine_failure)?;
    print_outcome(&outcome.state, args.json);
    Ok(Exit::Run(outcome.status()))
}
