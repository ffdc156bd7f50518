//! `host mcp` (stdio) and `host serve`'s `/mcp` (Streamable HTTP) driven by MCP
//! clients no one here wrote: the official Python SDK (PyPI `mcp`) at the newest
//! protocol revision and the one before it, and the official TypeScript SDK (npm
//! `@modelcontextprotocol/sdk`, which speaks the one before).
//! Tools listed in a fixed order with the operator's annotations; a plugin called; a
//! workflow run to its end; a gate answered by the person at the client (the second
//! alternative), recorded as that operator's decision made through MCP; a client
//! without elicitation whose run waits in the inbox and is followed up; a bad input
//! named by field.

use std::process::Command;

use baton_tests::{Scratch, workspace_root};
use serde_json::{Value, json};

/// Says a note back; its input must carry `text`.
const ECHO_NOTE: &str = r##"
name = "echo-note"
description = "Say a note back."
input_schema = { type = "object", required = ["text"], properties = { text = { type = "string", title = "Text", description = "what to say back" } } }
[mcp]
read_only = true
idempotent = true
[plugins.echo]
source = "{echo}"

[[steps]]
id = "say"
uses = "echo"
input = "{{ input }}"
"##;

/// The web tests' lead follow-up (score, draft three emails, decide, queue), named
/// for these tests and with the operator's `[mcp]` annotations.
fn review() -> String {
    super::web::REVIEW
        .replace(
            "name = \"web-review\"",
            "name = \"mcp-review\"\ndescription = \"Draft a follow-up to the best lead; a person picks the email.\"",
        )
        .replace(
            "[plugins.scorer]",
            "[mcp]\ndestructive = false\nopen_world = false\n[plugins.scorer]",
        )
}

/// The workflows and plugin the tests offer: two workflow files and `scorer=PATH`
/// (with `flag`, the plugin behind `--plugin`, as `host mcp` takes it).
fn offered(scratch: &Scratch, flag: bool) -> Vec<String> {
    let echo = scratch.workflow("echo.toml", ECHO_NOTE);
    let review = scratch.workflow("review.toml", &review());
    let scorer = format!("scorer={}", baton_tests::plugin("lead-scorer").display());
    let mut args = vec![
        review.to_str().unwrap().to_string(),
        echo.to_str().unwrap().to_string(),
    ];
    if flag {
        args.push("--plugin".into());
    }
    args.push(scorer);
    args
}

/// How the client reaches Baton.
enum Reach {
    Stdio,
    /// host serve's /mcp, with an operator token.
    Http {
        url: String,
        token: String,
    },
}

/// Runs the Python client in `mode`; returns what it saw.
fn python_client(scratch: &Scratch, mode: &str, reach: &Reach) -> Value {
    let mut command = Command::new("python3");
    command
        .arg(workspace_root().join("tests/mcp/python_client.py"))
        .arg(scratch.command(&[]).get_program())
        .arg(mode)
        .arg(spec(scratch, reach).to_string());
    run_client(scratch, command, &format!("Python, {mode}"))
}

/// Runs the TypeScript client (it speaks the protocol revision before the newest).
fn ts_client(scratch: &Scratch, reach: &Reach) -> Value {
    let mut command = Command::new("node");
    command
        .arg(workspace_root().join("tests/mcp/ts/client.mjs"))
        .arg(scratch.command(&[]).get_program())
        .arg(spec(scratch, reach).to_string());
    run_client(scratch, command, "TypeScript")
}

/// What the clients are asked to do, and how they reach Baton.
fn spec(scratch: &Scratch, reach: &Reach) -> Value {
    let leads: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("examples/leads.json")).unwrap(),
    )
    .unwrap();
    let mut spec = json!({
        "plugin": ["plugin.scorer", leads],
        "complete": ["workflow.echo-note", { "text": "hello" }],
        "gated": ["workflow.mcp-review", leads],
        "bad": ["workflow.echo-note", { "text": 5 }],
    });
    match reach {
        Reach::Stdio => {
            let mut args = vec!["mcp".to_string()];
            args.extend(offered(scratch, true));
            spec["args"] = json!(args);
        }
        Reach::Http { url, token } => {
            spec["url"] = json!(format!("{url}/mcp"));
            spec["token"] = json!(token);
        }
    }
    spec
}

/// Runs a client with the scratch's environment; returns the JSON it printed.
fn run_client(scratch: &Scratch, mut command: Command, which: &str) -> Value {
    let host = scratch.command(&[]);
    for (key, value) in host.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let out = command.output().expect("python3 runs");
    assert!(
        out.status.success(),
        "the {which} client failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the {which} client printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn check_seen(scratch: &Scratch, seen: &Value, protocol: &str) {
    assert_eq!(seen["protocol"], protocol);
    let names: Vec<&str> = seen["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "workflow.echo-note",
            "workflow.mcp-review",
            "plugin.scorer",
            "baton.run_status"
        ]
    );
    let tools = seen["tools"].as_array().unwrap();
    assert_eq!(tools[0]["input_schema"]["required"], json!(["text"]));
    assert_eq!(
        tools[0]["annotations"],
        json!({ "readOnlyHint": true, "idempotentHint": true })
    );
    assert_eq!(
        tools[1]["annotations"],
        json!({ "destructiveHint": false, "openWorldHint": false })
    );
    assert_eq!(tools[2]["output_schema"]["type"], "object");

    // A plugin: its output as structured content.
    assert_eq!(seen["plugin"]["is_error"], false, "{}", seen["plugin"]);
    assert!(
        seen["plugin"]["structured"]["top"]["lead"].is_object(),
        "{}",
        seen["plugin"]
    );

    // A workflow to its end.
    let complete = &seen["complete"];
    assert_eq!(complete["is_error"], false, "{complete}");
    assert_eq!(complete["structured"]["status"], "completed");
    assert_eq!(
        complete["structured"]["outputs"]["say"],
        json!({ "text": "hello" })
    );

    // A gate: the person at the client was asked, and picked the second alternative.
    let gated = &seen["gated"];
    assert_eq!(gated["structured"]["status"], "completed", "{gated}");
    assert_eq!(
        gated["structured"]["outputs"]["review"],
        gated["structured"]["outputs"]["draft"]["variants"][2]
    );
    let asked = &seen["asked"][0];
    assert!(
        asked["message"]
            .as_str()
            .unwrap()
            .starts_with("Baton asks you to decide (high): Follow up with"),
        "{asked}"
    );
    let options = asked["schema"]["properties"]["decision"]["oneOf"]
        .as_array()
        .unwrap();
    assert_eq!(options.len(), 4, "the default, two alternatives, reject");
    assert_eq!(
        options[3],
        json!({ "const": "reject", "title": "Reject it" })
    );
    let run = gated["structured"]["run"].as_str().unwrap();
    let decided = scratch.decisions_made(run);
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0]["by"], "tester");
    assert_eq!(decided[0]["event"]["via"], "mcp");
    assert_eq!(
        decided[0]["event"]["outcome"],
        json!({ "outcome": "approved", "choice": 2 })
    );
    let audit = scratch.host(&["audit", run]).expect_code(0).stdout.clone();
    assert!(
        audit.lines().any(|l| l.contains("decision_made")
            && l.contains("tester")
            && l.contains("\"via\":\"mcp\"")),
        "{audit}"
    );

    // A bad input: a tool error naming the field, in the schema's words.
    let bad = &seen["bad"];
    assert_eq!(bad["is_error"], true, "{bad}");
    assert!(
        bad["text"]
            .as_str()
            .unwrap()
            .contains("at /text: Text: what to say back"),
        "{bad}"
    );

    // Without elicitation: it waits in the inbox; decided there, the follow-up has it.
    let waiting = &seen["waiting"];
    assert_eq!(waiting["structured"]["status"], "waiting", "{waiting}");
    assert!(
        waiting["text"]
            .as_str()
            .unwrap()
            .contains("waits for 1 decision in Baton's inbox"),
        "{waiting}"
    );
    assert_eq!(seen["approve_code"], 0);
    let followed = &seen["followed_up"];
    assert_eq!(followed["structured"]["status"], "completed", "{followed}");
    assert_eq!(
        followed["structured"]["outputs"]["review"],
        followed["structured"]["outputs"]["draft"]["variants"][1]
    );
}

// On both stores: the embedded one is let go of between calls, so the operator
// decides in the inbox (`host approve`) while `host mcp` runs.
on_both_stores! {
    fn the_python_sdk_drives_host_mcp_over_stdio_at_the_newest_protocol(scratch = Scratch::new) {
        let seen = python_client(&scratch, "auto", &Reach::Stdio);
        check_seen(&scratch, &seen, "2026-07-28");
    }

    fn the_python_sdk_drives_host_mcp_over_stdio_at_the_previous_protocol(scratch = Scratch::new) {
        let seen = python_client(&scratch, "legacy", &Reach::Stdio);
        check_seen(&scratch, &seen, "2025-11-25");
    }

    fn the_typescript_sdk_drives_host_mcp_over_stdio(scratch = Scratch::new) {
        let seen = ts_client(&scratch, &Reach::Stdio);
        check_seen(&scratch, &seen, "2025-11-25");
    }
}

/// `host serve --mcp ...` on the embedded store, stopped when dropped.
struct Serving {
    child: std::process::Child,
    url: String,
}

impl Serving {
    /// With the tools named in the host configuration's `[mcp]` table.
    fn start(scratch: &Scratch) -> Serving {
        let offered = offered(scratch, false);
        let plugin = offered[2].split_once('=').unwrap();
        scratch.file(
            "config-home/baton/config.toml",
            format!(
                "[mcp]\nworkflows = [{:?}, {:?}]\nplugins = {{ {} = {:?} }}\n",
                offered[0], offered[1], plugin.0, plugin.1
            ),
        );
        let args = ["serve", "--bind", "127.0.0.1:0"];
        let mut child = scratch
            .command(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start host serve");
        let url = baton_tests::served_url(&mut child);
        Serving { child, url }
    }

    fn token(scratch: &Scratch) -> String {
        std::fs::read_to_string(scratch.state_dir().join("serve-token"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn the_python_and_typescript_sdks_drive_host_serves_mcp_over_http() {
    let scratch = Scratch::new();
    let served = Serving::start(&scratch);
    let token = Serving::token(&scratch);
    let reach = Reach::Http {
        url: served.url.clone(),
        token: token.clone(),
    };
    let seen = python_client(&scratch, "auto", &reach);
    check_seen(&scratch, &seen, "2026-07-28");
    let seen = python_client(&scratch, "legacy", &reach);
    check_seen(&scratch, &seen, "2025-11-25");
    let seen = ts_client(&scratch, &reach);
    check_seen(&scratch, &seen, "2025-11-25");

    // No token, a wrong token: 401; a foreign Origin (DNS rebinding): refused.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;
    let json = [
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let (status, said) = baton_tests::http(&served.url, "POST", "/mcp", &json, body);
    assert_eq!(status, 401, "{said}");
    assert!(said.contains("no valid token"), "{said}");
    let wrong = [
        json[0],
        json[1],
        ("Authorization", "Bearer not-a-token-not-a-token"),
    ];
    let (status, _) = baton_tests::http(&served.url, "POST", "/mcp", &wrong, body);
    assert_eq!(status, 401);
    let bearer = format!("Bearer {token}");
    let foreign = [
        json[0],
        json[1],
        ("Authorization", bearer.as_str()),
        ("Origin", "http://evil.example"),
    ];
    let (status, said) = baton_tests::http(&served.url, "POST", "/mcp", &foreign, body);
    assert_eq!(status, 403, "{said}");
}

/// A gate that says `decide_in = "inbox"` is never asked of the client, even one
/// that offers elicitation; a gate whose approvers do not include the operator at the
/// client refuses the answer and leaves the decision in the inbox. Spoken as bare
/// JSON-RPC lines (protocol 2025-11-25), so that the server's requests are seen.
#[test]
fn gates_the_workflow_keeps_in_the_inbox_or_for_its_approvers_are_not_decided_through_mcp() {
    use std::io::{BufRead, BufReader, Write};
    let scratch = Scratch::new();
    let inbox_only = scratch.workflow(
        "inbox.toml",
        &review()
            .replace("name = \"mcp-review\"", "name = \"inbox-only\"")
            .replace(
                "severity = \"high\"",
                "severity = \"high\"\ndecide_in = \"inbox\"",
            ),
    );
    let maria_only = scratch.workflow(
        "maria.toml",
        &review()
            .replace("name = \"mcp-review\"", "name = \"maria-only\"")
            .replace(
                "severity = \"high\"",
                "severity = \"high\"\napprovers = [\"maria\"]",
            ),
    );
    let mut server = scratch
        .command(&[
            "mcp",
            inbox_only.to_str().unwrap(),
            maria_only.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start host mcp");
    let mut input = server.stdin.take().unwrap();
    let mut output = BufReader::new(server.stdout.take().unwrap());
    let mut send = |message: Value| {
        writeln!(input, "{message}").unwrap();
        input.flush().unwrap();
    };
    let mut read = || {
        let mut line = String::new();
        output.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    send(
        json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": { "elicitation": { "form": {} } },
        "clientInfo": { "name": "bare", "version": "1" } } }),
    );
    assert_eq!(read()["id"], 0);
    send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
    let leads: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("examples/leads.json")).unwrap(),
    )
    .unwrap();

    // decide_in = "inbox": the answer comes with no question asked.
    send(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "workflow.inbox-only", "arguments": leads } }));
    let answer = read();
    assert_eq!(answer["id"], 1, "no elicitation/create first: {answer}");
    let result = &answer["result"];
    assert_eq!(result["structuredContent"]["status"], "waiting", "{result}");

    // approvers = ["maria"]: the person at the client (tester) is asked, answers, and
    // is refused; the decision stays in the inbox.
    send(json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "workflow.maria-only", "arguments": leads } }));
    let question = read();
    assert_eq!(question["method"], "elicitation/create", "{question}");
    send(json!({ "jsonrpc": "2.0", "id": question["id"], "result": {
        "action": "accept", "content": { "decision": "0" } } }));
    let answer = read();
    assert_eq!(answer["id"], 2, "{answer}");
    let result = &answer["result"];
    assert_eq!(result["isError"], true, "{result}");
    let said = result["content"][0]["text"].as_str().unwrap();
    assert!(
        said.contains("tester may not decide")
            && said.contains("the decision waits in Baton's inbox"),
        "{said}"
    );
    drop(input);
    let _ = server.wait();
    let inbox = scratch
        .host(&["inbox", "--ids"])
        .expect_code(0)
        .stdout
        .clone();
    assert_eq!(inbox.lines().count(), 2, "both wait in the inbox: {inbox}");
}
