//! JSON Schema checks of plugin inputs and outputs, with messages that point at the
//! offending place (`/leads/3/employees`).

use jsonschema::Validator;
use serde_json::Value;

/// Errors listed per failed check; the rest are counted.
const ERRORS_SHOWN: usize = 3;
/// A message quoting a huge value is cut to this many characters.
const MESSAGE_CHARS: usize = 240;

/// Parses and compiles a schema the plugin declared in `describe`.
pub(crate) fn compile(text: &str) -> Result<(Value, Validator), String> {
    let schema: Value =
        serde_json::from_str(text).map_err(|e| format!("is not valid JSON ({e})"))?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| format!("is not a valid JSON Schema ({e})"))?;
    Ok((schema, validator))
}

/// Parses JSON text that crosses the boundary and checks it against the plugin's
/// schema for that direction (`what` is `input` or `output`).
pub(crate) fn parse_and_check(
    text: &str,
    validator: &Validator,
    what: &str,
) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("not valid JSON at {}", describe_json_error(&e)))?;
    check_against(validator, &value, what)?;
    Ok(value)
}

/// Checks a value against the plugin's schema for `input` or `output`.
pub(crate) fn check_against(
    validator: &Validator,
    value: &Value,
    what: &str,
) -> Result<(), String> {
    check(validator, value).map_err(|e| format!("it does not match the plugin's {what} schema {e}"))
}

/// Checks `value`; the error lists where and why it does not match.
pub(crate) fn check(validator: &Validator, value: &Value) -> Result<(), String> {
    if validator.is_valid(value) {
        return Ok(());
    }
    let errors: Vec<_> = validator.iter_errors(value).collect();
    let mut shown: Vec<String> = errors
        .iter()
        .take(ERRORS_SHOWN)
        .map(|error| {
            let path = error.instance_path().to_string();
            let at = if path.is_empty() {
                "/".to_string()
            } else {
                path
            };
            format!("at {at}: {}", shorten(&error.to_string()))
        })
        .collect();
    if errors.len() > ERRORS_SHOWN {
        shown.push(format!("and {} more", errors.len() - ERRORS_SHOWN));
    }
    Err(shown.join("; "))
}

fn shorten(message: &str) -> String {
    if message.chars().count() <= MESSAGE_CHARS {
        return message.to_string();
    }
    let cut: String = message.chars().take(MESSAGE_CHARS).collect();
    format!("{cut}...")
}

/// Locates a JSON syntax error for a human: `line 3, column 14: expected ...`.
pub(crate) fn describe_json_error(error: &serde_json::Error) -> String {
    format!(
        "line {}, column {}: {}",
        error.line(),
        error.column(),
        strip_position(&error.to_string())
    )
}

fn strip_position(message: &str) -> &str {
    message
        .rsplit_once(" at line ")
        .map(|(head, _)| head)
        .unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_mismatch_names_the_path_and_the_reason() {
        let (_, validator) =
            compile(r#"{"type":"object","properties":{"n":{"type":"integer"}}}"#).unwrap();
        let error = check(&validator, &json!({"n": "many"})).unwrap_err();
        assert!(error.starts_with("at /n:"), "{error}");
        assert!(error.contains("integer"), "{error}");
    }

    #[test]
    fn a_schema_that_is_not_json_is_refused_with_the_reason() {
        assert!(compile("{not json").unwrap_err().contains("not valid JSON"));
        assert!(
            compile(r#"{"type": 12}"#)
                .unwrap_err()
                .contains("not a valid JSON Schema")
        );
    }

    #[test]
    fn json_errors_say_line_and_column_once() {
        let error = serde_json::from_str::<Value>("{\n  \"a\": 1,,\n}").unwrap_err();
        let text = describe_json_error(&error);
        assert!(text.starts_with("line 2, column"), "{text}");
        assert_eq!(text.matches("line").count(), 1, "{text}");
    }
}
