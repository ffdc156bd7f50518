//! `host stats`: what past decisions teach, per gate and per workflow.

use baton_engine::stats::{Options, WorkflowStats, stats_with};

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::terminal::{say, say_part};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Per gate: decisions, how they ended, and three medians: to decision (from the gate \
opening), wait (until a person first saw it in host focus, the web inbox or the API) and handling (from \
then to the decision); spot checks and how many agreed; outcomes reported with host outcome, per choice. \
Per workflow: the share of steps that needed a person, and week by week the steps done by plugins, the \
decisions made by people, the auto-approved ones and the spot checks. For a gate with a `kind`, the same \
per kind of decision. Suggests an auto_approve rule, with its evidence and the exact line to paste, where \
the last --suggest-after decisions (of a kind, or of a gate without kinds) were all approved as proposed, \
never for a kind or gate with critical decisions; proposes withdrawing a rule whose spot checks disagree; \
names auto-approvals that spot checks suspended; says where edits are frequent.\n\n\
Examples:\n  host stats --workflow lead-followup\n  host stats --since 30d --json"
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
    /// Only what happened in this last stretch, e.g. 30d, 12w, 48h
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    since: Option<std::time::Duration>,
}

pub async fn stats_command(global: &GlobalArgs, args: StatsArgs) -> Result<Exit, Failure> {
    let access = Access::open(global).await?;
    // The service's clock (`BATON_NOW` shifts it) where the store is here.
    let now = match &access {
        Access::Local(service) => baton_core::Clock::now(service.clock()),
        Access::Server(_) => baton_core::Clock::now(&baton_core::SystemClock),
    };
    let since = args.since.map(|d| now.saturating_sub(d.as_millis() as u64));
    let (runs, suspended) = match access {
        Access::Local(service) => {
            let states = service.states(args.workflow.as_deref())?;
            crate::report::warn_unreadable(&states.unreadable);
            (states.runs, service.suspensions(args.workflow.as_deref())?)
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
            let Access::Server(server) = &access else {
                unreachable!("matched as a server")
            };
            let suspended: Vec<baton_core::Suspension> = server
                .json(global, http::Method::GET, "/api/auto-approval", None)
                .await?;
            (runs, suspended)
        }
    };
    let mut all = stats_with(
        &runs,
        Options {
            suggest_after: args.suggest_after,
            since,
        },
    );
    attach_suspensions(&mut all, suspended);
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

/// Gives each workflow the suspensions in force for it.
pub fn attach_suspensions(all: &mut [WorkflowStats], suspended: Vec<baton_core::Suspension>) {
    for suspension in suspended.into_iter().filter(baton_core::Suspension::active) {
        if let Some(w) = all.iter_mut().find(|w| w.workflow == suspension.workflow) {
            w.suspended.push(suspension);
        }
    }
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
    for suspension in &w.suspended {
        out.push_str(&format!(
            "  SUSPENDED since {}: {}\n    {}\n",
            baton_engine::format_time(suspension.at),
            suspension.message(),
            super::learn::resume_hint(suspension)
        ));
    }
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
        "\n  {:<width$}  decided  as proposed  alternative  edited  rejected  expired  auto  pending  to decision  wait  handling\n",
        "gate"
    ));
    for g in &w.gates {
        out.push_str(&format!(
            "  {:<width$}  {:>7}  {:>11}  {:>11}  {:>6}  {:>8}  {:>7}  {:>4}  {:>7}  {:>11}  {:>4}  {:>8}\n",
            g.gate,
            g.counts.decisions,
            g.counts.approved_as_proposed,
            g.counts.alternative_chosen,
            g.counts.edited,
            g.counts.rejected,
            g.counts.expired,
            g.counts.auto_approved,
            g.counts.pending,
            crate::report::wait_or_dash(g.median_ms_to_decision),
            crate::report::wait_or_dash(g.median_ms_to_shown),
            crate::report::wait_or_dash(g.median_ms_handling),
        ));
    }
    out.push_str(
        "  (to decision: from the gate opening; wait: until a person first saw it; handling: from then to the decision)\n",
    );
    for g in &w.gates {
        if g.counts.spot_checks.drawn > 0 && g.kinds.is_empty() {
            out.push_str(&format!(
                "  gate {}: spot checks {}\n",
                g.gate,
                g.counts.spot_checks.summary()
            ));
        }
        let o = &g.counts.outcomes;
        if o.total().rate().is_some() {
            out.push_str(&format!(
                "  gate {} outcomes reported: {}\n",
                g.gate,
                o.summary()
            ));
        }
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
            "\n  gate {} by kind:\n  {:<width$}  decided  as proposed  in a row  other  auto  pending             spot checks  outcomes good\n",
            g.gate, "kind"
        ));
        for k in &g.kinds {
            let outcomes = k.counts.outcomes.total();
            let outcomes = match outcomes.rate() {
                Some(rate) => format!("{:.0}% of {}", 100.0 * rate, outcomes.good + outcomes.bad),
                None => "-".into(),
            };
            out.push_str(&format!(
                "  {:<width$}  {:>7}  {:>11}  {:>8}  {:>5}  {:>4}  {:>7}  {:>22}  {:>13}{}\n",
                k.kind,
                k.counts.decisions,
                k.counts.approved_as_proposed,
                k.approved_as_proposed_streak,
                k.counts.disagreed(),
                k.counts.auto_approved,
                k.counts.pending,
                k.counts.spot_checks.summary(),
                outcomes,
                if k.critical {
                    "  (critical: always a person)"
                } else {
                    ""
                }
            ));
        }
    }
    if !w.weeks.is_empty() {
        out.push_str(
            "\n  week of      by plugins  by people  auto-approved  spot checks  people's share\n",
        );
        for week in &w.weeks {
            let decided = week.by_people + week.auto_approved;
            let share = match decided + week.by_plugins {
                0 => "-".to_string(),
                n => format!("{:.0}%", 100.0 * f64::from(week.by_people) / f64::from(n)),
            };
            out.push_str(&format!(
                "  {}  {:>10}  {:>9}  {:>13}  {:>11}  {:>14}\n",
                &baton_engine::format_time(week.start)[..10],
                week.by_plugins,
                week.by_people,
                week.auto_approved,
                week.spot_checks,
                share
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
