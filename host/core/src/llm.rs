//! Language-model completions as Baton records them: the providers an operator
//! configures, a plugin's `llm` grant with its budgets, one recorded exchange, and
//! what a step's call needs from its run (exchanges to reuse, the run's usage so far,
//! and where new exchanges are written).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The wire protocol a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderApi {
    /// OpenAI's chat completions (`POST {base_url}/chat/completions`), which Ollama,
    /// llama.cpp's server, vLLM and LM Studio also serve.
    Openai,
    /// Anthropic's messages API (`POST {base_url}/messages`).
    Anthropic,
}

impl ProviderApi {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderApi::Openai => "openai",
            ProviderApi::Anthropic => "anthropic",
        }
    }
}

/// One configured provider: where to send requests, which model to ask, and the name
/// of the environment variable that holds its key (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub api: ProviderApi,
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama).
    pub base_url: String,
    /// e.g. `gpt-4o-mini`, `claude-sonnet-4-5`, `llama3.2`.
    pub model: String,
    /// The environment variable holding the API key, e.g. `OPENAI_API_KEY`. None for
    /// servers without keys (a local Ollama).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    /// Most time for one attempt, e.g. `"60s"` (default 60 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Attempts after the first on 429 and 5xx answers and on timeouts (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// The field that bounds the answer's length, for `api = "openai"`:
    /// `max_completion_tokens` (OpenAI's current API, and the default) or `max_tokens`
    /// (the field it deprecated, which servers that imitate its older API still want).
    /// Anthropic's API has only `max_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens_field: Option<MaxTokensField>,
}

/// The name of the request field that bounds an answer's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    MaxCompletionTokens,
    MaxTokens,
}

impl MaxTokensField {
    pub fn as_str(self) -> &'static str {
        match self {
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::MaxTokens => "max_tokens",
        }
    }
}

impl Provider {
    /// The field a request bounds the answer's length in: what the provider
    /// configures, else what its API documents now.
    pub fn max_tokens_field(&self) -> MaxTokensField {
        match (self.api, self.max_tokens_field) {
            (ProviderApi::Anthropic, _) => MaxTokensField::MaxTokens,
            (ProviderApi::Openai, Some(field)) => field,
            (ProviderApi::Openai, None) => MaxTokensField::MaxCompletionTokens,
        }
    }

    /// The timeout of one attempt (default 60 s).
    pub fn attempt_timeout(&self) -> Duration {
        self.timeout
            .as_deref()
            .and_then(|t| humantime::parse_duration(t).ok())
            .unwrap_or(Duration::from_secs(60))
    }
}

/// What a model costs, in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

impl Price {
    pub fn cost(&self, tokens_in: u64, tokens_out: u64) -> f64 {
        (tokens_in as f64 * self.input + tokens_out as f64 * self.output) / 1_000_000.0
    }
}

/// The `[llm]` table of the host configuration file, or of a workflow file (which
/// overrides the host's entries of the same name).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// The provider a grant gets when it names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default)]
    pub providers: BTreeMap<String, Provider>,
    /// Prices by model name.
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
}

impl LlmConfig {
    /// This configuration with `other`'s entries laid over it.
    pub fn overlaid(&self, other: &LlmConfig) -> LlmConfig {
        let mut merged = self.clone();
        if other.default.is_some() {
            merged.default = other.default.clone();
        }
        merged.providers.extend(other.providers.clone());
        merged.prices.extend(other.prices.clone());
        merged
    }

    /// Every problem of this configuration, as `(field, what is wrong and how to fix it)`,
    /// fields named from `[llm]` down, e.g. `providers.local.base_url`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if let Some(default) = &self.default
            && !self.providers.contains_key(default)
        {
            problems.push((
                "default".to_string(),
                format!("names the provider {default:?}, which is not among [llm.providers]"),
            ));
        }
        for (name, provider) in &self.providers {
            let field = |key: &str| format!("providers.{name}.{key}");
            match url::Url::parse(&provider.base_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                    if !url.username().is_empty() || url.password().is_some() {
                        problems.push((
                            field("base_url"),
                            "holds a credential; put the key in an environment variable and name it in `key_env`".into(),
                        ));
                    }
                }
                _ => problems.push((
                    field("base_url"),
                    format!(
                        "{:?} is not an http(s) URL, e.g. \"http://127.0.0.1:11434/v1\" or \"https://api.anthropic.com/v1\"",
                        provider.base_url
                    ),
                )),
            }
            if provider.model.trim().is_empty() {
                problems.push((
                    field("model"),
                    "is empty; name a model, e.g. \"llama3.2\"".into(),
                ));
            }
            if let Some(env) = &provider.key_env
                && !crate::is_env_var_name(env)
            {
                problems.push((
                    field("key_env"),
                    format!("{env:?} is not an environment variable name; name the variable that holds the key, e.g. \"OPENAI_API_KEY\""),
                ));
            }
            if provider.api == ProviderApi::Anthropic
                && provider.max_tokens_field == Some(MaxTokensField::MaxCompletionTokens)
            {
                problems.push((
                    field("max_tokens_field"),
                    "Anthropic's messages API bounds an answer with `max_tokens` only; leave the field out".into(),
                ));
            }
            if let Some(timeout) = &provider.timeout
                && let Err(e) = humantime::parse_duration(timeout)
            {
                problems.push((field("timeout"), format!("{timeout:?}: {e}; e.g. \"60s\"")));
            }
        }
        for (model, price) in &self.prices {
            if !(price.input >= 0.0 && price.output >= 0.0) {
                problems.push((
                    format!("prices.{model:?}"),
                    "prices are US dollars per million tokens, 0 or more".into(),
                ));
            }
        }
        problems
    }

    /// The provider a grant names (`provider`, or `model` when it names a provider),
    /// else the default one, else the only one. `Err` says why there is none.
    pub fn resolve(&self, grant: &LlmGrant) -> Result<(String, Provider), String> {
        let named = grant.provider.as_deref().or_else(|| {
            grant
                .model
                .as_deref()
                .filter(|m| self.providers.contains_key(*m))
        });
        let name = match (named, &self.default) {
            (Some(name), _) => name.to_string(),
            (None, Some(default)) => default.clone(),
            (None, None) if self.providers.len() == 1 => {
                self.providers.keys().next().cloned().unwrap_or_default()
            }
            (None, None) if self.providers.is_empty() => {
                return Err(
                    "no model configured: the host configuration has no [llm.providers]".into(),
                );
            }
            (None, None) => {
                return Err(format!(
                    "no model configured for this grant: it names no provider and [llm] has no `default` (providers: {})",
                    self.providers
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        };
        let mut provider = self.providers.get(&name).cloned().ok_or_else(|| {
            format!("no model configured: no provider {name:?} in [llm.providers]")
        })?;
        if let Some(model) = grant.model.as_deref().filter(|m| *m != name) {
            provider.model = model.to_string();
        }
        Ok((name, provider))
    }
}

/// A plugin's `llm` grant: which provider or model, and its budgets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlmGrant {
    /// A provider of the configuration by name.
    pub provider: Option<String>,
    /// A model name on that provider (or the name of a provider).
    pub model: Option<String>,
    /// Tokens in and out of one call. Default 4,096.
    pub tokens_per_call: u64,
    /// Tokens in and out of all the plugin's calls in one run. Default 20,000.
    pub tokens_per_run: u64,
    /// Calls the plugin may make in one run. Default 10.
    pub calls_per_run: u32,
    /// Overrides the provider's timeout for each attempt.
    pub timeout: Option<Duration>,
    /// Overrides the provider's retries.
    pub retries: Option<u32>,
}

impl Default for LlmGrant {
    fn default() -> Self {
        LlmGrant {
            provider: None,
            model: None,
            tokens_per_call: 4_096,
            tokens_per_run: 20_000,
            calls_per_run: 10,
            timeout: None,
            retries: None,
        }
    }
}

/// One request to a model and what came of it, as the run's log records it. Never
/// holds a key or a header: the request is the plugin's, the response is the answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmExchange {
    /// The plugin (by its name in the workflow) that asked.
    pub plugin: String,
    /// The configured provider's name, and the model asked for.
    pub provider: String,
    pub model: String,
    /// Identifies the request (provider, model and what the plugin asked): a step
    /// that runs again reuses a recorded answer to the same request.
    pub request_digest: String,
    /// What the plugin asked, with the `max_tokens` the host sent.
    pub request: Value,
    /// The completion (`text`, `model`, `tokens_in`, `tokens_out`, `stop`), when the
    /// provider answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// Why there is no usable answer, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// From the first attempt to the answer, retries and waits included.
    pub latency_ms: u64,
    pub attempts: u32,
    /// In US dollars, when the model has a price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl LlmExchange {
    /// Whether the provider was paid for this exchange (it answered).
    pub fn answered(&self) -> bool {
        self.response.is_some()
    }
}

/// What a plugin's exchanges in one run add up to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LlmUsage {
    pub calls: u32,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Tokens set aside for calls under way (their `max_tokens` and prompt).
    #[serde(skip)]
    pub reserved: u64,
    /// Calls under way.
    #[serde(skip)]
    pub in_flight: u32,
    pub cost_usd: f64,
    /// Whether some exchange had no price.
    pub unpriced: bool,
}

impl LlmUsage {
    pub fn tokens(&self) -> u64 {
        self.tokens_in + self.tokens_out
    }

    /// Adds one recorded exchange: an answered one, or one whose answer could not be
    /// used but whose tokens the provider billed. An exchange that got no answer (a
    /// refusal, a timeout) cost nothing.
    pub fn add(&mut self, exchange: &LlmExchange) {
        if !exchange.answered() && exchange.tokens_in + exchange.tokens_out == 0 {
            return;
        }
        self.calls += 1;
        self.tokens_in += exchange.tokens_in;
        self.tokens_out += exchange.tokens_out;
        match exchange.cost_usd {
            Some(cost) => self.cost_usd += cost,
            None => self.unpriced = true,
        }
    }

    pub fn of<'a>(exchanges: impl IntoIterator<Item = &'a LlmExchange>) -> LlmUsage {
        let mut usage = LlmUsage::default();
        exchanges.into_iter().for_each(|e| usage.add(e));
        usage
    }
}

/// Where a step's exchanges go as they happen. The engine appends each to the run's
/// log and makes it durable before the future resolves, so the plugin never sees an
/// answer that a crash could make the run pay for again.
pub trait ExchangeJournal: Send + Sync {
    fn record(
        &self,
        exchange: LlmExchange,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// What one step's call gets from its run.
#[derive(Clone, Default)]
pub struct StepCall {
    /// Exchanges the step recorded in an attempt that never finished (the process
    /// died): a request identical to an answered one is answered from the log.
    pub recorded: Vec<LlmExchange>,
    /// The plugin's usage in the run so far, shared by the run's concurrent steps.
    pub usage: Arc<Mutex<LlmUsage>>,
    /// Where new exchanges are recorded; `None` outside a run.
    pub journal: Option<Arc<dyn ExchangeJournal>>,
}

impl std::fmt::Debug for StepCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepCall")
            .field("recorded", &self.recorded.len())
            .field("journal", &self.journal.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(model: &str) -> Provider {
        Provider {
            api: ProviderApi::Openai,
            base_url: "http://127.0.0.1:11434/v1".into(),
            model: model.into(),
            key_env: None,
            timeout: None,
            retries: None,
            max_tokens_field: None,
        }
    }

    #[test]
    fn a_grant_resolves_by_provider_then_model_then_default_then_the_only_one() {
        let mut config = LlmConfig::default();
        assert!(
            config
                .resolve(&LlmGrant::default())
                .unwrap_err()
                .contains("no model configured")
        );
        config
            .providers
            .insert("local".into(), provider("llama3.2"));
        assert_eq!(config.resolve(&LlmGrant::default()).unwrap().0, "local");
        config.providers.insert("big".into(), provider("qwen"));
        assert!(config.resolve(&LlmGrant::default()).is_err());
        config.default = Some("big".into());
        assert_eq!(
            config.resolve(&LlmGrant::default()).unwrap().1.model,
            "qwen"
        );
        let by_alias = LlmGrant {
            model: Some("local".into()),
            ..LlmGrant::default()
        };
        assert_eq!(config.resolve(&by_alias).unwrap().1.model, "llama3.2");
        let other_model = LlmGrant {
            provider: Some("local".into()),
            model: Some("llama3.1:8b".into()),
            ..LlmGrant::default()
        };
        assert_eq!(config.resolve(&other_model).unwrap().1.model, "llama3.1:8b");
        let missing = LlmGrant {
            provider: Some("drafting".into()),
            ..LlmGrant::default()
        };
        assert!(
            config
                .resolve(&missing)
                .unwrap_err()
                .contains("\"drafting\"")
        );
    }

    #[test]
    fn usage_counts_answered_exchanges_and_their_cost() {
        let answered = LlmExchange {
            plugin: "drafter".into(),
            provider: "local".into(),
            model: "m".into(),
            request_digest: "d".into(),
            request: Value::Null,
            response: Some(Value::Null),
            error: None,
            tokens_in: 1000,
            tokens_out: 500,
            latency_ms: 10,
            attempts: 1,
            cost_usd: Some(
                Price {
                    input: 3.0,
                    output: 15.0,
                }
                .cost(1000, 500),
            ),
        };
        // No answer: nothing billed, nothing counted.
        let failed = LlmExchange {
            response: None,
            error: Some("rate limited".into()),
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: None,
            ..answered.clone()
        };
        let usage = LlmUsage::of([&answered, &failed]);
        assert_eq!((usage.calls, usage.tokens()), (1, 1500));
        assert!((usage.cost_usd - 0.0105).abs() < 1e-9, "{}", usage.cost_usd);
        assert!(!usage.unpriced);
        // An answer that could not be used, but was billed: counted.
        let unusable = LlmExchange {
            response: None,
            error: Some("no tool_use block".into()),
            ..answered.clone()
        };
        let usage = LlmUsage::of([&answered, &failed, &unusable]);
        assert_eq!((usage.calls, usage.tokens()), (2, 3000));
        assert!((usage.cost_usd - 0.021).abs() < 1e-9, "{}", usage.cost_usd);
    }
}
