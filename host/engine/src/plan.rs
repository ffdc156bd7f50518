//! What can happen next in a run, computed from its state alone: expand `for_each`
//! lists, skip steps whose condition is false or whose input has no output, open
//! gates, and run tasks (again, if a crash interrupted them).

use baton_core::{
    DecisionId, DecisionRequest, RunState, Severity, StepFailure, StepId, StepKey, StepStatus,
    Timestamp,
};
use baton_workflow::{Context, Gate, Step, StepKind, Workflow};
use serde_json::Value;

use crate::context::{DepView, context_after_each, context_for, dep_view, item_count};

/// A gate offers its default and at most this many choices in all.
const MAX_CHOICES: usize = 4;

#[derive(Debug)]
pub(crate) enum Action {
    Expand {
        step: StepId,
        items: u32,
    },
    Skip {
        key: StepKey,
        reason: String,
    },
    Fail {
        key: StepKey,
        error: StepFailure,
    },
    OpenGate {
        key: StepKey,
        request: Box<DecisionRequest>,
        auto: Option<String>,
    },
    Run {
        key: StepKey,
        plugin: baton_core::PluginName,
        input: Value,
        attempt: u32,
    },
}

fn template_failure(key: &StepKey, field: &str, error: impl std::fmt::Display) -> Action {
    Action::Fail {
        key: key.clone(),
        error: StepFailure {
            kind: "template".into(),
            message: format!("{field}: {error}"),
        },
    }
}

pub(crate) fn plan(workflow: &Workflow, state: &RunState, now: Timestamp) -> Vec<Action> {
    let mut actions = Vec::new();
    for step in &workflow.steps {
        plan_step(workflow, state, step, now, &mut actions);
    }
    actions
}

fn plan_step(
    workflow: &Workflow,
    state: &RunState,
    step: &Step,
    now: Timestamp,
    actions: &mut Vec<Action>,
) {
    let whole = StepKey::whole(step.id.clone());
    // Most steps are settled most of the time: decide that before building a context,
    // which copies the outputs the step reads.
    if is_settled(workflow, state, step) {
        return;
    }
    if let Some(source) = &step.after_each {
        plan_after_each(workflow, state, step, source, now, actions);
        return;
    }
    let context = match context_for(workflow, state, step) {
        Ok(context) => context,
        Err(DepView::NoOutput(reason)) => {
            if state.step(&whole).is_none()
                && !state.expansions.contains_key(&step.id)
                && no_items_started(state, &step.id)
            {
                actions.push(Action::Skip { key: whole, reason });
            }
            return;
        }
        Err(_) => return,
    };
    if let Some(for_each) = &step.for_each {
        let list = match for_each.eval(&context) {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                if state.step(&whole).is_none() {
                    actions.push(template_failure(
                        &whole,
                        "for_each",
                        format!("`{}` gave {other}, not a list", for_each.source()),
                    ));
                }
                return;
            }
            Err(e) => {
                if state.step(&whole).is_none() {
                    actions.push(template_failure(&whole, "for_each", e));
                }
                return;
            }
        };
        let Some(count) = state.expansions.get(&step.id) else {
            actions.push(Action::Expand {
                step: step.id.clone(),
                items: list.len() as u32,
            });
            return;
        };
        for (index, item) in list.into_iter().enumerate().take(*count as usize) {
            let mut item_context = context.clone();
            item_context.item = Some((item, index as u32));
            plan_unit(
                workflow,
                state,
                step,
                StepKey::item(step.id.clone(), index as u32),
                item_context,
                now,
                actions,
            );
        }
        return;
    }
    if let StepKind::Gate(gate) = &step.kind
        && let Some(approved) = workflow.step(&gate.approve)
        && workflow.is_itemized(approved)
    {
        let Some(count) = item_count(workflow, state, approved) else {
            return;
        };
        for index in 0..count {
            let key = StepKey::item(step.id.clone(), index);
            let source = state.step(&StepKey::item(gate.approve.clone(), index));
            match source.map(|r| (r.status, r.output.clone())) {
                Some((StepStatus::Completed, output)) => {
                    let output = output.unwrap_or(Value::Null);
                    let mut item_context = context.clone();
                    item_context.with_output(gate.approve.as_str(), output.clone());
                    item_context.item = Some((output, index));
                    plan_unit(workflow, state, step, key, item_context, now, actions);
                }
                _ if state.step(&key).is_none() => actions.push(Action::Skip {
                    key,
                    reason: format!("{}[{index}] has no output to decide on", gate.approve),
                }),
                _ => {}
            }
        }
        return;
    }
    plan_unit(workflow, state, step, whole, context, now, actions);
}

/// A step that follows `source` item by item: each item's unit runs as soon as that
/// item is done (an approval executes at once), and is skipped when the item was
/// rejected or skipped.
fn plan_after_each(
    workflow: &Workflow,
    state: &RunState,
    step: &Step,
    source: &StepId,
    now: Timestamp,
    actions: &mut Vec<Action>,
) {
    let whole = StepKey::whole(step.id.clone());
    let unstarted = || state.step(&whole).is_none() && no_items_started(state, &step.id);
    match dep_view(workflow, state, source) {
        DepView::NoOutput(reason) => {
            if unstarted() {
                actions.push(Action::Skip { key: whole, reason });
            }
            return;
        }
        DepView::Failed => return,
        DepView::Ready(_) | DepView::Pending => {}
    }
    let context = match context_after_each(workflow, state, step, source) {
        Ok(context) => context,
        Err(DepView::NoOutput(reason)) => {
            if unstarted() {
                actions.push(Action::Skip { key: whole, reason });
            }
            return;
        }
        Err(_) => return,
    };
    let Some(count) = workflow
        .step(source)
        .and_then(|s| item_count(workflow, state, s))
    else {
        return;
    };
    for index in 0..count {
        let key = StepKey::item(step.id.clone(), index);
        let done = state.step(&StepKey::item(source.clone(), index));
        match done.map(|r| (r.status, r.output.clone())) {
            Some((StepStatus::Completed, output)) => {
                let mut item_context = context.clone();
                item_context.item = Some((output.unwrap_or(Value::Null), index));
                plan_unit(workflow, state, step, key, item_context, now, actions);
            }
            Some((
                status @ (StepStatus::Skipped | StepStatus::Rejected | StepStatus::Withdrawn),
                _,
            )) if state.step(&key).is_none() => {
                let word = match status {
                    StepStatus::Skipped => "skipped",
                    StepStatus::Rejected => "rejected",
                    _ => "withdrawn",
                };
                actions.push(Action::Skip {
                    key,
                    reason: format!("{source}[{index}] was {word}"),
                });
            }
            _ => {}
        }
    }
}

/// Nothing left to plan: the step finished (or waits at its gate) as a whole, or
/// every one of its items did. A step interrupted by a crash is not settled.
fn is_settled(workflow: &Workflow, state: &RunState, step: &Step) -> bool {
    let done = |key: &StepKey| {
        state
            .step(key)
            .is_some_and(|r| r.status != StepStatus::Running)
    };
    if done(&StepKey::whole(step.id.clone())) {
        return true;
    }
    match item_count(workflow, state, step) {
        Some(count) if workflow.is_itemized(step) => {
            (0..count).all(|item| done(&StepKey::item(step.id.clone(), item)))
        }
        _ => false,
    }
}

fn no_items_started(state: &RunState, step: &StepId) -> bool {
    !state.steps.keys().any(|k| &k.step == step)
}

fn plan_unit(
    workflow: &Workflow,
    state: &RunState,
    step: &Step,
    key: StepKey,
    context: Context,
    now: Timestamp,
    actions: &mut Vec<Action>,
) {
    let attempt = match state.step(&key) {
        None => 1,
        // Started but never finished: the process died during the call. Run it again.
        Some(record) if record.status == StepStatus::Running => record.attempts + 1,
        Some(_) => return,
    };
    if attempt == 1
        && let Some(when) = &step.when
    {
        match when.eval_bool(&context) {
            Ok(true) => {}
            Ok(false) => {
                actions.push(Action::Skip {
                    key,
                    reason: format!("`when` was false: {}", when.source()),
                });
                return;
            }
            Err(e) => {
                actions.push(template_failure(&key, "when", e));
                return;
            }
        }
    }
    match &step.kind {
        StepKind::Task { uses, input } => match input.render(&context) {
            Ok(input) => actions.push(Action::Run {
                key,
                plugin: uses.clone(),
                input,
                attempt,
            }),
            Err(e) => actions.push(template_failure(&key, "input", e)),
        },
        StepKind::Gate(gate) => match open_gate(workflow, state, gate, &key, &context, now) {
            Ok((request, auto)) => actions.push(Action::OpenGate {
                key,
                request: Box::new(request),
                auto,
            }),
            Err((field, message)) => actions.push(template_failure(&key, field, message)),
        },
    }
}

fn open_gate(
    workflow: &Workflow,
    state: &RunState,
    gate: &Gate,
    key: &StepKey,
    context: &Context,
    now: Timestamp,
) -> Result<(DecisionRequest, Option<String>), (&'static str, String)> {
    let title = gate
        .title
        .render_text(context)
        .map_err(|e| ("title", e.to_string()))?;
    let reason = gate
        .reason
        .render_text(context)
        .map_err(|e| ("reason", e.to_string()))?;
    let severity = gate
        .severity
        .render_text(context)
        .map_err(|e| ("severity", e.to_string()))?;
    let severity = Severity::parse(&severity).ok_or_else(|| {
        (
            "severity",
            format!("{severity:?} is not one of critical, high, monitor, info"),
        )
    })?;
    let choices = match &gate.choices {
        Some(expr) => match expr.eval(context).map_err(|e| ("choices", e.to_string()))? {
            Value::Array(items) if items.is_empty() => {
                return Err((
                    "choices",
                    format!(
                        "`{}` gave an empty list; a gate needs at least its default",
                        expr.source()
                    ),
                ));
            }
            Value::Array(mut items) => {
                items.truncate(MAX_CHOICES);
                items
            }
            single => vec![single],
        },
        None => vec![
            context
                .steps
                .get(gate.approve.as_str())
                .and_then(|s| s.get("output").cloned())
                .unwrap_or(Value::Null),
        ],
    };
    let gate_context = gate
        .context
        .as_ref()
        .map(|template| template.render(context))
        .transpose()
        .map_err(|e| ("context", e.to_string()))?;
    let views = match &gate.view {
        Some(view) => choices
            .iter()
            .map(|choice| {
                let mut context = context.clone();
                context.choice = Some(choice.clone());
                view.render_text(&context)
            })
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| ("view", e.to_string()))?,
        None => Vec::new(),
    };
    let kind = gate
        .kind
        .as_ref()
        .map(|template| template.render_text(context))
        .transpose()
        .map_err(|e| ("kind", e.to_string()))?
        .map(|kind| kind.trim().to_string())
        .filter(|kind| !kind.is_empty());
    let auto = match &gate.auto_approve {
        Some(expr) => match expr.eval_bool(&Context {
            kind: kind.clone(),
            ..context.clone()
        }) {
            Ok(true) => Some(format!("auto-approve: {}", expr.source())),
            Ok(false) => None,
            Err(e) => return Err(("auto_approve", e.to_string())),
        },
        None => None,
    };
    let request = DecisionRequest {
        id: DecisionId::new(state.id.clone(), key.clone()),
        title,
        reason,
        severity,
        choices,
        context: gate_context,
        editable: gate.editable,
        schema_plugin: workflow.gated_plugin(gate).map(|p| p.to_string()),
        edit_schema: gate.edit_schema.clone(),
        expires_at: gate.timeout.map(|t| now + t.as_millis() as u64),
        on_timeout: gate.on_timeout,
        approvers: gate.approvers.clone(),
        views,
        kind,
        spot_check: gate.spot_check,
        auto_suspended: None,
        inbox_only: gate.inbox_only,
    };
    Ok((request, auto))
}
