//! Workflows loaded for running: the file read and checked, every plugin loaded into
//! the process's runtime, checked against its grants and described, and the call
//! settings (limits, config, secrets, grants) resolved. Loaded once and kept while
//! neither the workflow file nor a plugin file changes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use baton_core::{KvQuota, KvStore, LlmConfig, RunState};
use baton_runtime::{
    CacheOutcome, Call, Digest, DirGrant, ErrorKind, Grants, KvAccess, Limits, LoadError,
    PluginInfo, PluginSet, Runtime, RuntimeOptions,
};
use baton_workflow::{PluginDecl, Workflow};

use crate::config::{HostConfig, llm_access};
use crate::error::{Result, ServiceError};

/// Where plugins are cached and which host configuration applies.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Where precompiled plugins are kept; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// The host configuration file; `None` means the user's default one.
    pub host_config: Option<PathBuf>,
    /// Told of a compile that takes more than a moment, while it runs.
    pub progress: Option<baton_runtime::Progress>,
}

/// A plugin compiled on this load (rather than found in the cache), and how long it took.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub plugin: String,
    pub time: Duration,
}

/// A workflow with its plugins loaded and checked, ready to run.
#[derive(Debug)]
pub struct LoadedWorkflow {
    pub workflow: Workflow,
    /// The digest of the workflow file's text.
    pub digest: String,
    pub runner: PluginSet,
    /// Plugins compiled by this load (slow the first time; cached for the next).
    pub compiled: Vec<Compiled>,
    /// What the operator should know (a granted model that is not configured).
    pub notes: Vec<String>,
    /// The plugin files as they were when loaded: a changed one means a reload.
    stamps: Vec<Stamp>,
}

impl LoadedWorkflow {
    /// The digest of each plugin's component, by the workflow's name for it.
    pub fn plugin_digests(&self) -> BTreeMap<String, String> {
        self.runner.digests()
    }

    /// What changed since `state` started: the workflow file, a plugin, a plugin no
    /// longer declared. Empty when the run continues on the code it started with.
    pub fn changes_since(&self, state: &RunState) -> Vec<String> {
        let mut changes = Vec::new();
        if state.workflow_digest != self.digest {
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
        changes
    }
}

/// A plugin file's length and modification time.
#[derive(Clone, Debug, PartialEq)]
struct Stamp(Option<(u64, SystemTime)>);

impl Stamp {
    fn of(path: &Path) -> Stamp {
        Stamp(
            std::fs::metadata(path)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?))),
        )
    }
}

/// Loads workflows into the process's runtimes: one without fuel metering, and one
/// with it for workflows that bound a plugin by fuel (metering slows every call).
#[derive(Debug)]
pub struct Loader {
    options: LoadOptions,
    runtimes: Mutex<[Option<Arc<Runtime>>; 2]>,
}

impl Loader {
    pub fn new(options: LoadOptions) -> Loader {
        Loader {
            options,
            runtimes: Mutex::new([None, None]),
        }
    }

    /// The process's runtime, with fuel metering or without; built on first use.
    pub fn runtime(&self, fuel: bool) -> Result<Arc<Runtime>> {
        let mut runtimes = self.runtimes.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = &mut runtimes[usize::from(fuel)];
        if let Some(runtime) = slot {
            return Ok(runtime.clone());
        }
        if let Some(dir) = &self.options.cache_dir {
            tracing::debug!("component cache: {}", dir.display());
        }
        let runtime = Arc::new(
            Runtime::new(RuntimeOptions {
                cache_dir: self.options.cache_dir.clone(),
                fuel,
                progress: self.options.progress.clone(),
                ..RuntimeOptions::default()
            })
            .map_err(|e| ServiceError::Host(format!("the plugin runtime: {e}")))?,
        );
        *slot = Some(runtime.clone());
        Ok(runtime)
    }

    /// Loads every plugin a checked workflow (`source` is its text, as read by
    /// [`read_workflow`]) declares and asks each to describe itself, so nothing starts
    /// on a workflow that cannot run. `kv` backs the plugins' `kv` grants; `None` (a
    /// dry run) leaves them unconnected.
    pub async fn load(
        &self,
        workflow: Workflow,
        source: &str,
        kv: Option<Arc<dyn KvStore>>,
    ) -> Result<LoadedWorkflow> {
        let runtime = self.runtime(workflow.plugins.values().any(|p| p.limits.fuel.is_some()))?;
        // The host configuration matters only to a workflow that uses a model.
        let uses_llm =
            workflow.llm.is_some() || workflow.plugins.values().any(|p| p.grants.llm.is_some());
        let host_config = if uses_llm {
            HostConfig::load(self.options.host_config.as_deref())?
        } else {
            HostConfig::default()
        };
        let llm = host_config.llm_for(&workflow)?;
        let mut plugins = BTreeMap::new();
        let mut problems = Vec::new();
        let mut compiled = Vec::new();
        let mut notes = Vec::new();
        let stamps = workflow
            .plugins
            .values()
            .map(|decl| Stamp::of(&decl.source))
            .collect();
        for decl in workflow.plugins.values() {
            match runtime.load_with(&decl.source, &limits_for(decl)).await {
                Ok(plugin) => {
                    if plugin.source().cache != CacheOutcome::Hit {
                        compiled.push(Compiled {
                            plugin: decl.name.to_string(),
                            time: plugin.source().prepare_time,
                        });
                    }
                    let refused = refused_capabilities(decl, plugin.info());
                    if !refused.is_empty() {
                        problems.push(capability_problem(decl, plugin.info(), &refused));
                        continue;
                    }
                    let (call, call_problems) = call_for(
                        decl,
                        &workflow.name,
                        kv.as_ref(),
                        &llm,
                        &host_config.path,
                        &mut notes,
                    );
                    if !call_problems.is_empty() {
                        problems.extend(call_problems);
                        continue;
                    }
                    plugins.insert(decl.name.clone(), (plugin, call));
                }
                Err(error) => {
                    let hint = match &error.kind {
                        ErrorKind::Load(LoadError::NotFound { .. }) => {
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
            return Err(ServiceError::Invalid(problems.join("\n")));
        }
        Ok(LoadedWorkflow {
            digest: Digest::of(source.as_bytes()).to_string(),
            workflow,
            runner: PluginSet::new(plugins),
            compiled,
            notes,
            stamps,
        })
    }
}

/// Loaded workflows by file, kept while the file and its plugins stay as they were.
#[derive(Debug, Default)]
pub struct WorkflowCache {
    loaded: Mutex<HashMap<PathBuf, Arc<LoadedWorkflow>>>,
}

impl WorkflowCache {
    /// The workflow at `path`, loaded (with `kv` behind its grants) or as loaded
    /// before when the file's digest and its plugins' files are unchanged: a hit reads
    /// the file and stats the plugins, and parses nothing. A load that fails is not
    /// kept: the next call tries again.
    pub async fn get(
        &self,
        loader: &Loader,
        path: &Path,
        kv: &Arc<dyn KvStore>,
    ) -> Result<Arc<LoadedWorkflow>> {
        let source = read_source(path)?;
        if let Some(loaded) = self.kept(path, &source) {
            return Ok(loaded);
        }
        let workflow = parse(path, &source)?;
        self.load(loader, workflow, &source, kv).await
    }

    /// [`WorkflowCache::get`] for a workflow its caller has read and checked.
    pub async fn get_read(
        &self,
        loader: &Loader,
        (workflow, source): (Workflow, String),
        kv: &Arc<dyn KvStore>,
    ) -> Result<Arc<LoadedWorkflow>> {
        match self.kept(&workflow.path, &source) {
            Some(loaded) => Ok(loaded),
            None => self.load(loader, workflow, &source, kv).await,
        }
    }

    /// The workflow at `path` as loaded before, if its text is still `source` and
    /// its plugin files are unchanged.
    fn kept(&self, path: &Path, source: &str) -> Option<Arc<LoadedWorkflow>> {
        let digest = Digest::of(source.as_bytes()).to_string();
        let kept = self
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&cache_key(path))
            .cloned();
        let unchanged = kept.as_ref().is_some_and(|loaded| {
            loaded.digest == digest
                && loaded
                    .workflow
                    .plugins
                    .values()
                    .map(|decl| Stamp::of(&decl.source))
                    .eq(loaded.stamps.iter().cloned())
        });
        if unchanged {
            tracing::debug!("workflow {} as loaded before", path.display());
        }
        kept.filter(|_| unchanged)
    }

    async fn load(
        &self,
        loader: &Loader,
        workflow: Workflow,
        source: &str,
        kv: &Arc<dyn KvStore>,
    ) -> Result<Arc<LoadedWorkflow>> {
        let key = cache_key(&workflow.path);
        let loaded = Arc::new(loader.load(workflow, source, Some(kv.clone())).await?);
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, loaded.clone());
        Ok(loaded)
    }
}

/// The cache's key for a workflow file: its canonical path.
fn cache_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Reads and checks a workflow file; returns it with its text.
pub fn read_workflow(path: &Path) -> Result<(Workflow, String)> {
    let source = read_source(path)?;
    Ok((parse(path, &source)?, source))
}

fn read_source(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        ServiceError::Invalid(format!(
            "cannot read the workflow file {}: {e}",
            path.display()
        ))
    })
}

fn parse(path: &Path, source: &str) -> Result<Workflow> {
    Workflow::parse(path, source).map_err(|problems| ServiceError::Invalid(problems.to_string()))
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
    notes: &mut Vec<String>,
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
        match llm_access(llm, config_path, &decl.name, grant, notes) {
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
