//! Workflows end to end through the real `host` binary, the real components and the
//! real sled store: run, wait, decide every way, resume, cancel, conditions,
//! for_each, concurrency.

use baton_tests::{Scratch, plugin, workspace_root};
use serde_json::{Value, json};

const WAITING: i32 = 3;

fn example() -> String {
    // The plugins the example names must exist before the workflow is checked.
    for package in [
        "lead-scorer",
        "copy-drafter",
        "tone-checker",
        "utm-tagger",
        "email-outbox",
    ] {
        plugin(package);
    }
    workspace_root()
        .join("examples/lead-followup/workflow.toml")
        .display()
        .to_string()
}

fn leads() -> String {
    workspace_root()
        .join("examples/leads.json")
        .display()
        .to_string()
}

/// `host run WORKFLOW --input examples/leads.json --json`, expecting exit `code`.
fn run_on_leads(scratch: &Scratch, workflow: &str, code: i32) -> Value {
    scratch
        .host(&["run", workflow, "--input", &leads(), "--json"])
        .expect_code(code)
        .json()
}

/// Runs the lead follow-up to its gate; returns the run id and the decision.
fn run_to_gate(scratch: &Scratch) -> (String, Value) {
    let out = run_on_leads(scratch, &example(), WAITING);
    assert_eq!(out["status"], "waiting");
    let decision = out["decisions"][0].clone();
    (out["run"].as_str().unwrap().to_string(), decision)
}

fn show(scratch: &Scratch, run: &str) -> Value {
    scratch.host(&["show", run, "--json"]).expect_code(0).json()
}

fn step<'a>(state: &'a Value, key: &str) -> &'a Value {
    state["steps"]
        .as_object()
        .unwrap()
        .values()
        .find(|s| s["key"]["step"] == key && s["key"].get("item").is_none())
        .unwrap_or_else(|| panic!("no step {key} in {state}"))
}

fn decision_id(decision: &Value) -> String {
    decision["request"]["id"].as_str().unwrap().to_string()
}

on_both_stores! {
    fn the_lead_followup_waits_at_its_gate_with_three_grounded_choices(scratch = Scratch::with_shared_cache) {
    let (run, decision) = run_to_gate(&scratch);
    let request = &decision["request"];
    assert_eq!(request["severity"], "high");
    assert_eq!(
        request["title"],
        "Follow up with Ana Okafor at Northwind Analytics?"
    );
    assert!(
        request["reason"]
            .as_str()
            .unwrap()
            .starts_with("Score 93: Viewed pricing")
    );
    assert_eq!(request["choices"].as_array().unwrap().len(), 3);
    assert!(
        request["choices"][0]["body"]
            .as_str()
            .unwrap()
            .starts_with("Hi Ana,")
    );
    // The inbox lists it with the command to decide.
    let inbox = scratch.host(&["inbox"]);
    inbox.expect_code(0);
    assert!(
        inbox.stdout.contains(&format!("host approve {run}/review")),
        "{}",
        inbox.stdout
    );
    let runs = scratch
        .host(&["runs", "--status", "waiting", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(runs[0]["id"], run.as_str());
}
}

on_both_stores! {
    fn approving_the_default_queues_it_and_completes_the_run(scratch = Scratch::with_shared_cache) {
    let (run, decision) = run_to_gate(&scratch);
    let default_subject = decision["request"]["choices"][0]["subject"]
        .as_str()
        .unwrap()
        .to_string();
    let done = scratch
        .host(&["approve", &decision_id(&decision), "--json"])
        .expect_code(0)
        .json();
    assert_eq!(done["status"], "completed");
    let queued = scratch
        .host(&["show", &run, "--step", "queue"])
        .expect_code(0)
        .json();
    assert_eq!(queued["subject"], default_subject.as_str());
    assert!(
        queued["message"]
            .as_str()
            .unwrap()
            .contains("To: Ana Okafor <ana.okafor@northwindanalytics.example>")
    );
    // The drafter ran once: approval did not run committed steps again.
    let state = show(&scratch, &run);
    assert_eq!(step(&state, "draft")["attempts"], 1);
    assert_eq!(
        state["decisions"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["decided_by"],
        "tester"
    );
}
}

on_both_stores! {
    fn approving_an_alternative_passes_that_alternative_on(scratch = Scratch::with_shared_cache) {
    let (run, decision) = run_to_gate(&scratch);
    let third = decision["request"]["choices"][2]["subject"]
        .as_str()
        .unwrap()
        .to_string();
    scratch
        .host(&["approve", &decision_id(&decision), "--choice", "2"])
        .expect_code(0);
    let queued = scratch
        .host(&["show", &run, "--step", "queue"])
        .expect_code(0)
        .json();
    assert_eq!(queued["subject"], third.as_str());
    scratch
        .host(&["approve", &decision_id(&decision), "--choice", "7"])
        .expect_code(2)
        .stderr_has(&format!("already decided: approved (alternative 2: {third}) by"));
}
}

on_both_stores! {
    fn an_invalid_edit_is_refused_and_a_valid_one_is_what_later_steps_see(scratch = Scratch::with_shared_cache) {
    let (run, decision) = run_to_gate(&scratch);
    let id = decision_id(&decision);
    let bad = scratch.file(
        "bad.json",
        r#"{"angle": "mine", "to": "Ana", "subject": "Hi"}"#,
    );
    scratch
        .host(&["approve", &id, "--edit", bad.to_str().unwrap()])
        .expect_code(2)
        .stderr_has("does not fit the plugin's output schema")
        .stderr_has("\"body\" is a required property");
    // Nothing was decided: it is still in the inbox.
    let inbox = scratch.host(&["inbox", "--json"]).expect_code(0).json();
    assert_eq!(inbox.as_array().unwrap().len(), 1);

    let mut edited = decision["request"]["choices"][1].clone();
    edited["body"] = json!("Hi Ana,\n\nA shorter note, written by a human.\n\nSam");
    let good = scratch.file("good.json", edited.to_string());
    scratch
        .host(&["approve", &id, "--edit", good.to_str().unwrap()])
        .expect_code(0);
    let queued = scratch
        .host(&["show", &run, "--step", "queue"])
        .expect_code(0)
        .json();
    assert!(
        queued["message"]
            .as_str()
            .unwrap()
            .contains("written by a human")
    );
    let state = show(&scratch, &run);
    let record = state["decisions"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(record["status"], "edited");
}
}

on_both_stores! {
    fn a_rejection_ends_the_branch_and_a_second_decision_says_who_decided(scratch = Scratch::with_shared_cache) {
    let (run, decision) = run_to_gate(&scratch);
    let id = decision_id(&decision);
    let out = scratch
        .host(&["reject", &id, "--reason", "wrong tone", "--json"])
        .expect_code(1)
        .json();
    assert_eq!(out["status"], "rejected");
    assert_eq!(step(&show(&scratch, &run), "queue")["status"], "skipped");
    scratch
        .host(&["approve", &id])
        .expect_code(2)
        .stderr_has(&format!(
            "decision {id} was already decided: rejected (wrong tone) by tester at"
        ));
}
}

on_both_stores! {
    fn a_cancelled_run_takes_no_more_decisions(scratch = Scratch::with_shared_cache) {
    let (run, decision) = run_to_gate(&scratch);
    let out = scratch
        .host(&["cancel", &run, "--json"])
        .expect_code(1)
        .json();
    assert_eq!(out["status"], "cancelled");
    scratch
        .host(&["approve", &decision_id(&decision)])
        .expect_code(2)
        .stderr_has("is cancelled; it cannot be changed any more");
    scratch.host(&["cancel", &run]).expect_code(2);
}
}

on_both_stores! {
    fn a_false_condition_skips_the_steps_that_depend_on_it(scratch = Scratch::with_shared_cache) {
    let empty = scratch.file("none.json", r#"{"leads": []}"#);
    let out = scratch
        .host(&[
            "run",
            &example(),
            "--input",
            empty.to_str().unwrap(),
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(out["status"], "completed");
    let run = out["run"].as_str().unwrap();
    let state = show(&scratch, run);
    assert!(
        step(&state, "draft")["skipped_because"]
            .as_str()
            .unwrap()
            .contains("`when` was false")
    );
    assert_eq!(step(&state, "review")["status"], "skipped");
    assert_eq!(step(&state, "queue")["status"], "skipped");
}
}

const PER_LEAD: &str = r#"
name = "per-lead"
[plugins.scorer]
source = "{scorer}"
[plugins.drafter]
source = "{drafter}"
[plugins.outbox]
source = "{outbox}"

[[steps]]
id = "score"
uses = "scorer"

[[steps]]
id = "draft"
uses = "drafter"
for_each = "steps.score.output.leads[:3]"
input = { lead = "{{ item }}" }

[[steps]]
id = "review"
approve = "draft"
title = "Write to {{ item.to }}?"
choices = "steps.draft.output.variants"

[[steps]]
id = "queue"
uses = "outbox"
for_each = "steps.review.output"
input = { email = "{{ item }}" }
"#;

on_both_stores! {
    fn for_each_gates_ask_once_per_item_and_a_rejection_drops_only_that_item(scratch = Scratch::with_shared_cache) {
    let workflow = scratch.workflow("per-lead.toml", PER_LEAD);
    let out = run_on_leads(&scratch, workflow.to_str().unwrap(), WAITING);
    let ids: Vec<String> = out["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(decision_id)
        .collect();
    assert_eq!(ids.len(), 3);
    let run = out["run"].as_str().unwrap();
    let expected: Vec<String> = (0..3).map(|i| format!("{run}/review/{i}")).collect();
    assert_eq!(ids, expected, "one decision per item, in item order");
    scratch.host(&["approve", &ids[0]]).expect_code(WAITING);
    scratch.host(&["reject", &ids[1]]).expect_code(WAITING);
    let done = scratch
        .host(&["approve", &ids[2], "--choice", "1", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(done["status"], "completed");
    let run = done["run"].as_str().unwrap();
    let state = show(&scratch, run);
    assert_eq!(
        state["expansions"]["queue"], 2,
        "two approved emails queued: {}",
        state["expansions"]
    );
}
}

const PARALLEL: &str = r#"
name = "parallel"
[plugins.slow]
source = "{hostile}"
config = { mode = "slow", millis = 400 }

[[steps]]
id = "left"
uses = "slow"
input = { side = "left" }

[[steps]]
id = "right"
uses = "slow"
input = { side = "right" }

[[steps]]
id = "join"
uses = "slow"
input = { left = "{{ steps.left.output }}", right = "{{ steps.right.output }}" }
"#;

on_both_stores! {
    fn independent_steps_run_concurrently_and_their_join_waits_for_both(scratch = Scratch::with_shared_cache) {
    let workflow = scratch.workflow("parallel.toml", PARALLEL);
    let out = scratch
        .host(&["run", workflow.to_str().unwrap(), "--json"])
        .expect_code(0)
        .json();
    let run = out["run"].as_str().unwrap();
    let state = show(&scratch, run);
    let (left, right, join) = (
        step(&state, "left"),
        step(&state, "right"),
        step(&state, "join"),
    );
    // Both started before either finished; the join started after both finished.
    let started = |s: &Value| s["started_at"].as_u64().unwrap();
    let finished = |s: &Value| s["finished_at"].as_u64().unwrap();
    assert!(
        started(left).max(started(right)) <= finished(left).min(finished(right)),
        "{state}"
    );
    assert!(started(join) >= finished(left).max(finished(right)));
    assert_eq!(
        join["output"],
        json!({"left": {"side": "left"}, "right": {"side": "right"}})
    );
}
}

const CHAIN: &str = r#"
name = "chain"
[plugins.slow]
source = "{hostile}"
config = { mode = "slow", millis = 6000 }
limits = { timeout = "30s" }
[plugins.echo]
source = "{hostile}"

[[steps]]
id = "first"
uses = "slow"
input = { n = 1 }

[[steps]]
id = "second"
uses = "echo"
input = "{{ steps.first.output }}"
"#;

#[test]
fn a_host_killed_while_a_plugin_runs_resumes_and_reruns_only_the_interrupted_step() {
    let scratch = Scratch::with_shared_cache();
    let workflow = scratch.workflow("chain.toml", CHAIN);
    let workflow = workflow.to_str().unwrap().to_string();
    // Warm the cache so the kill lands inside a plugin call, not in compiling.
    scratch
        .host(&["run", &workflow, "--dry-run"])
        .expect_code(0);
    // The store is locked while the run goes on, so the kill is timed: 2.5 s lands
    // inside `first` (it spins 6 s), even on a loaded machine that starts slowly. The
    // checks below hold wherever it lands; a committed step is never rerun is pinned
    // exactly by the failpoint test below.
    let mut child = scratch.spawn_host(&["run", &workflow]);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    child.kill().expect("SIGKILL the host");
    child.wait().unwrap();

    let runs = scratch.host(&["runs", "--json"]).expect_code(0).json();
    let run = runs[0]["id"].as_str().unwrap().to_string();
    let before = show(&scratch, &run);
    assert_eq!(
        before["status"], "running",
        "the kill left the run unfinished: {before}"
    );
    let steps_before: Vec<(String, String)> = before["steps"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, s)| (k.clone(), s["status"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        steps_before.iter().any(|(_, status)| status == "running"),
        "no step was interrupted: {steps_before:?}"
    );

    let resumed = scratch
        .host(&["resume", &run, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(resumed["status"], "completed");
    let after = show(&scratch, &run);
    for (key, status) in steps_before {
        let attempts = &after["steps"][&key]["attempts"];
        match status.as_str() {
            "completed" => assert_eq!(attempts, 1, "{key} was committed and must not run again"),
            "running" => assert_eq!(attempts, 2, "{key} was interrupted and must run again"),
            other => panic!("unexpected status {other} for {key}"),
        }
    }
    assert_eq!(after["steps"]["second"]["output"], json!({"n": 1}));
}

#[test]
fn a_host_killed_between_two_steps_resumes_without_running_the_first_again() {
    let scratch = Scratch::with_shared_cache();
    let run = scratch.host_with_env(
        &["run", &example(), "--input", &leads()],
        &[("BATON_FAILPOINT", "after:step_completed:score")],
    );
    assert_ne!(
        run.code,
        Some(0),
        "the failpoint should have killed the host"
    );
    let runs = scratch.host(&["runs", "--json"]).expect_code(0).json();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    let state = show(&scratch, &id);
    assert_eq!(step(&state, "score")["status"], "completed");
    // The score's result is appended together with the start of what follows it (one
    // append per engine step), so the next step is at most started, never done.
    assert!(
        state["steps"]
            .as_object()
            .unwrap()
            .values()
            .filter(|s| s["key"]["step"] == "draft")
            .all(|s| s["status"] == "running"),
        "{state}"
    );

    let resumed = scratch
        .host(&["resume", &id, "--json"])
        .expect_code(WAITING)
        .json();
    assert_eq!(resumed["decisions"].as_array().unwrap().len(), 1);
    let state = show(&scratch, &id);
    assert_eq!(step(&state, "score")["attempts"], 1);
    // Resuming again does nothing new: the decision is not duplicated.
    scratch.host(&["resume", &id]).expect_code(WAITING);
    assert_eq!(
        show(&scratch, &id)["decisions"].as_object().unwrap().len(),
        1
    );
}

on_both_stores! {
    fn a_run_refuses_to_continue_on_changed_code_unless_allowed(scratch = Scratch::with_shared_cache) {
    let workflow = scratch.workflow("gate.toml", &PER_LEAD.replace("leads[:3]", "leads[:1]"));
    let out = run_on_leads(&scratch, workflow.to_str().unwrap(), WAITING);
    let id = decision_id(&out["decisions"][0]);
    let changed = std::fs::read_to_string(&workflow)
        .unwrap()
        .replace("Write to", "Send to");
    std::fs::write(&workflow, changed).unwrap();
    scratch
        .host(&["approve", &id])
        .expect_code(2)
        .stderr_has("started on other code: the workflow file")
        .stderr_has("--allow-changed");
    scratch
        .host(&["approve", &id, "--allow-changed"])
        .expect_code(0);
}
}

#[test]
fn a_second_process_gets_a_clear_message_while_the_store_is_in_use() {
    let scratch = Scratch::with_shared_cache();
    let workflow = scratch.workflow(
        "slow.toml",
        &PARALLEL.replace("millis = 400", "millis = 3000"),
    );
    let workflow = workflow.to_str().unwrap().to_string();
    scratch
        .host(&["run", &workflow, "--dry-run"])
        .expect_code(0);
    let mut child = scratch.spawn_host(&["run", &workflow]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let message = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "never saw the store in use"
        );
        let runs = scratch.host(&["runs"]);
        if runs.code == Some(2) {
            break runs.stderr;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        message.contains("is in use by another `host` process"),
        "{message}"
    );
}

on_both_stores! {
    fn a_cancelled_run_offers_no_decision_anywhere(scratch = Scratch::new) {
    let run = scratch.start_note_run();
    scratch.host(&["cancel", &run]).expect_code(1);

    let runs = scratch.host(&["runs"]);
    runs.expect_code(0);
    assert!(runs.stdout.contains("cancelled"), "{}", runs.stdout);
    assert!(!runs.stdout.contains("pending"), "{}", runs.stdout);
    let listed = scratch.host(&["runs", "--json"]).expect_code(0).json();
    assert_eq!(listed[0]["pending"], 0);
    let shown = scratch.host(&["show", &run]);
    shown.expect_code(0);
    assert!(
        shown.stdout.contains(&format!("{run}/review  withdrawn")),
        "{}",
        shown.stdout
    );
    assert!(!shown.stdout.contains("host approve"), "{}", shown.stdout);
    // Its gate step no longer reads as waiting either.
    assert!(
        !shown.stdout.contains("waiting") && shown.stdout.contains("withdrawn   review"),
        "{}",
        shown.stdout
    );
    let state = scratch
        .host(&["show", &run, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(
        state["decisions"][format!("{run}/review")]["status"],
        "withdrawn"
    );
    let inbox = scratch.host(&["inbox", "--json"]).expect_code(0).json();
    assert_eq!(inbox, json!([]));
    scratch
        .host(&["approve", &format!("{run}/review")])
        .expect_code(2)
        .stderr_has("is cancelled; it cannot be changed any more");
    // Its log is as it was: the withdrawal is derived, never written.
    scratch.host(&["audit", "--verify"]).expect_code(0);
}
}

#[test]
fn a_store_that_cannot_be_read_says_so_and_how_to_go_on() {
    let scratch = Scratch::new();
    let state = scratch.state_dir();
    std::fs::create_dir_all(&state).unwrap();
    // sled's configuration, garbled.
    std::fs::write(state.join("conf"), b"\x00\xffnot a sled configuration\xff").unwrap();
    let runs = scratch.host(&["runs"]);
    runs.expect_code(1);
    assert!(
        runs.stderr.contains(&format!(
            "cannot open the state store at {}",
            state.display()
        )) && runs.stderr.contains("free space and try again")
            && runs.stderr.contains("host store import FILE"),
        "{}",
        runs.stderr
    );
}

#[test]
fn an_incomplete_snapshot_left_behind_is_removed_and_the_store_opens() {
    let scratch = Scratch::new();
    let run = scratch.start_note_run();
    // What a crash or a full disk leaves while the store writes a snapshot: an
    // empty file, which the store would otherwise read as its newest snapshot.
    let leftover = scratch.state_dir().join("snap.00000000FFFFFFFF.generating");
    std::fs::write(&leftover, b"").unwrap();
    let runs = scratch.host(&["runs"]);
    runs.expect_code(0);
    assert!(runs.stdout.contains(&run), "{}", runs.stdout);
    assert!(
        runs.stderr.contains(&format!(
            "note: removed {}, an incomplete snapshot",
            leftover.display()
        )),
        "{}",
        runs.stderr
    );
    assert!(!leftover.exists());
    // Nothing was lost: the decision is still there and the chain intact.
    scratch
        .host(&["approve", &format!("{run}/review")])
        .expect_code(0);
    scratch.host(&["audit", "--verify"]).expect_code(0);
}

#[test]
fn a_run_whose_log_cannot_be_read_is_named_and_the_others_stay_usable() {
    let scratch = Scratch::new();
    let runs: Vec<String> = (0..3).map(|_| scratch.start_note_run()).collect();
    baton_tests::damage_first_entry(&scratch.state_dir(), &runs[1]);
    let named = format!("warning: run {} of workflow note cannot be read", runs[1]);
    let inbox = scratch.host(&["inbox", "--json"]);
    inbox.expect_code(0);
    let pending: Vec<String> = inbox
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["request"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        pending,
        vec![format!("{}/review", runs[0]), format!("{}/review", runs[2])]
    );
    assert!(inbox.stderr.contains(&named), "{}", inbox.stderr);
    let stats = scratch.host(&["stats", "--json"]);
    stats.expect_code(0);
    assert_eq!(stats.json()[0]["gates"][0]["pending"], 2);
    assert!(stats.stderr.contains(&named), "{}", stats.stderr);
    // `host runs` marks it damaged instead of offering it as waiting.
    let listed = scratch.host(&["runs"]);
    listed.expect_code(0);
    let line = listed
        .stdout
        .lines()
        .find(|l| l.starts_with(runs[1].as_str()))
        .unwrap_or_default();
    assert!(
        line.contains("damaged") && line.contains("cannot be read") && !line.contains("pending"),
        "{}",
        listed.stdout
    );
    assert!(listed.stderr.contains(&named), "{}", listed.stderr);
    let json = scratch.host(&["runs", "--json"]).json();
    let damaged: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("damaged").is_some())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(damaged, vec![runs[1].as_str()]);
    let verify = scratch.host(&["audit", "--verify"]);
    verify.expect_code(1);
    assert!(
        format!("{}{}", verify.stdout, verify.stderr).contains(&runs[1]),
        "verify names the damaged run: {} {}",
        verify.stdout,
        verify.stderr
    );
    // Every other run stays usable.
    scratch
        .host(&["approve", &format!("{}/review", runs[0])])
        .expect_code(0);
    scratch
        .host(&["reject", &format!("{}/review", runs[2])])
        .expect_code(1);
}

/// A gate's `view` (markdown, `choice` in scope) is rendered per choice when the gate
/// opens and is what `host inbox` shows; markup a plugin puts in a value is text.
const VIEWED: &str = r#"
name = "viewed"
summary = "{{ input.team }} team: {{ steps.draft.output.options[0].subject }}"
[plugins.echo]
source = "{echo}"

[[steps]]
id = "draft"
uses = "echo"
input = "{{ input }}"

[[steps]]
id = "review"
approve = "draft"
title = "Send it?"
choices = "steps.draft.output.options"
view = """
## {{ choice.subject }}
To **{{ choice.to }}**, from the {{ input.team }} team:

{{ choice.body }}

| Field | Value |
|---|---|
| Loud | {{ choice.subject | upper }} |
"""
"#;

#[test]
fn a_gates_view_is_what_the_operator_reads() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow("viewed.toml", VIEWED);
    let input = json!({
        "team": "sales",
        "options": [
            {"to": "ana@example.com", "subject": "Next steps", "body": "Hi Ana,\nsee you <b>Monday</b>."},
            {"to": "ana@example.com", "subject": "Later", "body": "Hi Ana,\nnext month then."},
        ],
    });
    let input = scratch.file("input.json", input.to_string());
    let out = scratch
        .host(&[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--json",
        ])
        .expect_code(WAITING)
        .json();
    let views = &out["decisions"][0]["request"]["views"];
    assert_eq!(views.as_array().map(Vec::len), Some(2), "{out}");
    assert!(
        views[1].as_str().unwrap().starts_with("## Later"),
        "{views}"
    );
    let inbox = scratch.host(&["inbox"]).expect_code(0).stdout.clone();
    // What the run is about, from the workflow's summary, in the lists.
    let runs = scratch.host(&["runs"]).expect_code(0).stdout.clone();
    assert!(
        runs.trim_end()
            .ends_with("1 pending  sales team: Next steps"),
        "{runs}"
    );
    for line in [
        "  about sales team: Next steps\n",
        "      Next steps\n",
        "      To ana@example.com, from the sales team:\n",
        "      Hi Ana,\n      see you <b>Monday</b>.\n",
        "      Field  Value\n      Loud   NEXT STEPS\n",
        "  1 (alternative): Later\n",
    ] {
        assert!(inbox.contains(line), "{line:?} not in:\n{inbox}");
    }
    // `host show` reads the waiting decision the same way, and once decided says
    // what was approved, in words.
    let run = out["run"].as_str().unwrap();
    scratch
        .host(&["show", run])
        .expect_code(0)
        .stdout_has("      To ana@example.com, from the sales team:\n");
    scratch
        .host(&["approve", &format!("{run}/review"), "--choice", "1"])
        .expect_code(0);
    scratch
        .host(&["show", run])
        .expect_code(0)
        .stdout_has("  approved (alternative 1) by ")
        .stdout_has("    Send it?\n    -> Later\n");
    // `choice` exists only in `view`; elsewhere it is an unknown variable.
    let wrong = scratch.workflow(
        "wrong.toml",
        &VIEWED.replace(
            "title = \"Send it?\"",
            "title = \"Send {{ choice.subject }}?\"",
        ),
    );
    scratch
        .host(&[
            "run",
            wrong.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
        .expect_code(2)
        .stderr_has("uses unknown variable `choice`");
}

on_both_stores! {
    fn the_inbox_is_read_from_an_index_kept_in_order_by_every_append(scratch = Scratch::new) {
    let runs: Vec<String> = (0..3).map(|_| scratch.start_note_run()).collect();
    let listed = |scratch: &Scratch| -> Vec<String> {
        scratch
            .host(&["inbox", "--json"])
            .expect_code(0)
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["request"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let review = |run: &String| format!("{run}/review");
    assert_eq!(listed(&scratch), runs.iter().map(review).collect::<Vec<_>>());
    scratch.host(&["approve", &review(&runs[1])]).expect_code(0);
    scratch.host(&["reject", &review(&runs[0])]);
    assert_eq!(listed(&scratch), vec![review(&runs[2])]);
    // The index agrees with the logs.
    let verified = scratch.host(&["audit", "--verify"]);
    verified.expect_code(0);
    assert!(!verified.stdout.contains("index"), "{}", verified.stdout);
    }
}

#[test]
fn an_index_of_pending_decisions_that_disagrees_with_the_logs_is_rebuilt_by_verify() {
    let scratch = Scratch::new();
    let runs: Vec<String> = (0..2).map(|_| scratch.start_note_run()).collect();
    // Lose the index behind the store's back, as a bad sector might.
    {
        let db = sled::open(scratch.state_dir()).expect("open the store");
        db.open_tree("inbox").unwrap().clear().unwrap();
        db.flush().unwrap();
    }
    let inbox = scratch.host(&["inbox", "--json"]).expect_code(0).json();
    assert_eq!(inbox.as_array().unwrap().len(), 0);
    let verified = scratch.host(&["audit", "--verify"]);
    verified.expect_code(0);
    assert!(
        verified.stdout.contains(
            "the index of pending decisions listed 0 (and counted 0) where the logs have 2 pending; it was rebuilt"
        ),
        "{}",
        verified.stdout
    );
    let inbox = scratch.host(&["inbox", "--json"]).expect_code(0).json();
    let ids: Vec<&str> = inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["request"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![format!("{}/review", runs[0]), format!("{}/review", runs[1])]
    );
    // A store from before the index builds it on opening: drop the index and its
    // mark, and the next command lists both again.
    {
        let db = sled::open(scratch.state_dir()).expect("open the store");
        db.open_tree("inbox").unwrap().clear().unwrap();
        db.remove(b"baton.inbox").unwrap();
        db.flush().unwrap();
    }
    let inbox = scratch.host(&["inbox", "--json"]).expect_code(0).json();
    assert_eq!(inbox.as_array().unwrap().len(), 2);
}

#[test]
fn host_run_takes_its_input_from_a_file_or_as_json_text() {
    let scratch = Scratch::new();
    let workflow = scratch.workflow(
        "echo.toml",
        "name = \"echo\"\n[plugins.echo]\nsource = \"{hostile}\"\n[[steps]]\nid = \"say\"\nuses = \"echo\"\ninput = \"{{ input }}\"\n",
    );
    let workflow = workflow.to_str().unwrap();
    let file = scratch.file("input.json", r#"{"text": "from a file"}"#);
    for (input, text) in [
        (file.to_str().unwrap(), "from a file"),
        (r#"{"text": "as text"}"#, "as text"),
    ] {
        let run = scratch
            .host(&["run", workflow, "--input", input, "--json"])
            .expect_code(0)
            .json();
        let run = run["run"].as_str().unwrap();
        let said = scratch
            .host(&["show", run, "--step", "say"])
            .expect_code(0)
            .json();
        assert_eq!(said["text"], text);
    }
    // Text that is not JSON is bad input, named as the flag's.
    scratch
        .host(&["run", workflow, "--input", r#"{"text": }"#])
        .expect_code(2)
        .stderr_has("--input");
    // A path that does not exist is named as a file.
    scratch
        .host(&["run", workflow, "--input", "missing.json"])
        .expect_code(2)
        .stderr_has("missing.json");
}
