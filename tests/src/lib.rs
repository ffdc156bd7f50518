//! Support for Baton's integration tests and benchmarks: the real `host` binary and
//! the real plugin components, built from source on first use, and small helpers to
//! run them.
//!
//! `cargo test` alone is enough: the first test that needs an artifact runs
//! `cargo build` for it (cargo's own lock keeps parallel test processes from building
//! twice). Set `BATON_SKIP_BUILD=1` to use what is already in `target/`.

pub mod model_server;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The variables besides `CARGO_PKG_*` that `cargo test` sets for a test process.
const CARGO_TEST_PACKAGE_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
];

/// Removes from `command`'s environment what `cargo test` says about the test's own
/// package, for every child that may run cargo (the harness's builds, `host run
/// --build`, a plugin's build script). A build script that declares one of these
/// variables (ring's declares CARGO_MANIFEST_DIR and CARGO_PKG_NAME) would see it
/// change between such a build and one from a shell, and cargo would rebuild it and
/// everything above it, the host included, each time.
pub fn clear_cargo_test_env(command: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_") || CARGO_TEST_PACKAGE_VARS.contains(&key.as_ref()) {
            command.env_remove(key.as_ref());
        }
    }
    command
}

fn cargo(args: &[&str]) {
    if std::env::var_os("BATON_SKIP_BUILD").is_some() {
        return;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(workspace_root());
    clear_cargo_test_env(&mut command);
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo {args:?}: {e}"));
    assert!(status.success(), "cargo {args:?} failed");
}

/// The `host` binary, built in the dev profile.
pub fn host_binary() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| build_host("debug"))
}

/// The `host` binary, built in the release profile (for benchmarks).
pub fn release_host_binary() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| build_host("release"))
}

fn build_host(profile: &str) -> PathBuf {
    if profile == "release" {
        let release = [
            "build",
            "--quiet",
            "--release",
            "-p",
            "baton-cli",
            "--bin",
            "host",
        ];
        cargo(&release);
    } else {
        // With the test suite's own features (.cargo/config.toml): nothing to compile
        // twice.
        cargo(&["shared-build", "--quiet", "--bin", "host"]);
    }
    target_dir()
        .join(profile)
        .join(format!("host{}", std::env::consts::EXE_SUFFIX))
}

/// A workflow of three echo steps in a row, no gate: the durable-runs figure of the
/// benchmarks and of `host bench`. `{echo}` is the echo plugin's path (see
/// [`Scratch::workflow`]).
pub const THREE_ECHO_STEPS: &str = r#"
name = "three-steps"
[plugins.echo]
source = "{echo}"
[[steps]]
id = "one"
uses = "echo"
[[steps]]
id = "two"
uses = "echo"
input = "{{ steps.one.output }}"
[[steps]]
id = "three"
uses = "echo"
input = "{{ steps.two.output }}"
"#;

/// A gate that fans out over the run's `items` (`tests/workflows/fan-out.toml`);
/// `{echo}` is the echo plugin's path (see [`Scratch::workflow`]).
pub const FAN_OUT: &str = include_str!("../workflows/fan-out.toml");

/// The guest crates the tests use, built once for wasm32-wasip2 in release.
const GUESTS: &[&str] = &[
    "lead-scorer",
    "copy-drafter",
    "email-outbox",
    "ad-auditor",
    "ads-changeset",
    "hostile-guest",
    "greedy-guest",
    "bloated-guest",
    "echo-guest",
    "llm-probe-guest",
];

/// The plugins written in other languages, each built by `make` in its folder under
/// `plugins/` with that language's own toolchain (componentize-py, componentize-js,
/// clang and wasm-tools; `tools/setup.sh` installs them).
const POLYGLOT: &[&str] = &["tone-checker", "utm-tagger", "email-checker"];

/// The component of plugin `package`, built on first use: a guest crate (e.g.
/// `plugin("lead-scorer")`, all built together by cargo) or a plugin in another language
/// (e.g. `plugin("tone-checker")`, built by `make`, which skips an up-to-date one).
pub fn plugin(package: &str) -> PathBuf {
    let out = target_dir()
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    if POLYGLOT.contains(&package) {
        make_once(package, &out);
        return out;
    }
    assert!(
        GUESTS.contains(&package),
        "{package} is neither a guest crate nor a plugin in another language the tests build"
    );
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut args = vec!["build", "--quiet", "--target", "wasm32-wasip2", "--release"];
        for guest in GUESTS {
            args.extend(["-p", guest]);
        }
        cargo(&args);
    });
    out
}

/// Runs `make` for the polyglot plugin `package` once per test process.
fn make_once(package: &str, out: &Path) {
    if std::env::var_os("BATON_SKIP_BUILD").is_some() {
        return;
    }
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.contains(package) {
        return;
    }
    let mut make = Command::new("make");
    make.arg("-s")
        .arg("-C")
        .arg(workspace_root().join("plugins").join(package))
        .arg(format!("OUT={}", out.display()));
    if package == "email-checker" {
        make.arg(format!("ADAPTER={}", preview1_adapter().display()));
    }
    let status = make
        .status()
        .unwrap_or_else(|e| panic!("cannot run make for {package}: {e}"));
    assert!(
        status.success(),
        "building {package} failed; `tools/setup.sh` installs its toolchain"
    );
    built.insert(package.to_string());
}

/// wasmtime 48's preview 1 adapter (reactor), written to `target/` so that `make` can
/// use it (and see it unchanged between runs).
pub fn preview1_adapter() -> PathBuf {
    let path = target_dir().join("wasi_snapshot_preview1.reactor.wasm");
    let bytes = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
    if std::fs::read(&path).ok().as_deref() != Some(bytes) {
        std::fs::create_dir_all(target_dir()).expect("target/ can be created");
        std::fs::write(&path, bytes).expect("the adapter can be written to target/");
    }
    path
}

/// A scratch directory with its own component cache, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
    /// A component cache shared by every test that asks for it, instead of the
    /// scratch directory's own.
    shared_cache: bool,
    /// The PostgreSQL store its commands use (`BATON_STORE`), instead of the
    /// embedded store in [`Scratch::state_dir`].
    store: Option<String>,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary directory"),
            shared_cache: false,
            store: None,
        }
    }

    /// A scratch directory whose `host` commands keep their runs in a new, empty
    /// database of the tests' PostgreSQL server ([`postgres`]).
    pub fn on_postgres() -> Scratch {
        Scratch::new().in_postgres()
    }

    /// This scratch directory, its `host` commands keeping their runs in a new,
    /// empty database of the tests' PostgreSQL server.
    pub fn in_postgres(self) -> Scratch {
        Scratch {
            store: Some(postgres().database()),
            ..self
        }
    }

    /// A scratch directory whose `host` commands keep their runs at `url`.
    pub fn on_database(url: String) -> Scratch {
        Scratch {
            store: Some(url),
            ..Scratch::new()
        }
    }

    /// The PostgreSQL store's URL, when the scratch uses one.
    pub fn store_url(&self) -> Option<&str> {
        self.store.as_deref()
    }

    /// A scratch directory whose `host` commands share one component cache in
    /// `target/`, so that a Python or JavaScript plugin (seconds to compile) is compiled
    /// once for all the tests that use it, not once per test.
    pub fn with_shared_cache() -> Scratch {
        Scratch {
            shared_cache: true,
            ..Scratch::new()
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache_dir(&self) -> PathBuf {
        if self.shared_cache {
            target_dir().join("test-component-cache")
        } else {
            self.dir.path().join("cache")
        }
    }

    /// The state store of this scratch directory's runs.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Writes an example's workflow file (e.g. `examples/ads-audit/workflow.toml`)
    /// into the scratch directory, its plugins' `source` paths made absolute, so that
    /// the directories it grants are the scratch directory's.
    pub fn example_workflow(&self, example: &str) -> PathBuf {
        let path = workspace_root().join(example);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{example}: {e}"));
        let mut out = String::new();
        for line in text.lines() {
            match line.strip_prefix("source = \"../../target/wasm32-wasip2/release/") {
                Some(rest) => {
                    let file = rest.trim_end_matches('"');
                    let package = file.trim_end_matches(".wasm").replace('_', "-");
                    out.push_str(&format!(
                        "source = {:?}\n",
                        plugin(&package).display().to_string()
                    ));
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        self.file("workflow.toml", out)
    }

    /// Starts the ads audit example on `account` (a Google Ads export), with its
    /// `changes` directory in the scratch directory; returns `host run --json`'s
    /// output (the run waits on one decision per finding).
    pub fn start_ads_audit(&self, account: &Path) -> serde_json::Value {
        let workflow = self.example_workflow("examples/ads-audit/workflow.toml");
        std::fs::create_dir_all(self.path().join("changes")).expect("create changes/");
        self.start_ads_audit_of(&workflow, account)
    }

    /// [`Scratch::start_ads_audit`] with `workflow` (a variant of the example's).
    pub fn start_ads_audit_of(&self, workflow: &Path, account: &Path) -> serde_json::Value {
        self.host(&[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            account.to_str().unwrap(),
            "--json",
        ])
        .expect_code(3)
        .json()
    }

    /// The audit entries (`by`, `event`, ...) of every decision made in `run`, in
    /// log order.
    pub fn decisions_made(&self, run: &str) -> Vec<serde_json::Value> {
        self.host(&["audit", run, "--jsonl"])
            .expect_code(0)
            .stdout
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON line"))
            .filter(|entry| entry["event"]["event"] == "decision_made")
            .collect()
    }

    /// The ads audit whose gate decides the `negative-keyword/monitor` findings itself
    /// and sends every one of them (`spot_check = "100%"`) to a person afterwards;
    /// `hook`, when given, hears of suspensions through `[notify]`.
    pub fn spot_checked_ads_audit(&self, hook: Option<&str>) -> PathBuf {
        let example = self.example_workflow("examples/ads-audit/workflow.toml");
        let text = std::fs::read_to_string(&example).expect("read the ads audit");
        let kind_line = "kind = \"{{ item.kind }}/{{ item.severity }}\"";
        assert!(text.contains(kind_line), "the ads audit declares its kinds");
        let mut text = text.replace(
            kind_line,
            &format!(
                "{kind_line}\nauto_approve = \"kind == 'negative-keyword/monitor'\"\nspot_check = \"100%\"\nspot_check_agreement = \"80%\""
            ),
        );
        if let Some(hook) = hook {
            text.push_str(&format!("\n[notify]\nwebhook = \"{hook}/hook\"\n"));
        }
        std::fs::create_dir_all(self.path().join("changes")).expect("create changes/");
        self.file("spot.toml", text)
    }

    /// Writes a workflow file whose `{scorer}`, `{drafter}`, `{outbox}`, `{hostile}`,
    /// `{greedy}`, `{echo}` and `{probe}` placeholders become the paths of the built components.
    pub fn workflow(&self, name: &str, text: &str) -> PathBuf {
        let mut text = text.to_string();
        for (placeholder, package) in [
            ("{scorer}", "lead-scorer"),
            ("{drafter}", "copy-drafter"),
            ("{outbox}", "email-outbox"),
            ("{hostile}", "hostile-guest"),
            ("{greedy}", "greedy-guest"),
            ("{echo}", "echo-guest"),
            ("{probe}", "llm-probe-guest"),
        ] {
            if text.contains(placeholder) {
                text = text.replace(placeholder, &plugin(package).display().to_string());
            }
        }
        self.file(name, text)
    }

    /// Writes the host configuration file the `host` commands of this scratch read
    /// (`config-home/baton/config.toml`, found through `XDG_CONFIG_HOME`).
    pub fn host_config(&self, text: &str) -> PathBuf {
        self.file("config-home/baton/config.toml", text)
    }

    /// `host ARGS...` started in the background (stdout and stderr discarded), for
    /// tests that kill it.
    pub fn spawn_host(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the host binary")
    }

    /// `host ARGS...` run from `dir` (so paths in messages are relative to it).
    pub fn host_in(&self, dir: &Path, args: &[&str]) -> Run {
        let mut command = self.command(args);
        command.current_dir(dir);
        run(command, args, None)
    }

    /// `host ARGS...` with extra environment variables.
    pub fn host_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        run(command, args, None)
    }

    /// The `host ARGS...` command as every helper here runs it: this scratch's store,
    /// cache and configuration, operator `tester`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(host_binary());
        clear_cargo_test_env(&mut command)
            .args(args)
            .current_dir(workspace_root())
            .env("BATON_CACHE_DIR", self.cache_dir())
            .env("BATON_STATE", self.state_dir())
            .env("BATON_OPERATOR", "tester")
            // No host configuration unless a test writes one (config-home/baton/config.toml).
            .env("XDG_CONFIG_HOME", self.dir.path().join("config-home"))
            .env_remove("BATON_CONFIG")
            .env_remove("BATON_LOG")
            .env_remove("BATON_FAILPOINT")
            .env_remove("BATON_NOW")
            .env_remove("BATON_STORE")
            .env("RUST_BACKTRACE", "0");
        if let Some(url) = &self.store {
            command.env("BATON_STORE", url);
        }
        command
    }

    /// Starts a run of [`NOTE_WORKFLOW`] on this store, which stops at its gate;
    /// returns the run's id.
    pub fn start_note_run(&self) -> String {
        let workflow = self.workflow("note.toml", NOTE_WORKFLOW);
        let started = self
            .host(&["run", workflow.to_str().unwrap(), "--json"])
            .expect_code(3)
            .json();
        started["run"].as_str().unwrap().to_string()
    }

    /// Writes `bytes` to `name` inside the scratch directory.
    pub fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("make a scratch directory");
        }
        std::fs::write(&path, bytes).expect("write a scratch file");
        path
    }

    /// Assembles WebAssembly text (a core module or a component) into `name`.
    pub fn wat(&self, name: &str, text: &str) -> PathBuf {
        let bytes = wat::parse_str(text).unwrap_or_else(|e| panic!("bad WAT for {name}: {e}"));
        self.file(name, bytes)
    }

    /// `host ARGS...` with this scratch directory's cache.
    pub fn host(&self, args: &[&str]) -> Run {
        self.host_with_stdin(args, None)
    }

    /// `host ARGS...` with the clock at `now` (`BATON_NOW`: an RFC 3339 time or `+49h`).
    pub fn host_at(&self, now: &str, args: &[&str]) -> Run {
        let mut command = self.command(args);
        command.env("BATON_NOW", now);
        run(command, args, None)
    }

    /// `host ARGS...` with `stdin` piped in.
    pub fn host_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        run(self.command(args), args, stdin)
    }
}

/// Starts `command` with its output captured and `stdin` (or nothing) as its input,
/// and waits for it under the watchdog.
fn run(mut command: Command, args: &[&str], stdin: Option<&str>) -> Run {
    use std::io::Write;
    command
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("start the host binary");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    wait_with_watchdog(child, args)
}

/// How long any one `host` process may take before the test calls it hung. Generous:
/// it only exists so that a sandbox that fails to stop a plugin fails the test
/// instead of hanging CI.
const WATCHDOG: Duration = Duration::from_secs(120);

fn wait_with_watchdog(mut child: Child, args: &[&str]) -> Run {
    use std::io::Read;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the host process") {
            break status;
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            panic!("host {args:?} still running after {WATCHDOG:?}; killed it");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run::from(Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    })
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

/// What a `host` process did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing both streams when it is wrong.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that stderr contains `text`.
    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    /// Asserts that stdout contains `text`.
    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n--- stdout\n{}",
            self.stdout
        );
        self
    }

    /// Stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Stderr as JSON (errors under `--json`).
    #[track_caller]
    pub fn stderr_json(&self) -> serde_json::Value {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}):\n{}", self.stderr))
    }
}

/// A workflow that commits a run and a decision: the hostile guest echoes a note
/// (`draft`), and a gate (`review`) asks whether to keep it. `{hostile}` is filled in
/// by [`Scratch::workflow`].
pub const NOTE_WORKFLOW: &str = r#"
name = "note"

[plugins.echo]
source = "{hostile}"

[[steps]]
id = "draft"
uses = "echo"
input = { note = "pay the invoice" }

[[steps]]
id = "review"
approve = "draft"
title = "Keep this note?"
"#;

/// The case files of a data-driven suite: the files in `dir` (relative to the
/// workspace root) ending in `.ext`, sorted, at least `at_least` of them.
#[track_caller]
pub fn case_files(dir: &str, ext: &str, at_least: usize) -> Vec<PathBuf> {
    let dir = workspace_root().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    assert!(
        files.len() >= at_least,
        "only {} .{ext} files in {}",
        files.len(),
        dir.display()
    );
    files
}

/// The core module around a hostile case's WAT: memory 0 with a bump allocator, a
/// static `tool-info` record, and an `invoke` that calls `$attack`.
const WAT_PLUGIN_TEMPLATE: &str = r#"(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 8192))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $at i32)
    (local.set $at
      (i32.and
        (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get 2))))
    (global.set $bump (i32.add (local.get $at) (local.get 3)))
    (local.get $at))
  ;; Strings: name, version, summary, schema.
  (data (i32.const 0) "subject")
  (data (i32.const 16) "0.1.0")
  (data (i32.const 32) "a hostile case written in WAT")
  (data (i32.const 64) "{}")
  ;; tool-info: (ptr, len) of name, version, summary, input-schema, output-schema,
  ;; then the capabilities list (empty).
  (data (i32.const 1024)
    "\00\00\00\00\07\00\00\00"
    "\10\00\00\00\05\00\00\00"
    "\20\00\00\00\1d\00\00\00"
    "\40\00\00\00\02\00\00\00"
    "\40\00\00\00\02\00\00\00"
    "\00\00\00\00\00\00\00\00")
  ;; result<string, tool-error>: ok, then (ptr, len) of "{}".
  (data (i32.const 1100) "\00\00\00\00\40\00\00\00\02\00\00\00")
  (func (export "baton:plugin/tool@0.1.0#describe") (result i32) (i32.const 1024))
  (func (export "baton:plugin/tool@0.1.0#invoke") (param i32 i32) (result i32)
    (call $attack)
    (i32.const 1100))
  ATTACK
)"#;

/// Wraps `attack` (WebAssembly text: functions, tables, memories...) into a
/// component of the Baton world whose `invoke` calls `$attack` and, if that returns,
/// answers `{}`. Its `describe` names it `subject`. For hostile cases that a Rust
/// guest cannot express, such as growing tables or declaring many memories.
pub fn wat_component(attack: &str) -> Vec<u8> {
    let text = WAT_PLUGIN_TEMPLATE.replace("ATTACK", attack);
    let mut module = wat::parse_str(&text).unwrap_or_else(|e| panic!("bad WAT: {e}\n{text}"));
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(workspace_root().join("wit"))
        .expect("the contract in wit/ parses");
    let world = resolve
        .select_world(&[package], Some("plugin"))
        .expect("the contract has a `plugin` world");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("embed the world");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| panic!("cannot wrap the WAT into a component: {e:#}"))
}

/// The workflow the `host serve` benchmarks start runs of: echo, a gate titled with
/// the input's `n`, echo. `{echo}` is the echo plugin's path.
pub const GATED_ECHO: &str = r#"
name = "bench-serve"
[plugins.echo]
source = "{echo}"
[[steps]]
id = "draft"
uses = "echo"
input = "{{ input }}"
[[steps]]
id = "review"
approve = "draft"
title = "Send {{ steps.draft.output.n }}?"
[[steps]]
id = "send"
uses = "echo"
input = "{{ steps.review.output }}"
"#;

/// `host serve` for a benchmark, on a scratch directory of its own (state, cache and
/// configuration), and on the PostgreSQL store `store` when given; killed when dropped.
#[derive(Debug)]
pub struct BenchServer {
    child: Child,
    dir: PathBuf,
    store: Option<String>,
    host: PathBuf,
    pub url: String,
    /// `Bearer <token>`, the token the server generated.
    pub bearer: String,
    /// The workflow file of [`GATED_ECHO`] runs.
    pub workflow: PathBuf,
}

impl BenchServer {
    pub fn start(host: &Path, dir: &Path, store: Option<&str>) -> BenchServer {
        let workflow = dir.join("workflow.toml");
        std::fs::write(
            &workflow,
            GATED_ECHO.replace("{echo}", &plugin("echo-guest").display().to_string()),
        )
        .expect("write the benchmark's workflow");
        let mut child = bench_command(host, dir, store, &["serve", "--bind", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start host serve");
        let url = served_url(&mut child);
        let about: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("state/server.json")).expect("server.json"),
        )
        .expect("server.json is JSON");
        BenchServer {
            child,
            dir: dir.to_path_buf(),
            store: store.map(str::to_string),
            host: host.to_path_buf(),
            url,
            bearer: format!("Bearer {}", about["token"].as_str().expect("a token")),
            workflow,
        }
    }

    /// `host ARGS` on the server's state, cache, configuration and store.
    pub fn command(&self, args: &[&str]) -> Command {
        bench_command(&self.host, &self.dir, self.store.as_deref(), args)
    }

    /// The API's headers: the token, an operator, JSON.
    pub fn headers(&self) -> [(&str, &str); 3] {
        [
            ("Authorization", self.bearer.as_str()),
            ("X-Baton-Operator", "bench"),
            ("Content-Type", "application/json"),
        ]
    }

    /// Starts a run of [`GATED_ECHO`] on `{"n": n}` through the API; returns its
    /// decision's id, once it waits there.
    pub fn start_run(&self, n: usize) -> String {
        let body = serde_json::json!({ "workflow": self.workflow, "input": { "n": n } });
        let (status, answer) = http(
            &self.url,
            "POST",
            "/api/runs",
            &self.headers(),
            &body.to_string(),
        );
        assert_eq!(status, 200, "{answer}");
        let state: serde_json::Value = serde_json::from_str(&answer).expect("a run as JSON");
        format!("{}/review", state["id"].as_str().expect("a run id"))
    }
}

fn bench_command(host: &Path, dir: &Path, store: Option<&str>, args: &[&str]) -> Command {
    let mut command = Command::new(host);
    command
        .args(args)
        .env("BATON_STATE", dir.join("state"))
        .env("BATON_CACHE_DIR", dir.join("cache"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("BATON_OPERATOR", "bench");
    if let Some(url) = store {
        command.args(["--store", url]);
    }
    command
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a `host serve` started with piped stdout serves, once it says so; the rest
/// of its output is drained so that it never blocks on a full pipe.
pub fn served_url(child: &mut Child) -> String {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("host serve's stdout is piped");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("host serve ended before it served")
            .expect("read host serve's output");
        if let Some(rest) = line.strip_prefix("serving the inbox at ") {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    url
}

/// One plain HTTP/1.1 request on a fresh loopback connection (`url` is
/// `http://HOST:PORT`): the status and the body. For `host serve` in tests and benchmarks.
pub fn http(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let (status, _, body) = http_with_headers(url, method, path, headers, body);
    (status, body)
}

/// [`http`], with the answer's headers as sent (one `Name: value` per line).
pub fn http_with_headers(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).expect("connect to host serve");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (status, head.replace("\r\n", "\n"), body.to_string())
}

/// Overwrites the first entry of `run`'s log in the store at `state` with bytes that
/// are no entry, as a bad sector would. No `host` process may hold the store. (The
/// store's key layout: the run id, then the entry's version as 8 big-endian bytes.)
pub fn damage_first_entry(state: &Path, run: &str) {
    let db = sled::open(state).expect("open the store");
    let log = db.open_tree("log").expect("the log tree");
    let mut key = run.as_bytes().to_vec();
    key.extend_from_slice(&1u64.to_be_bytes());
    assert!(
        log.get(&key).expect("read the log").is_some(),
        "the store's key layout changed"
    );
    log.insert(key, b"\xffnot an entry".to_vec())
        .expect("write the log");
    db.flush().expect("flush the store");
}

/// The PostgreSQL server of this test process, started on first use in a temporary
/// directory on a free loopback port (as the `postgres` user when the tests run as
/// root, since `initdb` refuses root), and stopped by a watchdog once the test process
/// is gone. Each test takes a database of its own ([`Postgres::database`]).
#[derive(Debug)]
pub struct Postgres {
    port: u16,
    bin: PathBuf,
    next: std::sync::atomic::AtomicU32,
    data: PathBuf,
    dir: PathBuf,
    root: bool,
}

/// The server of [`Postgres`], started once per test process.
pub fn postgres() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(Postgres::start)
}

impl Postgres {
    /// A server of its own, for a test that restarts it.
    pub fn dedicated() -> Postgres {
        Postgres::start()
    }

    /// Restarts the server (`pg_ctl restart -m fast`): every connection is cut.
    pub fn restart(&self) {
        let mut command = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let restarted = command
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &options, "-m", "fast", "-w", "-t", "60", "restart"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run pg_ctl");
        assert!(
            restarted.status.success(),
            "pg_ctl restart: {}",
            String::from_utf8_lossy(&restarted.stderr)
        );
    }

    fn start() -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .expect("PostgreSQL's server programs (Debian's postgresql-15; tools/setup.sh installs them)");
        let dir = tempfile::Builder::new()
            .prefix("baton-postgres-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        let as_server = |program: &str| {
            let mut command = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(program));
                c
            } else {
                Command::new(bin.join(program))
            };
            command.stdin(std::process::Stdio::null());
            command
        };
        if root {
            let chown = Command::new("chown")
                .args(["postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(chown.success(), "chown the PostgreSQL directory");
        }
        let data = dir.join("data");
        let init = as_server("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "baton", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            dir.display()
        );
        let started = as_server("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .expect("run pg_ctl");
        assert!(
            started.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(dir.join("log")).unwrap_or_default()
        );
        // Stop it once this process is gone, however it ends.
        let runuser = if root { "runuser -u postgres -- " } else { "" };
        let watchdog = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runuser}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
            pid = std::process::id(),
            pg_ctl = bin.join("pg_ctl").display(),
            data = data.display(),
            dir = dir.display(),
        );
        // Started in the background by a shell that returns at once, so that the
        // watchdog outlives this process and is nobody's zombie.
        Command::new("sh")
            .args(["-c", &format!("({watchdog}) >/dev/null 2>&1 </dev/null &")])
            .status()
            .expect("start the PostgreSQL watchdog");
        Postgres {
            port,
            bin,
            next: std::sync::atomic::AtomicU32::new(0),
            data,
            dir,
            root,
        }
    }

    /// A new, empty database; its URL.
    pub fn database(&self) -> String {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("baton_{}_{n}", std::process::id());
        let created = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "baton",
            ])
            .args([
                "-d",
                "postgres",
                "-q",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ])
            .output()
            .expect("run psql");
        assert!(
            created.status.success(),
            "create a database: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        self.url(&name)
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://baton@127.0.0.1:{}/{name}", self.port)
    }
}
