//! From the manifest to a checked [`Workflow`]: every reference resolved, every
//! template compiled, the step graph free of cycles. All problems are reported at
//! once, each at its line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use baton_core::{OnTimeout, Severity, StepId};
use serde_spanned::Spanned;

use crate::manifest::{
    RawBuild, RawGrants, RawHttpGrant, RawLimits, RawLlmGrant, RawPlugin, RawStep, RawWorkflow,
};
use crate::position::{Problems, Reporter};
use crate::template::{Expr, Template};
use crate::units::{parse_duration, parse_size};
use baton_core::{HttpGrant, HttpRule, LlmConfig, LlmGrant};

/// A checked workflow.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub name: String,
    pub description: Option<String>,
    /// The workflow file, as given.
    pub path: PathBuf,
    pub plugins: BTreeMap<String, PluginDecl>,
    /// In file order.
    pub steps: Vec<Step>,
    /// The workflow's `[llm]` table, laid over the host configuration's, with where
    /// it is written (`workflow.toml:40:1`).
    pub llm: Option<(LlmConfig, String)>,
    /// `[notify] webhook`: called with a JSON POST when a run starts waiting.
    pub webhook: Option<url::Url>,
}

#[derive(Clone, Debug)]
pub struct PluginDecl {
    pub name: String,
    /// The component, resolved against the workflow file's directory.
    pub source: PathBuf,
    /// Where `source` is written, for errors about the file: `workflow.toml:5:10`.
    pub source_position: String,
    pub build: Option<Build>,
    pub config: BTreeMap<String, String>,
    /// Config keys whose values are secrets: key -> the host environment variable
    /// that holds the value, read at run time and given to this plugin only.
    pub secrets: BTreeMap<String, String>,
    pub limits: Limits,
    pub grants: Grants,
}

/// How a plugin's component is built (`host run --build`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Build {
    /// A shell command, e.g. `cargo build -p lead-scorer --target wasm32-wasip2 --release`.
    pub command: String,
    /// Where it runs: `dir` resolved against the workflow file's directory (default:
    /// that directory).
    pub dir: PathBuf,
    /// Globs, relative to `dir`, of the files the component is built from, e.g.
    /// `["src/**/*.rs", "Cargo.toml"]`. Empty: the command always runs under `--build`
    /// (the build tool decides what is stale).
    pub watch: Vec<String>,
}

/// What a plugin may use beyond its input. Empty means nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    pub files: Vec<FileGrant>,
    /// Names of host environment variables passed through.
    pub env: Vec<String>,
    /// Plugin-scoped key-value data with its quota.
    pub kv: Option<KvGrant>,
    /// Outbound HTTP: the allowlist and its bounds.
    pub http: Option<HttpGrant>,
    /// Completions from a configured model, with budgets.
    pub llm: Option<LlmGrant>,
}

/// The quota of a `kv` grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvGrant {
    pub max_bytes: u64,
    pub max_keys: u64,
}

impl Grants {
    /// The capability names these grants cover, as plugins ask for them in `describe`.
    pub fn capabilities(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if !self.files.is_empty() {
            names.push("files");
        }
        if !self.env.is_empty() {
            names.push("env");
        }
        if self.kv.is_some() {
            names.push("kv");
        }
        if self.http.is_some() {
            names.push("http");
        }
        if self.llm.is_some() {
            names.push("llm");
        }
        names
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileGrant {
    /// The host directory, resolved against the workflow file's directory.
    pub host: PathBuf,
    /// The absolute path the plugin sees it at.
    pub guest: String,
    pub write: bool,
}

/// Limits a workflow sets for a plugin; unset ones keep the host's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Option<Duration>,
    pub memory: Option<u64>,
    pub max_output: Option<u64>,
    pub fuel: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub id: StepId,
    pub kind: StepKind,
    pub when: Option<Expr>,
    pub for_each: Option<Expr>,
    /// The steps this one refers to; it runs after all of them have finished.
    pub depends_on: BTreeSet<StepId>,
}

#[derive(Clone, Debug)]
pub enum StepKind {
    Task { uses: String, input: Template },
    Gate(Box<Gate>),
}

#[derive(Clone, Debug)]
pub struct Gate {
    pub approve: StepId,
    pub title: Template,
    pub reason: Template,
    /// A severity name, or a template giving one per item (`"{{ item.severity }}"`).
    pub severity: Template,
    /// `None`: the only choice is the approved step's output.
    pub choices: Option<Expr>,
    /// Shown to the operator beside the choices (e.g. a checker's flags); rendered when
    /// the gate opens.
    pub context: Option<Template>,
    pub editable: bool,
    pub edit_schema: Option<String>,
    pub timeout: Option<Duration>,
    pub on_timeout: OnTimeout,
    pub auto_approve: Option<Expr>,
    /// Who may decide; empty means any operator.
    pub approvers: Vec<String>,
}

const ROOTS: &str = "input, steps, item and index";

impl Workflow {
    /// Parses and checks `source`, the text of the workflow file at `path`.
    pub fn parse(path: &Path, source: &str) -> Result<Workflow, Problems> {
        let mut report = Reporter::new(path, source);
        let raw: RawWorkflow = match toml::from_str(source) {
            Ok(raw) => raw,
            Err(e) => {
                report.at(e.span().unwrap_or(0..0), toml_message(&e));
                return Err(report.finish().expect_err("a problem was reported"));
            }
        };
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            report.at(
                raw.name.span(),
                "`name` is empty; give the workflow a name, e.g. name = \"lead-followup\"",
            );
        }
        let plugins: BTreeMap<String, PluginDecl> = raw
            .plugins
            .iter()
            .filter_map(|(name, plugin)| {
                check_plugin(&mut report, &dir, name, plugin, source, path)
            })
            .map(|p| (p.name.clone(), p))
            .collect();
        if raw.steps.is_empty() {
            report.at(
                0..0,
                "the workflow has no steps; add at least one [[steps]] with an `id` and `uses`",
            );
        }
        let ids = step_ids(&mut report, &raw.steps);
        let mut steps = Vec::new();
        for raw_step in &raw.steps {
            if let Some(step) = check_step(&mut report, raw_step, &ids, &raw.plugins, &plugins) {
                steps.push(step);
            }
        }
        let llm = raw.llm.as_ref().map(|llm| {
            for (field, problem) in llm.get_ref().problems() {
                report.at(llm.span(), format!("llm.{field}: {problem}"));
            }
            let (line, column) = crate::position::line_column(source, llm.span().start);
            (
                llm.get_ref().clone(),
                format!("{}:{line}:{column}", path.display()),
            )
        });
        let webhook = raw
            .notify
            .as_ref()
            .and_then(|n| n.webhook.as_ref())
            .and_then(|value| match url::Url::parse(value.get_ref()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                Ok(_) => {
                    report.at(value.span(), "notify.webhook must be an http or https URL, e.g. \"https://hooks.slack.com/services/…\"");
                    None
                }
                Err(e) => {
                    report.at(value.span(), format!("notify.webhook is not a URL: {e}"));
                    None
                }
            });
        check_cycles(&mut report, &steps, &raw.steps);
        report.finish()?;
        Ok(Workflow {
            name,
            description: raw.description,
            path: path.to_path_buf(),
            plugins,
            steps,
            llm,
            webhook,
        })
    }

    pub fn step(&self, id: &StepId) -> Option<&Step> {
        self.steps.iter().find(|s| &s.id == id)
    }

    /// The plugin whose output a gate decides on, when the approved step is a task.
    pub fn gated_plugin(&self, gate: &Gate) -> Option<&str> {
        match &self.step(&gate.approve)?.kind {
            StepKind::Task { uses, .. } => Some(uses),
            StepKind::Gate(inner) => self.gated_plugin(inner),
        }
    }

    /// Whether a step runs once per item: its own `for_each`, or a gate approving a
    /// step that does.
    pub fn is_itemized(&self, step: &Step) -> bool {
        step.for_each.is_some()
            || match &step.kind {
                StepKind::Gate(gate) => self
                    .step(&gate.approve)
                    .is_some_and(|s| self.is_itemized(s)),
                StepKind::Task { .. } => false,
            }
    }
}

fn toml_message(error: &toml::de::Error) -> String {
    let message = error.message().trim().to_string();
    if message.contains("unknown field") {
        format!("{message}; remove it or check its spelling")
    } else {
        message
    }
}

fn check_plugin(
    report: &mut Reporter,
    dir: &Path,
    name: &str,
    plugin: &Spanned<RawPlugin>,
    source: &str,
    path: &Path,
) -> Option<PluginDecl> {
    let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid_name {
        report.at(
            plugin.span(),
            format!("plugin name {name:?} must be lowercase letters, digits, `-` or `_`, starting with a letter"),
        );
    }
    let raw = plugin.get_ref();
    let src = raw.source.get_ref();
    if src.trim().is_empty() {
        report.at(
            raw.source.span(),
            format!("plugins.{name}.source is empty; give the path of the .wasm component"),
        );
    }
    let mut config = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (key, value) in &raw.config {
        let text = match value.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Table(table)
                if table.len() == 1 && table.get("secret").is_some_and(|v| v.is_str()) =>
            {
                let variable = table["secret"].as_str().unwrap_or_default();
                if variable.is_empty()
                    || !variable
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    report.at(value.span(), format!("plugins.{name}.config.{key}: {variable:?} is not an environment variable name, e.g. {{ secret = \"ADS_API_TOKEN\" }}"));
                }
                secrets.insert(key.clone(), variable.to_string());
                continue;
            }
            _ => {
                report.at(
                    value.span(),
                    format!("plugins.{name}.config.{key} must be a string, number, boolean, or {{ secret = \"ENV_VAR\" }}"),
                );
                continue;
            }
        };
        config.insert(key.clone(), text);
    }
    let grants = raw
        .grants
        .as_ref()
        .map(|g| check_grants(report, dir, name, g))
        .unwrap_or_default();
    let limits = raw
        .limits
        .as_ref()
        .map(|l| check_limits(report, name, l))
        .unwrap_or_default();
    let (line, column) = crate::position::line_column(source, raw.source.span().start);
    Some(PluginDecl {
        name: name.to_string(),
        source: dir.join(src),
        source_position: format!("{}:{line}:{column}", path.display()),
        build: raw
            .build
            .as_ref()
            .and_then(|build| check_build(report, dir, name, build)),
        config,
        secrets,
        limits,
        grants,
    })
}

/// `build = "command"` or `build = { command = "...", dir = "...", watch = ["..."] }`.
fn check_build(
    report: &mut Reporter,
    dir: &Path,
    plugin: &str,
    raw: &Spanned<toml::Value>,
) -> Option<Build> {
    let example =
        "e.g. build = { command = \"make\", dir = \"../plugin\", watch = [\"src/*.py\"] }";
    let parsed: Result<RawBuild, String> = match raw.get_ref() {
        toml::Value::String(command) => Ok(RawBuild {
            command: command.clone(),
            dir: None,
            watch: Vec::new(),
        }),
        table @ toml::Value::Table(_) => table
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_string()),
        _ => Err("must be a command or a table".into()),
    };
    let problem = match parsed {
        Ok(build) if build.command.trim().is_empty() => "needs a non-empty `command`".to_string(),
        Ok(build) => match build
            .watch
            .iter()
            .find_map(|g| glob::Pattern::new(g).err().map(|e| (g, e)))
        {
            Some((glob, e)) => format!("watch: {glob:?} is not a glob: {e}"),
            None => {
                return Some(Build {
                    command: build.command,
                    dir: build.dir.map_or_else(|| dir.to_path_buf(), |d| dir.join(d)),
                    watch: build.watch,
                });
            }
        },
        Err(problem) => problem,
    };
    report.at(
        raw.span(),
        format!("plugins.{plugin}.build: {problem}; {example}"),
    );
    None
}

fn check_grants(
    report: &mut Reporter,
    dir: &Path,
    plugin: &str,
    raw: &Spanned<RawGrants>,
) -> Grants {
    let mut grants = Grants::default();
    for file in &raw.get_ref().files {
        let grant = file.get_ref();
        let guest_ok = grant.guest.starts_with('/')
            && !grant
                .guest
                .split('/')
                .any(|part| part == ".." || part == ".");
        if !guest_ok {
            report.at(file.span(), format!("plugins.{plugin}.grants.files: guest path {:?} must be absolute and plain, e.g. \"/data\"", grant.guest));
            continue;
        }
        if grant.path.trim().is_empty() {
            report.at(file.span(), format!("plugins.{plugin}.grants.files: `path` is empty; name a directory relative to the workflow file"));
            continue;
        }
        grants.files.push(FileGrant {
            host: dir.join(&grant.path),
            guest: grant.guest.clone(),
            write: grant.write,
        });
    }
    for variable in &raw.get_ref().env {
        let name = variable.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            report.at(
                variable.span(),
                format!(
                    "plugins.{plugin}.grants.env: {name:?} is not an environment variable name"
                ),
            );
            continue;
        }
        grants.env.push(name.clone());
    }
    if let Some(kv) = &raw.get_ref().kv {
        let max_bytes = match kv.get_ref().quota.as_deref().map(parse_size) {
            None => Some(1 << 20),
            Some(Ok(size)) => Some(size),
            Some(Err(e)) => {
                report.at(kv.span(), format!("plugins.{plugin}.grants.kv.quota: {e}"));
                None
            }
        };
        if let Some(max_bytes) = max_bytes {
            grants.kv = Some(KvGrant {
                max_bytes,
                max_keys: kv.get_ref().keys.unwrap_or(10_000),
            });
        }
    }
    if let Some(http) = &raw.get_ref().http {
        grants.http = check_http(report, plugin, http);
    }
    if let Some(llm) = &raw.get_ref().llm {
        grants.llm = check_llm(report, plugin, llm);
    }
    grants
}

fn check_llm(report: &mut Reporter, plugin: &str, raw: &Spanned<RawLlmGrant>) -> Option<LlmGrant> {
    let field = |name: &str| format!("plugins.{plugin}.grants.llm.{name}");
    let llm = raw.get_ref();
    let before = report.problems.len();
    let defaults = LlmGrant::default();
    let mut grant = LlmGrant {
        provider: llm.provider.clone(),
        model: llm.model.clone(),
        tokens_per_call: llm.tokens_per_call.unwrap_or(defaults.tokens_per_call),
        tokens_per_run: llm.tokens_per_run.unwrap_or(defaults.tokens_per_run),
        calls_per_run: llm.calls_per_run.unwrap_or(defaults.calls_per_run),
        timeout: None,
        retries: llm.retries,
    };
    for (name, value) in [
        ("tokens_per_call", grant.tokens_per_call),
        ("tokens_per_run", grant.tokens_per_run),
        ("calls_per_run", u64::from(grant.calls_per_run)),
    ] {
        if value == 0 {
            report.at(
                raw.span(),
                format!(
                    "{}: 0 allows nothing; leave `llm` out of the grants to deny it, or set a budget above 0",
                    field(name)
                ),
            );
        }
    }
    if grant.tokens_per_call > grant.tokens_per_run {
        grant.tokens_per_call = grant.tokens_per_run;
    }
    if let Some(timeout) = &llm.timeout {
        match parse_duration(timeout.get_ref()) {
            Ok(d) => grant.timeout = Some(d),
            Err(e) => report.at(timeout.span(), format!("{}: {e}", field("timeout"))),
        }
    }
    (report.problems.len() == before).then_some(grant)
}

fn check_http(
    report: &mut Reporter,
    plugin: &str,
    raw: &Spanned<RawHttpGrant>,
) -> Option<HttpGrant> {
    let field = |name: &str| format!("plugins.{plugin}.grants.http.{name}");
    let http = raw.get_ref();
    let mut grant = HttpGrant::default();
    let before = report.problems.len();
    for entry in &http.allow {
        let rule = http_rule(entry.get_ref());
        match rule {
            Ok(rule) => grant.rules.push(rule),
            Err(e) => report.at(entry.span(), format!("{}: {e}", field("allow"))),
        }
    }
    if http.allow.is_empty() {
        report.at(
            raw.span(),
            format!(
                "{}: list at least one URL, e.g. allow = [\"https://api.example.com/v1/\"]",
                field("allow")
            ),
        );
    }
    if let Some(timeout) = &http.timeout {
        match parse_duration(timeout.get_ref()) {
            Ok(d) => grant.timeout = d,
            Err(e) => report.at(timeout.span(), format!("{}: {e}", field("timeout"))),
        }
    }
    for (name, slot, value) in [
        ("max_response", &mut grant.max_response, &http.max_response),
        ("max_request", &mut grant.max_request, &http.max_request),
    ] {
        if let Some(value) = value {
            match parse_size(value.get_ref()) {
                Ok(size) => *slot = size,
                Err(e) => report.at(value.span(), format!("{}: {e}", field(name))),
            }
        }
    }
    if let Some(n) = http.max_requests {
        grant.max_requests = n;
    }
    (report.problems.len() == before).then_some(grant)
}

/// One `allow` entry: a URL, or `{ url, methods, private }`.
fn http_rule(entry: &toml::Value) -> Result<HttpRule, String> {
    let table = match entry {
        toml::Value::String(url) => return HttpRule::parse(url, None, false),
        toml::Value::Table(table) => table,
        _ => {
            return Err(
                "each entry is a URL or { url = \"...\", methods = [\"GET\"], private = false }"
                    .into(),
            );
        }
    };
    if let Some(unknown) = table
        .keys()
        .find(|k| !matches!(k.as_str(), "url" | "methods" | "private"))
    {
        return Err(format!(
            "unknown key `{unknown}`; an entry has `url`, `methods` and `private`"
        ));
    }
    let url = table
        .get("url")
        .and_then(toml::Value::as_str)
        .ok_or("the entry needs `url`, e.g. url = \"https://api.example.com/v1/\"")?;
    let methods = match table.get("methods") {
        None => None,
        Some(toml::Value::Array(list)) => Some(
            list.iter()
                .map(|m| m.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("`methods` is a list of names, e.g. [\"GET\", \"HEAD\"]")?,
        ),
        Some(_) => return Err("`methods` is a list of names, e.g. [\"GET\", \"HEAD\"]".into()),
    };
    let private = match table.get("private") {
        None => false,
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err("`private` is true or false".into()),
    };
    HttpRule::parse(url, methods, private)
}

fn check_limits(report: &mut Reporter, plugin: &str, raw: &RawLimits) -> Limits {
    let mut limits = Limits {
        fuel: raw.fuel,
        ..Limits::default()
    };
    if let Some(timeout) = &raw.timeout {
        match parse_duration(timeout.get_ref()) {
            Ok(d) => limits.timeout = Some(d),
            Err(e) => report.at(
                timeout.span(),
                format!("plugins.{plugin}.limits.timeout: {e}"),
            ),
        }
    }
    for (key, slot, value) in [
        ("memory", &mut limits.memory, &raw.memory),
        ("max_output", &mut limits.max_output, &raw.max_output),
    ] {
        if let Some(value) = value {
            match parse_size(value.get_ref()) {
                Ok(size) => *slot = Some(size),
                Err(e) => report.at(value.span(), format!("plugins.{plugin}.limits.{key}: {e}")),
            }
        }
    }
    limits
}

fn step_ids(report: &mut Reporter, steps: &[Spanned<RawStep>]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for step in steps {
        let id = step.get_ref().id.get_ref();
        if let Err(e) = StepId::try_from(id.clone()) {
            report.at(step.get_ref().id.span(), e.to_string());
        }
        if !ids.insert(id.clone()) {
            report.at(
                step.get_ref().id.span(),
                format!("step id {id:?} is used twice; step ids must be unique"),
            );
        }
    }
    ids
}

/// Records a reference problem and returns the step ids a template refers to.
fn resolve_references(
    report: &mut Reporter,
    span: std::ops::Range<usize>,
    field: &str,
    step: &str,
    references: &BTreeSet<String>,
    ids: &BTreeSet<String>,
    has_items: bool,
) -> BTreeSet<StepId> {
    let mut deps = BTreeSet::new();
    for reference in references {
        let mut parts = reference.split('.');
        match (parts.next(), parts.next()) {
            (Some("input"), _) => {}
            (Some("item" | "index"), _) if has_items => {}
            (Some("item" | "index"), _) => report.at(
                span.clone(),
                format!("step {step:?}: `{field}` uses `{reference}`, which only exists in a step with `for_each`"),
            ),
            (Some("steps"), Some(other)) => {
                if other == step {
                    report.at(span.clone(), format!("step {step:?}: `{field}` refers to its own output"));
                } else if !ids.contains(other) {
                    report.at(
                        span.clone(),
                        format!(
                            "step {step:?}: `{field}` refers to steps.{other}, which is not a step; steps: {}",
                            ids.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                } else if let Ok(id) = StepId::try_from(other.to_string()) {
                    deps.insert(id);
                }
            }
            (Some("steps"), None) => report.at(
                span.clone(),
                format!("step {step:?}: `{field}` must name the step it reads, as in steps.score.output"),
            ),
            (Some(root), _) => report.at(
                span.clone(),
                format!("step {step:?}: `{field}` uses unknown variable `{root}`; templates can use {ROOTS}"),
            ),
            (None, _) => {}
        }
    }
    deps
}

/// What a step's templated fields are checked against: its name, the step ids, and
/// whether `item` and `index` exist in it.
struct FieldScope<'a> {
    step: &'a str,
    ids: &'a BTreeSet<String>,
    has_items: bool,
}

impl FieldScope<'_> {
    /// A parsed template or expression, its references recorded as dependencies; or
    /// `None` with the problem reported at `span` (`problem` says what is wrong).
    fn field<T>(
        &self,
        report: &mut Reporter,
        deps: &mut BTreeSet<StepId>,
        field: &str,
        span: std::ops::Range<usize>,
        parsed: Result<(T, BTreeSet<String>), crate::TemplateError>,
        problem: &str,
    ) -> Option<T> {
        match parsed {
            Ok((value, refs)) => {
                deps.extend(resolve_references(
                    report,
                    span,
                    field,
                    self.step,
                    &refs,
                    self.ids,
                    self.has_items,
                ));
                Some(value)
            }
            Err(e) => {
                report.at(
                    span,
                    format!("step {:?}: `{field}` {problem}: {e}", self.step),
                );
                None
            }
        }
    }
}

fn check_step(
    report: &mut Reporter,
    raw: &Spanned<RawStep>,
    ids: &BTreeSet<String>,
    raw_plugins: &BTreeMap<String, Spanned<RawPlugin>>,
    plugins: &BTreeMap<String, PluginDecl>,
) -> Option<Step> {
    let s = raw.get_ref();
    let name = s.id.get_ref().clone();
    let id = StepId::try_from(name.clone()).ok()?;
    let mut deps = BTreeSet::new();
    let has_items = s.for_each.is_some() || s.approve.is_some();

    let scope = FieldScope {
        step: &name,
        ids,
        has_items,
    };
    let expr = |report: &mut Reporter,
                field: &str,
                value: &Option<Spanned<String>>,
                deps: &mut BTreeSet<StepId>| {
        let value = value.as_ref()?;
        let parsed = Expr::parse(value.get_ref());
        scope.field(
            report,
            deps,
            field,
            value.span(),
            parsed,
            "is not a valid expression",
        )
    };
    let when = expr(report, "when", &s.when, &mut deps);
    let for_each = expr(report, "for_each", &s.for_each, &mut deps);

    let kind = match (&s.uses, &s.approve) {
        (Some(_), Some(approve)) => {
            report.at(approve.span(), format!("step {name:?} has both `uses` and `approve`; a step is a task (`uses`) or a gate (`approve`), not both"));
            return None;
        }
        (None, None) => {
            report.at(s.id.span(), format!("step {name:?} needs `uses = \"<plugin>\"` (a task) or `approve = \"<step>\"` (a gate)"));
            return None;
        }
        (Some(uses), None) => {
            for (field, present) in [
                ("title", s.title.is_some()),
                ("reason", s.reason.is_some()),
                ("severity", s.severity.is_some()),
                ("choices", s.choices.is_some()),
                ("context", s.context.is_some()),
                ("edit", s.edit.is_some()),
                ("edit_schema", s.edit_schema.is_some()),
                ("timeout", s.timeout.is_some()),
                ("on_timeout", s.on_timeout.is_some()),
                ("auto_approve", s.auto_approve.is_some()),
                ("approvers", s.approvers.is_some()),
            ] {
                if present {
                    report.at(
                        s.id.span(),
                        format!(
                            "step {name:?}: `{field}` only applies to gates (steps with `approve`)"
                        ),
                    );
                }
            }
            if !raw_plugins.contains_key(uses.get_ref()) {
                report.at(
                    uses.span(),
                    format!(
                        "step {name:?} uses plugin {:?}, which is not declared; declared plugins: {}",
                        uses.get_ref(),
                        if plugins.is_empty() { "none (add a [plugins.<name>] table)".to_string() } else { plugins.keys().cloned().collect::<Vec<_>>().join(", ") }
                    ),
                );
            }
            let input = match &s.input {
                Some(value) => {
                    let parsed = Template::parse(value.get_ref());
                    scope.field(
                        report,
                        &mut deps,
                        "input",
                        value.span(),
                        parsed,
                        "has a template error",
                    )?
                }
                None => Template::parse_text("{{ input }}").ok()?.0,
            };
            StepKind::Task {
                uses: uses.get_ref().clone(),
                input,
            }
        }
        (None, Some(approve)) => {
            if s.input.is_some() {
                report.at(s.id.span(), format!("step {name:?}: a gate takes no `input`; it decides on the output of `approve`"));
            }
            let approved = approve.get_ref();
            if approved == &name {
                report.at(
                    approve.span(),
                    format!(
                        "step {name:?} approves itself; name the step whose output is decided on"
                    ),
                );
            } else if !ids.contains(approved) {
                report.at(
                    approve.span(),
                    format!(
                        "step {name:?} approves {approved:?}, which is not a step; steps: {}",
                        ids.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            let approve_id = StepId::try_from(approved.clone()).ok();
            if let Some(approve_id) = &approve_id {
                deps.insert(approve_id.clone());
            }
            let text = |report: &mut Reporter,
                        field: &str,
                        value: &Option<Spanned<String>>,
                        deps: &mut BTreeSet<StepId>| {
                let value = value.as_ref()?;
                let parsed = Template::parse_text(value.get_ref());
                scope.field(
                    report,
                    deps,
                    field,
                    value.span(),
                    parsed,
                    "has a template error",
                )
            };
            let title = text(report, "title", &s.title, &mut deps);
            if s.title.is_none() {
                report.at(
                    s.id.span(),
                    format!("gate {name:?} needs a `title`, e.g. title = \"Send this follow-up?\""),
                );
            }
            let reason = text(report, "reason", &s.reason, &mut deps)
                .unwrap_or(Template::Literal(serde_json::Value::String(String::new())));
            let choices = expr(report, "choices", &s.choices, &mut deps);
            let context = match &s.context {
                Some(value) => Some(scope.field(
                    report,
                    &mut deps,
                    "context",
                    value.span(),
                    Template::parse(value.get_ref()),
                    "has a template error",
                )?),
                None => None,
            };
            let auto_approve = expr(report, "auto_approve", &s.auto_approve, &mut deps);
            let severity = match text(report, "severity", &s.severity, &mut deps) {
                Some(Template::Literal(serde_json::Value::String(fixed)))
                    if Severity::parse(&fixed).is_none() =>
                {
                    let span = s.severity.as_ref().map(|v| v.span()).unwrap_or(0..0);
                    report.at(span, format!("step {name:?}: severity {fixed:?} is not one of critical, high, monitor, info (or a template giving one, e.g. \"{{{{ item.severity }}}}\")"));
                    Template::Literal(serde_json::Value::String("info".into()))
                }
                Some(template) => template,
                None => Template::Literal(serde_json::Value::String("info".into())),
            };
            let on_timeout = match &s.on_timeout {
                None => OnTimeout::Reject,
                Some(value) => match value.get_ref().as_str() {
                    "reject" => OnTimeout::Reject,
                    "approve_default" => OnTimeout::ApproveDefault,
                    other => {
                        report.at(value.span(), format!("step {name:?}: on_timeout {other:?} is not one of reject, approve_default"));
                        OnTimeout::Reject
                    }
                },
            };
            let timeout =
                s.timeout
                    .as_ref()
                    .and_then(|value| match parse_duration(value.get_ref()) {
                        Ok(d) => Some(d),
                        Err(e) => {
                            report.at(value.span(), format!("step {name:?}: timeout {e}"));
                            None
                        }
                    });
            if s.on_timeout.is_some() && s.timeout.is_none() {
                report.at(
                    s.id.span(),
                    format!(
                        "step {name:?}: `on_timeout` needs a `timeout`, e.g. timeout = \"48h\""
                    ),
                );
            }
            let edit_schema = s.edit_schema.as_ref().and_then(|value| {
                if value.get_ref().starts_with("#/") {
                    Some(value.get_ref().clone())
                } else {
                    report.at(value.span(), format!("step {name:?}: edit_schema must be a JSON pointer into the plugin's output schema, e.g. \"#/$defs/email\""));
                    None
                }
            });
            let approvers = match &s.approvers {
                None => Vec::new(),
                Some(list) => {
                    let names: Vec<String> = list
                        .get_ref()
                        .iter()
                        .map(|n| n.trim().to_string())
                        .collect();
                    if names.is_empty() || names.iter().any(String::is_empty) {
                        report.at(list.span(), format!("step {name:?}: `approvers` names the operators who may decide, e.g. approvers = [\"maria\"]; leave it out to let anyone decide"));
                    }
                    names
                }
            };
            StepKind::Gate(Box::new(Gate {
                approve: approve_id?,
                title: title?,
                reason,
                severity,
                choices,
                context,
                editable: s.edit.unwrap_or(true),
                edit_schema,
                timeout,
                on_timeout,
                auto_approve,
                approvers,
            }))
        }
    };
    Some(Step {
        id,
        kind,
        when,
        for_each,
        depends_on: deps,
    })
}

/// Reports each cycle once, at the first step of it in file order.
fn check_cycles(report: &mut Reporter, steps: &[Step], raw: &[Spanned<RawStep>]) {
    let deps: BTreeMap<&StepId, &BTreeSet<StepId>> =
        steps.iter().map(|s| (&s.id, &s.depends_on)).collect();
    let mut done: BTreeSet<&StepId> = BTreeSet::new();
    for step in steps {
        let mut path: Vec<&StepId> = Vec::new();
        if let Some(cycle) = find_cycle(&step.id, &deps, &mut path, &mut done) {
            let span = raw
                .iter()
                .find(|r| r.get_ref().id.get_ref() == cycle[0].as_str())
                .map(|r| r.get_ref().id.span())
                .unwrap_or(0..0);
            let names: Vec<&str> = cycle.iter().map(|s| s.as_str()).collect();
            report.at(
                span,
                format!(
                    "steps form a cycle: {}; a step can only use steps that finish before it",
                    names.join(" -> ")
                ),
            );
            return;
        }
    }
}

fn find_cycle<'a>(
    step: &'a StepId,
    deps: &BTreeMap<&'a StepId, &'a BTreeSet<StepId>>,
    path: &mut Vec<&'a StepId>,
    done: &mut BTreeSet<&'a StepId>,
) -> Option<Vec<&'a StepId>> {
    if let Some(start) = path.iter().position(|s| *s == step) {
        let mut cycle = path[start..].to_vec();
        cycle.push(step);
        return Some(cycle);
    }
    if done.contains(step) {
        return None;
    }
    path.push(step);
    if let Some(next) = deps.get(step) {
        for dep in next.iter() {
            if let Some((key, _)) = deps.get_key_value(dep)
                && let Some(cycle) = find_cycle(key, deps, path, done)
            {
                return Some(cycle);
            }
        }
    }
    path.pop();
    done.insert(step);
    None
}
