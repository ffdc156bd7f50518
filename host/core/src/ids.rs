//! Identifiers, validated once when they are made.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(String);

/// A run, e.g. `01JD3KX5N7Q2W8ZB6T4VYR9M1C`: a ULID, so ids sort by creation time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    pub fn generate() -> RunId {
        RunId(ulid::Ulid::new().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RunId {
    type Error = IdError;
    fn try_from(text: String) -> Result<RunId, IdError> {
        match ulid::Ulid::from_string(&text) {
            Ok(ulid) => Ok(RunId(ulid.to_string())),
            Err(_) => Err(IdError(format!(
                "{text:?} is not a run id; run ids look like 01JD3KX5N7Q2W8ZB6T4VYR9M1C"
            ))),
        }
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

impl FromStr for RunId {
    type Err = IdError;
    fn from_str(text: &str) -> Result<RunId, IdError> {
        RunId::try_from(text.to_string())
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A step of a workflow, e.g. `score`: lowercase letters, digits, `-` and `_`,
/// starting with a letter (so that templates can say `steps.score.output`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StepId(String);

impl StepId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StepId {
    type Error = IdError;
    fn try_from(text: String) -> Result<StepId, IdError> {
        if is_name(&text, &['_']) {
            Ok(StepId(text))
        } else {
            Err(IdError(format!(
                "{text:?} is not a valid step id; use lowercase letters, digits and `_`, starting with a letter (e.g. \"draft_email\")"
            )))
        }
    }
}

impl From<StepId> for String {
    fn from(id: StepId) -> String {
        id.0
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One execution unit: a step, or one item of a `for_each` step.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StepKey {
    pub step: StepId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u32>,
}

impl StepKey {
    pub fn whole(step: StepId) -> StepKey {
        StepKey { step, item: None }
    }

    pub fn item(step: StepId, item: u32) -> StepKey {
        StepKey {
            step,
            item: Some(item),
        }
    }
}

impl fmt::Display for StepKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.item {
            Some(item) => write!(f, "{}[{item}]", self.step),
            None => write!(f, "{}", self.step),
        }
    }
}

/// A decision at a gate: `RUN/gate` or, for one item of a `for_each` gate,
/// `RUN/gate/3`. Stable: the same gate of the same run always has the same id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DecisionId {
    pub run: RunId,
    pub gate: StepKey,
}

impl DecisionId {
    pub fn new(run: RunId, gate: StepKey) -> DecisionId {
        DecisionId { run, gate }
    }
}

impl fmt::Display for DecisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.gate.item {
            Some(item) => write!(f, "{}/{}/{item}", self.run, self.gate.step),
            None => write!(f, "{}/{}", self.run, self.gate.step),
        }
    }
}

impl TryFrom<String> for DecisionId {
    type Error = IdError;
    fn try_from(text: String) -> Result<DecisionId, IdError> {
        let bad = || {
            IdError(format!(
                "{text:?} is not a decision id; decision ids look like 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review"
            ))
        };
        let mut parts = text.split('/');
        let run: RunId = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let step =
            StepId::try_from(parts.next().ok_or_else(bad)?.to_string()).map_err(|_| bad())?;
        let item = match parts.next() {
            Some(item) => Some(item.parse::<u32>().map_err(|_| bad())?),
            None => None,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(DecisionId {
            run,
            gate: StepKey { step, item },
        })
    }
}

impl FromStr for DecisionId {
    type Err = IdError;
    fn from_str(text: &str) -> Result<DecisionId, IdError> {
        DecisionId::try_from(text.to_string())
    }
}

impl From<DecisionId> for String {
    fn from(id: DecisionId) -> String {
        id.to_string()
    }
}

/// A plugin as a workflow names it, e.g. `scorer` in `[plugins.scorer]`: lowercase
/// letters, digits, `-` or `_`, starting with a letter. It scopes the plugin's kv
/// data and names it in logs and errors, so it is checked once, where it is made.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PluginName(String);

/// As the string it is (`"scorer"`), the way messages quote a name.
impl fmt::Debug for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PluginName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PluginName {
    type Error = IdError;
    fn try_from(text: String) -> Result<PluginName, IdError> {
        if is_name(&text, &['-', '_']) {
            Ok(PluginName(text))
        } else {
            Err(IdError(format!(
                "plugin name {text:?} must be lowercase letters, digits, `-` or `_`, starting with a letter"
            )))
        }
    }
}

impl FromStr for PluginName {
    type Err = IdError;
    fn from_str(text: &str) -> Result<PluginName, IdError> {
        PluginName::try_from(text.to_string())
    }
}

impl From<PluginName> for String {
    fn from(name: PluginName) -> String {
        name.0
    }
}

impl std::ops::Deref for PluginName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for PluginName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name in a workflow file: at most 64 lowercase letters, digits and the
/// `separators`, starting with a letter.
fn is_name(text: &str, separators: &[char]) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || separators.contains(&c))
        && text.len() <= 64
}

/// Whether `name` can name an environment variable (a grant, a secret, a key):
/// ASCII letters, digits and `_`, not starting with a digit. The one check every
/// place that names a variable uses.
pub fn is_env_var_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` is a tool's name as the contract asks `describe` for it: 1 to 64
/// lowercase letters, digits or dashes, e.g. `lead-scorer`.
pub fn is_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    #[test]
    fn plugin_names_and_variable_names_are_checked_once() {
        use super::{PluginName, is_env_var_name};
        assert_eq!(
            "lead-scorer_2".parse::<PluginName>().unwrap().as_str(),
            "lead-scorer_2"
        );
        for bad in ["", "Scorer", "2scorer", "a b", "../x"] {
            let error = bad.parse::<PluginName>().unwrap_err().to_string();
            assert!(
                error.contains("must be lowercase letters"),
                "{bad}: {error}"
            );
        }
        assert!(serde_json::from_str::<PluginName>("\"Bad\"").is_err());
        let name: PluginName = "scorer".parse().unwrap();
        assert_eq!(format!("plugin {name:?}"), "plugin \"scorer\"");
        assert!(is_env_var_name("ADS_API_TOKEN") && is_env_var_name("_x1"));
        for bad in ["", "1ABC", "A-B", "A B", "ÄB"] {
            assert!(!is_env_var_name(bad), "{bad}");
        }
    }

    #[test]
    fn tool_names_are_short_lowercase_digits_and_dashes() {
        assert!(is_tool_name("lead-scorer"));
        assert!(is_tool_name("a2"));
        assert!(!is_tool_name(""));
        assert!(!is_tool_name("Lead"));
        assert!(!is_tool_name("lead_scorer"));
        assert!(!is_tool_name(&"a".repeat(65)));
    }

    use super::*;

    #[test]
    fn decision_ids_round_trip_through_text() {
        let run = RunId::generate();
        for text in [format!("{run}/review"), format!("{run}/review/3")] {
            let id: DecisionId = text.parse().unwrap();
            assert_eq!(id.to_string(), text);
        }
    }

    #[test]
    fn malformed_ids_say_what_an_id_looks_like() {
        assert!(
            "nope"
                .parse::<RunId>()
                .unwrap_err()
                .to_string()
                .contains("run ids look like 01JD3KX5N7Q2W8ZB6T4VYR9M1C")
        );
        assert!(
            "x/y"
                .parse::<DecisionId>()
                .unwrap_err()
                .to_string()
                .contains("decision ids look like 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review")
        );
        assert!(StepId::try_from("Draft".to_string()).is_err());
        assert!(StepId::try_from("draft_2".to_string()).is_ok());
    }
}
