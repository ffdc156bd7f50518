//! `host serve`: one process holds the state store and serves the web inbox and a
//! JSON API over it. Everything that changes state (decisions, new runs, expiries,
//! the runs a crash left running) goes through one worker, in order, on a thread of
//! its own, which holds the service (and so the runtime and the loaded workflows) for
//! the server's life; reads go to the service directly.
//! While it runs, the other `host` commands find it through `server.json` in the
//! state directory and talk to it instead of opening the store.

pub mod api;
pub mod auth;
mod form;
pub mod pages;
pub mod shared;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use baton_core::{Clock, RunEvent, RunState, RunStatus};
use baton_service::{Acted, Service, ServiceError, Swept};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::GlobalArgs;
use crate::access::{SERVER_FILE, operator, state_dir};
use crate::exit::{Exit, Failure};
use crate::terminal::{say, tell};
use shared::{ApiError, Change, Job, Shared};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Operators sign in with a token: name them in the host configuration \
([operators.maria] token = \"...\"), or use the token generated and printed at the first start.\n\n\
Examples:\n  host serve\n  host serve --bind 127.0.0.1:9000 --public-url https://inbox.example.com"
)]
pub struct ServeArgs {
    /// Where to listen; loopback by default (put a TLS proxy in front to serve others)
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    bind: SocketAddr,
    /// The address operators reach the inbox at, for the links in webhooks [default: http://BIND]
    #[arg(long, value_name = "URL")]
    public_url: Option<url::Url>,
    /// A workflow to offer agents as an MCP tool at /mcp (repeatable; see host mcp)
    #[arg(long = "mcp", value_name = "WORKFLOW.toml")]
    mcp_workflows: Vec<std::path::PathBuf>,
    /// A plugin to offer agents as an MCP tool at /mcp, NAME=PLUGIN.wasm (repeatable)
    #[arg(long = "mcp-plugin", value_name = "NAME=PLUGIN.wasm", value_parser = crate::commands::mcp::parse_plugin)]
    mcp_plugins: Vec<(String, std::path::PathBuf)>,
}

/// The generated operator token, kept for the next start.
const TOKEN_FILE: &str = "serve-token";
/// Longest sleep between two looks for due timeouts.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

pub async fn serve(global: &GlobalArgs, args: ServeArgs) -> Result<Exit, Failure> {
    let dir = state_dir(global)?;
    // Quiet: the server logs what it did, not every step.
    let service = Arc::new(crate::access::service(global)?.observe(None));
    // Its token and address live here, also when the runs are in PostgreSQL.
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let operators = operators(global, &dir, &service)?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| {
            Failure::Usage(format!(
                "cannot listen on {}: {e}; pick another with --bind",
                args.bind
            ))
        })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Failure::Host(e.to_string()))?;
    if !bound.ip().is_loopback() {
        tell!(
            "warning: listening on {bound}, beyond this machine, without TLS: tokens cross the network in the clear unless a TLS proxy is in front"
        );
    }
    let public_url = args
        .public_url
        .map(|url| url.as_str().trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{bound}"));
    let local_token = auth::new_token()?;
    let server_file = dir.join(SERVER_FILE);
    auth::write_private(
        &server_file,
        &json!({
            "url": format!("http://{bound}"),
            "pid": std::process::id(),
            "token": local_token,
        })
        .to_string(),
    )?;
    let _remove = RemoveOnDrop(server_file.clone());
    let (jobs, queue) = mpsc::channel(64);
    let (changes, _) = broadcast::channel(256);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        service: service.clone(),
        auth: auth::Auth::new(&operators.tokens, &local_token, shared_key(&service)?)?,
        jobs,
        changes: changes.clone(),
        stopping,
        templates: pages::templates()?,
    });
    // On a shared store, what the other servers and the workers change shows here
    // live too.
    if let Ok(store) = service.store().shared() {
        tokio::spawn(relay(
            store.notices(),
            store.owner().to_string(),
            service.clone(),
            changes.clone(),
        ));
    }
    for line in &operators.notes {
        say!("{line}");
    }
    say!(
        "serving the inbox at {public_url} (state store {}); Ctrl-C stops",
        service.store().location()
    );
    let mut app = api::router(shared.clone()).merge(pages::router(shared.clone()));
    let (mcp_workflows, mcp_plugins) =
        crate::commands::mcp::tools_to_offer(global, &args.mcp_workflows, &args.mcp_plugins)?;
    if !mcp_workflows.is_empty() || !mcp_plugins.is_empty() {
        let runtime = service.loader().runtime(false)?;
        let catalog =
            crate::mcp::Catalog::load(&service, &mcp_workflows, &mcp_plugins, &runtime).await?;
        app = app.merge(crate::mcp::http_router(
            shared.clone(),
            Arc::new(catalog),
            bound,
            &public_url,
        ));
        say!("agents reach its MCP tools at {public_url}/mcp, with an operator token");
    }
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown().await;
        // Ends the pages' event streams, which would otherwise hold the server open.
        let _ = stop.send(true);
    });
    // The worker makes every change, in order, on a thread of its own: a step that
    // keeps the CPU busy never stalls the pages and reads, which stay on this one.
    let (stop_worker, worker_stopping) = tokio::sync::watch::channel(false);
    let worker = Worker {
        service: service.clone(),
        changes,
        public_url,
    };
    let worker = std::thread::Builder::new()
        .name("baton-worker".into())
        .spawn(move || -> Result<(), Failure> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failure::Host(format!("cannot start the worker's runtime: {e}")))?
                .block_on(worker.serve(queue, worker_stopping));
            Ok(())
        })
        .map_err(|e| Failure::Host(format!("cannot start the worker thread: {e}")))?;
    let served = server.await;
    // The job in hand finishes (a decision is never cut in half); queued ones are
    // dropped, and their requests told that the server is stopping.
    let _ = stop_worker.send(true);
    worker
        .join()
        .map_err(|_| Failure::Host("the worker thread panicked".into()))??;
    served.map_err(|e| Failure::Host(format!("the server stopped: {e}")))?;
    service.sync()?;
    say!("stopped");
    Ok(Exit::Success)
}

/// Tells the live pages what other processes sharing the store changed (this
/// server's own changes are told by its worker as they happen).
async fn relay(
    mut notices: broadcast::Receiver<baton_store::Notice>,
    own: String,
    service: Arc<Service>,
    changes: broadcast::Sender<Change>,
) {
    use baton_store::Notice;
    loop {
        let (run, status) = match notices.recv().await {
            Ok(Notice::Changed { run, status, by }) if by != own => (run, status),
            Ok(Notice::Changed { .. }) => continue,
            // Anything may have changed: the pages refresh.
            Ok(Notice::Reconnected) | Err(broadcast::error::RecvError::Lagged(_)) => {
                (String::new(), String::new())
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let service = service.clone();
        let id = run.clone();
        let pending = tokio::task::spawn_blocking(move || {
            id.parse()
                .ok()
                .and_then(|id| service.run(&id).ok())
                .map_or(0, |state| state.pending().count())
        })
        .await
        .unwrap_or(0);
        let _ = changes.send(Change {
            run,
            status,
            pending,
        });
    }
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The operators' tokens, and what to tell the person starting the server.
struct Operators {
    tokens: Vec<(String, String)>,
    notes: Vec<String>,
}

/// On a shared store, the key every server signs forms with, made by the first.
fn shared_key(service: &Service) -> Result<Option<[u8; 32]>, Failure> {
    let Ok(store) = service.store().shared() else {
        return Ok(None);
    };
    let key = store
        .setting("serve.csrf-key", &auth::new_token()?)
        .map_err(|e| Failure::Host(e.to_string()))?;
    blake3::Hash::from_hex(key.trim())
        .map(|key| Some(*key.as_bytes()))
        .map_err(|e| {
            Failure::Host(format!(
                "the shared store's serve.csrf-key setting is not a key ({e})"
            ))
        })
}

/// The tokens from the host configuration; when it names no operator, one token for
/// the OS user, generated at the first start and kept (readable by its owner alone;
/// on a shared store, in the store, so that every server accepts it).
fn operators(
    global: &GlobalArgs,
    dir: &std::path::Path,
    service: &Service,
) -> Result<Operators, Failure> {
    let config = baton_service::config::HostConfig::load(global.host_config.as_deref())?;
    let tokens = config.operator_tokens()?;
    if !tokens.is_empty() {
        let names: Vec<&str> = tokens.iter().map(|(name, _)| name.as_str()).collect();
        return Ok(Operators {
            notes: vec![format!(
                "operators from {}: {}",
                config.path.display(),
                names.join(", ")
            )],
            tokens,
        });
    }
    let name = operator(global);
    if let Ok(store) = service.store().shared() {
        let fresh = auth::new_token()?;
        let token = store
            .setting(&format!("serve.token.{name}"), &fresh)
            .map_err(|e| Failure::Host(e.to_string()))?;
        let note = if token == fresh {
            format!(
                "generated a token for operator {name} (kept in the shared store, for every server): {token}\nsign in at /login?token={token}"
            )
        } else {
            format!(
                "operator {name} signs in with the token the first server generated (kept in the shared store, setting serve.token.{name}; name operators in {} to give each their own)",
                config.path.display()
            )
        };
        return Ok(Operators {
            tokens: vec![(name, token)],
            notes: vec![note],
        });
    }
    let path = dir.join(TOKEN_FILE);
    let (token, note) = match std::fs::read_to_string(&path) {
        Ok(token) if !token.trim().is_empty() => (
            token.trim().to_string(),
            format!(
                "operator {name} signs in with the token in {} (name operators in {} to give each their own)",
                path.display(),
                config.path.display()
            ),
        ),
        _ => {
            let token = auth::new_token()?;
            auth::write_private(&path, &token)?;
            (
                token.clone(),
                format!(
                    "generated a token for operator {name} (kept in {}): {token}\nsign in at /login?token={token}",
                    path.display()
                ),
            )
        }
    };
    Ok(Operators {
        tokens: vec![(name, token)],
        notes: vec![note],
    })
}

/// Makes the changes, one at a time, through the one service the server holds for
/// its whole life (its runtime and the workflows it loaded stay loaded).
struct Worker {
    service: Arc<Service>,
    changes: broadcast::Sender<Change>,
    public_url: String,
}

impl Worker {
    /// Takes jobs until `stopping`, and applies due timeouts when they fall due.
    async fn serve(
        self,
        mut queue: mpsc::Receiver<Job>,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) {
        // Before any job: the runs a crash left mid-step (this process holds the
        // store, so no other can be running them); then the timeouts that passed
        // while no server ran, which the loop below applies as they fall due.
        self.recover().await;
        loop {
            let sleep = tokio::time::sleep(self.next_sweep());
            tokio::select! {
                biased;
                _ = stopping.changed() => break,
                job = queue.recv() => match job {
                    Some(job) => self.run(job).await,
                    None => break,
                },
                () = sleep => {
                    if let Err(e) = self.sweep(false).await {
                        tell!("warning: applying due timeouts failed: {}", e.message);
                    }
                }
            }
        }
    }

    async fn run(&self, job: Job) {
        let service = &*self.service;
        match job {
            Job::Decide {
                id,
                decision,
                by,
                allow_changed,
                reply,
            } => {
                let acted = service.decide(&id, decision, &by, allow_changed).await;
                let _ = reply.send(self.acted(acted));
            }
            Job::Start {
                workflow,
                input,
                by,
                reply,
            } => {
                let acted = match service.workflow(&workflow).await {
                    Ok(loaded) => {
                        loaded.notes.iter().for_each(|note| say!("{note}"));
                        service.start(loaded, input, &by).await
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(self.acted(acted));
            }
            Job::Expire { reply } => {
                let _ = reply.send(self.sweep(true).await);
            }
            Job::Resume {
                run,
                allow_changed,
                by,
                reply,
            } => {
                let acted = service.resume(&run, allow_changed, &by).await;
                let _ = reply.send(self.acted(acted));
            }
            Job::Cancel { run, by, reply } => {
                let _ = reply.send(self.acted(service.cancel(&run, &by)));
            }
            Job::Learn { op, by, reply } => {
                let _ = reply.send(self.learn(op, &by).await);
            }
        }
    }

    /// A spot check (telling the operator when it suspends an auto-approval), an
    /// outcome, or resuming an auto-approval.
    async fn learn(&self, op: shared::Learn, by: &str) -> Result<Value, ApiError> {
        let service = &*self.service;
        match op {
            shared::Learn::SpotCheck { id, answer } => {
                let agrees = answer.agrees();
                let checked = service.spot_check(&id, answer, by)?;
                self.announce(&checked.outcome.state);
                if let Some(suspension) = &checked.suspended {
                    say!("{}", suspension.message());
                    notify_suspension(service, suspension, Some(&self.public_url)).await;
                }
                Ok(json!({ "decision": id, "agrees": agrees, "suspended": checked.suspended }))
            }
            shared::Learn::Outcome { id, good, note } => {
                let outcome = service.outcome(&id, good, note.clone(), by)?;
                self.announce(&outcome.state);
                Ok(
                    json!({ "decision": id, "outcome": if good { "good" } else { "bad" }, "note": note }),
                )
            }
            shared::Learn::ResumeAutoApproval {
                workflow,
                gate,
                kind,
            } => Ok(json!(service.resume_auto_approval(
                &workflow,
                &gate,
                kind.as_deref(),
                by
            )?)),
        }
    }

    /// Tells the live pages (and the webhook) what an operation did.
    fn acted(&self, acted: Result<Acted, ServiceError>) -> Result<RunState, ApiError> {
        let acted = acted?;
        self.changed(&acted);
        Ok(acted.outcome.state)
    }

    /// Applies due timeouts, saying what expired in the server's log: when they
    /// fall due, if this server holds the sweep duty; `now` (`host expire`), whoever
    /// holds it.
    async fn sweep(&self, now: bool) -> Result<Vec<Swept>, ApiError> {
        let swept = if now {
            self.service.expire_due().await?
        } else {
            self.service.sweep().await?
        };
        for run in &swept {
            say!("{}", crate::report::swept_line(run));
            if let Ok(state) = self.service.run(&run.run) {
                self.announce(&state);
            }
        }
        Ok(swept)
    }

    /// Continues the runs a crash left `running`, saying so in the server's log.
    async fn recover(&self) {
        match self.service.recover().await {
            Ok(recovered) => {
                for run in recovered {
                    match (&run.status, &run.error) {
                        (Some(status), None) => say!(
                            "continued run {} of workflow {}, which a crash had left running: it is {}",
                            run.run,
                            run.workflow,
                            status.as_str()
                        ),
                        _ => tell!(
                            "warning: run {} of workflow {} was left running by a crash and could not continue: {}; `host resume {}` continues it",
                            run.run,
                            run.workflow,
                            run.error.as_deref().unwrap_or("unknown"),
                            run.run
                        ),
                    }
                    if let Ok(state) = self.service.run(&run.run) {
                        self.announce(&state);
                    }
                }
            }
            Err(e) => tell!(
                "warning: looking for runs a crash left running failed: {}",
                ApiError::from(e).message
            ),
        }
    }

    /// How long until the next decision is due to expire (at most [`SWEEP_EVERY`]).
    fn next_sweep(&self) -> Duration {
        let now = self.service.clock().now();
        match self.service.next_expiry().ok().flatten() {
            Some(at) => Duration::from_millis(at.saturating_sub(now)).min(SWEEP_EVERY),
            None => SWEEP_EVERY,
        }
    }

    /// Tells the live pages, and the workflow's webhook when the run started waiting.
    fn changed(&self, acted: &Acted) {
        let state = acted.state();
        self.announce(state);
        let opened = acted
            .outcome
            .events
            .iter()
            .any(|e| matches!(e, RunEvent::GateOpened { .. }));
        let hook = acted
            .workflow
            .as_ref()
            .and_then(|w| w.workflow.webhook.clone());
        if let (true, RunStatus::Waiting, Some(hook)) = (opened, state.status(), hook) {
            let body = webhook_body(state, &self.public_url);
            tokio::spawn(async move { call_webhook(hook, body).await });
        }
    }

    fn announce(&self, state: &RunState) {
        let _ = self.changes.send(Change {
            run: state.id.to_string(),
            status: state.status().as_str().to_string(),
            pending: state.pending().count(),
        });
    }
}

/// What a webhook receives when a run starts waiting: the run, its decisions with a
/// link to each, and a `text` line a chat channel can show as it is.
pub fn webhook_body(state: &RunState, public_url: &str) -> Value {
    let pending: Vec<Value> = state
        .pending()
        .map(|d| {
            json!({
                "id": d.request.id.to_string(),
                "title": d.request.title,
                "reason": d.request.reason,
                "severity": d.request.severity,
                "link": format!("{public_url}/?decision={}", pages::encode(&d.request.id.to_string())),
            })
        })
        .collect();
    let count = pending.len();
    json!({
        "event": "run_waiting",
        "run": state.id.to_string(),
        "workflow": state.workflow,
        "decisions": pending,
        "link": format!("{public_url}/runs/{}", state.id),
        "text": format!(
            "{count} decision{} waiting in {}: {public_url}/",
            if count == 1 { "" } else { "s" },
            state.workflow
        ),
    })
}

/// Tells the operator that spot checks suspended an auto-approval: on the terminal of
/// whoever answered, and through the workflow's `[notify]` webhook (read from the
/// file the run recorded) when it has one.
pub async fn notify_suspension(
    service: &baton_service::Service,
    suspension: &baton_core::Suspension,
    public_url: Option<&str>,
) {
    let Ok(run) = suspension.run.parse::<baton_core::RunId>() else {
        return;
    };
    let Ok(state) = service.run(&run) else {
        return;
    };
    let hook = match service
        .workflow(std::path::Path::new(&state.workflow_path))
        .await
    {
        Ok(workflow) => workflow.workflow.webhook.clone(),
        Err(e) => {
            tell!(
                "warning: auto-approval of {} was suspended, but the workflow's webhook could not be read to say so: {e}",
                suspension.what()
            );
            None
        }
    };
    if let Some(hook) = hook {
        call_webhook(hook, suspension_body(suspension, public_url)).await;
    }
}

/// What a webhook receives when spot checks suspend an auto-approval.
pub fn suspension_body(suspension: &baton_core::Suspension, public_url: Option<&str>) -> Value {
    json!({
        "event": "auto_approval_suspended",
        "workflow": suspension.workflow,
        "gate": suspension.gate,
        "kind": suspension.kind,
        "agreed": suspension.agreed,
        "checked": suspension.checked,
        "min_agreement": suspension.min_agreement,
        "by": suspension.by,
        "run": suspension.run,
        "link": public_url.map(|url| format!("{url}/stats")),
        "text": suspension.message(),
    })
}

async fn call_webhook(url: url::Url, body: Value) {
    let sent = baton_runtime::outbound::send(baton_runtime::outbound::HostRequest {
        method: http::Method::POST,
        url: &url,
        headers: &[],
        body: bytes::Bytes::from(body.to_string()),
        timeout: Duration::from_secs(10),
        max_body: 64 * 1024,
    })
    .await;
    match sent {
        Ok((status, _, _)) if status.is_success() => {
            tracing::debug!("webhook {} answered {status}", auth_free(&url));
        }
        Ok((status, _, _)) => tell!("warning: webhook {} answered {status}", auth_free(&url)),
        Err(e) => tell!("warning: webhook {} failed: {e}", auth_free(&url)),
    }
}

/// A webhook URL for messages: its path may be a secret (Slack's are), so only the host.
fn auth_free(url: &url::Url) -> String {
    format!(
        "{}://{}/…",
        url.scheme(),
        baton_runtime::outbound::host_of(url)
    )
}
