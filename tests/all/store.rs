//! The state store's promises, on the real store on disk: a loss of acknowledged data
//! is said, never hidden; an export through a running server imports into an
//! identical store; a broken export is refused by line.

use std::path::Path;

use baton_tests::{FAN_OUT, NOTE_WORKFLOW, Scratch};
use serde_json::Value;

use crate::web::Served;

const KV_WRITER: &str = r#"
name = "kv-writer"
[plugins.writer]
source = "{hostile}"
grants = { kv = { quota = "4KiB", keys = 20 } }
config = { mode = "kv", op = "OP", key = "greeting", value = "hello" }

[[steps]]
id = "write"
uses = "writer"
"#;

/// `host --state DIR ARGS...`'s JSON output, expecting `code`.
fn json_on(scratch: &Scratch, state: &Path, args: &[&str], code: i32) -> Value {
    let mut all = vec!["--state", state.to_str().unwrap()];
    all.extend_from_slice(args);
    scratch.host(&all).expect_code(code).json()
}

/// Flips one bit in sled's data file at `fraction` of its written length, with the
/// snapshot removed so that sled replays its log over the flipped bit: sled stops at
/// the damaged record and drops everything after it, as the issue found.
fn flip_a_bit(state: &Path, fraction: f64) {
    let mut written = 0u64;
    for entry in std::fs::read_dir(state).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(lsn) = name.strip_prefix("snap.") {
            // The snapshot's name is the log position it covers, in hex.
            written = written.max(u64::from_str_radix(lsn, 16).unwrap_or(0));
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
    assert!(
        written > 0,
        "sled wrote no snapshot to find the log's end by"
    );
    let at = (written as f64 * fraction) as u64;
    let mut bytes = std::fs::read(state.join("db")).unwrap();
    bytes[at as usize] ^= 0x10;
    std::fs::write(state.join("db"), bytes).unwrap();
}

#[test]
fn a_store_that_lost_acknowledged_runs_says_how_many_and_what_is_left_can_be_moved() {
    let scratch = Scratch::new();
    let mut runs: Vec<String> = (0..6).map(|_| scratch.start_note_run()).collect();
    // Four more through a server, which is then killed.
    let served = Served::start(&scratch);
    runs.extend((0..4).map(|_| scratch.start_note_run()));
    served.kill();
    let state = scratch.state_dir();
    flip_a_bit(&state, 0.75);

    // Every command that works on runs refuses, and says how much is missing.
    let listed = scratch.host(&["runs"]);
    listed.expect_code(1);
    assert!(
        listed.stderr.contains("lost data it had acknowledged")
            && listed.stderr.contains("missing (it acknowledged 10 runs")
            && listed.stderr.contains("host store import"),
        "{}",
        listed.stderr
    );
    assert!(!listed.stdout.contains(&runs[0]), "{}", listed.stdout);
    let verify = scratch.host(&["audit", "--verify"]);
    verify.expect_code(1);
    assert!(
        verify.stdout.contains("lost data it had acknowledged"),
        "{}",
        verify.stdout
    );

    // What is left can be exported and imported into a store that works.
    let salvage = scratch.path().join("salvage.jsonl");
    let exported = scratch.host(&["store", "export", "--to", salvage.to_str().unwrap()]);
    exported.expect_code(0);
    let kept = std::fs::read_to_string(&salvage)
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("{\"summary\""))
        .count();
    assert!(kept < 10, "a flipped bit lost nothing? {kept} runs kept");
    let moved = scratch.path().join("moved");
    let mut import = vec!["--state", moved.to_str().unwrap()];
    import.extend(["store", "import", salvage.to_str().unwrap()]);
    scratch.host(&import).expect_code(0);
    let listed = json_on(&scratch, &moved, &["runs", "--json"], 0);
    assert_eq!(listed.as_array().unwrap().len(), kept);
    json_on(&scratch, &moved, &["audit", "--verify", "--json"], 0);
}

#[test]
fn an_export_through_a_running_server_imports_into_an_identical_store() {
    let scratch = Scratch::new();
    let writer = scratch.workflow("kv.toml", &KV_WRITER.replace("OP", "set"));
    scratch
        .host(&["run", writer.to_str().unwrap()])
        .expect_code(0);
    let runs: Vec<String> = (0..3).map(|_| scratch.start_note_run()).collect();
    scratch
        .host(&["approve", &format!("{}/review", runs[0])])
        .expect_code(0);
    scratch.host(&["cancel", &runs[1]]).expect_code(1);

    let served = Served::start(&scratch);
    // Work goes on while the export is taken.
    let during = scratch.start_note_run();
    let file = scratch.path().join("backup.jsonl");
    let exported = scratch.host(&["store", "export", "--to", file.to_str().unwrap()]);
    exported.expect_code(0);
    assert!(
        exported.stderr.contains("(through host serve")
            && exported.stderr.contains("exported 5 runs")
            && exported.stderr.contains("1 plugin kv entries"),
        "{}",
        exported.stderr
    );
    let state = scratch.state_dir();
    let before: Vec<Value> = ["runs", "inbox"]
        .iter()
        .map(|what| json_on(&scratch, &state, &[what, "--json"], 0))
        .collect();
    let audits: Vec<String> = runs
        .iter()
        .chain([&during])
        .map(|run| {
            scratch
                .host(&["audit", run, "--jsonl"])
                .expect_code(0)
                .stdout
                .clone()
        })
        .collect();
    served.stop();

    let copy = scratch.path().join("copy");
    let mut import = vec!["--state", copy.to_str().unwrap()];
    import.extend(["store", "import", file.to_str().unwrap()]);
    let imported = scratch.host(&import);
    imported.expect_code(0);
    assert!(
        imported.stdout.contains("imported 5 runs"),
        "{}",
        imported.stdout
    );

    let after: Vec<Value> = ["runs", "inbox"]
        .iter()
        .map(|what| json_on(&scratch, &copy, &[what, "--json"], 0))
        .collect();
    assert_eq!(before, after);
    for (run, audit) in runs.iter().chain([&during]).zip(&audits) {
        let on_copy = scratch.host(&["--state", copy.to_str().unwrap(), "audit", run, "--jsonl"]);
        assert_eq!(&on_copy.expect_code(0).stdout, audit, "run {run}");
    }
    let verified = json_on(&scratch, &copy, &["audit", "--verify", "--json"], 0);
    assert_eq!(verified["runs"], 5);
    // An export of the copy is the same file, but for when it was taken.
    let again = scratch.path().join("again.jsonl");
    scratch
        .host(&[
            "--state",
            copy.to_str().unwrap(),
            "store",
            "export",
            "--to",
            again.to_str().unwrap(),
        ])
        .expect_code(0);
    let body = |path: &Path| {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&file), body(&again));
    // The plugin's kv data came along: a run on the copy reads what was written.
    let reader = scratch.workflow("kv-get.toml", &KV_WRITER.replace("OP", "get"));
    let run = json_on(
        &scratch,
        &copy,
        &["run", reader.to_str().unwrap(), "--json"],
        0,
    );
    let shown = json_on(
        &scratch,
        &copy,
        &["show", run["run"].as_str().unwrap(), "--json"],
        0,
    );
    assert_eq!(shown["steps"]["write"]["output"]["ok"], "hello");
}

#[test]
fn the_snapshots_a_long_run_keeps_match_what_its_log_folds_to() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow("fan-out.toml", FAN_OUT);
    let items: Vec<Value> = (0..70).map(|n| serde_json::json!({ "n": n })).collect();
    let input = scratch.file(
        "items.json",
        serde_json::json!({ "items": items }).to_string(),
    );
    let started = scratch
        .host(&[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--json",
        ])
        .expect_code(3)
        .json();
    let run = started["run"].as_str().unwrap().to_string();
    for n in [0, 1, 69] {
        scratch
            .host(&["approve", &format!("{run}/review/{n}")])
            .expect_code(3);
    }
    scratch
        .host(&["reject", &format!("{run}/review/2")])
        .expect_code(3);
    let verified = scratch
        .host(&["audit", "--verify", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(verified["snapshots"], 1, "{verified}");
    assert!(verified.get("snapshots_rebuilt").is_none(), "{verified}");
    // What is read through the snapshot is what the log says.
    let shown = scratch
        .host(&["show", &run, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        shown["decisions"][format!("{run}/review/69")]["status"],
        "approved"
    );
    assert_eq!(
        shown["decisions"][format!("{run}/review/2")]["status"],
        "rejected"
    );
    let pending = shown["decisions"]
        .as_object()
        .unwrap()
        .values()
        .filter(|d| d["status"] == "pending")
        .count();
    assert_eq!(pending, 66);
}

#[test]
fn a_broken_export_is_refused_by_line_and_leaves_the_store_empty() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow("note.toml", NOTE_WORKFLOW);
    for _ in 0..2 {
        scratch
            .host(&["run", workflow.to_str().unwrap()])
            .expect_code(3);
    }
    let file = scratch.path().join("backup.jsonl");
    scratch
        .host(&["store", "export", "--to", file.to_str().unwrap()])
        .expect_code(0);
    let text = std::fs::read_to_string(&file).unwrap();
    // Someone edits what a step produced in the first run.
    let edited = text.replacen("pay the invoice", "pay the other invoice", 1);
    assert_ne!(edited, text);
    let broken = scratch.file("edited.jsonl", edited);
    let target = scratch.path().join("target");
    let import = scratch.host(&[
        "--state",
        target.to_str().unwrap(),
        "store",
        "import",
        broken.to_str().unwrap(),
    ]);
    import.expect_code(2);
    assert!(
        import.stderr.contains("edited.jsonl:")
            && import.stderr.contains("does not link to entry")
            && import.stderr.contains("nothing was imported"),
        "{}",
        import.stderr
    );
    let listed = json_on(&scratch, &target, &["runs", "--json"], 0);
    assert_eq!(listed, serde_json::json!([]));
}

/// Runs inside a private mount namespace (`unshare -rm`), with the state directory on
/// a small tmpfs that a filler file leaves almost full: runs and decisions until the
/// disk is full, then the filler removed, three times over. Prints what happened, one
/// line each: `ACK <run>` (a run that waits at its gate), `DECIDED <run>`,
/// `FAIL <stderr>`, `FULL <code> <stderr>` (a command on the full disk),
/// `FREED <code> <stderr>` (once space is freed; the runs are in runs.<cycle>.json),
/// `VERIFY <code>`, `LEFT <files in the state directory>`.
const FILL_THE_DISK: &str = r#"
set -u
H=$1; WF=$2; MNT=$3; T=$4
mount -t tmpfs -o size=8m tmpfs "$MNT" || { echo NOMOUNT; exit 0; }
export BATON_STATE="$MNT/state"
for cycle in 1 2 3; do
  "$H" runs >/dev/null 2>&1
  avail=$(df -k "$MNT" | tail -1 | awk '{print $4}')
  dd if=/dev/zero of="$MNT/filler" bs=1k count=$((avail - 16)) 2>/dev/null
  n=0
  while [ $n -lt 150 ]; do
    n=$((n+1))
    "$H" run "$WF" --json >"$T/out" 2>"$T/err"; code=$?
    if [ $code -ne 3 ]; then echo "FAIL $(tr '\n' ' ' < "$T/err")"; break; fi
    id=$(sed -n 's/.*"run": *"\([0-9A-Z]*\)".*/\1/p' "$T/out" | head -n 1)
    echo "ACK $id"
    if [ $((n % 2)) -eq 0 ]; then
      if "$H" approve "$id/review" >/dev/null 2>"$T/err"; then echo "DECIDED $id";
      else echo "FAIL $(tr '\n' ' ' < "$T/err")"; break; fi
    fi
  done
  "$H" runs >/dev/null 2>"$T/err"; echo "FULL $? $(tr '\n' ' ' < "$T/err")"
  rm -f "$MNT/filler"
  "$H" runs --json >"$T/runs.$cycle.json" 2>"$T/err"; echo "FREED $? $(tr '\n' ' ' < "$T/err")"
done
"$H" audit --verify >/dev/null 2>&1; echo "VERIFY $?"
echo "LEFT $(ls "$MNT/state" | tr '\n' ' ')"
"#;

#[test]
fn a_full_disk_loses_nothing_acknowledged_and_the_store_opens_once_space_is_freed() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow("note.toml", NOTE_WORKFLOW);
    // Compile the plugin into the cache first, outside the small disk.
    scratch.start_note_run();
    let mount = scratch.path().join("small-disk");
    std::fs::create_dir_all(&mount).unwrap();
    let output = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", FILL_THE_DISK, "sh"])
        .arg(baton_tests::host_binary())
        .arg(&workflow)
        .arg(&mount)
        .arg(scratch.path())
        .env("BATON_CACHE_DIR", scratch.cache_dir())
        .env("BATON_OPERATOR", "tester")
        .output()
        .expect("run unshare (util-linux)");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && !said.contains("NOMOUNT"),
        "this test needs a private mount namespace with a tmpfs (unshare -rm): {said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = said.lines().collect();
    let with = |tag: &str| -> Vec<&str> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(tag))
            .map(str::trim)
            .collect()
    };
    let failures = with("FAIL ");
    assert_eq!(failures.len(), 3, "each cycle fills the disk: {said}");
    for failure in &failures {
        assert!(
            failure.contains("no space left on device")
                && failure.contains("free space and try again"),
            "a full disk is named, with the way on: {failure}"
        );
    }
    for freed in with("FREED ") {
        assert!(
            freed.starts_with('0'),
            "the store opens once space is freed: {said}"
        );
    }
    // Every run and decision acknowledged before the disk filled is there after.
    let acknowledged = with("ACK ");
    let decided = with("DECIDED ");
    assert!(acknowledged.len() >= 3 && !decided.is_empty(), "{said}");
    let runs: Value =
        serde_json::from_str(&std::fs::read_to_string(scratch.path().join("runs.3.json")).unwrap())
            .unwrap();
    let status = |id: &str| {
        runs.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["status"].as_str().unwrap().to_string())
    };
    for id in &acknowledged {
        assert!(
            status(id).is_some(),
            "run {id} was acknowledged and is gone: {said}"
        );
    }
    for id in &decided {
        assert_eq!(status(id).as_deref(), Some("completed"), "run {id}: {said}");
    }
    assert_eq!(with("VERIFY "), vec!["0"], "{said}");
    let left = with("LEFT ").concat();
    assert!(!left.contains(".generating"), "{left}");
}

on_both_stores! {
    fn a_run_waits_is_decided_once_and_its_chain_verifies(scratch = Scratch::new) {
        let runs: Vec<String> = (0..3).map(|_| scratch.start_note_run()).collect();
        let inbox = scratch.host(&["inbox", "--json"]).expect_code(0).json();
        assert_eq!(inbox.as_array().unwrap().len(), 3, "{inbox}");
        scratch
            .host(&["approve", &format!("{}/review", runs[0])])
            .expect_code(0);
        scratch
            .host(&["approve", &format!("{}/review", runs[0])])
            .expect_code(2)
            .stderr_has("was already decided: approved as proposed by");
        scratch
            .host(&["reject", &format!("{}/review", runs[1])])
            .expect_code(1);
        scratch.host(&["cancel", &runs[2]]).expect_code(1);
        let listed = scratch.host(&["runs", "--json"]).expect_code(0).json();
        let status = |id: &str| {
            listed
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id)
                .map(|r| r["status"].clone())
        };
        assert_eq!(status(&runs[0]), Some("completed".into()));
        assert_eq!(status(&runs[1]), Some("rejected".into()));
        assert_eq!(status(&runs[2]), Some("cancelled".into()));
        let verified = scratch
            .host(&["audit", "--verify", "--json"])
            .expect_code(0)
            .json();
        assert_eq!(verified["runs"], 3, "{verified}");
        let audit = scratch.host(&["audit", &runs[0], "--jsonl"]);
        audit.expect_code(0);
        assert_eq!(audit.stdout.lines().count(), 6, "{}", audit.stdout);
    }

    fn a_decision_through_host_serve_continues_the_run(scratch = Scratch::new) {
        let run = scratch.start_note_run();
        let served = Served::start(&scratch);
        let approved = scratch.host(&["approve", &format!("{run}/review")]);
        approved.expect_code(0);
        assert!(approved.stderr.contains("(through host serve"), "{}", approved.stderr);
        served.stop();
        let shown = scratch.host(&["show", &run, "--json"]).expect_code(0).json();
        assert_eq!(shown["status"], "completed");
        scratch.host(&["audit", "--verify"]).expect_code(0);
    }

    fn plugin_kv_data_persists_and_keeps_its_quota(scratch = Scratch::new) {
        let writer = scratch.workflow("kv.toml", &KV_WRITER.replace("OP", "set"));
        scratch.host(&["run", writer.to_str().unwrap()]).expect_code(0);
        let reader = scratch.workflow("kv-get.toml", &KV_WRITER.replace("OP", "get"));
        let run = scratch
            .host(&["run", reader.to_str().unwrap(), "--json"])
            .expect_code(0)
            .json();
        let shown = scratch
            .host(&["show", run["run"].as_str().unwrap(), "--json"])
            .expect_code(0)
            .json();
        assert_eq!(shown["steps"]["write"]["output"]["ok"], "hello");
    }
}

#[test]
fn runs_move_from_the_embedded_store_to_postgres_and_back_unchanged() {
    let scratch = Scratch::new();
    let writer = scratch.workflow("kv.toml", &KV_WRITER.replace("OP", "set"));
    scratch
        .host(&["run", writer.to_str().unwrap()])
        .expect_code(0);
    let runs: Vec<String> = (0..2).map(|_| scratch.start_note_run()).collect();
    scratch
        .host(&["approve", &format!("{}/review", runs[0])])
        .expect_code(0);
    let file = scratch.path().join("embedded.jsonl");
    scratch
        .host(&["store", "export", "--to", file.to_str().unwrap()])
        .expect_code(0);

    let url = baton_tests::postgres().database();
    let on_pg = |args: &[&str]| {
        let mut all = vec!["--store", url.as_str()];
        all.extend_from_slice(args);
        scratch.host(&all)
    };
    on_pg(&["store", "import", file.to_str().unwrap()]).expect_code(0);
    on_pg(&["audit", "--verify"]).expect_code(0);
    assert_eq!(
        on_pg(&["inbox", "--json"]).expect_code(0).json(),
        scratch.host(&["inbox", "--json"]).expect_code(0).json()
    );
    // The waiting run is decided on PostgreSQL, and its chain goes on from the
    // embedded store's.
    on_pg(&["approve", &format!("{}/review", runs[1])]).expect_code(0);
    on_pg(&["audit", "--verify"]).expect_code(0);

    let back = scratch.path().join("postgres.jsonl");
    on_pg(&["store", "export", "--to", back.to_str().unwrap()]).expect_code(0);
    let moved = scratch.path().join("moved");
    scratch
        .host(&[
            "--state",
            moved.to_str().unwrap(),
            "store",
            "import",
            back.to_str().unwrap(),
        ])
        .expect_code(0);
    let verified = json_on(&scratch, &moved, &["audit", "--verify", "--json"], 0);
    assert_eq!(verified["runs"], 3);
    let listed = json_on(&scratch, &moved, &["runs", "--json"], 0);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "completed"),
        "{listed}"
    );
}

#[test]
fn an_unreachable_postgres_store_is_named_without_its_password() {
    let scratch = Scratch::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://baton:hunter2@127.0.0.1:{closed}/baton");
    let out = scratch.host(&["--store", &url, "runs"]);
    out.expect_code(1);
    assert!(
        out.stderr
            .contains(&format!("postgres://baton:***@127.0.0.1:{closed}/baton"))
            && !out.stderr.contains("hunter2")
            && out.stderr.contains("check that the server runs"),
        "{}",
        out.stderr
    );
    let not_a_url = scratch.host(&["--store", "mysql://x@y/z", "runs"]);
    not_a_url.expect_code(2).stderr_has("not a PostgreSQL URL");
}

/// `host ARGS...` in the background, on this scratch's store, its output kept.
fn spawn(scratch: &Scratch, args: &[&str]) -> std::process::Child {
    scratch
        .command(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start host")
}

/// Waits for `child` to exit by itself (at most `limit`); its stderr.
fn finished(mut child: std::process::Child, limit: std::time::Duration) -> String {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            assert!(status.success(), "{status}: {stderr}");
            return stderr;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn workers_drive_queued_runs_to_their_gates_each_run_once() {
    let scratch = Scratch::on_postgres();
    let workflow = scratch.workflow("note.toml", NOTE_WORKFLOW);
    let mut queued = Vec::new();
    for _ in 0..8 {
        let out = scratch
            .host(&["run", workflow.to_str().unwrap(), "--enqueue", "--json"])
            .expect_code(0)
            .json();
        assert_eq!(out["status"], "queued");
        queued.push(out["run"].as_str().unwrap().to_string());
    }
    let listed = scratch.host(&["runs", "--json"]).expect_code(0).json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "running"),
        "{listed}"
    );
    let workers: Vec<_> = (0..2)
        .map(|_| {
            spawn(
                &scratch,
                &[
                    "worker",
                    "--until-idle",
                    "--poll",
                    "100ms",
                    "--concurrency",
                    "3",
                ],
            )
        })
        .collect();
    let said: Vec<String> = workers
        .into_iter()
        .map(|w| finished(w, std::time::Duration::from_secs(120)))
        .collect();
    let inbox = scratch.host(&["inbox", "--json"]).expect_code(0).json();
    assert_eq!(inbox.as_array().unwrap().len(), 8, "{inbox}\n{said:?}");
    // Each run was driven once: one start of its step, by one of the workers.
    for run in &queued {
        let audit = scratch.host(&["audit", run, "--jsonl"]);
        audit.expect_code(0);
        assert_eq!(
            audit.stdout.matches("\"step_started\"").count(),
            1,
            "{}",
            audit.stdout
        );
        let reports = said
            .iter()
            .filter(|s| s.contains(&format!("run {run} (note): waits for 1 decision")))
            .count();
        assert_eq!(reports, 1, "{said:?}");
    }
    for run in &queued {
        scratch
            .host(&["approve", &format!("{run}/review")])
            .expect_code(0);
    }
    scratch.host(&["audit", "--verify"]).expect_code(0);
}

const SLOW_STEP: &str = r#"
name = "slow"
[plugins.slow]
source = "{hostile}"
config = { mode = "slow", millis = "3000" }
limits = { timeout = "60s" }

[[steps]]
id = "work"
uses = "slow"
input = { note = "pay the invoice" }

[[steps]]
id = "review"
approve = "work"
title = "Keep this note?"
"#;

#[test]
fn a_run_whose_driver_was_killed_is_taken_over_once_its_lease_runs_out() {
    let scratch = Scratch::on_postgres();
    let workflow = scratch.workflow("slow.toml", SLOW_STEP);
    let mut driver = spawn(
        &scratch,
        &["run", workflow.to_str().unwrap(), "--lease", "1s"],
    );
    // Kill it in the middle of its step (compiling the plugin first may take a
    // while on a machine busy with other tests).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let run = loop {
        let listed = scratch.host(&["runs", "--json"]).json();
        if let Some(run) = listed.as_array().and_then(|runs| runs.first()) {
            let run = run["id"].as_str().unwrap().to_string();
            let shown = scratch.host(&["show", &run, "--json"]).json();
            if shown["steps"]["work"]["status"] == "running" {
                break run;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started its step"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    driver.kill().unwrap();
    driver.wait().unwrap();
    let worker = spawn(
        &scratch,
        &["worker", "--until-idle", "--poll", "200ms", "--lease", "1s"],
    );
    let said = finished(worker, std::time::Duration::from_secs(60));
    assert!(
        said.contains(&format!("run {run} (slow): waits for 1 decision")),
        "{said}"
    );
    let shown = scratch
        .host(&["show", &run, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(shown["status"], "waiting");
    assert_eq!(shown["steps"]["work"]["attempts"], 2, "{shown}");
    scratch.host(&["audit", "--verify"]).expect_code(0);
}

/// Polls `host inbox --json` until it lists `count` decisions (at most `limit`).
fn wait_for_decisions(scratch: &Scratch, count: usize, limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let inbox = scratch.host(&["inbox", "--json"]);
        if inbox.code == Some(0) && inbox.json().as_array().map(Vec::len) == Some(count) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{count} decisions never came: {}{}",
            inbox.stdout,
            inbox.stderr
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_worker_carries_on_after_postgres_restarts() {
    let server = baton_tests::Postgres::dedicated();
    let scratch = Scratch::on_database(server.database());
    let workflow = scratch.workflow("note.toml", NOTE_WORKFLOW);
    let enqueue = || {
        scratch
            .host(&["run", workflow.to_str().unwrap(), "--enqueue"])
            .expect_code(0);
    };
    (0..3).for_each(|_| enqueue());
    let mut worker = spawn(&scratch, &["worker", "--poll", "200ms", "--lease", "2s"]);
    wait_for_decisions(&scratch, 3, std::time::Duration::from_secs(60));
    server.restart();
    (0..3).for_each(|_| enqueue());
    wait_for_decisions(&scratch, 6, std::time::Duration::from_secs(90));
    // SIGTERM: it stops once its runs stop.
    let _ = std::process::Command::new("kill")
        .arg(worker.id().to_string())
        .status();
    let status = worker.wait().unwrap();
    assert!(status.success(), "{status}");
    scratch.host(&["audit", "--verify"]).expect_code(0);
}

#[test]
fn the_host_configuration_can_name_the_shared_store() {
    let url = baton_tests::postgres().database();
    let scratch = Scratch::new();
    scratch.host_config(&format!("[store]\nurl = \"{url}\"\n"));
    let run = scratch.start_note_run();
    // The run is in the database, not in the state directory.
    let shared = Scratch::on_database(url);
    let listed = shared.host(&["runs", "--json"]).expect_code(0).json();
    assert_eq!(listed[0]["id"], run.as_str(), "{listed}");
    assert!(!scratch.state_dir().join("conf").exists());
    // A variable that is not set is named, with the file and the field.
    scratch.host_config("[store]\nurl_env = \"BATON_TEST_NO_SUCH_URL\"\n");
    scratch
        .host(&["runs"])
        .expect_code(2)
        .stderr_has("config.toml: store.url_env: BATON_TEST_NO_SUCH_URL is not set");
}

#[test]
fn a_server_on_a_shared_store_drives_the_queued_runs_nobody_holds() {
    let scratch = Scratch::on_postgres();
    let workflow = scratch.workflow("note.toml", NOTE_WORKFLOW);
    for _ in 0..3 {
        scratch
            .host(&["run", workflow.to_str().unwrap(), "--enqueue"])
            .expect_code(0);
    }
    // No worker runs: the server takes them up when it starts.
    let mut serve = spawn(&scratch, &["serve", "--bind", "127.0.0.1:0"]);
    wait_for_decisions(&scratch, 3, std::time::Duration::from_secs(60));
    let _ = std::process::Command::new("kill")
        .arg(serve.id().to_string())
        .status();
    assert!(serve.wait().unwrap().success());
    // Every run was driven to its gate; none is left running.
    let runs = scratch.host(&["runs", "--json"]).expect_code(0).json();
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "waiting"),
        "{runs}"
    );
}
