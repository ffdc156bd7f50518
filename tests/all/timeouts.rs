//! Gate timeouts through the CLI, with the clock moved by `BATON_NOW=+DURATION`:
//! every command applies what has expired when it opens the store, `host expire`
//! does it for cron, and the log says the timeout decided.

use baton_tests::{NOTE_WORKFLOW, Scratch};
use serde_json::Value;

/// The note workflow with a timeout on its gate; returns the waiting run's decision id.
fn waiting_run(scratch: &Scratch, name: &str, timeout: &str, on_timeout: &str) -> String {
    let text = format!("{NOTE_WORKFLOW}timeout = \"{timeout}\"\non_timeout = \"{on_timeout}\"\n");
    let workflow = scratch.workflow(name, &text);
    let out = scratch
        .host(&["run", workflow.to_str().unwrap(), "--json"])
        .expect_code(3)
        .json();
    out["decisions"][0]["request"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn decided_by(scratch: &Scratch, run: &str) -> Vec<(String, Value)> {
    scratch
        .decisions_made(run)
        .into_iter()
        .map(|entry| {
            (
                entry["by"].as_str().unwrap().to_string(),
                entry["event"].clone(),
            )
        })
        .collect()
}

on_both_stores! {
    fn any_command_applies_an_expired_approve_default_and_the_run_continues(scratch = Scratch::new) {
    let decision = waiting_run(&scratch, "note.toml", "48h", "approve_default");
    let run = decision.split('/').next().unwrap();

    let early = scratch.host_with_env(&["inbox", "--ids"], &[("BATON_NOW", "+47h")]);
    early.expect_code(0);
    assert_eq!(early.stdout.trim(), decision, "not due yet");
    assert!(!early.stderr.contains("expired"), "{}", early.stderr);

    let late = scratch.host_with_env(&["inbox", "--ids"], &[("BATON_NOW", "+49h")]);
    late.expect_code(0);
    assert_eq!(late.stdout.trim(), "", "the decision left the inbox");
    assert!(
        late.stderr.contains(&format!(
            "expired {decision} (on_timeout approve_default) of workflow note: the run is completed"
        )),
        "{}",
        late.stderr
    );
    let show = scratch.host(&["show", run, "--json"]).expect_code(0).json();
    assert_eq!(show["status"], "completed");
    let decisions = decided_by(&scratch, run);
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert_eq!(decisions[0].0, "timeout");
    assert_eq!(decisions[0].1["outcome"]["outcome"], "expired");
    assert_eq!(decisions[0].1["outcome"]["action"], "approve_default");
}
}

on_both_stores! {
    fn host_expire_rejects_what_is_due_and_a_late_approval_is_refused(scratch = Scratch::new) {
    let soon = waiting_run(&scratch, "soon.toml", "1h", "reject");
    let later = waiting_run(&scratch, "later.toml", "72h", "reject");

    let nothing = scratch.host(&["expire"]);
    nothing.expect_code(0);
    assert_eq!(nothing.stdout.trim(), "no decisions due to expire");

    let swept = scratch
        .host_with_env(&["expire", "--json"], &[("BATON_NOW", "+2h")])
        .expect_code(0)
        .json();
    let swept = swept.as_array().unwrap();
    assert_eq!(swept.len(), 1, "only the 1h gate is due: {swept:?}");
    assert_eq!(swept[0]["expired"][0]["decision"], soon.as_str());
    assert_eq!(swept[0]["expired"][0]["on_timeout"], "reject");
    assert_eq!(swept[0]["status"], "rejected");

    // The operator comes back to it too late.
    scratch
        .host_with_env(&["approve", &soon], &[("BATON_NOW", "+3h")])
        .expect_code(2)
        .stderr_has("expired")
        .stderr_has("timeout");
    // The other run still waits, and approving it works.
    let inbox = scratch.host_with_env(&["inbox", "--ids"], &[("BATON_NOW", "+3h")]);
    assert_eq!(inbox.stdout.trim(), later);
    scratch
        .host_with_env(&["approve", &later], &[("BATON_NOW", "+3h")])
        .expect_code(0);
    let run = later.split('/').next().unwrap();
    assert_eq!(decided_by(&scratch, run)[0].0, "tester");
}
}

on_both_stores! {
    fn an_expiry_whose_workflow_changed_is_recorded_and_the_run_waits_for_resume(scratch = Scratch::new) {
    let decision = waiting_run(&scratch, "note.toml", "1h", "approve_default");
    let run = decision.split('/').next().unwrap();
    // Someone edits the workflow while the decision waits.
    let path = scratch.path().join("note.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("# edited\n{text}")).unwrap();

    let swept = scratch.host_with_env(&["expire"], &[("BATON_NOW", "+2h")]);
    swept.expect_code(1);
    assert!(
        swept.stdout.contains("the run could not continue")
            && swept.stdout.contains("changed")
            && swept.stdout.contains(&format!("host resume {run}")),
        "{}",
        swept.stdout
    );
    // The expiry is on record; nothing is lost, and nothing expires twice.
    assert_eq!(decided_by(&scratch, run).len(), 1);
    let again = scratch.host_with_env(&["expire"], &[("BATON_NOW", "+2h")]);
    again.expect_code(0);
    assert_eq!(again.stdout.trim(), "no decisions due to expire");
    scratch
        .host(&["resume", run, "--allow-changed"])
        .expect_code(0);
}
}

#[test]
fn a_bad_clock_override_is_named() {
    let scratch = Scratch::new();
    scratch
        .host_with_env(&["expire"], &[("BATON_NOW", "tomorrow")])
        .expect_code(2)
        .stderr_has("BATON_NOW=\"tomorrow\"")
        .stderr_has("+49h");
}
