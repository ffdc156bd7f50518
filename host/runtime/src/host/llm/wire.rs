//! The two protocols on the wire: OpenAI's chat completions (also Ollama, llama.cpp's
//! server, vLLM, LM Studio) and Anthropic's messages. Each turns a request into a
//! path, headers and body, and an answer's body into a completion.

use baton_core::{MaxTokensField, Provider, ProviderApi};
use serde_json::{Value, json};

/// What the plugin asked, in the host's terms.
#[derive(Clone, Debug)]
pub(super) struct Ask {
    /// `(role, content)`, role one of `system`, `user`, `assistant`.
    pub messages: Vec<(&'static str, String)>,
    pub schema: Option<Value>,
    pub max_tokens: u64,
    pub temperature: Option<f64>,
}

/// Why the model stopped, as the contract names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    Finished,
    MaxTokens,
    Filtered,
    Other,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Finished => "finished",
            Stop::MaxTokens => "max-tokens",
            Stop::Filtered => "filtered",
            Stop::Other => "other",
        }
    }

    pub fn parse(name: &str) -> Stop {
        [Stop::Finished, Stop::MaxTokens, Stop::Filtered]
            .into_iter()
            .find(|s| s.as_str() == name)
            .unwrap_or(Stop::Other)
    }
}

/// A completion read from a provider's answer.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Parsed {
    pub text: String,
    pub model: String,
    /// `None` when the provider did not say.
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    pub stop: Stop,
}

/// The tool name a structured answer is asked for under with Anthropic's API.
const ANSWER_TOOL: &str = "answer";

/// Where an API's requests go, under the provider's base URL.
pub(super) fn path(api: ProviderApi) -> &'static str {
    match api {
        ProviderApi::Openai => "chat/completions",
        ProviderApi::Anthropic => "messages",
    }
}

/// Why the provider would refuse `ask`, before it is sent: its API's own rules.
pub(super) fn refusal(api: ProviderApi, ask: &Ask) -> Option<String> {
    match api {
        ProviderApi::Openai => None,
        ProviderApi::Anthropic => {
            if ask.messages.iter().all(|(role, _)| *role == "system") {
                return Some(
                    "Anthropic's API needs a `user` message besides the `system` ones (it takes system text apart from the conversation); add the task as a `user` message".into(),
                );
            }
            match &ask.schema {
                Some(schema) if schema.get("type") != Some(&json!("object")) => Some(
                    "with Anthropic's API the json-schema must describe an object (`\"type\": \"object\"`: it is the input of the tool the answer is asked for through); wrap the value in one, e.g. {\"type\": \"object\", \"required\": [\"items\"], \"properties\": {\"items\": ...}}".into(),
                ),
                _ => None,
            }
        }
    }
}

/// The parameters of `ask` as a provider is sent them: the field that bounds the
/// answer and its value, and the temperature in the API's range (Anthropic's is 0 to
/// 1). The run's log records these.
pub(super) fn sent(provider: &Provider, ask: &Ask) -> Value {
    let mut sent = json!({ provider.max_tokens_field().as_str(): ask.max_tokens });
    if let Some(t) = ask.temperature {
        sent["temperature"] = json!(match provider.api {
            ProviderApi::Openai => t,
            ProviderApi::Anthropic => t.min(1.0),
        });
    }
    sent
}

/// The body of a request.
pub(super) fn request(provider: &Provider, ask: &Ask) -> Value {
    let sent = sent(provider, ask);
    match provider.api {
        ProviderApi::Openai => {
            let messages: Vec<Value> = ask
                .messages
                .iter()
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect();
            let mut body = json!({
                "model": provider.model,
                "messages": messages,
                "stream": false,
            });
            let field = provider.max_tokens_field().as_str();
            body[field] = sent[field].clone();
            if let Some(t) = sent.get("temperature") {
                body["temperature"] = t.clone();
            }
            if let Some(schema) = &ask.schema {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": ANSWER_TOOL, "schema": schema},
                });
            }
            body
        }
        ProviderApi::Anthropic => {
            let system: Vec<&str> = ask
                .messages
                .iter()
                .filter(|(role, _)| *role == "system")
                .map(|(_, content)| content.as_str())
                .collect();
            let messages: Vec<Value> = ask
                .messages
                .iter()
                .filter(|(role, _)| *role != "system")
                .map(|(role, content)| json!({"role": role, "content": content}))
                .collect();
            let mut body = json!({
                "model": provider.model,
                "max_tokens": sent[MaxTokensField::MaxTokens.as_str()],
                "messages": messages,
            });
            if !system.is_empty() {
                body["system"] = json!(system.join("\n\n"));
            }
            if let Some(t) = sent.get("temperature") {
                body["temperature"] = t.clone();
            }
            if let Some(schema) = &ask.schema {
                body["tools"] = json!([{
                    "name": ANSWER_TOOL,
                    "description": "Give the answer in this structure.",
                    "input_schema": schema,
                }]);
                body["tool_choice"] = json!({"type": "tool", "name": ANSWER_TOOL});
            }
            body
        }
    }
}

/// The headers that carry the key (and the API version, for Anthropic).
pub(super) fn key_headers(api: ProviderApi, key: Option<&str>) -> Vec<(&'static str, String)> {
    match (api, key) {
        (ProviderApi::Openai, Some(key)) => vec![("authorization", format!("Bearer {key}"))],
        (ProviderApi::Openai, None) => vec![],
        (ProviderApi::Anthropic, key) => {
            let mut headers = vec![("anthropic-version", "2023-06-01".to_string())];
            if let Some(key) = key {
                headers.push(("x-api-key", key.to_string()));
            }
            headers
        }
    }
}

/// An answer the host cannot use: why, and what its `usage` says was billed, `(in,
/// out)`, when it says: an unusable answer still counts.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Unusable {
    pub why: String,
    pub billed: Option<(u64, u64)>,
}

/// Reads a 2xx answer's body.
pub(super) fn parse(api: ProviderApi, body: &[u8], structured: bool) -> Result<Parsed, Unusable> {
    let value: Value = serde_json::from_slice(body).map_err(|e| Unusable {
        why: format!(
            "the answer is not JSON ({e}): {}",
            super::client::excerpt(body)
        ),
        billed: None,
    })?;
    let usage = &value["usage"];
    let (tokens_in, tokens_out) = match api {
        ProviderApi::Openai => (&usage["prompt_tokens"], &usage["completion_tokens"]),
        ProviderApi::Anthropic => (&usage["input_tokens"], &usage["output_tokens"]),
    };
    let (tokens_in, tokens_out) = (tokens_in.as_u64(), tokens_out.as_u64());
    let (text, stop) = read(api, &value, structured).map_err(|why| Unusable {
        why,
        billed: (tokens_in.is_some() || tokens_out.is_some())
            .then(|| (tokens_in.unwrap_or(0), tokens_out.unwrap_or(0))),
    })?;
    Ok(Parsed {
        text,
        model: value["model"].as_str().unwrap_or_default().to_string(),
        tokens_in,
        tokens_out,
        stop,
    })
}

/// The text of an answer and why the model stopped, or why there is no usable text.
fn read(api: ProviderApi, value: &Value, structured: bool) -> Result<(String, Stop), String> {
    match api {
        ProviderApi::Openai => {
            let choice = value["choices"]
                .get(0)
                .ok_or("the answer has no `choices[0]`")?;
            let message = &choice["message"];
            let text = match message["content"].as_str() {
                Some(text) => text.to_string(),
                None if message["refusal"].is_string() => {
                    return Err(format!(
                        "the model refused: {}",
                        message["refusal"].as_str().unwrap_or_default()
                    ));
                }
                None if message["tool_calls"].is_array() => {
                    return Err(
                        "the answer is a tool call, with no `choices[0].message.content` text"
                            .into(),
                    );
                }
                None => return Err("the answer has no `choices[0].message.content` text".into()),
            };
            let stop = match choice["finish_reason"].as_str() {
                Some("stop") => Stop::Finished,
                Some("length") => Stop::MaxTokens,
                Some("content_filter") => Stop::Filtered,
                _ => Stop::Other,
            };
            Ok((text, stop))
        }
        ProviderApi::Anthropic => {
            let blocks = value["content"]
                .as_array()
                .ok_or("the answer has no `content` list")?;
            let text = if structured {
                let input = blocks
                    .iter()
                    .find(|b| b["type"] == "tool_use")
                    .map(|b| &b["input"])
                    .ok_or("the answer has no `tool_use` block with the structured answer")?;
                input.to_string()
            } else {
                blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("")
            };
            let stop = match value["stop_reason"].as_str() {
                Some("end_turn" | "stop_sequence" | "tool_use") => Stop::Finished,
                Some("max_tokens") => Stop::MaxTokens,
                Some("refusal") => Stop::Filtered,
                _ => Stop::Other,
            };
            Ok((text, stop))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(api: ProviderApi) -> Provider {
        Provider {
            api,
            base_url: "http://127.0.0.1:1/v1".into(),
            model: "m".into(),
            key_env: None,
            timeout: None,
            retries: None,
            max_tokens_field: None,
        }
    }

    fn ask() -> Ask {
        Ask {
            messages: vec![("system", "Be brief.".into()), ("user", "Hi".into())],
            schema: Some(json!({"type": "object"})),
            max_tokens: 100,
            temperature: Some(1.5),
        }
    }

    #[test]
    fn anthropic_takes_system_apart_and_asks_for_the_structure_as_a_tool() {
        let body = request(&provider(ProviderApi::Anthropic), &ask());
        assert_eq!(path(ProviderApi::Anthropic), "messages");
        assert_eq!(body["system"], "Be brief.");
        assert_eq!(body["messages"].as_array().unwrap().len(), 1);
        assert_eq!(body["temperature"], 1.0);
        assert_eq!(body["tool_choice"]["name"], "answer");
        let answer = json!({"model": "m", "content": [{"type": "tool_use", "input": {"a": 1}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 7}});
        let parsed = parse(ProviderApi::Anthropic, answer.to_string().as_bytes(), true).unwrap();
        assert_eq!(parsed.text, r#"{"a":1}"#);
        assert_eq!((parsed.tokens_in, parsed.tokens_out), (Some(5), Some(7)));
        assert_eq!(parsed.stop, Stop::Finished);
        // In text when a structure was asked for: unusable, and still billed.
        let prose = json!({"model": "m", "content": [{"type": "text", "text": "no"}],
            "usage": {"input_tokens": 5, "output_tokens": 7}});
        let unusable =
            parse(ProviderApi::Anthropic, prose.to_string().as_bytes(), true).unwrap_err();
        assert!(unusable.why.contains("no `tool_use` block"), "{unusable:?}");
        assert_eq!(unusable.billed, Some((5, 7)));
    }

    #[test]
    fn openai_keeps_messages_in_order_and_reads_finish_reasons() {
        let body = request(&provider(ProviderApi::Openai), &ask());
        assert_eq!(path(ProviderApi::Openai), "chat/completions");
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["response_format"]["type"], "json_schema");
        let answer = json!({"model": "m", "choices": [{"message": {"content": "x"}, "finish_reason": "length"}]});
        let parsed = parse(ProviderApi::Openai, answer.to_string().as_bytes(), false).unwrap();
        assert_eq!(parsed.stop, Stop::MaxTokens);
        assert_eq!(parsed.tokens_in, None);
        assert!(parse(ProviderApi::Openai, b"{\"choices\": []}", false).is_err());
        assert!(
            parse(ProviderApi::Openai, b"<html>", false)
                .unwrap_err()
                .why
                .contains("not JSON")
        );
    }
}
