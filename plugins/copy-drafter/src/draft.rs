//! The drafting itself: plain Rust, unit-tested natively.

use serde::{Deserialize, Serialize};

pub const INPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "A scored lead to write to",
  "type": "object",
  "required": ["lead"],
  "properties": {
    "lead": {
      "description": "One entry of the lead scorer's output (its `top`, say)",
      "type": "object",
      "required": ["lead"],
      "properties": {
        "score": {"type": "integer"},
        "reason": {"type": "string"},
        "signals": {"type": "array", "items": {"type": "object", "properties": {"signal": {"type": "string"}, "detail": {"type": "string"}}}},
        "lead": {
          "type": "object",
          "required": ["company", "contact"],
          "properties": {
            "company": {"type": "string", "minLength": 1},
            "contact": {"type": "string", "minLength": 1},
            "email": {"type": "string"},
            "title": {"type": "string"},
            "industry": {"type": "string"},
            "employees": {"type": "integer"},
            "deal_stage": {"type": "string"},
            "notes": {"type": "string"}
          }
        }
      }
    }
  }
}"##;

pub const OUTPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Three follow-up drafts",
  "type": "object",
  "required": ["to", "variants", "grounded_in"],
  "$defs": {
    "email": {
      "type": "object",
      "required": ["angle", "to", "subject", "body"],
      "additionalProperties": false,
      "properties": {
        "angle": {"type": "string", "minLength": 1},
        "to": {"type": "string", "minLength": 3},
        "subject": {"type": "string", "minLength": 3, "maxLength": 120},
        "body": {"type": "string", "minLength": 20, "maxLength": 4000}
      }
    }
  },
  "properties": {
    "to": {"type": "string"},
    "variants": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"$ref": "#/$defs/email"}},
    "grounded_in": {"type": "array", "items": {"type": "string"}},
    "drafted_by": {"type": "string", "description": "The model that wrote the drafts, or why templates did"}
  }
}"##;

/// The structure the model is asked to answer in (checked by the host).
pub const MODEL_SCHEMA: &str = r##"{
  "type": "object",
  "required": ["variants"],
  "additionalProperties": false,
  "properties": {
    "variants": {
      "type": "array", "minItems": 3, "maxItems": 3,
      "items": {
        "type": "object",
        "required": ["angle", "subject", "body"],
        "additionalProperties": false,
        "properties": {
          "angle": {"type": "string", "minLength": 1, "maxLength": 60},
          "subject": {"type": "string", "minLength": 3, "maxLength": 120},
          "body": {"type": "string", "minLength": 20, "maxLength": 4000}
        }
      }
    }
  }
}"##;

#[derive(Debug, Deserialize)]
pub struct Input {
    pub lead: Scored,
}

#[derive(Debug, Deserialize)]
pub struct Scored {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub signals: Vec<Signal>,
    pub lead: Lead,
}

#[derive(Debug, Deserialize)]
pub struct Signal {
    #[serde(default)]
    pub signal: String,
    #[serde(default)]
    pub detail: String,
}

#[derive(Debug, Deserialize)]
pub struct Lead {
    pub company: String,
    pub contact: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub employees: Option<u64>,
    #[serde(default)]
    pub deal_stage: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

pub struct Settings {
    pub sender: String,
    pub product: String,
    pub meeting_minutes: u32,
    /// A page of customer stories, linked from the proof email.
    pub examples_link: Option<String>,
    /// A booking page, linked from the easy-next-step email.
    pub booking_link: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Drafts {
    pub to: String,
    pub variants: Vec<Email>,
    /// The signals the drafts draw on, for the operator's context.
    pub grounded_in: Vec<String>,
    /// The model that wrote them, or why templates did.
    pub drafted_by: String,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Email {
    pub angle: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

fn has(scored: &Scored, signal: &str) -> bool {
    scored.signals.iter().any(|s| s.signal == signal)
}

/// What to pick up the thread on, from the strongest concrete signal.
fn thread(scored: &Scored, product: &str) -> (String, String) {
    let lead = &scored.lead;
    let notes = lead.notes.as_deref().unwrap_or("").to_lowercase();
    if notes.contains("quote") {
        return (
            "your quote".into(),
            format!(
                "You asked for a quote, so I've put together pricing for {} based on what you described.",
                lead.company
            ),
        );
    }
    if notes.contains("budget") {
        return ("budget timing".into(), "You mentioned budget is approved, so this seems like the right moment to line up the details.".into());
    }
    if notes.contains("trial") {
        return (
            "your trial".into(),
            format!("I saw your team has been putting {product} through its paces on the trial."),
        );
    }
    if notes.contains("security review") {
        return ("the security review".into(), "I know the security review is under way; I can send our documentation and answer your IT team directly.".into());
    }
    match lead.deal_stage.as_deref() {
        Some("proposal") => {
            return (
                "the proposal".into(),
                "I wanted to check whether the proposal raised any questions on your side.".into(),
            );
        }
        Some("negotiation") => {
            return (
                "final details".into(),
                "We're close, and I'd like to make the last steps easy for you.".into(),
            );
        }
        Some("demo") => {
            return (
                "the demo".into(),
                "Thanks again for making time for the demo.".into(),
            );
        }
        _ => {}
    }
    if has(scored, "email_replies") {
        return (
            "our conversation".into(),
            "Thanks for getting back to me.".into(),
        );
    }
    if has(scored, "pricing_page_views") {
        return ("choosing a plan".into(), "It looks like you're weighing plans, so I wanted to offer a hand choosing the right one.".into());
    }
    (
        "a quick idea".into(),
        format!(
            "I had an idea for how {} could get more from its pipeline.",
            lead.company
        ),
    )
}

pub fn drafts(input: &Input, settings: &Settings) -> Drafts {
    let scored = &input.lead;
    let lead = &scored.lead;
    let first = lead
        .contact
        .split_whitespace()
        .next()
        .unwrap_or(&lead.contact)
        .to_string();
    let to = match &lead.email {
        Some(email) if email.contains('@') => format!("{} <{email}>", lead.contact),
        _ => lead.contact.clone(),
    };
    let peers = match (&lead.industry, lead.employees) {
        (Some(industry), Some(n)) => format!("{industry} teams around {} people", round_size(n)),
        (Some(industry), None) => format!("{industry} teams"),
        (None, Some(n)) => format!("teams around {} people", round_size(n)),
        (None, None) => "teams like yours".into(),
    };
    let role = lead
        .title
        .as_deref()
        .map(|t| format!(" as {t}"))
        .unwrap_or_default();
    let (topic, opener) = thread(scored, &settings.product);
    let sign = format!("\n\nBest,\n{}", settings.sender);

    let pick_up = Email {
        angle: "pick up the thread".into(),
        to: to.clone(),
        subject: format!("{}: next step on {topic}", lead.company),
        body: format!(
            "Hi {first},\n\n{opener} Would it help if I sent over a short plan for {} with the options that fit, so you can decide quickly?{sign}",
            lead.company
        ),
    };
    let examples = match &settings.examples_link {
        Some(link) => format!(" A few are here: {link}"),
        None => String::new(),
    };
    let booking = match &settings.booking_link {
        Some(link) => format!(" Or pick a time that suits you: {link}"),
        None => String::new(),
    };
    let proof = Email {
        angle: "proof from peers".into(),
        to: to.clone(),
        subject: format!("How {peers} use {}", settings.product),
        body: format!(
            "Hi {first},\n\n{peers} usually come to {} for the same reason: less time chasing follow-ups and a clearer view of which deals need attention. \
             Happy to share two short examples that match your situation{role}.{examples}{sign}",
            settings.product
        ),
    };
    let easy = Email {
        angle: "easy next step".into(),
        to: to.clone(),
        subject: format!("{} minutes this week, {first}?", settings.meeting_minutes),
        body: format!(
            "Hi {first},\n\nIf it's useful, I can walk you through exactly how {} would work for {} in {} minutes, no slides. \
             Does Tuesday or Thursday afternoon suit you?{booking}{sign}",
            settings.product, lead.company, settings.meeting_minutes
        ),
    };
    let mut grounded_in: Vec<String> = scored
        .signals
        .iter()
        .map(|s| s.detail.clone())
        .filter(|d| !d.is_empty())
        .collect();
    if grounded_in.is_empty() && !scored.reason.is_empty() {
        grounded_in.push(scored.reason.clone());
    }
    Drafts {
        to,
        variants: vec![pick_up, proof, easy],
        grounded_in,
        drafted_by: "templates".into(),
    }
}

/// The facts a model may use, and nothing else: the lead, its signals in words, the
/// scorer's reason, and the sender's settings.
pub fn prompt(input: &Input, settings: &Settings) -> (String, String) {
    let scored = &input.lead;
    let lead = &scored.lead;
    let system = format!(
        "You write short B2B sales follow-up emails for {sender}, who sells {product}. \
         Write exactly three emails with three distinct angles: one that picks up the thread \
         of the latest interaction, one with proof from similar companies, and one that \
         proposes an easy next step (a {minutes}-minute call). Use only the facts given; \
         never invent numbers, names or events. Plain text, under 120 words each, \
         addressed to the contact by first name, signed by {sender}. Answer in the JSON \
         structure requested.",
        sender = settings.sender,
        product = settings.product,
        minutes = settings.meeting_minutes,
    );
    let mut facts = vec![
        format!("Company: {}", lead.company),
        format!("Contact: {}", lead.contact),
    ];
    let optional = [
        ("Title", lead.title.clone()),
        ("Industry", lead.industry.clone()),
        ("Employees", lead.employees.map(|n| n.to_string())),
        ("Deal stage", lead.deal_stage.clone()),
        ("Notes", lead.notes.clone()),
        (
            "Why now (the scorer)",
            Some(scored.reason.clone()).filter(|r| !r.is_empty()),
        ),
        ("Customer stories link", settings.examples_link.clone()),
        ("Booking link", settings.booking_link.clone()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            facts.push(format!("{name}: {value}"));
        }
    }
    for signal in &scored.signals {
        facts.push(format!("Signal: {} ({})", signal.detail, signal.signal));
    }
    (system, facts.join("\n"))
}

/// The drafts in a model's answer (JSON matching [`MODEL_SCHEMA`]), addressed to
/// `to`; `Err` says why they cannot be used.
pub fn from_model(text: &str, to: &str) -> Result<Vec<Email>, String> {
    #[derive(Deserialize)]
    struct Answer {
        variants: Vec<Variant>,
    }
    #[derive(Deserialize)]
    struct Variant {
        angle: String,
        subject: String,
        body: String,
    }
    let answer: Answer =
        serde_json::from_str(text).map_err(|e| format!("the answer is not the drafts ({e})"))?;
    if answer.variants.len() != 3 {
        return Err(format!("{} drafts instead of 3", answer.variants.len()));
    }
    let mut angles: Vec<String> = answer
        .variants
        .iter()
        .map(|v| v.angle.trim().to_lowercase())
        .collect();
    angles.sort();
    angles.dedup();
    if angles.len() != 3 {
        return Err("two drafts share an angle".into());
    }
    answer
        .variants
        .into_iter()
        .map(|v| {
            let subject = v.subject.trim().to_string();
            let body = v.body.trim().to_string();
            if !(3..=120).contains(&subject.chars().count())
                || !(20..=4000).contains(&body.chars().count())
            {
                return Err(format!("the draft {:?} is too short or too long", v.angle));
            }
            Ok(Email {
                angle: v.angle.trim().to_string(),
                to: to.to_string(),
                subject,
                body,
            })
        })
        .collect()
}

/// 240 -> 250, 1800 -> 2,000: a size people say out loud.
fn round_size(n: u64) -> String {
    let rounded = match n {
        0..=20 => n,
        21..=200 => (n + 5) / 10 * 10,
        201..=2000 => (n + 25) / 50 * 50,
        _ => (n + 250) / 500 * 500,
    };
    if rounded >= 1000 {
        format!("{},{:03}", rounded / 1000, rounded % 1000)
    } else {
        rounded.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> Input {
        serde_json::from_str(json).unwrap()
    }

    fn settings() -> Settings {
        Settings {
            sender: "Sam".into(),
            product: "Brightline".into(),
            meeting_minutes: 20,
            examples_link: None,
            booking_link: None,
        }
    }

    #[test]
    fn links_when_configured_go_into_the_proof_and_the_easy_step() {
        let lead =
            input(r#"{"lead": {"lead": {"company": "Northwind", "contact": "Ana Okafor"}}}"#);
        let with_links = Settings {
            examples_link: Some("https://brightline.example/customers".into()),
            booking_link: Some("https://brightline.example/book".into()),
            ..settings()
        };
        let linked = drafts(&lead, &with_links);
        assert!(!linked.variants[0].body.contains("https://"));
        assert!(
            linked.variants[1]
                .body
                .contains("A few are here: https://brightline.example/customers\n")
        );
        assert!(
            linked.variants[2]
                .body
                .contains("pick a time that suits you: https://brightline.example/book\n")
        );
        assert!(
            drafts(&lead, &settings())
                .variants
                .iter()
                .all(|v| !v.body.contains("https://"))
        );
    }

    #[test]
    fn three_distinct_angles_grounded_in_the_leads_notes_and_company() {
        let lead = input(
            r#"{"lead": {"reason": "Viewed pricing.", "signals": [{"signal": "pricing_page_views", "detail": "viewed pricing 3 times this week"}],
            "lead": {"company": "Northwind", "contact": "Ana Okafor", "email": "ana@northwind.example", "industry": "SaaS", "employees": 240,
                     "notes": "Asked for a quote for 40 seats."}}}"#,
        );
        let drafts = drafts(&lead, &settings());
        assert_eq!(drafts.variants.len(), 3);
        let angles: std::collections::BTreeSet<_> =
            drafts.variants.iter().map(|v| v.angle.as_str()).collect();
        assert_eq!(angles.len(), 3);
        assert!(
            drafts.variants[0].body.contains("You asked for a quote"),
            "{}",
            drafts.variants[0].body
        );
        assert!(
            drafts.variants[1]
                .subject
                .contains("SaaS teams around 250 people"),
            "{}",
            drafts.variants[1].subject
        );
        assert!(
            drafts
                .variants
                .iter()
                .all(|v| v.body.starts_with("Hi Ana,")
                    && v.to == "Ana Okafor <ana@northwind.example>")
        );
        assert_eq!(drafts.grounded_in, vec!["viewed pricing 3 times this week"]);
    }

    #[test]
    fn the_prompt_holds_the_leads_facts_and_signals_and_a_models_drafts_are_checked() {
        let input = input(
            r#"{"lead": {"reason": "asked for a quote", "signals": [{"signal": "pricing_page_views", "detail": "viewed pricing 4 times"}],
                "lead": {"company": "Acme", "contact": "Dana Reyes", "notes": "wants a quote"}}}"#,
        );
        let (system, user) = prompt(&input, &settings());
        assert!(system.contains("three distinct angles"), "{system}");
        assert!(user.contains("Company: Acme"), "{user}");
        assert!(user.contains("viewed pricing 4 times"), "{user}");
        assert!(
            user.contains("Why now (the scorer): asked for a quote"),
            "{user}"
        );

        let draft = |angle: &str| {
            format!(
                r#"{{"angle": "{angle}", "subject": "Next step", "body": "Hi Dana, a short body that is long enough."}}"#
            )
        };
        let three = format!(
            r#"{{"variants": [{}, {}, {}]}}"#,
            draft("a"),
            draft("b"),
            draft("c")
        );
        let emails = from_model(&three, "Dana").unwrap();
        assert_eq!(emails.len(), 3);
        assert_eq!(emails[1].to, "Dana");
        let same = format!(
            r#"{{"variants": [{}, {}, {}]}}"#,
            draft("a"),
            draft("A"),
            draft("c")
        );
        assert!(
            from_model(&same, "Dana")
                .unwrap_err()
                .contains("share an angle")
        );
        assert!(from_model("not json", "Dana").is_err());
    }

    #[test]
    fn sizes_are_rounded_the_way_people_say_them() {
        assert_eq!(round_size(240), "250");
        assert_eq!(round_size(1800), "1,800");
        assert_eq!(round_size(12_000), "12,000");
        assert_eq!(round_size(12), "12");
    }
}
