//! The hostile-plugin suite (../shared/SECURITY.md): every file in `tests/hostile/`
//! is one case. A case declares the plugin under attack as a workflow would (the
//! hostile Rust guest with a `mode`, or WAT wrapped into a component at test time),
//! and what the host must answer. For each case, through the real `host` binary and
//! a real sled store, the driver:
//!
//! 1. commits a run and a decision beforehand (a baseline workflow, run and approved);
//! 2. runs the case as a one-step workflow and checks the exit code, the step's
//!    error kind and message (naming the plugin and the limit), or its output;
//! 3. checks that the baseline run and its decision are intact, and that the HTTP
//!    test server saw exactly the requests the case allows;
//! 4. runs the baseline again: a well-behaved plugin works right after.
//!
//! Adding a case is adding a file; see `tests/hostile/README.md` for the format.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use baton_tests::{NOTE_WORKFLOW, Scratch, case_files, plugin, wat_component, workspace_root};
use serde::Deserialize;
use serde_json::json;

const WAITING: i32 = 3;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the plugin does and what the host must do about it, in one sentence.
    about: String,
    /// The number of the case in SECURITY.md.
    case: Vec<u32>,
    /// WebAssembly text wrapped into a component; `{wat}` in `plugin.source`.
    wat: Option<String>,
    /// Raw file contents; `{bytes}` in `plugin.source`.
    bytes: Option<String>,
    /// WebAssembly text assembled as it is (a core module or a component); `{raw}`.
    raw_wat: Option<String>,
    /// The step's input (default `{}`).
    input: Option<toml::Value>,
    /// The plugin under attack, as a `[plugins.NAME]` table of a workflow.
    plugin: toml::Table,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// Exit code of `host run` (default 1: the run failed).
    exit: Option<i32>,
    /// The failed step's error kind, e.g. `timeout`.
    kind: Option<String>,
    /// Texts the step's error message must contain.
    #[serde(default)]
    message: Vec<String>,
    /// Texts stderr must contain (errors before any step runs).
    #[serde(default)]
    stderr: Vec<String>,
    /// Fields the step's output must have, with these values.
    output: Option<toml::Table>,
    /// Fields the step's output must have, whatever their values.
    #[serde(default)]
    output_keys: Vec<String>,
    /// Fields of the step's output that must be strings starting with these texts.
    output_starts: Option<toml::Table>,
    /// Texts the step's output, as JSON text, must not contain.
    #[serde(default)]
    output_lacks: Vec<String>,
    /// Requests the HTTP test server may receive for this case (default 0).
    #[serde(default)]
    server_requests: usize,
}

#[test]
fn every_hostile_case_leaves_the_host_and_its_state_intact() {
    let cases = case_files("tests/hostile", "toml", 20);
    plugin("hostile-guest");
    let server = TestServer::get();
    // Two at a time: each case starts several `host` processes.
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let next = Mutex::new(cases.iter());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some(path) = next.lock().unwrap().next() else {
                        break;
                    };
                    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                    let outcome = std::panic::catch_unwind(|| run_case(path, &name, server));
                    if let Err(panic) = outcome {
                        let message = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures.lock().unwrap().push(format!("{name}: {message}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Every case number of SECURITY.md is covered here or by a named test elsewhere.
#[test]
fn every_case_of_the_security_plan_is_covered() {
    let mut covered: Vec<u32> = Vec::new();
    for path in case_files("tests/hostile", "toml", 20) {
        let case: Case = toml::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!case.about.is_empty());
        covered.extend(case.case);
    }
    // Covered by named tests that need more than one workflow step (see
    // tests/hostile/README.md); each must still exist under its name.
    for (case, file, test) in [
        (
            23,
            "kv.rs",
            "fn values_persist_across_runs_and_another_plugin_never_sees_them",
        ),
        (
            28,
            "sandbox.rs",
            "fn a_log_flood_is_capped_and_the_drop_is_reported",
        ),
        (
            29,
            "cache.rs",
            "fn a_tampered_cache_entry_is_recompiled_never_trusted",
        ),
    ] {
        let source =
            std::fs::read_to_string(workspace_root().join("tests/all").join(file)).unwrap();
        assert!(
            source.contains(test),
            "case {case}: tests/all/{file} lacks {test}"
        );
        covered.push(case);
    }
    let missing: Vec<u32> = (1..=29).filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "cases without a test: {missing:?}");
}

fn expects_output(expect: &Expect) -> bool {
    expect.output.is_some() || !expect.output_keys.is_empty() || expect.output_starts.is_some()
}

fn run_case(path: &Path, name: &str, server: &TestServer) {
    let text = std::fs::read_to_string(path).unwrap();
    let scratch = Scratch::new();
    fixture(&scratch);
    let prefix = format!("/{name}");
    let text = text
        .replace(
            "{http}",
            &format!("http://127.0.0.1:{}{prefix}", server.port),
        )
        .replace("{http-port}", &server.port.to_string())
        .replace("{path}", &prefix);
    let case: Case = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));

    // 1. A run and a decision committed before the attack.
    let baseline = scratch.workflow("baseline.toml", NOTE_WORKFLOW);
    let baseline = baseline.to_str().unwrap();
    let waiting = scratch
        .host(&["run", baseline, "--json"])
        .expect_code(WAITING)
        .json();
    let run = waiting["run"].as_str().unwrap().to_string();
    let decision = waiting["decisions"][0]["request"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    scratch
        .host(&["approve", &decision, "--json"])
        .expect_code(0);
    let before = scratch
        .host(&["show", &run, "--json"])
        .expect_code(0)
        .json();

    // 2. The attack.
    let workflow = scratch.file("case.toml", case_workflow(&scratch, &case));
    let outcome = scratch.host(&["run", workflow.to_str().unwrap(), "--json"]);
    let expect = &case.expect;
    let exit = expect
        .exit
        .unwrap_or(if expects_output(expect) { 0 } else { 1 });
    outcome.expect_code(exit);
    for text in &expect.stderr {
        outcome.stderr_has(text);
    }
    if expect.kind.is_some() || !expect.message.is_empty() || expects_output(expect) {
        let out = outcome.json();
        let step = out["steps"]
            .as_array()
            .and_then(|steps| steps.iter().find(|s| s["key"]["step"] == "attack"))
            .unwrap_or_else(|| panic!("no attack step in {out}"));
        if let Some(kind) = &expect.kind {
            assert_eq!(step["error"]["kind"], json!(kind), "{step}");
        }
        let message = step["error"]["message"].as_str().unwrap_or_default();
        for text in &expect.message {
            assert!(
                message.contains(text.as_str()),
                "message lacks {text:?}: {message}"
            );
        }
        let output = &step["output"];
        for (key, want) in expect.output.iter().flatten() {
            let want = serde_json::to_value(want).unwrap();
            assert_eq!(output[key], want, "output.{key} in {output}");
        }
        for key in &expect.output_keys {
            assert!(output.get(key).is_some(), "output lacks {key:?}: {output}");
        }
        for (key, start) in expect.output_starts.iter().flatten() {
            let start = start.as_str().unwrap();
            let got = output[key].as_str().unwrap_or_default();
            assert!(
                got.starts_with(start),
                "output.{key} is {got:?}, not {start:?}...: {output}"
            );
        }
        for text in &expect.output_lacks {
            assert!(
                !output.to_string().contains(text.as_str()),
                "output has {text:?}: {output}"
            );
        }
    }
    let seen = server.requests_under(&prefix);
    assert_eq!(
        seen.len(),
        expect.server_requests,
        "the test server saw {seen:?}"
    );

    // 3. What was committed before is intact.
    let after = scratch
        .host(&["show", &run, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(after, before, "the baseline run changed");
    assert_eq!(after["status"], "completed");

    // 4. A well-behaved plugin works right after.
    scratch
        .host(&["run", baseline, "--json"])
        .expect_code(WAITING);
}

/// The files every case can be granted: `data/` (with a symlink pointing out of
/// it) and a secret beside it that no grant covers.
fn fixture(scratch: &Scratch) {
    let root = scratch.path();
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(root.join("data/notes.txt"), "granted notes").unwrap();
    std::fs::write(root.join("secret.txt"), "TOP SECRET").unwrap();
    std::os::unix::fs::symlink("../secret.txt", root.join("data/escape")).unwrap();
}

/// The case as a workflow file: its plugin as `subject`, one step `attack`.
fn case_workflow(scratch: &Scratch, case: &Case) -> String {
    let mut plugin = case.plugin.clone();
    if let Some(toml::Value::String(source)) = plugin.get("source").cloned() {
        let source = if source == "{wat}" {
            let wat = case.wat.as_deref().expect("`{wat}` needs a `wat` field");
            scratch
                .file("subject.wasm", wat_component(wat))
                .display()
                .to_string()
        } else if source == "{bytes}" {
            let bytes = case
                .bytes
                .as_deref()
                .expect("`{bytes}` needs a `bytes` field");
            scratch.file("subject.wasm", bytes).display().to_string()
        } else if source == "{raw}" {
            let text = case
                .raw_wat
                .as_deref()
                .expect("`{raw}` needs a `raw_wat` field");
            scratch.wat("subject.wasm", text).display().to_string()
        } else {
            let package = match source.as_str() {
                "{hostile}" => "hostile-guest",
                "{greedy}" => "greedy-guest",
                "{bloated}" => "bloated-guest",
                other => panic!("unknown source {other:?}"),
            };
            baton_tests::plugin(package).display().to_string()
        };
        plugin.insert("source".into(), toml::Value::String(source));
    }
    let input = case
        .input
        .clone()
        .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
    let mut step = toml::Table::new();
    step.insert("id".into(), "attack".into());
    step.insert("uses".into(), "subject".into());
    step.insert("input".into(), input);
    let mut plugins = toml::Table::new();
    plugins.insert("subject".into(), toml::Value::Table(plugin));
    let mut workflow = toml::Table::new();
    workflow.insert("name".into(), "hostile-case".into());
    workflow.insert("plugins".into(), toml::Value::Table(plugins));
    workflow.insert(
        "steps".into(),
        toml::Value::Array(vec![toml::Value::Table(step)]),
    );
    toml::to_string(&workflow).unwrap()
}

/// A small HTTP server on 127.0.0.1 for the HTTP cases. It records every request
/// line, and answers by the last path segment: `small` (1 KiB), `huge` (an endless
/// body), `big-header` (a 1 MiB header), anything else 404.
struct TestServer {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    fn get() -> &'static TestServer {
        static SERVER: OnceLock<TestServer> = OnceLock::new();
        SERVER.get_or_init(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let log = seen.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let log = log.clone();
                    std::thread::spawn(move || serve(stream, &log));
                }
            });
            TestServer { port, seen }
        })
    }

    fn requests_under(&self, prefix: &str) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|line| {
                line.split(' ')
                    .nth(1)
                    .is_some_and(|path| path.starts_with(prefix))
            })
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    if let Some(length) = headers
        .get("content-length")
        .and_then(|l| l.parse::<u64>().ok())
    {
        let _ = std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink());
    }
    seen.lock().unwrap().push(request_line.trim().to_string());
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let mut stream = stream;
    let last = path.rsplit('/').next().unwrap_or_default();
    let _ = match last {
        "small" => stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: 1024\r\nconnection: close\r\n\r\n{}",
                "a".repeat(1024)
            )
            .as_bytes(),
        ),
        "huge" => stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\nconnection: close\r\n\r\n")
            .and_then(|()| {
                let chunk = vec![b'z'; 64 * 1024];
                loop {
                    stream.write_all(&chunk)?;
                }
            }),
        "big-header" => stream.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nx-padding: {}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                "p".repeat(1 << 20)
            )
            .as_bytes(),
        ),
        _ => stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
    };
}
