//! `host invoke`: inputs, config, output formats and input errors.

use baton_tests::{Scratch, plugin};
use serde_json::json;

const ONE_LEAD: &str = r#"{"leads": [{"company": "Acme", "contact": "Jo Park", "title": "VP of Sales",
    "pricing_page_views": 3, "email_replies": 1, "last_reply_days_ago": 1}]}"#;

fn scorer() -> String {
    plugin("lead-scorer").to_string_lossy().into_owned()
}

/// `host invoke lead_scorer.wasm --input ONE_LEAD EXTRA...`
fn invoke_one_lead(scratch: &Scratch, extra: &[&str]) -> baton_tests::Run {
    let path = scorer();
    let mut args = vec!["invoke", &path, "--input", ONE_LEAD];
    args.extend_from_slice(extra);
    scratch.host(&args)
}

#[test]
fn input_from_a_flag_a_file_and_stdin_gives_the_same_output() {
    let scratch = Scratch::new();
    let file = scratch.file("lead.json", ONE_LEAD);
    let from_flag = scratch.host(&["invoke", &scorer(), "--input", ONE_LEAD]);
    let from_file = scratch.host(&["invoke", &scorer(), "--input-file", file.to_str().unwrap()]);
    let from_stdin = scratch.host_with_stdin(&["invoke", &scorer()], Some(ONE_LEAD));
    for run in [&from_flag, &from_file, &from_stdin] {
        run.expect_code(0);
    }
    assert_eq!(from_flag.json(), from_file.json());
    assert_eq!(from_flag.json(), from_stdin.json());
    assert_eq!(from_flag.json()["top"]["lead"]["company"], "Acme");
}

#[test]
fn plugin_logs_go_to_stderr_and_the_output_to_stdout() {
    let scratch = Scratch::new();
    let run = invoke_one_lead(&scratch, &[]);
    run.expect_code(0)
        .stderr_has("[lead-scorer] info: scored 1 leads: 1 actionable, 1 hot");
    assert!(run.json()["leads"].is_array());
}

#[test]
fn json_mode_wraps_output_logs_and_timing() {
    let scratch = Scratch::new();
    let run = invoke_one_lead(&scratch, &["--json"]);
    let result = run.expect_code(0).json();
    assert_eq!(result["plugin"], "lead-scorer");
    assert_eq!(result["output"]["summary"]["scored"], 1);
    assert_eq!(result["logs"][0]["level"], "info");
    assert!(result["elapsed_ms"].as_f64().unwrap() > 0.0);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn config_values_reach_the_plugin() {
    let scratch = Scratch::new();
    let score = |extra: &[&str]| {
        invoke_one_lead(&scratch, extra).expect_code(0).json()["leads"][0]["score"]
            .as_u64()
            .unwrap()
    };
    let default = score(&[]);
    let without_pricing = score(&["--config", "weight.pricing-view=0"]);
    assert!(without_pricing < default, "{without_pricing} !< {default}");
}

#[test]
fn a_bad_config_value_is_refused_naming_the_key() {
    let scratch = Scratch::new();
    invoke_one_lead(&scratch, &["--config", "ideal-employees=lots"])
        .expect_code(2)
        .stderr_has("refused the input: config `ideal-employees` = \"lots\" is not valid");
}

#[test]
fn an_unknown_config_key_is_warned_about() {
    let scratch = Scratch::new();
    invoke_one_lead(&scratch, &["--config", "wieght.reply=3"])
        .expect_code(0)
        .stderr_has("ignoring unknown config key `wieght.reply`");
}

#[test]
fn input_that_is_not_json_names_the_file_line_and_column() {
    let scratch = Scratch::new();
    let file = scratch.file(
        "broken.json",
        "{\n  \"leads\": [\n    {\"company\": \"A\",,}\n  ]\n}",
    );
    scratch
        .host(&["invoke", &scorer(), "--input-file", file.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("broken.json is not valid JSON: line 3, column");
}

#[test]
fn input_that_fails_the_schema_names_the_place_and_the_rule() {
    let scratch = Scratch::new();
    let run = scratch.host(&[
        "invoke",
        &scorer(),
        "--input",
        r#"{"leads": [{"company": "A", "contact": "B"}, {"company": "C", "employees": -4}]}"#,
    ]);
    run.expect_code(2)
        .stderr_has("does not match the plugin's input schema")
        .stderr_has("at /leads/1:")
        .stderr_has("\"contact\" is a required property")
        .stderr_has("at /leads/1/employees:");
}

#[test]
fn json_mode_reports_input_errors_as_json_on_stderr() {
    let scratch = Scratch::new();
    let error = scratch
        .host(&["invoke", &scorer(), "--input", r#"{"leads": 3}"#, "--json"])
        .expect_code(2)
        .stderr_json();
    assert_eq!(error["error"]["kind"], "invalid-input");
    assert_eq!(error["error"]["plugin"], "lead-scorer");
    assert_eq!(error["error"]["retryable"], json!(false));
}

#[test]
fn bad_flag_values_are_usage_errors_with_an_example() {
    let scratch = Scratch::new();
    scratch
        .host(&["invoke", &scorer(), "--input", "{}", "--timeout", "soon"])
        .expect_code(2)
        .stderr_has("like 2s");
    scratch
        .host(&["invoke", &scorer(), "--input", "{}", "--memory", "lots"])
        .expect_code(2)
        .stderr_has("like 64MiB");
    scratch
        .host(&["invoke", &scorer(), "--input", "{}", "--config", "novalue"])
        .expect_code(2)
        .stderr_has("KEY=VALUE");
    scratch
        .host(&["invoke", &scorer(), "--input-file", "no/such/input.json"])
        .expect_code(2)
        .stderr_has("cannot read no/such/input.json");
}
