//! How a run is shown to the operator: what happened per step, and the decisions it
//! waits on with the exact command to make each. Plugin text is escaped.

use std::io::IsTerminal;

use baton_core::LlmUsage;
use baton_core::{DecisionRecord, Earlier, RunEvent, RunState, StepRecord, StepStatus};
use baton_engine::format_time;
use baton_store::AuditEntry;
use serde_json::{Value, json};

use crate::terminal::{escape_control, shorten, tell};
use crate::view::Doc;

/// A step's status in a word: done, skipped, failed, interrupted, waiting, rejected,
/// withdrawn.
pub fn step_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Completed => "done",
        StepStatus::Skipped => "skipped",
        StepStatus::Failed => "failed",
        StepStatus::Running => "interrupted",
        StepStatus::Waiting => "waiting",
        StepStatus::Rejected => "rejected",
        StepStatus::Withdrawn => "withdrawn",
    }
}

/// One line per step, in the order they started.
pub fn steps(state: &RunState) -> String {
    let mut records: Vec<&StepRecord> = state.steps.values().collect();
    records.sort_by_key(|r| (r.started_at, r.key.clone()));
    let mut out = String::new();
    for record in records {
        // A failure stands out in a terminal.
        let status = match record.status {
            StepStatus::Failed => "FAILED",
            other => step_word(other),
        };
        let mut detail = match (record.status, record.elapsed_ms) {
            (StepStatus::Completed, Some(ms)) => format!("{ms} ms"),
            _ => String::new(),
        };
        if record.attempts > 1 {
            detail.push_str(&format!(" (attempt {})", record.attempts));
        }
        if let Some(reason) = &record.skipped_because {
            detail = reason.clone();
        }
        if let Some(error) = &record.error {
            detail = format!("{}: {}", error.kind, error.message);
        }
        out.push_str(&format!(
            "  {status:<11} {:<18} {}\n",
            record.key.to_string(),
            escape_control(detail.trim())
        ));
        if !record.llm.is_empty() {
            let failed = record.llm.iter().filter(|e| !e.answered()).count();
            let models: std::collections::BTreeSet<&str> =
                record.llm.iter().map(|e| e.model.as_str()).collect();
            let mut line = format!(
                "{} ({})",
                usage_text(&LlmUsage::of(&record.llm)),
                models.into_iter().collect::<Vec<_>>().join(", ")
            );
            if failed > 0 {
                line.push_str(&format!(", {failed} failed"));
            }
            out.push_str(&format!(
                "  {:<11} {:<18} {}\n",
                "",
                "  llm",
                escape_control(&line)
            ));
        }
    }
    let usage = state.llm_usage(None);
    if usage.calls > 0 {
        out.push_str(&format!("\n  model use: {}\n", usage_text(&usage)));
    }
    out
}

/// `2 calls, 1,234 tokens (812 in, 422 out), $0.0042`.
pub fn usage_text(usage: &LlmUsage) -> String {
    let cost = match (usage.cost_usd, usage.unpriced) {
        (_, true) if usage.cost_usd == 0.0 => "cost unknown (no price configured)".to_string(),
        (cost, true) => format!("at least ${cost:.4} (some models have no price)"),
        (cost, false) => format!("${cost:.4}"),
    };
    format!(
        "{} call{}, {} tokens ({} in, {} out), {cost}",
        usage.calls,
        if usage.calls == 1 { "" } else { "s" },
        usage.tokens(),
        usage.tokens_in,
        usage.tokens_out
    )
}

/// A one-line view of a choice: what it does, an email's subject, or compact JSON.
pub fn choice_summary(value: &Value) -> String {
    escape_control(&shorten(&baton_core::choice_headline(value), 100)).into_owned()
}

/// What a decision did, in words an operator uses, and where its run stands now:
/// "Approved: Pause the campaign Competitors. 9 decisions left in this ads-audit run."
/// `None` when the run has no such decision, or it is not decided.
pub fn decided_line(state: &RunState, id: &baton_core::DecisionId) -> Option<String> {
    use baton_core::{DecisionOutcome, OnTimeout, RunStatus};
    let record = state.decisions.get(id)?;
    let proposed = || {
        record
            .request
            .choices
            .first()
            .map(choice_summary)
            .unwrap_or_default()
    };
    let (verb, what) = match record.outcome.as_ref()? {
        DecisionOutcome::Approved { choice: 0 } => ("Approved", proposed()),
        DecisionOutcome::Approved { choice } => (
            "Approved an alternative",
            record
                .request
                .choices
                .get(*choice)
                .map(choice_summary)
                .unwrap_or_default(),
        ),
        DecisionOutcome::Edited { value } => ("Approved your edit", choice_summary(value)),
        DecisionOutcome::Rejected { .. } => ("Rejected", proposed()),
        DecisionOutcome::Expired {
            action: OnTimeout::ApproveDefault,
        } => ("Expired, approved as proposed", proposed()),
        DecisionOutcome::Expired {
            action: OnTimeout::Reject,
        } => ("Expired, rejected", proposed()),
    };
    let what = what.trim_end_matches('.');
    let workflow = escape_control(&state.workflow);
    let next = match state.status() {
        RunStatus::Waiting => {
            let left = state.pending().count();
            format!(
                "{left} decision{} left in this {workflow} run",
                if left == 1 { "" } else { "s" }
            )
        }
        RunStatus::Running => format!("The {workflow} run goes on"),
        RunStatus::Completed => format!("The {workflow} run is done"),
        RunStatus::Failed => format!(
            "The {workflow} run failed: {}",
            state.finish_note().map(escape_control).unwrap_or_default()
        ),
        other => format!("The {workflow} run is {}", other.as_str()),
    };
    Some(format!("{verb}: {what}. {next}."))
}

/// A value at a glance, two spaces in, for a decision's context and its default's
/// fields: an object's first eight fields as `key: value` (text to its first line, a
/// list of scalars one per line, a list of records one line each of its scalar fields,
/// anything else by size); any other value on one line. Never a JSON dump: `host show`
/// and focus's `v` show the whole value. Text from plugins is escaped.
pub fn glance(value: &Value) -> Vec<String> {
    const MAX_FIELDS: usize = 8;
    const MAX_ITEMS: usize = 6;
    const MAX_RECORDS: usize = 3;
    let scalar = |v: &Value| v.as_str().map(str::to_string).unwrap_or(v.to_string());
    let short = |text: &str| escape_control(&shorten(text, 120)).into_owned();
    let more = |lines: &mut Vec<String>, total: usize, shown: usize| {
        if total > shown {
            lines.push(format!("    ... {} more", total - shown));
        }
    };
    let Value::Object(map) = value else {
        return vec![format!("  {}", short(&scalar(value)))];
    };
    let is_scalar = |v: &Value| !v.is_object() && !v.is_array();
    let mut lines = Vec::new();
    for (key, value) in map.iter().take(MAX_FIELDS) {
        let key = escape_control(key);
        match value {
            Value::Array(items) if items.is_empty() => lines.push(format!("  {key}: none")),
            Value::Array(items) if items.iter().all(is_scalar) => {
                lines.push(format!("  {key}:"));
                for item in items.iter().take(MAX_ITEMS) {
                    lines.push(format!("    - {}", short(&scalar(item))));
                }
                more(&mut lines, items.len(), MAX_ITEMS);
            }
            Value::Array(items) if items.iter().all(Value::is_object) => {
                lines.push(format!("  {key}:"));
                for item in items.iter().take(MAX_RECORDS) {
                    let fields: Vec<String> = item
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(_, v)| is_scalar(v))
                        .map(|(k, v)| format!("{k}: {}", scalar(v)))
                        .collect();
                    lines.push(format!("    - {}", short(&fields.join(" · "))));
                }
                more(&mut lines, items.len(), MAX_RECORDS);
            }
            Value::Array(items) => lines.push(format!(
                "  {key}: {} item{}",
                items.len(),
                if items.len() == 1 { "" } else { "s" }
            )),
            Value::Object(inner) => lines.push(format!(
                "  {key}: {{{}}}",
                short(&inner.keys().cloned().collect::<Vec<_>>().join(", "))
            )),
            other => lines.push(format!("  {key}: {}", short(&scalar(other)))),
        }
    }
    lines
}

/// What earlier decisions of the run did to what this one touches, a line each:
/// `Approved earlier in this run: Pause the campaign Competitors (on campaign:Competitors)`.
pub fn earlier_lines(earlier: &[Earlier]) -> Vec<String> {
    earlier
        .iter()
        .map(|e| {
            format!(
                "Approved earlier in this run: {} (on {})",
                choice_summary(&e.value),
                escape_control(&e.entities.join(", "))
            )
        })
        .collect()
}

/// Why choice `index` may contradict an earlier decision, if it touches what one
/// changed: `touches campaign:Competitors, which an earlier decision changed`.
pub fn conflict_note(earlier: &[Earlier], index: usize) -> Option<String> {
    let entities: Vec<&str> = earlier
        .iter()
        .filter(|e| e.choices.contains(&index))
        .flat_map(|e| e.entities.iter().map(String::as_str))
        .collect();
    (!entities.is_empty()).then(|| {
        format!(
            "touches {}, which an earlier decision changed",
            escape_control(&entities.join(", "))
        )
    })
}

/// A pending decision, with how to make it: the default read whole (its gate's view,
/// or one derived from the value), then the alternatives in a line each; what earlier
/// decisions of the run did to the same things, and which choices touch them.
/// A spot check as `host inbox` lists it: what was auto-approved, when, and how to
/// answer.
pub fn spot_check(record: &DecisionRecord, now: u64) -> String {
    let request = &record.request;
    let id = request.id.to_string();
    let ago = record
        .decided_at
        .map(|at| format!("auto-approved {} ago", wait_time(now.saturating_sub(at))))
        .unwrap_or_else(|| "auto-approved".into());
    let kind = request
        .kind
        .as_deref()
        .map(|k| format!("  [{}]", escape_control(k)))
        .unwrap_or_default();
    let mut out = format!(
        "review {id}{kind}\n  {ago}: {}\n",
        escape_control(&request.title)
    );
    let width = crate::terminal::width().saturating_sub(6);
    out.push_str("  approved (the default):\n");
    for line in Doc::for_choice(request, 0).text_lines(width) {
        out.push_str(&format!("      {line}\n").replace("      \n", "\n"));
    }
    for (index, choice) in request.choices.iter().enumerate().skip(1) {
        out.push_str(&format!(
            "  {index} (alternative): {}\n",
            choice_summary(choice)
        ));
    }
    out.push_str(&format!(
        "  agree: host spot-check {id} --agree; otherwise --choice N or --reject, with --note why\n"
    ));
    out
}

pub fn decision(record: &DecisionRecord, earlier: &[Earlier], about: Option<&str>) -> String {
    let request = &record.request;
    let id = request.id.to_string();
    let mut out = format!(
        "decision {id}  [{}]\n  {}\n",
        request.severity.as_str(),
        escape_control(&request.title)
    );
    if let Some(about) = about {
        out.push_str(&format!("  about {}\n", escape_control(about)));
    }
    if !request.reason.is_empty() {
        out.push_str(&format!("  {}\n", escape_control(&request.reason)));
    }
    if let Some(note) = &request.auto_suspended {
        out.push_str(&format!("  ! comes to you: {}\n", escape_control(note)));
    }
    if let Some(context) = &request.context {
        for line in glance(context) {
            out.push_str(&format!("  {line}\n"));
        }
    }
    for line in earlier_lines(earlier) {
        out.push_str(&format!("  ! {line}\n"));
    }
    let note = |index: usize| {
        conflict_note(earlier, index)
            .map(|note| format!("  [! {note}]"))
            .unwrap_or_default()
    };
    out.push_str(&format!("  0 (default):{}\n", note(0)));
    let width = crate::terminal::width().saturating_sub(6);
    for line in Doc::for_choice(request, 0).text_lines(width) {
        out.push_str(&format!("      {line}\n").replace("      \n", "\n"));
    }
    for (index, choice) in request.choices.iter().enumerate().skip(1) {
        out.push_str(&format!(
            "  {index} (alternative): {}{}\n",
            choice_summary(choice),
            note(index)
        ));
    }
    if let Some(expires) = request.expires_at {
        out.push_str(&format!("  expires {}\n", format_time(expires)));
    }
    out.push_str(&format!("  approve: host approve {id}"));
    if request.choices.len() > 1 {
        out.push_str(&format!("  |  host approve {id} --choice N"));
    }
    if request.editable {
        out.push_str(&format!("  |  host approve {id} --edit FILE"));
    }
    out.push_str(&format!("\n  reject:  host reject {id} --reason TEXT\n"));
    out
}

/// What `host run`, `approve`, `reject` and `resume` print.
pub fn outcome_text(state: &RunState) -> String {
    let status = state.status();
    let pending: Vec<&DecisionRecord> = state.pending().collect();
    let headline = match status {
        baton_core::RunStatus::Waiting => format!(
            "waiting for {} decision{}",
            pending.len(),
            if pending.len() == 1 { "" } else { "s" }
        ),
        other => other.as_str().to_string(),
    };
    let mut out = format!(
        "run {} ({}): {headline}\n",
        state.id,
        escape_control(&state.workflow)
    );
    if let Some(about) = &state.about {
        out.push_str(&format!("  about {}\n", escape_control(about)));
    }
    out.push_str(&steps(state));
    if let Some(note) = state.finish_note() {
        out.push_str(&format!("{}\n", escape_control(note)));
    }
    for record in pending {
        out.push('\n');
        out.push_str(&decision(
            record,
            &state.earlier_on(&record.request.id),
            state.about.as_deref(),
        ));
    }
    out
}

/// The whole derived state of a run, as `host show --json` prints it and the server's
/// `GET /api/runs/{run}` answers: the state with its status, finish note and model use.
pub fn state_json(state: &RunState) -> Value {
    let mut value = serde_json::to_value(state).unwrap_or(Value::Null);
    value["status"] = json!(state.status().as_str());
    value["error"] = json!(state.finish_note());
    value["llm"] = json!(state.llm_usage(None));
    value
}

pub fn outcome_json(state: &RunState) -> Value {
    let pending: Vec<&DecisionRecord> = state.pending().collect();
    json!({
        "run": state.id,
        "workflow": state.workflow,
        "status": state.status().as_str(),
        "decisions": pending,
        "steps": state.steps.values().collect::<Vec<_>>(),
        "error": state.finish_note(),
    })
}

/// Live progress on stderr while a run advances, only when stderr is a terminal;
/// piped output stays quiet.
pub fn progress() -> Option<&'static (dyn Fn(&RunEvent) + Sync)> {
    std::io::stderr().is_terminal().then_some(&show_progress)
}

fn show_progress(event: &RunEvent) {
    let line = match event {
        RunEvent::StepStarted { key, attempt, .. } if *attempt > 1 => {
            format!("{key}: running again (attempt {attempt}, interrupted before)")
        }
        RunEvent::StepStarted { key, .. } => format!("{key}: running"),
        RunEvent::StepCompleted {
            key, elapsed_ms, ..
        } => format!("{key}: done in {elapsed_ms} ms"),
        RunEvent::StepExpanded { step, items, .. } => format!("{step}: {items} items"),
        RunEvent::StepFailed { key, error, .. } => format!("{key}: failed ({})", error.kind),
        RunEvent::GateOpened { key, .. } => format!("{key}: waiting for a decision"),
        _ => return,
    };
    tell!("  .. {line}");
}

/// What a plugin may use, in words: every grant and secret, and that nothing else is.
pub fn grants_text(decl: &baton_workflow::PluginDecl) -> String {
    let mut parts: Vec<String> = Vec::new();
    for file in &decl.grants.files {
        parts.push(format!(
            "files {} as {} ({})",
            file.host.display(),
            file.guest,
            if file.write {
                "read-write"
            } else {
                "read-only"
            }
        ));
    }
    if !decl.grants.env.is_empty() {
        parts.push(format!("env {}", decl.grants.env.join(", ")));
    }
    if let Some(kv) = &decl.grants.kv {
        parts.push(format!(
            "kv (quota {}, {} keys)",
            baton_core::units::bytes(kv.max_bytes),
            kv.max_keys
        ));
    }
    if let Some(http) = &decl.grants.http {
        let rules: Vec<String> = http.rules.iter().map(ToString::to_string).collect();
        parts.push(format!(
            "http to {} (timeout {}, responses up to {}, {} requests per call)",
            rules.join(", "),
            baton_core::units::duration(http.timeout),
            baton_core::units::bytes(http.max_response),
            http.max_requests
        ));
    }
    if let Some(llm) = &decl.grants.llm {
        let model = match (&llm.provider, &llm.model) {
            (Some(provider), Some(model)) => format!("{model} on {provider}"),
            (Some(provider), None) => provider.clone(),
            (None, Some(model)) => model.clone(),
            (None, None) => "the default provider".into(),
        };
        parts.push(format!(
            "llm via {model} ({} tokens per call, {} per run, {} calls per run)",
            llm.tokens_per_call, llm.tokens_per_run, llm.calls_per_run
        ));
    }
    for (key, variable) in &decl.secrets {
        parts.push(format!("secret config `{key}` from ${variable}"));
    }
    if parts.is_empty() {
        "nothing (no files, environment, kv, network or llm)".to_string()
    } else {
        format!("{}; nothing else", parts.join("; "))
    }
}

/// `expired 01J…/review (on_timeout reject) of workflow W: the run is rejected`.
pub fn swept_line(swept: &baton_service::Swept) -> String {
    let decisions: Vec<String> = swept
        .expired
        .iter()
        .map(|e| format!("{} (on_timeout {})", e.decision, e.on_timeout.as_str()))
        .collect();
    let next = match (&swept.status, &swept.error) {
        (_, Some(problem)) => format!(
            "the run could not continue: {problem}; `host resume {}` continues it",
            swept.run
        ),
        (Some(status), None) => format!("the run is {}", status.as_str()),
        (None, None) => "the run could not continue".to_string(),
    };
    format!(
        "expired {} of workflow {}: {next}",
        decisions.join(", "),
        swept.workflow
    )
}

pub fn audit_entry_json(entry: &AuditEntry, by: &str) -> Value {
    let mut value = json!(entry);
    value["by"] = json!(by);
    value
}

/// A run's audit entries as JSON lines (`host audit RUN --jsonl`, and the server's export).
pub fn audit_jsonl(entries: &[(AuditEntry, String)]) -> String {
    entries
        .iter()
        .map(|(entry, by)| format!("{}\n", audit_entry_json(entry, by)))
        .collect()
}

/// `3m 12s`; under a second, `<1s`.
pub fn wait_time(ms: u64) -> String {
    if ms < 1_000 {
        return "<1s".into();
    }
    humantime::format_duration(std::time::Duration::from_secs(ms / 1_000)).to_string()
}

/// [`wait_time`] of a median that may not exist yet (`-`).
pub fn wait_or_dash(ms: Option<u64>) -> String {
    ms.map(wait_time).unwrap_or_else(|| "-".into())
}

/// Names, on stderr, the runs left out of a list because their logs cannot be read.
pub fn warn_unreadable(unreadable: &[baton_service::Unreadable]) {
    for run in unreadable {
        tell!(
            "warning: run {} of workflow {} cannot be read and is left out ({}); `host audit --verify` names the damage",
            run.run,
            run.workflow,
            escape_control(&run.error)
        );
    }
}
