//! Baton for AI agents: a Model Context Protocol server (rmcp) whose tools are the
//! workflows and plugins the operator lists, and whose gates stay with a person.
//!
//! - Tools, in a fixed order: `workflow.NAME` for each workflow (its `input_schema`,
//!   its `[mcp]` annotations), `plugin.NAME` for each plugin (its `describe` schemas),
//!   and `baton.run_status` to follow a run up. Grants, limits and models come from
//!   the workflow files and the operator's configuration; nothing a client sends
//!   changes them.
//! - A workflow call that reaches a gate asks the person at the client through
//!   elicitation, when the client offers it and the gate allows it (not
//!   `decide_in = "inbox"`): in protocol 2026-07-28 as an `input_required` result
//!   whose state is sealed by this process (a client cannot make up a decision it
//!   was not asked); before it, as an `elicitation/create` request during the call.
//!   The answer is that operator's decision, recorded `via mcp`; approvers apply.
//!   Otherwise the run waits in the inbox and the result says how to follow it up.

use std::path::PathBuf;
use std::sync::Arc;

use baton_core::{DecisionId, DecisionRecord, RunId, RunState, RunStatus};
use baton_engine::Decision;
use baton_runtime::{Call, Plugin};
use baton_service::{Service, ServiceError};
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ElicitRequest, ElicitRequestParams,
    ElicitationAction, InputRequest, InputRequests, InputRequiredResult, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use crate::view::Doc;

/// How long `baton.run_status` waits for a run to move, at most.
const LONGEST_WAIT_S: u64 = 60;

/// One tool and what answers it.
enum Entry {
    /// The workflow file: loaded by the service that runs the call (a cache hit when
    /// the service is held; the compiled plugins come from the disk cache otherwise).
    Workflow(PathBuf),
    Plugin(Box<(Plugin, Call)>),
    Status,
}

/// The tools, in the order they are listed.
pub struct Catalog {
    tools: Vec<(Tool, Entry)>,
}

impl Catalog {
    /// Loads the workflows and plugins the operator listed.
    pub async fn load(
        service: &Service,
        workflows: &[PathBuf],
        plugins: &[(String, PathBuf)],
        runtime: &baton_runtime::Runtime,
    ) -> Result<Catalog, ServiceError> {
        let mut tools = Vec::new();
        let mut loaded = Vec::new();
        for path in workflows {
            loaded.push(service.workflow(path).await?);
        }
        loaded.sort_by(|a, b| a.workflow.name.cmp(&b.workflow.name));
        for workflow in loaded {
            let w = &workflow.workflow;
            let name = format!("workflow.{}", w.name);
            if tools.iter().any(|(t, _): &(Tool, Entry)| t.name == name) {
                return Err(ServiceError::Invalid(format!(
                    "two workflows are named {:?}; MCP tool names must differ",
                    w.name
                )));
            }
            let schema = w
                .input_schema
                .clone()
                .filter(|s| s.get("type") == Some(&json!("object")))
                .unwrap_or_else(|| json!({ "type": "object" }));
            let hints = w.tool_hints;
            let tool = tool(json!({
                "name": name,
                "title": w.name,
                "description": format!(
                    "{} Runs the workflow {}; where it needs a decision, the person at this client is asked (or it waits in Baton's inbox), never the agent.",
                    w.description.clone().unwrap_or_default(),
                    w.name
                ).trim(),
                "inputSchema": schema,
                "annotations": annotations(hints.read_only, hints.destructive, hints.idempotent, hints.open_world),
            }))?;
            tools.push((tool, Entry::Workflow(w.path.clone())));
        }
        let mut sorted: Vec<&(String, PathBuf)> = plugins.iter().collect();
        sorted.sort();
        for (name, path) in sorted {
            let call = Call::default();
            let plugin = runtime
                .load_with(path, &call.limits)
                .await
                .map_err(|e| ServiceError::Invalid(format!("plugin {name}: {e}")))?;
            let info = plugin.info();
            let object = |schema: &Value| schema.get("type") == Some(&json!("object"));
            let input_schema = if object(&info.input_schema) {
                info.input_schema.clone()
            } else {
                json!({ "type": "object" })
            };
            let mut description = json!({
                "name": format!("plugin.{name}"),
                "title": info.name,
                "description": format!("{} (plugin {} {}, sandboxed: no files, network, environment or model)", info.summary, info.name, info.version),
                "inputSchema": input_schema,
                "annotations": annotations(Some(true), Some(false), Some(true), Some(false)),
            });
            if object(&info.output_schema) {
                description["outputSchema"] = info.output_schema.clone();
            }
            tools.push((tool(description)?, Entry::Plugin(Box::new((plugin, call)))));
        }
        tools.push((
            tool(json!({
                "name": "baton.run_status",
                "title": "Follow up a run",
                "description": "Where a run started by a workflow tool stands: its result once it completed, or the decisions it waits for in Baton's inbox. With wait_seconds, waits up to that long (at most 60) for it to move.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "run": { "type": "string", "description": "The run id a workflow tool returned" },
                        "wait_seconds": { "type": "integer", "minimum": 0, "maximum": LONGEST_WAIT_S }
                    },
                    "required": ["run"]
                },
                "annotations": annotations(Some(true), Some(false), Some(true), Some(false)),
            }))?,
            Entry::Status,
        ));
        Ok(Catalog { tools })
    }
}

fn tool(value: Value) -> Result<Tool, ServiceError> {
    serde_json::from_value(value).map_err(|e| ServiceError::Host(format!("an MCP tool: {e}")))
}

fn annotations(
    read_only: Option<bool>,
    destructive: Option<bool>,
    idempotent: Option<bool>,
    open_world: Option<bool>,
) -> Value {
    let mut out = serde_json::Map::new();
    for (key, value) in [
        ("readOnlyHint", read_only),
        ("destructiveHint", destructive),
        ("idempotentHint", idempotent),
        ("openWorldHint", open_world),
    ] {
        if let Some(value) = value {
            out.insert(key.into(), json!(value));
        }
    }
    Value::Object(out)
}

/// The MCP server: the catalog, the service that runs the workflows, and who the
/// person at the client is.
#[derive(Clone)]
pub struct BatonMcp {
    service: Source,
    catalog: Arc<Catalog>,
    /// Who the person at the client is: the operator of `host mcp`, or over HTTP
    /// the operator whose token the request carries.
    operator: Operator,
    /// Seals the `requestState` of an elicitation (a decision id): only decisions
    /// this process asked about can be answered through it.
    key: [u8; 32],
}

/// Where the service comes from.
#[derive(Clone)]
pub enum Source {
    /// One service for the server's life (a shared store, or `host serve`'s).
    Held(Arc<Service>),
    /// The embedded store, opened for each call and let go of after it, so that the
    /// operator can decide in `host focus` or `host inbox` between two calls.
    PerCall(crate::GlobalArgs),
}

impl Source {
    async fn open(&self) -> Result<Arc<Service>, String> {
        match self {
            Source::Held(service) => Ok(service.clone()),
            Source::PerCall(global) => crate::access::service(global)
                .map(|s| Arc::new(s.observe(None)))
                .map_err(|e| e.to_string()),
        }
    }
}

/// A key for sealing `requestState`, new for each process.
fn new_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut key) {
        tracing::warn!("no random key for MCP request state ({e}); using the process's start time");
        key[..16].copy_from_slice(
            &std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
                .to_le_bytes(),
        );
    }
    key
}

/// Who the person at the client is.
#[derive(Clone)]
enum Operator {
    Fixed(String),
    /// Over HTTP: from the request's bearer token (checked before it got here).
    Token(Arc<crate::serve::shared::Shared>),
}

impl BatonMcp {
    pub fn new(service: Source, catalog: Arc<Catalog>, operator: String) -> BatonMcp {
        BatonMcp::with(service, catalog, Operator::Fixed(operator), new_key())
    }

    /// Every instance that may see the same client's retries (over HTTP, one per
    /// request) shares `key`.
    fn with(service: Source, catalog: Arc<Catalog>, operator: Operator, key: [u8; 32]) -> BatonMcp {
        BatonMcp {
            service,
            catalog,
            operator,
            key,
        }
    }

    /// Tells `host serve`'s live pages that a run changed (over HTTP only: `host
    /// mcp` serves no pages).
    fn tell(&self, state: &RunState) {
        if let Operator::Token(shared) = &self.operator {
            let _ = shared.changes.send(crate::serve::shared::Change {
                run: state.id.to_string(),
                status: state.status().as_str().to_string(),
                pending: state.pending().count(),
            });
        }
    }

    /// The operator making this request; `None` over HTTP without a known token.
    fn operator(&self, context: &RequestContext<RoleServer>) -> Option<String> {
        match &self.operator {
            Operator::Fixed(name) => Some(name.clone()),
            Operator::Token(shared) => {
                let parts = context.extensions.get::<http::request::Parts>()?;
                shared.auth.identify(&parts.headers).map(|who| who.operator)
            }
        }
    }

    fn seal(&self, id: &DecisionId) -> String {
        let mac = blake3::keyed_hash(&self.key, id.to_string().as_bytes());
        format!("{id} {}", mac.to_hex())
    }

    fn open(&self, state: &str) -> Option<DecisionId> {
        let (id, mac) = state.rsplit_once(' ')?;
        let expected = blake3::keyed_hash(&self.key, id.as_bytes());
        (blake3::Hash::from_hex(mac).ok()? == expected).then(|| id.parse().ok())?
    }

    async fn call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let ask = Ask::of(&context);
        let Some(operator) = self.operator(&context) else {
            return failed("no valid operator token came with the request".into());
        };
        if matches!(request.name.as_ref(), "baton.run_status") {
            let input = Value::Object(request.arguments.clone().unwrap_or_default());
            return self.status(&input).await;
        }
        let service = match self.service.open().await {
            Ok(service) => service,
            Err(e) => return failed(e),
        };
        let service = &*service;
        if let Some(state) = request.request_state.as_deref() {
            return self
                .answered(service, state, &request, ask, &context, &operator)
                .await;
        }
        let Some((_, entry)) = self
            .catalog
            .tools
            .iter()
            .find(|(tool, _)| tool.name == request.name)
        else {
            return failed(format!("no tool {:?}; tools/list names them", request.name));
        };
        let input = Value::Object(request.arguments.clone().unwrap_or_default());
        match entry {
            Entry::Plugin(loaded) => match loaded.0.invoke_value(&input, &loaded.1).await {
                Ok(invocation) => {
                    let text = invocation.output.to_string();
                    let mut result =
                        CallToolResult::success(vec![rmcp::model::ContentBlock::text(text)]);
                    result.structured_content = Some(invocation.output);
                    result.into()
                }
                Err(error) => failed(error.to_string()),
            },
            Entry::Workflow(path) => {
                let started = match service.workflow(path).await {
                    Ok(workflow) => service.start(workflow, input, &operator).await,
                    Err(e) => Err(e),
                };
                match started {
                    Ok(acted) => {
                        self.until_decided(service, acted.outcome.state, ask, &context, &operator)
                            .await
                    }
                    Err(error) => failed(crate::exit::failure(error).to_string()),
                }
            }
            Entry::Status => self.status(&input).await,
        }
    }

    /// After a run stops: its result when it ended; the person at the client asked
    /// about its next decision when that is allowed; else where it waits.
    async fn until_decided(
        &self,
        service: &Service,
        mut state: RunState,
        ask: Ask,
        context: &RequestContext<RoleServer>,
        operator: &str,
    ) -> CallToolResponse {
        loop {
            // The web inbox's live pages hear of what the run did.
            self.tell(&state);
            let Some(next) = next_to_ask(&state) else {
                return run_result(&state).into();
            };
            if matches!(ask, Ask::No) || next.request.inbox_only {
                return run_result(&state).into();
            }
            let params = elicitation(&next);
            if matches!(ask, Ask::InputRequired) {
                let mut requests = InputRequests::new();
                requests.insert(
                    "decision".into(),
                    InputRequest::Elicitation(ElicitRequest::new(params)),
                );
                return InputRequiredResult::new(Some(requests), Some(self.seal(&next.request.id)))
                    .into();
            }
            // Older clients: ask during the call.
            let answer = match context.peer.create_elicitation(params).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::debug!("elicitation failed: {e}");
                    return run_result(&state).into();
                }
            };
            let content = answer.content.unwrap_or(Value::Null);
            match self
                .decide(service, &next.request.id, answer.action, &content, operator)
                .await
            {
                Ok(Some(next_state)) => state = next_state,
                Ok(None) => return run_result(&state).into(),
                Err(message) => return failed(message),
            }
        }
    }

    /// A retried call carrying the person's answer (protocol 2026-07-28).
    async fn answered(
        &self,
        service: &Service,
        state: &str,
        request: &CallToolRequestParams,
        ask: Ask,
        context: &RequestContext<RoleServer>,
        operator: &str,
    ) -> CallToolResponse {
        let Some(id) = self.open(state) else {
            return failed(
                "the requestState is not one this server gave; call the tool again".into(),
            );
        };
        let answer = request
            .input_responses
            .as_ref()
            .and_then(|responses| responses.get("decision"))
            .cloned()
            .unwrap_or(Value::Null);
        let action = match answer["action"].as_str() {
            Some("accept") => ElicitationAction::Accept,
            Some("decline") => ElicitationAction::Decline,
            _ => ElicitationAction::Cancel,
        };
        match self
            .decide(service, &id, action, &answer["content"], operator)
            .await
        {
            Ok(Some(state)) => {
                self.until_decided(service, state, ask, context, operator)
                    .await
            }
            Ok(None) => match service.run(&id.run) {
                Ok(state) => run_result(&state).into(),
                Err(e) => failed(crate::exit::failure(e).to_string()),
            },
            Err(message) => failed(message),
        }
    }

    /// Records the person's answer as this operator's decision, made through MCP;
    /// `None` when they declined (the decision stays in the inbox).
    async fn decide(
        &self,
        service: &Service,
        id: &DecisionId,
        action: ElicitationAction,
        content: &Value,
        operator: &str,
    ) -> Result<Option<RunState>, String> {
        if action != ElicitationAction::Accept {
            return Ok(None);
        }
        let decision = match content["decision"].as_str() {
            Some("reject") => Decision::Reject {
                reason: content["reason"]
                    .as_str()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_string),
            },
            Some(choice) => match choice.parse::<usize>() {
                Ok(choice) => Decision::Approve { choice },
                Err(_) => {
                    return Err(format!(
                        "the answer {choice:?} is not one of the choices offered"
                    ));
                }
            },
            None => return Err("the answer names no decision".into()),
        };
        match service
            .decide_via(id, decision, operator, false, Some("mcp"))
            .await
        {
            Ok(acted) => Ok(Some(acted.outcome.state)),
            Err(e) => Err(format!(
                "{}; the decision waits in Baton's inbox",
                crate::exit::failure(e)
            )),
        }
    }

    /// `baton.run_status`: the run's result, or what it waits for.
    async fn status(&self, input: &Value) -> CallToolResponse {
        let Some(run) = input["run"].as_str() else {
            return failed("`run` is required: the run id a workflow tool returned".into());
        };
        let run: RunId = match run.parse() {
            Ok(run) => run,
            Err(e) => return failed(format!("`run`: {e}")),
        };
        let wait = input["wait_seconds"]
            .as_u64()
            .unwrap_or(0)
            .min(LONGEST_WAIT_S);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(wait);
        loop {
            // Opened for each look (and let go of between them on the embedded store).
            let state = match self.service.open().await {
                Ok(service) => match service.run(&run) {
                    Ok(state) => state,
                    Err(e) => return failed(crate::exit::failure(e).to_string()),
                },
                Err(e) => return failed(e),
            };
            let moving = matches!(state.status(), RunStatus::Waiting | RunStatus::Running);
            if !moving || std::time::Instant::now() >= until {
                return run_result(&state).into();
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

/// Whether and how the person at the client can be asked.
#[derive(Clone, Copy, Debug)]
enum Ask {
    /// The client offers no form elicitation.
    No,
    /// Protocol 2026-07-28: an `input_required` result, answered by a retried call.
    InputRequired,
    /// Earlier protocols: an `elicitation/create` request during the call.
    Request,
}

impl Ask {
    fn of(context: &RequestContext<RoleServer>) -> Ask {
        let offers = context
            .client_capabilities()
            .and_then(|c| c.elicitation)
            .is_some_and(|e| e.form.is_some() || e.url.is_none());
        if !offers {
            return Ask::No;
        }
        match context.protocol_version() {
            Some(v) if v >= ProtocolVersion::V_2026_07_28 => Ask::InputRequired,
            _ => Ask::Request,
        }
    }
}

/// The first pending decision, critical first.
fn next_to_ask(state: &RunState) -> Option<DecisionRecord> {
    if state.status() != RunStatus::Waiting {
        return None;
    }
    let mut pending: Vec<&DecisionRecord> = state.pending().collect();
    pending.sort_by_key(|d| (d.request.severity, d.opened_at));
    pending.first().map(|d| (*d).clone())
}

/// The form a person answers: the decision in words, and a choice of the default,
/// each alternative, or rejecting it (with why).
fn elicitation(record: &DecisionRecord) -> ElicitRequestParams {
    let request = &record.request;
    let mut message = format!(
        "Baton asks you to decide ({}): {}",
        request.severity.as_str(),
        request.title
    );
    if !request.reason.is_empty() {
        message.push_str(&format!("\n{}", request.reason));
    }
    message.push_str("\n\nThe default:\n");
    for line in Doc::for_choice(request, 0).text_lines(76) {
        message.push_str(&format!("  {line}\n"));
    }
    let mut options = vec![json!({
        "const": "0",
        "title": format!("Approve: {}", crate::report::choice_summary(&request.choices[0]))
    })];
    for (index, choice) in request.choices.iter().enumerate().skip(1) {
        message.push_str(&format!(
            "Alternative {index}: {}\n",
            crate::report::choice_summary(choice)
        ));
        options.push(json!({
            "const": index.to_string(),
            "title": format!("Alternative {index}: {}", crate::report::choice_summary(choice))
        }));
    }
    options.push(json!({ "const": "reject", "title": "Reject it" }));
    let schema = json!({
        "type": "object",
        "properties": {
            "decision": {
                "type": "string",
                "title": "Your decision",
                "oneOf": options,
                "default": "0"
            },
            "reason": {
                "type": "string",
                "title": "Why (when you reject it)"
            }
        },
        "required": ["decision"]
    });
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: crate::terminal::escape_control(message.trim_end()).into_owned(),
        requested_schema: serde_json::from_value(schema).unwrap_or_else(|e| {
            tracing::warn!("the decision form: {e}");
            serde_json::from_value(json!({ "type": "object", "properties": {} }))
                .expect("an empty form")
        }),
    }
}

/// A run as a tool result: its status, its steps' outputs, and for a waiting run
/// the decisions it waits for and how to follow it up.
fn run_result(state: &RunState) -> CallToolResult {
    let outputs: serde_json::Map<String, Value> = state
        .steps
        .values()
        .filter_map(|s| Some((s.key.to_string(), s.output.clone()?)))
        .collect();
    let status = state.status();
    let waiting: Vec<Value> = state
        .pending()
        .map(|d| {
            json!({
                "id": d.request.id.to_string(),
                "title": d.request.title,
                "severity": d.request.severity.as_str(),
            })
        })
        .collect();
    let text = match status {
        RunStatus::Waiting => format!(
            "Run {} of {} waits for {} decision{} in Baton's inbox (host focus, or the web inbox). Follow it up with baton.run_status {{\"run\": \"{}\", \"wait_seconds\": 60}}.",
            state.id,
            state.workflow,
            waiting.len(),
            if waiting.len() == 1 { "" } else { "s" },
            state.id
        ),
        other => format!(
            "Run {} of {} is {}{}.",
            state.id,
            state.workflow,
            other.as_str(),
            state
                .finish_note()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ),
    };
    let structured = json!({
        "run": state.id.to_string(),
        "workflow": state.workflow,
        "status": status.as_str(),
        "outputs": outputs,
        "waiting_for": waiting,
    });
    let mut result = CallToolResult::success(vec![rmcp::model::ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    if matches!(status, RunStatus::Failed) {
        result.is_error = Some(true);
    }
    result
}

/// A tool error the agent reads (not a protocol error): what went wrong and where.
fn failed(message: String) -> CallToolResponse {
    CallToolResult::error(vec![rmcp::model::ContentBlock::text(message)]).into()
}

impl ServerHandler for BatonMcp {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(
            rmcp::model::ServerCapabilities::builder()
                .enable_tools()
                .build(),
        );
        info.server_info = serde_json::from_value(json!({
            "name": "baton",
            "title": "Baton",
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .unwrap_or(info.server_info);
        info.instructions = Some(
            "Baton runs sandboxed plugins and workflows. A workflow that reaches a decision asks the person at this client, or waits in Baton's inbox; you cannot decide for them. Follow a waiting run up with baton.run_status."
                .into(),
        );
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, rmcp::ErrorData> {
        Ok(ListToolsResult {
            tools: self.catalog.tools.iter().map(|(t, _)| t.clone()).collect(),
            ..Default::default()
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        Ok(self.call(request, context).await)
    }
}

/// `/mcp` on `host serve`: Streamable HTTP, every request with an operator's bearer
/// token (401 without one), `Host` and `Origin` checked against DNS rebinding: the
/// address it listens on and the public URL only.
pub fn http_router(
    shared: Arc<crate::serve::shared::Shared>,
    catalog: Arc<Catalog>,
    bound: std::net::SocketAddr,
    public_url: &str,
) -> axum::Router {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let public = url::Url::parse(public_url).ok();
    let mut hosts = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
        bound.to_string(),
    ];
    let mut origins = vec![format!("http://{bound}")];
    if let Some(public) = &public {
        if let Some(host) = public.host_str() {
            hosts.push(host.to_string());
            hosts.push(match public.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            });
        }
        origins.push(public.origin().ascii_serialization());
    }
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins);
    let service = Source::Held(shared.service.clone());
    let factory_shared = shared.clone();
    let key = new_key();
    let mcp = StreamableHttpService::new(
        move || {
            Ok(BatonMcp::with(
                service.clone(),
                catalog.clone(),
                Operator::Token(factory_shared.clone()),
                key,
            ))
        },
        Arc::new(LocalSessionManager::default()),
        config,
    );
    axum::Router::new()
        .route_service("/mcp", mcp)
        .layer(axum::middleware::from_fn_with_state(
            shared,
            crate::serve::api::require_token,
        ))
}
