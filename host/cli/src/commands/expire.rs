//! `host expire`: a gate decision whose timeout has passed takes its `on_timeout`
//! action, recorded as decided by `timeout`, and its run continues at once, as after
//! an approval. The sweep itself is the service's; this renders it.

use baton_service::Swept;

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::terminal::say;

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

pub async fn expire(global: &GlobalArgs, args: ExpireArgs) -> Result<Exit, Failure> {
    let swept: Vec<Swept> = match Access::open(global).await? {
        Access::Server(server) => {
            server
                .json(global, http::Method::POST, "/api/expire", None)
                .await?
        }
        Access::Local(service) => service.expire_due().await?,
    };
    if args.json {
        say!("{}", crate::terminal::json(&swept, false));
    } else if swept.is_empty() {
        say!("no decisions due to expire");
    } else {
        swept
            .iter()
            .for_each(|s| say!("{}", crate::report::swept_line(s)));
    }
    Ok(if swept.iter().any(|s| s.error.is_some()) {
        Exit::CheckFailed
    } else {
        Exit::Success
    })
}
