//! The system learns which decisions still need a person (issue 23): spot checks of
//! auto-approved decisions, the suspension they cause when they disagree (told in
//! the inbox, `host stats` and the webhook), resuming it, outcomes reported after a
//! decision, and the weekly human/agent ratio, on the ads audit with a moving clock.

use baton_tests::Scratch;
use baton_tests::model_server::{ModelServer, Reply};
use serde_json::{Value, json};

const WEEK_1: &str = "2026-11-02T10:00:00Z";
const WEEK_2: &str = "2026-11-09T10:00:00Z";
const WEEK_3: &str = "2026-11-16T10:00:00Z";
const KIND: &str = "negative-keyword/monitor";

/// Runs the audit at `now`; returns the run id and the pending decisions' requests.
fn audit_at(scratch: &Scratch, workflow: &std::path::Path, now: &str) -> (String, Vec<Value>) {
    let account = baton_tests::workspace_root().join("examples/ads-account.json");
    let out = scratch
        .host_at(
            now,
            &[
                "run",
                workflow.to_str().unwrap(),
                "--input",
                account.to_str().unwrap(),
                "--json",
            ],
        )
        .expect_code(3)
        .json();
    let pending = out["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["request"].clone())
        .collect();
    (out["run"].as_str().unwrap().to_string(), pending)
}

/// Approves every pending decision at `now`, by `who`.
fn approve_all(scratch: &Scratch, now: &str, who: &str) -> usize {
    let ids = scratch
        .host_at(now, &["inbox", "--ids"])
        .expect_code(0)
        .stdout
        .clone();
    for id in ids.lines() {
        let code = scratch.host_at(now, &["approve", id, "--as", who]).code;
        assert!(code == Some(0) || code == Some(3), "{id}: {code:?}");
    }
    ids.lines().count()
}

on_both_stores! {
    fn spot_checks_that_disagree_suspend_a_kinds_auto_approval_until_it_is_resumed(scratch = Scratch::new) {
        let hook = ModelServer::start(vec![Reply::json(json!({ "ok": true }))]);
        let base = hook.base_url();
        let workflow = scratch.spot_checked_ads_audit(Some(&base));

        // Week 1: the four negative keywords are auto-approved, each drawn for review.
        let (first, pending) = audit_at(&scratch, &workflow, WEEK_1);
        assert_eq!(pending.len(), 9, "13 findings, 4 decided by the rule");
        assert!(pending.iter().all(|r| r["kind"] != KIND));
        let inbox = scratch.host_at(WEEK_1, &["inbox"]).expect_code(0).stdout.clone();
        assert!(
            inbox.contains("4 spot checks (decisions the gate auto-approved, drawn for a person to review; a review changes nothing by itself)"),
            "{inbox}"
        );
        let reviews: Vec<String> = inbox
            .lines()
            .filter_map(|l| l.strip_prefix("review "))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        assert_eq!(reviews.len(), 4, "{inbox}");
        assert!(inbox.contains(&format!("[{KIND}]")), "{inbox}");
        assert_eq!(approve_all(&scratch, "2026-11-02T10:05:00Z", "ana"), 9);

        // Two answers: not enough to judge; the third disagreement tips it.
        let said = scratch
            .host_at("2026-11-03T09:00:00Z", &["spot-check", &reviews[0], "--agree", "--as", "li"])
            .expect_code(0)
            .stdout
            .clone();
        assert!(said.contains("you agree with the auto-approval; it changes nothing the run did"), "{said}");
        scratch
            .host_at("2026-11-03T09:01:00Z", &["spot-check", &reviews[1], "--reject", "--note", "this term converts", "--as", "li"])
            .expect_code(0);
        let again = scratch.host_at("2026-11-03T09:01:30Z", &["spot-check", &reviews[1], "--agree"]);
        again.expect_code(2);
        assert!(again.stderr.contains("was already answered by li"), "{}", again.stderr);
        let tipped = scratch
            .host_at("2026-11-03T09:02:00Z", &["spot-check", &reviews[2], "--reject", "--as", "li"])
            .expect_code(0)
            .stdout
            .clone();
        let message = format!(
            "auto-approval of ads-audit/review kind {KIND} is suspended: spot checks agreed with 1 of 3 (33%, below the 80% the gate asks)"
        );
        assert!(tipped.contains(&message), "{tipped}");
        assert!(tipped.contains(&format!("host auto-approval resume ads-audit review --kind {KIND}")), "{tipped}");

        // The webhook heard of it.
        let received = hook.received();
        let told: Vec<&Value> = received
            .iter()
            .map(|r| &r.body)
            .filter(|b| b["event"] == "auto_approval_suspended")
            .collect();
        assert_eq!(told.len(), 1, "{received:?}");
        assert_eq!(told[0]["kind"], KIND);
        assert_eq!(told[0]["agreed"], 1);
        assert_eq!(told[0]["checked"], 3);
        assert!(told[0]["text"].as_str().unwrap().contains(&message));

        // The inbox says so, with the one spot check left.
        let inbox = scratch.host_at(WEEK_2, &["inbox"]).expect_code(0).stdout.clone();
        assert!(inbox.starts_with(&format!("AUTO-APPROVAL SUSPENDED: {message}")), "{inbox}");
        assert!(inbox.contains("1 spot check "), "{inbox}");

        // Week 2: the negatives come to people, saying why.
        let (second, pending) = audit_at(&scratch, &workflow, WEEK_2);
        assert_eq!(pending.len(), 13);
        let negatives: Vec<&Value> = pending.iter().filter(|r| r["kind"] == KIND).collect();
        assert_eq!(negatives.len(), 4);
        assert!(negatives.iter().all(|r| r["auto_suspended"].as_str().unwrap().contains("spot checks agreed with 1 of 3")));
        let inbox = scratch.host_at(WEEK_2, &["inbox"]).expect_code(0).stdout.clone();
        assert!(inbox.contains("! comes to you: auto-approval of ads-audit/review kind"), "{inbox}");
        assert_eq!(approve_all(&scratch, "2026-11-09T11:00:00Z", "ana"), 13);

        // Every step of it is in the log, with who did it.
        let audit = scratch.host(&["audit", &first, "--jsonl"]).expect_code(0).stdout.clone();
        let events: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let named = |name: &str| events.iter().filter(|e| e["event"]["event"] == name).count();
        assert_eq!(named("spot_check_requested"), 4);
        assert_eq!(named("spot_checked"), 3);
        assert_eq!(named("auto_approval_suspended"), 1);
        assert!(events.iter().any(|e| e["event"]["event"] == "spot_checked" && e["by"] == "li"
            && e["event"]["answer"]["note"] == "this term converts"));

        // What happened after: two reports on the first audit's decisions.
        let decided = scratch.decisions_made(&first);
        let by_person = decided.iter().find(|e| e["by"] == "ana").unwrap()["event"]["id"].as_str().unwrap().to_string();
        let auto = decided.iter().find(|e| e["by"].as_str().unwrap().starts_with("auto-approve")).unwrap()["event"]["id"].as_str().unwrap().to_string();
        let said = scratch.host_at(WEEK_3, &["outcome", &by_person, "good", "--note", "CPA fell 20%"]).expect_code(0).stdout.clone();
        assert!(said.contains(&format!("recorded: {by_person} went good (CPA fell 20%)")), "{said}");
        scratch.host_at(WEEK_3, &["outcome", &auto, "bad", "--note", "reverted: the term converts"]).expect_code(0);
        let shown = scratch.host(&["show", &first]).expect_code(0).stdout.clone();
        assert!(shown.contains("    spot check: would have decided otherwise by li (this term converts)"), "{shown}");
        assert!(shown.contains("    spot check: agreed by li"), "{shown}");
        assert!(shown.contains("    outcome: good by tester at 2026-11-16T10:00:00Z (CPA fell 20%)"), "{shown}");
        let pending_one = scratch.host_at(WEEK_3, &["inbox", "--ids"]).expect_code(0).stdout.clone();
        assert!(pending_one.trim().is_empty(), "{pending_one}");

        // `host stats`: the suspension, the withdrawal, the outcomes, the weeks.
        let text = scratch.host_at(WEEK_3, &["stats"]).expect_code(0).stdout.clone();
        assert!(text.contains(&format!("SUSPENDED since 2026-11-03T09:02:00Z: {message}")), "{text}");
        assert!(text.contains(&format!("kind {KIND} at gate review: spot checks agreed with the auto-approval 1 of 3 times (33%, below 80%): withdraw the rule")), "{text}");
        assert!(text.lines().any(|l| l.trim_start().starts_with(KIND) && l.contains("1 of 3")), "{text}");
        assert!(text.contains("week of"), "{text}");
        let stats = scratch.host_at(WEEK_3, &["stats", "--json"]).expect_code(0).json();
        let w = &stats[0];
        assert_eq!(w["suspended"][0]["kind"], KIND);
        let gate = &w["gates"][0];
        assert_eq!(gate["spot_checks"], json!({ "drawn": 4, "answered": 3, "agreed": 1 }));
        let outcomes = &gate["outcomes"];
        assert_eq!(outcomes["default"], json!({ "good": 1, "bad": 0 }));
        assert_eq!(outcomes["auto_approved"], json!({ "good": 0, "bad": 1 }));
        let weeks = w["weeks"].as_array().unwrap();
        assert_eq!(weeks.len(), 2, "{weeks:?}");
        let field = |i: usize, k: &str| weeks[i][k].as_u64().unwrap();
        assert_eq!((field(0, "by_people"), field(0, "auto_approved"), field(0, "spot_checks")), (9, 4, 3));
        assert_eq!((field(1, "by_people"), field(1, "auto_approved"), field(1, "spot_checks")), (13, 0, 0));
        // Steps by plugins: the audit and one export per approved finding, each week.
        assert_eq!(field(0, "by_plugins"), 1 + 13);
        assert_eq!(field(1, "by_plugins"), 1 + 13);
        assert_eq!(
            weeks.iter().map(|w| w["by_people"].as_u64().unwrap()).sum::<u64>(),
            gate["decisions"].as_u64().unwrap() - gate["auto_approved"].as_u64().unwrap()
        );
        // --since: only the second week (and its spot checks none).
        let recent = scratch.host_at(WEEK_3, &["stats", "--since", "10d", "--json"]).expect_code(0).json();
        let recent_weeks = recent[0]["weeks"].as_array().unwrap();
        assert_eq!(recent_weeks.len(), 2, "from the week 10 days back to the last: {recent_weeks:?}");
        assert_eq!(recent_weeks.iter().map(|w| w["by_people"].as_u64().unwrap()).sum::<u64>(), 13);
        // Runs active in the stretch: the second, and the first (its outcomes).
        assert_eq!(recent[0]["runs"], 2);

        // Resumed, the rule decides again; the old disagreements no longer count.
        let list = scratch.host(&["auto-approval", "list"]).expect_code(0).stdout.clone();
        assert!(list.starts_with("SUSPENDED since 2026-11-03T09:02:00Z"), "{list}");
        let resumed = scratch
            .host_at(WEEK_3, &["auto-approval", "resume", "ads-audit", "review", "--kind", KIND, "--as", "maria"])
            .expect_code(0)
            .stdout
            .clone();
        assert!(resumed.contains(&format!("auto-approval of ads-audit/review kind {KIND} resumed")), "{resumed}");
        let unknown = scratch.host(&["auto-approval", "resume", "ads-audit", "review", "--kind", "nothing/info"]);
        unknown.expect_code(2);
        assert!(unknown.stderr.contains("no suspended auto-approval of ads-audit/review kind nothing/info; none is suspended"), "{}", unknown.stderr);
        let (_, pending) = audit_at(&scratch, &workflow, WEEK_3);
        assert_eq!(pending.len(), 9);
        let inbox = scratch.host_at(WEEK_3, &["inbox"]).expect_code(0).stdout.clone();
        assert!(!inbox.contains("SUSPENDED"), "{inbox}");
        // The last spot check of the first audit is still there, and answering it
        // (disagreeing) counts only from the resumption on: one is not enough.
        let left = reviews[3].clone();
        let out = scratch.host_at(WEEK_3, &["spot-check", &left, "--reject"]).expect_code(0).stdout.clone();
        assert!(!out.contains("suspended"), "{out}");
        let _ = second;
    }
}
