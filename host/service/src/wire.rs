//! What crosses the wire between a `host` command and the `host serve` that holds
//! the store: one derived serde type for each, used at both ends.

use baton_core::{DecisionId, OnTimeout, RunId, RunStatus};
use baton_engine::Decision;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One run whose decisions expired in a sweep, and where it went next.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Swept {
    pub run: RunId,
    pub workflow: String,
    pub expired: Vec<Expired>,
    /// Where the run stands after continuing; `None` when it could not continue.
    pub status: Option<RunStatus>,
    /// Why it could not continue.
    pub error: Option<String>,
}

/// One decision that expired, and the action its gate takes on timeout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expired {
    pub decision: DecisionId,
    pub on_timeout: OnTimeout,
}

/// A run a crash had left `running`, continued when the store's holder started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovered {
    pub run: RunId,
    pub workflow: String,
    pub status: Option<RunStatus>,
    pub error: Option<String>,
}

/// A decision as the API takes it: exactly one of `{"approve": N}`,
/// `{"edit": VALUE}` or `{"reject": "reason"}` (or `null`), and whether the run may
/// continue on changed code.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Value>,
    /// `"reject": null` means reject without a reason, not "no rejection".
    #[serde(
        default,
        deserialize_with = "some_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub reject: Option<Option<String>>,
    #[serde(default)]
    pub allow_changed: bool,
}

fn some_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl DecisionRequest {
    pub fn new(decision: Decision, allow_changed: bool) -> DecisionRequest {
        let mut request = DecisionRequest {
            allow_changed,
            ..DecisionRequest::default()
        };
        match decision {
            Decision::Approve { choice } => request.approve = Some(choice),
            Decision::Edit { value } => request.edit = Some(value),
            Decision::Reject { reason } => request.reject = Some(reason),
        }
        request
    }

    /// The decision asked for, or why the request names none or several.
    pub fn decision(self) -> Result<Decision, &'static str> {
        match (self.approve, self.edit, self.reject) {
            (Some(choice), None, None) => Ok(Decision::Approve { choice }),
            (None, Some(value), None) => Ok(Decision::Edit { value }),
            (None, None, Some(reason)) => Ok(Decision::Reject {
                reason: reason.filter(|r| !r.trim().is_empty()),
            }),
            _ => Err(
                "give exactly one of {\"approve\": N}, {\"edit\": VALUE}, {\"reject\": \"reason\"}",
            ),
        }
    }
}

/// Start a run of the workflow file at `workflow` (a path on the server's machine).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub workflow: std::path::PathBuf,
    #[serde(default)]
    pub input: Option<Value>,
}

/// Continue a run, on changed code if `allow_changed`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    #[serde(default)]
    pub allow_changed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_decision_survives_the_wire_and_a_request_names_exactly_one() {
        for decision in [
            Decision::Approve { choice: 2 },
            Decision::Edit {
                value: json!({"subject": "Hi"}),
            },
            Decision::Reject { reason: None },
            Decision::Reject {
                reason: Some("wrong tone".into()),
            },
        ] {
            let text =
                serde_json::to_string(&DecisionRequest::new(decision.clone(), true)).unwrap();
            let back: DecisionRequest = serde_json::from_str(&text).unwrap();
            assert!(back.allow_changed);
            assert_eq!(back.decision().unwrap(), decision, "{text}");
        }
        let none: DecisionRequest = serde_json::from_str("{}").unwrap();
        assert!(none.decision().is_err());
        let two: DecisionRequest =
            serde_json::from_str(r#"{"approve": 0, "reject": null}"#).unwrap();
        assert!(two.decision().is_err());
        assert!(serde_json::from_str::<DecisionRequest>(r#"{"aprove": 0}"#).is_err());
    }

    #[test]
    fn a_sweep_reads_back_as_it_was_written() {
        let swept = Swept {
            run: "01JD3KX5N7Q2W8ZB6T4VYR9M1C".parse().unwrap(),
            workflow: "lead-followup".into(),
            expired: vec![Expired {
                decision: "01JD3KX5N7Q2W8ZB6T4VYR9M1C/review".parse().unwrap(),
                on_timeout: OnTimeout::ApproveDefault,
            }],
            status: None,
            error: Some("the workflow file moved".into()),
        };
        let value = serde_json::to_value(&swept).unwrap();
        assert_eq!(value["expired"][0]["on_timeout"], "approve_default");
        assert_eq!(
            value["expired"][0]["decision"],
            "01JD3KX5N7Q2W8ZB6T4VYR9M1C/review"
        );
        assert_eq!(serde_json::from_value::<Swept>(value).unwrap(), swept);
    }
}

/// A spot check's answer as the API takes it: what the person would have decided,
/// in a decision's words (`{"approve": 0}` agrees with the auto-approval,
/// `{"approve": N}`, `{"edit": VALUE}` or `{"reject": "reason"}` do not), and a note.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotCheckRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Value>,
    #[serde(
        default,
        deserialize_with = "some_or_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub reject: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SpotCheckRequest {
    pub fn new(answer: baton_core::SpotCheckAnswer) -> SpotCheckRequest {
        let mut request = SpotCheckRequest {
            note: answer.note,
            ..SpotCheckRequest::default()
        };
        match answer.would {
            baton_core::DecisionOutcome::Approved { choice } => request.approve = Some(choice),
            baton_core::DecisionOutcome::Edited { value } => request.edit = Some(value),
            baton_core::DecisionOutcome::Rejected { reason } => request.reject = Some(reason),
            baton_core::DecisionOutcome::Expired { .. } => request.reject = Some(None),
        }
        request
    }

    /// The answer asked for, or why the request gives none or several.
    pub fn answer(self) -> Result<baton_core::SpotCheckAnswer, &'static str> {
        let decision = DecisionRequest {
            approve: self.approve,
            edit: self.edit,
            reject: self.reject,
            allow_changed: false,
        }
        .decision()?;
        let would = match decision {
            Decision::Approve { choice } => baton_core::DecisionOutcome::Approved { choice },
            Decision::Edit { value } => baton_core::DecisionOutcome::Edited { value },
            Decision::Reject { reason } => baton_core::DecisionOutcome::Rejected { reason },
        };
        Ok(baton_core::SpotCheckAnswer {
            would,
            note: self.note.filter(|n| !n.trim().is_empty()),
        })
    }
}

/// What happened after a decision, as the API takes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// `good` or `bad`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl OutcomeRequest {
    /// Whether it says good, or why it says neither.
    pub fn good(&self) -> Result<bool, String> {
        match self.outcome.trim() {
            "good" => Ok(true),
            "bad" => Ok(false),
            other => Err(format!("outcome {other:?} is neither \"good\" nor \"bad\"")),
        }
    }
}

/// Which suspended auto-approval to resume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeAutoApproval {
    pub workflow: String,
    pub gate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}
