//! The `kv` capability: durable across runs, scoped by the host per workflow and
//! plugin, bounded by its quota, and denied unless granted.

use baton_tests::Scratch;
use serde_json::{Value, json};

const KV: &str = r#"
name = "kv-test"
[plugins.writer]
source = "{hostile}"
grants = { kv = { quota = "4KiB", keys = 20 } }
config = { mode = "kv", op = "OP", key = "greeting", value = "hello" }
[plugins.reader]
source = "{hostile}"
grants = { kv = { quota = "4KiB" } }
config = { mode = "kv", op = "get", key = "greeting" }

[[steps]]
id = "write"
uses = "writer"
[[steps]]
id = "read"
uses = "reader"
input = "{{ steps.write.output }}"
"#;

fn run(scratch: &Scratch, name: &str, text: &str) -> Value {
    let workflow = scratch.workflow(name, text);
    let out = scratch.host(&["run", workflow.to_str().unwrap(), "--json"]);
    let run = out.expect_code(0).json()["run"]
        .as_str()
        .unwrap()
        .to_string();
    scratch
        .host(&["show", &run, "--json"])
        .expect_code(0)
        .json()["steps"]
        .clone()
}

#[test]
fn values_persist_across_runs_and_another_plugin_never_sees_them() {
    let scratch = Scratch::new();
    let steps = run(&scratch, "set.toml", &KV.replace("OP", "set"));
    assert_eq!(steps["write"]["output"], json!({"ok": "set"}));
    assert_eq!(
        steps["read"]["output"],
        json!({"ok": "none"}),
        "the reader's scope is its own"
    );
    // A later run of the same plugin in the same workflow reads what it wrote.
    let steps = run(&scratch, "set.toml", &KV.replace("OP", "get"));
    assert_eq!(steps["write"]["output"], json!({"ok": "hello"}));
}

#[test]
fn the_quota_stops_too_many_keys_and_too_many_bytes() {
    let scratch = Scratch::new();
    let keys = run(
        &scratch,
        "keys.toml",
        &KV.replace("op = \"OP\"", "op = \"fill\", count = 50, size = 1"),
    );
    let error = keys["write"]["output"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("quota: key quota reached: 20 keys allowed"),
        "{error}"
    );
    let bytes = run(
        &scratch,
        "bytes.toml",
        &KV.replace("op = \"OP\"", "op = \"fill\", count = 3, size = 3000")
            .replace("kv-test", "kv-bytes"),
    );
    let error = bytes["write"]["output"]["error"].as_str().unwrap();
    assert!(error.starts_with("quota: byte quota reached"), "{error}");
}

#[test]
fn without_a_grant_every_kv_call_is_denied() {
    let scratch = Scratch::new();
    let steps = run(
        &scratch,
        "denied.toml",
        &KV.replace("OP", "set")
            .replace("grants = { kv = { quota = \"4KiB\", keys = 20 } }\n", ""),
    );
    let error = steps["write"]["output"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("denied: kv is not granted to this plugin; grant it in the workflow"),
        "{error}"
    );
}

#[test]
fn a_workflow_named_to_meet_another_workflows_scope_never_does() {
    // Scopes are `<workflow>/<plugin>`: a plugin name has no `/` and a workflow name
    // no control character, so no (workflow, plugin) pair spells another's scope or
    // one that starts with it. These names try: `kv-test/writer` is the writer's
    // scope in `kv-test`, and its reader lists every key it can see.
    let scratch = Scratch::new();
    let steps = run(&scratch, "set.toml", &KV.replace("OP", "set"));
    assert_eq!(steps["write"]["output"], json!({"ok": "set"}));
    for name in ["kv-test/writer", "kv-test/writer/", "kv-test/"] {
        let text = KV
            .replace("name = \"kv-test\"", &format!("name = {name:?}"))
            .replace("op = \"get\"", "op = \"keys\"")
            .replace("OP", "get");
        let steps = run(&scratch, "other.toml", &text);
        assert_eq!(
            steps["write"]["output"],
            json!({"ok": "none"}),
            "workflow {name:?} read kv-test's data"
        );
        assert_eq!(
            steps["read"]["output"],
            json!({"ok": ""}),
            "workflow {name:?} listed kv-test's keys"
        );
    }
    // A name that would put a NUL (the key separator) into the scope is refused.
    let workflow = scratch.workflow("nul.toml", &KV.replace("kv-test", "kv-test/writer\\u0000"));
    scratch
        .host(&["run", workflow.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("control character");
}

#[test]
fn host_invoke_grants_kv_in_a_scratch_store_or_in_the_directory_given() {
    let scratch = Scratch::new();
    let hostile = baton_tests::plugin("hostile-guest");
    let hostile = hostile.to_str().unwrap();
    let kv_dir = scratch.path().join("kv");
    let kv_dir = kv_dir.to_str().unwrap();
    let call = |op: &str, extra: &[&str]| {
        let mut args = vec![
            "invoke", hostile, "--input", "{}", "--config", "mode=kv", "--config",
        ];
        let op = format!("op={op}");
        args.extend([op.as_str(), "--config", "key=count", "--config", "value=3"]);
        args.extend(extra);
        scratch.host(&args)
    };
    // Without the grant the plugin is told how to get it.
    let denied = call("set", &[]);
    assert_eq!(
        denied.expect_code(0).json()["error"].as_str().unwrap(),
        "denied: kv is not granted to this plugin; grant it in the workflow (grants = { kv = { quota = \"1MiB\" } }), or with --grant-kv on host invoke"
    );
    // A scratch store is gone after the call; what it held is shown.
    call("set", &["--grant-kv"])
        .expect_code(0)
        .stderr_has("kv after the call: 1 key, a scratch store, discarded now")
        .stderr_has("  count = 3 (1 B)");
    assert_eq!(call("get", &["--grant-kv"]).json(), json!({"ok": "none"}));
    // A directory keeps it for the next call.
    call("set", &["--grant-kv", "--kv-dir", kv_dir]).expect_code(0);
    let got = call("get", &["--grant-kv", "--kv-dir", kv_dir, "--json"]);
    let got = got.expect_code(0).json();
    assert_eq!(got["output"], json!({"ok": "3"}));
    assert_eq!(got["kv"], json!({"count": "3"}));
    // The quota applies.
    let full = call(
        "fill",
        &[
            "--grant-kv",
            "--kv-quota",
            "100B",
            "--config",
            "count=5",
            "--config",
            "size=40",
        ],
    );
    let error = full.expect_code(0).json()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(error.starts_with("quota: byte quota reached"), "{error}");
    // --kv-dir alone is a usage error.
    call("get", &["--kv-dir", kv_dir])
        .expect_code(2)
        .stderr_has("--grant-kv");
}
