//! What teaches the system which decisions still need a person, from the command
//! line: `host spot-check` (review an auto-approved decision after the fact),
//! `host outcome` (what happened after a decision), `host auto-approval` (the rules
//! spot checks suspended, and resuming one).

use baton_core::{DecisionId, DecisionOutcome, SpotCheckAnswer, Suspension};
use baton_service::wire::{OutcomeRequest, ResumeAutoApproval, SpotCheckRequest};
use serde_json::{Value, json};

use crate::GlobalArgs;
use crate::access::Access;
use crate::exit::{Exit, Failure};
use crate::terminal::say;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "A spot check reviews a decision the gate auto-approved (its `spot_check` share); \
the answer changes nothing the run did. When the spot checks of a kind agree less than the gate's \
`spot_check_agreement`, its auto-approval is suspended and its decisions come to people.\n\n\
Examples:\n  host spot-check 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review/2 --agree\n  \
host spot-check 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review/2 --choice 1 --note \"pause it instead\"\n  \
host spot-check 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review/2 --reject --note \"this keyword converts\""
)]
pub struct SpotCheckArgs {
    /// The auto-approved decision, as `host inbox` lists it under spot checks
    #[arg(value_parser = super::decision_id)]
    decision: DecisionId,
    /// You would have approved the default too
    #[arg(long, conflicts_with_all = ["choice", "reject"])]
    agree: bool,
    /// You would have approved this alternative (1-3) instead
    #[arg(long, value_name = "N", conflicts_with = "reject")]
    choice: Option<usize>,
    /// You would have rejected it
    #[arg(long)]
    reject: bool,
    /// Why, for whoever tunes the plugin or the rule
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Outcomes show in `host stats` per kind and per choice (the default, an alternative, \
an edit, auto-approved), so a plugin's author sees whether the default is the best choice. A system \
can send them too: POST /api/outcomes/RUN/GATE[/ITEM] {\"outcome\": \"good\", \"note\": \"...\"}.\n\n\
Examples:\n  host outcome 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review good --note \"she replied the same day\"\n  \
host outcome 01JD3KX5N7Q2W8ZB6T4VYR9M1C/review/3 bad --note \"reverted: the keyword converted\""
)]
pub struct OutcomeArgs {
    /// The decision, as `host show RUN` lists it
    #[arg(value_parser = super::decision_id)]
    decision: DecisionId,
    /// What happened after it: good or bad
    #[arg(value_parser = ["good", "bad"])]
    outcome: String,
    /// What happened, in words
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum AutoApprovalCommand {
    /// List the auto-approval rules spot checks suspended (and those resumed since)
    List(ListArgs),
    /// Let a suspended auto-approval decide again; spot checks answered before now no longer count
    Resume(ResumeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  host auto-approval resume ads-audit review --kind budget-limited/monitor"
)]
pub struct ResumeArgs {
    /// The workflow's name
    workflow: String,
    /// The gate's step id
    gate: String,
    /// The kind of decision (leave out for a gate without kinds)
    #[arg(long)]
    kind: Option<String>,
    /// Print one JSON object
    #[arg(long)]
    pub json: bool,
}

pub async fn spot_check(global: &GlobalArgs, args: SpotCheckArgs) -> Result<Exit, Failure> {
    let would = match (args.agree, args.choice, args.reject) {
        (true, None, false) => DecisionOutcome::Approved { choice: 0 },
        (false, Some(choice), false) => DecisionOutcome::Approved { choice },
        (false, None, true) => DecisionOutcome::Rejected {
            reason: args.note.clone(),
        },
        _ => {
            return Err(Failure::Usage(
                "say what you would have decided: --agree, --choice N or --reject".into(),
            ));
        }
    };
    let answer = SpotCheckAnswer {
        would,
        note: args.note.clone(),
    };
    let agrees = answer.agrees();
    let suspended: Option<Suspension> = match Access::open(global).await? {
        Access::Local(service) => {
            let checked = service.spot_check(&args.decision, answer, service.operator())?;
            if let Some(suspension) = &checked.suspended {
                crate::serve::notify_suspension(&service, suspension, None).await;
            }
            checked.suspended
        }
        Access::Server(server) => {
            let body = serde_json::to_value(SpotCheckRequest::new(answer))
                .map_err(|e| Failure::Host(e.to_string()))?;
            let answer: Value = server
                .json(
                    global,
                    http::Method::POST,
                    &format!("/api/spot-checks/{}", args.decision),
                    Some(&body),
                )
                .await?;
            serde_json::from_value(answer["suspended"].clone()).unwrap_or(None)
        }
    };
    if args.json {
        say!(
            "{}",
            crate::terminal::json(
                &json!({ "decision": args.decision, "agrees": agrees, "suspended": suspended }),
                false
            )
        );
    } else {
        say!(
            "spot check of {} recorded: {}; it changes nothing the run did",
            args.decision,
            if agrees {
                "you agree with the auto-approval"
            } else {
                "you would have decided otherwise"
            }
        );
        if let Some(suspension) = &suspended {
            say!("{}", suspension.message());
            say!("{}", resume_hint(suspension));
        }
    }
    Ok(Exit::Success)
}

/// How to let a suspended rule decide again.
pub fn resume_hint(suspension: &Suspension) -> String {
    format!(
        "once the plugin or the rule is fixed: host auto-approval resume {} {}{}",
        crate::terminal::shell_word(&suspension.workflow),
        crate::terminal::shell_word(&suspension.gate),
        suspension
            .kind
            .as_deref()
            .map(|k| format!(" --kind {}", crate::terminal::shell_word(k)))
            .unwrap_or_default()
    )
}

pub async fn outcome(global: &GlobalArgs, args: OutcomeArgs) -> Result<Exit, Failure> {
    let good = args.outcome == "good";
    match Access::open(global).await? {
        Access::Local(service) => {
            service.outcome(&args.decision, good, args.note.clone(), service.operator())?;
        }
        Access::Server(server) => {
            let body = serde_json::to_value(OutcomeRequest {
                outcome: args.outcome.clone(),
                note: args.note.clone(),
            })
            .map_err(|e| Failure::Host(e.to_string()))?;
            let _: Value = server
                .json(
                    global,
                    http::Method::POST,
                    &format!("/api/outcomes/{}", args.decision),
                    Some(&body),
                )
                .await?;
        }
    }
    if args.json {
        say!(
            "{}",
            crate::terminal::json(
                &json!({ "decision": args.decision, "outcome": args.outcome, "note": args.note }),
                false
            )
        );
    } else {
        say!(
            "recorded: {} went {}{}",
            args.decision,
            args.outcome,
            args.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        );
    }
    Ok(Exit::Success)
}

pub async fn auto_approval(
    global: &GlobalArgs,
    command: AutoApprovalCommand,
) -> Result<Exit, Failure> {
    match command {
        AutoApprovalCommand::List(args) => {
            let list: Vec<Suspension> = match Access::open(global).await? {
                Access::Local(service) => service.suspensions(None)?,
                Access::Server(server) => {
                    server
                        .json(global, http::Method::GET, "/api/auto-approval", None)
                        .await?
                }
            };
            if args.json {
                say!("{}", crate::terminal::json(&list, false));
                return Ok(Exit::Success);
            }
            if list.is_empty() {
                say!("no auto-approval was suspended by spot checks");
            }
            for suspension in &list {
                match (&suspension.resumed_at, &suspension.resumed_by) {
                    (Some(at), by) => say!(
                        "{}: suspended {} (spot checks agreed {} of {}), resumed {} by {}",
                        suspension.what(),
                        baton_engine::format_time(suspension.at),
                        suspension.agreed,
                        suspension.checked,
                        baton_engine::format_time(*at),
                        by.as_deref().unwrap_or("unknown")
                    ),
                    (None, _) => {
                        say!(
                            "SUSPENDED since {}: {}",
                            baton_engine::format_time(suspension.at),
                            suspension.message()
                        );
                        say!("  {}", resume_hint(suspension));
                    }
                }
            }
            Ok(Exit::Success)
        }
        AutoApprovalCommand::Resume(args) => {
            let resumed: Suspension = match Access::open(global).await? {
                Access::Local(service) => service.resume_auto_approval(
                    &args.workflow,
                    &args.gate,
                    args.kind.as_deref(),
                    service.operator(),
                )?,
                Access::Server(server) => {
                    let body = serde_json::to_value(ResumeAutoApproval {
                        workflow: args.workflow.clone(),
                        gate: args.gate.clone(),
                        kind: args.kind.clone(),
                    })
                    .map_err(|e| Failure::Host(e.to_string()))?;
                    server
                        .json(
                            global,
                            http::Method::POST,
                            "/api/auto-approval/resume",
                            Some(&body),
                        )
                        .await?
                }
            };
            if args.json {
                say!("{}", crate::terminal::json(&resumed, false));
            } else {
                say!(
                    "auto-approval of {} resumed: the gate decides that kind again; spot checks answered before now no longer count",
                    resumed.what()
                );
            }
            Ok(Exit::Success)
        }
    }
}
