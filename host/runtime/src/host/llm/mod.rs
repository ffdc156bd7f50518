//! `baton:plugin/llm`: completions from the model the operator configured, with the
//! workflow's budgets, through the host. In order, a call:
//!
//! 1. is refused unless the workflow grants `llm` and a provider is configured;
//! 2. is checked (messages, temperature, a schema that compiles);
//! 3. is answered from the run's log when the step recorded the same request in an
//!    attempt that never finished (a crash), without paying again;
//! 4. reserves its tokens and its call against the grant's budgets (shared by the
//!    run's concurrent steps), lowering `max_tokens` to what the budgets leave;
//! 5. is sent with the key added here, with the provider's timeout and retries;
//! 6. is recorded in the run's log, durably, before the plugin sees the answer.
//!
//! The key is never in the request the plugin sees, the log, a log line or an error,
//! and an answer that echoes it has it replaced with `[redacted]`.

mod client;
mod wire;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_core::{LlmExchange, LlmGrant, LlmUsage, Price, Provider, StepCall};
use serde_json::{Value, json};

use crate::bindings::baton::plugin::llm::{Completion, Host, LlmError, Request, Role, StopReason};
use crate::grants::redact;
use crate::host::log::{LogBuffer, LogLevel};
use client::{Failed, Post};
use wire::{Ask, Stop};

/// Tokens asked for when the plugin does not say (and the budgets allow it).
const DEFAULT_MAX_TOKENS: u64 = 4_096;
/// Attempts after the first, when neither the provider nor the grant says.
const DEFAULT_RETRIES: u32 = 2;

/// A plugin's `llm` grant as the host resolved it: the budgets, and the provider its
/// requests go to (or why there is none).
pub struct LlmAccess {
    /// The plugin's name in the workflow (exchanges and budgets are kept by it).
    pub plugin: String,
    pub grant: LlmGrant,
    /// `Err` says why no provider is configured for this grant.
    pub target: Result<LlmTarget, String>,
}

/// Where a grant's requests go.
pub struct LlmTarget {
    /// The provider's name in the configuration.
    pub name: String,
    pub provider: Provider,
    /// Read by the host from `provider.key_env`; never handed to the plugin.
    pub key: Option<String>,
    /// The price of `provider.model`, when configured.
    pub price: Option<Price>,
    /// The URL requests are posted to: the base URL and the API's path, resolved once.
    endpoint: url::Url,
}

impl LlmTarget {
    /// A target for `provider`; `Err` when its base URL and its API's path do not
    /// make a URL.
    pub fn new(
        name: String,
        provider: Provider,
        key: Option<String>,
        price: Option<Price>,
    ) -> Result<LlmTarget, String> {
        let endpoint = url::Url::parse(&format!(
            "{}/{}",
            provider.base_url.trim_end_matches('/'),
            wire::path(provider.api)
        ))
        .map_err(|e| format!("the provider {name:?} has a base_url that is not a URL ({e})"))?;
        Ok(LlmTarget {
            name,
            provider,
            key,
            price,
            endpoint,
        })
    }
}

impl std::fmt::Debug for LlmTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmTarget")
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .field("price", &self.price)
            .field("endpoint", &self.endpoint.as_str())
            .finish()
    }
}

impl std::fmt::Debug for LlmAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = self.target.as_ref().map(|t| (&t.name, &t.provider.model));
        f.debug_struct("LlmAccess")
            .field("plugin", &self.plugin)
            .field("grant", &self.grant)
            .field("target", &target)
            .finish_non_exhaustive()
    }
}

/// Time the current call spent waiting on the host for a model: it does not count
/// against the plugin's `timeout`, so the call's deadlines move by it.
#[derive(Debug, Default)]
pub(crate) struct HostWait {
    inner: Mutex<(Duration, Option<Instant>)>,
}

impl HostWait {
    fn begin(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.1 = Some(Instant::now());
        }
    }

    fn end(&self) {
        if let Ok(mut inner) = self.inner.lock()
            && let Some(since) = inner.1.take()
        {
            inner.0 += since.elapsed();
        }
    }

    /// Waits finished so far, and the one under way.
    pub(crate) fn total(&self) -> Duration {
        match self.inner.lock() {
            Ok(inner) => inner.0 + inner.1.map_or(Duration::ZERO, |since| since.elapsed()),
            Err(_) => Duration::ZERO,
        }
    }
}

/// One call's use of its grant: the access, what the run gave the step, and which
/// recorded exchanges this call already reused.
pub(crate) struct LlmSession {
    access: Arc<LlmAccess>,
    step: StepCall,
    reused: Vec<bool>,
}

impl LlmSession {
    pub(crate) fn new(access: Arc<LlmAccess>, step: StepCall) -> LlmSession {
        let reused = vec![false; step.recorded.len()];
        LlmSession {
            access,
            step,
            reused,
        }
    }
}

impl std::fmt::Debug for LlmSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSession")
            .field("access", &self.access)
            .field("step", &self.step)
            .finish()
    }
}

/// A checked request: what is sent, and how the log identifies it.
struct Checked {
    ask: Ask,
    asked_max: Option<u64>,
    validator: Option<jsonschema::Validator>,
    /// The request as the log records it.
    recorded: Value,
    digest: String,
    /// A rough count of the prompt's tokens (4 characters each), for the budgets.
    prompt_tokens: u64,
}

fn check(request: Request, target: &LlmTarget) -> Result<Checked, LlmError> {
    if request.messages.is_empty() {
        return Err(LlmError::InvalidRequest(
            "the request has no messages; send at least one `user` message".into(),
        ));
    }
    if let Some(t) = request.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(LlmError::InvalidRequest(format!(
            "temperature {t} is out of range; use 0.0 to 2.0"
        )));
    }
    if request.max_tokens == Some(0) {
        return Err(LlmError::InvalidRequest(
            "max-tokens is 0; ask for at least 1, or leave it out".into(),
        ));
    }
    let (schema, validator) = match &request.json_schema {
        None => (None, None),
        Some(text) => {
            let schema: Value = serde_json::from_str(text)
                .map_err(|e| LlmError::InvalidRequest(format!("json-schema is not JSON: {e}")))?;
            let validator = jsonschema::validator_for(&schema).map_err(|e| {
                LlmError::InvalidRequest(format!("json-schema is not a valid schema: {e}"))
            })?;
            (Some(schema), Some(validator))
        }
    };
    let messages: Vec<(&'static str, String)> = request
        .messages
        .into_iter()
        .map(|m| {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            (role, m.content)
        })
        .collect();
    // f32 widened as written (0.7, not 0.699999988...), so the log reads as asked.
    let temperature = request
        .temperature
        .map(|t| (f64::from(t) * 1000.0).round() / 1000.0);
    let asked_max = request.max_tokens.map(u64::from);
    let recorded = json!({
        "messages": messages.iter().map(|(role, content)| json!({"role": role, "content": content})).collect::<Vec<_>>(),
        "json_schema": schema,
        "max_tokens": asked_max,
        "temperature": temperature,
    });
    let digest = blake3::hash(
        format!("{}\n{}\n{}", target.name, target.provider.model, recorded).as_bytes(),
    )
    .to_hex()
    .to_string();
    let characters: usize = messages.iter().map(|(_, c)| c.chars().count()).sum();
    let prompt_tokens = (characters as u64).div_ceil(4) + 4 * messages.len() as u64;
    let ask = Ask {
        messages,
        schema,
        max_tokens: 0,
        temperature,
    };
    // What the provider's API would refuse is refused here, before anything is spent.
    if let Some(why) = wire::refusal(target.provider.api, &ask) {
        return Err(LlmError::InvalidRequest(why));
    }
    Ok(Checked {
        ask,
        asked_max,
        validator,
        recorded,
        digest,
        prompt_tokens,
    })
}

/// What a call set aside under the run's budgets.
struct Reservation {
    usage: Arc<Mutex<LlmUsage>>,
    tokens: u64,
}

impl Reservation {
    /// Reserves a call and its tokens, or says which budget is spent. Returns the
    /// `max_tokens` to send.
    fn take(
        usage: &Arc<Mutex<LlmUsage>>,
        grant: &LlmGrant,
        checked: &Checked,
    ) -> Result<(Reservation, u64), LlmError> {
        let mut used = usage
            .lock()
            .map_err(|_| LlmError::ProviderUnavailable("the run's usage is unavailable".into()))?;
        if used.calls + used.in_flight >= grant.calls_per_run {
            return Err(LlmError::BudgetExhausted(format!(
                "calls_per_run: this plugin has made its {} calls in this run (grant `calls_per_run`)",
                grant.calls_per_run
            )));
        }
        let spent = used.tokens() + used.reserved;
        let left_in_run = grant.tokens_per_run.saturating_sub(spent);
        let prompt = checked.prompt_tokens;
        if prompt >= grant.tokens_per_call {
            return Err(LlmError::BudgetExhausted(format!(
                "tokens_per_call: the prompt alone is about {prompt} tokens, and the grant allows {} per call",
                grant.tokens_per_call
            )));
        }
        if prompt >= left_in_run {
            return Err(LlmError::BudgetExhausted(format!(
                "tokens_per_run: {spent} of the run's {} tokens are spent or set aside, and the prompt is about {prompt}",
                grant.tokens_per_run
            )));
        }
        let max_tokens = checked
            .asked_max
            .unwrap_or(DEFAULT_MAX_TOKENS)
            .min(grant.tokens_per_call - prompt)
            .min(left_in_run - prompt);
        let tokens = prompt + max_tokens;
        used.reserved += tokens;
        used.in_flight += 1;
        Ok((
            Reservation {
                usage: usage.clone(),
                tokens,
            },
            max_tokens,
        ))
    }

    /// Releases the reservation and counts what was really spent.
    fn settle(self, exchange: &LlmExchange) {
        if let Ok(mut used) = self.usage.lock() {
            used.reserved = used.reserved.saturating_sub(self.tokens);
            used.in_flight = used.in_flight.saturating_sub(1);
            used.add(exchange);
        }
    }
}

/// What `llm` works on: the call's session (its grant, budgets and journal), the
/// call's log, and the clock of time spent waiting on the host. Nothing else of the
/// plugin's state is in reach.
pub(crate) struct LlmView<'a> {
    pub(crate) session: Option<&'a mut LlmSession>,
    pub(crate) logs: &'a mut LogBuffer,
    pub(crate) wait: &'a HostWait,
}

/// Links `llm` to a [`LlmView`] of the plugin's state.
pub(crate) struct LlmHost;

impl wasmtime::component::HasData for LlmHost {
    type Data<'a> = LlmView<'a>;
}

impl LlmView<'_> {
    fn llm_session(&mut self) -> Result<&mut LlmSession, LlmError> {
        self.session.as_deref_mut().ok_or_else(|| {
            LlmError::NotGranted(
                "llm is not granted to this plugin; the workflow must grant it: grants = { llm = { tokens_per_run = 6000 } }".into(),
            )
        })
    }

    async fn complete_request(&mut self, request: Request) -> Result<Completion, LlmError> {
        let session = self.llm_session()?;
        let access = session.access.clone();
        let target = access
            .target
            .as_ref()
            .map_err(|why| LlmError::NotConfigured(why.clone()))?;
        let checked = check(request, target)?;

        // 3. A recorded answer to the same request, from an attempt that never finished.
        let recorded = session.step.recorded.iter().enumerate().position(|(i, e)| {
            !session.reused[i] && e.answered() && e.request_digest == checked.digest
        });
        if let Some(i) = recorded {
            session.reused[i] = true;
            let exchange = session.step.recorded[i].clone();
            self.logs.push(
                LogLevel::Info,
                format!(
                    "host: llm answer reused from the run's log ({} {}, {} tokens, not paid again)",
                    exchange.provider,
                    exchange.model,
                    exchange.tokens_in + exchange.tokens_out
                ),
            );
            return completion_of(&exchange);
        }

        // 4. Budgets.
        let usage = session.step.usage.clone();
        let journal = session.step.journal.clone();
        let (reservation, max_tokens) = Reservation::take(&usage, &access.grant, &checked)?;
        let mut ask = checked.ask.clone();
        ask.max_tokens = max_tokens;

        // 5. Send.
        let provider = &target.provider;
        let post = Post {
            url: target.endpoint.clone(),
            headers: wire::key_headers(provider.api, target.key.as_deref()),
            body: wire::request(provider, &ask).to_string().into_bytes(),
            timeout: access
                .grant
                .timeout
                .unwrap_or_else(|| provider.attempt_timeout()),
            retries: access
                .grant
                .retries
                .or(provider.retries)
                .unwrap_or(DEFAULT_RETRIES),
        };
        let started = Instant::now();
        self.wait.begin();
        let sent = client::send(&post).await;
        self.wait.end();
        let latency_ms = started.elapsed().as_millis() as u64;

        // What came of it, for the plugin and for the log.
        let secrets: Vec<String> = target.key.iter().cloned().collect();
        let scrub = |text: String| redact(&text, &secrets).into_owned();
        let mut exchange = unanswered(&access, target, &checked, &ask);
        exchange.latency_ms = latency_ms;
        let result = match sent {
            Err(failed) => {
                let (attempts, error) = match failed {
                    Failed::RateLimited { attempts, detail } => (
                        attempts,
                        LlmError::RateLimited(scrub(format!(
                            "{} kept answering 429 (rate limited) after {attempts} attempts: {detail}",
                            target.name
                        ))),
                    ),
                    Failed::Unavailable { attempts, detail } => (
                        attempts,
                        LlmError::ProviderUnavailable(scrub(format!(
                            "{} is unavailable after {attempts} attempts: {detail}",
                            target.name
                        ))),
                    ),
                    Failed::Refused {
                        attempts,
                        status,
                        detail,
                    } => (
                        attempts,
                        match status.as_u16() {
                            401 | 403 => LlmError::ProviderUnavailable(scrub(format!(
                                "{} refused the key ({detail}); check the variable named by `key_env` in the host configuration",
                                target.name
                            ))),
                            _ => LlmError::InvalidRequest(scrub(format!(
                                "{} refused the request: {detail}{}",
                                target.name,
                                field_hint(target, &detail)
                            ))),
                        },
                    ),
                };
                exchange.attempts = attempts;
                exchange.error = Some(error_text(&error));
                Err(error)
            }
            Ok(answer) => {
                exchange.attempts = answer.attempts;
                match wire::parse(provider.api, &answer.body, checked.validator.is_some()) {
                    Err(wire::Unusable { why, billed }) => {
                        // Unusable, but billed: what its `usage` says counts against
                        // the budgets and in the cost like any answer's.
                        if let Some((tokens_in, tokens_out)) = billed {
                            exchange.tokens_in = tokens_in;
                            exchange.tokens_out = tokens_out;
                            exchange.cost_usd = target.price.map(|p| p.cost(tokens_in, tokens_out));
                        }
                        let error = LlmError::InvalidResponse(scrub(format!(
                            "{} answered, but not usably: {why}",
                            target.name
                        )));
                        exchange.error = Some(error_text(&error));
                        Err(error)
                    }
                    Ok(parsed) => {
                        let text = scrub(parsed.text);
                        let tokens_in = parsed.tokens_in.unwrap_or(checked.prompt_tokens);
                        let tokens_out = parsed
                            .tokens_out
                            .unwrap_or((text.chars().count() as u64).div_ceil(4));
                        let model = if parsed.model.is_empty() {
                            provider.model.clone()
                        } else {
                            parsed.model
                        };
                        exchange.tokens_in = tokens_in;
                        exchange.tokens_out = tokens_out;
                        exchange.cost_usd = target.price.map(|p| p.cost(tokens_in, tokens_out));
                        exchange.response = Some(json!({
                            "text": text,
                            "model": model,
                            "tokens_in": tokens_in,
                            "tokens_out": tokens_out,
                            "stop": parsed.stop.as_str(),
                        }));
                        match &checked.validator {
                            Some(validator) => match structured(validator, &text) {
                                Ok(()) => completion_of(&exchange),
                                Err(why) => {
                                    let error = LlmError::InvalidResponse(format!(
                                        "{} answered, but not in the requested structure: {why}",
                                        target.name
                                    ));
                                    exchange.error = Some(error_text(&error));
                                    Err(error)
                                }
                            },
                            None => completion_of(&exchange),
                        }
                    }
                }
            }
        };
        reservation.settle(&exchange);
        self.logs.push(
            if result.is_ok() {
                LogLevel::Info
            } else {
                LogLevel::Warn
            },
            format!(
                "host: llm {} {}: {} in, {} out, {} ms, {} attempt(s){}",
                exchange.provider,
                exchange.model,
                exchange.tokens_in,
                exchange.tokens_out,
                exchange.latency_ms,
                exchange.attempts,
                exchange
                    .error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        );
        // 6. Durable before the plugin sees it.
        if let Some(journal) = journal
            && let Err(why) = journal.record(exchange).await
        {
            return Err(LlmError::ProviderUnavailable(format!(
                "the answer could not be recorded in the run's log, so it is not used: {why}"
            )));
        }
        result
    }
}

/// When a provider refused the field that bounds the answer, how to configure the
/// other one: OpenAI's API takes `max_completion_tokens`, servers that imitate its
/// older API `max_tokens`.
fn field_hint(target: &LlmTarget, detail: &str) -> String {
    use baton_core::{MaxTokensField, ProviderApi};
    let sent = target.provider.max_tokens_field();
    if target.provider.api != ProviderApi::Openai || !detail.contains(sent.as_str()) {
        return String::new();
    }
    let other = match sent {
        MaxTokensField::MaxCompletionTokens => MaxTokensField::MaxTokens,
        MaxTokensField::MaxTokens => MaxTokensField::MaxCompletionTokens,
    };
    format!(
        "; it refused `{}`: if it takes `{}`, set max_tokens_field = \"{}\" in [llm.providers.{}] of the host configuration",
        sent.as_str(),
        other.as_str(),
        other.as_str(),
        target.name
    )
}

/// An exchange with no answer yet. Its request is what the plugin asked, and under
/// `sent` the parameters as the provider was sent them (the answer's bound, lowered
/// to what the budgets leave, in the field the API takes; the temperature in its
/// range).
fn unanswered(access: &LlmAccess, target: &LlmTarget, checked: &Checked, ask: &Ask) -> LlmExchange {
    let mut request = checked.recorded.clone();
    request["sent"] = wire::sent(&target.provider, ask);
    LlmExchange {
        plugin: access.plugin.clone(),
        provider: target.name.clone(),
        model: target.provider.model.clone(),
        request_digest: checked.digest.clone(),
        request,
        response: None,
        error: None,
        tokens_in: 0,
        tokens_out: 0,
        latency_ms: 0,
        attempts: 0,
        cost_usd: None,
    }
}

/// Whether a structured answer is JSON that matches the request's schema.
fn structured(validator: &jsonschema::Validator, text: &str) -> Result<(), String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("the answer is not JSON ({e})"))?;
    crate::schema::check(validator, &value)
}

/// The completion a recorded exchange holds; `invalid-response` when it recorded one.
fn completion_of(exchange: &LlmExchange) -> Result<Completion, LlmError> {
    if let Some(error) = &exchange.error {
        return Err(LlmError::InvalidResponse(error.clone()));
    }
    let response = exchange
        .response
        .as_ref()
        .ok_or_else(|| LlmError::ProviderUnavailable("the exchange has no answer".into()))?;
    let clamp = |v: &Value| v.as_u64().unwrap_or(0).min(u64::from(u32::MAX)) as u32;
    Ok(Completion {
        text: response["text"].as_str().unwrap_or_default().to_string(),
        model: response["model"].as_str().unwrap_or_default().to_string(),
        tokens_in: clamp(&response["tokens_in"]),
        tokens_out: clamp(&response["tokens_out"]),
        stop: match Stop::parse(response["stop"].as_str().unwrap_or_default()) {
            Stop::Finished => StopReason::Finished,
            Stop::MaxTokens => StopReason::MaxTokens,
            Stop::Filtered => StopReason::Filtered,
            Stop::Other => StopReason::Other,
        },
    })
}

fn error_text(error: &LlmError) -> String {
    match error {
        LlmError::NotGranted(m)
        | LlmError::NotConfigured(m)
        | LlmError::BudgetExhausted(m)
        | LlmError::ProviderUnavailable(m)
        | LlmError::RateLimited(m)
        | LlmError::InvalidRequest(m)
        | LlmError::InvalidResponse(m) => m.clone(),
    }
}

impl Host for LlmView<'_> {
    async fn complete(&mut self, request: Request) -> Result<Completion, LlmError> {
        self.complete_request(request).await
    }
}
