//! `host store export` and `host store import`: backups, restores and moves, in the
//! format of `docs/store-export.md`. An export goes through a running `host serve`
//! (and is consistent while it works); an import fills an empty store.

use std::io::Write;
use std::path::{Path, PathBuf};

use baton_store::Exported;

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::terminal::{say, tell};

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Write every run with its log and hash chain, and the plugins' kv data, as JSON Lines (a backup, or a move to another store)
    #[command(
        after_help = "The export is consistent while runs continue (also through a running \
`host serve`): each run is written as it stood at one moment, with its whole chain. A store that \
lost data or has damaged runs can still be exported: the damaged runs are named and left out.\n\n\
Exit codes: 0 written, 1 written without the runs it names (their logs are damaged), 2 bad usage.\n\n\
Examples:\n  host store export --to backup-$(date +%F).jsonl\n  host store export | gzip > backup.jsonl.gz"
    )]
    Export(ExportArgs),
    /// Read an export into an empty store, checking every run's hash chain first
    #[command(
        after_help = "The store (--state DIR) must be empty and no `host serve` may hold it. \
The whole file is checked first: a line that does not parse, a chain that does not link or a file \
cut short is refused, naming its line, and nothing is written.\n\n\
Exit codes: 0 imported, 2 the file or the store cannot be used (the message says why).\n\n\
Example:\n  host --state ~/baton-restored store import backup.jsonl"
    )]
    Import(ImportArgs),
    /// Bring a PostgreSQL store's schema up to date (every command also does, when it connects)
    #[command(
        after_help = "Migrations are versioned and applied in order, each in a transaction, under an advisory lock, so that hosts starting together apply each once. A database whose schema is newer than this host knows is refused.

Example:
  host store migrate --store postgres://baton@db.internal/baton"
    )]
    Migrate,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write to FILE (written beside it, then moved into place) instead of standard output
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The export to read
    pub file: PathBuf,
}

pub async fn store(global: &GlobalArgs, command: StoreCommand) -> Result<Exit, Failure> {
    match command {
        StoreCommand::Export(args) => export(global, args).await,
        StoreCommand::Import(args) => import(global, args).await,
        StoreCommand::Migrate => migrate(global),
    }
}

async fn export(global: &GlobalArgs, args: ExportArgs) -> Result<Exit, Failure> {
    if args.to.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(Failure::Usage(
            "an export is JSON Lines for a file: pass --to FILE, or send standard output to a file or a pipe".into(),
        ));
    }
    let exported = match Access::open(global).await? {
        Access::Server(server) => {
            let body = server
                .request(global, http::Method::GET, "/api/store/export", None)
                .await?;
            let exported = ending(&body).ok_or_else(|| {
                Failure::Host(format!(
                    "host serve at {} ended the export before its last line; nothing was written. Try again; `host audit --verify` checks the store",
                    server.url
                ))
            })?;
            deliver(args.to.as_deref(), &mut |out| {
                out.write_all(&body)
                    .map_err(|e| Failure::Host(format!("cannot write the export: {e}")))?;
                Ok(exported.clone())
            })?
        }
        Access::Local(service) => deliver(args.to.as_deref(), &mut |out| Ok(service.export(out)?))?,
    };
    let to = args.to.as_ref().map_or_else(
        || "standard output".to_string(),
        |p| p.display().to_string(),
    );
    tell!(
        "exported {} runs ({} events) and {} plugin kv entries to {to}",
        exported.runs,
        exported.events,
        exported.kv
    );
    if exported.skipped.is_empty() {
        return Ok(Exit::Success);
    }
    for (run, why) in &exported.skipped {
        tell!("left out run {run}: {why}");
    }
    tell!(
        "{} damaged runs were left out; everything else is in the export (`host audit --verify` says more)",
        exported.skipped.len()
    );
    Ok(Exit::CheckFailed)
}

/// What an export's last line says it holds.
fn ending(body: &[u8]) -> Option<Exported> {
    let last = body
        .split(|b| *b == b'\n')
        .rev()
        .find(|line| !line.is_empty())?;
    let value: serde_json::Value = serde_json::from_slice(last).ok()?;
    serde_json::from_value(value.get("end")?.clone()).ok()
}

/// Writes to `to` whole or not at all (a file beside it, synced, then renamed over
/// it), or to standard output.
fn deliver(
    to: Option<&Path>,
    write: &mut dyn FnMut(&mut dyn Write) -> Result<Exported, Failure>,
) -> Result<Exported, Failure> {
    let Some(to) = to else {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let exported = write(&mut out)?;
        out.flush()
            .map_err(|e| Failure::Host(format!("cannot write the export: {e}")))?;
        return Ok(exported);
    };
    let cannot = |e: std::io::Error| Failure::Usage(format!("cannot write {}: {e}", to.display()));
    let dir = match to.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    let mut out = std::io::BufWriter::new(file);
    let exported = write(&mut out)?;
    let file = out.into_inner().map_err(|e| cannot(e.into_error()))?;
    file.as_file().sync_all().map_err(cannot)?;
    file.persist(to).map_err(|e| cannot(e.error))?;
    Ok(exported)
}

async fn import(global: &GlobalArgs, args: ImportArgs) -> Result<Exit, Failure> {
    let service = match Access::open(global).await? {
        Access::Local(service) => service,
        Access::Server(server) => {
            return Err(Failure::Usage(format!(
                "host serve ({}, pid {}) holds this state store; import into an empty store no server holds: pass --state NEW_DIR or --store with an empty database (or stop the server)",
                server.url, server.pid
            )));
        }
    };
    let imported = service.import(&args.file)?;
    say!(
        "imported {} runs ({} events) and {} plugin kv entries from {}; every chain links",
        imported.runs,
        imported.events,
        imported.kv,
        args.file.display()
    );
    for (run, why) in &imported.skipped {
        tell!("note: the export had left out run {run}: {why}");
    }
    Ok(Exit::Success)
}

fn migrate(global: &GlobalArgs) -> Result<Exit, Failure> {
    if global.store.is_none() {
        return Err(Failure::Usage(
            "the embedded store has no schema to migrate; pass --store postgres://… (or set BATON_STORE)".into(),
        ));
    }
    let service = crate::access::service(global)?;
    let store = service.store();
    if let Some((applied, version)) = store.schema() {
        match applied.as_slice() {
            [] => say!(
                "the PostgreSQL store at {} is up to date (schema version {version})",
                store.location()
            ),
            applied => say!(
                "applied migration{} {} to the PostgreSQL store at {}; schema version {version}",
                if applied.len() == 1 { "" } else { "s" },
                applied
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                store.location()
            ),
        }
    }
    Ok(Exit::Success)
}
