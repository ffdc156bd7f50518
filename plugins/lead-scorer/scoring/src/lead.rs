//! A lead as a CRM export would give it.

use serde::Deserialize;

/// The scorer's input: `{"leads": [...]}`.
#[derive(Clone, Debug, Deserialize)]
pub struct LeadsInput {
    pub leads: Vec<Lead>,
}

/// One lead. Activity counts cover the last 7 days (site, pricing page) or the last
/// 30 days (email); missing counts are zero.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Lead {
    #[serde(default)]
    pub id: Option<String>,
    pub company: String,
    pub contact: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub employees: Option<u64>,
    /// Visits to the website in the last 7 days.
    #[serde(default)]
    pub website_visits: u32,
    /// Views of the pricing page in the last 7 days.
    #[serde(default)]
    pub pricing_page_views: u32,
    /// Emails opened in the last 30 days.
    #[serde(default)]
    pub email_opens: u32,
    /// Replies received in the last 30 days.
    #[serde(default)]
    pub email_replies: u32,
    /// Days since the most recent reply, when there was one.
    #[serde(default)]
    pub last_reply_days_ago: Option<u32>,
    /// Days since anyone on either side was last in touch.
    #[serde(default)]
    pub days_since_last_contact: Option<u32>,
    #[serde(default)]
    pub deal_stage: DealStage,
    #[serde(default)]
    pub notes: String,
}

/// Where the deal stands.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DealStage {
    #[default]
    New,
    Contacted,
    Engaged,
    Demo,
    Proposal,
    Negotiation,
    ClosedWon,
    ClosedLost,
}
