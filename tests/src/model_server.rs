//! A language-model provider for the tests: an HTTP server on 127.0.0.1 that speaks
//! enough of OpenAI's chat completions and Anthropic's messages API, answers from a
//! script (answers, 429s, 500s, slow answers, malformed bodies), and records every
//! request it receives, headers included, so tests can see what reached it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `{auth}` is replaced by the request's key header, for a provider that echoes it.
    pub body: String,
    /// Waited before answering.
    pub delay: Duration,
    /// A request field this answer refuses as OpenAI does a parameter a model does
    /// not take (400, `unsupported_parameter`), when the request carries it.
    pub refuses_field: Option<String>,
}

impl Reply {
    /// A chat completion with `text`.
    pub fn openai(text: &str, tokens_in: u64, tokens_out: u64) -> Reply {
        Reply::json(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model-1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out, "total_tokens": tokens_in + tokens_out},
        }))
    }

    /// A messages answer: `text`, or a `tool_use` block holding `structured`.
    pub fn anthropic(
        text: &str,
        structured: Option<Value>,
        tokens_in: u64,
        tokens_out: u64,
    ) -> Reply {
        let content = match structured {
            Some(input) => {
                json!([{"type": "tool_use", "id": "toolu_1", "name": "answer", "input": input}])
            }
            None => json!([{"type": "text", "text": text}]),
        };
        Reply::json(json!({
            "id": "msg_test", "type": "message", "role": "assistant", "model": "claude-test",
            "content": content, "stop_reason": "end_turn",
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        }))
    }

    pub fn json(value: Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string(),
            delay: Duration::ZERO,
            refuses_field: None,
        }
    }

    /// This answer, or OpenAI's 400 for an unsupported parameter when the request has
    /// `field` (as its reasoning models answer `max_tokens`).
    pub fn refusing_field(mut self, field: &str) -> Reply {
        self.refuses_field = Some(field.into());
        self
    }

    /// An error status with a provider-style JSON error body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            body: json!({"error": {"message": format!("scripted {status}")}}).to_string(),
            ..Reply::json(Value::Null)
        }
    }

    /// A 200 whose body is not JSON.
    pub fn malformed() -> Reply {
        Reply {
            body: "<html>upstream proxy error</html>".into(),
            ..Reply::json(Value::Null)
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The running server. Stops when dropped.
#[derive(Debug)]
pub struct ModelServer {
    pub addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
    _runtime: tokio::runtime::Runtime,
}

impl ModelServer {
    /// Starts a server that answers with `script` in order; once the script is used
    /// up, it keeps giving its last answer.
    pub fn start(script: Vec<Reply>) -> ModelServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the model server");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the model server");
        let addr = listener.local_addr().expect("the server's address");
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (script.clone(), received.clone());
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (s, r) = (s.clone(), r.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        answer(request, s.clone(), r.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        ModelServer {
            addr,
            script,
            received,
            _runtime: runtime,
        }
    }

    /// The base URL of its API, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Replaces what is left of the script.
    pub fn script(&self, replies: Vec<Reply>) {
        *self.script.lock().unwrap() = VecDeque::from(replies);
    }
}

async fn answer(
    request: Request<Incoming>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let record = Received {
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let key = record
        .header("authorization")
        .or(record.header("x-api-key"))
        .unwrap_or_default()
        .to_string();
    let sent = record.body.clone();
    received.lock().unwrap().push(record);
    let reply = {
        let mut script = script.lock().unwrap();
        if script.len() > 1 {
            script.pop_front()
        } else {
            script.front().cloned()
        }
    }
    .unwrap_or_else(|| Reply::status(500));
    let reply = match &reply.refuses_field {
        Some(field) if sent.get(field).is_some() => Reply {
            status: 400,
            body: json!({"error": {
                "message": format!("Unsupported parameter: '{field}' is not supported with this model. Use 'max_completion_tokens' instead."),
                "type": "invalid_request_error", "param": field, "code": "unsupported_parameter",
            }})
            .to_string(),
            ..reply
        },
        _ => reply,
    };
    if !reply.delay.is_zero() {
        // (A zero sleep would still wait for the timer's next millisecond tick.)
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    Ok(response
        .body(Full::new(Bytes::from(reply.body.replace("{auth}", &key))))
        .expect("a scripted response"))
}
