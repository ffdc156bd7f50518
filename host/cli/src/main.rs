//! `host`: the Baton command line. One module per command under `commands/`; exit
//! codes are decided in `exit.rs` and nowhere else.

mod access;
mod build;
mod commands;
mod exit;
mod json_input;
mod mcp;
mod report;
mod serve;
mod terminal;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::Failure;

/// Baton: run sandboxed WebAssembly plugins, chain them into workflows, and decide
/// at approval gates.
#[derive(Debug, Parser)]
#[command(name = "host", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 success; 1 a plugin or a run failed; 2 bad usage or bad input (a \
missing or unreadable file, one that is not WebAssembly, malformed JSON, a workflow with \
problems); 3 the run waits for a decision.\n\n\
Example:\n  host invoke target/wasm32-wasip2/release/lead_scorer.wasm --input-file examples/leads.json"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Clone, Debug, clap::Args)]
pub struct GlobalArgs {
    /// Where precompiled plugins are cached [default: the user cache dir, e.g. ~/.cache/baton/components]
    #[arg(long, global = true, env = "BATON_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// The host configuration: model providers and prices [default: the user config dir, e.g. ~/.config/baton/config.toml]
    #[arg(
        long = "host-config",
        global = true,
        env = "BATON_CONFIG",
        value_name = "FILE"
    )]
    host_config: Option<PathBuf>,
    /// Where runs and decisions are kept [default: the user data dir, e.g. ~/.local/share/baton/state]
    #[arg(long, global = true, env = "BATON_STATE", value_name = "DIR")]
    state: Option<PathBuf>,
    /// Keep runs and decisions in PostgreSQL instead (postgres://USER[:PASSWORD]@HOST[:PORT]/DB), shared by every host process pointed at it
    #[arg(long, global = true, env = "BATON_STORE", value_name = "URL")]
    store: Option<String>,
    /// On a shared store: how long a run this process drives stays its own without renewal (renewed every third of it while the process lives; a killed process's runs go to a worker after it)
    #[arg(long, global = true, env = "BATON_LEASE", value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    lease: std::time::Duration,
    /// Compile plugins on every load instead of using the cache
    #[arg(long, global = true)]
    no_cache: bool,
    /// Show more of what the host does (cache hits, timings, guest backtraces)
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Your name in the audit trail, for the runs you start and the decisions you make [default: the OS user]
    #[arg(
        long = "as",
        global = true,
        env = "BATON_OPERATOR",
        value_name = "NAME"
    )]
    operator: Option<String>,
    /// Whether the command applies due gate timeouts before it acts (set in `main`).
    #[arg(skip)]
    sweep_first: bool,
    /// Whether the command only reads what the store holds, and so may open a store
    /// that lost data it had acknowledged (set in `main`).
    #[arg(skip)]
    salvage: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with plugin components
    #[command(
        subcommand,
        after_help = "Examples:\n  host plugin inspect target/wasm32-wasip2/release/lead_scorer.wasm\n  host plugin new word-count --lang python"
    )]
    Plugin(PluginCommand),
    /// Call a plugin once with a JSON input and print its output
    Invoke(commands::invoke::Args),
    /// Run a workflow until it completes or waits for decisions
    Run(commands::run::Args),
    /// List runs, newest first
    Runs(commands::runs::RunsArgs),
    /// Show a run: its steps (status, time, errors), decisions and what waits; outputs with --step or --json
    Show(commands::runs::ShowArgs),
    /// List pending decisions, critical first, then oldest first
    Inbox(commands::runs::InboxArgs),
    /// Decide pending decisions one at a time, critical first, in a terminal view
    Focus(commands::focus::FocusArgs),
    /// Approve a decision (the default, an alternative, or your edit); the run continues at once
    Approve(commands::decide::ApproveArgs),
    /// Reject a decision; that branch of the run ends
    Reject(commands::decide::RejectArgs),
    /// Continue a run after a crash or restart
    Resume(commands::resume::ResumeArgs),
    /// Cancel a run that has not finished
    Cancel(commands::resume::CancelArgs),
    /// What past decisions teach: per gate outcomes and waits, and where a gate could decide by itself
    Stats(commands::stats::StatsArgs),
    /// Review a decision the gate auto-approved (a spot check): agree, or say what you would have done
    SpotCheck(commands::learn::SpotCheckArgs),
    /// Record what happened after a decision: good or bad, and why
    Outcome(commands::learn::OutcomeArgs),
    /// The auto-approval rules spot checks suspended; resume one
    #[command(subcommand)]
    AutoApproval(commands::learn::AutoApprovalCommand),
    /// Apply every gate timeout that has passed (for cron; `host serve` and the commands that show decisions also do it)
    Expire(commands::expire::ExpireArgs),
    /// Print or export a run's log with its hash chain, or verify every chain
    Audit(commands::audit::AuditArgs),
    /// Back up, restore or move the state store: export it as JSON Lines, import an export
    #[command(subcommand)]
    Store(commands::store::StoreCommand),
    /// Serve the workflows and plugins given as MCP tools on stdin/stdout, for an agent's client
    Mcp(commands::mcp::McpArgs),
    /// Serve the web inbox and the JSON API; while it runs, the other commands go through it
    Serve(serve::ServeArgs),
    /// Drive runs of a shared store (PostgreSQL), on any machine: claim runnable runs under a lease, run them to their next gate or end
    Worker(commands::worker::WorkerArgs),
    /// Measure a workflow on this machine: plugin loads, runs, durable runs per second, memory
    Bench(commands::bench::Args),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Show what a plugin is: name, version, contract, capabilities, schemas, imports and exports
    Inspect(commands::inspect::Args),
    /// Create a plugin folder that builds and runs as created: Rust, Python or JavaScript
    New(commands::new::Args),
}

fn main() -> ExitCode {
    restore_sigpipe();
    let mut cli = Cli::parse();
    // Who applies gate timeouts, and when: `host serve` on a timer while it holds the
    // store; `host expire` when asked (cron); and, when no server runs, the commands
    // that show or decide pending decisions, first, so that nothing they show or
    // decide has already expired. Others (`host run`, `resume`, `cancel`, `audit`)
    // never load another run's workflow as a side effect.
    cli.global.sweep_first = matches!(
        cli.command,
        Command::Inbox(_)
            | Command::Focus(_)
            | Command::Runs(_)
            | Command::Show(_)
            | Command::Stats(_)
            | Command::Approve(_)
            | Command::Reject(_)
    );
    cli.global.salvage = matches!(
        &cli.command,
        Command::Audit(args) if args.verify
    ) || matches!(
        cli.command,
        Command::Store(commands::store::StoreCommand::Export(_))
    );
    terminal::init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return exit::report(
                Failure::Host(format!("cannot start the async runtime: {e}")),
                false,
            );
        }
    };
    let json = cli.json_output();
    // The shared store: --store, BATON_STORE, or the host configuration's [store].
    if cli.global.store.is_none() && !matches!(cli.command, Command::Plugin(_) | Command::Invoke(_))
    {
        let configured = baton_service::config::HostConfig::load(cli.global.host_config.as_deref())
            .and_then(|config| config.store_url());
        match configured {
            Ok(url) => cli.global.store = url,
            Err(e) => return exit::report(e.into(), json),
        }
    }
    let global = &cli.global;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plugin(PluginCommand::Inspect(args)) => {
                commands::inspect::run(global, args).await
            }
            Command::Plugin(PluginCommand::New(args)) => commands::new::run(args),
            Command::Invoke(args) => commands::invoke::run(global, args).await,
            Command::Run(args) => commands::run::run(global, args).await,
            Command::Audit(args) => commands::audit::audit(global, args).await,
            Command::Runs(args) => commands::runs::runs(global, args).await,
            Command::Show(args) => commands::runs::show(global, args).await,
            Command::Inbox(args) => commands::runs::inbox(global, args).await,
            Command::Expire(args) => commands::expire::expire(global, args).await,
            Command::Stats(args) => commands::stats::stats_command(global, args).await,
            Command::SpotCheck(args) => commands::learn::spot_check(global, args).await,
            Command::Outcome(args) => commands::learn::outcome(global, args).await,
            Command::AutoApproval(command) => commands::learn::auto_approval(global, command).await,
            Command::Focus(args) => commands::focus::focus(global, args).await,
            Command::Approve(args) => commands::decide::approve(global, args).await,
            Command::Reject(args) => commands::decide::reject(global, args).await,
            Command::Resume(args) => commands::resume::resume(global, args).await,
            Command::Cancel(args) => commands::resume::cancel(global, args).await,
            Command::Bench(args) => commands::bench::bench(global, args).await,
            Command::Store(command) => commands::store::store(global, command).await,
            Command::Serve(args) => serve::serve(global, args).await,
            Command::Mcp(args) => commands::mcp::mcp(global, args).await,
            Command::Worker(args) => commands::worker::worker(global, args).await,
        }
    });
    match result {
        Ok(exit) => exit::code(exit),
        Err(failure) => exit::report(failure, json),
    }
}

impl Cli {
    fn json_output(&self) -> bool {
        match &self.command {
            Command::Plugin(PluginCommand::Inspect(args)) => args.json,
            Command::Invoke(args) => args.json,
            Command::Run(args) => args.json,
            Command::Audit(args) => args.json,
            Command::Expire(args) => args.json,
            Command::Stats(args) => args.json,
            Command::SpotCheck(args) => args.json,
            Command::Outcome(args) => args.json,
            Command::AutoApproval(commands::learn::AutoApprovalCommand::List(args)) => args.json,
            Command::AutoApproval(commands::learn::AutoApprovalCommand::Resume(args)) => args.json,
            Command::Focus(_)
            | Command::Plugin(PluginCommand::New(_))
            | Command::Bench(_)
            | Command::Store(_)
            | Command::Worker(_)
            | Command::Serve(_)
            | Command::Mcp(_) => false,
            Command::Runs(args) => args.json,
            Command::Show(args) => args.json,
            Command::Inbox(args) => args.json,
            Command::Approve(args) => args.json,
            Command::Reject(args) => args.json,
            Command::Resume(args) => args.json,
            Command::Cancel(args) => args.json,
        }
    }
}

/// Rust ignores SIGPIPE, so `host inbox | head` would panic on the closed pipe;
/// restore the default so the host ends quietly there, as other Unix tools do.
#[allow(unsafe_code)]
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; resetting a
    // signal's disposition to its default touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
