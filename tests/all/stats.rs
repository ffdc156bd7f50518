//! `host stats` on a history made through the CLI: the counts per ending, the share
//! of steps that needed a person, the auto_approve suggestion after 20 approvals as
//! proposed in a row, and per kind of decision on the ads audit.

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

/// The ads audit decided as proposed three times over: `host stats` proposes
/// auto-approval per kind of finding, with its evidence and the rule to paste, never
/// for a critical kind; pasted, the rule decides that kind in the next audit at once.
#[test]
fn on_the_ads_audit_a_kind_earns_auto_approval_and_a_critical_kind_never_does() {
    let scratch = Scratch::new();
    let account = baton_tests::workspace_root().join("examples/ads-account.json");
    for _ in 0..3 {
        scratch.start_ads_audit(&account);
        let pending = scratch
            .host(&["inbox", "--ids"])
            .expect_code(0)
            .stdout
            .clone();
        for id in pending.lines() {
            let code = scratch.host(&["approve", id]).code;
            assert!(code == Some(0) || code == Some(3), "{id}: {code:?}");
        }
    }
    let text = scratch
        .host(&["stats", "--suggest-after", "3"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(text.contains("gate review by kind:"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("negative-keyword/monitor")
                && l.split_whitespace().collect::<Vec<_>>()[1..4] == ["12", "12", "12"]),
        "{text}"
    );
    assert!(
        text.contains("wasted-spend/critical") && text.contains("(critical: always a person)"),
        "{text}"
    );
    let rule = "auto_approve = \"kind == 'negative-keyword/monitor'\"";
    assert!(
        text.contains("kind negative-keyword/monitor at gate review: the last 12 decisions since ")
            && text.contains(&format!(
                "(no disagreement ever); to let the gate decide them, put on its step: {rule}"
            )),
        "{text}"
    );
    let suggestions: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "suggestions:")
        .filter(|l| l.starts_with("  - "))
        .collect();
    assert!(!suggestions.is_empty(), "{text}");
    assert!(
        suggestions.iter().all(|s| !s.contains("/critical")),
        "a critical kind is never proposed: {suggestions:#?}"
    );
    let json = scratch
        .host(&["stats", "--suggest-after", "3", "--json"])
        .expect_code(0)
        .json();
    let gate = &json[0]["gates"][0];
    assert!(
        gate["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["rule"] == rule && s["decision_kind"] == "negative-keyword/monitor"),
        "{gate}"
    );

    // Pasted on the gate, the rule decides the negatives of the next audit at once.
    let text = std::fs::read_to_string(scratch.path().join("workflow.toml")).unwrap();
    let kind_line = "kind = \"{{ item.kind }}/{{ item.severity }}\"";
    assert!(text.contains(kind_line));
    let auto = scratch.file(
        "auto.toml",
        text.replace(kind_line, &format!("{kind_line}\n{rule}")),
    );
    let out = scratch
        .host(&[
            "run",
            auto.to_str().unwrap(),
            "--input",
            account.to_str().unwrap(),
            "--json",
        ])
        .expect_code(3)
        .json();
    let waiting: Vec<&str> = out["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["request"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(waiting.len(), 9, "{waiting:?}");
    assert!(
        !waiting.contains(&"negative-keyword/monitor"),
        "{waiting:?}"
    );
    let run = out["run"].as_str().unwrap();
    let auto: Vec<serde_json::Value> = scratch
        .decisions_made(run)
        .into_iter()
        .filter(|e| e["by"] == "auto-approve: kind == 'negative-keyword/monitor'")
        .collect();
    assert_eq!(auto.len(), 4);
}
