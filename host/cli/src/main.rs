//! `host`: the Baton command line. One module per command under `commands/`; exit
//! codes are decided in `exit.rs` and nowhere else.

mod commands;
mod exit;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::Failure;

/// Baton: run sandboxed WebAssembly plugins, chain them into workflows, and decide
/// at approval gates.
#[derive(Debug, Parser)]
#[command(name = "host", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 success, 1 the plugin failed, 2 bad usage or bad input.\n\n\
Example:\n  host invoke target/wasm32-wasip2/release/lead_scorer.wasm --input-file examples/leads.json"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
struct GlobalArgs {
    /// Where precompiled plugins are cached [default: the user cache dir, e.g. ~/.cache/baton/components]
    #[arg(long, global = true, env = "BATON_CACHE_DIR", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile plugins on every load instead of using the cache
    #[arg(long, global = true)]
    no_cache: bool,
    /// Show more of what the host does (cache hits, timings, guest backtraces)
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with plugin components
    #[command(
        subcommand,
        after_help = "Example:\n  host plugin inspect target/wasm32-wasip2/release/lead_scorer.wasm"
    )]
    Plugin(PluginCommand),
    /// Call a plugin once with a JSON input and print its output
    Invoke(commands::invoke::Args),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Show what a plugin is: name, version, contract, capabilities, schemas, imports and exports
    Inspect(commands::inspect::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    terminal::init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plugin(PluginCommand::Inspect(args)) => {
                commands::inspect::run(&cli.global, args).await
            }
            Command::Invoke(args) => commands::invoke::run(&cli.global, args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => exit::report(failure, json),
    }
}

impl Cli {
    fn json_output(&self) -> bool {
        match &self.command {
            Command::Plugin(PluginCommand::Inspect(args)) => args.json,
            Command::Invoke(args) => args.json,
        }
    }
}
