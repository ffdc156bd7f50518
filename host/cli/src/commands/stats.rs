//! `host stats`: what past decisions teach, per gate and per workflow.

use baton_engine::stats::{Options, WorkflowStats, stats_with};

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::terminal::{say, say_part};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Per gate: decisions, how they ended, and the median time a person took; \
per workflow: the share of steps that needed a person. For a gate with a `kind`, the same per kind of \
decision. Suggests an auto_approve rule, with its evidence and the exact line to paste, where the last \
--suggest-after decisions (of a kind, or of a gate without kinds) were all approved as proposed, never for \
a kind or gate with critical decisions; says where edits are frequent.\n\n\
Example:\n  host stats --workflow lead-followup"
)]
pub struct StatsArgs {
    /// Only this workflow (its `name`)
    #[arg(long, value_name = "NAME")]
    workflow: Option<String>,
    /// Print a JSON array with one object per workflow
    #[arg(long)]
    pub json: bool,
    /// How many decisions in a row approved as proposed earn a suggestion
    #[arg(long, value_name = "N", default_value_t = baton_engine::stats::AUTO_APPROVE_STREAK, value_parser = clap::value_parser!(u32).range(1..))]
    suggest_after: u32,
}

pub async fn stats_command(global: &GlobalArgs, args: StatsArgs) -> Result<Exit, Failure> {
    let runs = match Access::open(global).await? {
        Access::Local(service) => {
            let states = service.states(args.workflow.as_deref())?;
            crate::report::warn_unreadable(&states.unreadable);
            states.runs
        }
        access @ Access::Server(_) => {
            let mut runs = Vec::new();
            for summary in access
                .summaries(global)
                .await?
                .iter()
                .filter(|s| args.workflow.as_ref().is_none_or(|w| &s.workflow == w))
            {
                runs.push(access.load_run(global, &summary.id).await?);
            }
            runs
        }
    };
    let all = stats_with(
        &runs,
        Options {
            suggest_after: args.suggest_after,
        },
    );
    if args.json {
        say!("{}", crate::terminal::json(&all, false));
        return Ok(Exit::Success);
    }
    if all.is_empty() {
        match &args.workflow {
            Some(name) => say!("no runs of workflow {name:?} yet"),
            None => say!("no runs yet"),
        }
    }
    for (i, workflow) in all.iter().enumerate() {
        if i > 0 {
            say!();
        }
        say_part!("{}", text(workflow));
    }
    Ok(Exit::Success)
}

/// One workflow's figures as a table, then its suggestions.
fn text(w: &WorkflowStats) -> String {
    let mut out = format!(
        "workflow {}: {} run{}, {} steps, {} needed a person ({:.0}%)\n",
        w.workflow,
        w.runs,
        if w.runs == 1 { "" } else { "s" },
        w.steps,
        w.needed_human,
        100.0 * w.human_share
    );
    if w.gates.is_empty() {
        out.push_str("  no gates decided yet\n");
        return out;
    }
    let width = w
        .gates
        .iter()
        .map(|g| g.gate.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out.push_str(&format!(
        "\n  {:<width$}  decided  as proposed  alternative  edited  rejected  expired  auto  pending  median wait\n",
        "gate"
    ));
    for g in &w.gates {
        let wait = g
            .median_ms_to_decision
            .map(crate::report::wait_time)
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "  {:<width$}  {:>7}  {:>11}  {:>11}  {:>6}  {:>8}  {:>7}  {:>4}  {:>7}  {:>11}\n",
            g.gate,
            g.counts.decisions,
            g.counts.approved_as_proposed,
            g.counts.alternative_chosen,
            g.counts.edited,
            g.counts.rejected,
            g.counts.expired,
            g.counts.auto_approved,
            g.counts.pending,
            wait
        ));
    }
    for g in w.gates.iter().filter(|g| !g.kinds.is_empty()) {
        let width = g
            .kinds
            .iter()
            .map(|k| k.kind.len())
            .max()
            .unwrap_or(4)
            .max(4);
        out.push_str(&format!(
            "\n  gate {} by kind:\n  {:<width$}  decided  as proposed  in a row  other  auto  pending\n",
            g.gate, "kind"
        ));
        for k in &g.kinds {
            out.push_str(&format!(
                "  {:<width$}  {:>7}  {:>11}  {:>8}  {:>5}  {:>4}  {:>7}{}\n",
                k.kind,
                k.counts.decisions,
                k.counts.approved_as_proposed,
                k.approved_as_proposed_streak,
                k.counts.disagreed(),
                k.counts.auto_approved,
                k.counts.pending,
                if k.critical {
                    "  (critical: always a person)"
                } else {
                    ""
                }
            ));
        }
    }
    let suggestions: Vec<&str> = w
        .gates
        .iter()
        .flat_map(|g| g.suggestions.iter().map(|s| s.message.as_str()))
        .collect();
    if !suggestions.is_empty() {
        out.push_str("\nsuggestions:\n");
        for message in suggestions {
            out.push_str(&format!("  - {message}\n"));
        }
    }
    out
}
