//! The audit trail: `host audit` prints and exports a run's log with its hash chain,
//! and `host audit --verify` finds a log that was changed on disk.

use baton_tests::{NOTE_WORKFLOW, Scratch};
use serde_json::Value;

/// A completed run: started, drafted, gated, approved.
fn completed_run(scratch: &Scratch) -> String {
    let workflow = scratch.workflow("note.toml", NOTE_WORKFLOW);
    let out = scratch
        .host(&["run", workflow.to_str().unwrap(), "--json", "--as", "ana"])
        .expect_code(3)
        .json();
    let decision = out["decisions"][0]["request"]["id"].as_str().unwrap();
    scratch
        .host(&["approve", decision, "--as", "ben"])
        .expect_code(0);
    out["run"].as_str().unwrap().to_string()
}

#[test]
fn a_run_is_exported_with_a_hash_chain_that_verifies() {
    let scratch = Scratch::new();
    let run = completed_run(&scratch);
    let lines: Vec<Value> = scratch
        .host(&["audit", &run, "--jsonl"])
        .expect_code(0)
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(lines.len() >= 6, "{lines:?}");
    assert_eq!(lines[0]["event"]["event"], "run_started");
    for pair in lines.windows(2) {
        assert_eq!(pair[1]["prev"], pair[0]["hash"], "{pair:?}");
        assert_eq!(pair[1]["version"], pair[0]["version"].as_u64().unwrap() + 1);
    }
    // Who or what caused each event.
    let by = |event: &str| -> Vec<&str> {
        lines
            .iter()
            .filter(|l| l["event"]["event"] == event)
            .map(|l| l["by"].as_str().unwrap())
            .collect()
    };
    assert_eq!(by("run_started"), ["ana"]);
    assert_eq!(by("step_started"), ["plugin:echo"]);
    assert_eq!(by("step_completed"), ["plugin:echo"]);
    assert_eq!(by("gate_opened"), ["baton"]);
    assert_eq!(by("decision_made"), ["ben"]);

    let text = scratch.host(&["audit", &run]);
    text.expect_code(0);
    assert_eq!(text.stdout.lines().count(), lines.len());
    assert!(
        text.stdout.contains("decision_made   ben"),
        "{}",
        text.stdout
    );
    let verify = scratch.host(&["audit", "--verify"]);
    verify.expect_code(0);
    assert!(
        verify.stdout.contains("verified 1 runs, ")
            && verify.stdout.contains("every chain is intact"),
        "{}",
        verify.stdout
    );
}

#[test]
fn a_log_changed_on_disk_fails_verification_naming_the_first_broken_link() {
    let scratch = Scratch::new();
    let run = completed_run(&scratch);
    let untouched = completed_run(&scratch);
    let version = {
        // Rewrite the drafted note in place, as someone with the files might.
        let db = sled::open(scratch.state_dir()).unwrap();
        let log = db.open_tree("log").unwrap();
        let (key, entry) = log
            .scan_prefix(run.as_bytes())
            .map(|e| e.unwrap())
            .find(|(_, bytes)| String::from_utf8_lossy(bytes).contains("pay the invoice"))
            .expect("the step output is in the log");
        let version = u64::from_be_bytes(key[run.len()..].try_into().unwrap());
        let forged = String::from_utf8(entry.to_vec())
            .unwrap()
            .replace("pay the invoice", "pay the attacker");
        log.insert(key, forged.as_bytes()).unwrap();
        db.flush().unwrap();
        version
    };
    let report = scratch.host(&["audit", "--verify"]);
    report.expect_code(1);
    assert!(
        report.stdout.contains(&format!(
            "run {run}: broken at entry {}: entry {} does not link to entry {version}",
            version + 1,
            version + 1
        )),
        "{}",
        report.stdout
    );
    assert!(!report.stdout.contains(&untouched), "{}", report.stdout);
    assert!(report.stdout.contains("1 of 2 runs have a broken chain"));
    let json = scratch
        .host(&["audit", "--verify", "--json"])
        .expect_code(1)
        .json();
    assert_eq!(json["broken"][0]["run"], run.as_str());
    assert_eq!(json["runs"], 2);
}
