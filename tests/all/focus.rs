//! `host focus` driven as a person would: in a real pseudo-terminal (tmux), with
//! keys sent and the screen read back, and a scripted `$EDITOR`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use baton_tests::{Scratch, host_binary, workspace_root};
use serde_json::{Value, json};

/// A tmux server of its own, running one `host focus` in a 110x36 pane.
struct Pane {
    socket: String,
}

impl Pane {
    fn start(scratch: &Scratch, env: &[(&str, &str)]) -> Pane {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let socket = format!(
            "baton-focus-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let mut command = format!(
            "env BATON_STATE={} BATON_CACHE_DIR={} BATON_OPERATOR=tester RUST_BACKTRACE=0",
            quote(&scratch.state_dir()),
            quote(&scratch.cache_dir())
        );
        for (key, value) in env {
            command.push_str(&format!(" {key}={}", quote(Path::new(value))));
        }
        command.push_str(&format!(
            " {} focus; echo EXIT=$?; sleep 600",
            quote(host_binary())
        ));
        let pane = Pane { socket };
        pane.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            "110",
            "-y",
            "36",
            &command,
        ]);
        pane
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .current_dir(workspace_root())
            .output()
            .expect("tmux runs (the focus tests need it: apt-get install tmux)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "main"])
    }

    /// Waits until the screen shows every one of `texts`; returns the screen.
    #[track_caller]
    fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {texts:?}; it shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Keys by tmux name: `Enter`, `Escape`, `1`, `q`.
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend(keys);
        self.tmux(&args);
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "main", "-l", text]);
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

/// Starts the ads audit on `account` and returns its run id (13 decisions wait).
fn ads_run(scratch: &Scratch, account: &Path) -> String {
    let out = scratch.start_ads_audit(account);
    out["run"].as_str().unwrap().to_string()
}

/// An `$EDITOR` that writes the next of `versions` into the file it is given.
fn scripted_editor(scratch: &Scratch, versions: &[String]) -> PathBuf {
    let mut script = String::from("#!/bin/sh\nn=$(cat \"$0.count\" 2>/dev/null || echo 0)\n");
    for (i, version) in versions.iter().enumerate() {
        let file = scratch.file(&format!("edit-{i}.json"), version);
        script.push_str(&format!("[ \"$n\" = {i} ] && cp {} \"$1\"\n", quote(&file)));
    }
    script.push_str("echo $((n + 1)) > \"$0.count\"\n");
    let path = scratch.file("editor.sh", script);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// `(item, outcome, by)` of every decision made in `run`, in log order.
fn decisions(scratch: &Scratch, run: &str) -> Vec<(String, Value, String)> {
    scratch
        .decisions_made(run)
        .into_iter()
        .map(|e| {
            let id = e["event"]["id"].as_str().unwrap();
            (
                id.rsplit('/').next().unwrap().to_string(),
                e["event"]["outcome"].clone(),
                e["by"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn focus_walks_the_inbox_critical_first_and_each_key_decides_at_once() {
    let scratch = Scratch::new();
    let run = ads_run(
        &scratch,
        &workspace_root().join("examples/ads-account.json"),
    );
    let mine = json!({"action": "Raise the budget to $90", "changes": [{"Campaign": "Brand - Northwind", "Budget": "90.00"}]});
    // The editor gets plain fields (TOML), never escaped JSON.
    let editor = scripted_editor(
        &scratch,
        &[
            "action = ".to_string(),
            "action = \"Raise it\"\n[[changes]]\nCampaign = \"Brand - Northwind\"\nBudget = \"lots\"\n"
                .to_string(),
            "action = \"Raise the budget to $90\"\n\n[[changes]]\nCampaign = \"Brand - Northwind\"\nBudget = \"90.00\"\n"
                .to_string(),
        ],
    );
    let pane = Pane::start(&scratch, &[("EDITOR", editor.to_str().unwrap())]);
    let id = |i: u32| format!("{run}/review/{i}");

    // The first decision: position, severity, title, reason, the default read whole
    // (what it does, and the change it makes), the alternatives.
    pane.wait_for(&[
        "1 of 13",
        "[critical] Critical: Competitors spent $889.00 with no conversions",
        "It spent $889.00, 36 times the $25.00 target, without a single conversion",
        "evidence: 508 clicks, $889.00 spent, 0 conversions",
        "severity: Critical: $889.00 at risk, 35.6 times the $25.00 target",
        "Enter  approves the default:",
        "         Pause the campaign Competitors",
        "Campaign: Competitors",
        "Campaign Status: Enabled → Paused",
        "1  Halve its daily budget to $40.00",
    ]);

    // Enter approves the default; the run continues and says where it is.
    pane.keys(&["Enter"]);
    pane.wait_for(&[
        "2 of 13",
        "Approved: Pause the campaign Competitors. 12 decisions left in this ads-audit run.",
        "\"hiking boots\" spent $641.84",
    ]);

    // 1 picks the first alternative.
    pane.keys(&["1"]);
    pane.wait_for(&[
        "3 of 13",
        "Approved an alternative: ",
        "11 decisions left in this ads-audit run.",
    ]);

    // r rejects, with a reason typed in.
    pane.keys(&["r"]);
    pane.wait_for(&["Reason (optional)"]);
    pane.type_text("testing manual bids");
    pane.keys(&["Enter"]);
    pane.wait_for(&[
        "4 of 13",
        "Rejected: ",
        "10 decisions left in this ads-audit run.",
        "Generic - Hiking Boots runs 8 broad match keywords",
        // The exact-match replacement approved two decisions ago touches "hiking
        // boots", which this one's alternative would move to phrase match.
        "! Approved earlier in this run: Replace it with [hiking boots] (exact match)",
        "which an earlier decision changed]",
    ]);

    // e: not JSON, then not the schema, then a good edit; the bad ones decide nothing.
    pane.keys(&["e"]);
    pane.wait_for(&["4 of 13", "the edit is not valid TOML", "press e to fix it"]);
    pane.keys(&["e"]);
    // The schema's own words say what the field expects.
    pane.wait_for(&[
        "4 of 13",
        "does not match the plugin's schema",
        "/Budget: Budget: a daily amount",
    ]);
    pane.keys(&["e"]);
    pane.wait_for(&[
        "5 of 13",
        "Approved your edit: Raise the budget to $90. 9 decisions left in this ads-audit run.",
    ]);

    // s puts it off: it stays pending, and comes back after the others.
    pane.keys(&["s"]);
    pane.wait_for(&[
        "5 of 13 (1 skipped, for later)",
        &format!("skipped {}; it comes back after the others", id(4)),
        &id(5),
    ]);

    // An alternative that does not exist is refused.
    pane.keys(&["3"]);
    pane.wait_for(&["5 of 13", "there is no alternative 3; this decision has 1"]);

    // ? shows the keys; any key goes back.
    pane.keys(&["?"]);
    pane.wait_for(&["help", "skip for now: it comes back after the others"]);
    pane.keys(&["x"]);
    pane.wait_for(&["5 of 13", "Enter approve  1-3 alternative"]);

    // v reads every choice whole, the alternatives' change rows too.
    pane.keys(&["v"]);
    let screen = pane.wait_for(&["Every choice, read whole", "Criterion Type", "1.43 → 1.64"]);
    assert!(!screen.contains("\"Criterion Type\""), "no JSON: {screen}");
    // The alternative (30% more) is further down: End goes there.
    pane.keys(&["End"]);
    pane.wait_for(&[
        "orange trail running shoes",
        "2.00 → 2.60",
        "end · PgUp/b back",
    ]);
    pane.keys(&["x"]);

    // Skipping the five others brings the first skipped one back.
    for i in 5..13 {
        pane.keys(&["s"]);
        pane.wait_for(&[&format!("skipped {}; it comes back", id(i))]);
    }
    pane.wait_for(&["5 of 13 (9 skipped, for later)", &id(4)]);

    pane.keys(&["q"]);
    pane.wait_for(&[
        "focus: 4 decided; 9 still pending, 9 of them skipped (host inbox)",
        "EXIT=0",
    ]);

    let made = decisions(&scratch, &run);
    assert_eq!(made.len(), 4, "{made:#?}");
    let items: Vec<&str> = made.iter().map(|(item, _, _)| item.as_str()).collect();
    assert_eq!(items, ["0", "1", "2", "3"]);
    assert_eq!(made[0].1, json!({"outcome": "approved", "choice": 0}));
    assert_eq!(made[1].1, json!({"outcome": "approved", "choice": 1}));
    assert_eq!(
        made[2].1,
        json!({"outcome": "rejected", "reason": "testing manual bids"})
    );
    assert_eq!(made[3].1, json!({"outcome": "edited", "value": mine}));
    assert!(made.iter().all(|(_, _, by)| by == "tester"), "{made:#?}");
    let inbox = scratch
        .host(&["inbox", "--ids"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(inbox.contains(&id(4)), "skipped stays pending: {inbox}");
    assert_eq!(inbox.lines().count(), 9);
}

#[test]
fn focus_shows_control_characters_from_plugins_escaped() {
    let scratch = Scratch::new();
    let account = std::fs::read_to_string(workspace_root().join("examples/ads-account.json"))
        .unwrap()
        .replace("\"Competitors\"", "\"Compet\\u001b[2J\\u0007itors\"");
    let account = scratch.file("account.json", account);
    ads_run(&scratch, &account);
    let pane = Pane::start(&scratch, &[]);
    let screen = pane.wait_for(&["1 of 13", "Compet\\u{1b}[2J\\u{7}itors spent $889.00"]);
    assert!(!screen.contains('\u{1b}'), "{screen}");
    pane.keys(&["q"]);
    pane.wait_for(&["EXIT=0"]);
}

#[test]
fn focus_with_an_empty_inbox_says_so_and_ends() {
    let scratch = Scratch::new();
    let pane = Pane::start(&scratch, &[]);
    pane.wait_for(&["no pending decisions", "EXIT=0"]);
}

#[test]
fn focus_without_a_terminal_points_at_inbox_and_approve() {
    let scratch = Scratch::new();
    scratch
        .host(&["focus"])
        .expect_code(2)
        .stderr_has("needs a terminal")
        .stderr_has("host inbox")
        .stderr_has("host approve");
}

/// A gate over a long email: it reads as an email (no JSON, no `\n`), its first
/// lines without a key press, and Space pages through the rest to its last line.
const LONG_EMAIL: &str = r#"
name = "long-email"
[plugins.echo]
source = "{echo}"

[[steps]]
id = "draft"
uses = "echo"
input = "{{ input }}"

[[steps]]
id = "review"
approve = "draft"
title = "Send the quarterly update to {{ steps.draft.output.to }}?"
"#;

#[test]
fn an_email_reads_whole_and_space_pages_through_a_long_one() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow("long.toml", LONG_EMAIL);
    let body: Vec<String> = (1..=60)
        .map(|n| format!("Line {n} of the update: \"quoted\" and plain."))
        .collect();
    let email = json!({
        "to": "ana@example.com",
        "subject": "Quarterly update",
        "body": format!("Hi Ana,\n\n{}\n\nBest,\nSam", body.join("\n")),
    });
    let input = scratch.file("email.json", email.to_string());
    scratch
        .host(&[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .expect_code(3);
    let pane = Pane::start(&scratch, &[]);
    let screen = pane.wait_for(&[
        "Send the quarterly update to ana@example.com?",
        "To: ana@example.com",
        "Subject: Quarterly update",
        "Hi Ana,",
        "Line 1 of the update: \"quoted\" and plain.",
        "more below: Space/PgDn",
    ]);
    assert!(!screen.contains("\\n"), "escaped newlines: {screen}");
    assert!(!screen.contains("\"body\""), "JSON: {screen}");
    assert!(!screen.contains("Line 60 of"), "{screen}");
    pane.keys(&["Space"]);
    pane.wait_for(&["Line 40 of the update"]);
    pane.keys(&["Space", "Space"]);
    let end = pane.wait_for(&["Line 60 of the update", "Best,", "Sam", "end · PgUp/b back"]);
    assert!(!end.contains("Line 1 of the update"), "{end}");
    // Paging decided nothing; Enter approves.
    pane.keys(&["PageUp", "Enter"]);
    pane.wait_for(&["Approved: Quarterly update. The long-email run is done."]);
    pane.keys(&["q"]);
    pane.wait_for(&["focus: 1 decided; nothing left to decide", "EXIT=0"]);
}

/// After the decisions, `host focus` brings the spot checks: marked as reviews that
/// change nothing, Enter agrees, `r` says it would have been rejected; the third
/// answer suspends the kind's auto-approval, and the screen says so. A decision it
/// showed has a handling time.
#[test]
fn focus_reviews_spot_checks_after_the_decisions_and_says_when_a_rule_is_suspended() {
    let scratch = Scratch::new();
    let workflow = scratch.spot_checked_ads_audit(None);
    let account = workspace_root().join("examples/ads-account.json");
    scratch.start_ads_audit_of(&workflow, &account);
    // All but one decision made elsewhere: focus shows that one, then the reviews.
    let ids = scratch
        .host(&["inbox", "--ids"])
        .expect_code(0)
        .stdout
        .clone();
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 9);
    for id in &ids[..8] {
        let code = scratch.host(&["approve", id]).code;
        assert!(code == Some(0) || code == Some(3), "{id}: {code:?}");
    }
    let pane = Pane::start(&scratch, &[]);
    pane.wait_for(&["1 of 5", "Enter  approves the default:"]);
    std::thread::sleep(Duration::from_millis(300));
    pane.keys(&["Enter"]);
    let screen = pane.wait_for(&[
        "SPOT CHECK: auto-approved",
        "(kind negative-keyword/monitor). Agree, or what would you have done?",
        "review changes nothing by itself.",
        "Enter  agrees with what was approved (the default):",
        "SPOT CHECK: Enter agree",
    ]);
    assert!(screen.contains("2 of 5"), "{screen}");
    assert!(
        !screen.contains("expires"),
        "a review has no deadline: {screen}"
    );
    pane.keys(&["Enter"]);
    pane.wait_for(&["you agree; recorded", "3 of 5"]);
    pane.keys(&["r"]);
    pane.wait_for(&["You would have rejected it. Why (optional), Enter to record, Esc to cancel:"]);
    pane.type_text("this term converts");
    pane.keys(&["Enter"]);
    pane.wait_for(&["you would have decided otherwise; recorded", "4 of 5"]);
    pane.keys(&["r", "Enter"]);
    let screen = pane.wait_for(&[
        "AUTO-APPROVAL SUSPENDED: ads-audit/review kind negative-keyword/monitor (1 of 3",
    ]);
    assert!(
        screen.contains(
            "auto-approval of ads-audit/review kind negative-keyword/monitor is suspended"
        ),
        "{screen}"
    );
    pane.keys(&["q"]);
    pane.wait_for(&["EXIT=0"]);

    let stats = scratch.host(&["stats", "--json"]).expect_code(0).json();
    let gate = &stats[0]["gates"][0];
    assert_eq!(
        gate["spot_checks"],
        json!({ "drawn": 4, "answered": 3, "agreed": 1 })
    );
    assert!(
        gate["median_ms_handling"].as_u64().unwrap() >= 300,
        "{gate}"
    );
    let run = ids[0].split('/').next().unwrap();
    let audit = scratch
        .host(&["audit", run, "--jsonl"])
        .expect_code(0)
        .stdout
        .clone();
    let shown: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"]["event"] == "decision_shown")
        .collect();
    assert_eq!(shown.len(), 1, "only the decision focus showed: {shown:?}");
    assert_eq!(shown[0]["event"]["via"], "focus");
    assert_eq!(shown[0]["by"], "tester");
}
