//! The step graph: no cycles, reported once at the first step of one.

use super::*;

/// Reports each cycle once, at the first step of it in file order.
pub(super) fn check_cycles(report: &mut Reporter, steps: &[Step], raw: &[Spanned<RawStep>]) {
    let deps: BTreeMap<&StepId, &BTreeSet<StepId>> =
        steps.iter().map(|s| (&s.id, &s.depends_on)).collect();
    let mut done: BTreeSet<&StepId> = BTreeSet::new();
    for step in steps {
        let mut path: Vec<&StepId> = Vec::new();
        if let Some(cycle) = find_cycle(&step.id, &deps, &mut path, &mut done) {
            let span = raw
                .iter()
                .find(|r| r.get_ref().id.get_ref() == cycle[0].as_str())
                .map(|r| r.get_ref().id.span())
                .unwrap_or(0..0);
            let names: Vec<&str> = cycle.iter().map(|s| s.as_str()).collect();
            report.at(
                span,
                format!(
                    "steps form a cycle: {}; a step can only use steps that finish before it",
                    names.join(" -> ")
                ),
            );
            return;
        }
    }
}

fn find_cycle<'a>(
    step: &'a StepId,
    deps: &BTreeMap<&'a StepId, &'a BTreeSet<StepId>>,
    path: &mut Vec<&'a StepId>,
    done: &mut BTreeSet<&'a StepId>,
) -> Option<Vec<&'a StepId>> {
    if let Some(start) = path.iter().position(|s| *s == step) {
        let mut cycle = path[start..].to_vec();
        cycle.push(step);
        return Some(cycle);
    }
    if done.contains(step) {
        return None;
    }
    path.push(step);
    if let Some(next) = deps.get(step) {
        for dep in next.iter() {
            if let Some((key, _)) = deps.get_key_value(dep)
                && let Some(cycle) = find_cycle(key, deps, path, done)
            {
                return Some(cycle);
            }
        }
    }
    path.pop();
    done.insert(step);
    None
}

#[cfg(test)]
mod tests {
    use super::super::testing::{problems, with_echo};

    #[test]
    fn a_cycle_is_reported_once_with_its_path() {
        let found = problems(&with_echo(
            "input = \"{{ steps.third.output }}\"\n\n[[steps]]\nid = \"second\"\nuses = \"echo\"\ninput = \"{{ steps.first.output }}\"\n\n[[steps]]\nid = \"third\"\nuses = \"echo\"\ninput = \"{{ steps.second.output }}\"\n",
        ));
        assert!(
            found.contains("steps form a cycle: first -> third -> second -> first"),
            "{found}"
        );
        assert_eq!(found.matches("cycle").count(), 1, "{found}");
    }
}
