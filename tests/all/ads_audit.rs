//! The ads audit example end to end, through the CLI: the auditor's findings on the
//! sample account, one decision per finding, and a change set holding exactly the
//! approved rows, written into the directory the workflow grants.

use baton_tests::{Scratch, workspace_root};
use serde_json::{Value, json};

const COLUMNS: &str = "Campaign,Campaign Status,Budget,Bid Strategy Type,Ad Group,Keyword,Criterion Type,Max CPC,Status,Networks";

/// A change row as the CSV writes it (the sample's cells hold no commas or quotes).
fn csv_line(row: &Value) -> String {
    COLUMNS
        .split(',')
        .map(|column| {
            let cell = row[column].as_str().unwrap_or("");
            assert!(!cell.contains([',', '"']), "{cell}");
            cell.to_string()
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn the_ads_audit_flags_what_a_specialist_would_and_exports_exactly_the_approved_changes() {
    let scratch = Scratch::new();
    let out = scratch.start_ads_audit(&workspace_root().join("examples/ads-account.json"));
    let run = out["run"].as_str().unwrap().to_string();
    let decisions = out["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 13, "one decision per finding");

    // Critical first, with the evidence in numbers.
    let requests: Vec<&Value> = decisions.iter().map(|d| &d["request"]).collect();
    assert_eq!(requests[0]["severity"], "critical");
    assert_eq!(
        requests[0]["title"],
        "Critical: Competitors spent $889.00 with no conversions"
    );
    assert_eq!(
        requests[1]["title"],
        "Critical: \"hiking boots\" spent $641.84 with no conversions"
    );
    // A reason in words, the numbers behind it, and why this severity: the money at
    // risk against the account's $25 target.
    assert_eq!(
        requests[1]["reason"],
        "It spent $641.84, 25.7 times the $25.00 target, without one conversion."
    );
    assert!(
        requests[1]["context"]["evidence"]
            .as_str()
            .unwrap()
            .contains("452 clicks, 9800 impressions, $641.84 spent, 0 conversions"),
        "{}",
        requests[1]["context"]
    );
    assert_eq!(
        requests[1]["context"]["severity"],
        "Critical: $641.84 at risk, 25.7 times the $25.00 target (at least 10 times)"
    );
    let titles: Vec<&str> = requests
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    for expected in [
        "High priority: Brand - Northwind loses 38% of its impressions to budget at a good cost per conversion",
        "High priority: Generic - Hiking Boots runs 8 broad match keywords on MANUAL_CPC bidding",
        "High priority: \"camping tent\" pays $100.00 per conversion",
        "Monitor: Add \"free hiking boots\" as a negative keyword",
        "Monitor: Add \"used camping gear\" as a negative keyword",
        "Monitor: Remarketing - Tents also shows on the Display Network",
        "Monitor: Rain Gear runs on search partners at $45.00 per conversion",
        "Monitor: \"waterproof trail shoes\" has a quality score of 3/10",
    ] {
        assert!(
            titles.contains(&expected),
            "{expected:?} not in {titles:#?}"
        );
    }
    let severities: Vec<&str> = requests
        .iter()
        .map(|r| r["severity"].as_str().unwrap())
        .collect();
    let mut sorted = severities.clone();
    sorted.sort_by_key(|s| ["critical", "high", "monitor"].iter().position(|x| x == s));
    assert_eq!(severities, sorted, "most urgent first");

    // The inbox agrees: critical first.
    let inbox = scratch
        .host(&["inbox", "--ids"])
        .expect_code(0)
        .stdout
        .clone();
    assert_eq!(
        inbox.lines().next(),
        Some(format!("{run}/review/0").as_str())
    );

    // Decide: defaults, an alternative, an edit (an invalid one first), rejections.
    let id = |i: usize| format!("{run}/review/{i}");
    let mut approved: Vec<Value> = Vec::new();
    let choices = |i: usize| requests[i]["choices"].as_array().unwrap().clone();
    let csv_path = scratch.path().join("changes/431-552-9087-2026-10-31.csv");
    let rows_of = |approved: &[Value]| -> Vec<String> {
        let mut expected = vec![COLUMNS.to_string()];
        for choice in approved {
            for row in choice["changes"].as_array().unwrap() {
                expected.push(csv_line(row));
            }
        }
        expected
    };
    let written = || -> Vec<String> {
        std::fs::read_to_string(&csv_path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    // An approval executes at once: the change set holds it before the next decision.
    scratch
        .host(&["approve", &id(0)])
        .expect_code(3)
        .stdout_has(
            "Approved: Pause the campaign Competitors. 12 decisions left in this ads-audit run.",
        )
        .stdout_has("done        export[0]");
    approved.push(choices(0)[0].clone());
    assert_eq!(written(), rows_of(&approved));
    scratch
        .host(&["approve", &id(1), "--choice", "1"])
        .expect_code(3);
    approved.push(choices(1)[1].clone());
    // A later decision says what that approval did to what it touches, and marks the
    // alternative that would contradict it: "hiking boots" was replaced by its exact
    // match; moving the campaign's broad keywords to phrase would bring it back.
    let keyword = "campaign:Generic - Hiking Boots/ad group:Boots - broad/keyword:hiking boots";
    scratch
        .host(&["inbox"])
        .expect_code(0)
        .stdout_has(&format!("  ! Approved earlier in this run: Replace it with [hiking boots] (exact match) to keep only the searches that name it (on {keyword})\n"))
        .stdout_has(&format!("1 (alternative): Keep manual bidding and move its 8 broad keywords to phrase match  [! touches {keyword}, which an earlier decision changed]\n"));
    scratch
        .host(&[
            "reject",
            &id(2),
            "--reason",
            "testing manual bids this month",
        ])
        .expect_code(3)
        .stdout_has("skipped     export[2]          review[2] was rejected");
    assert_eq!(written(), rows_of(&approved), "a rejection adds nothing");
    let bad = scratch.file(
        "bad.json",
        json!({"action": "Raise the budget", "changes": [{"Campaign": "Brand - Northwind", "Budget": "lots"}]})
            .to_string(),
    );
    scratch
        .host(&["approve", &id(3), "--edit", bad.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("Budget");
    let mine = json!({"action": "Raise the budget to $90", "changes": [{"Campaign": "Brand - Northwind", "Budget": "90.00"}]});
    let good = scratch.file("good.json", mine.to_string());
    scratch
        .host(&["approve", &id(3), "--edit", good.to_str().unwrap()])
        .expect_code(3);
    approved.push(mine);
    for i in 4..13 {
        if i == 8 {
            scratch.host(&["reject", &id(i)]).expect_code(3);
            continue;
        }
        let last = i == 12;
        scratch
            .host(&["approve", &id(i)])
            .expect_code(if last { 0 } else { 3 });
        approved.push(choices(i)[0].clone());
    }

    // The change set: the header, then exactly the approved rows, in finding order,
    // as the last approval left it.
    let export = scratch
        .host(&["show", &run, "--step", "export[12]"])
        .expect_code(0)
        .json();
    assert_eq!(export["path"], "/changes/431-552-9087-2026-10-31.csv");
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let expected = rows_of(&approved);
    assert_eq!(csv.lines().collect::<Vec<_>>(), expected);
    assert_eq!(export["rows"], expected.len() - 1);
    assert_eq!(export["actions"].as_array().unwrap().len(), 11);
    // Spot checks a specialist would make on the file itself.
    assert!(csv.contains("\nCompetitors,Paused,,,,,,,,\n"), "{csv}");
    assert!(csv.contains("\nBrand - Northwind,,90.00,,,,,,,\n"), "{csv}");
    assert!(
        csv.contains("\nRemarketing - Tents,,,,,,,,,Google search\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\nGeneric - Hiking Boots,,,,Boots - broad,hiking boots,Exact,,Enabled,\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\nGeneric - Hiking Boots,,,,,hiking boots jobs,Campaign Negative Exact,,,\n"),
        "{csv}"
    );
    assert!(!csv.contains("free hiking boots"), "rejected: {csv}");
    assert!(!csv.contains("Maximize conversions"), "edited: {csv}");
}

#[test]
fn the_changeset_writes_only_where_the_workflow_grants() {
    let scratch = Scratch::new();
    let workflow = scratch.example_workflow("examples/ads-audit/workflow.toml");
    // The granted directory does not exist: refused before anything runs.
    let account = workspace_root().join("examples/ads-account.json");
    scratch
        .host(&[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            account.to_str().unwrap(),
        ])
        .expect_code(2)
        .stderr_has("plugins.changeset.grants.files")
        .stderr_has("is not a directory");
    // Without the grant, the plugin that asks for files does not load.
    let text = std::fs::read_to_string(&workflow).unwrap();
    let ungranted: String = text
        .lines()
        .filter(|l| !l.starts_with("grants = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let ungranted = scratch.file("ungranted.toml", ungranted);
    scratch
        .host(&["run", ungranted.to_str().unwrap(), "--dry-run"])
        .expect_code(2)
        .stderr_has("asks for `files`");
}
