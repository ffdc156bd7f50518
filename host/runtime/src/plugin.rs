//! A loaded plugin: pre-instantiated once, then called in a fresh sandboxed store per
//! invocation so that nothing survives from one call to the next.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use jsonschema::Validator;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasmtime::component::HasSelf;
use wasmtime::{Store, Trap, WasmBacktrace};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use baton_core::StepCall;

use crate::bindings::{self, ToolError, ToolInfo};
use crate::error::{ErrorKind, LoadError, PluginError};
use crate::grants::{Grants, redact};
use crate::host::config::ConfigCtx;
use crate::host::kv::KvCtx;
use crate::host::llm::LlmHost;
use crate::host::log::{LogBuffer, LogLevel, LogLine};
use crate::limits::{LimitHit, Limits, MAX_INSTANCES, MAX_MEMORIES, MAX_TABLES};
use crate::load::{CacheOutcome, Interfaces, Prepared};
use crate::schema;
use crate::state::{GUEST_OUTPUT_CAP, PluginState};
use crate::{Runtime, load};

/// Extra wall-clock time given beyond the epoch deadline before the host gives up on
/// a call that is waiting on the host (the epoch only interrupts guest code).
const HOST_WAIT_GRACE: Duration = Duration::from_millis(50);
/// Most random bytes one call of `wasi:random` returns: wasmtime's default, which the
/// host keeps (and sets, so the figure in errors is the one in force).
pub(crate) const MAX_RANDOM_BYTES: u64 = 64 << 20;

/// Room beyond `max_output` in the hostcall fuel for the rest of a returned value.
const HOSTCALL_SLACK: usize = 64 * 1024;
/// What wasmtime says when hostcall fuel runs out (its error type is private).
const HOSTCALL_FUEL_EXHAUSTED: &str = "fuel allocated for hostcalls has been exhausted";
/// What wasmtime says when a store's host resource table is full.
const HOST_TABLE_FULL: &str = "resource table has no free keys";
/// What wasmtime says when a store's component handle limit is reached.
const COMPONENT_HANDLES_EXHAUSTED: &str = "store handle limit exceeded";

/// What a plugin says about itself, with its schemas parsed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub summary: String,
    pub input_schema: Value,
    pub output_schema: Value,
    pub capabilities: Vec<String>,
}

/// Where a plugin came from and how it was loaded.
#[derive(Clone, Debug, Serialize)]
pub struct PluginSource {
    /// The file, when loaded from one.
    pub path: Option<PathBuf>,
    /// BLAKE3 digest of the component's bytes: what a run records to detect changed code.
    pub digest: String,
    pub size: usize,
    /// The contract version it was built against, e.g. `0.1.0`.
    pub contract: String,
    #[serde(skip)]
    pub cache: CacheOutcome,
    /// Time to compile or to load from the cache.
    #[serde(skip)]
    pub prepare_time: Duration,
}

/// One call's settings: the limits, the values behind the `config` import, what the
/// plugin is granted, and the secret values to scrub from what it returns.
#[derive(Clone, Debug, Default)]
pub struct Call {
    pub limits: Limits,
    pub config: Arc<BTreeMap<String, String>>,
    pub grants: Arc<Grants>,
    /// Values of secret config entries; never shown in outputs, logs or errors (nor is
    /// the `llm` provider's key, which is scrubbed without being listed here).
    pub secrets: Arc<Vec<String>>,
    /// The `kv` grant; `None` denies every key-value call.
    pub kv: Option<crate::KvAccess>,
    /// The `http` grant; `None` refuses every outbound request.
    pub http: Option<Arc<crate::HttpGrant>>,
    /// The `llm` grant; `None` answers every completion `not-granted`.
    pub llm: Option<Arc<crate::LlmAccess>>,
    /// What the call gets from its run (recorded exchanges, usage, the journal).
    pub step: StepCall,
}

impl Call {
    /// Every value to scrub from what the plugin returns: the secret config values,
    /// and the key of its `llm` provider (never given to it; scrubbed all the same).
    fn secret_values(&self) -> std::borrow::Cow<'_, [String]> {
        let key = self
            .llm
            .as_ref()
            .and_then(|access| access.target.as_ref().ok())
            .and_then(|target| target.key.clone());
        match key {
            None => std::borrow::Cow::Borrowed(self.secrets.as_slice()),
            Some(key) => {
                std::borrow::Cow::Owned(self.secrets.iter().cloned().chain([key]).collect())
            }
        }
    }
}

/// A successful call.
#[derive(Debug)]
pub struct Invocation {
    /// The output, already checked against the plugin's output schema.
    pub output: Value,
    /// The output exactly as the plugin wrote it.
    pub output_text: String,
    pub logs: Vec<LogLine>,
    /// Log lines refused or cut because the per-call cap was reached.
    pub logs_dropped: usize,
    pub elapsed: Duration,
}

/// A plugin ready to be called. Cheap to share: calls take `&self`.
pub struct Plugin {
    runtime: Runtime,
    source: PluginSource,
    compiled: Arc<Compiled>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// What loading a component yields, once per digest in a runtime: loading the same
/// code again while a plugin of it is alive reuses it (the pre-instantiated
/// component, its description and its compiled schemas) instead of mapping,
/// linking and compiling them again.
pub(crate) struct Compiled {
    pub(crate) component: wasmtime::component::Component,
    info: PluginInfo,
    interfaces: Interfaces,
    contract: String,
    pre: bindings::PluginPre<PluginState>,
    input_validator: OnceLock<Validator>,
    output_validator: OnceLock<Validator>,
    /// The size of the description as kept (JSON), checked against the output limit
    /// of every load, not only the one that called `describe`.
    described: usize,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("info", &self.compiled.info)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// The guest call a sandbox makes.
enum Op<'a> {
    Describe,
    Invoke(&'a str),
}

enum OpResult {
    Describe(ToolInfo),
    Invoke(Result<String, ToolError>),
}

struct Sandboxed {
    result: Result<OpResult, ErrorKind>,
    logs: Vec<LogLine>,
    logs_dropped: usize,
    /// Outbound requests the host refused, in order.
    http_refusals: Vec<String>,
}

impl Plugin {
    pub(crate) async fn from_prepared(
        runtime: Runtime,
        label: String,
        path: Option<PathBuf>,
        prepared: Prepared,
        limits: &Limits,
    ) -> Result<Plugin, PluginError> {
        let fail = |e: LoadError| PluginError::new(&label, e);
        let source = |compiled: &Compiled, prepared: &Prepared| PluginSource {
            path: path.clone(),
            digest: prepared.digest.to_string(),
            size: prepared.size,
            contract: compiled.contract.clone(),
            cache: prepared.cache.clone(),
            prepare_time: prepared.compile_time,
        };
        // A description is output of the plugin: one larger than this load's output
        // limit is refused, whether it comes from `describe`, the cache or a plugin
        // already loaded with a larger limit (then `describe` is called again, under
        // this limit, and fails as it would have).
        let fits = |size: usize| size <= limits.max_output;
        if let Some(compiled) = prepared.reuse.as_ref().filter(|c| fits(c.described)) {
            return Ok(Plugin {
                source: source(compiled, &prepared),
                runtime,
                compiled: compiled.clone(),
            });
        }
        let engine = &runtime.inner.engine;
        let interfaces = load::interfaces(engine, &prepared.component);
        let contract = load::contract_version(&interfaces).map_err(fail)?;
        let instance_pre = runtime
            .inner
            .linker
            .instantiate_pre(&prepared.component)
            .map_err(|e| fail(load::unsupported_import(&e)))?;
        let pre = bindings::PluginPre::new(instance_pre).map_err(|e| {
            fail(LoadError::WrongExportType {
                reason: format!("{e:#}"),
            })
        })?;

        // A description the cache kept was checked (schemas compiled) when it was
        // recorded; its validators are compiled again on first use.
        let cached = prepared
            .description
            .as_deref()
            .filter(|bytes| fits(bytes.len()))
            .and_then(|bytes| {
                Some((
                    serde_json::from_slice::<PluginInfo>(bytes).ok()?,
                    bytes.len(),
                ))
            });
        let (info, input_validator, output_validator, described) = match cached {
            Some((info, size)) => (info, OnceLock::new(), OnceLock::new(), size),
            None => {
                let describe_call = Call {
                    limits: limits.clone(),
                    ..Call::default()
                };
                let described = sandboxed_call(&runtime, &pre, &describe_call, Op::Describe).await;
                let tool_info = match described.result {
                    Ok(OpResult::Describe(info)) => info,
                    Ok(OpResult::Invoke(_)) => unreachable!("describe returns a description"),
                    Err(kind) => return Err(fail(LoadError::Describe(Box::new(kind)))),
                };
                let (info, input, output) = check_description(tool_info).map_err(fail)?;
                // Plain strings and JSON values: serialising cannot fail.
                let bytes = serde_json::to_vec(&info).unwrap_or_default();
                if !fits(bytes.len()) {
                    return Err(fail(LoadError::Describe(Box::new(
                        ErrorKind::OutputTooLarge {
                            size: Some(bytes.len()),
                            limit: limits.max_output,
                        },
                    ))));
                }
                if let Some(cache) = runtime.inner.cache.as_ref().filter(|_| !bytes.is_empty()) {
                    cache.record_description(&prepared.digest, &bytes);
                }
                (
                    info,
                    OnceLock::from(input),
                    OnceLock::from(output),
                    bytes.len(),
                )
            }
        };
        let compiled = Arc::new(Compiled {
            component: prepared.component.clone(),
            info,
            interfaces,
            contract,
            pre,
            input_validator,
            output_validator,
            described,
        });
        runtime.inner.remember(prepared.digest, &compiled);
        Ok(Plugin {
            source: source(&compiled, &prepared),
            runtime,
            compiled,
        })
    }

    pub fn info(&self) -> &PluginInfo {
        &self.compiled.info
    }

    pub fn source(&self) -> &PluginSource {
        &self.source
    }

    pub fn interfaces(&self) -> &Interfaces {
        &self.compiled.interfaces
    }

    /// The component's digest, as recorded by runs.
    pub fn digest(&self) -> &str {
        &self.source.digest
    }

    /// Checks `input` (JSON text) against the input schema, calls the plugin in a
    /// fresh sandbox, and checks its output against the output schema.
    pub async fn invoke(&self, input: &str, call: &Call) -> Result<Invocation, PluginError> {
        let started = Instant::now();
        let fail = |kind: ErrorKind| PluginError::new(&self.compiled.info.name, kind);
        self.check_input_size(input, call)?;
        schema::parse_and_check(input, self.input_validator()?, "input")
            .map_err(|e| fail(ErrorKind::InvalidInput(e)))?;
        self.call_checked(input, call, started).await
    }

    /// Like [`Plugin::invoke`] for an input that is already a JSON value (a workflow
    /// step's rendered input): checked against the schema as it is, serialised once
    /// for the guest, never parsed again.
    pub async fn invoke_value(
        &self,
        input: &Value,
        call: &Call,
    ) -> Result<Invocation, PluginError> {
        let started = Instant::now();
        let text = input.to_string();
        self.check_input_size(&text, call)?;
        schema::check_against(self.input_validator()?, input, "input")
            .map_err(|e| PluginError::new(&self.compiled.info.name, ErrorKind::InvalidInput(e)))?;
        self.call_checked(&text, call, started).await
    }

    fn input_validator(&self) -> Result<&Validator, PluginError> {
        self.validator(
            &self.compiled.input_validator,
            &self.compiled.info.input_schema,
            "input",
        )
    }

    fn output_validator(&self) -> Result<&Validator, PluginError> {
        self.validator(
            &self.compiled.output_validator,
            &self.compiled.info.output_schema,
            "output",
        )
    }

    /// A schema's validator, compiled on first use when the description came from the
    /// cache (it compiled when it was recorded).
    fn validator<'s>(
        &self,
        slot: &'s OnceLock<Validator>,
        schema: &Value,
        what: &str,
    ) -> Result<&'s Validator, PluginError> {
        if let Some(validator) = slot.get() {
            return Ok(validator);
        }
        let validator = jsonschema::validator_for(schema).map_err(|e| {
            PluginError::new(
                &self.compiled.info.name,
                ErrorKind::Internal(format!(
                    "the cached {what} schema does not compile ({e}); run with --no-cache once"
                )),
            )
        })?;
        Ok(slot.get_or_init(|| validator))
    }

    fn check_input_size(&self, input: &str, call: &Call) -> Result<(), PluginError> {
        if input.len() > call.limits.max_input {
            return Err(PluginError::new(
                &self.compiled.info.name,
                ErrorKind::InputTooLarge {
                    size: input.len(),
                    limit: call.limits.max_input,
                },
            ));
        }
        Ok(())
    }

    /// Calls the plugin with an input that passed its schema, then checks the output.
    async fn call_checked(
        &self,
        input: &str,
        call: &Call,
        started: Instant,
    ) -> Result<Invocation, PluginError> {
        let sandboxed =
            sandboxed_call(&self.runtime, &self.compiled.pre, call, Op::Invoke(input)).await;
        let secrets = call.secret_values();
        let scrub = |text: String| match redact(&text, &secrets) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(clean) => clean,
        };
        // A refused request explains the plugin error or trap that followed it.
        let fail = |kind: ErrorKind| {
            let kind = match (sandboxed.http_refusals.first(), &kind) {
                (
                    Some(refusal),
                    ErrorKind::ToolFailed(_)
                    | ErrorKind::ToolDenied(_)
                    | ErrorKind::ToolInvalidInput(_)
                    | ErrorKind::Trap { .. },
                ) => ErrorKind::HttpRefused {
                    refusal: scrub(refusal.clone()),
                    then: kind.to_string(),
                },
                _ => kind,
            };
            PluginError::new(&self.compiled.info.name, kind)
        };
        let output_text = match sandboxed.result {
            Ok(OpResult::Invoke(Ok(text))) => scrub(text),
            Ok(OpResult::Invoke(Err(tool_error))) => {
                return Err(fail(match tool_error {
                    ToolError::InvalidInput(m) => ErrorKind::ToolInvalidInput(scrub(m)),
                    ToolError::Failed(m) => ErrorKind::ToolFailed(scrub(m)),
                    ToolError::Denied(m) => ErrorKind::ToolDenied(scrub(m)),
                }));
            }
            Err(ErrorKind::Trap {
                message,
                guest_output,
                backtrace,
            }) => {
                return Err(fail(ErrorKind::Trap {
                    message,
                    guest_output: scrub(guest_output),
                    backtrace,
                }));
            }
            Ok(OpResult::Describe(_)) => unreachable!("invoke returns an output"),
            Err(kind) => return Err(fail(kind)),
        };
        if output_text.len() > call.limits.max_output {
            return Err(fail(ErrorKind::OutputTooLarge {
                size: Some(output_text.len()),
                limit: call.limits.max_output,
            }));
        }
        let output_validator = self.output_validator().map_err(|e| fail(e.kind))?;
        let output = schema::parse_and_check(&output_text, output_validator, "output")
            .map_err(|e| fail(ErrorKind::InvalidOutput(e)))?;
        let logs = sandboxed
            .logs
            .into_iter()
            .map(|mut line| {
                line.message = scrub(line.message);
                line
            })
            .collect();
        Ok(Invocation {
            output,
            output_text,
            logs,
            logs_dropped: sandboxed.logs_dropped,
            elapsed: started.elapsed(),
        })
    }

    /// Checks a value against the output schema, or against the part of it that a
    /// JSON pointer names (`#/$defs/email`), e.g. an operator's edit at a gate.
    pub fn check_output(&self, pointer: Option<&str>, value: &Value) -> Result<(), String> {
        let Some(pointer) = pointer else {
            let validator = self.output_validator().map_err(|e| e.to_string())?;
            return schema::check_with(validator, Some(&self.compiled.info.output_schema), value);
        };
        let root = &self.compiled.info.output_schema;
        let mut part = root
            .pointer(pointer.trim_start_matches('#'))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "the output schema of {} has nothing at {pointer}",
                    self.compiled.info.name
                )
            })?;
        // Keep `$ref`s inside the part resolvable.
        if let (Some(defs), Some(object)) = (root.get("$defs"), part.as_object_mut()) {
            object.insert("$defs".into(), defs.clone());
        }
        let validator = jsonschema::validator_for(&part)
            .map_err(|e| format!("the schema at {pointer} is not valid ({e})"))?;
        schema::check_with(&validator, Some(&part), value)
    }

    /// Instantiates the plugin in a fresh store and returns, without calling it.
    /// For benchmarks that time instantiation on its own.
    pub async fn instantiate_only(&self, call: &Call) -> Result<(), PluginError> {
        let guest_output = MemoryOutputPipe::new(GUEST_OUTPUT_CAP);
        let mut store = new_store(&self.runtime, call, &guest_output)
            .map_err(|kind| PluginError::new(&self.compiled.info.name, kind))?;
        self.compiled
            .pre
            .instantiate_async(&mut store)
            .await
            .map(drop)
            .map_err(|e| {
                let hit = store.data().limiter.hit;
                PluginError::new(
                    &self.compiled.info.name,
                    classify(e, hit, &call.limits, &guest_output, &self.runtime),
                )
            })
    }
}

/// Validates what `describe` returned and compiles its schemas.
fn check_description(info: ToolInfo) -> Result<(PluginInfo, Validator, Validator), LoadError> {
    if !baton_core::is_tool_name(&info.name) {
        return Err(LoadError::InvalidDescription {
            field: "name",
            reason: format!(
                "{:?} must be 1 to 64 lowercase letters, digits or dashes, e.g. \"lead-scorer\"",
                info.name
            ),
        });
    }
    let (input_schema, input_validator) =
        schema::compile(&info.input_schema).map_err(|reason| LoadError::InvalidDescription {
            field: "input-schema",
            reason,
        })?;
    let (output_schema, output_validator) =
        schema::compile(&info.output_schema).map_err(|reason| LoadError::InvalidDescription {
            field: "output-schema",
            reason,
        })?;
    Ok((
        PluginInfo {
            name: info.name,
            version: info.version,
            summary: info.summary,
            input_schema,
            output_schema,
            capabilities: info.capabilities,
        },
        input_validator,
        output_validator,
    ))
}

/// A store with nothing granted and the call's limits armed: memory and table
/// growth through the limiter, the epoch deadline, fuel, and hostcall fuel.
fn new_store(
    runtime: &Runtime,
    call: &Call,
    guest_output: &MemoryOutputPipe,
) -> Result<Store<PluginState>, ErrorKind> {
    let state = PluginState::new(
        &call.limits,
        call.config.clone(),
        &call.grants,
        call.kv.clone(),
        call.http.clone(),
        call.llm
            .clone()
            .map(|access| crate::host::llm::LlmSession::new(access, call.step.clone())),
        guest_output,
    )?;
    let with_llm = state.llm.is_some();
    let mut store = Store::new(&runtime.inner.engine, state);
    store.limiter(|state| &mut state.limiter);
    // The deadline must be set before instantiation, or instantiating itself traps.
    store.set_epoch_deadline(runtime.deadline_ticks(call.limits.timeout));
    if with_llm {
        // Time spent waiting on a model is the host's, not the plugin's: when the
        // deadline comes, it moves by the waits not yet credited.
        let tick = runtime.inner.tick;
        let mut credited = Duration::ZERO;
        store.epoch_deadline_callback(move |context| {
            let waited = context.data().host_wait.total();
            let owed = waited.saturating_sub(credited);
            if owed < tick {
                return Ok(wasmtime::UpdateDeadline::Interrupt);
            }
            credited = waited;
            let ticks = owed.as_nanos().div_ceil(tick.as_nanos().max(1)) as u64;
            Ok(wasmtime::UpdateDeadline::Continue(ticks))
        });
    } else {
        store.epoch_deadline_trap();
    }
    // Hostcall fuel bounds what wasmtime copies out of the guest in one go (an
    // import's arguments, an export's result), so an oversized output is stopped at
    // the boundary instead of being copied into host memory first.
    store.set_hostcall_fuel(call.limits.max_output.saturating_add(HOSTCALL_SLACK));
    store.set_max_component_handles(call.limits.handles);
    if runtime.inner.fuel {
        store
            .set_fuel(call.limits.fuel.unwrap_or(u64::MAX))
            .map_err(|e| ErrorKind::Internal(format!("cannot set fuel: {e}")))?;
    }
    Ok(store)
}

/// Runs one guest call in a fresh store and turns every way it can end into a value.
async fn sandboxed_call(
    runtime: &Runtime,
    pre: &bindings::PluginPre<PluginState>,
    call: &Call,
    op: Op<'_>,
) -> Sandboxed {
    let guest_output = MemoryOutputPipe::new(GUEST_OUTPUT_CAP);
    let mut store = match new_store(runtime, call, &guest_output) {
        Ok(store) => store,
        Err(kind) => {
            return Sandboxed {
                result: Err(kind),
                logs: vec![],
                logs_dropped: 0,
                http_refusals: vec![],
            };
        }
    };
    // The wall-clock bound, moved by time spent waiting on a model.
    let host_wait = store.data().host_wait.clone();
    let guest = async {
        let instance = pre.instantiate_async(&mut store).await?;
        let tool = instance.baton_plugin_tool();
        match op {
            Op::Describe => tool.call_describe(&mut store).await.map(OpResult::Describe),
            Op::Invoke(input) => tool
                .call_invoke(&mut store, input)
                .await
                .map(OpResult::Invoke),
        }
    };
    let started = tokio::time::Instant::now();
    let bound = call.limits.timeout + HOST_WAIT_GRACE;
    let deadline = async {
        loop {
            let until = started + bound + host_wait.total();
            if tokio::time::Instant::now() >= until {
                return;
            }
            tokio::time::sleep_until(until).await;
        }
    };
    let outcome = tokio::select! {
        done = guest => Ok(done),
        () = deadline => Err(()),
    };
    let hit = store.data().limiter.hit;
    let result = match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(classify(error, hit, &call.limits, &guest_output, runtime)),
        Err(()) => Err(ErrorKind::Timeout {
            limit: call.limits.timeout,
        }),
    };
    let state = store.data_mut();
    let http_refusals = state
        .http
        .refusals
        .lock()
        .map(|mut list| std::mem::take(&mut *list))
        .unwrap_or_default();
    for refusal in &http_refusals {
        state.logs.push(
            LogLevel::Warn,
            format!("host: http request refused: {refusal}"),
        );
    }
    let logs = std::mem::take(&mut state.logs);
    Sandboxed {
        result,
        logs: logs.lines,
        logs_dropped: logs.dropped,
        http_refusals,
    }
}

/// Names the limit behind a failed call. A limit recorded by the limiter wins over
/// the trap that followed it (a guest allocator aborting after a refused
/// `memory.grow` is the memory limit, not a mystery `unreachable`).
fn classify(
    error: wasmtime::Error,
    hit: Option<LimitHit>,
    limits: &Limits,
    guest_output: &MemoryOutputPipe,
    runtime: &Runtime,
) -> ErrorKind {
    match hit {
        Some(LimitHit::Memory { requested }) => {
            return ErrorKind::MemoryLimit {
                limit: limits.memory,
                requested,
            };
        }
        Some(LimitHit::Table { requested, limit }) => {
            return ErrorKind::TableLimit { limit, requested };
        }
        None => {}
    }
    let causes: Vec<String> = error.chain().map(|cause| cause.to_string()).collect();
    let said = |text: &str| causes.iter().any(|cause| cause.contains(text));
    if said(HOSTCALL_FUEL_EXHAUSTED) {
        return ErrorKind::OutputTooLarge {
            size: None,
            limit: limits.max_output,
        };
    }
    if said(HOST_TABLE_FULL) || said(COMPONENT_HANDLES_EXHAUSTED) {
        return ErrorKind::HandleLimit {
            limit: limits.handles,
        };
    }
    for (one, what, limit) in [
        ("instance", "instances", MAX_INSTANCES),
        ("memory", "memories", MAX_MEMORIES),
        ("table", "tables", MAX_TABLES),
    ] {
        if said(&format!("resource limit exceeded: {one} count too high")) {
            return ErrorKind::CountLimit { what, limit };
        }
    }
    // Caps that wasmtime's WASI enforces by trapping, named as the limits they are.
    if said("requested len") && said("exceeds limit") {
        return ErrorKind::SizeLimit {
            what: "asked for more random bytes in one call than the host gives",
            name: "random_bytes",
            limit: MAX_RANDOM_BYTES,
            advice: "ask in smaller pieces",
        };
    }
    if said("total size of fields exceeds limit") || said("too many fields in the field map") {
        return ErrorKind::SizeLimit {
            what: "built HTTP request headers (names and values together) larger than the host accepts",
            name: "http_headers",
            limit: crate::host::http::MAX_REQUEST_FIELDS as u64,
            advice: "send less in headers; large data belongs in the body",
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => ErrorKind::Timeout {
            limit: limits.timeout,
        },
        Some(Trap::StackOverflow) => ErrorKind::StackOverflow {
            limit: runtime.inner.max_stack,
        },
        Some(Trap::OutOfFuel) => ErrorKind::FuelExhausted {
            limit: limits.fuel.unwrap_or(u64::MAX),
        },
        trap => ErrorKind::Trap {
            message: match trap {
                Some(trap) => trap.to_string(),
                None => format!("{error:#}"),
            },
            guest_output: tail(&String::from_utf8_lossy(&guest_output.contents())),
            backtrace: error.downcast_ref::<WasmBacktrace>().map(|b| b.to_string()),
        },
    }
}

/// The last lines of the guest's output, where a panic message or traceback ends.
fn tail(output: &str) -> String {
    const LINES: usize = 20;
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(LINES)..].join("\n")
}

impl Runtime {
    /// Adds the contract's imports and WASI preview 2 to a linker.
    pub(crate) fn link(
        linker: &mut wasmtime::component::Linker<PluginState>,
    ) -> wasmtime::Result<()> {
        wasmtime_wasi::p2::add_to_linker_async(linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
        // Each contract import on its own context, projected out of the state.
        use bindings::baton::plugin::{config, kv, llm, log};
        log::add_to_linker::<PluginState, HasSelf<LogBuffer>>(linker, |s| &mut s.logs)?;
        config::add_to_linker::<PluginState, HasSelf<ConfigCtx>>(linker, |s| &mut s.config)?;
        kv::add_to_linker::<PluginState, HasSelf<KvCtx>>(linker, |s| &mut s.kv)?;
        llm::add_to_linker::<PluginState, LlmHost>(linker, PluginState::llm_view)?;
        Ok(())
    }
}
