//! Wiring for the workflow commands: the state store, the workflow file, its plugins
//! loaded into the runtime (as the engine's `PluginRunner`), and the digests a run
//! records so that it continues only on the code it started with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use baton_core::LlmConfig;
use baton_core::{Clock, RunEvent, RunId, RunState, RunStore, RunSummary, StoreError, SystemClock};
use baton_core::{KvQuota, KvStore};
use baton_engine::Engine;
use baton_runtime::{Call, Digest, DirGrant, Grants, KvAccess, Limits, PluginInfo, PluginSet};
use baton_store::SledStore;

/// How long a command waits for another `host` process to release the state store.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
use baton_workflow::{PluginDecl, Workflow};

use crate::GlobalArgs;
use crate::exit::Failure;

/// Opens the state store and applies every gate timeout that has passed (an expired
/// decision takes its `on_timeout` action and its run continues), saying so on stderr.
pub async fn open_store(global: &GlobalArgs) -> Result<Store, Failure> {
    let store = open_store_as_is(global)?;
    for swept in crate::commands::expire::sweep(global, &store).await? {
        eprintln!("{}", swept.line());
    }
    Ok(store)
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

/// Opens the state store in [`state_dir`]. When `host serve` holds it, says so and
/// how to reach the server, rather than that the store is locked.
pub fn open_store_as_is(global: &GlobalArgs) -> Result<Store, Failure> {
    let dir = state_dir(global)?;
    tracing::debug!("state store: {}", dir.display());
    // Another command may hold the store for a moment (`host runs` while a run
    // starts); wait a little before telling the user it is in use.
    let sled = SledStore::open_waiting(&dir, LOCK_WAIT).map_err(|e| {
        match crate::serve::client::Server::find(&dir) {
            Some(server) => Failure::Usage(format!(
                "host serve ({}, pid {}) holds the state store {}; decide in the web inbox at {} (or with host approve, which goes through it), or stop the server first",
                server.url, server.pid, dir.display(), server.url
            )),
            None => Failure::Usage(e.to_string()),
        }
    })?;
    Ok(Store {
        sled,
        failpoint: Failpoint::from_env(),
    })
}

/// The state store the commands use: sled, plus an optional failpoint.
pub struct Store {
    pub(crate) sled: SledStore,
    failpoint: Option<Failpoint>,
}

impl Store {
    /// A store of its own in `dir` (for `host bench`, which never touches the user's).
    pub fn in_dir(dir: &Path) -> Result<Store, Failure> {
        let sled = SledStore::open(dir).map_err(|e| Failure::Host(e.to_string()))?;
        Ok(Store {
            sled,
            failpoint: None,
        })
    }

    /// The store behind the plugins' `kv` grants.
    pub fn kv(&self) -> Arc<dyn KvStore> {
        Arc::new(self.sled.clone())
    }
}

/// A crash on purpose, for the crash-safety tests: `BATON_FAILPOINT=after:<event>:<step>`
/// (e.g. `after:step_completed:score`) kills the process the moment that event is
/// on disk and before anything else is, exactly as SIGKILL between two steps would.
struct Failpoint {
    event: String,
    step: String,
}

impl Failpoint {
    fn from_env() -> Option<Failpoint> {
        let spec = std::env::var("BATON_FAILPOINT").ok()?;
        let mut parts = spec.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("after"), Some(event), Some(step)) => Some(Failpoint {
                event: event.to_string(),
                step: step.to_string(),
            }),
            _ => None,
        }
    }

    fn matches(&self, events: &[RunEvent]) -> bool {
        events.iter().any(|event| {
            let value = serde_json::to_value(event).unwrap_or_default();
            value["event"] == self.event.as_str() && value["key"]["step"] == self.step.as_str()
        })
    }
}

impl RunStore for Store {
    fn append(
        &self,
        run: &RunId,
        expected: u64,
        events: &[RunEvent],
        summary: &RunSummary,
    ) -> Result<u64, StoreError> {
        let version = self.sled.append(run, expected, events, summary)?;
        if let Some(failpoint) = &self.failpoint
            && failpoint.matches(events)
        {
            // The event is on disk, and nothing after it is: die here.
            self.sled.sync()?;
            std::process::abort();
        }
        Ok(version)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.sled.sync()
    }

    fn events(&self, run: &RunId) -> Result<Vec<RunEvent>, StoreError> {
        self.sled.events(run)
    }

    fn summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.sled.summaries()
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

/// The time the commands use: the system clock, or `BATON_NOW` when it is set, as an
/// RFC 3339 time (`2026-11-24T09:00:00Z`) or an offset from now (`+49h`). The
/// override is for tests and for seeing what a cron `host expire` will do later.
#[derive(Clone, Copy, Debug)]
pub struct HostClock {
    offset_ms: i64,
}

impl HostClock {
    pub fn from_env() -> Result<HostClock, Failure> {
        let Ok(spec) = std::env::var("BATON_NOW") else {
            return Ok(HostClock { offset_ms: 0 });
        };
        let bad = |e: &dyn std::fmt::Display| {
            Failure::Usage(format!(
                "BATON_NOW={spec:?} is neither an RFC 3339 time (2026-11-24T09:00:00Z) nor an offset (+49h): {e}"
            ))
        };
        let now = SystemClock.now() as i64;
        let offset_ms = match spec.strip_prefix('+') {
            Some(offset) => humantime::parse_duration(offset)
                .map_err(|e| bad(&e))?
                .as_millis() as i64,
            None => {
                let at = humantime::parse_rfc3339_weak(&spec).map_err(|e| bad(&e))?;
                let millis = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_err(|e| bad(&e))?
                    .as_millis() as i64;
                millis - now
            }
        };
        Ok(HostClock { offset_ms })
    }
}

impl Clock for HostClock {
    fn now(&self) -> u64 {
        (SystemClock.now() as i64)
            .saturating_add(self.offset_ms)
            .max(0) as u64
    }
}

/// A workflow with its plugins loaded and checked.
pub struct Session {
    pub workflow: Workflow,
    pub workflow_digest: String,
    pub runner: PluginSet,
    /// Recorded as the actor of what this session starts or allows.
    pub operator: String,
    pub clock: HostClock,
}

impl Session {
    /// Reads and checks the workflow file, then loads every plugin it declares and
    /// asks each to describe itself, so nothing starts on a workflow that cannot run.
    /// `kv_store` backs the plugins' `kv` grants; `None` (a dry run) leaves them unconnected.
    pub async fn open(
        global: &GlobalArgs,
        path: &Path,
        kv_store: Option<Arc<dyn KvStore>>,
    ) -> Result<Session, Failure> {
        Session::load(global, read_workflow(path)?, kv_store).await
    }

    /// [`Session::open`] for a workflow already read by [`read_workflow`].
    pub async fn load(
        global: &GlobalArgs,
        (workflow, source): (Workflow, String),
        kv_store: Option<Arc<dyn KvStore>>,
    ) -> Result<Session, Failure> {
        let runtime = crate::commands::runtime(
            global,
            workflow.plugins.values().any(|p| p.limits.fuel.is_some()),
        )?;
        // The host configuration matters only to a workflow that uses a model.
        let uses_llm =
            workflow.llm.is_some() || workflow.plugins.values().any(|p| p.grants.llm.is_some());
        let host_config = if uses_llm {
            crate::config::HostConfig::load(global)?
        } else {
            crate::config::HostConfig::default()
        };
        let llm = host_config.llm_for(&workflow)?;
        let mut plugins = BTreeMap::new();
        let mut problems = Vec::new();
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        for decl in workflow.plugins.values() {
            match runtime.load_with(&decl.source, &limits_for(decl)).await {
                Ok(plugin) => {
                    if tty && plugin.source().cache != baton_runtime::CacheOutcome::Hit {
                        eprintln!(
                            "  .. compiled plugin {} in {:.1?} (cached for next time)",
                            decl.name,
                            plugin.source().prepare_time
                        );
                    }
                    let refused = refused_capabilities(decl, plugin.info());
                    if !refused.is_empty() {
                        problems.push(capability_problem(decl, plugin.info(), &refused));
                        continue;
                    }
                    let (call, call_problems) = call_for(
                        decl,
                        &workflow.name,
                        kv_store.as_ref(),
                        &llm,
                        &host_config.path,
                    );
                    if !call_problems.is_empty() {
                        problems.extend(call_problems);
                        continue;
                    }
                    plugins.insert(decl.name.clone(), (plugin, call));
                }
                Err(error) => {
                    let hint = match &error.kind {
                        baton_runtime::ErrorKind::Load(baton_runtime::LoadError::NotFound {
                            ..
                        }) => {
                            "; `source` is relative to the workflow file, and `build` (if set) says how to build it"
                        }
                        _ => "",
                    };
                    problems.push(format!(
                        "{}: plugins.{}.source: {error}{hint}",
                        decl.source_position, decl.name
                    ))
                }
            }
        }
        if !problems.is_empty() {
            return Err(Failure::Usage(problems.join("\n")));
        }
        Ok(Session {
            workflow,
            workflow_digest: Digest::of(source.as_bytes()).to_string(),
            runner: PluginSet::new(plugins),
            operator: operator(global),
            clock: HostClock::from_env()?,
        })
    }

    /// The session that continues `state`: the workflow file the run recorded, loaded,
    /// and the run refused if its code changed since it started, unless
    /// `allow_changed` (then the change is recorded in its log).
    pub async fn for_run(
        global: &GlobalArgs,
        store: &Store,
        state: &RunState,
        allow_changed: bool,
    ) -> Result<Session, Failure> {
        Session::for_run_as(global, store, state, allow_changed, &operator(global)).await
    }

    /// [`Session::for_run`] acting for `operator` (whom `host serve` signed in), who is
    /// recorded as allowing changed code.
    pub async fn for_run_as(
        global: &GlobalArgs,
        store: &Store,
        state: &RunState,
        allow_changed: bool,
        operator: &str,
    ) -> Result<Session, Failure> {
        let mut session =
            Session::open(global, &recorded_workflow(state), Some(store.kv())).await?;
        session.operator = operator.to_string();
        session.guard_code(&session.quiet_engine(store), state, allow_changed)?;
        Ok(session)
    }

    /// Starts a run of this workflow on `input` (recording the file it came from and
    /// the code it runs on), and drives it until it ends or waits.
    pub async fn start(
        &self,
        engine: &Engine<'_, Store, PluginSet, HostClock>,
        input: serde_json::Value,
    ) -> Result<baton_engine::Outcome, Failure> {
        let path = &self.workflow.path;
        let path = std::fs::canonicalize(path).unwrap_or(path.clone());
        engine
            .start(
                input,
                path.display().to_string(),
                self.workflow_digest.clone(),
                self.plugin_digests(),
            )
            .await
            .map_err(|e| Failure::Host(e.to_string()))
    }

    /// The engine for runs of this workflow, on `store`, with progress on a terminal.
    pub fn engine<'a>(&'a self, store: &'a Store) -> Engine<'a, Store, PluginSet, HostClock> {
        Engine {
            observer: crate::report::progress(),
            ..self.quiet_engine(store)
        }
    }

    /// The engine without progress lines (for a screen that draws its own).
    pub fn quiet_engine<'a>(&'a self, store: &'a Store) -> Engine<'a, Store, PluginSet, HostClock> {
        Engine {
            workflow: &self.workflow,
            store,
            runner: &self.runner,
            clock: &self.clock,
            observer: None,
            operator: &self.operator,
        }
    }

    /// Refuses to continue `state` on changed code unless `allow_changed`, and records
    /// the change in the run's log when it is allowed.
    pub fn guard_code(
        &self,
        engine: &Engine<'_, Store, PluginSet, HostClock>,
        state: &RunState,
        allow_changed: bool,
    ) -> Result<(), Failure> {
        if self.check_code(state, allow_changed)? {
            engine
                .record_code_change(state, self.workflow_digest.clone(), self.plugin_digests())
                .map_err(|e| Failure::Host(e.to_string()))?;
        }
        Ok(())
    }

    pub fn plugin_digests(&self) -> BTreeMap<String, String> {
        self.runner.digests()
    }

    /// Refuses to continue a run on code other than the code it started with, unless
    /// `allow_changed`; returns whether the code changed.
    fn check_code(&self, state: &RunState, allow_changed: bool) -> Result<bool, Failure> {
        let mut changes = Vec::new();
        if state.workflow_digest != self.workflow_digest {
            changes.push(format!(
                "the workflow file {} changed",
                self.workflow.path.display()
            ));
        }
        let now = self.plugin_digests();
        for (name, digest) in &state.plugin_digests {
            match now.get(name) {
                Some(current) if current == digest => {}
                Some(_) => changes.push(format!("plugin {name:?} changed")),
                None => changes.push(format!("plugin {name:?} is no longer declared")),
            }
        }
        if changes.is_empty() {
            return Ok(false);
        }
        if allow_changed {
            return Ok(true);
        }
        Err(Failure::Usage(format!(
            "run {} started on other code: {}; pass --allow-changed to continue on the new code",
            state.id,
            changes.join(", ")
        )))
    }
}

/// Reads and checks a workflow file; returns it with its text.
pub fn read_workflow(path: &Path) -> Result<(Workflow, String), Failure> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        Failure::Usage(format!(
            "cannot read the workflow file {}: {e}",
            path.display()
        ))
    })?;
    let workflow =
        Workflow::parse(path, &source).map_err(|problems| Failure::Usage(problems.to_string()))?;
    Ok((workflow, source))
}

/// The capabilities a plugin asks for that its declaration does not grant.
pub fn refused_capabilities<'a>(decl: &PluginDecl, info: &'a PluginInfo) -> Vec<&'a String> {
    let granted = decl.grants.capabilities();
    info.capabilities
        .iter()
        .filter(|c| !granted.contains(&c.as_str()))
        .collect()
}

/// Why a plugin cannot run as declared: it asks for the `refused` capabilities,
/// which the workflow does not grant. Names both, and how to grant each.
pub fn capability_problem(decl: &PluginDecl, info: &PluginInfo, refused: &[&String]) -> String {
    let how = |capability: &str| match capability {
        "files" => "add grants = { files = [{ path = \"data\", guest = \"/data\" }] }".to_string(),
        "env" => "add grants = { env = [\"NAME\"] }".to_string(),
        "kv" => "add grants = { kv = { quota = \"1MiB\" } }".to_string(),
        "http" => "add grants = { http = { allow = [\"https://api.example.com/\"] } }".to_string(),
        "llm" => "add grants = { llm = { tokens_per_run = 6000 } }".to_string(),
        other => format!("`{other}` is not a capability Baton knows (files, env, kv, http, llm)"),
    };
    let asks: Vec<String> = refused
        .iter()
        .map(|c| format!("`{c}` ({})", how(c)))
        .collect();
    format!(
        "{}: plugin {:?} ({} {}) asks for {}, which the workflow does not grant to it; grants are denied by default",
        decl.source_position,
        decl.name,
        info.name,
        info.version,
        asks.join(", ")
    )
}

/// The limits the workflow sets for a plugin; unset ones keep the host's defaults.
pub fn limits_for(decl: &PluginDecl) -> Limits {
    let defaults = Limits::default();
    Limits {
        timeout: decl.limits.timeout.unwrap_or(defaults.timeout),
        memory: decl.limits.memory.unwrap_or(defaults.memory),
        max_output: decl
            .limits
            .max_output
            .map(|m| m as usize)
            .unwrap_or(defaults.max_output),
        fuel: decl.limits.fuel,
        ..defaults
    }
}

/// The call settings of one plugin: limits, config with secrets read from the host
/// environment, granted directories and variables. Problems name the plugin and the
/// key, never a secret's value.
fn call_for(
    decl: &PluginDecl,
    workflow: &str,
    kv_store: Option<&Arc<dyn KvStore>>,
    llm: &LlmConfig,
    config_path: &Path,
) -> (Call, Vec<String>) {
    let mut problems = Vec::new();
    let mut config = decl.config.clone();
    let mut secrets = Vec::new();
    for (key, variable) in &decl.secrets {
        match std::env::var(variable) {
            Ok(value) => {
                config.insert(key.clone(), value.clone());
                secrets.push(value);
            }
            Err(_) => problems.push(format!(
                "{}: plugins.{}.config.{key} is the secret {variable}, which is not set in this environment; export it before running",
                decl.source_position, decl.name
            )),
        }
    }
    let mut grants = Grants::default();
    for file in &decl.grants.files {
        if !file.host.is_dir() {
            problems.push(format!(
                "{}: plugins.{}.grants.files: {} is not a directory; `path` is relative to the workflow file",
                decl.source_position,
                decl.name,
                file.host.display()
            ));
            continue;
        }
        grants.dirs.push(DirGrant {
            host: file.host.clone(),
            guest: file.guest.clone(),
            write: file.write,
        });
    }
    for name in &decl.grants.env {
        if let Ok(value) = std::env::var(name) {
            grants.env.push((name.clone(), value));
        }
    }
    let llm = decl.grants.llm.as_ref().and_then(|grant| {
        match crate::config::llm_access(llm, config_path, &decl.name, grant) {
            Ok(access) => Some(Arc::new(access)),
            Err(problem) => {
                problems.push(format!(
                    "{}: plugins.{}.grants.llm: {problem}",
                    decl.source_position, decl.name
                ));
                None
            }
        }
    });
    let call = Call {
        limits: limits_for(decl),
        config: Arc::new(config),
        grants: Arc::new(grants),
        secrets: Arc::new(secrets),
        // The host picks the scope: this workflow and the plugin's name in it.
        kv: match (&decl.grants.kv, kv_store) {
            (Some(grant), Some(store)) => Some(KvAccess {
                store: store.clone(),
                scope: format!("{workflow}/{}", decl.name),
                quota: KvQuota {
                    max_keys: grant.max_keys,
                    max_bytes: grant.max_bytes,
                },
            }),
            _ => None,
        },
        http: decl.grants.http.clone().map(Arc::new),
        llm,
        step: Default::default(),
    };
    (call, problems)
}

/// The workflow file a run was started from, as recorded.
pub fn recorded_workflow(state: &RunState) -> PathBuf {
    PathBuf::from(&state.workflow_path)
}
