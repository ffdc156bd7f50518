//! The engine against an in-memory store and a fake runner: ordering, gates,
//! decisions, crash recovery, for_each.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use baton_core::{
    Clock, DecisionId, DecisionOutcome, LlmExchange, OnTimeout, PluginRunner, RunEvent, RunId,
    RunStatus, RunStore, RunSummary, StepCall, StepError, StepKey, StepStatus, StoreError,
};
use baton_engine::{Decision, Engine, EngineError};
use baton_workflow::Workflow;
use serde_json::{Value, json};

#[derive(Default)]
struct MemoryStore {
    logs: Mutex<HashMap<RunId, Vec<RunEvent>>>,
    summaries: Mutex<HashMap<RunId, RunSummary>>,
}

impl RunStore for MemoryStore {
    fn append(
        &self,
        run: &RunId,
        expected: u64,
        events: &[RunEvent],
        summary: &RunSummary,
        _inbox: &baton_core::InboxChange,
    ) -> Result<u64, StoreError> {
        let mut logs = self.logs.lock().unwrap();
        let log = logs.entry(run.clone()).or_default();
        if log.len() as u64 != expected {
            return Err(StoreError::Conflict {
                run: run.clone(),
                expected,
                found: log.len() as u64,
            });
        }
        log.extend_from_slice(events);
        self.summaries
            .lock()
            .unwrap()
            .insert(run.clone(), summary.clone());
        Ok(log.len() as u64)
    }
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn events(&self, run: &RunId) -> Result<Vec<RunEvent>, StoreError> {
        self.logs
            .lock()
            .unwrap()
            .get(run)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchRun(run.clone()))
    }
    fn summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        Ok(self.summaries.lock().unwrap().values().cloned().collect())
    }
}

/// Plugins as closures; counts calls so tests can prove a step ran once.
#[derive(Default)]
struct FakeRunner {
    calls: Mutex<Vec<(String, Value)>>,
}

impl PluginRunner for FakeRunner {
    async fn invoke(
        &self,
        plugin: &str,
        input: &Value,
        step: StepCall,
    ) -> Result<Value, StepError> {
        self.calls
            .lock()
            .unwrap()
            .push((plugin.to_string(), input.clone()));
        match plugin {
            "double" => Ok(json!({"n": input["n"].as_i64().unwrap_or(0) * 2})),
            "drafts" => Ok(json!({"variants": ["a", "b", "c"]})),
            "echo" => Ok(input.clone()),
            // Asks a "model": records one exchange through the journal (the engine
            // commits it before this resolves), and says how many recorded exchanges
            // and how much prior usage its run handed it.
            "asks" => {
                let recorded = step.recorded.len();
                let prior_calls = step.usage.lock().unwrap().calls;
                if recorded == 0 {
                    let journal = step.journal.expect("a step in a run has a journal");
                    journal
                        .record(exchange())
                        .await
                        .map_err(|message| StepError {
                            kind: "internal".into(),
                            message,
                            retryable: false,
                        })?;
                }
                Ok(json!({"recorded": recorded, "prior_calls": prior_calls}))
            }
            "broken" => Err(StepError {
                kind: "trap".into(),
                message: "boom".into(),
                retryable: false,
            }),
            other => panic!("no fake plugin {other}"),
        }
    }
    fn check_edit(&self, _: &str, _: Option<&str>, value: &Value) -> Result<(), String> {
        value
            .is_string()
            .then_some(())
            .ok_or_else(|| "must be a string".into())
    }
}

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> u64 {
        1_700_000_000_000
    }
}

fn workflow(text: &str) -> Workflow {
    let plugins = r#"
[plugins.double]
source = "d.wasm"
[plugins.drafts]
source = "x.wasm"
[plugins.echo]
source = "e.wasm"
[plugins.broken]
source = "b.wasm"
[plugins.asks]
source = "a.wasm"
"#;
    Workflow::parse(
        Path::new("w.toml"),
        &format!("name = \"t\"\n{plugins}\n{text}"),
    )
    .unwrap()
}

async fn start<'a>(
    engine: &Engine<'a, MemoryStore, FakeRunner, FixedClock>,
    input: Value,
) -> baton_engine::Outcome {
    engine
        .start(input, "w.toml".into(), "d".into(), BTreeMap::new())
        .await
        .unwrap()
}

macro_rules! engine {
    ($wf:expr, $store:expr, $runner:expr) => {
        Engine {
            suspended: Default::default(),
            workflow: &$wf,
            store: &$store,
            runner: &$runner,
            clock: &FixedClock,
            observer: None,
            operator: "tester",
        }
    };
}

#[tokio::test]
async fn steps_run_in_dependency_order_and_the_run_completes() {
    let wf = workflow(
        r#"
[[steps]]
id = "second"
uses = "double"
input = "{{ steps.first.output }}"
[[steps]]
id = "first"
uses = "double"
"#,
    );
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let outcome = start(&engine!(wf, store, runner), json!({"n": 3})).await;
    assert_eq!(outcome.status(), RunStatus::Completed);
    let second = outcome
        .state
        .step(&StepKey::whole("second".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(second.output, Some(json!({"n": 12})));
}

const GATED: &str = r#"
[[steps]]
id = "draft"
uses = "drafts"
[[steps]]
id = "review"
approve = "draft"
title = "Send?"
choices = "steps.draft.output.variants"
[[steps]]
id = "send"
uses = "echo"
input = { email = "{{ steps.review.output }}" }
"#;

#[tokio::test]
async fn a_gate_waits_and_an_alternative_flows_to_the_next_step() {
    let wf = workflow(GATED);
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let waiting = start(&engine, json!({})).await;
    assert_eq!(waiting.status(), RunStatus::Waiting);
    let id = DecisionId::new(
        waiting.state.id.clone(),
        StepKey::whole("review".to_string().try_into().unwrap()),
    );
    let done = engine
        .decide(&id, Decision::Approve { choice: 2 }, "ana")
        .await
        .unwrap();
    assert_eq!(done.status(), RunStatus::Completed);
    let send = done
        .state
        .step(&StepKey::whole("send".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(send.output, Some(json!({"email": "c"})));
    // Deciding again is refused, naming who decided.
    let again = engine
        .decide(&id, Decision::Reject { reason: None }, "bo")
        .await
        .unwrap_err();
    assert!(
        matches!(again, EngineError::AlreadyDecided { ref by, .. } if by == "ana"),
        "{again}"
    );
    // The drafter ran once, before the gate; approval did not run it again.
    assert_eq!(
        runner
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == "drafts")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_rejection_skips_the_branch_and_rejects_the_run() {
    let wf = workflow(GATED);
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let waiting = start(&engine, json!({})).await;
    let id = waiting.state.pending().next().unwrap().request.id.clone();
    let done = engine
        .decide(
            &id,
            Decision::Reject {
                reason: Some("off tone".into()),
            },
            "ana",
        )
        .await
        .unwrap();
    assert_eq!(done.status(), RunStatus::Rejected);
    let send = done
        .state
        .step(&StepKey::whole("send".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(send.status, StepStatus::Skipped);
}

#[tokio::test]
async fn an_invalid_edit_is_refused_and_nothing_is_recorded() {
    let wf = workflow(GATED);
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let waiting = start(&engine, json!({})).await;
    let id = waiting.state.pending().next().unwrap().request.id.clone();
    let error = engine
        .decide(&id, Decision::Edit { value: json!(42) }, "ana")
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::InvalidEdit { .. }), "{error}");
    assert_eq!(engine.load(&id.run).unwrap().status(), RunStatus::Waiting);
    let done = engine
        .decide(
            &id,
            Decision::Edit {
                value: json!("mine"),
            },
            "ana",
        )
        .await
        .unwrap();
    let send = done
        .state
        .step(&StepKey::whole("send".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(send.output, Some(json!({"email": "mine"})));
}

#[tokio::test]
async fn a_step_interrupted_by_a_crash_runs_again_and_completed_ones_do_not() {
    let wf = workflow(
        r#"
[[steps]]
id = "first"
uses = "double"
[[steps]]
id = "second"
uses = "double"
input = "{{ steps.first.output }}"
"#,
    );
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let done = start(&engine, json!({"n": 1})).await;
    // Rewrite history: the process died after `first` completed and `second` started.
    let run = done.state.id.clone();
    {
        let mut logs = store.logs.lock().unwrap();
        let log = logs.get_mut(&run).unwrap();
        let cut = log.iter().position(|e| matches!(e, RunEvent::StepCompleted { key, .. } if key.step.as_str() == "second")).unwrap();
        log.truncate(cut);
    }
    runner.calls.lock().unwrap().clear();
    let resumed = engine.advance(&run).await.unwrap();
    assert_eq!(resumed.status(), RunStatus::Completed);
    let calls = runner.calls.lock().unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].1, json!({"n": 2}));
    let second = resumed
        .state
        .step(&StepKey::whole("second".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(second.attempts, 2);
}

#[tokio::test]
async fn for_each_gates_open_one_decision_per_item_and_rejections_drop_only_that_item() {
    let wf = workflow(
        r#"
[[steps]]
id = "each"
uses = "echo"
for_each = "input.items"
input = { n = "{{ item }}" }
[[steps]]
id = "review"
approve = "each"
title = "Item {{ index }}"
[[steps]]
id = "collect"
uses = "echo"
input = { approved = "{{ steps.review.output }}" }
"#,
    );
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let waiting = start(&engine, json!({"items": [1, 2, 3]})).await;
    let ids: Vec<_> = waiting
        .state
        .pending()
        .map(|d| d.request.id.clone())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(waiting.state.decisions[&ids[1]].request.title, "Item 1");
    engine
        .decide(&ids[0], Decision::Approve { choice: 0 }, "ana")
        .await
        .unwrap();
    engine
        .decide(&ids[1], Decision::Reject { reason: None }, "ana")
        .await
        .unwrap();
    let done = engine
        .decide(&ids[2], Decision::Approve { choice: 0 }, "ana")
        .await
        .unwrap();
    assert_eq!(done.status(), RunStatus::Completed);
    let collect = done
        .state
        .step(&StepKey::whole("collect".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(
        collect.output,
        Some(json!({"approved": [{"n": 1}, {"n": 3}]}))
    );
}

#[tokio::test]
async fn a_false_condition_skips_and_a_failing_step_fails_the_run() {
    let wf = workflow(
        r#"
[[steps]]
id = "maybe"
uses = "double"
when = "input.n > 10"
[[steps]]
id = "bad"
uses = "broken"
"#,
    );
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let outcome = start(&engine!(wf, store, runner), json!({"n": 1})).await;
    assert_eq!(outcome.status(), RunStatus::Failed);
    let maybe = outcome
        .state
        .step(&StepKey::whole("maybe".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(maybe.status, StepStatus::Skipped);
    assert!(
        outcome
            .state
            .finish_note()
            .unwrap()
            .contains("step bad failed (trap): boom")
    );
}

/// A clock the test moves.
struct MovableClock(std::sync::atomic::AtomicU64);
impl Clock for MovableClock {
    fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn an_auto_approve_rule_decides_without_a_human_and_says_so() {
    let wf = workflow(
        r#"
[[steps]]
id = "draft"
uses = "drafts"
[[steps]]
id = "review"
approve = "draft"
title = "Send?"
choices = "steps.draft.output.variants"
auto_approve = "input.trusted"
"#,
    );
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let trusted = start(&engine, json!({"trusted": true})).await;
    assert_eq!(trusted.status(), RunStatus::Completed);
    let decision = trusted.state.decisions.values().next().unwrap();
    assert_eq!(
        decision.decided_by.as_deref(),
        Some("auto-approve: input.trusted")
    );
    assert_eq!(decision.chosen_value(), Some(json!("a")));
    let untrusted = start(&engine, json!({"trusted": false})).await;
    assert_eq!(untrusted.status(), RunStatus::Waiting);
}

/// The gated workflow with a one-hour timeout on its gate.
fn gated_with_timeout(on_timeout: &str) -> Workflow {
    workflow(&GATED.replace(
        "choices = \"steps.draft.output.variants\"\n",
        &format!(
            "choices = \"steps.draft.output.variants\"\ntimeout = \"1h\"\non_timeout = \"{on_timeout}\"\n"
        ),
    ))
}

#[tokio::test]
async fn an_expired_decision_takes_its_on_timeout_action_when_the_run_is_next_touched() {
    let wf = gated_with_timeout("approve_default");
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let clock = MovableClock(std::sync::atomic::AtomicU64::new(1_000));
    let engine = Engine {
        suspended: Default::default(),
        workflow: &wf,
        store: &store,
        runner: &runner,
        clock: &clock,
        observer: None,
        operator: "tester",
    };
    let waiting = engine
        .start(json!({}), "w.toml".into(), "d".into(), BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(waiting.status(), RunStatus::Waiting);
    let run = waiting.state.id.clone();
    assert_eq!(
        engine.advance(&run).await.unwrap().status(),
        RunStatus::Waiting,
        "not yet expired"
    );

    clock
        .0
        .store(1_000 + 3_600_000, std::sync::atomic::Ordering::SeqCst);
    let done = engine.advance(&run).await.unwrap();
    assert_eq!(done.status(), RunStatus::Completed);
    let decision = done.state.decisions.values().next().unwrap();
    assert_eq!(decision.decided_by.as_deref(), Some("timeout"));
    let send = done
        .state
        .step(&StepKey::whole("send".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(send.output, Some(json!({"email": "a"})));
}

#[tokio::test]
async fn expire_records_due_decisions_without_a_workflow_and_the_summary_says_when() {
    let wf = gated_with_timeout("reject");
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let clock = MovableClock(std::sync::atomic::AtomicU64::new(1_000));
    let engine = Engine {
        suspended: Default::default(),
        workflow: &wf,
        store: &store,
        runner: &runner,
        clock: &clock,
        observer: None,
        operator: "tester",
    };
    let waiting = engine
        .start(json!({}), "w.toml".into(), "d".into(), BTreeMap::new())
        .await
        .unwrap();
    let run = waiting.state.id.clone();
    let summary = |store: &MemoryStore| store.summaries().unwrap().pop().unwrap();
    assert_eq!(summary(&store).expires_at, Some(1_000 + 3_600_000));

    clock
        .0
        .store(1_000 + 3_599_999, std::sync::atomic::Ordering::SeqCst);
    let early = baton_engine::expire(&store, &clock, &run).unwrap();
    assert!(
        early.events.is_empty(),
        "one millisecond early: nothing due"
    );

    clock
        .0
        .store(1_000 + 3_600_000, std::sync::atomic::Ordering::SeqCst);
    let expired = baton_engine::expire(&store, &clock, &run).unwrap();
    assert_eq!(expired.events.len(), 1);
    assert!(matches!(
        &expired.events[0],
        RunEvent::DecisionMade { outcome: DecisionOutcome::Expired { action: OnTimeout::Reject }, by, .. } if by == "timeout"
    ));
    assert_eq!(summary(&store).expires_at, None, "nothing left to expire");
    assert!(
        baton_engine::expire(&store, &clock, &run)
            .unwrap()
            .events
            .is_empty(),
        "expiring twice records nothing"
    );
    // The run continues when an engine next advances it: the branch was rejected.
    assert_eq!(
        engine.advance(&run).await.unwrap().status(),
        RunStatus::Rejected
    );
}

fn exchange() -> LlmExchange {
    LlmExchange {
        plugin: "asks".into(),
        provider: "local".into(),
        model: "m".into(),
        request_digest: "d1".into(),
        request: json!({"messages": []}),
        response: Some(json!({"text": "hi"})),
        error: None,
        tokens_in: 30,
        tokens_out: 12,
        latency_ms: 5,
        attempts: 1,
        cost_usd: None,
    }
}

#[tokio::test]
async fn an_exchange_is_committed_before_its_step_and_handed_back_when_the_step_runs_again() {
    let wf = workflow(
        r#"
[[steps]]
id = "ask"
uses = "asks"
"#,
    );
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let done = start(&engine, json!({})).await;
    assert_eq!(done.status(), RunStatus::Completed);
    let run = done.state.id.clone();
    let kinds: Vec<String> = store
        .events(&run)
        .unwrap()
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "step_started",
            "llm_exchanged",
            "step_completed",
            "run_completed"
        ]
    );
    assert_eq!(done.state.llm_usage(Some("asks")).tokens(), 42);

    // The process died after the exchange was recorded: the step runs again, and is
    // given the recorded exchange and the run's usage so far.
    {
        let mut logs = store.logs.lock().unwrap();
        let log = logs.get_mut(&run).unwrap();
        let cut = log
            .iter()
            .position(|e| matches!(e, RunEvent::StepCompleted { .. }))
            .unwrap();
        log.truncate(cut);
    }
    let resumed = engine.advance(&run).await.unwrap();
    let ask = resumed
        .state
        .step(&StepKey::whole("ask".to_string().try_into().unwrap()))
        .unwrap();
    assert_eq!(ask.output, Some(json!({"recorded": 1, "prior_calls": 1})));
    assert_eq!(ask.attempts, 2);
    assert_eq!(
        ask.llm.len(),
        1,
        "the exchange is kept across attempts, not recorded twice"
    );
}

#[tokio::test]
async fn only_a_listed_approver_may_decide_and_a_refusal_records_nothing() {
    let wf = workflow(&GATED.replace(
        "title = \"Send?\"",
        "title = \"Send?\"\napprovers = [\"maria\", \"li\"]",
    ));
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let waiting = start(&engine, json!({})).await;
    let id = waiting.state.pending().next().unwrap().request.id.clone();
    let refused = engine
        .decide(&id, Decision::Approve { choice: 0 }, "bo")
        .await
        .unwrap_err();
    assert!(
        matches!(refused, EngineError::NotAnApprover { ref operator, .. } if operator == "bo"),
        "{refused}"
    );
    assert!(refused.to_string().contains("maria, li"), "{refused}");
    assert_eq!(engine.load(&id.run).unwrap().status(), RunStatus::Waiting);
    let done = engine
        .decide(&id, Decision::Approve { choice: 0 }, "li")
        .await
        .unwrap();
    assert_eq!(done.status(), RunStatus::Completed);
    assert_eq!(done.state.decisions[&id].decided_by.as_deref(), Some("li"));
}

/// A gate that auto-approves its kind and samples `share` of them for spot checks.
fn spot_checked(share: &str) -> Workflow {
    workflow(&format!(
        r#"
[[steps]]
id = "draft"
uses = "drafts"
[[steps]]
id = "review"
approve = "draft"
title = "Send?"
choices = "steps.draft.output.variants"
kind = "{{{{ input.kind }}}}"
auto_approve = "kind == 'routine'"
spot_check = "{share}"
"#
    ))
}

#[tokio::test]
async fn spot_checks_draw_about_their_share_of_auto_approved_decisions_and_nothing_else() {
    let wf = spot_checked("10%");
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let mut drawn = 0;
    for _ in 0..1000 {
        let done = start(&engine, json!({"kind": "routine"})).await;
        assert_eq!(done.status(), RunStatus::Completed);
        let requested = done
            .events
            .iter()
            .filter(|e| matches!(e, RunEvent::SpotCheckRequested { .. }))
            .count();
        drawn += requested;
        assert_eq!(done.state.spot_checks_due().count(), requested);
    }
    // A hash of each id: spread evenly, so 1,000 draws land near 100.
    assert!((60..=140).contains(&drawn), "drew {drawn} of 1000 at 10%");
    // A decision a person makes is never drawn.
    let waiting = start(&engine, json!({"kind": "unusual"})).await;
    assert_eq!(waiting.status(), RunStatus::Waiting);
    assert!(
        !waiting
            .events
            .iter()
            .any(|e| matches!(e, RunEvent::SpotCheckRequested { .. }))
    );
}

#[tokio::test]
async fn a_suspended_kind_comes_to_a_person_and_says_why_while_other_kinds_auto_approve() {
    let wf = spot_checked("100%");
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let suspension = baton_core::Suspension {
        workflow: "t".into(),
        gate: "review".into(),
        kind: Some("routine".into()),
        at: 1,
        agreed: 1,
        checked: 4,
        min_agreement: 0.8,
        by: "li".into(),
        run: "r".into(),
        resumed_at: None,
        resumed_by: None,
    };
    let engine = Engine {
        suspended: baton_engine::Suspended(vec![suspension.clone()]),
        ..engine!(wf, store, runner)
    };
    let held = start(&engine, json!({"kind": "routine"})).await;
    assert_eq!(held.status(), RunStatus::Waiting);
    let request = &held.state.pending().next().unwrap().request;
    assert_eq!(
        request.auto_suspended.as_deref(),
        Some(
            "auto-approval of t/review kind routine is suspended: spot checks agreed with 1 of 4 (25%, below the 80% the gate asks); its decisions come to people until it is resumed"
        )
    );
    // Resumed, the rule decides again.
    let resumed = baton_core::Suspension {
        resumed_at: Some(2),
        ..suspension
    };
    let engine = Engine {
        suspended: baton_engine::Suspended(vec![resumed]),
        ..engine!(wf, store, runner)
    };
    assert_eq!(
        start(&engine, json!({"kind": "routine"})).await.status(),
        RunStatus::Completed
    );
}

#[tokio::test]
async fn a_spot_check_is_answered_once_by_an_approver_and_an_outcome_needs_a_decision() {
    let wf = spot_checked("100%");
    let (store, runner) = (MemoryStore::default(), FakeRunner::default());
    let engine = engine!(wf, store, runner);
    let done = start(&engine, json!({"kind": "routine"})).await;
    let id = done.state.decisions.keys().next().unwrap().clone();
    let answer = baton_core::SpotCheckAnswer {
        would: DecisionOutcome::Approved { choice: 5 },
        note: None,
    };
    let refused =
        baton_engine::answer_spot_check(&store, &FixedClock, &id, answer, "li").unwrap_err();
    assert!(
        matches!(refused, EngineError::NoSuchChoice { choice: 5, .. }),
        "{refused}"
    );
    let answer = baton_core::SpotCheckAnswer {
        would: DecisionOutcome::Rejected { reason: None },
        note: Some("wrong".into()),
    };
    let checked =
        baton_engine::answer_spot_check(&store, &FixedClock, &id, answer.clone(), "li").unwrap();
    let check = checked.state.decisions[&id].spot_check.clone().unwrap();
    assert!(!check.answer.unwrap().agrees());
    assert_eq!(checked.state.spot_checks_due().count(), 0);
    let again =
        baton_engine::answer_spot_check(&store, &FixedClock, &id, answer, "ana").unwrap_err();
    assert!(
        again.to_string().contains("already answered by li"),
        "{again}"
    );

    // Outcomes: only after a decision; several are kept in order.
    let waiting = start(&engine, json!({"kind": "unusual"})).await;
    let pending = waiting.state.decisions.keys().next().unwrap().clone();
    let early =
        baton_engine::record_outcome(&store, &FixedClock, &pending, true, None, "ana").unwrap_err();
    assert!(
        early
            .to_string()
            .contains("is pending: record what happened after it once it is decided"),
        "{early}"
    );
    baton_engine::record_outcome(&store, &FixedClock, &id, true, None, "ana").unwrap();
    let after = baton_engine::record_outcome(
        &store,
        &FixedClock,
        &id,
        false,
        Some("reverted".into()),
        "ana",
    )
    .unwrap();
    let outcomes = &after.state.decisions[&id].outcomes;
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes[0].good && !outcomes[1].good);
}
