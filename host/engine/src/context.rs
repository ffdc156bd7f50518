//! The values a step's templates see: the run input and the outputs of the steps it
//! depends on (a `for_each` step's output is the list of its items' outputs, in
//! order, leaving out items that were skipped or rejected).

use baton_core::{RunState, StepId, StepKey, StepStatus};
use baton_workflow::{Context, Step, Workflow};
use serde_json::Value;

/// What a dependency looks like to a step that reads it.
pub(crate) enum DepView {
    Ready(Value),
    /// Not finished yet.
    Pending,
    /// Finished without an output (skipped, rejected): the reader is skipped too.
    NoOutput(String),
    Failed,
}

pub(crate) fn dep_view(workflow: &Workflow, state: &RunState, dep: &StepId) -> DepView {
    let Some(step) = workflow.step(dep) else {
        return DepView::Failed;
    };
    if !workflow.is_itemized(step) {
        return match state.step(&StepKey::whole(dep.clone())) {
            None => DepView::Pending,
            Some(record) => match record.status {
                StepStatus::Completed => {
                    DepView::Ready(record.output.clone().unwrap_or(Value::Null))
                }
                StepStatus::Running | StepStatus::Waiting => DepView::Pending,
                StepStatus::Skipped => DepView::NoOutput(format!("step {dep} was skipped")),
                StepStatus::Rejected => DepView::NoOutput(format!("gate {dep} was rejected")),
                StepStatus::Withdrawn => DepView::NoOutput(format!("gate {dep} was withdrawn")),
                StepStatus::Failed => DepView::Failed,
            },
        };
    }
    // An itemized step that failed as a whole (its list did not evaluate).
    if let Some(record) = state.step(&StepKey::whole(dep.clone())) {
        return match record.status {
            StepStatus::Failed => DepView::Failed,
            StepStatus::Skipped => DepView::NoOutput(format!("step {dep} was skipped")),
            _ => DepView::Pending,
        };
    }
    let Some(count) = item_count(workflow, state, step) else {
        return DepView::Pending;
    };
    let mut outputs = Vec::new();
    for item in 0..count {
        match state
            .step(&StepKey::item(dep.clone(), item))
            .map(|r| r.status)
        {
            Some(StepStatus::Completed) => outputs.push(
                state
                    .step(&StepKey::item(dep.clone(), item))
                    .and_then(|r| r.output.clone())
                    .unwrap_or(Value::Null),
            ),
            Some(StepStatus::Skipped | StepStatus::Rejected | StepStatus::Withdrawn) => {}
            Some(StepStatus::Failed) => return DepView::Failed,
            _ => return DepView::Pending,
        }
    }
    DepView::Ready(Value::Array(outputs))
}

/// How many items an itemized step has, once known.
pub(crate) fn item_count(workflow: &Workflow, state: &RunState, step: &Step) -> Option<u32> {
    if let Some(source) = &step.after_each {
        return item_count(workflow, state, workflow.step(source)?);
    }
    if step.for_each.is_some() {
        return state.expansions.get(&step.id).copied();
    }
    match &step.kind {
        baton_workflow::StepKind::Gate(gate) => {
            let approved = workflow.step(&gate.approve)?;
            item_count(workflow, state, approved)
        }
        baton_workflow::StepKind::Task { .. } => None,
    }
}

/// Builds the context of `step` when every dependency is ready; otherwise says why not.
pub(crate) fn context_for(
    workflow: &Workflow,
    state: &RunState,
    step: &Step,
) -> Result<Context, DepView> {
    let mut context = Context {
        input: state.input.clone(),
        ..Context::default()
    };
    for dep in &step.depends_on {
        match dep_view(workflow, state, dep) {
            DepView::Ready(value) => context.with_output(dep.as_str(), value),
            other => return Err(other),
        }
    }
    Ok(context)
}

/// The context of a step that follows `source` item by item (`after_each`): every
/// other dependency ready, and `steps.<source>.output` the outputs of the items done
/// so far, in order (rejected and skipped ones left out).
pub(crate) fn context_after_each(
    workflow: &Workflow,
    state: &RunState,
    step: &Step,
    source: &StepId,
) -> Result<Context, DepView> {
    let mut context = Context {
        input: state.input.clone(),
        ..Context::default()
    };
    for dep in step.depends_on.iter().filter(|dep| *dep != source) {
        match dep_view(workflow, state, dep) {
            DepView::Ready(value) => context.with_output(dep.as_str(), value),
            other => return Err(other),
        }
    }
    let count = workflow
        .step(source)
        .and_then(|s| item_count(workflow, state, s))
        .unwrap_or(0);
    let done: Vec<Value> = (0..count)
        .filter_map(|item| state.step(&StepKey::item(source.clone(), item)))
        .filter(|record| record.status == StepStatus::Completed)
        .map(|record| record.output.clone().unwrap_or(Value::Null))
        .collect();
    context.with_output(source.as_str(), Value::Array(done));
    Ok(context)
}

/// Everything a run has so far: its input and the output of every step that has one
/// (what a workflow's `summary` renders over).
pub(crate) fn context_all(workflow: &Workflow, state: &RunState) -> Context {
    let mut context = Context {
        input: state.input.clone(),
        ..Context::default()
    };
    for step in &workflow.steps {
        if let DepView::Ready(value) = dep_view(workflow, state, &step.id) {
            context.with_output(step.id.as_str(), value);
        }
    }
    context
}
