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
        error.starts_with("denied: kv is not granted to this plugin"),
        "{error}"
    );
}
