//! Grants: every capability is an explicit grant in the workflow file (or an explicit
//! flag on `host invoke`), denied by default, and secrets never leave the plugin.

use baton_tests::{Scratch, plugin};
use serde_json::{Value, json};

/// `host invoke hostile --config mode=fs op=... path=...` with `grants`.
fn fs(scratch: &Scratch, grants: &[&str], op: &[(&str, &str)]) -> Value {
    let hostile = plugin("hostile-guest");
    let mut args: Vec<String> = [
        "invoke",
        hostile.to_str().unwrap(),
        "--input",
        "{}",
        "--config",
        "mode=fs",
    ]
    .map(String::from)
    .to_vec();
    for grant in grants {
        args.extend(["--grant-dir".to_string(), grant.to_string()]);
    }
    for (key, value) in op {
        args.extend(["--config".to_string(), format!("{key}={value}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    scratch.host(&args).expect_code(0).json()
}

fn granted_dir(scratch: &Scratch) -> String {
    let dir = scratch.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), "hello").unwrap();
    dir.display().to_string()
}

#[test]
fn a_granted_directory_is_readable_and_nothing_outside_it_is() {
    let scratch = Scratch::new();
    let grant = format!("{}:/data", granted_dir(&scratch));
    assert_eq!(
        fs(
            &scratch,
            &[&grant],
            &[("op", "read"), ("path", "/data/a.txt")]
        ),
        json!({"ok": "hello"})
    );
    for outside in [
        "/data/../a.txt",
        "/data/../../etc/passwd",
        "/etc/passwd",
        "../data/a.txt",
    ] {
        let seen = fs(&scratch, &[&grant], &[("op", "read"), ("path", outside)]);
        assert!(seen.get("error").is_some(), "{outside}: {seen}");
    }
}

#[test]
fn a_symlink_out_of_a_granted_directory_is_not_followed() {
    let scratch = Scratch::new();
    let dir = granted_dir(&scratch);
    std::fs::write(scratch.path().join("secret.txt"), "outside").unwrap();
    std::os::unix::fs::symlink(scratch.path().join("secret.txt"), format!("{dir}/link")).unwrap();
    std::os::unix::fs::symlink("/etc", format!("{dir}/etc")).unwrap();
    let grant = format!("{dir}:/data");
    for path in ["/data/link", "/data/etc/passwd"] {
        let seen = fs(&scratch, &[&grant], &[("op", "read"), ("path", path)]);
        assert!(seen.get("error").is_some(), "{path}: {seen}");
    }
}

#[test]
fn a_read_only_grant_refuses_write_truncate_and_rename_and_a_writable_one_allows_them() {
    let scratch = Scratch::new();
    let dir = granted_dir(&scratch);
    let read_only = format!("{dir}:/data");
    for op in [
        vec![("op", "write"), ("path", "/data/new.txt")],
        vec![("op", "truncate"), ("path", "/data/a.txt")],
        vec![
            ("op", "rename"),
            ("path", "/data/a.txt"),
            ("to", "/data/b.txt"),
        ],
    ] {
        let seen = fs(&scratch, &[&read_only], &op);
        assert!(seen.get("error").is_some(), "{op:?}: {seen}");
    }
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/a.txt")).unwrap(),
        "hello"
    );
    let writable = format!("{dir}:/data:rw");
    assert_eq!(
        fs(
            &scratch,
            &[&writable],
            &[("op", "write"), ("path", "/data/new.txt")]
        ),
        json!({"ok": "written"})
    );
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/new.txt")).unwrap(),
        "written by a plugin"
    );
}

#[test]
fn only_granted_environment_variables_are_visible() {
    let scratch = Scratch::new();
    let hostile = plugin("hostile-guest");
    let run = scratch.host_with_env(
        &[
            "invoke",
            hostile.to_str().unwrap(),
            "--input",
            "{}",
            "--config",
            "mode=probe",
            "--grant-env",
            "BATON_VISIBLE",
        ],
        &[("BATON_VISIBLE", "yes"), ("BATON_HIDDEN", "no")],
    );
    assert_eq!(run.expect_code(0).json()["env"], json!(["BATON_VISIBLE"]));
}

const GREEDY: &str = r#"
name = "greedy"
[plugins.greedy]
source = "{greedy}"
[[steps]]
id = "look"
uses = "greedy"
"#;

#[test]
fn a_plugin_asking_for_what_the_workflow_does_not_grant_fails_at_load_naming_both() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow("greedy.toml", GREEDY);
    scratch
        .host(&["run", workflow.to_str().unwrap(), "--dry-run"])
        .expect_code(2)
        .stderr_has("plugin \"greedy\" (greedy 0.1.0) asks for `files` (add grants = { files = [{ path = \"data\", guest = \"/data\" }] }), `kv` (add grants = { kv = { quota = \"1MiB\" } }), which the workflow does not grant to it");
    // Nothing ran: no run was recorded.
    assert_eq!(
        scratch.host(&["runs", "--json"]).expect_code(0).json(),
        json!([])
    );
}

#[test]
fn dry_run_shows_what_each_plugin_asks_for_and_is_granted() {
    let scratch = Scratch::new();
    granted_dir(&scratch);
    let workflow = scratch.workflow(
        "granted.toml",
        r#"
name = "granted"
[plugins.reader]
source = "{hostile}"
grants = { files = [{ path = "data", guest = "/data" }], env = ["TZ"] }
config = { token = { secret = "BATON_TEST_TOKEN" } }
[[steps]]
id = "read"
uses = "reader"
"#,
    );
    let run = scratch.host_with_env(
        &["run", workflow.to_str().unwrap(), "--dry-run"],
        &[("BATON_TEST_TOKEN", "s3cr3t-value")],
    );
    run.expect_code(0);
    assert!(run.stdout.contains("asks for: nothing"), "{}", run.stdout);
    assert!(run.stdout.contains("as /data (read-only); env TZ; secret config `token` from $BATON_TEST_TOKEN; nothing else"), "{}", run.stdout);
    assert!(!run.stdout.contains("s3cr3t-value"));
    // Without the variable, the run refuses to start and names it, not its value.
    scratch
        .host(&["run", workflow.to_str().unwrap(), "--dry-run"])
        .expect_code(2)
        .stderr_has("plugins.reader.config.token is the secret BATON_TEST_TOKEN, which is not set in this environment");
}

#[test]
fn dry_run_shows_an_http_grant_with_its_rules_and_bounds() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow(
        "http.toml",
        r#"
name = "http"
[plugins.auditor]
source = "{hostile}"
[plugins.auditor.grants.http]
allow = ["https://API.example.com/v1/", { url = "http://10.0.0.5:8080/", methods = ["get"], private = true }]
timeout = "5s"
max_response = "256KiB"
[[steps]]
id = "audit"
uses = "auditor"
"#,
    );
    let run = scratch.host(&["run", workflow.to_str().unwrap(), "--dry-run"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "http to https://api.example.com:443/v1/, http://10.0.0.5:8080/ (GET) (private addresses allowed) \
             (timeout 5s, responses up to 256.0 KiB, 32 requests per call); nothing else"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn inspect_with_a_workflow_shows_what_is_asked_granted_and_missing() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow(
        "half.toml",
        r#"
name = "half"
[plugins.greedy]
source = "{greedy}"
grants = { kv = { quota = "64KiB", keys = 10 } }
[[steps]]
id = "take"
uses = "greedy"
"#,
    );
    let workflow = workflow.to_str().unwrap();
    let text = scratch.host(&["plugin", "inspect", "greedy", "--workflow", workflow]);
    text.expect_code(0);
    assert!(text.stdout.contains("as `greedy`:\n  asks for  files, kv\n  granted   kv (quota 64.0 KiB, 10 keys); nothing else"), "{}", text.stdout);
    assert!(
        text.stdout.contains("refused") && text.stdout.contains("asks for `files`"),
        "{}",
        text.stdout
    );
    // The same by the file's path, as JSON.
    let path = plugin("greedy-guest");
    let json = scratch
        .host(&[
            "plugin",
            "inspect",
            path.to_str().unwrap(),
            "--workflow",
            workflow,
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(json["workflow"]["declared_as"], "greedy");
    assert_eq!(json["workflow"]["granted"], json!(["kv"]));
    assert_eq!(json["workflow"]["missing"], json!(["files"]));
    // A name the workflow does not declare is a usage error listing what it does.
    scratch
        .host(&["plugin", "inspect", "nobody", "--workflow", workflow])
        .expect_code(2)
        .stderr_has("declares no plugin named \"nobody\"")
        .stderr_has("it declares: greedy");
}

const LEAKY: &str = r#"
name = "leaky"
[plugins.leaky]
source = "{hostile}"
config = { mode = "leak", token = { secret = "BATON_TEST_TOKEN" } }
[[steps]]
id = "leak"
uses = "leaky"
"#;

#[test]
fn a_secret_reaches_its_plugin_but_never_the_run_log_output_or_errors() {
    let scratch = Scratch::new();
    let secret = "tok-9f8e7d6c5b4a";
    let workflow = scratch.workflow("leaky.toml", LEAKY);
    let env = [("BATON_TEST_TOKEN", secret)];
    let out = scratch.host_with_env(&["run", workflow.to_str().unwrap(), "--json"], &env);
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let run = out.expect_code(0).json()["run"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = scratch.host(&["show", &run, "--json"]);
    shown.expect_code(0);
    assert!(!shown.stdout.contains(secret));
    assert_eq!(
        shown.json()["steps"]["leak"]["output"],
        json!({"token": "[redacted]"})
    );

    let failing = scratch.workflow(
        "failing.toml",
        &LEAKY.replace("mode = \"leak\"", "mode = \"leak\", fail = true"),
    );
    let out = scratch.host_with_env(&["run", failing.to_str().unwrap(), "--json"], &env);
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.expect_code(1)
            .stdout
            .contains("upstream refused token [redacted]")
    );
}

#[test]
fn a_bad_http_grant_flag_is_a_usage_error_with_an_example() {
    let scratch = Scratch::new();
    let hostile = plugin("hostile-guest");
    scratch
        .host(&[
            "invoke",
            hostile.to_str().unwrap(),
            "--input",
            "{}",
            "--grant-http",
            "ftp://files.example.com/",
        ])
        .expect_code(2)
        .stderr_has(
            "only http and https URLs can be granted, e.g. \"https://api.example.com/v1/\"",
        );
}
