//! What a template may refer to: `input`, another step's output, and `item` and
//! `index` in a step that runs per item.

use super::*;

const ROOTS: &str = "input, steps, item and index";

/// Records a reference problem and returns the step ids a template refers to.
pub(super) fn resolve_references(
    report: &mut Reporter,
    span: std::ops::Range<usize>,
    field: &str,
    step: &str,
    references: &BTreeSet<String>,
    ids: &BTreeSet<String>,
    has_items: bool,
) -> BTreeSet<StepId> {
    let mut deps = BTreeSet::new();
    for reference in references {
        let mut parts = reference.split('.');
        match (parts.next(), parts.next()) {
            (Some("input"), _) => {}
            (Some("item" | "index"), _) if has_items => {}
            (Some("item" | "index"), _) => report.at(
                span.clone(),
                format!("step {step:?}: `{field}` uses `{reference}`, which only exists in a step with `for_each`"),
            ),
            (Some("steps"), Some(other)) => {
                if other == step {
                    report.at(span.clone(), format!("step {step:?}: `{field}` refers to its own output"));
                } else if !ids.contains(other) {
                    report.at(
                        span.clone(),
                        format!(
                            "step {step:?}: `{field}` refers to steps.{other}, which is not a step; steps: {}",
                            ids.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                } else if let Ok(id) = StepId::try_from(other.to_string()) {
                    deps.insert(id);
                }
            }
            (Some("steps"), None) => report.at(
                span.clone(),
                format!("step {step:?}: `{field}` must name the step it reads, as in steps.score.output"),
            ),
            (Some(root), _) => report.at(
                span.clone(),
                format!("step {step:?}: `{field}` uses unknown variable `{root}`; templates can use {ROOTS}"),
            ),
            (None, _) => {}
        }
    }
    deps
}

#[cfg(test)]
mod tests {
    use super::super::testing::{parse, problems, with_echo};

    #[test]
    fn a_reference_to_another_step_becomes_a_dependency() {
        let workflow = parse(&with_echo(
            "\n[[steps]]\nid = \"second\"\nuses = \"echo\"\ninput = \"{{ steps.first.output }}\"\n",
        ))
        .unwrap();
        let second = workflow
            .steps
            .iter()
            .find(|s| s.id.as_str() == "second")
            .unwrap();
        assert_eq!(
            second
                .depends_on
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>(),
            vec!["first"]
        );
    }

    #[test]
    fn unknown_steps_own_output_unknown_roots_and_items_outside_for_each_are_named() {
        for (input, expected) in [
            (
                "{{ steps.nope.output }}",
                "refers to steps.nope, which is not a step; steps: first, second",
            ),
            ("{{ steps.second.output }}", "refers to its own output"),
            (
                "{{ secrets.key }}",
                "uses unknown variable `secrets`; templates can use input, steps, item and index",
            ),
            (
                "{{ item.name }}",
                "which only exists in a step with `for_each`",
            ),
            ("{{ steps }}", "must name the step it reads"),
        ] {
            let found = problems(&with_echo(&format!(
                "\n[[steps]]\nid = \"second\"\nuses = \"echo\"\ninput = \"{input}\"\n"
            )));
            assert!(found.contains(expected), "{input}: {found}");
        }
    }
}
