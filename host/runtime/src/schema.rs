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

/// Checks `value` against `schema` (a workflow's `input_schema`, say), compiling it
/// first; the error lists where and why, in the schema author's words where it has
/// them.
pub fn check_value(schema: &Value, value: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("the schema is not a valid JSON Schema ({e})"))?;
    check_with(&validator, Some(schema), value)
}

/// Checks `value`; the error lists where and why it does not match.
pub(crate) fn check(validator: &Validator, value: &Value) -> Result<(), String> {
    check_with(validator, None, value)
}

/// [`check`] against `schema`, the schema `validator` was compiled from: each error
/// also says, in the schema author's words, what the place expects (its `title` and
/// `description`: "Budget: an amount with at most two decimals") instead of the
/// validator's own detail, which is logged at debug level (`host -v`).
pub(crate) fn check_with(
    validator: &Validator,
    schema: Option<&Value>,
    value: &Value,
) -> Result<(), String> {
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
            let detail = reason_first(error);
            match schema.and_then(|schema| expects(schema, &error.schema_path().to_string())) {
                // The author's words are what a person reads; the validator's own
                // (a regular expression, say) go to the log, shown with `-v`.
                Some(words) => {
                    tracing::debug!("{at}: {detail}");
                    format!("at {at}: {words}")
                }
                None => format!("at {at}: {detail}"),
            }
        })
        .collect();
    if errors.len() > ERRORS_SHOWN {
        shown.push(format!("and {} more", errors.len() - ERRORS_SHOWN));
    }
    Err(shown.join("; "))
}

/// What the schema says the failing place expects: the `title` and `description` of
/// the subschema holding the failed keyword (`keyword` is its JSON pointer in
/// `schema`, e.g. `/properties/budget/pattern`), when it has either.
fn expects(schema: &Value, keyword: &str) -> Option<String> {
    let (place, _) = keyword.rsplit_once('/')?;
    let subschema = schema.pointer(place)?;
    let text = |key: &str| {
        subschema
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    match (text("title"), text("description")) {
        (Some(title), Some(description)) => Some(format!("{title}: {description}")),
        (Some(only), None) | (None, Some(only)) => Some(only.to_string()),
        (None, None) => None,
    }
}

/// What is wrong, before the value it is wrong about. The validator's message quotes
/// the value first ("[{...}, {...}] has less than 3 items"): that is kept when it is
/// short; otherwise the reason comes first, with the value masked, and the value
/// after it, cut, so that a message cut short anywhere still says why.
fn reason_first(error: &jsonschema::ValidationError) -> String {
    let whole = error.to_string();
    if whole.chars().count() <= MESSAGE_CHARS / 2 {
        return whole;
    }
    let reason = error.masked_with("the value").to_string();
    if reason == whole {
        return shorten(&whole);
    }
    let value = error.instance().to_string();
    format!(
        "{}; the value: {}",
        shorten(&reason),
        cut(&value, MESSAGE_CHARS / 2)
    )
}

/// The first `max` characters of `text`, with `...` when there were more.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// A long message cut in the middle, keeping its start and its end.
fn shorten(message: &str) -> String {
    let count = message.chars().count();
    if count <= MESSAGE_CHARS {
        return message.to_string();
    }
    let head: String = message.chars().take(MESSAGE_CHARS / 2).collect();
    let tail: String = message.chars().skip(count - MESSAGE_CHARS / 2).collect();
    format!("{head}...{tail}")
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

    #[test]
    fn an_error_says_what_the_schema_author_wrote_the_place_expects() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "budget": {
                    "type": "string",
                    "title": "Budget",
                    "description": "an amount with at most two decimals, e.g. 40.00",
                    "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"
                },
                "note": { "type": "string" }
            }
        });
        let validator = jsonschema::validator_for(&schema).unwrap();
        let error = check_with(
            &validator,
            Some(&schema),
            &serde_json::json!({"budget": "lots"}),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "at /budget: Budget: an amount with at most two decimals, e.g. 40.00"
        );
        // A place the author did not describe keeps the validator's words alone.
        let error =
            check_with(&validator, Some(&schema), &serde_json::json!({"note": 3})).unwrap_err();
        assert_eq!(error, "at /note: 3 is not of type \"string\"");
    }

    #[test]
    fn a_long_message_keeps_its_reason() {
        let schema = serde_json::json!({ "type": "array", "minItems": 3 });
        let validator = jsonschema::validator_for(&schema).unwrap();
        let long = "x".repeat(400);
        let error = check(&validator, &serde_json::json!([long, long])).unwrap_err();
        // The reason first, so that a message cut anywhere after it still says why;
        // then the value, cut.
        assert!(
            error.starts_with("at /: the value has less than 3 items; the value: [\"xxx"),
            "{error}"
        );
        assert!(error.ends_with("..."), "{error}");
        assert!(error.chars().count() < 300, "{error}");
        // A short one reads as the validator says it.
        let error = check(&validator, &serde_json::json!([1])).unwrap_err();
        assert_eq!(error, "at /: [1] has less than 3 items");
    }
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
