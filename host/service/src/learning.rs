//! What the service records so the system learns which decisions still need a
//! person: when a decision was shown, spot checks of auto-approved decisions (and
//! the suspensions they cause), and what happened after a decision.
//!
//! Suspensions live in the store's key-value space under a scope no plugin can have
//! (plugins' scopes are `workflow/plugin`), so every process sharing the store sees
//! them, an export carries them, and a gate reads them only when its workflow
//! samples spot checks.

use baton_core::{
    DecisionId, KvQuota, RunState, SPOT_CHECKS_TO_JUDGE, SpotCheckAnswer, Suspension,
};
use baton_engine::{Outcome, Suspended};
use baton_workflow::{StepKind, Workflow};

use crate::Service;
use crate::error::{Result, ServiceError};

/// The key-value scope of suspensions; a plugin's scope always holds a `/`.
const SCOPE: &str = "baton:auto-approval";
/// Spot checks judged: the newest this many answered since the rule was last resumed.
pub const SPOT_CHECK_WINDOW: usize = 10;
const QUOTA: KvQuota = KvQuota {
    max_keys: 100_000,
    max_bytes: 64 << 20,
};

fn key(workflow: &str, gate: &str, kind: Option<&str>) -> String {
    format!("{workflow}\u{1f}{gate}\u{1f}{}", kind.unwrap_or(""))
}

fn kv_error(e: baton_core::KvError) -> ServiceError {
    ServiceError::Host(format!("reading auto-approval suspensions: {e}"))
}

/// What answering a spot check did.
#[derive(Debug)]
pub struct SpotChecked {
    pub outcome: Outcome,
    /// The suspension it caused, when agreement fell below the gate's threshold.
    pub suspended: Option<Suspension>,
}

impl Service {
    /// Every suspension on record (resumed ones too), or one workflow's.
    pub fn suspensions(&self, workflow: Option<&str>) -> Result<Vec<Suspension>> {
        let kv = self.store().kv();
        let prefix = workflow.map(|w| format!("{w}\u{1f}")).unwrap_or_default();
        let mut found = Vec::new();
        for key in kv.kv_list(SCOPE, &prefix, 100_000).map_err(kv_error)? {
            if let Some(bytes) = kv.kv_get(SCOPE, &key).map_err(kv_error)? {
                match serde_json::from_slice::<Suspension>(&bytes) {
                    Ok(suspension) => found.push(suspension),
                    Err(e) => tracing::warn!("an unreadable auto-approval suspension {key:?}: {e}"),
                }
            }
        }
        Ok(found)
    }

    /// The suspensions in force for `workflow`; none read when no gate of it samples
    /// spot checks (nothing could have suspended it).
    pub(crate) fn suspended_for(&self, workflow: &Workflow) -> Result<Suspended> {
        let samples = workflow
            .steps
            .iter()
            .any(|step| matches!(&step.kind, StepKind::Gate(gate) if gate.spot_check.is_some()));
        if !samples {
            return Ok(Suspended::default());
        }
        let mut list = self.suspensions(Some(&workflow.name))?;
        list.retain(Suspension::active);
        Ok(Suspended(list))
    }

    /// Records that decision `id` is on `to`'s screen (`via` `focus`, `web` or
    /// `api`), the first time only. A failure is logged, never the caller's problem:
    /// a timing is not worth an operator's error.
    pub fn shown(&self, id: &DecisionId, to: &str, via: &str) {
        if let Err(e) = baton_engine::shown(self.store(), self.clock(), id, to, via) {
            tracing::debug!("recording that {id} was shown: {e}");
        }
    }

    /// Records `by`'s review of the auto-approved decision `id`. When the spot
    /// checks of its gate and kind (the newest [`SPOT_CHECK_WINDOW`] since the rule
    /// was last resumed, once [`SPOT_CHECKS_TO_JUDGE`] were answered) agree less than
    /// the gate asks, its auto-approval is suspended and the suspension returned.
    pub fn spot_check(
        &self,
        id: &DecisionId,
        answer: SpotCheckAnswer,
        by: &str,
    ) -> Result<SpotChecked> {
        let outcome = baton_engine::answer_spot_check(self.store(), self.clock(), id, answer, by)?;
        let state = &outcome.state;
        let Some(record) = state.decisions.get(id) else {
            return Ok(SpotChecked {
                outcome,
                suspended: None,
            });
        };
        let (Some(policy), kind) = (record.request.spot_check, record.request.kind.clone()) else {
            return Ok(SpotChecked {
                outcome,
                suspended: None,
            });
        };
        let gate = id.gate.step.as_str().to_string();
        let workflow = state.workflow.clone();
        let key = key(&workflow, &gate, kind.as_deref());
        let kv = self.store().kv();
        let before: Option<Suspension> = kv
            .kv_get(SCOPE, &key)
            .map_err(kv_error)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if before.as_ref().is_some_and(Suspension::active) {
            return Ok(SpotChecked {
                outcome,
                suspended: None,
            });
        }
        let since = before.and_then(|s| s.resumed_at).unwrap_or(0);
        let runs = self.states(Some(&workflow))?.runs;
        let (agreed, checked) = agreement(&runs, &gate, kind.as_deref(), since);
        let share = f64::from(agreed) / f64::from(checked.max(1));
        if checked < SPOT_CHECKS_TO_JUDGE || share >= policy.min_agreement {
            return Ok(SpotChecked {
                outcome,
                suspended: None,
            });
        }
        let suspension = Suspension {
            workflow,
            gate,
            kind,
            at: baton_core::Clock::now(self.clock()),
            agreed,
            checked,
            min_agreement: policy.min_agreement,
            by: by.to_string(),
            run: id.run.to_string(),
            resumed_at: None,
            resumed_by: None,
        };
        let bytes =
            serde_json::to_vec(&suspension).map_err(|e| ServiceError::Host(e.to_string()))?;
        kv.kv_set(SCOPE, &key, &bytes, QUOTA).map_err(kv_error)?;
        let outcome = baton_engine::record_suspension(self.store(), &suspension, id)?;
        Ok(SpotChecked {
            outcome,
            suspended: Some(suspension),
        })
    }

    /// Resumes a suspended auto-approval (`kind` `None` for a gate without kinds):
    /// spot checks answered before now no longer count against it.
    pub fn resume_auto_approval(
        &self,
        workflow: &str,
        gate: &str,
        kind: Option<&str>,
        by: &str,
    ) -> Result<Suspension> {
        let key = key(workflow, gate, kind);
        let kv = self.store().kv();
        let mut suspension: Suspension = kv
            .kv_get(SCOPE, &key)
            .map_err(kv_error)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(Suspension::active)
            .ok_or_else(|| {
                let listed: Vec<String> = self
                    .suspensions(None)
                    .unwrap_or_default()
                    .iter()
                    .filter(|s| s.active())
                    .map(Suspension::what)
                    .collect();
                ServiceError::Invalid(format!(
                    "no suspended auto-approval of {}; {}",
                    match kind {
                        Some(kind) => format!("{workflow}/{gate} kind {kind}"),
                        None => format!("{workflow}/{gate}"),
                    },
                    if listed.is_empty() {
                        "none is suspended".to_string()
                    } else {
                        format!("suspended: {}", listed.join(", "))
                    }
                ))
            })?;
        suspension.resumed_at = Some(baton_core::Clock::now(self.clock()));
        suspension.resumed_by = Some(by.to_string());
        let bytes =
            serde_json::to_vec(&suspension).map_err(|e| ServiceError::Host(e.to_string()))?;
        kv.kv_set(SCOPE, &key, &bytes, QUOTA).map_err(kv_error)?;
        Ok(suspension)
    }

    /// Records what happened after decision `id`, as `by` reports it.
    pub fn outcome(
        &self,
        id: &DecisionId,
        good: bool,
        note: Option<String>,
        by: &str,
    ) -> Result<Outcome> {
        Ok(baton_engine::record_outcome(
            self.store(),
            self.clock(),
            id,
            good,
            note,
            by,
        )?)
    }
}

/// Of the newest [`SPOT_CHECK_WINDOW`] spot checks of `gate` and `kind` answered
/// after `since`, how many agreed, and how many there are.
pub fn agreement(runs: &[RunState], gate: &str, kind: Option<&str>, since: u64) -> (u32, u32) {
    let mut answers: Vec<(u64, bool)> = runs
        .iter()
        .flat_map(|run| run.decisions.values())
        .filter(|d| d.request.id.gate.step.as_str() == gate && d.request.kind.as_deref() == kind)
        .filter_map(|d| {
            let check = d.spot_check.as_ref()?;
            let at = check.answered_at?;
            (at >= since).then_some((at, check.answer.as_ref()?.agrees()))
        })
        .collect();
    answers.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    answers.truncate(SPOT_CHECK_WINDOW);
    let agreed = answers.iter().filter(|(_, agrees)| *agrees).count() as u32;
    (agreed, answers.len() as u32)
}
