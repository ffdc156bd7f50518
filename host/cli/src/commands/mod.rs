//! One module per command, and what they share: opening the service on the state
//! store, the operator, and turning the service's errors into the command's words.

pub mod audit;
pub mod bench;
pub mod decide;
pub mod expire;
pub mod focus;
pub mod inspect;
pub mod invoke;
pub mod new;
pub mod resume;
pub mod run;
pub mod runs;
pub mod stats;

use std::path::PathBuf;

use baton_engine::EngineError;
use baton_service::{HostClock, LoadOptions, Loader, Service, ServiceError, ServiceOptions, Store};

use crate::GlobalArgs;
use crate::exit::Failure;
use crate::serve::client::Server;

/// Where the state store lives: `--state DIR`, `BATON_STATE`, or the user data directory.
pub fn state_dir(global: &GlobalArgs) -> Result<PathBuf, Failure> {
    match &global.state {
        Some(dir) => Ok(dir.clone()),
        None => dirs::data_dir()
            .map(|d| d.join("baton").join("state"))
            .ok_or_else(|| {
                Failure::Usage(
                    "cannot find a data directory for the state store; pass --state DIR".into(),
                )
            }),
    }
}

/// Who is operating: `--as NAME` (or `BATON_OPERATOR`), else the OS user.
pub fn operator(global: &GlobalArgs) -> String {
    global
        .operator
        .clone()
        .filter(|name| !name.trim().is_empty())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".into())
}

/// Where plugins are cached and which host configuration applies.
pub fn load_options(global: &GlobalArgs) -> LoadOptions {
    LoadOptions {
        cache_dir: if global.no_cache {
            None
        } else {
            global.cache_dir.clone().or_else(default_cache_dir)
        },
        host_config: global.host_config.clone(),
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("baton").join("components"))
}

/// Loads workflows without a store (`--dry-run`, `host plugin inspect`).
pub fn loader(global: &GlobalArgs) -> Loader {
    Loader::new(load_options(global))
}

/// The service on the state store in [`state_dir`], with progress lines on a
/// terminal. When `host serve` holds the store, says so and how to reach it, rather
/// than that the store is locked.
pub fn service(global: &GlobalArgs) -> Result<Service, Failure> {
    let dir = state_dir(global)?;
    let store = Store::open_dir(&dir).map_err(|e| match e {
        ServiceError::StoreBusy { .. } => match Server::find(&dir) {
            Some(server) => Failure::Usage(format!(
                "host serve ({}, pid {}) holds the state store {}; decide in the web inbox at {} (or with host approve, which goes through it), or stop the server first",
                server.url, server.pid, dir.display(), server.url
            )),
            None => Failure::Usage(format!("{e}, or pass --state DIR to use another store")),
        },
        other => other.into(),
    })?;
    Ok(Service::new(store, service_options(global)?).observe(crate::report::progress()))
}

/// The service's options from the global flags and the environment.
pub fn service_options(global: &GlobalArgs) -> Result<ServiceOptions, Failure> {
    Ok(ServiceOptions {
        load: load_options(global),
        operator: operator(global),
        clock: HostClock::from_env()?,
    })
}

/// Says on stderr which plugins this load compiled (slow the first time) and what
/// the operator should know about the workflow's grants.
pub fn report_load(loaded: &baton_service::LoadedWorkflow) {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        for compiled in &loaded.compiled {
            eprintln!(
                "  .. compiled plugin {} in {:.1?} (cached for next time)",
                compiled.plugin, compiled.time
            );
        }
    }
    for note in &loaded.notes {
        eprintln!("{note}");
    }
}

/// A service error in the command line's words: how the user goes on.
pub fn failure(error: ServiceError) -> Failure {
    match error {
        ServiceError::Invalid(message) | ServiceError::StoreBusy { message } => {
            Failure::Usage(message)
        }
        ServiceError::ChangedCode { .. } => Failure::Usage(format!(
            "{error}; pass --allow-changed to continue on the new code"
        )),
        ServiceError::Engine(error) => engine_failure(error),
        ServiceError::Host(message) => Failure::Host(message),
    }
}

/// Engine errors that the user caused (a wrong id, a second decision, a bad edit)
/// are usage errors, with the command that helps; the rest are the host's.
pub fn engine_failure(error: EngineError) -> Failure {
    let hint = match &error {
        EngineError::Store(baton_core::StoreError::Io(_)) | EngineError::EmptyRun { .. } => {
            return Failure::Host(error.to_string());
        }
        EngineError::Store(baton_core::StoreError::NoSuchRun(_)) => "; `host runs` lists them",
        EngineError::NoSuchDecision { .. } => "; `host inbox` lists the pending ones",
        EngineError::NotAnApprover { .. } => "; ask one of them, or act as one with --as",
        _ => "",
    };
    Failure::Usage(format!("{error}{hint}"))
}
