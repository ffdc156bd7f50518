//! Checking and rendering one email, as plain Rust.

use serde::{Deserialize, Serialize};

pub const INPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["email"],
  "properties": {
    "email": {
      "type": "object",
      "required": ["to", "subject", "body"],
      "properties": {
        "to": {"type": "string"},
        "subject": {"type": "string"},
        "body": {"type": "string"},
        "angle": {"type": "string"}
      }
    }
  }
}"##;

pub const OUTPUT_SCHEMA: &str = r##"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["status", "to", "subject", "message"],
  "properties": {
    "status": {"const": "queued"},
    "to": {"type": "string"},
    "subject": {"type": "string"},
    "message": {"type": "string"}
  }
}"##;

#[derive(Debug, Deserialize)]
pub struct Input {
    pub email: Email,
}

#[derive(Debug, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Serialize)]
pub struct Queued {
    pub status: &'static str,
    pub to: String,
    pub subject: String,
    /// The message as it would be sent: headers, a blank line, the body.
    pub message: String,
}

/// `Ana Okafor <ana@x.example>` or `ana@x.example` -> the address.
fn address(to: &str) -> Option<&str> {
    let candidate = match (to.find('<'), to.rfind('>')) {
        (Some(open), Some(close)) if open < close => &to[open + 1..close],
        _ => to.trim(),
    };
    let (local, domain) = candidate.split_once('@')?;
    let ok = !local.is_empty() && domain.contains('.') && !candidate.contains(char::is_whitespace);
    ok.then_some(candidate)
}

pub fn render(email: &Email, from: &str) -> Result<Queued, String> {
    let Some(_) = address(&email.to) else {
        return Err(format!(
            "{:?} has no email address; add `email` to the lead or edit the draft's `to`",
            email.to
        ));
    };
    let subject = email.subject.trim();
    if subject.is_empty() || subject.contains(['\r', '\n']) {
        return Err("the subject must be one non-empty line".into());
    }
    let body = email.body.trim();
    for placeholder in ["{{", "[name]", "TODO", "lorem ipsum"] {
        if body.to_lowercase().contains(&placeholder.to_lowercase()) {
            return Err(format!(
                "the body still contains the placeholder {placeholder:?}; edit it before approving"
            ));
        }
    }
    Ok(Queued {
        status: "queued",
        to: email.to.clone(),
        subject: subject.to_string(),
        message: format!(
            "From: {from}\nTo: {}\nSubject: {subject}\n\n{body}\n",
            email.to
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(to: &str, body: &str) -> Email {
        Email {
            to: to.into(),
            subject: "Next step".into(),
            body: body.into(),
        }
    }

    #[test]
    fn a_good_email_renders_with_headers() {
        let queued = render(
            &email("Ana <ana@n.example>", "Hi Ana,\n\nThanks."),
            "sam@b.example",
        )
        .unwrap();
        assert!(queued.message.starts_with(
            "From: sam@b.example\nTo: Ana <ana@n.example>\nSubject: Next step\n\nHi Ana,"
        ));
    }

    #[test]
    fn missing_addresses_and_placeholders_are_refused_with_what_to_do() {
        assert!(
            render(&email("Ana Okafor", "Hi"), "f")
                .unwrap_err()
                .contains("add `email`")
        );
        assert!(
            render(&email("a@b.example", "Hi [name], TODO"), "f")
                .unwrap_err()
                .contains("placeholder")
        );
    }
}
