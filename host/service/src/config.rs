//! The host configuration file: what the operator, not the workflow, decides. Today
//! that is the language-model providers (where requests go, which model, the name of
//! the variable holding each key) and their prices.
//!
//! `--host-config FILE`, `BATON_CONFIG`, or `config.toml` in the user configuration
//! directory (`~/.config/baton/config.toml` on Linux). A missing file is an empty
//! configuration; a malformed one is an error naming the file, line and field.

use std::path::{Path, PathBuf};

use baton_core::{LlmConfig, LlmGrant};
use baton_runtime::{LlmAccess, LlmTarget};
use baton_workflow::Workflow;
use serde::Deserialize;

use crate::error::ServiceError as Failure;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Model providers, the default one, and prices per model.
    #[serde(default)]
    pub llm: LlmConfig,
    /// Who may use `host serve`, by name: `[operators.maria] token = "…"` (or
    /// `token_env = "MARIA_TOKEN"`). The name goes into the audit trail.
    #[serde(default)]
    pub operators: std::collections::BTreeMap<String, OperatorEntry>,
    /// Where the runs live when neither `--store` nor `BATON_STORE` says:
    /// `[store] url = "postgres://…"` (or `url_env = "VARIABLE"`, to keep a password
    /// out of the file).
    #[serde(default)]
    pub store: StoreEntry,
    /// What `host mcp` (given nothing) and `host serve` (at `/mcp`) offer agents:
    /// `[mcp] workflows = ["…/workflow.toml"]`, `plugins = { scorer = "…/lead_scorer.wasm" }`,
    /// paths relative to this file.
    #[serde(default)]
    pub mcp: McpEntry,
    /// Where it was read from (or would be).
    #[serde(skip)]
    pub path: PathBuf,
}

/// The `[mcp]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpEntry {
    #[serde(default)]
    pub workflows: Vec<PathBuf>,
    #[serde(default)]
    pub plugins: std::collections::BTreeMap<String, PathBuf>,
}

impl HostConfig {
    /// The `[mcp]` workflows and plugins, their paths resolved against this file's
    /// directory.
    pub fn mcp_tools(&self) -> (Vec<PathBuf>, Vec<(String, PathBuf)>) {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        (
            self.mcp.workflows.iter().map(|p| dir.join(p)).collect(),
            self.mcp
                .plugins
                .iter()
                .map(|(name, p)| (name.clone(), dir.join(p)))
                .collect(),
        )
    }
}

/// The `[store]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreEntry {
    pub url: Option<String>,
    pub url_env: Option<String>,
}

impl HostConfig {
    /// The shared store's URL this file names, if it names one.
    pub fn store_url(&self) -> Result<Option<String>, Failure> {
        let at = format!("{}: store", self.path.display());
        match (&self.store.url, &self.store.url_env) {
            (None, None) => Ok(None),
            (Some(url), None) => Ok(Some(url.clone())),
            (None, Some(variable)) => match std::env::var(variable) {
                Ok(url) if !url.trim().is_empty() => Ok(Some(url)),
                _ => Err(Failure::Invalid(format!(
                    "{at}.url_env: {variable} is not set in this environment; export it, or pass --store"
                ))),
            },
            (Some(_), Some(_)) => Err(Failure::Invalid(format!(
                "{at}: give one of `url` or `url_env`, not both"
            ))),
        }
    }
}

/// One operator's way in to `host serve`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorEntry {
    /// The token itself (keep the file readable by you alone).
    pub token: Option<String>,
    /// The environment variable that holds it.
    pub token_env: Option<String>,
}

/// Shortest operator token accepted: guessing one must be hopeless.
const MIN_TOKEN_CHARS: usize = 16;

impl HostConfig {
    /// The operators' tokens, read from the file or the environment, as (name, token).
    pub fn operator_tokens(&self) -> Result<Vec<(String, String)>, Failure> {
        let mut tokens = Vec::new();
        let mut problems = Vec::new();
        for (name, entry) in &self.operators {
            let at = format!("{}: operators.{name}", self.path.display());
            let token = match (&entry.token, &entry.token_env) {
                (Some(token), None) => token.clone(),
                (None, Some(variable)) => match std::env::var(variable) {
                    Ok(token) => token,
                    Err(_) => {
                        problems.push(format!("{at}.token_env: {variable} is not set in this environment; export it before `host serve`"));
                        continue;
                    }
                },
                _ => {
                    problems.push(format!("{at}: give exactly one of `token` or `token_env`"));
                    continue;
                }
            };
            if token.trim().chars().count() < MIN_TOKEN_CHARS {
                problems.push(format!("{at}: the token is shorter than {MIN_TOKEN_CHARS} characters; make a long random one, e.g. `openssl rand -hex 24`"));
                continue;
            }
            tokens.push((name.clone(), token.trim().to_string()));
        }
        if problems.is_empty() {
            Ok(tokens)
        } else {
            Err(Failure::Invalid(problems.join("\n")))
        }
    }

    /// Reads the host configuration from `path`, or from `config.toml` in the user
    /// configuration directory; a default file that does not exist is an empty one.
    pub fn load(path: Option<&Path>) -> Result<HostConfig, Failure> {
        let explicit = path.is_some();
        let path = match path {
            Some(path) => path.to_path_buf(),
            None => match dirs::config_dir() {
                Some(dir) => dir.join("baton").join("config.toml"),
                None => return Ok(HostConfig::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(HostConfig {
                    path,
                    ..HostConfig::default()
                });
            }
            Err(e) => {
                return Err(Failure::Invalid(format!(
                    "cannot read the host configuration {}: {e}",
                    path.display()
                )));
            }
        };
        HostConfig::parse(&path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<HostConfig, Failure> {
        let mut config: HostConfig = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!(":{line}")
                })
                .unwrap_or_default();
            Failure::Invalid(format!(
                "{}{at}: {}",
                path.display(),
                e.message().trim_end()
            ))
        })?;
        let problems: Vec<String> = config
            .llm
            .problems()
            .into_iter()
            .map(|(field, problem)| format!("{}: llm.{field}: {problem}", path.display()))
            .collect();
        if !problems.is_empty() {
            return Err(Failure::Invalid(problems.join("\n")));
        }
        config.path = path.to_path_buf();
        Ok(config)
    }

    /// The host's `[llm]` with the workflow's laid over it. A workflow may add
    /// providers and prices, and change a provider's model, but may send a key only to
    /// the base URL this file pairs it with: a shared workflow file cannot point an
    /// operator's key at another server.
    pub fn llm_for(&self, workflow: &Workflow) -> Result<LlmConfig, Failure> {
        let Some((overlay, position)) = &workflow.llm else {
            return Ok(self.llm.clone());
        };
        let mut problems = Vec::new();
        for (name, provider) in &overlay.providers {
            let Some(env) = &provider.key_env else {
                continue;
            };
            let paired = self.llm.providers.values().any(|own| {
                own.key_env.as_ref() == Some(env)
                    && own.base_url.trim_end_matches('/') == provider.base_url.trim_end_matches('/')
            });
            if !paired {
                problems.push(format!(
                    "{position}: llm.providers.{name}.key_env: a workflow may send a key only to the base URL the host configuration pairs it with, and {} has no provider with key_env = {env:?} and base_url = {:?}; define this provider in that file instead",
                    self.path.display(),
                    provider.base_url
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Failure::Invalid(problems.join("\n")));
        }
        Ok(self.llm.overlaid(overlay))
    }
}

/// A plugin's `llm` grant resolved against the configuration: the provider, its key
/// read from the environment, the model's price. No provider configured is not an
/// error (the plugin is told `not-configured` and may fall back; a note in `notes`
/// says so); a key variable that is not set is.
pub fn llm_access(
    llm: &LlmConfig,
    config_path: &Path,
    plugin: &str,
    grant: &LlmGrant,
    notes: &mut Vec<String>,
) -> Result<LlmAccess, String> {
    let target = match llm.resolve(grant) {
        Ok((name, provider)) => {
            let key = match &provider.key_env {
                None => None,
                Some(variable) => match std::env::var(variable) {
                    Ok(value) if !value.is_empty() => Some(value),
                    _ => {
                        return Err(format!(
                            "the provider {name:?} takes its key from {variable}, which is not set in this environment; export it before running"
                        ));
                    }
                },
            };
            let price = llm.prices.get(&provider.model).copied();
            Ok(LlmTarget::new(name, provider, key, price)?)
        }
        Err(why) => {
            notes.push(format!(
                "note: plugin {plugin:?} is granted llm, but {why}; it is told `not-configured` (configure a provider in {}, see the README)",
                config_path.display()
            ));
            Err(why)
        }
    };
    Ok(LlmAccess {
        plugin: plugin.to_string(),
        grant: grant.clone(),
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> String {
        match HostConfig::parse(Path::new("config.toml"), text) {
            Err(Failure::Invalid(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn mistakes_name_the_file_the_line_and_the_field() {
        let typo = problem(
            "[llm]\ndefault = \"local\"\n[llm.providers.local]\napi = \"openai\"\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodle = \"llama3.2\"\n",
        );
        assert!(
            typo.starts_with("config.toml:6: unknown field `modle`"),
            "{typo}"
        );
        let url = problem(
            "[llm.providers.local]\napi = \"openai\"\nbase_url = \"localhost:11434\"\nmodel = \"m\"\n",
        );
        assert!(url.contains("config.toml: llm.providers.local.base_url: \"localhost:11434\" is not an http(s) URL"), "{url}");
        let default = problem("[llm]\ndefault = \"nope\"\n");
        assert!(
            default.contains("llm.default: names the provider \"nope\""),
            "{default}"
        );
        let fine = HostConfig::parse(Path::new("config.toml"), "[llm.providers.local]\napi = \"anthropic\"\nbase_url = \"https://api.anthropic.com/v1\"\nmodel = \"m\"\nkey_env = \"ANTHROPIC_API_KEY\"\n").unwrap();
        assert_eq!(
            fine.llm.providers["local"].key_env.as_deref(),
            Some("ANTHROPIC_API_KEY")
        );
    }
}
