//! What the decisions of past runs teach: per gate, and per kind of decision where
//! the gate declares `kind`, how its decisions ended and how long they waited; per
//! workflow, the share of steps that needed a human; and where a gate could decide a
//! kind by itself (never a critical one) or its plugin drifts from what operators want.

use std::collections::BTreeMap;

use baton_core::{
    DecisionOutcome, DecisionRecord, DecisionStatus, OnTimeout, RunState, StepStatus,
};
use serde::Serialize;

/// A gate whose last this-many human decisions were all approved as proposed gets an
/// `auto_approve` suggestion.
pub const AUTO_APPROVE_STREAK: u32 = 20;
/// Edits are "frequent" from this share of a gate's human decisions, once it has
/// at least [`EDITS_MIN_DECISIONS`] of them.
pub const EDITS_FREQUENT_SHARE: f64 = 0.25;
pub const EDITS_MIN_DECISIONS: u32 = 4;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkflowStats {
    pub workflow: String,
    pub runs: u32,
    /// Steps that ran or waited (tasks and gates, one per item), skipped ones not counted.
    pub steps: u32,
    /// Gate decisions that waited for a person (all but the auto-approved ones).
    pub needed_human: u32,
    /// `needed_human / steps`, 0 when nothing ran.
    pub human_share: f64,
    pub gates: Vec<GateStats>,
    /// Week by week (Monday to Sunday, UTC), oldest first, every week from the first
    /// with activity (or the one `since` falls in) to the last: who did the work.
    pub weeks: Vec<Week>,
    /// Auto-approvals of this workflow that spot checks suspended (filled in by
    /// whoever reads them from the store).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suspended: Vec<baton_core::Suspension>,
}

/// One week of a workflow: steps done by plugins, decisions made by people,
/// decisions auto-approved, and spot checks answered.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Week {
    /// Monday 00:00 UTC, in milliseconds since the Unix epoch.
    pub start: u64,
    pub by_plugins: u32,
    pub by_people: u32,
    pub auto_approved: u32,
    pub spot_checks: u32,
}

/// Good and bad outcomes reported after decisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct GoodBad {
    pub good: u32,
    pub bad: u32,
}

impl GoodBad {
    /// The share of good ones, when any was reported.
    pub fn rate(&self) -> Option<f64> {
        let total = self.good + self.bad;
        (total > 0).then(|| f64::from(self.good) / f64::from(total))
    }
}

/// Reported outcomes by what was chosen: the plugin's default (by a person), an
/// alternative, an edit, or the default auto-approved. A decision with several
/// reports counts by its newest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Outcomes {
    pub default: GoodBad,
    pub alternative: GoodBad,
    pub edited: GoodBad,
    pub auto_approved: GoodBad,
}

impl Outcomes {
    /// In words, as `host stats` and the stats page show it:
    /// `default 80% good of 10 · auto-approved 50% good of 2`, or `-`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = [
            ("default", self.default),
            ("alternative", self.alternative),
            ("edited", self.edited),
            ("auto-approved", self.auto_approved),
        ]
        .iter()
        .filter_map(|(word, g)| {
            let rate = g.rate()?;
            Some(format!(
                "{word} {:.0}% good of {}",
                100.0 * rate,
                g.good + g.bad
            ))
        })
        .collect();
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join(" · ")
        }
    }

    pub fn total(&self) -> GoodBad {
        let all = [
            self.default,
            self.alternative,
            self.edited,
            self.auto_approved,
        ];
        GoodBad {
            good: all.iter().map(|g| g.good).sum(),
            bad: all.iter().map(|g| g.bad).sum(),
        }
    }
}

/// Spot checks of auto-approved decisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SpotChecks {
    /// Drawn for a review.
    pub drawn: u32,
    pub answered: u32,
    /// Answered "I would have done the same".
    pub agreed: u32,
}

impl SpotChecks {
    /// In words: `7 of 9 agreed`, `4 drawn, none answered`, or `-`.
    pub fn summary(&self) -> String {
        match (self.drawn, self.answered) {
            (0, _) => "-".into(),
            (drawn, 0) => format!("{drawn} drawn, none answered"),
            (_, answered) => format!("{} of {answered} agreed", self.agreed),
        }
    }
}

/// How a set of decisions ended: a gate's, or one kind's at a gate.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Decisions made (by anyone or anything); pending ones are counted apart.
    pub decisions: u32,
    pub approved_as_proposed: u32,
    pub alternative_chosen: u32,
    pub edited: u32,
    pub rejected: u32,
    pub expired: u32,
    pub auto_approved: u32,
    pub pending: u32,
    /// Left undecided when their run ended (cancelled, failed): neither made nor pending.
    pub withdrawn: u32,
    pub spot_checks: SpotChecks,
    pub outcomes: Outcomes,
}

impl Counts {
    /// Counts one decision: how it ended, its spot check, what happened after it.
    fn add_record(&mut self, record: &DecisionRecord) {
        let ending = ending(record);
        self.add(ending);
        if let Some(check) = &record.spot_check {
            self.spot_checks.drawn += 1;
            if let Some(answer) = &check.answer {
                self.spot_checks.answered += 1;
                self.spot_checks.agreed += u32::from(answer.agrees());
            }
        }
        if let Some(reported) = record.outcomes.last() {
            let slot = match ending {
                Ending::AutoApproved => &mut self.outcomes.auto_approved,
                Ending::Alternative => &mut self.outcomes.alternative,
                Ending::Edited => &mut self.outcomes.edited,
                _ => &mut self.outcomes.default,
            };
            if reported.good {
                slot.good += 1;
            } else {
                slot.bad += 1;
            }
        }
    }

    fn add(&mut self, ending: Ending) {
        let slot = match ending {
            Ending::Pending => &mut self.pending,
            Ending::Withdrawn => &mut self.withdrawn,
            Ending::AsProposed => &mut self.approved_as_proposed,
            Ending::Alternative => &mut self.alternative_chosen,
            Ending::Edited => &mut self.edited,
            Ending::Rejected => &mut self.rejected,
            Ending::Expired => &mut self.expired,
            Ending::AutoApproved => &mut self.auto_approved,
        };
        *slot += 1;
        if !matches!(ending, Ending::Pending | Ending::Withdrawn) {
            self.decisions += 1;
        }
    }

    /// Decisions made but not as proposed: an alternative, an edit, a rejection, or
    /// left to expire.
    pub fn disagreed(&self) -> u32 {
        self.alternative_chosen + self.edited + self.rejected + self.expired
    }

    /// Decisions a person made (or let expire).
    pub fn human(&self) -> u32 {
        self.approved_as_proposed + self.disagreed()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GateStats {
    /// The gate's step id.
    pub gate: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Median time from the gate opening to a person's decision, in milliseconds.
    pub median_ms_to_decision: Option<u64>,
    /// The wait: median time from the gate opening until a person first saw it
    /// (in `host focus`, the web inbox or through the API).
    pub median_ms_to_shown: Option<u64>,
    /// The handling: median time from a person first seeing a decision to deciding.
    pub median_ms_handling: Option<u64>,
    /// How many of the latest human decisions in a row were approved as proposed.
    pub approved_as_proposed_streak: u32,
    /// Per kind of decision (the gate's `kind`), in the order each first opened;
    /// empty when the gate declares none.
    pub kinds: Vec<KindStats>,
    pub suggestions: Vec<Suggestion>,
}

/// How the decisions of one kind at one gate ended, and the evidence for or against
/// letting the gate decide them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KindStats {
    pub kind: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Whether any decision of this kind was critical: such a kind is never proposed
    /// for auto-approval.
    pub critical: bool,
    /// The latest decisions by people, in a row, that were approved as proposed, and
    /// when the first of them was made.
    pub approved_as_proposed_streak: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streak_since: Option<u64>,
    /// The newest decision by a person that was not approved as proposed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_disagreement: Option<Disagreement>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Disagreement {
    pub at: u64,
    /// `chose an alternative`, `edited`, `rejected` or `let it expire`.
    pub how: &'static str,
    pub by: String,
}

/// What the statistics are asked to suggest from.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Decisions of a kind approved as proposed in a row, with no edit, alternative
    /// or rejection among them, before it is proposed for auto-approval.
    pub suggest_after: u32,
    /// Count only what happened from this time on (milliseconds since the epoch):
    /// decisions opened, steps started, runs active since then.
    pub since: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            suggest_after: AUTO_APPROVE_STREAK,
            since: None,
        }
    }
}

/// Spot-check agreement below which a kind's auto-approval rule is proposed for
/// withdrawal, when its gate sets no `spot_check_agreement`.
pub const WITHDRAW_BELOW: f64 = 0.8;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    /// `auto_approve`, `withdraw_auto_approve` or `edits_frequent`.
    pub kind: &'static str,
    pub message: String,
    /// The kind of decision it is about, when the gate declares kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_kind: Option<String>,
    /// The exact line to put on the gate's step, e.g.
    /// `auto_approve = "kind == 'negative-keyword/monitor'"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// How one decision ended, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    Pending,
    Withdrawn,
    AsProposed,
    Alternative,
    Edited,
    Rejected,
    Expired,
    AutoApproved,
}

fn ending(record: &DecisionRecord) -> Ending {
    let by = record.decided_by.as_deref().unwrap_or("");
    match &record.outcome {
        None if record.status == DecisionStatus::Withdrawn => Ending::Withdrawn,
        None => Ending::Pending,
        Some(_) if by.starts_with("auto-approve") => Ending::AutoApproved,
        Some(DecisionOutcome::Approved { choice: 0 }) => Ending::AsProposed,
        Some(DecisionOutcome::Approved { .. }) => Ending::Alternative,
        Some(DecisionOutcome::Edited { .. }) => Ending::Edited,
        Some(DecisionOutcome::Rejected { .. }) => Ending::Rejected,
        Some(DecisionOutcome::Expired {
            action: OnTimeout::Reject | OnTimeout::ApproveDefault,
        }) => Ending::Expired,
    }
}

/// A gate's name and its decisions.
type GateRecords<'a> = (String, Vec<&'a DecisionRecord>);

/// The statistics of `runs`, one entry per workflow name, sorted by name; gates in
/// the order their first decision opened.
pub fn stats<'a>(runs: impl IntoIterator<Item = &'a RunState>) -> Vec<WorkflowStats> {
    stats_with(runs, Options::default())
}

/// [`stats`] with the suggestion threshold given.
pub fn stats_with<'a>(
    runs: impl IntoIterator<Item = &'a RunState>,
    options: Options,
) -> Vec<WorkflowStats> {
    // Per workflow: its stats and, per gate, its decisions.
    let mut workflows: BTreeMap<&str, (WorkflowStats, Vec<GateRecords>)> = BTreeMap::new();
    let since = options.since.unwrap_or(0);
    for run in runs {
        if run.updated_at < since {
            continue;
        }
        let (stats, gates) = workflows.entry(&run.workflow).or_insert_with(|| {
            (
                WorkflowStats {
                    workflow: run.workflow.clone(),
                    ..WorkflowStats::default()
                },
                Vec::new(),
            )
        });
        stats.runs += 1;
        stats.steps += run
            .steps
            .values()
            .filter(|s| s.status != StepStatus::Skipped && s.started_at >= since)
            .count() as u32;
        add_weeks(&mut stats.weeks, run, since);
        for record in run.decisions.values().filter(|r| r.opened_at >= since) {
            let gate = record.request.id.gate.step.as_str();
            let index = match gates.iter().position(|(name, _)| name == gate) {
                Some(index) => index,
                None => {
                    gates.push((gate.to_string(), Vec::new()));
                    gates.len() - 1
                }
            };
            gates[index].1.push(record);
        }
    }
    workflows
        .into_values()
        .map(|(mut stats, gates)| {
            stats.gates = gates
                .into_iter()
                .map(|(gate, records)| gate_stats(gate, records, options))
                .collect();
            stats.needed_human = stats
                .gates
                .iter()
                .map(|g| g.counts.decisions + g.counts.pending - g.counts.auto_approved)
                .sum();
            stats.human_share = if stats.steps == 0 {
                0.0
            } else {
                f64::from(stats.needed_human) / f64::from(stats.steps)
            };
            stats.weeks = fill_weeks(std::mem::take(&mut stats.weeks), options.since);
            stats
        })
        .collect()
}

const DAY_MS: u64 = 86_400_000;

/// Monday 00:00 UTC of the week `at` falls in (1970-01-01 was a Thursday).
pub fn week_start(at: u64) -> u64 {
    let day = at / DAY_MS;
    day.saturating_sub((day + 3) % 7) * DAY_MS
}

fn week_of(weeks: &mut Vec<Week>, at: u64) -> &mut Week {
    let start = week_start(at);
    let index = match weeks.iter().position(|w| w.start == start) {
        Some(index) => index,
        None => {
            weeks.push(Week {
                start,
                ..Week::default()
            });
            weeks.len() - 1
        }
    };
    &mut weeks[index]
}

/// Adds what `run` did from `since` on to its week.
fn add_weeks(weeks: &mut Vec<Week>, run: &RunState, since: u64) {
    for step in run.steps.values() {
        let is_gate = run.decisions.keys().any(|id| id.gate == step.key);
        if let (false, StepStatus::Completed, Some(at)) = (is_gate, step.status, step.finished_at)
            && at >= since
        {
            week_of(weeks, at).by_plugins += 1;
        }
    }
    for record in run.decisions.values() {
        if let Some(at) = record.decided_at.filter(|at| *at >= since) {
            match ending(record) {
                Ending::AutoApproved => week_of(weeks, at).auto_approved += 1,
                Ending::AsProposed | Ending::Alternative | Ending::Edited | Ending::Rejected => {
                    week_of(weeks, at).by_people += 1
                }
                _ => {}
            }
        }
        if let Some(at) = record
            .spot_check
            .as_ref()
            .and_then(|c| c.answered_at)
            .filter(|at| *at >= since)
        {
            week_of(weeks, at).spot_checks += 1;
        }
    }
}

/// Sorted, with the weeks nothing happened in between (and from `since`) as zeros.
fn fill_weeks(mut weeks: Vec<Week>, since: Option<u64>) -> Vec<Week> {
    weeks.sort_by_key(|w| w.start);
    let (Some(first), Some(last)) = (
        weeks.first().map(|w| w.start),
        weeks.last().map(|w| w.start),
    ) else {
        return weeks;
    };
    let mut start = since.map_or(first, week_start).min(first);
    let mut filled = Vec::new();
    let mut given = weeks.into_iter().peekable();
    while start <= last {
        match given.next_if(|w| w.start == start) {
            Some(week) => filled.push(week),
            None => filled.push(Week {
                start,
                ..Week::default()
            }),
        }
        start += 7 * DAY_MS;
    }
    filled
}

fn gate_stats(gate: String, mut records: Vec<&DecisionRecord>, options: Options) -> GateStats {
    records.sort_by_key(|r| (r.decided_at.unwrap_or(u64::MAX), r.opened_at));
    let mut stats = GateStats {
        gate,
        ..GateStats::default()
    };
    let (mut waits, mut to_shown, mut handling) = (Vec::new(), Vec::new(), Vec::new());
    for record in &records {
        let ending = ending(record);
        stats.counts.add_record(record);
        if matches!(
            ending,
            Ending::AsProposed | Ending::Alternative | Ending::Edited | Ending::Rejected
        ) && let Some(at) = record.decided_at
        {
            waits.push(at.saturating_sub(record.opened_at));
            if let Some(shown) = record.shown_at {
                to_shown.push(shown.saturating_sub(record.opened_at));
                handling.push(at.saturating_sub(shown));
            }
        }
    }
    stats.median_ms_to_decision = median(&mut waits);
    stats.median_ms_to_shown = median(&mut to_shown);
    stats.median_ms_handling = median(&mut handling);
    // The latest decisions that needed a person, newest first.
    stats.approved_as_proposed_streak = records
        .iter()
        .rev()
        .map(|r| ending(r))
        .filter(|e| !matches!(e, Ending::Pending | Ending::AutoApproved))
        .take_while(|e| *e == Ending::AsProposed)
        .count() as u32;
    let human = stats.counts.human();
    stats.kinds = kind_stats(&records);
    let critical = records
        .iter()
        .any(|r| r.request.severity == baton_core::Severity::Critical);
    if stats.kinds.is_empty() {
        // A gate without kinds: one rule for all of it, never when any was critical.
        if stats.approved_as_proposed_streak >= options.suggest_after && !critical {
            stats.suggestions.push(Suggestion {
                kind: "auto_approve",
                message: format!(
                    "the last {} decisions at gate {} were all approved as proposed: consider letting it decide, \
                     e.g. auto_approve = \"true\" on the step, or a condition that covers these cases",
                    stats.approved_as_proposed_streak, stats.gate
                ),
                decision_kind: None,
                rule: Some("auto_approve = \"true\"".into()),
            });
        }
    }
    for kind in &stats.kinds {
        if kind.critical || kind.approved_as_proposed_streak < options.suggest_after {
            continue;
        }
        let rule = format!(
            "auto_approve = \"kind == '{}'\"",
            kind.kind.replace('\'', "\\'")
        );
        let since = kind
            .streak_since
            .map(|at| format!(" since {}", crate::format_time(at)))
            .unwrap_or_default();
        let disagreement = match &kind.last_disagreement {
            Some(d) => format!(
                "the last disagreement: {} {} by {}",
                crate::format_time(d.at),
                d.how,
                d.by
            ),
            None => "no disagreement ever".into(),
        };
        stats.suggestions.push(Suggestion {
            kind: "auto_approve",
            message: format!(
                "kind {} at gate {}: the last {} decisions{since} were approved as proposed ({disagreement}); \
                 to let the gate decide them, put on its step: {rule}",
                kind.kind, stats.gate, kind.approved_as_proposed_streak
            ),
            decision_kind: Some(kind.kind.clone()),
            rule: Some(rule),
        });
    }
    // The reverse: a rule whose spot checks disagree should go.
    let policy = records.iter().rev().find_map(|r| r.request.spot_check);
    let threshold = policy.map_or(WITHDRAW_BELOW, |p| p.min_agreement);
    let checked: Vec<(Option<&str>, SpotChecks)> = if stats.kinds.is_empty() {
        vec![(None, stats.counts.spot_checks)]
    } else {
        stats
            .kinds
            .iter()
            .map(|k| (Some(k.kind.as_str()), k.counts.spot_checks))
            .collect()
    };
    for (kind, checks) in checked {
        if checks.answered < baton_core::SPOT_CHECKS_TO_JUDGE
            || f64::from(checks.agreed) >= threshold * f64::from(checks.answered)
        {
            continue;
        }
        let (what, rule) = match kind {
            Some(kind) => (
                format!("kind {kind} at gate {}", stats.gate),
                format!(
                    "auto_approve = \"... and kind != '{}'\"",
                    kind.replace('\'', "\\'")
                ),
            ),
            None => (
                format!("gate {}", stats.gate),
                "no auto_approve".to_string(),
            ),
        };
        stats.suggestions.push(Suggestion {
            kind: "withdraw_auto_approve",
            message: format!(
                "{what}: spot checks agreed with the auto-approval {} of {} times ({:.0}%, below {:.0}%): \
                 withdraw the rule for it ({rule}) and let people decide",
                checks.agreed,
                checks.answered,
                100.0 * f64::from(checks.agreed) / f64::from(checks.answered),
                100.0 * threshold
            ),
            decision_kind: kind.map(str::to_string),
            rule: Some(rule),
        });
    }
    if human >= EDITS_MIN_DECISIONS
        && f64::from(stats.counts.edited) >= EDITS_FREQUENT_SHARE * f64::from(human)
    {
        stats.suggestions.push(Suggestion {
            kind: "edits_frequent",
            message: format!(
                "{} of {} decisions at gate {} were edits ({:.0}%): the plugin's proposals are drifting from \
                 what operators want; compare its proposals with the edits in the runs' logs and tune it",
                stats.counts.edited,
                human,
                stats.gate,
                100.0 * f64::from(stats.counts.edited) / f64::from(human)
            ),
            decision_kind: None,
            rule: None,
        });
    }
    stats
}

/// Per kind of decision, in the order each first appears in `records` (sorted by
/// when they were decided).
fn kind_stats(records: &[&DecisionRecord]) -> Vec<KindStats> {
    let mut kinds: Vec<KindStats> = Vec::new();
    for record in records {
        let Some(kind) = record.request.kind.as_deref() else {
            continue;
        };
        let index = match kinds.iter().position(|k| k.kind == kind) {
            Some(index) => index,
            None => {
                kinds.push(KindStats {
                    kind: kind.to_string(),
                    ..KindStats::default()
                });
                kinds.len() - 1
            }
        };
        let stats = &mut kinds[index];
        stats.critical |= record.request.severity == baton_core::Severity::Critical;
        let ending = ending(record);
        stats.counts.add_record(record);
        if matches!(ending, Ending::Pending | Ending::Withdrawn) {
            continue;
        }
        let at = record.decided_at.unwrap_or(record.opened_at);
        let how = match ending {
            Ending::AsProposed => {
                if stats.approved_as_proposed_streak == 0 {
                    stats.streak_since = Some(at);
                }
                stats.approved_as_proposed_streak += 1;
                continue;
            }
            Ending::AutoApproved => continue,
            Ending::Alternative => "chose an alternative",
            Ending::Edited => "edited",
            Ending::Rejected => "rejected",
            _ => "let it expire",
        };
        stats.approved_as_proposed_streak = 0;
        stats.streak_since = None;
        stats.last_disagreement = Some(Disagreement {
            at,
            how,
            by: record.decided_by.clone().unwrap_or_default(),
        });
    }
    kinds
}

/// The median of `values` (the lower of the middle two for an even count).
fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_core::{DecisionId, DecisionRequest, RunEvent, RunId, Severity, StepKey};
    use serde_json::json;

    /// A run of workflow `w`: a task `draft`, then gate `review` decided `outcome`
    /// by `by`, `wait` ms after it opened.
    fn run(outcome: Option<DecisionOutcome>, by: &str, wait: u64, at: u64) -> RunState {
        let id = RunId::generate();
        let key = |s: &str| StepKey::whole(s.to_string().try_into().unwrap());
        let mut events = vec![
            RunEvent::RunStarted {
                at,
                workflow: "w".into(),
                workflow_path: "w.toml".into(),
                workflow_digest: "d".into(),
                plugin_digests: Default::default(),
                input: json!({}),
                by: "ana".into(),
            },
            RunEvent::StepStarted {
                at,
                key: key("draft"),
                attempt: 1,
                plugin: "p".into(),
            },
            RunEvent::StepCompleted {
                at,
                key: key("draft"),
                output: json!("x"),
                elapsed_ms: 1,
            },
            RunEvent::GateOpened {
                at,
                key: key("review"),
                request: DecisionRequest {
                    context: None,
                    id: DecisionId::new(id.clone(), key("review")),
                    title: "t".into(),
                    reason: "r".into(),
                    severity: Severity::High,
                    choices: vec![json!("a"), json!("b")],
                    editable: true,
                    schema_plugin: None,
                    edit_schema: None,
                    expires_at: None,
                    on_timeout: OnTimeout::Reject,
                    approvers: Vec::new(),
                    views: Vec::new(),
                    kind: None,
                    spot_check: None,
                    auto_suspended: None,
                    inbox_only: false,
                },
            },
        ];
        if let Some(outcome) = outcome {
            events.push(RunEvent::DecisionMade {
                at: at + wait,
                id: DecisionId::new(id.clone(), key("review")),
                outcome,
                by: by.into(),
                via: None,
            });
        }
        RunState::fold(&id, &events).unwrap()
    }

    fn approved(choice: usize) -> Option<DecisionOutcome> {
        Some(DecisionOutcome::Approved { choice })
    }

    #[test]
    fn a_decision_left_when_its_run_was_cancelled_is_withdrawn_not_pending() {
        let open = run(None, "", 0, 10);
        let mut cancelled = open.clone();
        cancelled.apply(&RunEvent::RunCancelled {
            at: 20,
            by: "ana".into(),
        });
        let all = stats([&open, &cancelled]);
        let gate = &all[0].gates[0];
        assert_eq!(
            (
                gate.counts.pending,
                gate.counts.withdrawn,
                gate.counts.decisions
            ),
            (1, 1, 0)
        );
    }

    #[test]
    fn counts_each_ending_and_the_median_wait_of_people() {
        let runs = [
            run(approved(0), "ana", 1_000, 10),
            run(approved(2), "ana", 3_000, 20),
            run(
                Some(DecisionOutcome::Edited { value: json!("c") }),
                "ben",
                5_000,
                30,
            ),
            run(
                Some(DecisionOutcome::Rejected { reason: None }),
                "ben",
                7_000,
                40,
            ),
            run(
                Some(DecisionOutcome::Expired {
                    action: OnTimeout::Reject,
                }),
                "timeout",
                90_000,
                50,
            ),
            run(approved(0), "auto-approve: input.trusted", 0, 60),
            run(None, "", 0, 70),
        ];
        let all = stats(&runs);
        assert_eq!(all.len(), 1);
        let w = &all[0];
        assert_eq!((w.runs, w.steps), (7, 14));
        assert_eq!(w.needed_human, 6, "every gate but the auto-approved one");
        assert!((w.human_share - 6.0 / 14.0).abs() < 1e-9);
        let g = &w.gates[0];
        assert_eq!(g.gate, "review");
        assert_eq!(
            (
                g.counts.decisions,
                g.counts.approved_as_proposed,
                g.counts.alternative_chosen,
                g.counts.edited,
                g.counts.rejected,
                g.counts.expired,
                g.counts.auto_approved,
                g.counts.pending
            ),
            (6, 1, 1, 1, 1, 1, 1, 1)
        );
        // People's waits: 1 s, 3 s, 5 s, 7 s; the timeout and the rule are not people.
        assert_eq!(g.median_ms_to_decision, Some(3_000));
        assert_eq!(g.approved_as_proposed_streak, 0, "the latest was expired");
        assert!(
            g.suggestions.is_empty(),
            "1 edit in 5 is not frequent: {:?}",
            g.suggestions
        );
    }

    #[test]
    fn frequent_edits_are_called_out() {
        let edit = || {
            Some(DecisionOutcome::Edited {
                value: json!("mine"),
            })
        };
        let runs = [
            run(edit(), "ana", 10, 0),
            run(approved(0), "ana", 10, 100),
            run(edit(), "ana", 10, 200),
            run(approved(0), "ana", 10, 300),
            run(approved(1), "ana", 10, 400),
        ];
        let g = &stats(&runs)[0].gates[0];
        assert_eq!(g.suggestions.len(), 1, "{:?}", g.suggestions);
        assert_eq!(g.suggestions[0].kind, "edits_frequent");
        assert!(
            g.suggestions[0]
                .message
                .starts_with("2 of 5 decisions at gate review were edits (40%)"),
            "{}",
            g.suggestions[0].message
        );
    }

    #[test]
    fn twenty_approvals_as_proposed_in_a_row_suggest_auto_approve_and_nineteen_do_not() {
        let mut runs = vec![run(approved(1), "ana", 10, 0)];
        runs.extend((1..=19).map(|i| run(approved(0), "ana", 10, i * 100)));
        let g = &stats(&runs)[0].gates[0];
        assert_eq!(g.approved_as_proposed_streak, 19);
        assert!(g.suggestions.is_empty(), "{:?}", g.suggestions);

        // Auto-approved decisions neither break nor extend the streak.
        runs.push(run(approved(0), "auto-approve: true", 0, 2_000));
        runs.push(run(approved(0), "ben", 10, 2_100));
        let g = &stats(&runs)[0].gates[0];
        assert_eq!(g.approved_as_proposed_streak, 20);
        assert_eq!(g.suggestions.len(), 1);
        assert_eq!(g.suggestions[0].kind, "auto_approve");
        assert!(
            g.suggestions[0].message.contains("last 20 decisions"),
            "{}",
            g.suggestions[0].message
        );
        assert_eq!(stats(&runs)[0].steps, 44);
    }

    /// A run like [`run`] whose decision is of `kind` at `severity`.
    fn of_kind(
        kind: &str,
        severity: Severity,
        outcome: Option<DecisionOutcome>,
        by: &str,
        at: u64,
    ) -> RunState {
        let mut state = run(outcome, by, 10, at);
        for record in state.decisions.values_mut() {
            record.request.kind = Some(kind.into());
            record.request.severity = severity;
        }
        state
    }

    #[test]
    fn a_kind_earns_a_suggestion_with_its_evidence_and_rule_and_a_critical_kind_never_does() {
        let options = Options {
            suggest_after: 5,
            since: None,
        };
        let mut runs = Vec::new();
        // Negatives: an edit, then five approvals as proposed.
        runs.push(of_kind(
            "negative-keyword/monitor",
            Severity::Monitor,
            Some(DecisionOutcome::Edited {
                value: json!("mine"),
            }),
            "ana",
            1_000,
        ));
        for i in 0..5 {
            runs.push(of_kind(
                "negative-keyword/monitor",
                Severity::Monitor,
                approved(0),
                "ana",
                2_000 + i * 100,
            ));
        }
        // Critical waste: approved as proposed every time, more often still.
        for i in 0..8 {
            runs.push(of_kind(
                "wasted-spend/critical",
                Severity::Critical,
                approved(0),
                "ana",
                3_000 + i * 100,
            ));
        }
        // Budgets: four in a row only.
        for i in 0..4 {
            runs.push(of_kind(
                "budget-limited/high",
                Severity::High,
                approved(0),
                "ben",
                4_000 + i * 100,
            ));
        }
        let g = &stats_with(&runs, options)[0].gates[0];
        let kinds: Vec<(&str, u32, u32, bool)> = g
            .kinds
            .iter()
            .map(|k| {
                (
                    k.kind.as_str(),
                    k.counts.decisions,
                    k.approved_as_proposed_streak,
                    k.critical,
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("negative-keyword/monitor", 6, 5, false),
                ("wasted-spend/critical", 8, 8, true),
                ("budget-limited/high", 4, 4, false),
            ]
        );
        let negatives = &g.kinds[0];
        assert_eq!(negatives.streak_since, Some(2_010));
        assert_eq!(
            negatives.last_disagreement,
            Some(Disagreement {
                at: 1_010,
                how: "edited",
                by: "ana".into()
            })
        );
        // One suggestion: the negatives; never the critical kind, not yet the budgets,
        // and no gate-wide rule when the gate has kinds.
        assert_eq!(g.suggestions.len(), 1, "{:#?}", g.suggestions);
        let suggestion = &g.suggestions[0];
        assert_eq!(
            suggestion.decision_kind.as_deref(),
            Some("negative-keyword/monitor")
        );
        assert_eq!(
            suggestion.rule.as_deref(),
            Some("auto_approve = \"kind == 'negative-keyword/monitor'\"")
        );
        assert!(
            suggestion.message.contains("the last 5 decisions since 1970-01-01T00:00:02Z were approved as proposed (the last disagreement: 1970-01-01T00:00:01Z edited by ana)"),
            "{}",
            suggestion.message
        );
        // A disagreement starts the count again.
        runs.push(of_kind(
            "negative-keyword/monitor",
            Severity::Monitor,
            Some(DecisionOutcome::Rejected { reason: None }),
            "li",
            9_000,
        ));
        let g = &stats_with(&runs, options)[0].gates[0];
        assert!(g.suggestions.is_empty(), "{:#?}", g.suggestions);
        assert_eq!(
            g.kinds[0]
                .last_disagreement
                .as_ref()
                .map(|d| (d.how, d.by.as_str())),
            Some(("rejected", "li"))
        );
    }

    #[test]
    fn a_gate_whose_decisions_were_critical_gets_no_gate_wide_suggestion() {
        let runs: Vec<RunState> = (0..25)
            .map(|i| {
                let mut state = run(approved(0), "ana", 10, i * 100);
                for record in state.decisions.values_mut() {
                    record.request.severity = Severity::Critical;
                }
                state
            })
            .collect();
        let g = &stats(&runs)[0].gates[0];
        assert_eq!(g.approved_as_proposed_streak, 25);
        assert!(g.suggestions.is_empty(), "{:#?}", g.suggestions);
    }

    #[test]
    fn weeks_start_on_monday_utc_and_empty_weeks_between_are_kept() {
        // 2026-11-04T15:00:00Z, a Wednesday; its week starts 2026-11-02T00:00:00Z.
        let wednesday = 1_793_804_400_000;
        assert_eq!(
            crate::format_time(week_start(wednesday)),
            "2026-11-02T00:00:00Z"
        );
        assert_eq!(week_start(week_start(wednesday)), week_start(wednesday));
        let week = |start: u64, by_people: u32| Week {
            start: week_start(start),
            by_people,
            ..Week::default()
        };
        let three_weeks_later = wednesday + 21 * DAY_MS;
        let filled = fill_weeks(vec![week(three_weeks_later, 2), week(wednesday, 1)], None);
        assert_eq!(filled.len(), 4);
        assert_eq!(
            filled.iter().map(|w| w.by_people).collect::<Vec<_>>(),
            [1, 0, 0, 2]
        );
        // `since` a week before the first activity starts the chart there.
        let from_before = fill_weeks(vec![week(wednesday, 1)], Some(wednesday - 7 * DAY_MS));
        assert_eq!(from_before.len(), 2);
        assert_eq!(from_before[0].by_people, 0);
    }
}
