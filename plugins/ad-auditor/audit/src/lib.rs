//! The ad auditor's rules, as plain Rust so that they can be tested natively and
//! shared by the plugin.
//!
//! Input: a Google Ads account export (campaigns with daily budget, bidding strategy
//! and impression share lost to budget and rank; ad groups; keywords with match type,
//! clicks, impressions, cost, conversions and quality score; search terms).
//! Output: findings, most urgent first, each with its evidence in numbers and its
//! options (the recommended change first, then up to two alternatives), where each
//! option is a list of rows for Google Ads Editor's CSV import.

mod rules;
mod schema;

use serde::{Deserialize, Serialize};

pub use rules::audit;
pub use schema::{INPUT_SCHEMA, OUTPUT_SCHEMA};

#[derive(Clone, Debug, Deserialize)]
pub struct Account {
    pub account: AccountInfo,
    #[serde(default)]
    pub date_range: Option<DateRange>,
    pub campaigns: Vec<Campaign>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct AccountInfo {
    pub id: String,
    pub name: String,
    #[serde(default = "usd")]
    pub currency: String,
}

fn usd() -> String {
    "USD".into()
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DateRange {
    pub start: String,
    pub end: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Campaign {
    pub name: String,
    #[serde(default = "enabled")]
    pub status: String,
    pub daily_budget: f64,
    /// e.g. `MANUAL_CPC`, `ENHANCED_CPC`, `MAXIMIZE_CONVERSIONS`, `TARGET_CPA`.
    pub bidding_strategy: String,
    #[serde(default)]
    pub target_cpa: Option<f64>,
    /// Shares 0-1 of the impressions the campaign could have had.
    #[serde(default)]
    pub search_impression_share: Option<f64>,
    #[serde(default)]
    pub lost_is_budget: f64,
    #[serde(default)]
    pub lost_is_rank: f64,
    pub ad_groups: Vec<AdGroup>,
}

fn enabled() -> String {
    "ENABLED".into()
}

#[derive(Clone, Debug, Deserialize)]
pub struct AdGroup {
    pub name: String,
    pub keywords: Vec<Keyword>,
    #[serde(default)]
    pub search_terms: Vec<SearchTerm>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Keyword {
    pub text: String,
    /// `BROAD`, `PHRASE` or `EXACT`.
    pub match_type: String,
    #[serde(default = "enabled")]
    pub status: String,
    #[serde(default)]
    pub max_cpc: Option<f64>,
    pub clicks: u64,
    pub impressions: u64,
    pub cost: f64,
    pub conversions: f64,
    #[serde(default)]
    pub quality_score: Option<u8>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SearchTerm {
    pub term: String,
    pub clicks: u64,
    pub impressions: u64,
    pub cost: f64,
    pub conversions: f64,
}

/// What the operator can tune (workflow `config`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Spend below which a keyword or search term is too young to judge.
    pub min_spend: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { min_spend: 50.0 }
    }
}

impl Settings {
    /// Reads `min-spend` through `get` (the plugin's `config` import).
    pub fn from_config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let mut settings = Settings::default();
        if let Some(value) = get("min-spend") {
            settings.min_spend = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    format!("config min-spend = {value:?}: expected a non-negative number, e.g. 50")
                })?;
        }
        Ok(settings)
    }
}

/// The audit: the account, totals, and the findings, most urgent first.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub account: AccountInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_range: Option<DateRange>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub campaigns: usize,
    pub keywords: usize,
    pub search_terms: usize,
    pub cost: f64,
    pub conversions: f64,
    /// Cost per conversion over the whole account, if anything converted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpa: Option<f64>,
    pub critical: usize,
    pub high: usize,
    pub monitor: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Monitor,
}

impl Severity {
    /// The group a report shows it under.
    pub fn group(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High priority",
            Severity::Monitor => "Monitor",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Stable across runs on the same export: `kind:campaign/subject`.
    pub id: String,
    pub severity: Severity,
    /// `Critical`, `High priority` or `Monitor`.
    pub group: &'static str,
    /// `wasted-spend`, `negative-keyword`, `budget-limited`, `low-quality-score`,
    /// `broad-without-smart-bidding`, `campaign-not-converting`, `rank-limited`.
    pub kind: &'static str,
    pub title: String,
    /// The numbers behind it, in one sentence.
    pub evidence: String,
    pub campaign: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_group: Option<String>,
    /// The keyword, search term or campaign the finding is about.
    pub subject: String,
    /// What it cost over the export's date range.
    pub cost: f64,
    /// The recommended change first, then up to two alternatives.
    pub options: Vec<Choice>,
}

/// One way to act on a finding: what it does, and the rows it adds to the change set.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Choice {
    pub action: String,
    pub changes: Vec<Change>,
    /// What it touches, as paths (`campaign:Brand`, `campaign:Brand/ad group:Boots/keyword:boots`):
    /// Baton shows a decision what earlier approvals did to the same things.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affects: Vec<String>,
}

impl Choice {
    /// The campaigns, ad groups and keywords its changes touch, each once, in order.
    pub fn entities(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for change in &self.changes {
            let mut path = format!("campaign:{}", change.campaign);
            if let Some(group) = change.ad_group.as_deref().filter(|g| !g.is_empty()) {
                path.push_str(&format!("/ad group:{group}"));
            }
            if let Some(keyword) = change.keyword.as_deref().filter(|k| !k.is_empty()) {
                path.push_str(&format!("/keyword:{keyword}"));
            }
            if !out.contains(&path) {
                out.push(path);
            }
        }
        out
    }
}

/// One row of a Google Ads Editor CSV import; unset columns stay empty.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Change {
    #[serde(rename = "Campaign")]
    pub campaign: String,
    #[serde(
        rename = "Campaign Status",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub campaign_status: Option<String>,
    #[serde(rename = "Budget", default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    #[serde(
        rename = "Bid Strategy Type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub bid_strategy_type: Option<String>,
    #[serde(rename = "Ad Group", default, skip_serializing_if = "Option::is_none")]
    pub ad_group: Option<String>,
    #[serde(rename = "Keyword", default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    #[serde(
        rename = "Criterion Type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub criterion_type: Option<String>,
    #[serde(rename = "Max CPC", default, skip_serializing_if = "Option::is_none")]
    pub max_cpc: Option<String>,
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl Change {
    /// The CSV columns, in order, as Google Ads Editor names them.
    pub const COLUMNS: [&'static str; 9] = [
        "Campaign",
        "Campaign Status",
        "Budget",
        "Bid Strategy Type",
        "Ad Group",
        "Keyword",
        "Criterion Type",
        "Max CPC",
        "Status",
    ];

    /// The row's cells in [`Change::COLUMNS`] order.
    pub fn cells(&self) -> [&str; 9] {
        fn cell(v: &Option<String>) -> &str {
            v.as_deref().unwrap_or("")
        }
        [
            &self.campaign,
            cell(&self.campaign_status),
            cell(&self.budget),
            cell(&self.bid_strategy_type),
            cell(&self.ad_group),
            cell(&self.keyword),
            cell(&self.criterion_type),
            cell(&self.max_cpc),
            cell(&self.status),
        ]
    }
}

/// Parses `input` and audits it; errors name the field that is wrong.
pub fn audit_json(input: &str, settings: &Settings) -> Result<Report, String> {
    let account: Account =
        serde_json::from_str(input).map_err(|e| format!("the account export: {e}"))?;
    Ok(audit(&account, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let text = include_str!("../../../../examples/ads-account.json");
        audit_json(text, &Settings::default()).unwrap()
    }

    fn find<'a>(report: &'a Report, kind: &str, subject: &str) -> &'a Finding {
        report
            .findings
            .iter()
            .find(|f| f.kind == kind && f.subject == subject)
            .unwrap_or_else(|| panic!("no {kind} finding for {subject:?}"))
    }

    #[test]
    fn the_sample_account_gets_the_findings_a_specialist_would_flag_most_urgent_first() {
        let report = sample();
        assert_eq!(report.summary.campaigns, 7);
        assert!(report.summary.keywords >= 100);
        let kinds: Vec<(&str, &str)> = report
            .findings
            .iter()
            .map(|f| (f.kind, f.subject.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("campaign-not-converting", "Competitors"),
                ("wasted-spend", "hiking boots"),
                ("broad-without-smart-bidding", "Generic - Hiking Boots"),
                ("budget-limited", "Brand - Northwind"),
                ("negative-keyword", "used camping gear"),
                ("negative-keyword", "free hiking boots"),
                ("negative-keyword", "hiking boot repair near me"),
                ("negative-keyword", "hiking boots jobs"),
                ("rank-limited", "Generic - Trail Running"),
                ("low-quality-score", "waterproof trail shoes"),
            ]
        );
        assert_eq!(
            (
                report.summary.critical,
                report.summary.high,
                report.summary.monitor
            ),
            (2, 6, 2)
        );
        // The paused campaign wastes money too, but it is not running.
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.campaign != "Winter Jackets")
        );
        // Keyword findings inside a campaign flagged as a whole would repeat it.
        assert_eq!(
            report
                .findings
                .iter()
                .filter(|f| f.campaign == "Competitors")
                .count(),
            1
        );
    }

    #[test]
    fn each_finding_has_numbers_a_recommendation_and_at_most_two_alternatives() {
        let report = sample();
        for f in &report.findings {
            assert!((1..=3).contains(&f.options.len()), "{f:?}");
            assert!(f.evidence.chars().any(|c| c.is_ascii_digit()), "{f:?}");
            assert!(f.options.iter().all(|o| !o.changes.is_empty()), "{f:?}");
        }
        let wasted = find(&report, "wasted-spend", "hiking boots");
        assert_eq!(wasted.severity, Severity::Critical);
        assert!(wasted.title.contains("$641.84"), "{}", wasted.title);
        assert_eq!(
            wasted.options[0].changes[0].status.as_deref(),
            Some("Paused")
        );
        assert_eq!(
            wasted.options[0].changes[0].criterion_type.as_deref(),
            Some("Broad")
        );
        let brand = find(&report, "budget-limited", "Brand - Northwind");
        // 38% lost to budget: raise $60 by 38%.
        assert_eq!(brand.options[0].changes[0].budget.as_deref(), Some("83.00"));
        assert!(
            brand.evidence.contains("$6.33 per conversion"),
            "{}",
            brand.evidence
        );
        let negative = find(&report, "negative-keyword", "free hiking boots");
        assert_eq!(
            negative.options[0].changes[0].criterion_type.as_deref(),
            Some("Campaign Negative Exact")
        );
        let manual = find(
            &report,
            "broad-without-smart-bidding",
            "Generic - Hiking Boots",
        );
        assert_eq!(
            manual.options[0].changes[0].bid_strategy_type.as_deref(),
            Some("Maximize conversions")
        );
    }

    #[test]
    fn thresholds_follow_the_account_and_the_config() {
        let text = include_str!("../../../../examples/ads-account.json");
        let strict = Settings::from_config(|k| (k == "min-spend").then(|| "5000".into())).unwrap();
        let report = audit_json(text, &strict).unwrap();
        assert!(
            report.findings.iter().all(|f| f.kind != "wasted-spend"),
            "nothing spent $5,000: {:?}",
            report.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
        );
        let error = Settings::from_config(|_| Some("lots".into())).unwrap_err();
        assert!(error.contains("min-spend"), "{error}");
        let error = audit_json("{\"account\": {}}", &Settings::default()).unwrap_err();
        assert!(error.contains("the account export"), "{error}");
    }
}
