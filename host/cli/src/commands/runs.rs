//! `host runs`, `host show` and `host inbox`: reading runs, never changing them.

use baton_core::{DecisionRecord, RunId};
use baton_engine::format_time;

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::report;
use crate::terminal::{escape_control, say, say_part};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  host runs --status waiting")]
pub struct RunsArgs {
    /// Only runs with this status
    #[arg(long, value_parser = ["running", "waiting", "completed", "failed", "rejected", "cancelled"])]
    status: Option<String>,
    /// Print a JSON array
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The default view lists each step with its status, time and error, each decision with what was chosen, and each decision that waits, in full. A step's output: --step STEP; everything: --json.\n\nExamples:\n  host show 01JD3KX5N7Q2W8ZB6T4VYR9M1C --step queue\n  host show 01JD3KX5N7Q2W8ZB6T4VYR9M1C --json | jq '.steps'"
)]
pub struct ShowArgs {
    #[arg(value_parser = super::run_id)]
    run: RunId,
    /// Print only this step's output (e.g. `queue`, or `draft[2]` for one item), as JSON
    #[arg(long, value_name = "STEP")]
    step: Option<String>,
    /// Print the whole derived state (steps with outputs, decisions) as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Pending decisions across all runs, critical first, then oldest first.\n\nExample:\n  host inbox"
)]
pub struct InboxArgs {
    /// Print only the decision ids, one per line (for scripts)
    #[arg(long, conflicts_with = "json")]
    ids: bool,
    /// Print a JSON array
    #[arg(long)]
    pub json: bool,
}

pub async fn runs(global: &GlobalArgs, args: RunsArgs) -> Result<Exit, Failure> {
    let access = Access::open(global).await?;
    let mut summaries = access.summaries(global).await?;
    summaries.retain(|s| {
        args.status
            .as_deref()
            .is_none_or(|wanted| s.status.as_str() == wanted)
    });
    summaries.sort_by_key(|s| std::cmp::Reverse(s.started_at));
    crate::report::warn_unreadable(&baton_service::Unreadable::in_listing(&summaries));
    if args.json {
        say!("{}", crate::terminal::json(&summaries, false));
    } else if summaries.is_empty() {
        say!(
            "no runs{}",
            args.status
                .map(|s| format!(" with status {s}"))
                .unwrap_or_default()
        );
    } else {
        for s in summaries {
            let (status, pending) = match (&s.damaged, s.pending) {
                (Some(_), _) => ("damaged", "  cannot be read".to_string()),
                (None, 0) => (s.status.as_str(), String::new()),
                (None, n) => (s.status.as_str(), format!("  {n} pending")),
            };
            let about = s
                .about
                .as_deref()
                .map(|about| format!("  {}", escape_control(about)))
                .unwrap_or_default();
            say!(
                "{}  {:<20} {:<10} {}{pending}{about}",
                s.id,
                escape_control(&s.workflow),
                status,
                format_time(s.started_at)
            );
        }
    }
    Ok(Exit::Success)
}

pub async fn show(global: &GlobalArgs, args: ShowArgs) -> Result<Exit, Failure> {
    let access = Access::open(global).await?;
    let state = access.load_run(global, &args.run).await?;
    if let Some(step) = &args.step {
        let record = state
            .steps
            .values()
            .find(|r| &r.key.to_string() == step)
            .ok_or_else(|| {
                let known: Vec<String> = state.steps.keys().map(|k| k.to_string()).collect();
                Failure::Usage(format!(
                    "run {} has no step {step:?}; its steps: {}",
                    state.id,
                    known.join(", ")
                ))
            })?;
        let output = record.output.clone().ok_or_else(|| {
            Failure::Usage(format!(
                "step {step} of run {} has no output (it is {:?})",
                state.id, record.status
            ))
        })?;
        say!("{}", crate::terminal::json(&output, true));
        return Ok(Exit::Success);
    }
    if args.json {
        say!(
            "{}",
            crate::terminal::json(&report::state_json(&state), false)
        );
        return Ok(Exit::Success);
    }
    let mut out = format!(
        "run {} ({}): {}\n",
        state.id,
        escape_control(&state.workflow),
        state.status().as_str()
    );
    if let Some(about) = &state.about {
        out.push_str(&format!("  about {}\n", escape_control(about)));
    }
    out.push_str(&format!(
        "  workflow {}\n  started {}, updated {}\n\nsteps:\n",
        escape_control(&state.workflow_path),
        format_time(state.started_at),
        format_time(state.updated_at)
    ));
    out.push_str(&report::steps(&state));
    if let Some(note) = state.finish_note() {
        out.push_str(&format!("\n{}\n", escape_control(note)));
    }
    if !state.decisions.is_empty() {
        out.push_str("\ndecisions:\n");
        for record in state.decisions.values() {
            out.push_str(&decided_line(record));
        }
    }
    // What waits, read as in the inbox: the default whole, the alternatives, and
    // what earlier decisions of the run did to the same things.
    for record in state.pending() {
        out.push('\n');
        out.push_str(&report::decision(
            record,
            &state.earlier_on(&record.request.id),
            None,
        ));
    }
    say_part!("{out}");
    Ok(Exit::Success)
}

fn decided_line(record: &DecisionRecord) -> String {
    let status = record.status.as_str();
    let by = match (&record.decided_by, record.decided_at) {
        (Some(by), Some(at)) => format!(" by {} at {}", escape_control(by), format_time(at)),
        _ => String::new(),
    };
    let how = match &record.outcome {
        Some(baton_core::DecisionOutcome::Approved { choice: 0 }) => " as proposed".to_string(),
        Some(baton_core::DecisionOutcome::Approved { choice }) => {
            format!(" (alternative {choice})")
        }
        Some(baton_core::DecisionOutcome::Rejected {
            reason: Some(reason),
        }) => format!(": {}", escape_control(reason)),
        _ => String::new(),
    };
    // What was approved, in words.
    let mut what = record
        .chosen_value()
        .map(|value| format!("    -> {}\n", report::choice_summary(&value)))
        .unwrap_or_default();
    // Its spot check, and what happened after it.
    if let Some(check) = &record.spot_check {
        what.push_str(&match (&check.answer, &check.answered_by) {
            (Some(answer), Some(by)) => format!(
                "    spot check: {} by {}{}\n",
                if answer.agrees() {
                    "agreed"
                } else {
                    "would have decided otherwise"
                },
                escape_control(by),
                answer
                    .note
                    .as_deref()
                    .map(|n| format!(" ({})", escape_control(n)))
                    .unwrap_or_default()
            ),
            _ => "    spot check: waiting for a person (host inbox)\n".to_string(),
        });
    }
    for outcome in &record.outcomes {
        what.push_str(&format!(
            "    outcome: {} by {} at {}{}\n",
            if outcome.good { "good" } else { "bad" },
            escape_control(&outcome.by),
            format_time(outcome.at),
            outcome
                .note
                .as_deref()
                .map(|n| format!(" ({})", escape_control(n)))
                .unwrap_or_default()
        ));
    }
    format!(
        "  {}  {status}{how}{by}\n    {}\n{what}",
        record.request.id,
        escape_control(&record.request.title)
    )
}

pub async fn inbox(global: &GlobalArgs, args: InboxArgs) -> Result<Exit, Failure> {
    let access = Access::open(global).await?;
    let inbox = access.inbox_all(global).await?;
    let pending = inbox.pending;
    if args.json {
        say!("{}", crate::terminal::json(&pending, false));
        return Ok(Exit::Success);
    }
    if args.ids {
        for record in pending {
            say!("{}", record.request.id);
        }
        return Ok(Exit::Success);
    }
    for suspension in &inbox.suspended {
        say!("AUTO-APPROVAL SUSPENDED: {}", suspension.message());
        say!("  {}\n", super::learn::resume_hint(suspension));
    }
    if pending.is_empty() {
        say!("no pending decisions");
    } else {
        say!(
            "{} pending decision{}\n",
            pending.len(),
            if pending.len() == 1 { "" } else { "s" }
        );
        // Each run read once: what it is about, and what its earlier decisions did.
        let mut runs: std::collections::BTreeMap<baton_core::RunId, Option<baton_core::RunState>> =
            Default::default();
        for record in pending {
            let run = &record.request.id.run;
            if !runs.contains_key(run) {
                let state = access.load_run(global, run).await.ok();
                runs.insert(run.clone(), state);
            }
            let state = runs.get(run).and_then(Option::as_ref);
            let earlier = state
                .map(|s| s.earlier_on(&record.request.id))
                .unwrap_or_default();
            let about = state.and_then(|s| s.about.as_deref());
            say!("{}", report::decision(&record, &earlier, about));
        }
    }
    if !inbox.spot_checks.is_empty() {
        let count = inbox.spot_checks.len();
        say!(
            "\n{count} spot check{} (decisions the gate auto-approved, drawn for a person to review; a review changes nothing by itself):\n",
            if count == 1 { "" } else { "s" }
        );
        let now = baton_core::Clock::now(&baton_core::SystemClock);
        for record in &inbox.spot_checks {
            say!("{}", report::spot_check(record, now));
        }
    }
    Ok(Exit::Success)
}
