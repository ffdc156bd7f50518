//! Templates (for inputs, titles, reasons) and expressions (for `when`, `for_each`,
//! `choices`, `auto_approve`), on minijinja with strict undefined: a reference to a
//! field that does not exist is an error, never an empty string.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

/// Why a template or an expression could not be compiled or evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env
    })
}

fn describe(error: &minijinja::Error) -> String {
    let mut text = error.kind().to_string();
    if let Some(detail) = error.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    text
}

/// What a template or expression can see.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The run's input.
    pub input: Value,
    /// `steps.<id>.output` for every step that has an output so far.
    pub steps: Map<String, Value>,
    /// Inside a `for_each` step: the current item and its index.
    pub item: Option<(Value, u32)>,
    /// In a gate's `view`: the choice being shown.
    pub choice: Option<Value>,
    /// In a gate's `auto_approve`: the decision's kind.
    pub kind: Option<String>,
}

impl Context {
    pub fn with_output(&mut self, step: &str, output: Value) {
        self.steps
            .insert(step.to_string(), serde_json::json!({ "output": output }));
    }

    fn to_value(&self) -> minijinja::Value {
        let mut root = Map::new();
        root.insert("input".into(), self.input.clone());
        root.insert("steps".into(), Value::Object(self.steps.clone()));
        if let Some((item, index)) = &self.item {
            root.insert("item".into(), item.clone());
            root.insert("index".into(), Value::from(*index));
        }
        if let Some(choice) = &self.choice {
            root.insert("choice".into(), choice.clone());
        }
        if let Some(kind) = &self.kind {
            root.insert("kind".into(), Value::String(kind.clone()));
        }
        minijinja::Value::from(minijinja::value::Serde(Value::Object(root)))
    }
}

/// An expression, written bare (`steps.score.output.top`) or wrapped in `{{ }}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    source: String,
}

impl Expr {
    /// Compiles to check the syntax; the references it makes are returned.
    pub fn parse(text: &str) -> Result<(Expr, BTreeSet<String>), TemplateError> {
        let source = unwrap_braces(text).unwrap_or(text).trim().to_string();
        let compiled = environment()
            .compile_expression(&source)
            .map_err(|e| TemplateError(describe(&e)))?;
        let mut references: BTreeSet<String> =
            compiled.undeclared_variables(true).into_iter().collect();
        references.extend(step_references(&source));
        Ok((Expr { source }, references))
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    fn eval_raw(&self, context: &Context) -> Result<minijinja::Value, TemplateError> {
        let value = environment()
            .compile_expression(&self.source)
            .and_then(|e| e.eval(context.to_value()))
            .map_err(|e| TemplateError(format!("`{}`: {}", self.source, describe(&e))))?;
        // Strict mode stops lookups *through* a missing field, not a missing last one.
        if value.is_undefined() {
            return Err(TemplateError(format!(
                "`{}` is undefined: the field does not exist in this run's data",
                self.source
            )));
        }
        Ok(value)
    }

    pub fn eval(&self, context: &Context) -> Result<Value, TemplateError> {
        let value = self.eval_raw(context)?;
        serde_json::to_value(&value)
            .map_err(|e| TemplateError(format!("`{}` is not JSON: {e}", self.source)))
    }

    pub fn eval_bool(&self, context: &Context) -> Result<bool, TemplateError> {
        Ok(self.eval_raw(context)?.is_true())
    }
}

/// A value tree whose strings may be templates, e.g. the `input` of a step.
#[derive(Clone, Debug, PartialEq)]
pub enum Template {
    /// A string that is exactly `{{ expression }}`: keeps the expression's JSON type.
    Expr(Expr),
    /// A string with `{{ }}` or `{% %}` inside: rendered as text.
    Text(String),
    Literal(Value),
    Array(Vec<Template>),
    Object(Vec<(String, Template)>),
}

impl Template {
    /// Builds a template from a TOML value, checking every string's syntax.
    pub fn parse(value: &toml::Value) -> Result<(Template, BTreeSet<String>), TemplateError> {
        let mut references = BTreeSet::new();
        let template = Template::build(value, &mut references)?;
        Ok((template, references))
    }

    /// A single string template, e.g. a gate's title.
    pub fn parse_text(text: &str) -> Result<(Template, BTreeSet<String>), TemplateError> {
        Template::parse(&toml::Value::String(text.to_string()))
    }

    fn build(value: &toml::Value, refs: &mut BTreeSet<String>) -> Result<Template, TemplateError> {
        Ok(match value {
            toml::Value::String(text) => {
                if unwrap_braces(text).is_some() {
                    let (expr, found) = Expr::parse(text)?;
                    refs.extend(found);
                    Template::Expr(expr)
                } else if text.contains("{{") || text.contains("{%") {
                    let compiled = environment()
                        .template_from_str(text)
                        .map_err(|e| TemplateError(describe(&e)))?;
                    refs.extend(compiled.undeclared_variables(true));
                    for code in code_blocks(text) {
                        refs.extend(step_references(code));
                    }
                    Template::Text(text.clone())
                } else {
                    Template::Literal(Value::String(text.clone()))
                }
            }
            toml::Value::Array(items) => Template::Array(
                items
                    .iter()
                    .map(|item| Template::build(item, refs))
                    .collect::<Result<_, _>>()?,
            ),
            toml::Value::Table(table) => Template::Object(
                table
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Template::build(v, refs)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => Template::Literal(
                serde_json::to_value(other)
                    .map_err(|e| TemplateError(format!("cannot use this value: {e}")))?,
            ),
        })
    }

    pub fn render(&self, context: &Context) -> Result<Value, TemplateError> {
        Ok(match self {
            Template::Expr(expr) => expr.eval(context)?,
            Template::Text(text) => Value::String(
                environment()
                    .render_str(text, context.to_value())
                    .map_err(|e| TemplateError(format!("{text:?}: {}", describe(&e))))?,
            ),
            Template::Literal(value) => value.clone(),
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.render(context))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), t.render(context)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
        })
    }

    /// Renders to text (titles, reasons): strings as they are, other values as JSON.
    pub fn render_text(&self, context: &Context) -> Result<String, TemplateError> {
        Ok(match self.render(context)? {
            Value::String(text) => text,
            other => other.to_string(),
        })
    }
}

/// `steps.<id>` references in template code, as `steps.<id>`.
///
/// minijinja's `undeclared_variables` returns nothing at all for an expression that
/// contains a slice (`steps.score.output.leads[:3]`, minijinja 3.0.5), which would
/// silently drop a dependency; this scan of the code (never of literal text or of
/// quoted strings) makes sure every step a template names is waited for.
fn step_references(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut quote: Option<char> = None;
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {
                let starts_word = i == 0
                    || !(chars[i - 1].is_alphanumeric()
                        || chars[i - 1] == '_'
                        || chars[i - 1] == '.');
                if starts_word && chars[i..].starts_with(&['s', 't', 'e', 'p', 's']) {
                    let mut j = i + 5;
                    while j < chars.len() && chars[j].is_whitespace() {
                        j += 1;
                    }
                    if j < chars.len() && chars[j] == '.' {
                        let name: String = chars[j + 1..]
                            .iter()
                            .skip_while(|c| c.is_whitespace())
                            .take_while(|c| c.is_alphanumeric() || **c == '_')
                            .collect();
                        if !name.is_empty() {
                            found.insert(format!("steps.{name}"));
                        }
                    }
                }
            }
        }
        i += 1;
    }
    found
}

/// The insides of `{{ }}` and `{% %}` in a text template.
fn code_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start..];
        let close = if after.starts_with("{{") {
            "}}"
        } else if after.starts_with("{%") {
            "%}"
        } else {
            rest = &rest[start + 1..];
            continue;
        };
        match after[2..].find(close) {
            Some(end) => {
                blocks.push(&after[2..2 + end]);
                rest = &after[2 + end + 2..];
            }
            None => break,
        }
    }
    blocks
}

/// `{{ expr }}` alone (ignoring surrounding spaces) gives `expr`.
fn unwrap_braces(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Context {
        let mut context = Context {
            input: json!({"leads": [1, 2]}),
            ..Context::default()
        };
        context.with_output("score", json!({"top": {"name": "Ana", "score": 91}}));
        context
    }

    #[test]
    fn a_lone_expression_keeps_its_json_type() {
        let (template, refs) = Template::parse_text("{{ steps.score.output.top }}").unwrap();
        assert_eq!(
            template.render(&context()).unwrap(),
            json!({"name": "Ana", "score": 91})
        );
        assert!(refs.contains("steps.score.output.top"), "{refs:?}");
    }

    #[test]
    fn text_with_placeholders_renders_as_a_string() {
        let (template, _) =
            Template::parse_text("Follow up with {{ steps.score.output.top.name }}?").unwrap();
        assert_eq!(
            template.render(&context()).unwrap(),
            json!("Follow up with Ana?")
        );
    }

    #[test]
    fn tables_render_field_by_field() {
        let value: toml::Value = toml::from_str(
            r#"lead = "{{ steps.score.output.top }}"
tone = "warm"
n = 3"#,
        )
        .unwrap();
        let (template, _) = Template::parse(&value).unwrap();
        assert_eq!(
            template.render(&context()).unwrap(),
            json!({"lead": {"name": "Ana", "score": 91}, "tone": "warm", "n": 3})
        );
    }

    #[test]
    fn a_missing_field_is_an_error_not_an_empty_string() {
        let (template, _) = Template::parse_text("{{ steps.score.output.nope }}").unwrap();
        assert!(template.render(&context()).is_err());
    }

    #[test]
    fn syntax_errors_are_found_when_parsing() {
        assert!(Template::parse_text("{{ steps.score.output. }}").is_err());
        assert!(Expr::parse("steps.score.output.top >").is_err());
    }

    #[test]
    fn conditions_are_truthy_or_falsy() {
        let (expr, _) = Expr::parse("steps.score.output.top.score > 90").unwrap();
        assert!(expr.eval_bool(&context()).unwrap());
        let (expr, _) = Expr::parse("{{ input.leads | length > 5 }}").unwrap();
        assert!(!expr.eval_bool(&context()).unwrap());
    }
}
#[cfg(test)]
mod reference_tests {
    use super::*;

    #[test]
    fn slices_still_count_as_references() {
        let (_, refs) = Expr::parse("steps.score.output.leads[:3]").unwrap();
        assert!(refs.contains("steps.score"), "{refs:?}");
    }

    #[test]
    fn literal_text_and_quoted_strings_are_not_references() {
        let (_, refs) =
            Template::parse_text("see steps.notes for {{ steps.draft.output.x ~ 'steps.fake' }}")
                .unwrap();
        assert!(refs.contains("steps.draft"), "{refs:?}");
        assert!(
            !refs
                .iter()
                .any(|r| r.contains("notes") || r.contains("fake")),
            "{refs:?}"
        );
    }
}
