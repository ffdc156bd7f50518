//! `host stats` on a history made through the CLI: the counts per ending, the share
//! of steps that needed a person, and the auto_approve suggestion after 20 approvals
//! as proposed in a row.

use baton_tests::{NOTE_WORKFLOW, Scratch};

#[test]
fn stats_count_a_known_history_and_suggest_auto_approve_after_twenty_in_a_row() {
    let scratch = Scratch::new();
    let note = scratch.workflow("note.toml", NOTE_WORKFLOW);
    let trusted = scratch.workflow(
        "trusted.toml",
        &(NOTE_WORKFLOW.replace("name = \"note\"", "name = \"trusted\"")
            + "auto_approve = \"true\"\n"),
    );
    let start = |workflow: &std::path::Path, code: i32| -> String {
        let out = scratch
            .host(&["run", workflow.to_str().unwrap(), "--json"])
            .expect_code(code)
            .json();
        out["decisions"][0]["request"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // One rejection, then 20 approvals as proposed, then one left waiting.
    let first = start(&note, 3);
    scratch
        .host(&["reject", &first, "--reason", "not now"])
        .expect_code(1);
    for _ in 0..20 {
        let decision = start(&note, 3);
        scratch
            .host(&["approve", &decision, "--as", "ana"])
            .expect_code(0);
    }
    start(&note, 3);
    // Another workflow whose gate approves itself.
    start(&trusted, 0);

    let all = scratch.host(&["stats", "--json"]).expect_code(0).json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    let note_stats = all.iter().find(|w| w["workflow"] == "note").unwrap();
    assert_eq!(note_stats["runs"], 22);
    assert_eq!(note_stats["steps"], 44, "a task and a gate per run");
    assert_eq!(note_stats["needed_human"], 22);
    let gate = &note_stats["gates"][0];
    assert_eq!(gate["gate"], "review");
    assert_eq!(gate["decisions"], 21);
    assert_eq!(gate["approved_as_proposed"], 20);
    assert_eq!(gate["rejected"], 1);
    assert_eq!(gate["pending"], 1);
    assert_eq!(gate["auto_approved"], 0);
    assert!(gate["median_ms_to_decision"].is_u64());
    assert_eq!(gate["approved_as_proposed_streak"], 20);
    assert_eq!(gate["suggestions"][0]["kind"], "auto_approve");

    let trusted_stats = all.iter().find(|w| w["workflow"] == "trusted").unwrap();
    assert_eq!(trusted_stats["needed_human"], 0);
    assert_eq!(trusted_stats["gates"][0]["auto_approved"], 1);

    let text = scratch.host(&["stats", "--workflow", "note"]);
    text.expect_code(0);
    assert!(
        text.stdout
            .starts_with("workflow note: 22 runs, 44 steps, 22 needed a person (50%)"),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains("trusted"), "{}", text.stdout);
    assert!(
        text.stdout
            .contains("the last 20 decisions at gate review were all approved as proposed"),
        "{}",
        text.stdout
    );
    let none = scratch.host(&["stats", "--workflow", "nothing"]);
    assert_eq!(none.stdout.trim(), "no runs of workflow \"nothing\" yet");
}
