//! The `llm` capability against a scripted provider on 127.0.0.1: the key reaches the
//! provider and never the plugin, budgets stop calls, retries happen and stop, every
//! exchange is in the run's log and reused after a crash, and the copy drafter writes
//! with the model or falls back to its templates.

use baton_tests::Scratch;
use baton_tests::model_server::{ModelServer, Reply};
use serde_json::{Value, json};

/// What the provider's key is in these tests: long and unmistakable.
const KEY: &str = "sk-baton-test-6f1d0c9a7e2b4c11";
const KEY_ENV: &str = "BATON_TEST_MODEL_KEY";

/// A workflow with one step: the probe, granted `llm` with `GRANT`.
const PROBE: &str = r#"
name = "llm-probe"
[plugins.probe]
source = "{probe}"
limits = { timeout = "1s" }
grants = { llm = { GRANT } }

[[steps]]
id = "ask"
uses = "probe"
input = "{{ input }}"
"#;

fn host_config(scratch: &Scratch, server: &ModelServer, api: &str, extra: &str) {
    scratch.host_config(&format!(
        r#"
[llm]
default = "test"

[llm.providers.test]
api = "{api}"
base_url = "{}"
model = "test-model"
key_env = "{KEY_ENV}"
{extra}

[llm.prices.test-model]
input = 2.5
output = 10.0
"#,
        server.base_url()
    ));
}

fn user(content: &str) -> Value {
    json!({"messages": [{"role": "user", "content": content}]})
}

/// Runs the probe with `calls`; returns the run id, its probe output, and the run.
fn ask(scratch: &Scratch, grant: &str, calls: Vec<Value>) -> (String, Value, Value) {
    let workflow = scratch.workflow("probe.toml", &PROBE.replace("GRANT", grant));
    let input = scratch.file("input.json", json!({"calls": calls}).to_string());
    let out = scratch.host_with_env(
        &[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--json",
        ],
        &[(KEY_ENV, KEY)],
    );
    let run = out.expect_code(0).json()["run"]
        .as_str()
        .unwrap()
        .to_string();
    let state = scratch
        .host(&["show", &run, "--json"])
        .expect_code(0)
        .json();
    let output = state["steps"]["ask"]["output"].clone();
    (run, output, state)
}

/// Every byte of the state store, as text, to search for the key.
fn store_bytes(scratch: &Scratch) -> String {
    let mut all = Vec::new();
    let mut dirs = vec![scratch.state_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                all.extend(std::fs::read(&path).unwrap());
            }
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[test]
fn the_key_reaches_the_provider_and_never_the_plugin_the_log_or_the_store() {
    let scratch = Scratch::new();
    // A provider that echoes the key it received back in its answer.
    let server = ModelServer::start(vec![Reply::openai("you sent me {auth}", 12, 8)]);
    host_config(&scratch, &server, "openai", "");
    let (run, output, state) = ask(&scratch, "calls_per_run = 3", vec![user("hello")]);

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/v1/chat/completions");
    assert_eq!(
        received[0].header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(received[0].body["model"], "test-model");
    assert_eq!(received[0].body["messages"][0]["content"], "hello");

    let answer = &output["results"][0]["ok"];
    assert_eq!(answer["text"], "you sent me Bearer [redacted]", "{output}");
    assert_eq!(
        (answer["tokens_in"].as_u64(), answer["tokens_out"].as_u64()),
        (Some(12), Some(8))
    );
    assert_eq!(answer["model"], "test-model-1");
    // The plugin looked everywhere it can: environment, arguments, config, files.
    let looked = output["seen"].as_array().unwrap();
    assert!(
        looked
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("file /proc/self/environ: ")),
        "the hunt did not run: {output}"
    );
    let seen = output["seen"].to_string();
    assert!(!seen.contains(KEY), "the plugin found the key: {seen}");
    assert!(
        !seen.contains(KEY_ENV),
        "the plugin saw the key's variable: {seen}"
    );

    // The exchange is in the run's log, with its tokens and cost, and no key.
    let exchange = &state["steps"]["ask"]["llm"][0];
    assert_eq!(exchange["provider"], "test");
    assert_eq!(exchange["request"]["messages"][0]["content"], "hello");
    assert_eq!(exchange["tokens_in"], 12);
    assert_eq!(exchange["attempts"], 1);
    assert!(
        (exchange["cost_usd"].as_f64().unwrap() - 0.00011).abs() < 1e-12,
        "{exchange}"
    );
    let text = scratch.host(&["show", &run]).expect_code(0).stdout.clone();
    assert!(
        text.contains("1 call, 20 tokens (12 in, 8 out), $0.0001"),
        "{text}"
    );
    assert!(text.contains("model use: 1 call"), "{text}");
    let audit = scratch
        .host(&["audit", &run, "--jsonl"])
        .expect_code(0)
        .stdout
        .clone();
    for (what, text) in [
        ("show", &text),
        ("audit", &audit),
        ("store", &store_bytes(&scratch)),
    ] {
        assert!(!text.contains(KEY), "the key is in the {what}");
    }
}

#[test]
fn anthropic_gets_its_headers_and_a_structured_answer_is_checked_against_the_schema() {
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![
        Reply::anthropic("", Some(json!({"score": 7})), 30, 5),
        Reply::anthropic("", Some(json!({"score": "high"})), 30, 5),
    ]);
    host_config(&scratch, &server, "anthropic", "");
    let schema = json!({"type": "object", "required": ["score"], "properties": {"score": {"type": "integer"}}});
    let call = json!({
        "messages": [{"role": "system", "content": "Rate it."}, {"role": "user", "content": "A lead"}],
        "json_schema": schema, "max_tokens": 50, "temperature": 0.2,
    });
    let (_, output, _) = ask(&scratch, "calls_per_run = 3", vec![call.clone(), call]);

    let received = server.received();
    assert_eq!(received[0].path, "/v1/messages");
    assert_eq!(received[0].header("x-api-key"), Some(KEY));
    assert_eq!(received[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(received[0].header("authorization"), None);
    let body = &received[0].body;
    assert_eq!(body["system"], "Rate it.");
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(body["tools"][0]["input_schema"], schema);
    assert_eq!(output["results"][0]["ok"]["text"], r#"{"score":7}"#);
    let second = &output["results"][1]["error"];
    assert_eq!(second["kind"], "invalid-response", "{output}");
    assert!(
        second["message"]
            .as_str()
            .unwrap()
            .contains("not in the requested structure"),
        "{second}"
    );
}

#[test]
fn budgets_stop_calls_before_anything_is_sent() {
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![Reply::openai("fine", 10, 10)]);
    host_config(&scratch, &server, "openai", "");
    let long = "word ".repeat(400);
    let (_, output, _) = ask(
        &scratch,
        "calls_per_run = 2, tokens_per_call = 300, tokens_per_run = 1000",
        vec![user(&long), user("one"), user("two"), user("three")],
    );
    let kinds: Vec<&str> = output["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"]["kind"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(
        kinds,
        ["budget-exhausted", "ok", "ok", "budget-exhausted"],
        "{output}"
    );
    assert!(
        output["results"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tokens_per_call")
    );
    assert!(
        output["results"][3]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("calls_per_run")
    );
    let received = server.received();
    assert_eq!(
        received.len(),
        2,
        "budget refusals never reach the provider"
    );
    // The answer's bound is lowered to what the per-call budget leaves after the
    // prompt, in the field OpenAI's API documents now.
    assert!(
        received[0].body.get("max_tokens").is_none(),
        "{:?}",
        received[0].body
    );
    let sent = received[0].body["max_completion_tokens"].as_u64().unwrap();
    assert!(sent < 300 && sent > 280, "max_tokens {sent}");
}

#[test]
fn retries_back_off_on_429_and_5xx_and_stop_when_they_are_spent() {
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![
        Reply::status(429).with_header("retry-after", "0"),
        Reply::status(503),
        Reply::openai("third time", 5, 5),
    ]);
    host_config(&scratch, &server, "openai", "retries = 2");
    let (_, output, state) = ask(&scratch, "calls_per_run = 5", vec![user("hi")]);
    assert_eq!(output["results"][0]["ok"]["text"], "third time", "{output}");
    assert_eq!(server.received().len(), 3);
    assert_eq!(state["steps"]["ask"]["llm"][0]["attempts"], 3);

    // Always rate limited: two attempts, then the plugin is told so, and the failed
    // exchange is recorded without tokens.
    server.script(vec![Reply::status(429).with_header("retry-after", "0")]);
    let before = server.received().len();
    let (_, output, state) = ask(&scratch, "calls_per_run = 5, retries = 1", vec![user("hi")]);
    let error = &output["results"][0]["error"];
    assert_eq!(error["kind"], "rate-limited", "{output}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("after 2 attempts"),
        "{error}"
    );
    assert_eq!(server.received().len() - before, 2);
    let exchange = &state["steps"]["ask"]["llm"][0];
    assert!(
        exchange["response"].is_null() && exchange["tokens_in"] == 0,
        "{exchange}"
    );

    // A 400 is not retried.
    server.script(vec![Reply::status(400)]);
    let before = server.received().len();
    let (_, output, _) = ask(&scratch, "calls_per_run = 5", vec![user("hi")]);
    assert_eq!(
        output["results"][0]["error"]["kind"], "invalid-request",
        "{output}"
    );
    assert_eq!(server.received().len() - before, 1);
}

#[test]
fn slow_and_malformed_answers_are_named_and_waiting_does_not_count_against_the_plugin() {
    let scratch = Scratch::new();
    // 1.5 s per answer, against the probe's 1 s timeout: the wait is the host's.
    let slow = std::time::Duration::from_millis(1500);
    let server = ModelServer::start(vec![Reply::openai("slow but here", 5, 5).after(slow)]);
    host_config(&scratch, &server, "openai", "timeout = \"5s\"");
    let (_, output, _) = ask(&scratch, "calls_per_run = 5", vec![user("hi")]);
    assert_eq!(
        output["results"][0]["ok"]["text"], "slow but here",
        "{output}"
    );

    // Slower than the provider's timeout, with no retries: unavailable, named.
    host_config(
        &scratch,
        &server,
        "openai",
        "timeout = \"300ms\"\nretries = 0",
    );
    let (_, output, _) = ask(&scratch, "calls_per_run = 5", vec![user("hi")]);
    let error = &output["results"][0]["error"];
    assert_eq!(error["kind"], "provider-unavailable", "{output}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no answer within 300ms"),
        "{error}"
    );

    server.script(vec![Reply::malformed()]);
    host_config(&scratch, &server, "openai", "");
    let (_, output, _) = ask(&scratch, "calls_per_run = 5", vec![user("hi")]);
    let error = &output["results"][0]["error"];
    assert_eq!(error["kind"], "invalid-response", "{output}");
    assert!(
        error["message"].as_str().unwrap().contains("not JSON"),
        "{error}"
    );
}

#[test]
fn a_recorded_answer_is_reused_when_the_step_runs_again_after_a_crash() {
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![Reply::openai("paid once", 40, 10)]);
    host_config(&scratch, &server, "openai", "");
    let workflow = scratch.workflow("probe.toml", &PROBE.replace("GRANT", "calls_per_run = 1"));
    let input = scratch.file(
        "input.json",
        json!({"calls": [user("draft it")]}).to_string(),
    );
    let crashed = scratch.host_with_env(
        &[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
        &[
            (KEY_ENV, KEY),
            ("BATON_FAILPOINT", "after:llm_exchanged:ask"),
        ],
    );
    assert_ne!(
        crashed.code,
        Some(0),
        "the failpoint should have killed the host"
    );
    assert_eq!(server.received().len(), 1);
    let runs = scratch.host(&["runs", "--json"]).expect_code(0).json();
    let id = runs[0]["id"].as_str().unwrap().to_string();

    // The step runs again; the same request is answered from the log, unpaid, and
    // the budget of one call is not spent twice.
    scratch
        .host_with_env(&["resume", &id, "--json"], &[(KEY_ENV, KEY)])
        .expect_code(0);
    assert_eq!(server.received().len(), 1, "the provider was paid twice");
    let state = scratch.host(&["show", &id, "--json"]).expect_code(0).json();
    let step = &state["steps"]["ask"];
    assert_eq!(step["status"], "completed");
    assert_eq!(step["attempts"], 2);
    assert_eq!(
        step["output"]["results"][0]["ok"]["text"], "paid once",
        "{step}"
    );
    assert_eq!(step["llm"].as_array().unwrap().len(), 1);
    assert_eq!(state["llm"]["calls"], 1);
}

#[test]
fn a_plugin_without_the_grant_is_refused_and_told_not_granted() {
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![Reply::openai("never", 1, 1)]);
    host_config(&scratch, &server, "openai", "");
    // The probe asks for `llm` in its description: a workflow that does not grant it
    // does not start.
    let workflow = scratch.workflow(
        "ungranted.toml",
        &PROBE.replace("grants = { llm = { GRANT } }\n", ""),
    );
    let input = scratch.file("input.json", r#"{"calls": []}"#);
    scratch
        .host(&[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .expect_code(2)
        .stderr_has("asks for `llm` (add grants = { llm = { tokens_per_run = 6000 } })");
    // Called directly without --grant-llm, every completion is refused.
    let input = json!({"calls": [user("hi")]}).to_string();
    let probe = baton_tests::plugin("llm-probe-guest");
    let out = scratch.host_with_stdin(&["invoke", probe.to_str().unwrap()], Some(&input));
    let output: Value = serde_json::from_str(&out.expect_code(0).stdout).unwrap();
    assert_eq!(
        output["results"][0]["error"]["kind"], "not-granted",
        "{output}"
    );
    assert!(server.received().is_empty());
}

#[test]
fn a_workflow_cannot_send_the_operators_key_to_another_server() {
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![Reply::openai("never", 1, 1)]);
    host_config(&scratch, &server, "openai", "");
    let text = format!(
        "{}\n[llm.providers.test]\napi = \"openai\"\nbase_url = \"https://collector.example/v1\"\nmodel = \"x\"\nkey_env = \"{KEY_ENV}\"\n",
        PROBE.replace("GRANT", "calls_per_run = 1")
    );
    let workflow = scratch.workflow("steal.toml", &text);
    let input = scratch.file("input.json", r#"{"calls": []}"#);
    scratch
        .host_with_env(
            &["run", workflow.to_str().unwrap(), "--input", input.to_str().unwrap()],
            &[(KEY_ENV, KEY)],
        )
        .expect_code(2)
        .stderr_has("llm.providers.test.key_env: a workflow may send a key only to the base URL the host configuration pairs it with");
    assert!(server.received().is_empty());
}

/// The lead follow-up example, run to its gate; returns the gate's request.
fn draft_review(scratch: &Scratch, env: &[(&str, &str)]) -> (Value, String) {
    let workflow = scratch.example_workflow("examples/lead-followup/workflow.toml");
    let leads = baton_tests::workspace_root().join("examples/leads.json");
    let out = scratch.host_with_env(
        &[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            leads.to_str().unwrap(),
            "--json",
        ],
        env,
    );
    let json = out.expect_code(3).json();
    (json["decisions"][0]["request"].clone(), out.stderr.clone())
}

#[test]
fn the_drafter_writes_with_the_model_when_one_is_configured_and_says_so() {
    let scratch = Scratch::with_shared_cache();
    let drafts = json!({"variants": [
        {"angle": "the quote", "subject": "Your Brightline quote", "body": "Hi Ana, here is the quote you asked for, with two options."},
        {"angle": "peers", "subject": "How Acme-sized teams use Brightline", "body": "Hi Ana, teams your size cut follow-up time by a third."},
        {"angle": "a short call", "subject": "20 minutes this week?", "body": "Hi Ana, could we take 20 minutes on Thursday to walk through it?"},
    ]});
    let server = ModelServer::start(vec![Reply::openai(&drafts.to_string(), 600, 300)]);
    host_config(&scratch, &server, "openai", "");
    let (request, _) = draft_review(&scratch, &[(KEY_ENV, KEY)]);
    assert_eq!(
        request["context"]["drafted"], "drafted by test-model-1",
        "{request}"
    );
    assert_eq!(request["choices"][0]["subject"], "Your Brightline quote");
    assert_eq!(request["choices"][2]["angle"], "a short call");

    // Grounded in the lead's real signals, asked for as structured JSON.
    let received = server.received();
    assert_eq!(received.len(), 1);
    let body = &received[0].body;
    assert_eq!(body["response_format"]["type"], "json_schema");
    let facts = body["messages"][1]["content"].as_str().unwrap();
    assert!(
        facts.contains("Company: ") && facts.contains("Signal: "),
        "{facts}"
    );
}

#[test]
fn the_drafter_falls_back_to_its_templates_when_no_model_is_configured() {
    let scratch = Scratch::with_shared_cache();
    let (request, stderr) = draft_review(&scratch, &[]);
    assert_eq!(
        request["context"]["drafted"], "drafted from templates: no model configured",
        "{request}"
    );
    assert_eq!(request["choices"].as_array().unwrap().len(), 3);
    assert!(
        stderr.contains("note: plugin \"drafter\" is granted llm, but no model configured"),
        "{stderr}"
    );
}

/// The kinds of the probe's results, `ok` for an answer.
fn kinds(output: &Value) -> Vec<String> {
    output["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"]["kind"].as_str().unwrap_or("ok").to_string())
        .collect()
}

#[test]
fn every_token_a_provider_billed_counts_even_when_its_answer_is_unusable() {
    // Anthropic: a structured request answered in text, with no `tool_use` block.
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![Reply::anthropic("I would rather not.", None, 100, 50)]);
    host_config(&scratch, &server, "anthropic", "");
    let call = json!({
        "messages": [{"role": "user", "content": "Rate this lead."}],
        "json_schema": {"type": "object", "properties": {"score": {"type": "integer"}}},
    });
    let (run, output, state) = ask(
        &scratch,
        "calls_per_run = 10, tokens_per_run = 200",
        vec![call.clone(), call.clone(), call.clone(), call.clone(), call],
    );
    // 150 tokens billed by the first answer leave 50 of the run's 200: one more call
    // fits (lowered to what is left), then the budget is spent.
    assert_eq!(
        kinds(&output),
        [
            "invalid-response",
            "invalid-response",
            "budget-exhausted",
            "budget-exhausted",
            "budget-exhausted"
        ],
        "{output}"
    );
    assert_eq!(server.received().len(), 2);
    let spent = &output["results"][2]["error"]["message"];
    assert!(
        spent
            .as_str()
            .unwrap()
            .starts_with("tokens_per_run: 300 of the run's 200 tokens"),
        "{spent}"
    );
    let exchange = &state["steps"]["ask"]["llm"][0];
    assert_eq!(
        (
            exchange["tokens_in"].as_u64(),
            exchange["tokens_out"].as_u64()
        ),
        (Some(100), Some(50)),
        "{exchange}"
    );
    assert!(
        (exchange["cost_usd"].as_f64().unwrap() - 0.00075).abs() < 1e-12,
        "{exchange}"
    );
    assert!(
        exchange["error"]
            .as_str()
            .unwrap()
            .contains("no `tool_use` block"),
        "{exchange}"
    );
    let text = scratch.host(&["show", &run]).expect_code(0).stdout.clone();
    assert!(
        text.contains("2 calls, 300 tokens (200 in, 100 out)"),
        "{text}"
    );

    // OpenAI: an answer that is a tool call, and a refusal; both have null content.
    let scratch = Scratch::new();
    let usage = json!({"prompt_tokens": 40, "completion_tokens": 25, "total_tokens": 65});
    let server = ModelServer::start(vec![
        Reply::json(
            json!({"model": "test-model-1", "usage": usage, "choices": [{"index": 0,
            "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": "{}"}}]},
            "finish_reason": "tool_calls"}]}),
        ),
        Reply::json(
            json!({"model": "test-model-1", "usage": usage, "choices": [{"index": 0,
            "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."},
            "finish_reason": "stop"}]}),
        ),
    ]);
    host_config(&scratch, &server, "openai", "");
    let (_, output, state) = ask(
        &scratch,
        "calls_per_run = 5",
        vec![user("one"), user("two")],
    );
    assert_eq!(
        kinds(&output),
        ["invalid-response", "invalid-response"],
        "{output}"
    );
    assert!(
        output["results"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the answer is a tool call"),
        "{output}"
    );
    assert!(
        output["results"][1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the model refused: I can't help with that."),
        "{output}"
    );
    for exchange in state["steps"]["ask"]["llm"].as_array().unwrap() {
        assert_eq!(
            (
                exchange["tokens_in"].as_u64(),
                exchange["tokens_out"].as_u64()
            ),
            (Some(40), Some(25)),
            "{exchange}"
        );
        assert!(exchange["cost_usd"].as_f64().unwrap() > 0.0, "{exchange}");
    }
}

#[test]
fn openai_bounds_answers_with_max_completion_tokens_unless_the_server_wants_the_old_field() {
    // A server that refuses the deprecated field, as OpenAI's reasoning models do.
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![
        Reply::openai("fine", 5, 5).refusing_field("max_tokens"),
    ]);
    host_config(&scratch, &server, "openai", "");
    let (_, output, state) = ask(
        &scratch,
        "calls_per_run = 5",
        vec![json!({
            "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50,
        })],
    );
    assert_eq!(output["results"][0]["ok"]["text"], "fine", "{output}");
    let body = server.received()[0].body.clone();
    assert_eq!(body["max_completion_tokens"], 50, "{body}");
    assert!(body.get("max_tokens").is_none(), "{body}");
    assert_eq!(
        state["steps"]["ask"]["llm"][0]["request"]["sent"],
        json!({"max_completion_tokens": 50})
    );

    // A server that knows only the old field: configured per provider.
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![
        Reply::openai("old", 5, 5).refusing_field("max_completion_tokens"),
    ]);
    host_config(&scratch, &server, "openai", "");
    let (_, output, _) = ask(&scratch, "calls_per_run = 5", vec![user("hi")]);
    let error = &output["results"][0]["error"];
    assert_eq!(error["kind"], "invalid-request", "{output}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens_field = \"max_tokens\""),
        "the refusal says how to configure the old field: {error}"
    );
    host_config(
        &scratch,
        &server,
        "openai",
        "max_tokens_field = \"max_tokens\"",
    );
    let (_, output, _) = ask(&scratch, "calls_per_run = 5", vec![user("hi")]);
    assert_eq!(output["results"][0]["ok"]["text"], "old", "{output}");
    let body = server.received().last().unwrap().body.clone();
    assert!(
        body["max_tokens"].as_u64().is_some() && body.get("max_completion_tokens").is_none(),
        "{body}"
    );

    // Anthropic has only max_tokens: the other field is refused in the configuration.
    host_config(
        &scratch,
        &server,
        "anthropic",
        "max_tokens_field = \"max_completion_tokens\"",
    );
    let workflow = scratch.workflow("probe.toml", &PROBE.replace("GRANT", "calls_per_run = 1"));
    scratch
        .host(&["run", workflow.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("llm.providers.test.max_tokens_field: Anthropic's messages API bounds an answer with `max_tokens` only");
}

#[test]
fn the_log_records_what_was_sent_and_what_a_provider_would_refuse_is_not_sent() {
    let scratch = Scratch::new();
    let server = ModelServer::start(vec![Reply::anthropic("ok", None, 5, 5)]);
    host_config(&scratch, &server, "anthropic", "");
    let (_, output, state) = ask(
        &scratch,
        "calls_per_run = 5",
        vec![
            json!({"messages": [{"role": "user", "content": "hi"}], "temperature": 1.5, "max_tokens": 40}),
            // Only system text: Anthropic's API has no conversation to answer.
            json!({"messages": [{"role": "system", "content": "Be brief."}]}),
            // Not an object: Anthropic takes the structure as a tool's input.
            json!({"messages": [{"role": "user", "content": "hi"}], "json_schema": {"type": "array"}}),
        ],
    );
    assert_eq!(
        kinds(&output),
        ["ok", "invalid-request", "invalid-request"],
        "{output}"
    );
    assert!(
        output["results"][1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs a `user` message"),
        "{output}"
    );
    assert!(
        output["results"][2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must describe an object"),
        "{output}"
    );
    assert_eq!(server.received().len(), 1, "refused requests are not sent");
    assert_eq!(server.received()[0].body["temperature"], 1.0);
    // The plugin's request as asked, and what was sent.
    let request = &state["steps"]["ask"]["llm"][0]["request"];
    assert_eq!(request["temperature"], 1.5, "{request}");
    assert_eq!(
        request["sent"],
        json!({"max_tokens": 40, "temperature": 1.0}),
        "{request}"
    );
}

#[test]
fn budget_and_schema_errors_say_which_budget_and_why_first() {
    let scratch = Scratch::new();
    let long = "x".repeat(300);
    let server = ModelServer::start(vec![Reply::openai(
        &json!({"items": [long, long]}).to_string(),
        10,
        10,
    )]);
    host_config(&scratch, &server, "openai", "");
    let schema =
        json!({"type": "object", "properties": {"items": {"type": "array", "minItems": 3}}});
    let (_, output, _) = ask(
        &scratch,
        "calls_per_run = 5, tokens_per_call = 3000, tokens_per_run = 300",
        vec![
            // About 400 tokens: within a call's 3,000, over the run's 300.
            user(&"word ".repeat(320)),
            json!({"messages": [{"role": "user", "content": "three items"}], "json_schema": schema}),
        ],
    );
    let budget = output["results"][0]["error"]["message"].as_str().unwrap();
    assert!(budget.starts_with("tokens_per_run: "), "{budget}");
    assert!(!budget.contains("tokens_per_call"), "{budget}");
    let mismatch = output["results"][1]["error"]["message"].as_str().unwrap();
    let reason = mismatch.find("has less than 3 items").expect(mismatch);
    let value = mismatch.find("xxxx").expect(mismatch);
    assert!(
        reason < value,
        "the reason comes before the value: {mismatch}"
    );
    assert!(reason < 200, "{mismatch}");
}

/// fakellm (PyPI, <https://github.com/1dg618/fakellm>): a mock of OpenAI's and
/// Anthropic's HTTP APIs written by others, so the wire format is checked by code this
/// project did not write. Started on a free port with `rules`; killed when dropped.
struct FakeLlm {
    child: std::process::Child,
    base_url: String,
}

impl FakeLlm {
    fn start(scratch: &Scratch, rules: &str) -> FakeLlm {
        let config = scratch.file("fakellm.yaml", format!("version: 1\nrules:\n{rules}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("python3")
            .args([
                "-c",
                "from fakellm.cli import main; main()",
                "serve",
                "--port",
            ])
            .arg(port.to_string())
            .arg("--config")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("fakellm (tools/setup.sh --tests installs it)");
        let fake = FakeLlm {
            child,
            base_url: format!("http://127.0.0.1:{port}/v1"),
        };
        // Ready once its admin endpoint answers.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "fakellm did not start on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        fake
    }

    fn configure(&self, scratch: &Scratch, api: &str) {
        scratch.host_config(&format!(
            "[llm]\ndefault = \"fake\"\n[llm.providers.fake]\napi = \"{api}\"\nbase_url = \"{}\"\nmodel = \"fake-model\"\nkey_env = \"{KEY_ENV}\"\n[llm.prices.fake-model]\ninput = 1.0\noutput = 2.0\n",
            self.base_url
        ));
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn both_apis_work_against_a_third_party_mock_and_unusable_answers_are_still_counted() {
    let scratch = Scratch::new();
    let fake = FakeLlm::start(
        &scratch,
        r#"
  - name: structured
    when: {tools_include: answer, messages_contain: "rate-structured"}
    respond:
      tool_calls: [{name: answer, arguments: {score: 7}}]
  - name: prose
    when: {messages_contain: "answer-in-prose"}
    respond: {content: "I would rather explain this in prose than in a structure."}
  - name: tool
    when: {messages_contain: "call-a-tool"}
    respond:
      tool_calls: [{name: lookup, arguments: {q: "leads"}}]
  - name: hello
    when: {messages_contain: "say-hello"}
    respond: {content: "Hello from fakellm."}
"#,
    );
    let schema = json!({"type": "object", "required": ["score"], "properties": {"score": {"type": "integer"}}});
    let structured = |content: &str| {
        json!({"messages": [{"role": "system", "content": "Rate it."}, {"role": "user", "content": content}],
               "json_schema": schema, "max_tokens": 200, "temperature": 0.3})
    };

    // Anthropic's messages API: a structured answer through the tool, and one in prose.
    fake.configure(&scratch, "anthropic");
    let (_, output, state) = ask(
        &scratch,
        "calls_per_run = 5",
        vec![
            structured("rate-structured: a lead"),
            structured("answer-in-prose: a lead"),
        ],
    );
    assert_eq!(kinds(&output), ["ok", "invalid-response"], "{output}");
    assert_eq!(
        output["results"][0]["ok"]["text"], r#"{"score":7}"#,
        "{output}"
    );
    assert_eq!(
        output["results"][0]["ok"]["model"], "fake-model",
        "{output}"
    );
    for exchange in state["steps"]["ask"]["llm"].as_array().unwrap() {
        assert!(exchange["tokens_in"].as_u64().unwrap() > 0, "{exchange}");
        assert!(exchange["tokens_out"].as_u64().unwrap() > 0, "{exchange}");
        assert!(exchange["cost_usd"].as_f64().unwrap() > 0.0, "{exchange}");
    }

    // OpenAI's chat completions: a text answer, and a tool call with null content.
    let scratch = Scratch::new();
    fake.configure(&scratch, "openai");
    let (_, output, state) = ask(
        &scratch,
        "calls_per_run = 5",
        vec![user("say-hello"), user("call-a-tool")],
    );
    assert_eq!(kinds(&output), ["ok", "invalid-response"], "{output}");
    assert_eq!(
        output["results"][0]["ok"]["text"], "Hello from fakellm.",
        "{output}"
    );
    assert!(
        output["results"][1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tool call"),
        "{output}"
    );
    let exchanges = state["steps"]["ask"]["llm"].as_array().unwrap();
    assert!(
        exchanges[1]["tokens_in"].as_u64().unwrap() > 0,
        "{}",
        exchanges[1]
    );
    let usage: u64 = exchanges
        .iter()
        .map(|e| e["tokens_in"].as_u64().unwrap() + e["tokens_out"].as_u64().unwrap())
        .sum();
    assert!(usage > 0);
}
