//! `host audit`: a run's log as evidence, with the hash chain that makes tampering
//! visible, and `--verify` to check every chain in the store.

use baton_core::RunId;
use baton_engine::format_time;
use baton_store::AuditEntry;
use serde_json::Value;

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::terminal::{escape_control, say, shorten};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
host audit 01JD3...            the run's events, oldest first, each with its hash\n  \
host audit 01JD3... --jsonl    export them, one JSON object per line\n  \
host audit --verify            check every chain, and that the store holds all it acknowledged; exit 1 says what is wrong")]
pub struct AuditArgs {
    /// The run whose log to print (not with --verify)
    #[arg(required_unless_present = "verify", conflicts_with = "verify")]
    #[arg(value_parser = super::run_id)]
    run: Option<RunId>,
    /// One JSON object per event: version, prev (the hash it links to), hash, event
    #[arg(long)]
    jsonl: bool,
    /// Check every run's hash chain instead of printing one
    #[arg(long)]
    pub verify: bool,
    /// Print one JSON object instead of text (with --verify)
    #[arg(long)]
    pub json: bool,
}

pub async fn audit(global: &GlobalArgs, args: AuditArgs) -> Result<Exit, Failure> {
    match Access::open(global).await? {
        Access::Local(service) => match &args.run {
            None => report_verified(service.verify()?, args.json),
            Some(run) => {
                print_entries(&service.audit(run)?, args.jsonl);
                Ok(Exit::Success)
            }
        },
        Access::Server(server) => match &args.run {
            None => report_verified(
                server
                    .json(global, http::Method::GET, "/api/audit/verify", None)
                    .await?,
                args.json,
            ),
            Some(run) => {
                let text = server
                    .request(
                        global,
                        http::Method::GET,
                        &format!("/api/runs/{run}/audit"),
                        None,
                    )
                    .await?;
                let entries = String::from_utf8_lossy(&text)
                    .lines()
                    .map(|line| {
                        let value: Value = serde_json::from_str(line).map_err(|e| {
                            Failure::Host(format!("an audit line from the server: {e}"))
                        })?;
                        let by = value["by"].as_str().unwrap_or_default().to_string();
                        let entry = serde_json::from_value(value).map_err(|e| {
                            Failure::Host(format!("an audit line from the server: {e}"))
                        })?;
                        Ok((entry, by))
                    })
                    .collect::<Result<Vec<_>, Failure>>()?;
                print_entries(&entries, args.jsonl);
                Ok(Exit::Success)
            }
        },
    }
}

fn print_entries(entries: &[(AuditEntry, String)], jsonl: bool) {
    for (entry, by) in entries {
        if jsonl {
            say!(
                "{}",
                crate::terminal::json(&crate::report::audit_entry_json(entry, by), false)
            );
        } else {
            say!("{}", escape_control(&line(entry, by)));
        }
    }
}

/// `   3  2026-11-21T22:14:03Z  step_completed  plugin:echo  {"key":...}  9f2c4e1a0b7d`
fn line(entry: &AuditEntry, by: &str) -> String {
    let mut fields = serde_json::to_value(&entry.event).unwrap_or(Value::Null);
    let name = fields
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    if let Some(object) = fields.as_object_mut() {
        object.remove("event");
        object.remove("at");
    }
    let detail = shorten(&fields.to_string(), 97);
    let link = match &entry.prev {
        Some(_) => entry.hash[..12].to_string(),
        None => "(unchained)".to_string(),
    };
    format!(
        "{:>4}  {}  {name:<15} {by:<16} {detail}  {link}",
        entry.version,
        format_time(entry.event.at())
    )
}

fn report_verified(verified: baton_store::Verified, json: bool) -> Result<Exit, Failure> {
    if json {
        say!("{}", crate::terminal::json(&verified, false));
    } else {
        for broken in &verified.broken {
            say!(
                "run {}: broken at entry {}: {}",
                broken.run,
                broken.version,
                broken.reason
            );
        }
        let unchained = match verified.unchained {
            0 => String::new(),
            n => format!(" ({n} entries written before audit chains could not be checked)"),
        };
        let snapshots = match verified.snapshots {
            0 => String::new(),
            n => format!("; the {n} snapshots kept to read long runs match their logs"),
        };
        if verified.broken.is_empty() {
            say!(
                "verified {} runs, {} events: every chain is intact{unchained}{snapshots}",
                verified.runs,
                verified.events
            );
        } else {
            say!(
                "{} of {} runs have a broken chain: their logs were changed after they were written, or cannot be read{unchained}",
                verified.broken.len(),
                verified.runs
            );
        }
        for run in &verified.snapshots_rebuilt {
            say!(
                "run {run}: the snapshot kept to read it quickly did not match what its log folds to; it was rebuilt from the log"
            );
        }
        if let Some(rebuilt) = &verified.inbox_rebuilt {
            say!("{rebuilt}");
        }
        if let Some(loss) = &verified.loss {
            say!("{loss}");
        }
    }
    if verified.intact() {
        Ok(Exit::Success)
    } else {
        Ok(Exit::CheckFailed)
    }
}
