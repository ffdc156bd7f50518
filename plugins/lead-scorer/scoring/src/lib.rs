//! The lead scorer's logic, as plain Rust with no WebAssembly in sight, so that the
//! `lead-scorer` plugin, its unit tests and native benchmarks all run the same code.
//!
//! A lead earns points from buying signals (pricing-page views, replies, site visits,
//! email opens, seniority of the contact, company fit, deal stage, what the notes
//! say) and loses points for going cold or for negative notes. Points map onto a
//! 0-100 score by `100 * (1 - e^(-points / scale))`: more evidence always ranks
//! higher and no score passes 100. Each lead gets a one-sentence reason built from
//! the signals that moved it most, and the output names the one lead to act on now.
//!
//! Layout: `lead` (input types), `settings` (weights and thresholds from config),
//! `signals` (what each field is worth), `reason` (the sentence), `schema` (the JSON
//! Schemas the plugin declares).

mod lead;
mod reason;
mod schema;
mod settings;
mod signals;

pub use lead::{DealStage, Lead, LeadsInput};
pub use schema::{INPUT_SCHEMA, OUTPUT_SCHEMA};
pub use settings::{ConfigError, KNOWN_KEYS, Settings, Weights};
pub use signals::Signal;

use serde::Serialize;
use serde_json::Value;

/// One lead, scored.
#[derive(Clone, Debug, Serialize)]
pub struct ScoredLead {
    /// 1 for the lead to act on first.
    pub rank: usize,
    /// 0 to 100.
    pub score: u32,
    /// One sentence naming the signals that drove the score.
    pub reason: String,
    /// False for closed deals and contacts who asked not to be contacted.
    pub actionable: bool,
    /// Every signal that counted, strongest first.
    pub signals: Vec<Signal>,
    /// The lead as it was given, extra fields included.
    pub lead: Value,
    #[serde(skip)]
    points: i32,
    #[serde(skip)]
    company: String,
}

/// Counts over the whole list.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub scored: usize,
    pub actionable: usize,
    /// Actionable leads scoring at or above the `hot-threshold` setting.
    pub hot: usize,
}

/// The scorer's output.
#[derive(Clone, Debug, Serialize)]
pub struct Scored {
    /// Every lead, best first.
    pub leads: Vec<ScoredLead>,
    /// The lead to act on now: the best actionable one, or `null` when none is.
    pub top: Option<ScoredLead>,
    pub summary: Summary,
}

/// Why the input could not be scored.
#[derive(Debug, PartialEq, Eq)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Scores JSON text as the plugin receives it.
pub fn score_json(input: &str, settings: &Settings) -> Result<Scored, InputError> {
    let raw: Value =
        serde_json::from_str(input).map_err(|e| InputError(format!("input is not JSON: {e}")))?;
    let Some(items) = raw.get("leads").and_then(Value::as_array) else {
        return Err(InputError(
            "input must be an object with a `leads` array, e.g. {\"leads\": [...]}".into(),
        ));
    };
    let mut leads = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let lead: Lead = serde_json::from_value(item.clone())
            .map_err(|e| InputError(format!("leads[{index}]: {e}")))?;
        leads.push((lead, item.clone()));
    }
    Ok(score(leads, settings))
}

/// Scores typed leads; each is paired with the JSON to echo back in the output.
pub fn score(leads: Vec<(Lead, Value)>, settings: &Settings) -> Scored {
    let mut scored: Vec<ScoredLead> = leads
        .into_iter()
        .map(|(lead, raw)| score_one(&lead, raw, settings))
        .collect();
    scored.sort_by(|a, b| {
        b.actionable
            .cmp(&a.actionable)
            .then(b.score.cmp(&a.score))
            .then(b.points.cmp(&a.points))
            .then(a.company.cmp(&b.company))
    });
    for (index, lead) in scored.iter_mut().enumerate() {
        lead.rank = index + 1;
    }
    let actionable = scored.iter().filter(|l| l.actionable).count();
    let hot = scored
        .iter()
        .filter(|l| l.actionable && l.score >= settings.hot_threshold)
        .count();
    Scored {
        top: scored.first().filter(|l| l.actionable).cloned(),
        summary: Summary {
            scored: scored.len(),
            actionable,
            hot,
        },
        leads: scored,
    }
}

fn score_one(lead: &Lead, raw: Value, settings: &Settings) -> ScoredLead {
    let assessment = signals::assess(lead, settings);
    let points: i32 = assessment.signals.iter().map(|s| s.points).sum();
    let score = if points <= 0 {
        0
    } else {
        (100.0 * (1.0 - (-(points as f64) / settings.scale).exp())).round() as u32
    };
    let reason = reason::sentence(&assessment);
    ScoredLead {
        rank: 0,
        score: score.min(100),
        reason,
        actionable: assessment.blocker.is_none(),
        signals: assessment.signals,
        lead: raw,
        points,
        company: lead.company.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(leads: Value) -> Scored {
        score_json(&json!({ "leads": leads }).to_string(), &Settings::default()).unwrap()
    }

    #[test]
    fn a_lead_with_pricing_views_and_a_fresh_reply_outranks_a_cold_one() {
        let out = run(json!([
            {"company": "Coldco", "contact": "Ann", "days_since_last_contact": 90},
            {"company": "Hotco", "contact": "Bo", "pricing_page_views": 3,
             "email_replies": 1, "last_reply_days_ago": 1, "title": "VP of Sales"}
        ]));
        assert_eq!(out.leads[0].lead["company"], "Hotco");
        assert_eq!(out.top.as_ref().unwrap().lead["company"], "Hotco");
        assert!(out.leads[0].score > 60, "{}", out.leads[0].score);
        assert_eq!(out.leads[1].score, 0);
        let reason = &out.leads[0].reason;
        assert!(
            reason.starts_with("Viewed pricing 3 times this week"),
            "{reason}"
        );
        assert!(reason.contains("replied yesterday"), "{reason}");
    }

    #[test]
    fn closed_deals_are_ranked_last_and_never_the_top_lead() {
        let out = run(json!([
            {"company": "Won", "contact": "C", "deal_stage": "closed_won", "pricing_page_views": 9},
            {"company": "Open", "contact": "D", "website_visits": 1}
        ]));
        assert_eq!(out.top.unwrap().lead["company"], "Open");
        assert!(!out.leads[1].actionable);
        assert!(
            out.leads[1].reason.contains("closed won"),
            "{}",
            out.leads[1].reason
        );
    }

    #[test]
    fn no_actionable_lead_means_no_top() {
        let out =
            run(json!([{"company": "X", "contact": "Y", "notes": "Asked us to unsubscribe"}]));
        assert!(out.top.is_none());
        assert_eq!(out.summary.actionable, 0);
    }

    #[test]
    fn more_evidence_never_lowers_the_score_and_it_stays_within_100() {
        let mut last = 0;
        for views in 0..20 {
            let out = run(
                json!([{"company": "A", "contact": "B", "pricing_page_views": views,
                "email_replies": views, "website_visits": views * 3, "deal_stage": "negotiation"}]),
            );
            let score = out.leads[0].score;
            assert!(score >= last && score <= 100, "{views}: {score}");
            last = score;
        }
    }

    #[test]
    fn ties_are_broken_by_company_name_so_output_is_stable() {
        let out = run(json!([
            {"company": "Beta", "contact": "B"}, {"company": "Alpha", "contact": "A"}
        ]));
        assert_eq!(out.leads[0].lead["company"], "Alpha");
        assert_eq!(out.leads[0].rank, 1);
        assert_eq!(out.leads[1].rank, 2);
    }

    #[test]
    fn a_wrongly_typed_field_names_the_lead_and_the_field() {
        let error = score_json(
            r#"{"leads": [{"company": "A", "contact": "B"}, {"company": "C", "contact": "D", "employees": "many"}]}"#,
            &Settings::default(),
        )
        .unwrap_err();
        assert!(error.0.starts_with("leads[1]:"), "{error}");
    }

    #[test]
    fn extra_fields_are_echoed_back_untouched() {
        let out = run(json!([{"company": "A", "contact": "B", "crm_id": "0061x"}]));
        assert_eq!(out.leads[0].lead["crm_id"], "0061x");
    }
}
