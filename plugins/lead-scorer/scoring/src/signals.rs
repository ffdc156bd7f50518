//! What each field of a lead is worth, and how to say it in words.

use serde::Serialize;

use crate::lead::{DealStage, Lead};
use crate::settings::Settings;

/// One reason a lead gained or lost points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// Which signal, e.g. `pricing_page_views`.
    pub signal: &'static str,
    /// Points it added (or, negative, took away).
    pub points: i32,
    /// The signal in words, e.g. `viewed pricing 3 times this week`.
    pub detail: String,
}

/// The signals of one lead, strongest first, and what, if anything, rules it out.
#[derive(Debug)]
pub(crate) struct Assessment {
    pub(crate) signals: Vec<Signal>,
    /// Why the lead should not be contacted at all, e.g. `closed won`.
    pub(crate) blocker: Option<String>,
}

const MAX_PRICING_VIEWS: u32 = 4;
const MAX_VISITS: u32 = 8;
const MAX_OPENS: u32 = 6;
const MAX_EXTRA_REPLIES: u32 = 2;

/// Intent in the notes, most specific first.
const POSITIVE_NOTES: &[&str] = &[
    "budget approved",
    "budget confirmed",
    "has budget",
    "asked for a quote",
    "asked for pricing",
    "requested a demo",
    "ready to buy",
    "security review",
    "procurement",
    "urgent",
    "asap",
    "trial",
    "renewal",
    "expansion",
    "champion",
];
/// Disinterest in the notes.
const NEGATIVE_NOTES: &[&str] = &[
    "not interested",
    "went with",
    "chose a competitor",
    "competitor",
    "no budget",
    "budget frozen",
    "hiring freeze",
    "bad timing",
    "ghosted",
];
/// Notes that mean the lead must not be contacted.
const BLOCKING_NOTES: &[&str] = &[
    "do not contact",
    "unsubscribe",
    "opted out",
    "left the company",
];

pub(crate) fn assess(lead: &Lead, settings: &Settings) -> Assessment {
    let w = &settings.weights;
    let mut signals = Vec::new();
    let mut add = |signal: &'static str, points: i32, detail: String| {
        if points != 0 {
            signals.push(Signal {
                signal,
                points,
                detail,
            });
        }
    };

    if lead.pricing_page_views > 0 {
        let n = lead.pricing_page_views;
        add(
            "pricing_page_views",
            n.min(MAX_PRICING_VIEWS) as i32 * w.pricing_view,
            format!("viewed pricing {} this week", times(n)),
        );
    }
    if lead.email_replies > 0 {
        let extra = (lead.email_replies - 1).min(MAX_EXTRA_REPLIES) as i32 * w.reply / 3;
        let (fresh, detail) = match lead.last_reply_days_ago {
            Some(0) => (w.fresh_reply, "replied today".to_string()),
            Some(1) => (w.fresh_reply, "replied yesterday".to_string()),
            Some(d) if d <= 7 => (w.fresh_reply / 2, format!("replied {d} days ago")),
            _ => (
                0,
                format!("replied {} this month", times(lead.email_replies)),
            ),
        };
        add("email_replies", w.reply + extra + fresh, detail);
    }
    if lead.website_visits > 0 {
        let n = lead.website_visits;
        add(
            "website_visits",
            n.min(MAX_VISITS) as i32 * w.visit,
            format!("visited the site {} this week", times(n)),
        );
    }
    if lead.email_opens > 0 {
        let n = lead.email_opens;
        add(
            "email_opens",
            n.min(MAX_OPENS) as i32 * w.open,
            format!("opened {n} email{}", if n == 1 { "" } else { "s" }),
        );
    }
    if let Some(title) = lead.title.as_deref().filter(|t| !t.trim().is_empty()) {
        let fraction = seniority(title);
        add(
            "seniority",
            (w.seniority as f64 * fraction).round() as i32,
            format!("is {}", title.trim()),
        );
    }
    if let Some(employees) = lead.employees {
        let (low, high) = settings.ideal_employees;
        if (low..=high).contains(&employees) {
            add(
                "company_size",
                w.fit,
                format!("fits the ideal company size ({employees} employees)"),
            );
        }
    }
    if let Some(industry) = lead.industry.as_deref() {
        let lower = industry.trim().to_lowercase();
        if settings.target_industries.contains(&lower) {
            add(
                "industry",
                w.industry,
                format!("is in a target industry ({})", industry.trim()),
            );
        }
    }
    let (stage_points, stage_detail) = match lead.deal_stage {
        DealStage::New | DealStage::ClosedWon | DealStage::ClosedLost => (0, ""),
        DealStage::Contacted => (w.stage / 7, "has been contacted"),
        DealStage::Engaged => (w.stage * 3 / 7, "is engaged in conversation"),
        DealStage::Demo => (w.stage * 5 / 7, "has a demo booked"),
        DealStage::Proposal => (w.stage * 6 / 7, "has a proposal out"),
        DealStage::Negotiation => (w.stage, "is negotiating"),
    };
    add("deal_stage", stage_points, stage_detail.to_string());

    let notes = lead.notes.to_lowercase();
    let negative = NEGATIVE_NOTES.iter().find(|k| notes.contains(*k));
    if let Some(keyword) = negative {
        add(
            "notes",
            -w.negative_notes,
            format!("notes mention \"{keyword}\""),
        );
    } else if let Some(keyword) = POSITIVE_NOTES.iter().find(|k| notes.contains(*k)) {
        add("notes", w.notes, format!("notes mention \"{keyword}\""));
    }
    if let Some(days) = lead.days_since_last_contact
        && days > settings.stale_after_days
    {
        add(
            "days_since_last_contact",
            -w.stale,
            format!("no contact for {days} days"),
        );
    }

    signals.sort_by(|a, b| {
        b.points
            .abs()
            .cmp(&a.points.abs())
            .then(b.points.cmp(&a.points))
    });
    let blocker = match lead.deal_stage {
        DealStage::ClosedWon => Some("the deal is closed won".to_string()),
        DealStage::ClosedLost => Some("the deal is closed lost".to_string()),
        _ => BLOCKING_NOTES
            .iter()
            .find(|k| notes.contains(*k))
            .map(|k| format!("notes say \"{k}\"")),
    };
    Assessment { signals, blocker }
}

/// `once`, `twice`, `3 times`.
fn times(n: u32) -> String {
    match n {
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

/// How senior a title is, as a fraction of the seniority weight.
fn seniority(title: &str) -> f64 {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    if [
        "ceo",
        "cto",
        "cfo",
        "coo",
        "cmo",
        "cro",
        "chief",
        "founder",
        "cofounder",
        "owner",
        "president",
    ]
    .iter()
    .any(|w| has(w))
        && !has("vice")
    {
        1.0
    } else if has("vp") || has("vice") || has("head") || has("svp") || has("evp") {
        5.0 / 6.0
    } else if has("director") {
        7.0 / 12.0
    } else if has("manager") || has("lead") {
        0.25
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_matched_by_whole_words() {
        assert_eq!(seniority("CTO"), 1.0);
        assert_eq!(seniority("Co-Founder & CEO"), 1.0);
        assert_eq!(seniority("VP of Sales"), 5.0 / 6.0);
        assert_eq!(seniority("Vice President, Marketing"), 5.0 / 6.0);
        // "director" contains "cto" but is a director.
        assert_eq!(seniority("Director of Operations"), 7.0 / 12.0);
        assert_eq!(seniority("Account Executive"), 0.0);
    }

    #[test]
    fn negative_notes_win_over_positive_ones_in_the_same_text() {
        let lead = Lead {
            notes: "Had budget approved but went with a competitor".into(),
            ..Lead::default()
        };
        let a = assess(&lead, &Settings::default());
        let notes = a.signals.iter().find(|s| s.signal == "notes").unwrap();
        assert!(notes.points < 0);
        assert!(notes.detail.contains("went with"));
    }

    #[test]
    fn a_stale_lead_loses_points_and_says_for_how_long() {
        let lead = Lead {
            days_since_last_contact: Some(45),
            ..Lead::default()
        };
        let a = assess(&lead, &Settings::default());
        assert_eq!(a.signals[0].points, -10);
        assert_eq!(a.signals[0].detail, "no contact for 45 days");
    }
}
