//! The rules: each looks at the export the way a paid-search specialist would and
//! says what it found, with numbers, and what to change.

use crate::{
    Account, AdGroup, Campaign, Change, Choice, Finding, Keyword, Report, SearchTerm, Settings,
    Severity, Summary,
};

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
        cpa: totals.cpa(),
        money,
    };
    let mut findings = Vec::new();
    for campaign in account.campaigns.iter().filter(|c| is_enabled(&c.status)) {
        let c = CampaignTotals::of(campaign);
        // A campaign that burns money without a single conversion is one finding;
        // its keywords' findings would only repeat it.
        if let Some(finding) = campaign_not_converting(&ctx, campaign, &c) {
            findings.push(finding);
            continue;
        }
        findings.extend(budget_limited(&ctx, campaign, &c, account));
        findings.extend(rank_limited(&ctx, campaign, &c));
        findings.extend(broad_without_smart_bidding(&ctx, campaign));
        for group in &campaign.ad_groups {
            for keyword in group.keywords.iter().filter(|k| is_enabled(&k.status)) {
                if let Some(finding) = wasted_spend(&ctx, campaign, group, keyword) {
                    findings.push(finding);
                } else if let Some(finding) = low_quality_score(&ctx, campaign, group, keyword) {
                    findings.push(finding);
                }
            }
            for term in &group.search_terms {
                findings.extend(negative_keyword(&ctx, campaign, group, term));
            }
        }
    }
    // Each option says what it touches, so that a later decision can be told what an
    // earlier approval already did to the same campaign or keyword.
    for finding in &mut findings {
        for option in &mut finding.options {
            option.affects = option.entities();
        }
    }
    findings.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(b.cost.total_cmp(&a.cost))
            .then(a.id.cmp(&b.id))
    });
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    Report {
        account: account.account.clone(),
        date_range: account.date_range.clone(),
        summary: Summary {
            campaigns: account.campaigns.len(),
            keywords: totals.keywords,
            search_terms: totals.search_terms,
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

struct Ctx<'a> {
    settings: &'a Settings,
    /// The account's cost per conversion: the yardstick for "good" and "wasted".
    cpa: Option<f64>,
    money: Money<'a>,
}

impl Ctx<'_> {
    /// Spend without a conversion that is worth acting on: the account's CPA (what a
    /// conversion normally costs), and never less than `min_spend`.
    fn waste_threshold(&self) -> f64 {
        self.cpa
            .unwrap_or(self.settings.min_spend)
            .max(self.settings.min_spend)
    }
}

struct Totals {
    keywords: usize,
    search_terms: usize,
    cost: f64,
    conversions: f64,
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
    row
}

fn with_cpc(mut row: Change, cpc: f64) -> Change {
    row.max_cpc = Some(money_cell(cpc.max(0.01)));
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

fn finding(
    severity: Severity,
    kind: &'static str,
    about: About,
    title: String,
    evidence: String,
    options: Vec<Choice>,
) -> Finding {
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
    Finding {
        id: format!("{kind}:{place}/{subject}"),
        severity,
        group: severity.group(),
        kind,
        title,
        evidence,
        campaign: campaign.name.clone(),
        ad_group: ad_group.map(|g| g.name.clone()),
        subject: subject.to_string(),
        cost: round2(cost),
        options,
    }
}

/// A keyword that has spent at least a conversion's worth with none.
fn wasted_spend(
    ctx: &Ctx,
    campaign: &Campaign,
    group: &AdGroup,
    keyword: &Keyword,
) -> Option<Finding> {
    let threshold = ctx.waste_threshold();
    if keyword.conversions > 0.0 || keyword.cost < threshold {
        return None;
    }
    let severity = if keyword.cost >= 2.0 * threshold {
        Severity::Critical
    } else {
        Severity::High
    };
    let row = keyword_row(campaign, group, keyword);
    let mut options = vec![Choice {
        affects: Vec::new(),
        action: format!(
            "Pause \"{}\" ({})",
            keyword.text,
            criterion(&keyword.match_type)
        ),
        changes: vec![paused(row.clone())],
    }];
    if !keyword.match_type.eq_ignore_ascii_case("EXACT") {
        let exact = Change {
            criterion_type: Some("Exact".into()),
            status: Some("Enabled".into()),
            ..row.clone()
        };
        options.push(Choice {
            affects: Vec::new(),
            action: format!(
                "Replace it with [{}] (exact match) to keep only the searches that name it",
                keyword.text
            ),
            changes: vec![paused(row.clone()), exact],
        });
    }
    let half = current_cpc(keyword) / 2.0;
    options.push(Choice {
        affects: Vec::new(),
        action: format!("Halve its max CPC to {}", ctx.money.show(half)),
        changes: vec![with_cpc(row, half)],
    });
    options.truncate(3);
    let vs = match ctx.cpa {
        Some(cpa) => format!(
            ", {:.1}x the account's cost per conversion ({})",
            keyword.cost / cpa,
            ctx.money.show(cpa)
        ),
        None => String::new(),
    };
    Some(finding(
        severity,
        "wasted-spend",
        About::keyword(campaign, group, keyword),
        format!(
            "\"{}\" spent {} with no conversions",
            keyword.text,
            ctx.money.show(keyword.cost)
        ),
        format!(
            "{} match in {} / {}: {} clicks, {} impressions, {} spent, 0 conversions{vs}",
            criterion(&keyword.match_type),
            campaign.name,
            group.name,
            keyword.clicks,
            keyword.impressions,
            ctx.money.show(keyword.cost)
        ),
        options,
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
    let lower = term.term.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let signal = NO_INTENT.iter().find(|w| {
        if w.contains(' ') {
            lower.contains(*w)
        } else {
            words.contains(w)
        }
    });
    let spent_enough = term.cost >= ctx.settings.min_spend;
    let why = match (signal, spent_enough) {
        (Some(word), _) if term.clicks >= 5 => format!("\"{word}\" signals no intent to buy"),
        (_, true) => format!(
            "it spent more than {} without converting",
            ctx.money.show(ctx.settings.min_spend)
        ),
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
        Severity::High,
        "negative-keyword",
        About {
            campaign,
            ad_group: Some(group),
            subject: &term.term,
            cost: term.cost,
        },
        format!("Add \"{}\" as a negative keyword", term.term),
        format!(
            "search term in {} / {}: {} clicks, {} spent, 0 conversions; {why}",
            campaign.name,
            group.name,
            term.clicks,
            ctx.money.show(term.cost)
        ),
        vec![
            Choice {
                affects: Vec::new(),
                action: format!("Add [{}] as a campaign negative (exact)", term.term),
                changes: vec![campaign_negative],
            },
            Choice {
                affects: Vec::new(),
                action: format!(
                    "Add \"{}\" as an ad group negative (phrase), blocking its variants in {} only",
                    term.term, group.name
                ),
                changes: vec![group_negative],
            },
        ],
    ))
}

/// A campaign whose cost per conversion beats the account's but runs out of budget.
fn budget_limited(
    ctx: &Ctx,
    campaign: &Campaign,
    c: &CampaignTotals,
    account: &Account,
) -> Option<Finding> {
    let cpa = c.cpa()?;
    let yardstick = campaign.target_cpa.or(ctx.cpa)?;
    if campaign.lost_is_budget < 0.15 || cpa > yardstick {
        return None;
    }
    let raise = campaign.lost_is_budget.min(0.5);
    let recommended = (campaign.daily_budget * (1.0 + raise)).round();
    let modest = (campaign.daily_budget * 1.2).round();
    let mut options = vec![
        Choice {
            affects: Vec::new(),
            action: format!(
                "Raise the daily budget from {} to {} (+{})",
                ctx.money.show(campaign.daily_budget),
                ctx.money.show(recommended),
                pct(raise)
            ),
            changes: vec![budget_row(campaign, recommended)],
        },
        Choice {
            affects: Vec::new(),
            action: format!(
                "Raise it by 20% to {} and watch the cost per conversion for a week",
                ctx.money.show(modest)
            ),
            changes: vec![budget_row(campaign, modest)],
        },
    ];
    // Fund it from the enabled campaign with the worst cost per conversion.
    let donor = account
        .campaigns
        .iter()
        .filter(|d| d.name != campaign.name && is_enabled(&d.status))
        .map(|d| (d, CampaignTotals::of(d)))
        .filter(|(_, t)| t.cost > 0.0)
        .max_by(|(_, a), (_, b)| {
            a.cpa()
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.cpa().unwrap_or(f64::INFINITY))
        });
    if let Some((donor, _)) = donor {
        let shift = (recommended - campaign.daily_budget)
            .min(donor.daily_budget / 2.0)
            .round();
        if shift >= 1.0 {
            options.push(Choice {
                affects: Vec::new(),
                action: format!(
                    "Move {}/day from {} (the weakest cost per conversion) to it",
                    ctx.money.show(shift),
                    donor.name
                ),
                changes: vec![
                    budget_row(campaign, campaign.daily_budget + shift),
                    budget_row(donor, donor.daily_budget - shift),
                ],
            });
        }
    }
    Some(finding(
        Severity::High,
        "budget-limited",
        About::campaign(campaign, c.cost),
        format!(
            "{} loses {} of its impressions to budget at a good cost per conversion",
            campaign.name,
            pct(campaign.lost_is_budget)
        ),
        format!(
            "{} per conversion ({} for {}) against {} {}; {} of impressions lost to budget at {}/day",
            ctx.money.show(cpa),
            conversions(c.conversions),
            ctx.money.show(c.cost),
            if campaign.target_cpa.is_some() {
                "a target of"
            } else {
                "the account's"
            },
            ctx.money.show(yardstick),
            pct(campaign.lost_is_budget),
            ctx.money.show(campaign.daily_budget)
        ),
        options,
    ))
}

/// A campaign with a good cost per conversion that loses much of its reach to ad rank.
fn rank_limited(ctx: &Ctx, campaign: &Campaign, c: &CampaignTotals) -> Option<Finding> {
    let cpa = c.cpa()?;
    if campaign.lost_is_rank < 0.3 || cpa > ctx.cpa? {
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
            .map(|(g, k)| with_cpc(keyword_row(campaign, g, k), current_cpc(k) * factor))
            .collect()
    };
    Some(finding(
        Severity::Monitor,
        "rank-limited",
        About::campaign(campaign, c.cost),
        format!(
            "{} loses {} of its impressions to ad rank",
            campaign.name,
            pct(campaign.lost_is_rank)
        ),
        format!(
            "{} per conversion against the account's {}, but {} of impressions lost to rank",
            ctx.money.show(cpa),
            ctx.money.show(ctx.cpa?),
            pct(campaign.lost_is_rank)
        ),
        vec![
            Choice {
                affects: Vec::new(),
                action: format!(
                    "Raise max CPC by 15% on its {} converting keywords",
                    converting.len()
                ),
                changes: raise(1.15),
            },
            Choice {
                affects: Vec::new(),
                action: "Raise them by 30%".into(),
                changes: raise(1.3),
            },
        ],
    ))
}

/// Broad match keywords bid by hand: broad match needs conversion signals to stay on topic.
fn broad_without_smart_bidding(ctx: &Ctx, campaign: &Campaign) -> Option<Finding> {
    if SMART_BIDDING
        .iter()
        .any(|s| campaign.bidding_strategy.eq_ignore_ascii_case(s))
    {
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
    let to_phrase: Vec<Change> = broad
        .iter()
        .flat_map(|(g, k)| {
            let row = keyword_row(campaign, g, k);
            let phrase = Change {
                criterion_type: Some("Phrase".into()),
                status: Some("Enabled".into()),
                ..row.clone()
            };
            [paused(row), phrase]
        })
        .collect();
    Some(finding(
        Severity::High,
        "broad-without-smart-bidding",
        About::campaign(campaign, cost),
        format!(
            "{} runs {} broad match keywords on {} bidding",
            campaign.name,
            broad.len(),
            campaign.bidding_strategy
        ),
        format!(
            "{} broad keywords spent {} for {}; broad match without smart bidding matches loosely related searches at hand-set bids",
            broad.len(),
            ctx.money.show(cost),
            conversions(converted)
        ),
        vec![
            Choice {
                affects: Vec::new(),
                action: "Switch the campaign to Maximize conversions".into(),
                changes: vec![Change {
                    bid_strategy_type: Some("Maximize conversions".into()),
                    ..campaign_row(campaign)
                }],
            },
            Choice {
                affects: Vec::new(),
                action: format!(
                    "Keep manual bidding and move its {} broad keywords to phrase match",
                    broad.len()
                ),
                changes: to_phrase,
            },
        ],
    ))
}

/// A campaign that has spent several conversions' worth with none.
fn campaign_not_converting(ctx: &Ctx, campaign: &Campaign, c: &CampaignTotals) -> Option<Finding> {
    let threshold = 3.0 * ctx.waste_threshold();
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
    Some(finding(
        Severity::Critical,
        "campaign-not-converting",
        About::campaign(campaign, c.cost),
        format!(
            "{} spent {} with no conversions",
            campaign.name,
            ctx.money.show(c.cost)
        ),
        format!(
            "{clicks} clicks, {} spent, 0 conversions at {}/day{}",
            ctx.money.show(c.cost),
            ctx.money.show(campaign.daily_budget),
            match ctx.cpa {
                Some(cpa) => format!(
                    "; the rest of the account converts at {}",
                    ctx.money.show(cpa)
                ),
                None => String::new(),
            }
        ),
        vec![
            Choice {
                affects: Vec::new(),
                action: format!("Pause the campaign {}", campaign.name),
                changes: vec![Change {
                    campaign_status: Some("Paused".into()),
                    ..campaign_row(campaign)
                }],
            },
            Choice {
                affects: Vec::new(),
                action: format!(
                    "Halve its daily budget to {} while the conversion tracking and landing page are checked",
                    ctx.money.show(half)
                ),
                changes: vec![budget_row(campaign, half)],
            },
        ],
    ))
}

/// A keyword with a low quality score and enough impressions to trust it.
fn low_quality_score(
    ctx: &Ctx,
    campaign: &Campaign,
    group: &AdGroup,
    keyword: &Keyword,
) -> Option<Finding> {
    let score = keyword.quality_score?;
    if score > 4 || keyword.impressions < 1_000 {
        return None;
    }
    let row = keyword_row(campaign, group, keyword);
    let lower = current_cpc(keyword) * 0.7;
    Some(finding(
        Severity::Monitor,
        "low-quality-score",
        About::keyword(campaign, group, keyword),
        format!("\"{}\" has a quality score of {score}/10", keyword.text),
        format!(
            "{} impressions, {} clicks ({:.1}% CTR), {} spent, {} in {} / {}; a low score raises what each click costs",
            keyword.impressions,
            keyword.clicks,
            100.0 * keyword.clicks as f64 / keyword.impressions.max(1) as f64,
            ctx.money.show(keyword.cost),
            conversions(keyword.conversions),
            campaign.name,
            group.name
        ),
        vec![
            Choice {
                affects: Vec::new(),
                action: format!(
                    "Lower its max CPC by 30% to {} while the ad and landing page are improved",
                    ctx.money.show(lower)
                ),
                changes: vec![with_cpc(row.clone(), lower)],
            },
            Choice {
                affects: Vec::new(),
                action: format!("Pause \"{}\"", keyword.text),
                changes: vec![paused(row)],
            },
        ],
    ))
}
