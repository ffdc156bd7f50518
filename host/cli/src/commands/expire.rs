//! `host expire`, and the sweep every command makes when it opens the store: a gate
//! decision whose timeout has passed takes its `on_timeout` action, recorded as
//! decided by `timeout`, and its run continues at once, as after an approval.

use baton_core::{
    Clock, DecisionId, DecisionOutcome, OnTimeout, RunEvent, RunId, RunState, RunStatus, RunStore,
};
use serde_json::{Value, json};

use crate::GlobalArgs;
use crate::exit::{Exit, Failure};
use crate::session::{HostClock, Session, Store, open_store_as_is};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Every host command applies due timeouts when it opens the state store; run this from cron \
so that they also apply when nobody runs one.\n\nExit codes: 0 done (or nothing was due), 1 a run whose \
decision expired could not continue (it says why; `host resume RUN` continues it).\n\n\
Example (crontab, every 10 minutes):\n  */10 * * * * host expire"
)]
pub struct ExpireArgs {
    /// Print a JSON array with one object per run whose decisions expired
    #[arg(long)]
    pub json: bool,
}

/// One run whose decisions expired, and where it went next.
#[derive(Debug)]
pub struct Swept {
    run: RunId,
    workflow: String,
    expired: Vec<(DecisionId, OnTimeout)>,
    /// Where the run stands after continuing, or why it could not continue.
    continued: Result<RunStatus, String>,
}

impl Swept {
    /// `expired 01J…/review (on_timeout reject): the run was rejected`.
    pub fn line(&self) -> String {
        let decisions: Vec<String> = self
            .expired
            .iter()
            .map(|(id, action)| format!("{id} (on_timeout {})", action.as_str()))
            .collect();
        let next = match &self.continued {
            Ok(status) => format!("the run is {}", status.as_str()),
            Err(problem) => format!(
                "the run could not continue: {problem}; `host resume {}` continues it",
                self.run
            ),
        };
        format!(
            "expired {} of workflow {}: {next}",
            decisions.join(", "),
            self.workflow
        )
    }

    pub fn run(&self) -> &RunId {
        &self.run
    }

    /// Read back from [`Swept::json`] (as `host serve` answers `host expire`).
    fn from_json(value: &Value) -> Option<Swept> {
        let expired = value["expired"]
            .as_array()?
            .iter()
            .map(|e| {
                let id = e["decision"].as_str()?.parse().ok()?;
                let action = match e["on_timeout"].as_str()? {
                    "approve_default" => OnTimeout::ApproveDefault,
                    _ => OnTimeout::Reject,
                };
                Some((id, action))
            })
            .collect::<Option<Vec<_>>>()?;
        let continued = match (value["status"].as_str(), value["error"].as_str()) {
            (_, Some(error)) => Err(error.to_string()),
            (Some(status), None) => Ok(serde_json::from_value(json!(status)).ok()?),
            (None, None) => return None,
        };
        Some(Swept {
            run: value["run"].as_str()?.parse().ok()?,
            workflow: value["workflow"].as_str()?.to_string(),
            expired,
            continued,
        })
    }

    pub fn json(&self) -> Value {
        json!({
            "run": self.run.to_string(),
            "workflow": self.workflow,
            "expired": self.expired.iter().map(|(id, action)| json!({
                "decision": id.to_string(),
                "on_timeout": action.as_str(),
            })).collect::<Vec<_>>(),
            "status": self.continued.as_ref().ok().map(|s| s.as_str()),
            "error": self.continued.as_ref().err(),
        })
    }
}

pub async fn expire(global: &GlobalArgs, args: ExpireArgs) -> Result<Exit, Failure> {
    let swept = match crate::serve::client::Server::find(&crate::session::state_dir(global)?) {
        Some(server) => {
            eprintln!("(through host serve at {}, pid {})", server.url, server.pid);
            let swept: Vec<Value> = server
                .json(global, http::Method::POST, "/api/expire", None)
                .await?;
            swept.iter().filter_map(Swept::from_json).collect()
        }
        None => sweep(global, &open_store_as_is(global)?).await?,
    };
    if args.json {
        println!("{}", Value::Array(swept.iter().map(Swept::json).collect()));
    } else if swept.is_empty() {
        println!("no decisions due to expire");
    } else {
        swept.iter().for_each(|s| println!("{}", s.line()));
    }
    Ok(if swept.iter().any(|s| s.continued.is_err()) {
        Exit::CheckFailed
    } else {
        Exit::Success
    })
}

/// Applies every timeout that has passed: records the expiries of each due run
/// (durably, needing no workflow), then continues the run on its recorded workflow.
/// A run that cannot continue (its workflow moved or changed) keeps its expiries and
/// says why; the sweep goes on with the next.
pub async fn sweep(global: &GlobalArgs, store: &Store) -> Result<Vec<Swept>, Failure> {
    let clock = HostClock::from_env()?;
    let now = clock.now();
    let due: Vec<RunId> = store
        .summaries()
        .map_err(|e| Failure::Host(e.to_string()))?
        .into_iter()
        .filter(|s| s.status == RunStatus::Waiting && s.expires_at.is_some_and(|at| at <= now))
        .map(|s| s.id)
        .collect();
    let mut swept = Vec::new();
    for run in due {
        let outcome =
            baton_engine::expire(store, &clock, &run).map_err(crate::commands::engine_failure)?;
        let expired: Vec<(DecisionId, OnTimeout)> = outcome
            .events
            .iter()
            .filter_map(|event| match event {
                RunEvent::DecisionMade {
                    id,
                    outcome: DecisionOutcome::Expired { action },
                    ..
                } => Some((id.clone(), *action)),
                _ => None,
            })
            .collect();
        if expired.is_empty() {
            continue;
        }
        swept.push(Swept {
            run,
            workflow: outcome.state.workflow.clone(),
            expired,
            continued: continue_run(global, store, &outcome.state)
                .await
                .map_err(|failure| failure.to_string()),
        });
    }
    Ok(swept)
}

/// Continues a run on the code it started with, as `host resume` would.
async fn continue_run(
    global: &GlobalArgs,
    store: &Store,
    state: &RunState,
) -> Result<RunStatus, Failure> {
    let session = Session::for_run(global, store, state, false).await?;
    let outcome = session
        .engine(store)
        .advance(&state.id)
        .await
        .map_err(crate::commands::engine_failure)?;
    Ok(outcome.status())
}
