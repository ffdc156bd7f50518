//! What a call may use beyond its input, and the secrets it holds: the sandbox is
//! built from these alone (no ambient authority), and secret values are scrubbed
//! from everything the plugin hands back.

use std::borrow::Cow;
use std::path::PathBuf;

/// Grants for one call; the default grants nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    pub dirs: Vec<DirGrant>,
    /// Environment variables the plugin sees, name and value.
    pub env: Vec<(String, String)>,
}

/// A host directory the plugin sees at `guest`, read-only unless `write`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirGrant {
    pub host: PathBuf,
    pub guest: String,
    pub write: bool,
}

/// Replaces every occurrence of a secret value (raw, or as it appears inside a JSON
/// string) with `[redacted]`.
pub fn redact<'a>(text: &'a str, secrets: &[String]) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        let escaped = serde_json::to_string(secret).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        for form in [secret.as_str(), escaped] {
            if out.contains(form) {
                out = Cow::Owned(out.replace(form, "[redacted]"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_scrubbed_raw_and_json_escaped() {
        let secrets = vec!["tok\"en-1234".to_string()];
        assert_eq!(redact("a tok\"en-1234 b", &secrets), "a [redacted] b");
        assert_eq!(
            redact(r#"{"t": "tok\"en-1234"}"#, &secrets),
            r#"{"t": "[redacted]"}"#
        );
        assert_eq!(redact("nothing here", &secrets), "nothing here");
    }

    #[test]
    fn very_short_values_are_not_treated_as_secrets() {
        assert_eq!(redact("a 1 b", &["1".to_string()]), "a 1 b");
    }
}
