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

pub use rules::{KINDS, audit};
pub use schema::{INPUT_SCHEMA, OUTPUT_SCHEMA};

// Every input type refuses fields it does not know: a field the auditor ignored
// silently would let an operator believe it was used (a misspelt `target_cpa` would
// judge the account against its average instead). The host's schema check names the
// field first; serde's `deny_unknown_fields` is the same rule for native callers.

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub account: AccountInfo,
    #[serde(default)]
    pub date_range: Option<DateRange>,
    pub campaigns: Vec<Campaign>,
    /// The search terms report: each term with the campaign and ad group it matched
    /// in. Terms may also sit in their ad group (`ad_groups[].search_terms`).
    #[serde(default)]
    pub search_terms: Vec<ReportedTerm>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInfo {
    pub id: String,
    pub name: String,
    #[serde(default = "usd")]
    pub currency: String,
    /// What a conversion may cost: the yardstick of every cost judgement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cpa: Option<f64>,
    /// Or the conversion value each unit of spend must bring back (4.0 = 400%),
    /// turned into a cost per conversion with the account's average conversion value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_roas: Option<f64>,
    /// The state of conversion tracking, as Google Ads reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_tracking: Option<Tracking>,
}

/// Conversion tracking as the account's Conversions page shows it.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Tracking {
    /// Recording conversions.
    Active,
    /// Set up, but nothing recorded lately.
    NoRecentConversions,
    /// Set up, never verified.
    Unverified,
    /// No conversion action at all.
    None,
}

impl Tracking {
    pub fn words(self) -> &'static str {
        match self {
            Tracking::Active => "active",
            Tracking::NoRecentConversions => "recording no conversions",
            Tracking::Unverified => "unverified",
            Tracking::None => "not set up",
        }
    }
}

fn usd() -> String {
    "USD".into()
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    pub start: String,
    pub end: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub name: String,
    #[serde(default = "enabled")]
    pub status: String,
    pub daily_budget: f64,
    /// e.g. `MANUAL_CPC`, `ENHANCED_CPC`, `MAXIMIZE_CONVERSIONS`, `TARGET_CPA`.
    pub bidding_strategy: String,
    /// The campaign's own target, which overrides the account's for its judgements.
    #[serde(default)]
    pub target_cpa: Option<f64>,
    /// Shares 0-1 of the impressions the campaign could have had.
    #[serde(default)]
    pub search_impression_share: Option<f64>,
    #[serde(default)]
    pub lost_is_budget: f64,
    #[serde(default)]
    pub lost_is_rank: f64,
    /// Where its ads may show besides Google search.
    #[serde(default)]
    pub networks: Networks,
    pub ad_groups: Vec<AdGroup>,
}

/// A Search campaign's network settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Networks {
    /// Google's search partners (other search sites).
    #[serde(default)]
    pub search_partners: bool,
    /// The Display Network ("Display expansion").
    #[serde(default)]
    pub display: bool,
}

fn enabled() -> String {
    "ENABLED".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdGroup {
    pub name: String,
    pub keywords: Vec<Keyword>,
    #[serde(default)]
    pub search_terms: Vec<SearchTerm>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
    pub conversion_value: Option<f64>,
    #[serde(default)]
    pub quality_score: Option<u8>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchTerm {
    pub term: String,
    pub clicks: u64,
    pub impressions: u64,
    pub cost: f64,
    pub conversions: f64,
    #[serde(default)]
    pub conversion_value: Option<f64>,
}

/// A row of the search terms report.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportedTerm {
    pub campaign: String,
    pub ad_group: String,
    pub term: String,
    pub clicks: u64,
    pub impressions: u64,
    pub cost: f64,
    pub conversions: f64,
    #[serde(default)]
    pub conversion_value: Option<f64>,
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
    /// One of [`rules::KINDS`]: `conversion-tracking`, `campaign-not-converting`,
    /// `wasted-spend`, `high-cpa-keyword`, `negative-keyword`, `budget-limited`,
    /// `rank-limited`, `broad-without-smart-bidding`, `display-network`,
    /// `search-partners`, `low-quality-score`.
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
    /// The money the severity is judged on: spend beyond what its conversions were
    /// worth at the target (for a missed opportunity, the conversions missed at it).
    pub at_risk: f64,
    /// Why it matters, in one plain sentence.
    pub reason: String,
    /// Why this severity: the money at risk against the target.
    pub severity_reason: String,
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
    /// What to know before choosing it: another finding's recommended change touches
    /// the same campaign or keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Choice {
    /// What its changes touch, each once, in order, as paths: pausing a campaign
    /// touches `campaign:NAME` (all of it); its budget, bidding or networks
    /// `campaign:NAME/budget`, `/bidding`, `/networks`; a keyword
    /// `campaign:NAME/ad group:GROUP/keyword:TEXT`; a negative `.../negative:TEXT`.
    /// Two changes conflict when one path holds the other.
    pub fn entities(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |path: String| {
            if !out.contains(&path) {
                out.push(path);
            }
        };
        for change in &self.changes {
            let campaign = format!("campaign:{}", change.campaign);
            let group = change
                .ad_group
                .as_deref()
                .filter(|g| !g.is_empty())
                .map(|g| format!("{campaign}/ad group:{g}"));
            let within = group.clone().unwrap_or_else(|| campaign.clone());
            if let Some(keyword) = change.keyword.as_deref().filter(|k| !k.is_empty()) {
                let negative = change
                    .criterion_type
                    .as_deref()
                    .is_some_and(|c| c.contains("Negative"));
                let kind = if negative { "negative" } else { "keyword" };
                push(format!("{within}/{kind}:{keyword}"));
                continue;
            }
            if change.campaign_status.is_some() {
                push(campaign.clone());
            }
            if change.budget.is_some() {
                push(format!("{campaign}/budget"));
            }
            if change.bid_strategy_type.is_some() {
                push(format!("{campaign}/bidding"));
            }
            if change.networks.is_some() {
                push(format!("{campaign}/networks"));
            }
            if let Some(group) = group.filter(|_| change.status.is_some()) {
                push(group);
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
    /// `Google search`, or `Google search;Search Partners`, with `;Display Network`.
    #[serde(rename = "Networks", default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<String>,
    /// The values the changed columns had before, by column name; none for a row
    /// that adds something (a keyword, a negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<std::collections::BTreeMap<String, String>>,
}

impl Change {
    /// The CSV columns, in order, as Google Ads Editor names them.
    pub const COLUMNS: [&'static str; 10] = [
        "Campaign",
        "Campaign Status",
        "Budget",
        "Bid Strategy Type",
        "Ad Group",
        "Keyword",
        "Criterion Type",
        "Max CPC",
        "Status",
        "Networks",
    ];

    /// The row's cells in [`Change::COLUMNS`] order.
    pub fn cells(&self) -> [&str; 10] {
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
            cell(&self.networks),
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
        assert_eq!(report.summary.campaigns, 8);
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
                ("budget-limited", "Brand - Northwind"),
                ("broad-without-smart-bidding", "Generic - Hiking Boots"),
                ("high-cpa-keyword", "camping tent"),
                ("rank-limited", "Generic - Trail Running"),
                ("search-partners", "Rain Gear"),
                ("negative-keyword", "used camping gear"),
                ("negative-keyword", "free hiking boots"),
                ("display-network", "Remarketing - Tents"),
                ("negative-keyword", "hiking boot repair near me"),
                ("negative-keyword", "hiking boots jobs"),
                ("low-quality-score", "waterproof trail shoes"),
            ]
        );
        assert_eq!(
            (
                report.summary.critical,
                report.summary.high,
                report.summary.monitor
            ),
            (2, 3, 8)
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
        // 38% lost to budget: raise $60 by 38%, saying what it was.
        assert_eq!(brand.options[0].changes[0].budget.as_deref(), Some("83.00"));
        assert_eq!(
            brand.options[0].changes[0].before.as_ref().unwrap()["Budget"],
            "60.00"
        );
        // The donor converts over its target and is not itself a finding: not
        // Competitors (no conversions), Rain Gear (partners) or Remarketing (display).
        assert_eq!(
            brand.options[2].action,
            "Move $23.00/day from Camping Gear (converting at $27.41, above its target) to it"
        );
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
        let error = audit_json("{\"acount\": {}}", &Settings::default()).unwrap_err();
        assert!(error.contains("unknown field `acount`"), "{error}");
        assert!(error.contains("the account export"), "{error}");
    }
}
