//! Sandbox checks through `host invoke` and the runtime API, beside the case files of
//! the hostile-plugin suite (`hostile.rs`): the JSON form of limit errors, fuel, log
//! floods, escaped terminal output, and one runtime surviving every hostile call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use baton_runtime::{Call, Limits, Runtime, RuntimeOptions};
use baton_tests::{Scratch, plugin};
use serde_json::json;

fn hostile() -> String {
    plugin("hostile-guest").to_string_lossy().into_owned()
}

fn invoke_hostile(scratch: &Scratch, mode: &str, extra: &[&str]) -> baton_tests::Run {
    let path = hostile();
    let config = format!("mode={mode}");
    let mut args = vec!["invoke", &path, "--input", "{}", "--config", &config];
    args.extend_from_slice(extra);
    scratch.host(&args)
}

#[test]
fn a_plugin_that_loops_forever_is_stopped_at_its_timeout() {
    let scratch = Scratch::new();
    let run = invoke_hostile(&scratch, "loop", &["--timeout", "300ms", "--json"]);
    let error = run.expect_code(1).stderr_json();
    assert_eq!(error["error"]["kind"], "timeout");
    assert_eq!(error["error"]["plugin"], "hostile");
    assert_eq!(error["error"]["limit"]["timeout_ms"], 300);
    // The same plugin, called again right after, works.
    let echo = scratch.host(&["invoke", &hostile(), "--input", r#"{"after": "loop"}"#]);
    assert_eq!(echo.expect_code(0).json(), json!({"after": "loop"}));
}

#[test]
fn a_plugin_that_allocates_without_end_is_stopped_at_its_memory_limit() {
    let scratch = Scratch::new();
    invoke_hostile(&scratch, "alloc", &["--memory", "32MiB"])
        .expect_code(1)
        .stderr_has("plugin \"hostile\" was stopped at its memory limit of 32.0 MiB")
        .stderr_has("limit `memory`");
    let error = invoke_hostile(&scratch, "alloc", &["--memory", "32MiB", "--json"])
        .expect_code(1)
        .stderr_json();
    assert_eq!(error["error"]["kind"], "memory-limit");
    assert_eq!(error["error"]["limit"]["memory_bytes"], 32 << 20);
}

#[test]
fn fuel_bounds_a_call_deterministically_when_asked_for() {
    let scratch = Scratch::new();
    let error = invoke_hostile(
        &scratch,
        "loop",
        &["--fuel", "5000000", "--timeout", "60s", "--json"],
    )
    .expect_code(1)
    .stderr_json();
    assert_eq!(error["error"]["kind"], "fuel-exhausted");
    assert_eq!(error["error"]["limit"]["fuel"], 5_000_000);
}

#[test]
fn a_plugin_whose_initial_memory_is_over_the_limit_is_refused_before_it_runs() {
    let scratch = Scratch::new();
    let bloated = plugin("bloated-guest");
    let error = scratch
        .host(&[
            "invoke",
            bloated.to_str().unwrap(),
            "--input",
            "{}",
            "--json",
        ])
        .expect_code(1)
        .stderr_json();
    assert_eq!(error["error"]["kind"], "load");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("was stopped at its memory limit of 128.0 MiB (it asked for 257.1 MiB"),
        "{message}"
    );
    // Granted enough memory, the same plugin loads and runs.
    let out = scratch
        .host(&[
            "invoke",
            bloated.to_str().unwrap(),
            "--input",
            "{}",
            "--memory",
            "512MiB",
        ])
        .expect_code(0)
        .json();
    assert_eq!(out["byte"], 0);
}

#[test]
fn an_output_over_the_cap_is_stopped_at_the_boundary_before_it_is_copied() {
    let scratch = Scratch::new();
    invoke_hostile(
        &scratch,
        "huge-output",
        &["--memory", "256MiB", "--max-output", "1MiB"],
    )
    .expect_code(1)
    .stderr_has("more than its output limit of 1.0 MiB in one go (limit `max_output`)");
    // Just under the limit passes the boundary and is checked as usual.
    invoke_hostile(
        &scratch,
        "huge-output",
        &["--memory", "256MiB", "--max-output", "17MiB"],
    )
    .expect_code(0);
}

#[test]
fn a_log_flood_is_capped_and_the_drop_is_reported() {
    let scratch = Scratch::new();
    let run = invoke_hostile(&scratch, "log-flood", &[]);
    run.expect_code(0)
        .stderr_has("log lines dropped: the per-call cap is 1000 lines and 64.0 KiB");
    assert!(
        run.stderr.len() < 100 * 1024,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn control_characters_from_a_plugin_are_escaped_on_the_terminal() {
    let scratch = Scratch::new();
    let run = invoke_hostile(&scratch, "escape-codes", &[]);
    run.expect_code(1)
        .stderr_has("failed: \\u{1b}[2J\\u{1b}[31mforged\\u{d}");
    assert!(!run.stderr.contains('\x1b'));
}

fn hostile_call(mode: &str, limits: Limits) -> Call {
    Call {
        limits,
        config: Arc::new(BTreeMap::from([("mode".to_string(), mode.to_string())])),
        ..Call::default()
    }
}

#[tokio::test]
async fn one_runtime_survives_every_hostile_call_and_serves_the_next_one() {
    let scratch = Scratch::new();
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(scratch.cache_dir()),
        ..RuntimeOptions::default()
    })
    .unwrap();
    let hostile = runtime.load(plugin("hostile-guest")).await.unwrap();
    let scorer = runtime.load(plugin("lead-scorer")).await.unwrap();
    let tight = Limits {
        timeout: Duration::from_millis(200),
        memory: 32 << 20,
        ..Limits::default()
    };
    for (mode, expected) in [
        ("loop", "timeout"),
        ("alloc", "memory-limit"),
        ("recurse", "stack-overflow"),
        ("panic", "trap"),
        ("not-json", "invalid-output"),
        ("fail", "tool-failed"),
        ("handles", "handle-limit"),
    ] {
        let error = hostile
            .invoke("{}", &hostile_call(mode, tight.clone()))
            .await
            .expect_err(mode);
        assert_eq!(error.kind.code(), expected, "{mode}: {error}");
        assert_eq!(error.plugin, "hostile");

        let echo = hostile
            .invoke(r#"{"after": 1}"#, &Call::default())
            .await
            .unwrap_or_else(|e| panic!("echo after {mode}: {e}"));
        assert_eq!(echo.output, json!({"after": 1}), "after {mode}");
        let scored = scorer
            .invoke(
                r#"{"leads": [{"company": "A", "contact": "B"}]}"#,
                &Call::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("lead scorer after {mode}: {e}"));
        assert_eq!(scored.output["summary"]["scored"], 1);
    }
}

/// Text that would turn itself around on a terminal: a right-to-left override, an
/// isolate, and a C1 control, as a plugin might return them.
const TURNING: &str = "invoice\u{202e}txt.exe \u{2067}x\u{2069} next\u{85}line";

/// Asserts `text` shows none of [`TURNING`]'s characters raw, and shows them escaped.
fn shown_escaped(text: &str, escaped: &str) {
    for c in ['\u{202e}', '\u{2067}', '\u{2069}', '\u{85}'] {
        assert!(
            !text.contains(c),
            "{c:?} reached the terminal raw: {text:?}"
        );
    }
    assert!(text.contains(escaped), "{text}");
}

#[test]
fn bidi_and_c1_characters_from_a_plugin_are_escaped_in_every_output() {
    let scratch = Scratch::new();
    let echo = plugin("echo-guest");
    let input = serde_json::json!({ "text": TURNING }).to_string();
    // host invoke: as text, and as JSON that still reads back as the same string.
    let text = scratch.host(&["invoke", echo.to_str().unwrap(), "--input", &input]);
    text.expect_code(0);
    shown_escaped(&text.stdout, "invoice\\u202etxt.exe");
    let json = scratch.host(&[
        "invoke",
        echo.to_str().unwrap(),
        "--input",
        &input,
        "--json",
    ]);
    json.expect_code(0);
    shown_escaped(&json.stdout, "\\u0085");
    assert_eq!(json.json()["output"]["text"], TURNING);

    // A run: host show --step, host show --json, the audit trail, and a gate's title.
    let workflow = scratch.workflow(
        "turning.toml",
        r#"
name = "turning"
summary = "about {{ steps.say.output.text }}"
[plugins.echo]
source = "{echo}"
[[steps]]
id = "say"
uses = "echo"
input = { text = "invoice\u202Etxt.exe \u2067x\u2069 next\u0085line" }
[[steps]]
id = "review"
approve = "say"
title = "{{ steps.say.output.text }}"
"#,
    );
    let started = scratch.host(&["run", workflow.to_str().unwrap()]);
    started.expect_code(3);
    shown_escaped(&started.stdout, "invoice\\u{202e}txt.exe");
    let run = scratch.host(&["runs", "--json"]).expect_code(0).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let step = scratch.host(&["show", &run, "--step", "say"]);
    step.expect_code(0);
    shown_escaped(&step.stdout, "\\u202e");
    let inbox = scratch.host(&["inbox"]);
    inbox.expect_code(0);
    shown_escaped(&inbox.stdout, "invoice\\u{202e}txt.exe");
    // What the run is about (the summary renders the plugin's text) in every listing.
    for args in [vec!["runs"], vec!["show", run.as_str()]] {
        let out = scratch.host(&args);
        out.expect_code(0);
        shown_escaped(&out.stdout, "about invoice\\u{202e}txt.exe");
    }
    for args in [
        vec!["show", run.as_str(), "--json"],
        vec!["inbox", "--json"],
        vec!["audit", run.as_str(), "--jsonl"],
    ] {
        let out = scratch.host(&args);
        out.expect_code(0);
        shown_escaped(&out.stdout, "\\u202e");
    }
}
