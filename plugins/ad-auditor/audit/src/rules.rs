//! The rules: each looks at the export the way a paid-search specialist would and
//! says what it found, with numbers, and what to change. Thresholds, severities and
//! the reasoning behind them are listed in the plugin's README; the constants below
//! are the ones it names.
//!
//! One yardstick for money: the target cost per conversion (the account's
//! `target_cpa`, a campaign's own, or the one its `target_roas` implies), or, with no
//! target, the account's average, which the evidence then says. Severity follows the
//! money at risk against it ([`severity_for`]), not the rule's kind.

use std::collections::BTreeMap;

use crate::{
    Account, AdGroup, Campaign, Change, Choice, Finding, Keyword, Report, SearchTerm, Settings,
    Severity, Summary, Tracking,
};

/// Every kind of finding, in the order the README lists them.
pub const KINDS: [&str; 11] = [
    "conversion-tracking",
    "campaign-not-converting",
    "wasted-spend",
    "high-cpa-keyword",
    "negative-keyword",
    "budget-limited",
    "rank-limited",
    "broad-without-smart-bidding",
    "display-network",
    "search-partners",
    "low-quality-score",
];

/// Money at risk of at least this many target conversions is critical.
const CRITICAL_TARGETS: f64 = 10.0;
/// And of at least this many, high priority; less is to monitor.
const HIGH_TARGETS: f64 = 3.0;
/// A keyword or search term is judged on spend without conversions once it spent
/// this many target conversions (at a true cost per conversion on target, spending
/// twice it without one happens by chance about one time in seven).
const NO_CONVERSION_TARGETS: f64 = 2.0;
/// A campaign, three times as much.
const CAMPAIGN_NO_CONVERSION_TARGETS: f64 = 3.0;
/// A converting keyword is judged on its cost per conversion once it spent this many
/// target conversions, and flagged when it pays at least this multiple of the target.
const HIGH_CPA_SPEND_TARGETS: f64 = 3.0;
const HIGH_CPA_MULTIPLE: f64 = 2.0;
/// Share of impressions lost to budget or rank worth acting on.
const LOST_TO_BUDGET: f64 = 0.15;
const LOST_TO_RANK: f64 = 0.30;
/// Quality score at or below this, on at least this many impressions.
const LOW_QUALITY_SCORE: u8 = 4;
const QUALITY_IMPRESSIONS: u64 = 1_000;
/// Search partners are worth a look when the campaign pays this multiple of the target.
const PARTNERS_CPA_MULTIPLE: f64 = 1.5;
/// A search term that names no intent to buy is a negative after this many clicks.
const NO_INTENT_CLICKS: u64 = 5;

/// Words in a search term that signal no intent to buy.
const NO_INTENT: &[&str] = &[
    "free",
    "jobs",
    "job",
    "salary",
    "career",
    "diy",
    "how to",
    "used",
    "cheap",
    "craigslist",
    "repair",
    "wikipedia",
    "meaning",
    "definition",
    "pdf",
];

/// Bidding strategies that let Google set each bid from conversion signals.
const SMART_BIDDING: &[&str] = &[
    "MAXIMIZE_CONVERSIONS",
    "MAXIMIZE_CONVERSION_VALUE",
    "TARGET_CPA",
    "TARGET_ROAS",
];

/// Audits an account export.
pub fn audit(account: &Account, settings: &Settings) -> Report {
    let totals = Totals::of(account);
    let money = Money(&account.account.currency);
    let ctx = Ctx {
        settings,
        target: Target::of(account, &totals),
        money,
        tracking_broken: account
            .account
            .conversion_tracking
            .filter(|t| *t != Tracking::Active),
    };
    let mut findings = Vec::new();
    let enabled: Vec<&Campaign> = account
        .campaigns
        .iter()
        .filter(|c| is_enabled(&c.status))
        .collect();
    findings.extend(conversion_tracking(&ctx, &enabled));
    // Findings about campaigns as a whole first: a campaign that is itself a finding
    // never gives budget to another.
    let mut flagged: Vec<&str> = Vec::new();
    let mut not_converting: Vec<&str> = Vec::new();
    for campaign in &enabled {
        let c = CampaignTotals::of(campaign);
        let before = findings.len();
        findings.extend(display_network(&ctx, campaign, &c));
        findings.extend(search_partners(&ctx, campaign, &c));
        findings.extend(broad_without_smart_bidding(&ctx, campaign));
        if let Some(finding) = campaign_not_converting(&ctx, campaign, &c) {
            findings.push(finding);
            not_converting.push(&campaign.name);
        }
        if findings.len() > before {
            flagged.push(&campaign.name);
        }
    }
    for campaign in &enabled {
        // A campaign that burns money without a single conversion is one finding;
        // its keywords' findings would only repeat it.
        if not_converting.contains(&campaign.name.as_str()) {
            continue;
        }
        let c = CampaignTotals::of(campaign);
        findings.extend(budget_limited(&ctx, campaign, &c, &enabled, &flagged));
        findings.extend(rank_limited(&ctx, campaign, &c));
        for group in &campaign.ad_groups {
            for keyword in group.keywords.iter().filter(|k| is_enabled(&k.status)) {
                if let Some(finding) = wasted_spend(&ctx, campaign, group, keyword)
                    .or_else(|| high_cpa_keyword(&ctx, campaign, group, keyword))
                {
                    findings.push(finding);
                } else if let Some(finding) = low_quality_score(&ctx, campaign, group, keyword) {
                    findings.push(finding);
                }
            }
            for term in &group.search_terms {
                findings.extend(negative_keyword(&ctx, campaign, group, term));
            }
        }
        for reported in account
            .search_terms
            .iter()
            .filter(|t| t.campaign == campaign.name)
        {
            let Some(group) = campaign
                .ad_groups
                .iter()
                .find(|g| g.name == reported.ad_group)
            else {
                continue;
            };
            let term = SearchTerm {
                term: reported.term.clone(),
                clicks: reported.clicks,
                impressions: reported.impressions,
                cost: reported.cost,
                conversions: reported.conversions,
                conversion_value: reported.conversion_value,
            };
            // The same term in the ad group's own list is one finding, not two.
            if group.search_terms.iter().any(|t| t.term == term.term) {
                continue;
            }
            findings.extend(negative_keyword(&ctx, campaign, group, &term));
        }
    }
    // Each option says what it touches, so that a later decision can be told what an
    // earlier approval already did to the same campaign or keyword.
    for finding in &mut findings {
        for option in &mut finding.options {
            option.affects = option.entities();
        }
    }
    mark_conflicts(&mut findings);
    findings.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(b.at_risk.total_cmp(&a.at_risk))
            .then(a.id.cmp(&b.id))
    });
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    Report {
        account: account.account.clone(),
        date_range: account.date_range.clone(),
        summary: Summary {
            campaigns: account.campaigns.len(),
            keywords: totals.keywords,
            search_terms: totals.search_terms + account.search_terms.len(),
            cost: round2(totals.cost),
            conversions: totals.conversions,
            cpa: totals.cpa().map(round2),
            critical: count(Severity::Critical),
            high: count(Severity::High),
            monitor: count(Severity::Monitor),
        },
        findings,
    }
}

/// Marks each option that touches what another finding's recommended change touches:
/// approving both would have one change undo or contradict the other.
fn mark_conflicts(findings: &mut [Finding]) {
    let defaults: Vec<(String, Vec<String>)> = findings
        .iter()
        .map(|f| {
            (
                f.title.clone(),
                f.options
                    .first()
                    .map(|o| o.affects.clone())
                    .unwrap_or_default(),
            )
        })
        .collect();
    for (index, finding) in findings.iter_mut().enumerate() {
        for option in &mut finding.options {
            let clash = defaults
                .iter()
                .enumerate()
                .find_map(|(other, (title, touched))| {
                    if other == index {
                        return None;
                    }
                    let entity = option
                        .affects
                        .iter()
                        .find(|a| touched.iter().any(|b| overlaps(a, b)))?;
                    Some((title, entity))
                });
            if let Some((title, entity)) = clash {
                option.note = Some(format!(
                    "{} is also changed by the recommendation of \"{title}\"; approve one of them",
                    entity_words(entity)
                ));
            }
        }
    }
}

/// Whether two entity paths are the same thing or one holds the other.
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        inner.len() > outer.len()
            && inner.starts_with(outer)
            && inner.as_bytes()[outer.len()] == b'/'
    };
    a == b || inside(a, b) || inside(b, a)
}

/// `campaign:Brand/keyword:boots` as words: `the keyword "boots" in Brand`.
fn entity_words(entity: &str) -> String {
    let parts: BTreeMap<&str, &str> = entity
        .split('/')
        .filter_map(|part| part.split_once(':'))
        .collect();
    match (parts.get("campaign"), parts.get("keyword")) {
        (Some(campaign), Some(keyword)) => format!("The keyword \"{keyword}\" in {campaign}"),
        (Some(campaign), None) => format!("The campaign {campaign}"),
        _ => entity.to_string(),
    }
}

struct Ctx<'a> {
    settings: &'a Settings,
    target: Option<Target>,
    money: Money<'a>,
    /// Conversion tracking reported not active: conversion counts cannot be trusted.
    tracking_broken: Option<Tracking>,
}

/// The cost per conversion judgements are made against, and where it comes from.
#[derive(Clone, Copy)]
struct Target {
    cpa: f64,
    source: TargetSource,
}

#[derive(Clone, Copy)]
enum TargetSource {
    /// `account.target_cpa`, or a campaign's `target_cpa`.
    Set,
    /// What `account.target_roas` allows at the account's average conversion value.
    Roas(f64),
    /// No target given: the account's average.
    Average,
}

impl Target {
    fn of(account: &Account, totals: &Totals) -> Option<Target> {
        if let Some(cpa) = account.account.target_cpa.filter(|c| *c > 0.0) {
            return Some(Target {
                cpa,
                source: TargetSource::Set,
            });
        }
        if let (Some(roas), true) = (
            account.account.target_roas.filter(|r| *r > 0.0),
            totals.value > 0.0 && totals.conversions > 0.0,
        ) {
            return Some(Target {
                cpa: totals.value / totals.conversions / roas,
                source: TargetSource::Roas(roas),
            });
        }
        totals.cpa().map(|cpa| Target {
            cpa,
            source: TargetSource::Average,
        })
    }
}

impl Ctx<'_> {
    /// The target for `campaign`: its own `target_cpa`, else the account's.
    fn target(&self, campaign: &Campaign) -> Option<Target> {
        match campaign.target_cpa.filter(|c| *c > 0.0) {
            Some(cpa) => Some(Target {
                cpa,
                source: TargetSource::Set,
            }),
            None => self.target,
        }
    }

    /// `your $25.00 target`, `the $18.40 your 400% ROAS target allows`, `the
    /// account's average of $26.91 (no target given)`.
    fn yardstick(&self, target: Target) -> String {
        let amount = self.money.show(target.cpa);
        match target.source {
            TargetSource::Set => format!("the {amount} target"),
            TargetSource::Roas(roas) => {
                format!("the {amount} a {} ROAS target allows", pct(roas))
            }
            TargetSource::Average => {
                format!("the account's average of {amount} (no target given)")
            }
        }
    }

    /// Spend without a conversion below which nothing is judged: `min_spend`, and
    /// `multiple` target conversions.
    fn enough(&self, target: Option<Target>, multiple: f64) -> f64 {
        let by_target = target.map(|t| t.cpa * multiple).unwrap_or(0.0);
        by_target.max(self.settings.min_spend)
    }

    /// The severity of `at_risk` against `target`, and the reason in words.
    fn severity(&self, at_risk: f64, target: Option<Target>) -> (Severity, String) {
        let Some(target) = target else {
            return (
                Severity::Monitor,
                "to monitor: no conversions anywhere in the account to judge the money against"
                    .into(),
            );
        };
        let times = at_risk / target.cpa;
        let severity = severity_for(at_risk, target.cpa);
        let band = match severity {
            Severity::Critical => format!("at least {CRITICAL_TARGETS:.0} times"),
            Severity::High => format!("{HIGH_TARGETS:.0} to {CRITICAL_TARGETS:.0} times"),
            Severity::Monitor => format!("under {HIGH_TARGETS:.0} times"),
        };
        (
            severity,
            format!(
                "{}: {} at risk, {times:.1} times {} ({band})",
                severity.group(),
                self.money.show(at_risk),
                self.yardstick(target)
            ),
        )
    }
}

/// A severity held to high priority, saying why.
fn capped((severity, reason): (Severity, String), why: &str) -> (Severity, String) {
    match severity {
        Severity::Critical => (
            Severity::High,
            format!(
                "{}{}; {why}",
                Severity::High.group(),
                reason
                    .strip_prefix(Severity::Critical.group())
                    .unwrap_or(&reason)
            ),
        ),
        other => (other, reason),
    }
}

/// Critical from [`CRITICAL_TARGETS`] target conversions at risk, high from
/// [`HIGH_TARGETS`], monitor below.
pub(crate) fn severity_for(at_risk: f64, target_cpa: f64) -> Severity {
    if at_risk >= CRITICAL_TARGETS * target_cpa {
        Severity::Critical
    } else if at_risk >= HIGH_TARGETS * target_cpa {
        Severity::High
    } else {
        Severity::Monitor
    }
}

struct Totals {
    keywords: usize,
    search_terms: usize,
    cost: f64,
    conversions: f64,
    value: f64,
}

impl Totals {
    fn of(account: &Account) -> Totals {
        let groups = account.campaigns.iter().flat_map(|c| &c.ad_groups);
        let keywords: Vec<&Keyword> = groups.clone().flat_map(|g| &g.keywords).collect();
        Totals {
            keywords: keywords.len(),
            search_terms: groups.map(|g| g.search_terms.len()).sum(),
            cost: keywords.iter().map(|k| k.cost).sum(),
            conversions: keywords.iter().map(|k| k.conversions).sum(),
            value: keywords.iter().filter_map(|k| k.conversion_value).sum(),
        }
    }

    fn cpa(&self) -> Option<f64> {
        (self.conversions > 0.0).then(|| self.cost / self.conversions)
    }
}

struct CampaignTotals {
    cost: f64,
    conversions: f64,
}

impl CampaignTotals {
    fn of(campaign: &Campaign) -> CampaignTotals {
        let keywords = campaign.ad_groups.iter().flat_map(|g| &g.keywords);
        CampaignTotals {
            cost: keywords.clone().map(|k| k.cost).sum(),
            conversions: keywords.map(|k| k.conversions).sum(),
        }
    }

    fn cpa(&self) -> Option<f64> {
        (self.conversions > 0.0).then(|| self.cost / self.conversions)
    }

    /// Spend beyond what its conversions were worth at `target`.
    fn excess(&self, target: f64) -> f64 {
        (self.cost - self.conversions * target).max(0.0)
    }
}

/// Amounts in the account's currency: `$412.30`, or `412.30 EUR`.
#[derive(Clone, Copy)]
struct Money<'a>(&'a str);

impl Money<'_> {
    fn show(self, amount: f64) -> String {
        match self.0 {
            "USD" => format!("${amount:.2}"),
            code => format!("{amount:.2} {code}"),
        }
    }
}

fn is_enabled(status: &str) -> bool {
    status.eq_ignore_ascii_case("enabled")
}

fn is_smart(strategy: &str) -> bool {
    SMART_BIDDING
        .iter()
        .any(|s| strategy.eq_ignore_ascii_case(s))
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// `1 conversion`, `6 conversions`, `2.5 conversions`.
fn conversions(count: f64) -> String {
    if count == 1.0 {
        "1 conversion".into()
    } else {
        format!("{count} conversions")
    }
}

fn pct(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// Editor's name for a match type: `Broad`, `Phrase`, `Exact`.
fn criterion(match_type: &str) -> String {
    let lower = match_type.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Editor's name for a bidding strategy: `MANUAL_CPC` → `Manual CPC`.
fn strategy_name(strategy: &str) -> String {
    match strategy.to_ascii_uppercase().as_str() {
        "MANUAL_CPC" => "Manual CPC".into(),
        "ENHANCED_CPC" => "Enhanced CPC".into(),
        "MAXIMIZE_CONVERSIONS" => "Maximize conversions".into(),
        "MAXIMIZE_CONVERSION_VALUE" => "Maximize conversion value".into(),
        "TARGET_CPA" => "Target CPA".into(),
        "TARGET_ROAS" => "Target ROAS".into(),
        "MAXIMIZE_CLICKS" => "Maximize clicks".into(),
        other => other.to_string(),
    }
}

/// What a row changes from: `{"Budget": "60.00"}`.
fn before(pairs: &[(&str, String)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

/// A row that changes the campaign itself; set the column to change.
fn campaign_row(campaign: &Campaign) -> Change {
    Change {
        campaign: campaign.name.clone(),
        ..Change::default()
    }
}

/// A row that sets the campaign's daily budget.
fn budget_row(campaign: &Campaign, budget: f64) -> Change {
    Change {
        budget: Some(money_cell(budget)),
        before: before(&[("Budget", money_cell(campaign.daily_budget))]),
        ..campaign_row(campaign)
    }
}

fn paused_campaign(campaign: &Campaign) -> Change {
    Change {
        campaign_status: Some("Paused".into()),
        before: before(&[("Campaign Status", "Enabled".into())]),
        ..campaign_row(campaign)
    }
}

fn strategy_row(campaign: &Campaign, strategy: &str) -> Change {
    Change {
        bid_strategy_type: Some(strategy.into()),
        before: before(&[(
            "Bid Strategy Type",
            strategy_name(&campaign.bidding_strategy),
        )]),
        ..campaign_row(campaign)
    }
}

fn keyword_row(campaign: &Campaign, group: &AdGroup, keyword: &Keyword) -> Change {
    Change {
        ad_group: Some(group.name.clone()),
        keyword: Some(keyword.text.clone()),
        criterion_type: Some(criterion(&keyword.match_type)),
        ..campaign_row(campaign)
    }
}

/// An amount as Editor's cells take it: `83.00`.
fn money_cell(amount: f64) -> String {
    format!("{amount:.2}")
}

fn paused(mut row: Change) -> Change {
    row.status = Some("Paused".into());
    row.before = before(&[("Status", "Enabled".into())]);
    row
}

/// A new keyword row: nothing before it.
fn added(mut row: Change, criterion_type: &str) -> Change {
    row.criterion_type = Some(criterion_type.into());
    row.status = Some("Enabled".into());
    row.before = None;
    row
}

fn with_cpc(mut row: Change, keyword: &Keyword, cpc: f64) -> Change {
    row.max_cpc = Some(money_cell(cpc.max(0.01)));
    row.before = before(&[("Max CPC", money_cell(current_cpc(keyword)))]);
    row
}

/// The keyword's max CPC, or its average CPC when the export has none.
fn current_cpc(keyword: &Keyword) -> f64 {
    keyword.max_cpc.unwrap_or(if keyword.clicks > 0 {
        keyword.cost / keyword.clicks as f64
    } else {
        1.0
    })
}

/// Networks as Editor writes them.
fn networks_cell(partners: bool, display: bool) -> String {
    let mut out = String::from("Google search");
    if partners {
        out.push_str(";Search Partners");
    }
    if display {
        out.push_str(";Display Network");
    }
    out
}

fn networks_row(campaign: &Campaign, partners: bool, display: bool) -> Change {
    Change {
        networks: Some(networks_cell(partners, display)),
        before: before(&[(
            "Networks",
            networks_cell(campaign.networks.search_partners, campaign.networks.display),
        )]),
        ..campaign_row(campaign)
    }
}

fn choice(action: String, changes: Vec<Change>) -> Choice {
    Choice {
        action,
        changes,
        affects: Vec::new(),
        note: None,
    }
}

/// What a finding is about: where, which keyword, term or campaign, and its cost.
struct About<'a> {
    campaign: &'a Campaign,
    ad_group: Option<&'a AdGroup>,
    subject: &'a str,
    cost: f64,
}

impl<'a> About<'a> {
    /// A finding about a whole campaign, with what it cost.
    fn campaign(campaign: &'a Campaign, cost: f64) -> About<'a> {
        About {
            campaign,
            ad_group: None,
            subject: &campaign.name,
            cost,
        }
    }

    /// A finding about a keyword.
    fn keyword(campaign: &'a Campaign, group: &'a AdGroup, keyword: &'a Keyword) -> About<'a> {
        About {
            campaign,
            ad_group: Some(group),
            subject: &keyword.text,
            cost: keyword.cost,
        }
    }
}

/// What a finding says, beside where it is and its options.
struct Said {
    title: String,
    reason: String,
    evidence: String,
    at_risk: f64,
    severity: (Severity, String),
}

fn finding(kind: &'static str, about: About, said: Said, options: Vec<Choice>) -> Finding {
    let About {
        campaign,
        ad_group,
        subject,
        cost,
    } = about;
    let place = match ad_group {
        Some(group) => format!("{}/{}", campaign.name, group.name),
        None => campaign.name.clone(),
    };
    let (severity, severity_reason) = said.severity;
    Finding {
        id: format!("{kind}:{place}/{subject}"),
        severity,
        group: severity.group(),
        kind,
        title: said.title,
        evidence: said.evidence,
        campaign: campaign.name.clone(),
        ad_group: ad_group.map(|g| g.name.clone()),
        subject: subject.to_string(),
        cost: round2(cost),
        at_risk: round2(said.at_risk),
        reason: said.reason,
        severity_reason,
        options,
    }
}

/// Tracking that is not recording: every conversion count, every smart bid and every
/// judgement of cost per conversion is blind. Critical whatever the spend.
fn conversion_tracking(ctx: &Ctx, enabled: &[&Campaign]) -> Option<Finding> {
    let tracking = ctx.tracking_broken?;
    let first = enabled.first()?;
    let cost: f64 = enabled.iter().map(|c| CampaignTotals::of(c).cost).sum();
    let smart: Vec<&&Campaign> = enabled
        .iter()
        .filter(|c| is_smart(&c.bidding_strategy))
        .collect();
    let mut options = Vec::new();
    if !smart.is_empty() {
        options.push(choice(
            format!(
                "Switch its {} smart-bidding campaigns to Maximize clicks until conversions are recorded again",
                smart.len()
            ),
            smart
                .iter()
                .map(|c| strategy_row(c, "Maximize clicks"))
                .collect(),
        ));
    }
    options.push(choice(
        format!(
            "Halve the daily budgets of its {} campaigns until conversions are recorded again",
            enabled.len()
        ),
        enabled
            .iter()
            .map(|c| budget_row(c, (c.daily_budget / 2.0).round()))
            .collect(),
    ));
    Some(finding(
        "conversion-tracking",
        About {
            campaign: first,
            ad_group: None,
            subject: "conversion tracking",
            cost,
        },
        Said {
            title: format!("Conversion tracking is {}", tracking.words()),
            reason: "Without conversions recorded, smart bidding bids blind and no cost per conversion can be judged; fix the tag first (Tools > Conversions).".into(),
            evidence: format!(
                "{} spent by {} enabled campaigns while conversion tracking is {}; {} of them bid on conversions",
                ctx.money.show(cost),
                enabled.len(),
                tracking.words(),
                smart.len()
            ),
            at_risk: cost,
            severity: (
                Severity::Critical,
                "Critical: every judgement of cost per conversion depends on it".into(),
            ),
        },
        options,
    ))
}

/// A campaign that has spent several target conversions' worth with none.
fn campaign_not_converting(ctx: &Ctx, campaign: &Campaign, c: &CampaignTotals) -> Option<Finding> {
    if ctx.tracking_broken.is_some() {
        return None;
    }
    let target = ctx.target(campaign);
    let threshold = ctx.enough(target, CAMPAIGN_NO_CONVERSION_TARGETS);
    if c.conversions > 0.0 || c.cost < threshold {
        return None;
    }
    let clicks: u64 = campaign
        .ad_groups
        .iter()
        .flat_map(|g| &g.keywords)
        .map(|k| k.clicks)
        .sum();
    let half = (campaign.daily_budget / 2.0).round();
    let versus = target
        .map(|t| format!(", {:.0} times {}", c.cost / t.cpa, ctx.yardstick(t)))
        .unwrap_or_default();
    Some(finding(
        "campaign-not-converting",
        About::campaign(campaign, c.cost),
        Said {
            title: format!(
                "{} spent {} with no conversions",
                campaign.name,
                ctx.money.show(c.cost)
            ),
            reason: format!(
                "It spent {}{versus}, without a single conversion while the rest of the account converts: check its landing page and tracking, and stop the spend meanwhile.",
                ctx.money.show(c.cost)
            ),
            evidence: format!(
                "{clicks} clicks, {} spent, 0 conversions at {}/day",
                ctx.money.show(c.cost),
                ctx.money.show(campaign.daily_budget)
            ),
            at_risk: c.cost,
            severity: ctx.severity(c.cost, target),
        },
        vec![
            choice(
                format!("Pause the campaign {}", campaign.name),
                vec![paused_campaign(campaign)],
            ),
            choice(
                format!(
                    "Halve its daily budget to {} while the conversion tracking and landing page are checked",
                    ctx.money.show(half)
                ),
                vec![budget_row(campaign, half)],
            ),
        ],
    ))
}

/// A keyword that has spent at least [`NO_CONVERSION_TARGETS`] target conversions with none.
fn wasted_spend(
    ctx: &Ctx,
    campaign: &Campaign,
    group: &AdGroup,
    keyword: &Keyword,
) -> Option<Finding> {
    if ctx.tracking_broken.is_some() {
        return None;
    }
    let target = ctx.target(campaign);
    if keyword.conversions > 0.0 || keyword.cost < ctx.enough(target, NO_CONVERSION_TARGETS) {
        return None;
    }
    let row = keyword_row(campaign, group, keyword);
    let mut options = vec![choice(
        format!(
            "Pause \"{}\" ({})",
            keyword.text,
            criterion(&keyword.match_type)
        ),
        vec![paused(row.clone())],
    )];
    if !keyword.match_type.eq_ignore_ascii_case("EXACT") {
        options.push(choice(
            format!(
                "Replace it with [{}] (exact match) to keep only the searches that name it",
                keyword.text
            ),
            vec![paused(row.clone()), added(row.clone(), "Exact")],
        ));
    }
    let half = current_cpc(keyword) / 2.0;
    options.push(choice(
        format!("Halve its max CPC to {}", ctx.money.show(half)),
        vec![with_cpc(row, keyword, half)],
    ));
    options.truncate(3);
    let versus = target
        .map(|t| format!(", {:.1} times {}", keyword.cost / t.cpa, ctx.yardstick(t)))
        .unwrap_or_default();
    Some(finding(
        "wasted-spend",
        About::keyword(campaign, group, keyword),
        Said {
            title: format!(
                "\"{}\" spent {} with no conversions",
                keyword.text,
                ctx.money.show(keyword.cost)
            ),
            reason: format!(
                "It spent {}{versus}, without one conversion.",
                ctx.money.show(keyword.cost)
            ),
            evidence: format!(
                "{} match in {} / {}: {} clicks, {} impressions, {} spent, 0 conversions",
                criterion(&keyword.match_type),
                campaign.name,
                group.name,
                keyword.clicks,
                keyword.impressions,
                ctx.money.show(keyword.cost)
            ),
            at_risk: keyword.cost,
            severity: ctx.severity(keyword.cost, target),
        },
        options,
    ))
}

/// A converting keyword that pays at least [`HIGH_CPA_MULTIPLE`] times the target per
/// conversion, on enough spend to tell.
fn high_cpa_keyword(
    ctx: &Ctx,
    campaign: &Campaign,
    group: &AdGroup,
    keyword: &Keyword,
) -> Option<Finding> {
    if ctx.tracking_broken.is_some() || keyword.conversions <= 0.0 {
        return None;
    }
    let target = ctx.target(campaign)?;
    let cpa = keyword.cost / keyword.conversions;
    if keyword.cost < ctx.enough(Some(target), HIGH_CPA_SPEND_TARGETS)
        || cpa < HIGH_CPA_MULTIPLE * target.cpa
    {
        return None;
    }
    let at_risk = (keyword.cost - keyword.conversions * target.cpa).max(0.0);
    let row = keyword_row(campaign, group, keyword);
    // Bids scale cost per conversion roughly in proportion.
    let to_target = current_cpc(keyword) * target.cpa / cpa;
    Some(finding(
        "high-cpa-keyword",
        About::keyword(campaign, group, keyword),
        Said {
            title: format!(
                "\"{}\" pays {} per conversion",
                keyword.text,
                ctx.money.show(cpa)
            ),
            reason: format!(
                "Each conversion costs {:.1} times {}; {} of its {} bought conversions worth less than they cost.",
                cpa / target.cpa,
                ctx.yardstick(target),
                ctx.money.show(at_risk),
                ctx.money.show(keyword.cost)
            ),
            evidence: format!(
                "{} match in {} / {}: {} clicks, {} spent, {}, {} per conversion",
                criterion(&keyword.match_type),
                campaign.name,
                group.name,
                keyword.clicks,
                ctx.money.show(keyword.cost),
                conversions(keyword.conversions),
                ctx.money.show(cpa)
            ),
            at_risk,
            severity: ctx.severity(at_risk, Some(target)),
        },
        vec![
            choice(
                format!(
                    "Lower its max CPC to {} to bring it toward the target",
                    ctx.money.show(to_target)
                ),
                vec![with_cpc(row.clone(), keyword, to_target)],
            ),
            choice(format!("Pause \"{}\"", keyword.text), vec![paused(row)]),
        ],
    ))
}

/// A search term that spends without converting, or says it is not a buyer.
fn negative_keyword(
    ctx: &Ctx,
    campaign: &Campaign,
    group: &AdGroup,
    term: &SearchTerm,
) -> Option<Finding> {
    if term.conversions > 0.0 {
        return None;
    }
    let target = ctx.target(campaign);
    let lower = term.term.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let signal = NO_INTENT.iter().find(|w| {
        if w.contains(' ') {
            lower.contains(*w)
        } else {
            words.contains(w)
        }
    });
    // Spend alone is only evidence while conversions are recorded.
    let spent_enough =
        ctx.tracking_broken.is_none() && term.cost >= ctx.enough(target, NO_CONVERSION_TARGETS);
    let why = match (signal, spent_enough) {
        (Some(word), _) if term.clicks >= NO_INTENT_CLICKS => {
            format!("\"{word}\" signals no intent to buy")
        }
        (_, true) => format!("it spent {} without converting", ctx.money.show(term.cost)),
        _ => return None,
    };
    // Already a keyword of the group (exact): pausing it is the keyword rule's call.
    if group.keywords.iter().any(|k| {
        k.text.eq_ignore_ascii_case(&term.term) && k.match_type.eq_ignore_ascii_case("EXACT")
    }) {
        return None;
    }
    let campaign_negative = Change {
        keyword: Some(term.term.clone()),
        criterion_type: Some("Campaign Negative Exact".into()),
        ..campaign_row(campaign)
    };
    let group_negative = Change {
        ad_group: Some(group.name.clone()),
        criterion_type: Some("Negative Phrase".into()),
        ..campaign_negative.clone()
    };
    Some(finding(
        "negative-keyword",
        About {
            campaign,
            ad_group: Some(group),
            subject: &term.term,
            cost: term.cost,
        },
        Said {
            title: format!("Add \"{}\" as a negative keyword", term.term),
            reason: format!(
                "Searches for \"{}\" cost {} and bought nothing; {why}.",
                term.term,
                ctx.money.show(term.cost)
            ),
            evidence: format!(
                "search term in {} / {}: {} clicks, {} spent, 0 conversions; {why}",
                campaign.name,
                group.name,
                term.clicks,
                ctx.money.show(term.cost)
            ),
            at_risk: term.cost,
            severity: ctx.severity(term.cost, target),
        },
        vec![
            choice(
                format!("Add [{}] as a campaign negative (exact)", term.term),
                vec![campaign_negative],
            ),
            choice(
                format!(
                    "Add \"{}\" as an ad group negative (phrase), blocking its variants in {} only",
                    term.term, group.name
                ),
                vec![group_negative],
            ),
        ],
    ))
}

/// A campaign converting at or under target that runs out of budget: conversions
/// missed at target are the money at stake, and an opportunity is at most high.
fn budget_limited(
    ctx: &Ctx,
    campaign: &Campaign,
    c: &CampaignTotals,
    enabled: &[&Campaign],
    flagged: &[&str],
) -> Option<Finding> {
    if ctx.tracking_broken.is_some() {
        return None;
    }
    let cpa = c.cpa()?;
    let target = ctx.target(campaign)?;
    if campaign.lost_is_budget < LOST_TO_BUDGET || cpa > target.cpa {
        return None;
    }
    let raise = campaign.lost_is_budget.min(0.5);
    let recommended = (campaign.daily_budget * (1.0 + raise)).round();
    let modest = (campaign.daily_budget * 1.2).round();
    let mut options = vec![
        choice(
            format!(
                "Raise the daily budget from {} to {} (+{})",
                ctx.money.show(campaign.daily_budget),
                ctx.money.show(recommended),
                pct(raise)
            ),
            vec![budget_row(campaign, recommended)],
        ),
        choice(
            format!(
                "Raise it by 20% to {} and watch the cost per conversion for a week",
                ctx.money.show(modest)
            ),
            vec![budget_row(campaign, modest)],
        ),
    ];
    // Fund it from the converting campaign that pays most over its target; never
    // from a campaign that is itself a finding (no conversions, perhaps broken
    // tracking; display or partner traffic; broad match bid by hand) nor from one at
    // or under target.
    let donor = enabled
        .iter()
        .filter(|d| d.name != campaign.name && !flagged.contains(&d.name.as_str()))
        .filter_map(|d| {
            let t = CampaignTotals::of(d);
            let over = t.cpa()? / ctx.target(d)?.cpa;
            (over > 1.0).then_some((d, t, over))
        })
        .max_by(|a, b| a.2.total_cmp(&b.2));
    if let Some((donor, totals, _)) = donor {
        let shift = (recommended - campaign.daily_budget)
            .min(donor.daily_budget / 2.0)
            .round();
        if shift >= 1.0 {
            options.push(choice(
                format!(
                    "Move {}/day from {} (converting at {}, above its target) to it",
                    ctx.money.show(shift),
                    donor.name,
                    ctx.money.show(totals.cpa().unwrap_or_default())
                ),
                vec![
                    budget_row(campaign, campaign.daily_budget + shift),
                    budget_row(donor, donor.daily_budget - shift),
                ],
            ));
        }
    }
    let missed =
        c.conversions * campaign.lost_is_budget / (1.0 - campaign.lost_is_budget).max(0.05);
    let at_risk = missed * target.cpa;
    let severity = capped(
        ctx.severity(at_risk, Some(target)),
        "a missed opportunity rather than a loss, so at most high priority",
    );
    Some(finding(
        "budget-limited",
        About::campaign(campaign, c.cost),
        Said {
            title: format!(
                "{} loses {} of its impressions to budget at a good cost per conversion",
                campaign.name,
                pct(campaign.lost_is_budget)
            ),
            reason: format!(
                "It converts at {}, within {}, but runs out of budget: about {missed:.0} more conversions were there to buy.",
                ctx.money.show(cpa),
                ctx.yardstick(target)
            ),
            evidence: format!(
                "{} per conversion ({} for {}) against {}; {} of impressions lost to budget at {}/day",
                ctx.money.show(cpa),
                conversions(c.conversions),
                ctx.money.show(c.cost),
                ctx.yardstick(target),
                pct(campaign.lost_is_budget),
                ctx.money.show(campaign.daily_budget)
            ),
            at_risk,
            severity,
        },
        options,
    ))
}

/// A campaign converting at or under target that loses much of its reach to ad rank.
/// Always to monitor: raising bids raises the cost per conversion too.
fn rank_limited(ctx: &Ctx, campaign: &Campaign, c: &CampaignTotals) -> Option<Finding> {
    if ctx.tracking_broken.is_some() {
        return None;
    }
    let cpa = c.cpa()?;
    let target = ctx.target(campaign)?;
    if campaign.lost_is_rank < LOST_TO_RANK || cpa > target.cpa {
        return None;
    }
    let converting: Vec<(&AdGroup, &Keyword)> = campaign
        .ad_groups
        .iter()
        .flat_map(|g| g.keywords.iter().map(move |k| (g, k)))
        .filter(|(_, k)| k.conversions > 0.0 && is_enabled(&k.status))
        .collect();
    if converting.is_empty() {
        return None;
    }
    let raise = |factor: f64| -> Vec<Change> {
        converting
            .iter()
            .map(|(g, k)| with_cpc(keyword_row(campaign, g, k), k, current_cpc(k) * factor))
            .collect()
    };
    let missed = c.conversions * campaign.lost_is_rank / (1.0 - campaign.lost_is_rank).max(0.05);
    Some(finding(
        "rank-limited",
        About::campaign(campaign, c.cost),
        Said {
            title: format!(
                "{} loses {} of its impressions to ad rank",
                campaign.name,
                pct(campaign.lost_is_rank)
            ),
            reason: format!(
                "It converts at {}, within {}, but shows for only part of its searches; higher bids would buy more at a higher cost each.",
                ctx.money.show(cpa),
                ctx.yardstick(target)
            ),
            evidence: format!(
                "{} per conversion against {}, but {} of impressions lost to rank",
                ctx.money.show(cpa),
                ctx.yardstick(target),
                pct(campaign.lost_is_rank)
            ),
            at_risk: missed * target.cpa,
            severity: (
                Severity::Monitor,
                "Monitor: an opportunity whose price (higher bids) needs watching".into(),
            ),
        },
        vec![
            choice(
                format!(
                    "Raise max CPC by 15% on its {} converting keywords",
                    converting.len()
                ),
                raise(1.15),
            ),
            choice("Raise them by 30%".into(), raise(1.3)),
        ],
    ))
}

/// Broad match keywords bid by hand: broad match needs conversion signals to stay on
/// topic. A structural problem: at most high priority, and its money is only what
/// the broad keywords spent beyond their conversions' worth.
fn broad_without_smart_bidding(ctx: &Ctx, campaign: &Campaign) -> Option<Finding> {
    if ctx.tracking_broken.is_some() || is_smart(&campaign.bidding_strategy) {
        return None;
    }
    let broad: Vec<(&AdGroup, &Keyword)> = campaign
        .ad_groups
        .iter()
        .flat_map(|g| g.keywords.iter().map(move |k| (g, k)))
        .filter(|(_, k)| k.match_type.eq_ignore_ascii_case("BROAD") && is_enabled(&k.status))
        .collect();
    if broad.is_empty() {
        return None;
    }
    let cost: f64 = broad.iter().map(|(_, k)| k.cost).sum();
    let converted: f64 = broad.iter().map(|(_, k)| k.conversions).sum();
    let target = ctx.target(campaign);
    let at_risk = target
        .map(|t| (cost - converted * t.cpa).max(0.0))
        .unwrap_or(cost);
    let severity = capped(
        ctx.severity(at_risk, target),
        "the keywords' own findings carry the loss, so at most high priority",
    );
    let to_phrase: Vec<Change> = broad
        .iter()
        .flat_map(|(g, k)| {
            let row = keyword_row(campaign, g, k);
            [paused(row.clone()), added(row, "Phrase")]
        })
        .collect();
    Some(finding(
        "broad-without-smart-bidding",
        About::campaign(campaign, cost),
        Said {
            title: format!(
                "{} runs {} broad match keywords on {} bidding",
                campaign.name,
                broad.len(),
                campaign.bidding_strategy
            ),
            reason: "Broad match reaches loosely related searches; without smart bidding nothing holds its bids to what converts.".into(),
            evidence: format!(
                "{} broad keywords spent {} for {}; broad match without smart bidding matches loosely related searches at hand-set bids",
                broad.len(),
                ctx.money.show(cost),
                conversions(converted)
            ),
            at_risk,
            severity,
        },
        vec![
            choice(
                "Switch the campaign to Maximize conversions".into(),
                vec![strategy_row(campaign, "Maximize conversions")],
            ),
            choice(
                format!(
                    "Keep manual bidding and move its {} broad keywords to phrase match",
                    broad.len()
                ),
                to_phrase,
            ),
        ],
    ))
}

/// A Search campaign that also shows on the Display Network: cheap clicks that
/// rarely convert like search does. High priority when the campaign is over target
/// (or not converting), else to monitor.
fn display_network(ctx: &Ctx, campaign: &Campaign, c: &CampaignTotals) -> Option<Finding> {
    if !campaign.networks.display || c.cost <= 0.0 {
        return None;
    }
    let target = ctx.target(campaign);
    let over = match (c.cpa(), target) {
        (Some(cpa), Some(t)) => cpa > t.cpa,
        (None, _) => true,
        (Some(_), None) => false,
    };
    let at_risk = target.map(|t| c.excess(t.cpa)).unwrap_or(c.cost);
    let severity = if over {
        ctx.severity(at_risk, target)
    } else {
        (
            Severity::Monitor,
            "Monitor: the campaign is within its target, with display clicks mixed in".into(),
        )
    };
    let partners = campaign.networks.search_partners;
    let mut options = vec![choice(
        if partners {
            "Turn off the Display Network (keep Google search and search partners)".into()
        } else {
            "Turn off the Display Network (keep Google search)".into()
        },
        vec![networks_row(campaign, partners, false)],
    )];
    if partners {
        options.push(choice(
            "Show on Google search only (no display, no search partners)".into(),
            vec![networks_row(campaign, false, false)],
        ));
    }
    Some(finding(
        "display-network",
        About::campaign(campaign, c.cost),
        Said {
            title: format!("{} also shows on the Display Network", campaign.name),
            reason: "A Search campaign with Display expansion spends part of its budget on banner clicks that convert far less than searches, and the report mixes the two.".into(),
            evidence: format!(
                "{} spent, {} at {}/day, networks {}",
                ctx.money.show(c.cost),
                conversions(c.conversions),
                ctx.money.show(campaign.daily_budget),
                networks_cell(partners, true)
            ),
            at_risk,
            severity,
        },
        options,
    ))
}

/// Search partners on a campaign paying [`PARTNERS_CPA_MULTIPLE`] times its target:
/// partner traffic is worth checking (Segment > Network). To monitor.
fn search_partners(ctx: &Ctx, campaign: &Campaign, c: &CampaignTotals) -> Option<Finding> {
    if !campaign.networks.search_partners
        || campaign.networks.display
        || ctx.tracking_broken.is_some()
    {
        return None;
    }
    let target = ctx.target(campaign)?;
    let cpa = c.cpa()?;
    if cpa < PARTNERS_CPA_MULTIPLE * target.cpa {
        return None;
    }
    Some(finding(
        "search-partners",
        About::campaign(campaign, c.cost),
        Said {
            title: format!(
                "{} runs on search partners at {} per conversion",
                campaign.name,
                ctx.money.show(cpa)
            ),
            reason: format!(
                "It pays {:.1} times {}; partner sites often convert worse than Google search, so look at them apart before they spend more.",
                cpa / target.cpa,
                ctx.yardstick(target)
            ),
            evidence: format!(
                "{} spent for {} ({} each), networks {}",
                ctx.money.show(c.cost),
                conversions(c.conversions),
                ctx.money.show(cpa),
                networks_cell(true, false)
            ),
            at_risk: c.excess(target.cpa),
            severity: (
                Severity::Monitor,
                "Monitor: the export does not split spend by network, so the loss is not measured"
                    .into(),
            ),
        },
        vec![choice(
            "Show on Google search only".into(),
            vec![networks_row(campaign, false, false)],
        )],
    ))
}

/// A keyword with a low quality score and enough impressions to trust it. To
/// monitor: the score raises what each click costs, but fixing it is ad and landing
/// page work.
fn low_quality_score(
    ctx: &Ctx,
    campaign: &Campaign,
    group: &AdGroup,
    keyword: &Keyword,
) -> Option<Finding> {
    let score = keyword.quality_score?;
    if score > LOW_QUALITY_SCORE || keyword.impressions < QUALITY_IMPRESSIONS {
        return None;
    }
    let row = keyword_row(campaign, group, keyword);
    let lower = current_cpc(keyword) * 0.7;
    Some(finding(
        "low-quality-score",
        About::keyword(campaign, group, keyword),
        Said {
            title: format!("\"{}\" has a quality score of {score}/10", keyword.text),
            reason: "A low quality score makes every click cost more than a competitor's for the same position; the ad and landing page need to match the search better.".into(),
            evidence: format!(
                "{} impressions, {} clicks ({:.1}% CTR), {} spent, {} in {} / {}; a low score raises what each click costs",
                keyword.impressions,
                keyword.clicks,
                100.0 * keyword.clicks as f64 / keyword.impressions.max(1) as f64,
                ctx.money.show(keyword.cost),
                conversions(keyword.conversions),
                campaign.name,
                group.name
            ),
            at_risk: 0.0,
            severity: (
                Severity::Monitor,
                "Monitor: the fix is the ad and the landing page, not a bid".into(),
            ),
        },
        vec![
            choice(
                format!(
                    "Lower its max CPC by 30% to {} while the ad and landing page are improved",
                    ctx.money.show(lower)
                ),
                vec![with_cpc(row.clone(), keyword, lower)],
            ),
            choice(format!("Pause \"{}\"", keyword.text), vec![paused(row)]),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const TARGET: f64 = 25.0;

    fn kw(text: &str, cost: f64, conversions: f64) -> Value {
        json!({"text": text, "match_type": "EXACT", "clicks": 100, "impressions": 2000,
               "cost": cost, "conversions": conversions, "max_cpc": 1.0, "quality_score": 7})
    }

    fn camp(name: &str, keywords: Vec<Value>) -> Value {
        json!({"name": name, "daily_budget": 100.0, "bidding_strategy": "TARGET_CPA",
               "ad_groups": [{"name": "G", "keywords": keywords}]})
    }

    /// A campaign converting well under target, to anchor the account: no finding.
    fn healthy() -> Value {
        camp(
            "Healthy",
            vec![kw("good", 1000.0, 50.0), kw("young", 9.0, 0.0)],
        )
    }

    fn account(campaigns: Vec<Value>) -> Value {
        json!({"account": {"id": "1", "name": "A", "target_cpa": TARGET, "conversion_tracking": "active"},
               "campaigns": campaigns})
    }

    fn audit_of(account: &Value) -> Report {
        crate::audit_json(&account.to_string(), &Settings { min_spend: 10.0 }).unwrap()
    }

    /// `(kind, subject, severity)` of each finding.
    fn found(account: Value) -> Vec<(&'static str, String, Severity)> {
        audit_of(&account)
            .findings
            .into_iter()
            .map(|f| (f.kind, f.subject, f.severity))
            .collect()
    }

    fn one_keyword(keyword: Value) -> Vec<(&'static str, String, Severity)> {
        found(account(vec![healthy(), camp("C", vec![keyword])]))
    }

    #[test]
    fn severity_follows_money_at_risk_against_the_target() {
        assert_eq!(severity_for(74.99, TARGET), Severity::Monitor);
        assert_eq!(severity_for(75.0, TARGET), Severity::High);
        assert_eq!(severity_for(249.99, TARGET), Severity::High);
        assert_eq!(severity_for(250.0, TARGET), Severity::Critical);
    }

    #[test]
    fn wasted_spend_needs_two_target_conversions_of_spend() {
        assert_eq!(one_keyword(kw("k", 49.99, 0.0)), []);
        let s = |cost| one_keyword(kw("k", cost, 0.0))[0].clone();
        assert_eq!(s(50.0), ("wasted-spend", "k".into(), Severity::Monitor));
        assert_eq!(s(75.0).2, Severity::High);
        assert_eq!(s(250.0).2, Severity::Critical);
    }

    #[test]
    fn a_converting_keyword_is_judged_at_twice_the_target_on_three_targets_of_spend() {
        assert_eq!(one_keyword(kw("k", 74.0, 1.0)), [], "too little spend");
        assert_eq!(
            one_keyword(kw("k", 75.0, 1.0)),
            [("high-cpa-keyword", "k".into(), Severity::Monitor)]
        );
        assert_eq!(
            one_keyword(kw("k", 100.0, 2.1)),
            [],
            "under twice the target"
        );
        assert_eq!(
            one_keyword(kw("k", 200.0, 2.0))[0].2,
            Severity::High,
            "$150 over what two conversions are worth: six targets"
        );
    }

    #[test]
    fn a_campaign_without_conversions_is_one_finding_from_three_targets_of_spend() {
        let run = |cost| {
            found(account(vec![
                healthy(),
                camp("C", vec![kw("k", cost, 0.0)]),
            ]))
        };
        assert_eq!(
            run(74.99),
            [("wasted-spend", "k".into(), Severity::Monitor)]
        );
        assert_eq!(
            run(75.0),
            [("campaign-not-converting", "C".into(), Severity::High)]
        );
    }

    fn with_term(term: Value) -> Vec<(&'static str, String, Severity)> {
        let mut c = camp("C", vec![kw("k", 40.0, 2.0)]);
        c["ad_groups"][0]["search_terms"] = json!([term]);
        found(account(vec![healthy(), c]))
    }

    #[test]
    fn a_search_term_is_a_negative_on_intent_after_five_clicks_or_on_spend() {
        let term = |text: &str, clicks: u64, cost: f64| json!({"term": text, "clicks": clicks, "impressions": 100, "cost": cost, "conversions": 0});
        assert_eq!(with_term(term("free k", 4, 5.0)), []);
        assert_eq!(
            with_term(term("free k", 5, 5.0)),
            [("negative-keyword", "free k".into(), Severity::Monitor)]
        );
        assert_eq!(with_term(term("k shop", 30, 49.99)), []);
        assert_eq!(with_term(term("k shop", 30, 50.0)).len(), 1);
    }

    fn campaign_with(fields: Value, keywords: Vec<Value>) -> Value {
        let mut c = camp("C", keywords);
        for (key, value) in fields.as_object().unwrap() {
            c[key] = value.clone();
        }
        c
    }

    fn kinds(campaigns: Vec<Value>) -> Vec<&'static str> {
        found(account(campaigns)).into_iter().map(|f| f.0).collect()
    }

    #[test]
    fn budget_and_rank_limits_count_from_fifteen_and_thirty_percent_under_target() {
        let good = || vec![kw("k", 200.0, 10.0)];
        let c = |fields| kinds(vec![healthy(), campaign_with(fields, good())]);
        assert_eq!(c(json!({"lost_is_budget": 0.149})), Vec::<&str>::new());
        assert_eq!(c(json!({"lost_is_budget": 0.15})), ["budget-limited"]);
        assert_eq!(c(json!({"lost_is_rank": 0.29})), Vec::<&str>::new());
        assert_eq!(c(json!({"lost_is_rank": 0.30})), ["rank-limited"]);
        // Over target: more budget or reach would buy conversions worth less.
        let over = vec![kw("k", 270.0, 10.0)];
        assert_eq!(
            kinds(vec![
                healthy(),
                campaign_with(json!({"lost_is_budget": 0.5, "lost_is_rank": 0.5}), over)
            ]),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn networks_and_bidding_are_judged_against_the_target() {
        let c = |fields, keywords| kinds(vec![healthy(), campaign_with(fields, keywords)]);
        let converting = || vec![kw("k", 200.0, 10.0)];
        assert_eq!(
            c(json!({"networks": {"display": true}}), converting()),
            ["display-network"]
        );
        assert_eq!(
            c(json!({"networks": {"display": false}}), converting()),
            Vec::<&str>::new()
        );
        // Partners: from 1.5 times the target per conversion.
        let at = |cpa: f64| vec![kw("k", cpa * 4.0, 4.0)];
        assert_eq!(
            c(json!({"networks": {"search_partners": true}}), at(37.4)),
            Vec::<&str>::new()
        );
        assert_eq!(
            c(json!({"networks": {"search_partners": true}}), at(37.5)),
            ["search-partners"]
        );
        let broad = || {
            vec![
                json!({"text": "b", "match_type": "BROAD", "clicks": 10, "impressions": 100, "cost": 20.0, "conversions": 1}),
            ]
        };
        assert_eq!(
            c(json!({"bidding_strategy": "MANUAL_CPC"}), broad()),
            ["broad-without-smart-bidding"]
        );
        assert_eq!(
            c(json!({"bidding_strategy": "TARGET_CPA"}), broad()),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn quality_score_counts_at_four_or_less_on_a_thousand_impressions() {
        let k = |qs: u8, impressions: u64| {
            let mut k = kw("k", 20.0, 1.0);
            k["quality_score"] = json!(qs);
            k["impressions"] = json!(impressions);
            one_keyword(k).into_iter().map(|f| f.0).collect::<Vec<_>>()
        };
        assert_eq!(k(5, 5000), Vec::<&str>::new());
        assert_eq!(k(4, 999), Vec::<&str>::new());
        assert_eq!(k(4, 1000), ["low-quality-score"]);
    }

    #[test]
    fn broken_tracking_is_critical_and_silences_the_judgements_that_need_conversions() {
        let mut a = account(vec![healthy(), camp("C", vec![kw("k", 500.0, 0.0)])]);
        a["account"]["conversion_tracking"] = json!("unverified");
        let report = audit_of(&a);
        let kinds: Vec<&str> = report.findings.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, ["conversion-tracking"]);
        let f = &report.findings[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.title, "Conversion tracking is unverified");
        // Smart bidding is switched off first, and each change says what it was.
        let first = &f.options[0].changes[0];
        assert_eq!(first.bid_strategy_type.as_deref(), Some("Maximize clicks"));
        assert_eq!(
            first.before.as_ref().unwrap()["Bid Strategy Type"],
            "Target CPA"
        );
    }

    #[test]
    fn a_campaign_that_is_itself_a_finding_never_gives_its_budget() {
        let winner = campaign_with(
            json!({"name": "Winner", "lost_is_budget": 0.4}),
            vec![kw("w", 200.0, 20.0)],
        );
        let dead = campaign_with(json!({"name": "Dead"}), vec![kw("d", 900.0, 0.0)]);
        let display = campaign_with(
            json!({"name": "Display", "networks": {"display": true}}),
            vec![kw("x", 600.0, 10.0)],
        );
        let dear = campaign_with(json!({"name": "Dear"}), vec![kw("y", 400.0, 10.0)]);
        let report = audit_of(&account(vec![healthy(), winner, dead, display, dear]));
        let limited = report
            .findings
            .iter()
            .find(|f| f.kind == "budget-limited")
            .unwrap();
        let donors: Vec<&str> = limited
            .options
            .iter()
            .flat_map(|o| &o.changes)
            .map(|c| c.campaign.as_str())
            .filter(|c| *c != "Winner")
            .collect();
        assert_eq!(donors, ["Dear"], "{limited:#?}");
    }

    #[test]
    fn every_rule_fires_once_on_an_account_with_one_of_each_problem_and_none_on_a_healthy_campaign()
    {
        let mut terms = camp("Terms", vec![kw("t", 200.0, 10.0)]);
        terms["ad_groups"][0]["search_terms"] = json!([{"term": "free t", "clicks": 9, "impressions": 90, "cost": 12.0, "conversions": 0}]);
        let mut quality = kw("q", 20.0, 1.0);
        quality["quality_score"] = json!(3);
        let campaigns = vec![
            healthy(),
            camp("Dead", vec![kw("d", 900.0, 0.0)]),
            camp(
                "Keywords",
                vec![
                    kw("waste", 300.0, 0.0),
                    kw("dear", 400.0, 2.0),
                    quality,
                    kw("ok", 400.0, 30.0),
                ],
            ),
            terms,
            campaign_with(
                json!({"name": "Budget", "lost_is_budget": 0.3}),
                vec![kw("b", 200.0, 10.0)],
            ),
            campaign_with(
                json!({"name": "Rank", "lost_is_rank": 0.4}),
                vec![kw("r", 200.0, 10.0)],
            ),
            campaign_with(
                json!({"name": "Manual", "bidding_strategy": "MANUAL_CPC"}),
                vec![
                    json!({"text": "m", "match_type": "BROAD", "clicks": 10, "impressions": 100, "cost": 20.0, "conversions": 1}),
                ],
            ),
            campaign_with(
                json!({"name": "Banners", "networks": {"display": true}}),
                vec![kw("x", 200.0, 10.0)],
            ),
            campaign_with(
                json!({"name": "Partners", "networks": {"search_partners": true}}),
                vec![kw("p", 180.0, 4.0)],
            ),
        ];
        let report = audit_of(&account(campaigns));
        let mut kinds: Vec<&str> = report.findings.iter().map(|f| f.kind).collect();
        kinds.sort();
        let mut expected: Vec<&str> = KINDS
            .iter()
            .copied()
            .filter(|k| *k != "conversion-tracking")
            .collect();
        expected.sort();
        assert_eq!(
            kinds,
            expected,
            "{:#?}",
            report.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
        );
        assert!(report.findings.iter().all(|f| f.campaign != "Healthy"));
        // What the decision surface needs: the entity, before and after, the reasons.
        for f in &report.findings {
            assert!(
                !f.reason.is_empty() && !f.severity_reason.is_empty(),
                "{f:?}"
            );
            for option in &f.options {
                assert!(!option.affects.is_empty(), "{f:?}");
            }
        }
        let paused = report
            .findings
            .iter()
            .find(|f| f.kind == "wasted-spend")
            .unwrap();
        let row = &paused.options[0].changes[0];
        assert_eq!(row.status.as_deref(), Some("Paused"));
        assert_eq!(row.before.as_ref().unwrap()["Status"], "Enabled");
        assert_eq!(
            paused.options[0].affects,
            ["campaign:Keywords/ad group:G/keyword:waste"]
        );
    }

    #[test]
    fn fields_the_auditor_does_not_know_are_refused_by_name() {
        let mut a = account(vec![healthy()]);
        a["account"]["target_cpaa"] = json!(20);
        let error = crate::audit_json(&a.to_string(), &Settings::default()).unwrap_err();
        assert!(error.contains("unknown field `target_cpaa`"), "{error}");
    }

    #[test]
    fn a_roas_target_becomes_a_cost_per_conversion_through_the_average_value() {
        let mut a = account(vec![camp(
            "C",
            vec![
                json!({"text": "v", "match_type": "EXACT", "clicks": 100, "impressions": 1000, "cost": 500.0, "conversions": 10, "conversion_value": 4000.0}),
                kw("w", 150.0, 0.0),
            ],
        )]);
        a["account"] = json!({"id": "1", "name": "A", "target_roas": 4.0});
        // $400 of value per conversion at 400%: $100 per conversion; $150 is 1.5 of them.
        let report = audit_of(&a);
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
        a["campaigns"][0]["ad_groups"][0]["keywords"][1]["cost"] = json!(200.0);
        let report = audit_of(&a);
        assert_eq!(report.findings[0].kind, "wasted-spend");
        assert!(
            report.findings[0]
                .reason
                .contains("the $100.00 a 400% ROAS target allows"),
            "{}",
            report.findings[0].reason
        );
    }
}
