//! From the manifest to a checked [`Workflow`]: every reference resolved, every
//! template compiled, the step graph free of cycles. All problems are reported at
//! once, each at its line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use baton_core::{OnTimeout, PluginName, Severity, StepId};
use serde_spanned::Spanned;

use crate::manifest::{
    RawBuild, RawGrants, RawHttpGrant, RawLimits, RawLlmGrant, RawPlugin, RawStep, RawWorkflow,
};
use crate::position::{Problems, Reporter};
use crate::template::{Expr, Template};
use crate::units::{parse_duration, parse_size};
use baton_core::{HttpGrant, HttpRule, LlmConfig, LlmGrant};

mod gates;
mod grants;
mod graph;
mod plugins;
mod references;
mod steps;

use graph::check_cycles;
use plugins::check_plugin;
use steps::{check_step, step_ids};

/// The workflow's `input_schema`: a table, or a JSON file relative to the workflow;
/// either way a JSON Schema that compiles.
fn input_schema(
    report: &mut Reporter,
    dir: &Path,
    value: &serde_spanned::Spanned<toml::Value>,
) -> Option<serde_json::Value> {
    let span = value.span();
    let schema = match value.get_ref() {
        toml::Value::String(file) => {
            let path = dir.join(file);
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    report.at(
                        span,
                        format!("input_schema: cannot read {}: {e}", path.display()),
                    );
                    return None;
                }
            };
            match serde_json::from_str(&text) {
                Ok(schema) => schema,
                Err(e) => {
                    report.at(
                        span,
                        format!(
                            "input_schema: {} is not JSON: line {}, column {}: {e}",
                            path.display(),
                            e.line(),
                            e.column()
                        ),
                    );
                    return None;
                }
            }
        }
        toml::Value::Table(_) => match serde_json::to_value(value.get_ref()) {
            Ok(schema) => schema,
            Err(e) => {
                report.at(span, format!("input_schema: {e}"));
                return None;
            }
        },
        _ => {
            report.at(span, "input_schema is a JSON Schema: a table, e.g. input_schema = { type = \"object\", required = [\"leads\"] }, or the path of a JSON file");
            return None;
        }
    };
    if !schema.is_object() {
        report.at(span, "input_schema must be a JSON Schema object");
        return None;
    }
    match jsonschema::validator_for(&schema) {
        Ok(_) => Some(schema),
        Err(e) => {
            report.at(
                span,
                format!("input_schema is not a valid JSON Schema: {e}"),
            );
            None
        }
    }
}

/// A checked workflow.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub name: String,
    pub description: Option<String>,
    /// The workflow file, as given.
    pub path: PathBuf,
    pub plugins: BTreeMap<PluginName, PluginDecl>,
    /// In file order.
    pub steps: Vec<Step>,
    /// The workflow's `[llm]` table, laid over the host configuration's, with where
    /// it is written (`workflow.toml:40:1`).
    pub llm: Option<(LlmConfig, String)>,
    /// `[notify] webhook`: called with a JSON POST when a run starts waiting.
    pub webhook: Option<url::Url>,
    /// What a run is about: a text template over `input` and the steps' outputs.
    pub summary: Option<Template>,
    /// The JSON Schema a run's input must match (`input_schema`), read and checked.
    pub input_schema: Option<serde_json::Value>,
    /// What the workflow does, for agents calling it as an MCP tool (`[mcp]`).
    pub tool_hints: ToolHints,
}

/// `[mcp]`: MCP tool annotations, from the workflow file alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ToolHints {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct PluginDecl {
    pub name: PluginName,
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
    /// Runs once per item of this step, each as soon as that item is done.
    pub after_each: Option<StepId>,
    /// The steps this one refers to; it runs after all of them have finished (but
    /// `after_each`, whose items it follows one by one).
    pub depends_on: BTreeSet<StepId>,
}

#[derive(Clone, Debug)]
pub enum StepKind {
    Task { uses: PluginName, input: Template },
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
    /// How each choice reads (markdown), rendered per choice with `choice` in scope.
    pub view: Option<Template>,
    pub editable: bool,
    pub edit_schema: Option<String>,
    pub timeout: Option<Duration>,
    pub on_timeout: OnTimeout,
    pub auto_approve: Option<Expr>,
    /// What kind of decision each one is (text), rendered when the gate opens.
    pub kind: Option<Template>,
    /// What share of the auto-approved decisions a person reviews afterwards.
    pub spot_check: Option<baton_core::SpotCheckPolicy>,
    /// `decide_in = "inbox"`: never decided through an agent's client.
    pub inbox_only: bool,
    /// Who may decide; empty means any operator.
    pub approvers: Vec<String>,
}

impl Workflow {
    /// Parses and checks `source`, the text of the workflow file at `path`.
    pub fn parse(path: &Path, source: &str) -> Result<Workflow, Problems> {
        let mut report = Reporter::new(path, source);
        let raw: RawWorkflow = match toml::from_str(source) {
            Ok(raw) => raw,
            Err(e) => {
                report.at(e.span().unwrap_or(0..0), toml_message(&e, source));
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
        } else if let Some(c) = name.chars().find(|c| c.is_control()) {
            // The name is part of its plugins' kv scopes (`<workflow>/<plugin>`) and of
            // every listing: a control character could make one workflow's scope read
            // as another's, or rewrite a terminal line.
            report.at(
                raw.name.span(),
                format!(
                    "`name` holds the control character {:?}; use letters, digits, spaces and punctuation, e.g. name = \"lead-followup\"",
                    c
                ),
            );
        }
        let plugins: BTreeMap<PluginName, PluginDecl> = raw
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
        let summary = raw.summary.as_ref().and_then(|value| {
            match Template::parse_text(value.get_ref()) {
                Ok((template, refs)) => {
                    for reference in &refs {
                        let mut parts = reference.split('.');
                        let known = match (parts.next(), parts.next()) {
                            (Some("input"), _) => true,
                            (Some("steps"), Some(id)) => ids.contains(id),
                            _ => false,
                        };
                        if !known {
                            report.at(value.span(), format!("`summary` uses `{reference}`; it can use input and steps.<id>.output (steps: {})", ids.iter().cloned().collect::<Vec<_>>().join(", ")));
                        }
                    }
                    Some(template)
                }
                Err(e) => {
                    report.at(value.span(), format!("`summary` has a template error: {e}"));
                    None
                }
            }
        });
        let input_schema = raw
            .input_schema
            .as_ref()
            .and_then(|value| input_schema(&mut report, &dir, value));
        let tool_hints = raw
            .mcp
            .as_ref()
            .map(|m| ToolHints {
                read_only: m.read_only,
                destructive: m.destructive,
                idempotent: m.idempotent,
                open_world: m.open_world,
            })
            .unwrap_or_default();
        check_after_each(&mut report, &steps, &raw.steps);
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
            summary,
            input_schema,
            tool_hints,
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
            || step.after_each.is_some()
            || match &step.kind {
                StepKind::Gate(gate) => self
                    .step(&gate.approve)
                    .is_some_and(|s| self.is_itemized(s)),
                StepKind::Task { .. } => false,
            }
    }
}

/// `after_each` names a step that runs per item.
fn check_after_each(report: &mut Reporter, steps: &[Step], raw: &[Spanned<RawStep>]) {
    let workflow = Workflow {
        name: String::new(),
        description: None,
        path: PathBuf::new(),
        plugins: BTreeMap::new(),
        steps: steps.to_vec(),
        llm: None,
        webhook: None,
        summary: None,
        input_schema: None,
        tool_hints: ToolHints::default(),
    };
    for step in steps {
        let Some(source) = &step.after_each else {
            continue;
        };
        let Some(span) = raw
            .iter()
            .find(|r| r.get_ref().id.get_ref() == step.id.as_str())
            .and_then(|r| r.get_ref().after_each.as_ref())
        else {
            continue;
        };
        if workflow
            .step(source)
            .is_some_and(|s| !workflow.is_itemized(s))
        {
            report.at(
                span.span(),
                format!(
                    "step {:?}: after_each = {:?}, but {:?} runs once, not per item; name a step with `for_each` or a gate over one, or use a plain reference",
                    step.id.as_str(),
                    source.as_str(),
                    source.as_str()
                ),
            );
        }
    }
}

fn toml_message(error: &toml::de::Error, source: &str) -> String {
    let message = error.message().trim().to_string();
    if message.contains("unknown field") {
        return format!("{message}; remove it or check its spelling");
    }
    // A gate's `choices` is one template that gives the list, not a TOML list.
    let key = error
        .span()
        .and_then(|span| source.get(..span.start))
        .and_then(|before| before.lines().last())
        .and_then(|line| line.split('=').next())
        .map(str::trim);
    if key == Some("choices") && message.starts_with("invalid type") {
        return "`choices` is one template string that gives the list of choices (the first is \
            the default, up to three more are alternatives), not a TOML list, e.g. choices = \
            \"{{ steps.draft.output.options }}\""
            .to_string();
    }
    message
}

/// What the checkers' unit tests share: a workflow from text, and its problems.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// `[plugins.echo]` and one task using it, followed by `more`.
    pub(crate) fn with_echo(more: &str) -> String {
        format!(
            "name = \"t\"\n[plugins.echo]\nsource = \"echo.wasm\"\n\n[[steps]]\nid = \"first\"\nuses = \"echo\"\n{more}"
        )
    }

    pub(crate) fn parse(text: &str) -> Result<Workflow, String> {
        Workflow::parse(Path::new("/w/workflow.toml"), text).map_err(|p| p.to_string())
    }

    /// The problems of `text`, which must have some.
    pub(crate) fn problems(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("expected problems in:\n{text}"),
            Err(problems) => problems,
        }
    }
}
