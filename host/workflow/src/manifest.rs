//! The workflow file as written: serde types that only parse, with the span of
//! every value a check may need to point at. Unknown keys are errors.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_spanned::Spanned;

/// The top level of `workflow.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkflow {
    /// The workflow's name, e.g. `"lead-followup"`.
    pub(crate) name: Spanned<String>,
    /// One line for humans.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// What each run is about, as a template over `input` and the steps' outputs,
    /// e.g. `"{{ steps.score.output.top.lead.contact }} at {{ steps.score.output.top.lead.company }}"`;
    /// shown in the run lists and the inbox once it renders.
    #[serde(default)]
    pub(crate) summary: Option<Spanned<String>>,
    /// The plugins the steps may use, by the name the steps call them.
    #[serde(default)]
    pub(crate) plugins: BTreeMap<String, Spanned<RawPlugin>>,
    /// The steps, in any order: references decide what runs when.
    #[serde(default)]
    pub(crate) steps: Vec<Spanned<RawStep>>,
    /// Model providers and prices for this workflow, laid over the host
    /// configuration's `[llm]` (e.g. a local Ollama for a demo).
    #[serde(default)]
    pub(crate) llm: Option<Spanned<baton_core::LlmConfig>>,
    /// Who hears of this workflow's runs, e.g. `[notify] webhook = "https://hooks.example/…"`.
    #[serde(default)]
    pub(crate) notify: Option<RawNotify>,
    /// The JSON Schema a run's input must match: a table, or the path of a JSON file
    /// relative to this one, e.g. `input_schema = "input.schema.json"`.
    #[serde(default)]
    pub(crate) input_schema: Option<Spanned<toml::Value>>,
    /// How an agent's client should treat the workflow as an MCP tool (`host mcp`).
    #[serde(default)]
    pub(crate) mcp: Option<RawMcp>,
}

/// `[mcp]`: what the workflow does, for the agents that call it as a tool; the
/// operator says it, never a plugin.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMcp {
    pub(crate) read_only: Option<bool>,
    pub(crate) destructive: Option<bool>,
    pub(crate) idempotent: Option<bool>,
    pub(crate) open_world: Option<bool>,
}

/// `[notify]`: told when a run starts waiting for decisions (by `host serve`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotify {
    /// An http(s) URL that receives a JSON POST.
    pub(crate) webhook: Option<Spanned<String>>,
}

/// `[plugins.scorer]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlugin {
    /// The component, relative to the workflow file, e.g. `"../../target/wasm32-wasip2/release/lead_scorer.wasm"`.
    pub(crate) source: Spanned<String>,
    /// How to build the component: a command, or a table
    /// `{ command = "make", dir = "../../plugins/tone-checker", watch = ["*.py"] }`
    /// (read in `check`, so that each mistake is reported at its own key).
    #[serde(default)]
    pub(crate) build: Option<Spanned<toml::Value>>,
    /// Values behind the `config` import, e.g. `{ hot-threshold = "80" }`. Numbers and
    /// booleans are passed as their text.
    #[serde(default)]
    pub(crate) config: BTreeMap<String, Spanned<toml::Value>>,
    /// Limits per call, e.g. `{ timeout = "2s", memory = "64MiB" }`.
    #[serde(default)]
    pub(crate) limits: Option<RawLimits>,
    /// What the plugin may use beyond its input; everything else is denied, e.g.
    /// `{ files = [{ path = "data", guest = "/data" }], env = ["TZ"] }`.
    #[serde(default)]
    pub(crate) grants: Option<Spanned<RawGrants>>,
}

/// `build = { command = "make", dir = "../plugin", watch = ["*.py"] }`; `build = "make"`
/// is the same with only `command`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBuild {
    pub(crate) command: String,
    /// Where the command runs, relative to the workflow file.
    #[serde(default)]
    pub(crate) dir: Option<String>,
    /// Globs, relative to `dir`, of the files the component is built from.
    #[serde(default)]
    pub(crate) watch: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGrants {
    /// Directories, read-only unless `write = true`.
    #[serde(default)]
    pub(crate) files: Vec<Spanned<RawFileGrant>>,
    /// Host environment variables passed through by name.
    #[serde(default)]
    pub(crate) env: Vec<Spanned<String>>,
    /// Durable key-value data private to the plugin, e.g. `{ quota = "1MiB", keys = 1000 }`.
    #[serde(default)]
    pub(crate) kv: Option<Spanned<RawKvGrant>>,
    /// Outbound HTTP to the listed URLs only, e.g.
    /// `{ allow = ["https://api.example.com/v1/"], timeout = "10s" }`.
    #[serde(default)]
    pub(crate) http: Option<Spanned<RawHttpGrant>>,
    /// Completions from a configured model, with budgets, e.g.
    /// `{ provider = "drafting", tokens_per_run = 6000, calls_per_run = 3 }`.
    #[serde(default)]
    pub(crate) llm: Option<Spanned<RawLlmGrant>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLlmGrant {
    /// A provider of the host configuration (or the workflow's `[llm]`) by name.
    pub(crate) provider: Option<String>,
    /// A model on that provider, or the name of a provider.
    pub(crate) model: Option<String>,
    /// Tokens in and out of one call (default 4096).
    pub(crate) tokens_per_call: Option<u64>,
    /// Tokens of all the plugin's calls in one run (default 20000).
    pub(crate) tokens_per_run: Option<u64>,
    /// Calls in one run (default 10).
    pub(crate) calls_per_run: Option<u32>,
    /// Most time for one attempt (default: the provider's, 60s).
    pub(crate) timeout: Option<Spanned<String>>,
    /// Attempts after the first on 429, 5xx and timeouts (default: the provider's, 2).
    pub(crate) retries: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttpGrant {
    /// URLs (scheme, host, optional port and path prefix), each a string or a table
    /// `{ url = "...", methods = ["GET"], private = true }` (read in `check`, so that
    /// each entry's problem is reported at its own place).
    pub(crate) allow: Vec<Spanned<toml::Value>>,
    /// Most time to connect, to the first byte, and between bytes (default 30s).
    pub(crate) timeout: Option<Spanned<String>>,
    /// Bytes of one response body (default 4MiB).
    pub(crate) max_response: Option<Spanned<String>>,
    /// Bytes of one request body (default 1MiB).
    pub(crate) max_request: Option<Spanned<String>>,
    /// Requests in one call (default 32).
    pub(crate) max_requests: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKvGrant {
    /// Bytes of keys and values together, e.g. `"1MiB"` (default 1 MiB).
    pub(crate) quota: Option<String>,
    /// Number of keys (default 10,000).
    pub(crate) keys: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFileGrant {
    /// A directory, relative to the workflow file, e.g. `"data"`.
    pub(crate) path: String,
    /// Where the plugin sees it, an absolute guest path, e.g. `"/data"`.
    pub(crate) guest: String,
    /// Allow creating, changing and deleting files in it (default false).
    #[serde(default)]
    pub(crate) write: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLimits {
    pub(crate) timeout: Option<Spanned<String>>,
    pub(crate) memory: Option<Spanned<String>>,
    pub(crate) max_output: Option<Spanned<String>>,
    pub(crate) fuel: Option<u64>,
}

/// `[[steps]]`: a task (`uses`) or a gate (`approve`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    /// e.g. `"score"`; later steps refer to `steps.score.output`.
    pub(crate) id: Spanned<String>,
    /// The plugin this task calls.
    pub(crate) uses: Option<Spanned<String>>,
    /// The task's input: a template string or a table of them.
    pub(crate) input: Option<Spanned<toml::Value>>,
    /// Run only when this expression is true, e.g. `"steps.score.output.top is not none"`.
    pub(crate) when: Option<Spanned<String>>,
    /// Run once per item of this list expression; `item` and `index` are in scope.
    pub(crate) for_each: Option<Spanned<String>>,
    /// Run once per item of the step named here (a gate over a list, say) as soon as
    /// that item is done, not when the last one is: `item` is its output, `index` its
    /// place, and `steps.<that step>.output` the outputs done so far.
    pub(crate) after_each: Option<Spanned<String>>,
    /// A gate: the step whose output the operator decides on.
    pub(crate) approve: Option<Spanned<String>>,
    pub(crate) title: Option<Spanned<String>>,
    pub(crate) reason: Option<Spanned<String>>,
    /// critical, high, monitor or info.
    pub(crate) severity: Option<Spanned<String>>,
    /// An expression giving the options: the default first, up to three alternatives.
    pub(crate) choices: Option<Spanned<String>>,
    /// What the operator should see beside the choices: a template string or a table of
    /// them, e.g. `{ tone = "{{ steps.tone.output.summary }}" }`.
    pub(crate) context: Option<Spanned<toml::Value>>,
    /// How each choice reads to a person: a template giving a small markdown subset
    /// (headings, paragraphs, lists, tables, emphasis), with `choice` the choice shown,
    /// e.g. `"**To:** {{ choice.to }}\n\n{{ choice.body }}"`.
    pub(crate) view: Option<Spanned<String>>,
    /// Whether the operator may edit the value (default true).
    pub(crate) edit: Option<bool>,
    /// A JSON pointer into the gated plugin's output schema that an edit must match,
    /// e.g. `"#/$defs/email"`; by default the whole output schema.
    pub(crate) edit_schema: Option<Spanned<String>>,
    /// How long the decision may wait, e.g. `"48h"`.
    pub(crate) timeout: Option<Spanned<String>>,
    /// `reject` (default) or `approve_default`.
    pub(crate) on_timeout: Option<Spanned<String>>,
    /// An expression; when true the gate approves its default without a human. It may
    /// name `kind`, e.g. `"kind == 'negative-keyword/monitor'"`.
    pub(crate) auto_approve: Option<Spanned<String>>,
    /// What kind of decision this is, a text template, e.g.
    /// `"{{ item.kind }}/{{ item.severity }}"`: outcomes, suggestions and auto-approval
    /// rules work per kind.
    pub(crate) kind: Option<Spanned<String>>,
    /// The share of auto-approved decisions a person reviews after the fact, e.g.
    /// `"10%"`.
    pub(crate) spot_check: Option<Spanned<String>>,
    /// The agreement of spot checks below which the gate stops auto-approving a kind
    /// (default `"80%"`).
    pub(crate) spot_check_agreement: Option<Spanned<String>>,
    /// Where a person may decide: `anywhere` (default: the inbox, or the client of an
    /// agent that started the run, through MCP elicitation) or `inbox`.
    pub(crate) decide_in: Option<Spanned<String>>,
    /// The operators who may decide at this gate, e.g. `["maria", "li"]`; anyone when unset.
    pub(crate) approvers: Option<Spanned<Vec<String>>>,
}
