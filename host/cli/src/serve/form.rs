//! The edit form of a decision, generated from its edit schema: text as a field (or an
//! area when it runs over lines), an `enum` as a choice, numbers as numeric fields,
//! true/false as a checkbox, and a list of records as rows, each row's fields under
//! its number, with a box to remove it. The form starts from the default; what comes
//! back is laid over the default, field by field, and checked against the schema by
//! the engine as any edit is.
//!
//! Field names are JSON pointers into the value (`/changes/0/Max CPC`), so that a
//! name says exactly what it sets.

use serde::Serialize;
use serde_json::Value;

use crate::terminal::escape_control;

/// One input.
#[derive(Debug, Serialize)]
pub struct Field {
    /// The JSON pointer it sets.
    pub name: String,
    pub label: String,
    /// The schema's description: what the value should be.
    pub help: String,
    /// `text`, `textarea`, `number`, `select` or `checkbox`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<String>,
    pub required: bool,
    pub step: &'static str,
}

/// A field, or a list of records shown as rows of fields.
#[derive(Debug, Serialize)]
pub struct Item {
    pub field: Option<Field>,
    /// For a list of records: its label and the pointer of the list.
    pub label: String,
    pub name: String,
    pub rows: Vec<Vec<Field>>,
}

/// The form for `value` under `schema` (`root` resolves `$ref`s). `None` when the
/// value is not a record this form can show (the JSON editor remains).
pub fn items(schema: &Value, root: &Value, value: &Value) -> Option<Vec<Item>> {
    let schema = resolve(schema, root);
    let record = value.as_object()?;
    let props = schema.get("properties").and_then(Value::as_object);
    let required = required(schema);
    let mut items = Vec::new();
    for (key, now) in record {
        let sub = props
            .and_then(|p| p.get(key))
            .map(|s| resolve(s, root))
            .unwrap_or(&Value::Null);
        let name = format!("/{}", escape_pointer(key));
        let records = now
            .as_array()
            .filter(|rows| rows.iter().all(Value::is_object));
        if let (Some(rows), true) = (records, is_list(sub, now)) {
            let item_schema = sub
                .get("items")
                .map(|s| resolve(s, root))
                .unwrap_or(&Value::Null);
            let rows = rows
                .iter()
                .enumerate()
                .map(|(i, row)| row_fields(item_schema, root, row, &format!("{name}/{i}")))
                .collect();
            items.push(Item {
                field: None,
                label: label(key, sub),
                name,
                rows,
            });
            continue;
        }
        // What a form cannot show (a list of text, a nested record) is kept as the
        // default has it.
        if let Some(field) = field(sub, key, now, &name, required.contains(key)) {
            items.push(Item {
                field: Some(field),
                label: String::new(),
                name: String::new(),
                rows: Vec::new(),
            });
        }
    }
    Some(items)
}

fn row_fields(schema: &Value, root: &Value, row: &Value, at: &str) -> Vec<Field> {
    let props = schema.get("properties").and_then(Value::as_object);
    let required = required(schema);
    let Some(record) = row.as_object() else {
        return Vec::new();
    };
    record
        .keys()
        .cloned()
        .filter_map(|key| {
            let sub = props
                .and_then(|p| p.get(&key))
                .map(|s| resolve(s, root))
                .unwrap_or(&Value::Null);
            let name = format!("{at}/{}", escape_pointer(&key));
            field(sub, &key, &record[&key], &name, required.contains(&key))
        })
        .collect()
}

fn is_list(schema: &Value, value: &Value) -> bool {
    value.is_array() && (schema.is_null() || types(schema).contains(&"array"))
}

fn field(schema: &Value, key: &str, value: &Value, name: &str, required: bool) -> Option<Field> {
    let options: Vec<String> = schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|o| {
            o.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let kinds = types(schema);
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        // Nested records and lists of text stay with the JSON editor.
        _ => return None,
    };
    let (kind, step) = if !options.is_empty() {
        ("select", "")
    } else if kinds.contains(&"integer") || (kinds.is_empty() && value.is_i64()) {
        ("number", "1")
    } else if kinds.contains(&"number") || (kinds.is_empty() && value.is_number()) {
        ("number", "any")
    } else if kinds.contains(&"boolean") || value.is_boolean() {
        ("checkbox", "")
    } else if text.contains('\n')
        || text.len() > 80
        || schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| m > 200)
    {
        ("textarea", "")
    } else {
        ("text", "")
    };
    Some(Field {
        name: name.to_string(),
        label: label(key, schema),
        help: schema
            .get("description")
            .and_then(Value::as_str)
            .map(|d| escape_control(d).into_owned())
            .unwrap_or_default(),
        kind,
        value: escape_control(&text).into_owned(),
        options,
        required,
        step,
    })
}

fn label(key: &str, schema: &Value) -> String {
    let title = schema.get("title").and_then(Value::as_str).unwrap_or(key);
    let spaced = title.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    let label: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    };
    escape_control(&label).into_owned()
}

fn required(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The schema's types (`"type": "string"` or `["string", "null"]`, or the first of
/// an `anyOf` / `oneOf` that is not null).
fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Follows a local `$ref` (`#/$defs/change`), and takes the branch of a nullable
/// `anyOf` / `oneOf` that is not null.
pub fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..8 {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            match root.pointer(target.trim_start_matches('#')) {
                Some(found) => schema = found,
                None => return schema,
            }
            continue;
        }
        let branch = ["anyOf", "oneOf"].iter().find_map(|k| {
            schema
                .get(*k)?
                .as_array()?
                .iter()
                .find(|s| s.get("type").and_then(Value::as_str) != Some("null"))
        });
        match branch {
            Some(branch) => schema = branch,
            None => return schema,
        }
    }
    schema
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Lays the submitted fields over `value` (the default): each `(pointer, text)` is
/// set with the type its schema (or the value it replaces) has; `remove` names rows
/// to drop. A number that does not parse is refused with its field's label.
pub fn apply(
    schema: &Value,
    root: &Value,
    value: &Value,
    fields: &[(String, String)],
    remove: &[String],
) -> Result<Value, String> {
    let mut out = value.clone();
    for (pointer, text) in fields {
        let Some(old) = out.pointer(pointer) else {
            return Err(format!(
                "the form names {pointer}, which the proposal does not have; reload the page"
            ));
        };
        let sub = schema_at(schema, root, pointer);
        let kinds = types(sub);
        let new = if kinds.contains(&"integer") || (kinds.is_empty() && old.is_i64()) {
            match text.trim() {
                "" => Value::Null,
                t => Value::from(t.parse::<i64>().map_err(|_| {
                    format!(
                        "{} must be a whole number, not {t:?}",
                        label(last(pointer), sub)
                    )
                })?),
            }
        } else if kinds.contains(&"number") || (kinds.is_empty() && old.is_number()) {
            match text.trim() {
                "" => Value::Null,
                t => {
                    let n: f64 = t.parse().map_err(|_| {
                        format!("{} must be a number, not {t:?}", label(last(pointer), sub))
                    })?;
                    serde_json::Number::from_f64(n)
                        .map(Value::Number)
                        .unwrap_or(Value::Null)
                }
            }
        } else if kinds.contains(&"boolean") || old.is_boolean() {
            Value::Bool(text == "true" || text == "on")
        } else {
            // Browsers send line breaks as CR LF.
            Value::String(text.replace("\r\n", "\n"))
        };
        if let Some(slot) = out.pointer_mut(pointer) {
            *slot = new;
        }
    }
    // Rows removed, last first so that the indices hold.
    let mut remove: Vec<(String, usize)> = remove
        .iter()
        .filter_map(|p| {
            let (list, index) = p.rsplit_once('/')?;
            Some((list.to_string(), index.parse().ok()?))
        })
        .collect();
    remove.sort_by_key(|(_, index)| std::cmp::Reverse(*index));
    for (list, index) in remove {
        if let Some(Value::Array(rows)) = out.pointer_mut(&list)
            && index < rows.len()
        {
            rows.remove(index);
        }
    }
    Ok(out)
}

fn last(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or(pointer)
}

/// The schema of the place `pointer` names.
fn schema_at<'a>(schema: &'a Value, root: &'a Value, pointer: &str) -> &'a Value {
    let mut at = resolve(schema, root);
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        let next = if part.parse::<usize>().is_ok() && at.get("items").is_some() {
            at.get("items")
        } else {
            at.get("properties").and_then(|p| p.get(&part))
        };
        match next {
            Some(next) => at = resolve(next, root),
            None => return &Value::Null,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "$defs": {
                "change": {"type": "object", "properties": {
                    "Campaign": {"type": "string"},
                    "Status": {"enum": ["Enabled", "Paused"]},
                    "Max CPC": {"type": "string", "title": "Max CPC", "description": "digits"},
                }},
                "choice": {"type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string"},
                    "bid": {"type": "number"},
                    "changes": {"type": "array", "items": {"$ref": "#/$defs/change"}},
                }},
            }
        })
    }

    #[test]
    fn fields_follow_the_schema_and_rows_are_editable() {
        let root = schema();
        let value = json!({"action": "Lower", "bid": 1.5, "changes": [
            {"Campaign": "A", "Status": "Paused"}, {"Campaign": "B", "Max CPC": "0.90"}]});
        let items = items(&root["$defs"]["choice"], &root, &value).unwrap();
        let action = items[0].field.as_ref().unwrap();
        assert_eq!(
            (action.kind, action.required, action.name.as_str()),
            ("text", true, "/action")
        );
        assert_eq!(items[1].field.as_ref().unwrap().kind, "number");
        assert_eq!(items[2].rows.len(), 2);
        assert_eq!(items[2].rows[0][1].kind, "select");
        assert_eq!(items[2].rows[1][1].label, "Max CPC");
        assert_eq!(items[2].rows[1][1].help, "digits");

        let edited = apply(
            &root["$defs"]["choice"],
            &root,
            &value,
            &[
                ("/bid".into(), "2.25".into()),
                ("/changes/1/Max CPC".into(), "0.80".into()),
                ("/action".into(), "Lower\r\nnow".into()),
            ],
            &["/changes/0".into()],
        )
        .unwrap();
        assert_eq!(
            edited,
            json!({"action": "Lower\nnow", "bid": 2.25, "changes": [{"Campaign": "B", "Max CPC": "0.80"}]})
        );
        let refused = apply(
            &root["$defs"]["choice"],
            &root,
            &value,
            &[("/bid".into(), "lots".into())],
            &[],
        );
        assert_eq!(refused.unwrap_err(), "Bid must be a number, not \"lots\"");
    }
}
