//! The one-sentence reason: the signals that moved a lead most, in plain words.

use crate::signals::Assessment;

/// Positive signals named in a reason.
const NAMED: usize = 3;

/// E.g. `Viewed pricing 3 times this week, replied yesterday and is VP of Sales.`
pub(crate) fn sentence(assessment: &Assessment) -> String {
    let mut positives: Vec<&str> = assessment
        .signals
        .iter()
        .filter(|s| s.points > 0)
        .map(|s| s.detail.as_str())
        .collect();
    positives.truncate(NAMED);
    let negatives: Vec<&str> = assessment
        .signals
        .iter()
        .filter(|s| s.points < 0)
        .map(|s| s.detail.as_str())
        .collect();

    let mut text = match (positives.is_empty(), negatives.is_empty()) {
        (true, true) => "no buying signals yet".to_string(),
        (true, false) => format!("no buying signals, and {}", join(&negatives)),
        (false, true) => join(&positives),
        (false, false) => format!("{}, but {}", join(&positives), join(&negatives)),
    };
    if let Some(blocker) = &assessment.blocker {
        text = format!("not to contact: {blocker} ({text})");
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::Signal;

    fn signal(points: i32, detail: &str) -> Signal {
        Signal {
            signal: "x",
            points,
            detail: detail.into(),
        }
    }

    #[test]
    fn names_the_three_strongest_positives_and_every_negative() {
        let a = Assessment {
            signals: vec![
                signal(27, "viewed pricing 3 times this week"),
                signal(22, "replied yesterday"),
                signal(-10, "no contact for 40 days"),
                signal(10, "is VP of Sales"),
                signal(2, "opened 2 emails"),
            ],
            blocker: None,
        };
        assert_eq!(
            sentence(&a),
            "Viewed pricing 3 times this week, replied yesterday and is VP of Sales, \
             but no contact for 40 days."
        );
    }

    #[test]
    fn a_lead_with_nothing_says_so() {
        let a = Assessment {
            signals: vec![],
            blocker: None,
        };
        assert_eq!(sentence(&a), "No buying signals yet.");
    }
}
