//! Where the `host` commands and `host serve` reach the runs: the service on the
//! state store (opened here, with the operator and the options the flags give), or a
//! running `host serve`, found through the `server.json` it writes in the state
//! directory and asked over HTTP. Also the service's errors in the command line's
//! words.
//!
//! A command authenticates with the token in that file (readable by its owner alone,
//! who could open the store directly if no server ran) and names its operator as
//! `--as` or the OS user, as it would on the store; or with `BATON_TOKEN`, an
//! operator's own token, when set.

use std::path::{Path, PathBuf};
use std::time::Duration;

use baton_core::{DecisionRecord, RunEvent, RunId, RunState, RunSummary};
use baton_service::{
    HostClock, LoadOptions, Loader, Purpose, Service, ServiceError, ServiceOptions, Store, Swept,
};
use bytes::Bytes;
use serde_json::Value;

use crate::GlobalArgs;
use crate::exit::Failure;
use crate::terminal::tell;

/// The name of the file that tells the `host` commands where the server is.
pub const SERVER_FILE: &str = "server.json";
/// Names the operator a request from the server's own user acts for.
pub const OPERATOR_HEADER: &str = "x-baton-operator";

/// How long a command waits for the server: a decision may run a slow plugin.
const TIMEOUT: Duration = Duration::from_secs(600);
/// How long a command waits for a server to show it is there.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest answer read (a long run's log).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

/// A running `host serve`.
#[derive(Debug)]
pub struct Server {
    pub url: url::Url,
    pub pid: u32,
    token: String,
}

impl Server {
    /// The server that holds the store in `dir`, if one is running.
    pub fn find(dir: &Path) -> Option<Server> {
        let text = std::fs::read_to_string(dir.join(SERVER_FILE)).ok()?;
        let value: Value = serde_json::from_str(&text).ok()?;
        let pid = u32::try_from(value["pid"].as_u64()?).ok()?;
        if !alive(pid) {
            // Left behind by a server that was killed; the store is free.
            return None;
        }
        Some(Server {
            url: value["url"].as_str()?.parse().ok()?,
            pid,
            token: value["token"].as_str()?.to_string(),
        })
    }

    /// Whether the server `server.json` names is really there: it answers, quickly,
    /// to the token it wrote (a pid reused after a reboot, or a server that hangs,
    /// does not).
    pub async fn answers(&self, global: &GlobalArgs) -> Result<(), String> {
        let headers = [
            ("authorization", format!("Bearer {}", self.token)),
            (OPERATOR_HEADER, operator(global)),
        ];
        let request = (http::Method::GET, "/api/whoami", Bytes::new());
        match self.exchange(&headers, request, CHECK_TIMEOUT).await? {
            (status, _) if status.is_success() => Ok(()),
            (status, _) => Err(format!("it answered {status} to its own token")),
        }
    }

    /// Sends a request; a refusal becomes the command's error with the server's words.
    pub async fn request(
        &self,
        global: &GlobalArgs,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Bytes, Failure> {
        let headers = match std::env::var("BATON_TOKEN") {
            Ok(token) if !token.trim().is_empty() => {
                vec![("authorization", format!("Bearer {}", token.trim()))]
            }
            _ => vec![
                ("authorization", format!("Bearer {}", self.token)),
                (OPERATOR_HEADER, operator(global)),
            ],
        };
        let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let (status, answer) = self
            .exchange(&headers, (method, path, body), TIMEOUT)
            .await
            .map_err(|e| {
                Failure::Host(format!(
                    "host serve at {} (pid {}): {e}",
                    self.url, self.pid
                ))
            })?;
        if status.is_success() {
            return Ok(answer);
        }
        let message = serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&answer).into_owned());
        Err(if status.is_server_error() {
            Failure::Host(message)
        } else {
            Failure::Usage(message)
        })
    }

    /// One request to the server: (method, path, body), every stage under `timeout`.
    async fn exchange(
        &self,
        headers: &[(&'static str, String)],
        (method, path, body): (http::Method, &str, Bytes),
        timeout: Duration,
    ) -> Result<(http::StatusCode, Bytes), String> {
        let url = self.url.join(path).map_err(|e| format!("{path}: {e}"))?;
        let (status, _, answer) =
            baton_runtime::outbound::send(baton_runtime::outbound::HostRequest {
                method,
                url: &url,
                headers,
                body,
                timeout,
                max_body: MAX_ANSWER,
            })
            .await?;
        Ok((status, answer))
    }

    /// Asks the server to act on `run` (decide, resume, cancel); returns where the
    /// run stands after.
    pub async fn act<T: serde::Serialize>(
        self,
        global: &GlobalArgs,
        path: &str,
        body: &T,
        run: &RunId,
    ) -> Result<RunState, Failure> {
        let body = serde_json::to_value(body).map_err(|e| Failure::Host(e.to_string()))?;
        self.request(global, http::Method::POST, path, Some(&body))
            .await?;
        Access::Server(self).load_run(global, run).await
    }

    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        global: &GlobalArgs,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, Failure> {
        let answer = self.request(global, method, path, body).await?;
        serde_json::from_slice(&answer).map_err(|e| {
            Failure::Host(format!(
                "host serve at {} answered {path} with something unexpected: {e}",
                self.url
            ))
        })
    }
}

#[allow(unsafe_code)]
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
        let result = unsafe { libc::kill(pid, 0) };
        result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Where a command reads and changes runs: the service on the store itself, or the
/// server holding the store.
pub enum Access {
    Local(Box<Service>),
    Server(Server),
}

impl Access {
    /// The running server when there is one (saying so on stderr), else the service
    /// on the store; with `global.sweep_first`, due timeouts are applied first.
    pub async fn open(global: &GlobalArgs) -> Result<Access, Failure> {
        let dir = state_dir(global)?;
        let mut service = None;
        if let Some(server) = Server::find(&dir) {
            match server.answers(global).await {
                Ok(()) => {
                    tell!("(through host serve at {}, pid {})", server.url, server.pid);
                    return Ok(Access::Server(server));
                }
                Err(why) => {
                    // Not the server it names. If the store is free, no server holds
                    // it: the file is stale, and the store is used directly.
                    let file = dir.join(SERVER_FILE);
                    let opened = service_on(global, &dir).map_err(|_| {
                        Failure::Usage(format!(
                            "{} names host serve at {} (pid {}), which does not answer ({why}), and another process holds the state store {}; stop that process, or if no host serve runs, remove {}",
                            file.display(),
                            server.url,
                            server.pid,
                            dir.display(),
                            file.display()
                        ))
                    })?;
                    let _ = std::fs::remove_file(&file);
                    tell!(
                        "note: {} named host serve at {} (pid {}), which does not answer ({why}); the state store was free, so it is used directly and the stale file is removed",
                        file.display(),
                        server.url,
                        server.pid
                    );
                    service = Some(opened);
                }
            }
        }
        let service = match service {
            Some(service) => service,
            None => crate::access::service(global)?,
        };
        if global.sweep_first {
            sweep_and_say(&service).await?;
        }
        Ok(Access::Local(Box::new(service)))
    }

    pub async fn summaries(&self, global: &GlobalArgs) -> Result<Vec<RunSummary>, Failure> {
        match self {
            Access::Local(service) => Ok(service.runs()?),
            Access::Server(server) => {
                server
                    .json(global, http::Method::GET, "/api/runs", None)
                    .await
            }
        }
    }

    /// Every pending decision, critical first, then oldest first.
    /// The pending decisions, the spot checks due and the suspended auto-approvals.
    pub async fn inbox_all(&self, global: &GlobalArgs) -> Result<InboxView, Failure> {
        match self {
            Access::Local(service) => {
                let inbox = service.inbox()?;
                crate::report::warn_unreadable(&inbox.unreadable);
                Ok(InboxView {
                    pending: inbox.pending.into_iter().map(|(r, _)| r).collect(),
                    spot_checks: inbox.spot_checks.into_iter().map(|(r, _)| r).collect(),
                    suspended: inbox.suspended,
                })
            }
            Access::Server(server) => {
                let suspended: Vec<baton_core::Suspension> = server
                    .json(global, http::Method::GET, "/api/auto-approval", None)
                    .await?;
                Ok(InboxView {
                    pending: server
                        .json(global, http::Method::GET, "/api/decisions", None)
                        .await?,
                    spot_checks: server
                        .json(global, http::Method::GET, "/api/spot-checks", None)
                        .await?,
                    suspended: suspended.into_iter().filter(|s| s.active()).collect(),
                })
            }
        }
    }

    pub async fn load_run(&self, global: &GlobalArgs, run: &RunId) -> Result<RunState, Failure> {
        match self {
            Access::Local(service) => Ok(service.run(run)?),
            Access::Server(server) => {
                let events: Vec<RunEvent> = server
                    .json(
                        global,
                        http::Method::GET,
                        &format!("/api/runs/{run}/events"),
                        None,
                    )
                    .await?;
                RunState::fold(run, &events).ok_or_else(|| {
                    Failure::Host(format!(
                        "run {run} has no events; the state store may be damaged"
                    ))
                })
            }
        }
    }
}

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
        // A person at a terminal is told of a long compile while it runs.
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr())
            .then(|| baton_runtime::Progress::new(|line: &str| tell!("{line}"))),
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
    service_on(global, &dir)
}

/// [`service`] on the store in `dir`.
fn service_on(global: &GlobalArgs, dir: &Path) -> Result<Service, Failure> {
    let purpose = if global.salvage {
        Purpose::Salvage
    } else {
        Purpose::Work
    };
    if let Some(url) = global.store.as_deref().filter(|u| !u.trim().is_empty()) {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Failure::Usage(format!(
                "--store {}: not a PostgreSQL URL; use postgres://USER@HOST/DB (or leave it out for the embedded store in --state)",
                baton_store::hide_password(url)
            )));
        }
        let store = Store::open_postgres(url, global.lease)?;
        return Ok(Service::new(store, service_options(global)?).observe(crate::report::progress()));
    }
    let store = Store::open_dir_for(dir, purpose).map_err(|e| match e {
        ServiceError::StoreBusy { .. } => match Server::find(dir) {
            Some(server) => Failure::Usage(format!(
                "host serve ({}, pid {}) holds the state store {}; decide in the web inbox at {} (or with host approve, which goes through it), or stop the server first",
                server.url, server.pid, dir.display(), server.url
            )),
            None => Failure::Usage(format!(
                "the state store at {} is in use by another `host` process; wait for it to finish (or stop it), or pass --state DIR to use another store",
                dir.display()
            )),
        },
        other => other.into(),
    })?;
    for repair in store.repairs() {
        tell!("note: {repair}");
    }
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
            tell!(
                "  .. compiled plugin {} in {:.1?} (cached for next time)",
                compiled.plugin,
                compiled.time
            );
        }
    }
    for note in &loaded.notes {
        tell!("{note}");
    }
}

/// Applies due timeouts before a command acts, saying what expired on stderr.
pub async fn sweep_and_say(service: &Service) -> Result<(), Failure> {
    let swept: Vec<Swept> = service.sweep().await?;
    for swept in &swept {
        tell!("{}", crate::report::swept_line(swept));
    }
    Ok(())
}

/// What an operator's inbox holds.
#[derive(Debug, Default)]
pub struct InboxView {
    pub pending: Vec<DecisionRecord>,
    /// Auto-approved decisions drawn for review after the fact.
    pub spot_checks: Vec<DecisionRecord>,
    /// Auto-approvals suspended because spot checks disagreed.
    pub suspended: Vec<baton_core::Suspension>,
}
