//! `host expire`: a gate decision whose timeout has passed takes its `on_timeout`
//! action, recorded as decided by `timeout`, and its run continues at once, as after
//! an approval. The sweep itself is the service's; this renders it.

use baton_service::{Service, Swept};

use crate::GlobalArgs;
use crate::commands::state_dir;
use crate::exit::{Exit, Failure};
use crate::serve::client::Server;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "While `host serve` runs, it applies due timeouts itself, on a timer. Without it, \
`host inbox`, `focus`, `runs`, `show`, `stats`, `approve` and `reject` apply them before they act; run \
this from cron so that they also apply when nobody runs one.\n\nExit codes: 0 done (or nothing was due), \
1 a run whose decision expired could not continue (it says why; `host resume RUN` continues it).\n\n\
Example (crontab, every 10 minutes):\n  */10 * * * * host expire"
)]
pub struct ExpireArgs {
    /// Print a JSON array with one object per run whose decisions expired
    #[arg(long)]
    pub json: bool,
}

/// `expired 01J…/review (on_timeout reject) of workflow W: the run is rejected`.
pub fn line(swept: &Swept) -> String {
    let decisions: Vec<String> = swept
        .expired
        .iter()
        .map(|e| format!("{} (on_timeout {})", e.decision, e.on_timeout.as_str()))
        .collect();
    let next = match (&swept.status, &swept.error) {
        (_, Some(problem)) => format!(
            "the run could not continue: {problem}; `host resume {}` continues it",
            swept.run
        ),
        (Some(status), None) => format!("the run is {}", status.as_str()),
        (None, None) => "the run could not continue".to_string(),
    };
    format!(
        "expired {} of workflow {}: {next}",
        decisions.join(", "),
        swept.workflow
    )
}

pub async fn expire(global: &GlobalArgs, args: ExpireArgs) -> Result<Exit, Failure> {
    let swept: Vec<Swept> = match Server::find(&state_dir(global)?) {
        Some(server) => {
            eprintln!("(through host serve at {}, pid {})", server.url, server.pid);
            server
                .json(global, http::Method::POST, "/api/expire", None)
                .await?
        }
        None => crate::commands::service(global)?.sweep().await?,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&swept).map_err(|e| Failure::Host(e.to_string()))?
        );
    } else if swept.is_empty() {
        println!("no decisions due to expire");
    } else {
        swept.iter().for_each(|s| println!("{}", line(s)));
    }
    Ok(if swept.iter().any(|s| s.error.is_some()) {
        Exit::CheckFailed
    } else {
        Exit::Success
    })
}

/// Applies due timeouts before a command acts, saying what expired on stderr.
pub async fn sweep_and_say(service: &Service) -> Result<(), Failure> {
    for swept in service.sweep().await? {
        eprintln!("{}", line(&swept));
    }
    Ok(())
}
