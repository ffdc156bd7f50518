//! Weights and thresholds, with defaults tuned for B2B SaaS sales; each can be
//! changed through the plugin's config (`weight.pricing-view = "12"`).

/// Points per unit of each signal. Penalties are subtracted.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// Per pricing-page view (up to 4 views count). Default 9.
    pub pricing_view: i32,
    /// For the first reply; each further reply (up to 2) adds a third of it. Default 14.
    pub reply: i32,
    /// Extra for a reply in the last day (half of it within the week). Default 8.
    pub fresh_reply: i32,
    /// Per website visit (up to 8 visits count). Default 2.
    pub visit: i32,
    /// Per email opened (up to 6 count). Default 1.
    pub open: i32,
    /// For a C-level, founder or owner contact; VPs and heads get 5/6, directors 7/12,
    /// managers 1/4. Default 12.
    pub seniority: i32,
    /// For a company inside the ideal size range. Default 8.
    pub fit: i32,
    /// For a company in a target industry. Default 6.
    pub industry: i32,
    /// For a deal in negotiation; earlier stages get less. Default 14.
    pub stage: i32,
    /// For notes that show intent ("budget approved", "asked for a quote"). Default 8.
    pub notes: i32,
    /// Subtracted when there has been no contact for `stale_after_days`. Default 10.
    pub stale: i32,
    /// Subtracted for notes that show disinterest ("went with a competitor"). Default 25.
    pub negative_notes: i32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            pricing_view: 9,
            reply: 14,
            fresh_reply: 8,
            visit: 2,
            open: 1,
            seniority: 12,
            fit: 8,
            industry: 6,
            stage: 14,
            notes: 8,
            stale: 10,
            negative_notes: 25,
        }
    }
}

/// Everything the scorer can be told.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub weights: Weights,
    /// Company sizes (employees, inclusive) that fit best. Default 50 to 2,000.
    pub ideal_employees: (u64, u64),
    /// Industries that fit best, lowercase. Default: saas, software, fintech, e-commerce.
    pub target_industries: Vec<String>,
    /// Days without contact after which a lead counts as going cold. Default 30.
    pub stale_after_days: u32,
    /// Points at which the score reaches 63 (1 - 1/e); larger spreads scores lower.
    /// Default 45.
    pub scale: f64,
    /// Score from which an actionable lead counts as hot in the summary. Default 70.
    pub hot_threshold: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            weights: Weights::default(),
            ideal_employees: (50, 2_000),
            target_industries: ["saas", "software", "fintech", "e-commerce"]
                .map(String::from)
                .to_vec(),
            stale_after_days: 30,
            scale: 45.0,
            hot_threshold: 70,
        }
    }
}

/// A config value that does not parse; names the key and what was expected.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub value: String,
    pub expected: &'static str,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "config `{}` = {:?} is not valid: expected {}",
            self.key, self.value, self.expected
        )
    }
}

/// The config keys the scorer understands, for warning about the others.
pub const KNOWN_KEYS: &[&str] = &[
    "weight.pricing-view",
    "weight.reply",
    "weight.fresh-reply",
    "weight.visit",
    "weight.open",
    "weight.seniority",
    "weight.fit",
    "weight.industry",
    "weight.stage",
    "weight.notes",
    "penalty.stale",
    "penalty.negative-notes",
    "ideal-employees",
    "target-industries",
    "stale-after-days",
    "scale",
    "hot-threshold",
];

impl Settings {
    /// Reads settings from config values; `get` returns the value of a key if set.
    pub fn from_config(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        let w = &mut s.weights;
        for (key, slot) in [
            ("weight.pricing-view", &mut w.pricing_view),
            ("weight.reply", &mut w.reply),
            ("weight.fresh-reply", &mut w.fresh_reply),
            ("weight.visit", &mut w.visit),
            ("weight.open", &mut w.open),
            ("weight.seniority", &mut w.seniority),
            ("weight.fit", &mut w.fit),
            ("weight.industry", &mut w.industry),
            ("weight.stage", &mut w.stage),
            ("weight.notes", &mut w.notes),
            ("penalty.stale", &mut w.stale),
            ("penalty.negative-notes", &mut w.negative_notes),
        ] {
            if let Some(value) = get(key) {
                *slot = parse(key, &value, "a whole number of points from 0 to 100", |v| {
                    v.parse::<i32>().ok().filter(|n| (0..=100).contains(n))
                })?;
            }
        }
        if let Some(value) = get("ideal-employees") {
            s.ideal_employees =
                parse("ideal-employees", &value, "a range like \"50-2000\"", |v| {
                    let (low, high) = v.split_once('-')?;
                    let (low, high) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
                    (low <= high).then_some((low, high))
                })?;
        }
        if let Some(value) = get("target-industries") {
            s.target_industries = value
                .split(',')
                .map(|i| i.trim().to_lowercase())
                .filter(|i| !i.is_empty())
                .collect();
        }
        if let Some(value) = get("stale-after-days") {
            s.stale_after_days = parse("stale-after-days", &value, "a number of days", |v| {
                v.parse().ok()
            })?;
        }
        if let Some(value) = get("scale") {
            s.scale = parse("scale", &value, "a positive number like 45", |v| {
                v.parse::<f64>().ok().filter(|n| n.is_finite() && *n > 0.0)
            })?;
        }
        if let Some(value) = get("hot-threshold") {
            s.hot_threshold = parse("hot-threshold", &value, "a score from 0 to 100", |v| {
                v.parse().ok().filter(|n| *n <= 100)
            })?;
        }
        Ok(s)
    }
}

fn parse<T>(
    key: &str,
    value: &str,
    expected: &'static str,
    f: impl FnOnce(&str) -> Option<T>,
) -> Result<T, ConfigError> {
    f(value.trim()).ok_or_else(|| ConfigError {
        key: key.into(),
        value: value.into(),
        expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_override_the_defaults() {
        let s = Settings::from_config(|k| match k {
            "weight.reply" => Some("20".into()),
            "ideal-employees" => Some("10 - 200".into()),
            "target-industries" => Some("Healthcare, Retail".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.weights.reply, 20);
        assert_eq!(s.ideal_employees, (10, 200));
        assert_eq!(s.target_industries, vec!["healthcare", "retail"]);
        assert_eq!(s.weights.visit, Weights::default().visit);
    }

    #[test]
    fn a_bad_value_names_the_key_and_what_was_expected() {
        let error =
            Settings::from_config(|k| (k == "ideal-employees").then(|| "lots".into())).unwrap_err();
        assert_eq!(error.key, "ideal-employees");
        assert!(error.to_string().contains("50-2000"), "{error}");
        assert!(Settings::from_config(|k| (k == "weight.visit").then(|| "-3".into())).is_err());
    }
}
