//! `[[steps]]`: unique ids, tasks (`uses`) and their fields; gates are checked in
//! `gates`.

use super::references::resolve_references;
use super::*;

pub(super) fn step_ids(report: &mut Reporter, steps: &[Spanned<RawStep>]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for step in steps {
        let id = step.get_ref().id.get_ref();
        if let Err(e) = StepId::try_from(id.clone()) {
            report.at(step.get_ref().id.span(), e.to_string());
        }
        if !ids.insert(id.clone()) {
            report.at(
                step.get_ref().id.span(),
                format!("step id {id:?} is used twice; step ids must be unique"),
            );
        }
    }
    ids
}

/// What a step's templated fields are checked against: its name, the step ids, and
/// whether `item` and `index` exist in it.
pub(super) struct FieldScope<'a> {
    step: &'a str,
    ids: &'a BTreeSet<String>,
    has_items: bool,
}

impl FieldScope<'_> {
    /// An expression field (`when`, `for_each`, `choices`, `auto_approve`).
    pub(super) fn expr(
        &self,
        report: &mut Reporter,
        deps: &mut BTreeSet<StepId>,
        field: &str,
        value: &Option<Spanned<String>>,
    ) -> Option<Expr> {
        self.parsed(
            report,
            deps,
            field,
            value,
            |v| Expr::parse(v),
            "is not a valid expression",
        )
    }

    /// A text template field (`title`, `reason`, `severity`).
    pub(super) fn text(
        &self,
        report: &mut Reporter,
        deps: &mut BTreeSet<StepId>,
        field: &str,
        value: &Option<Spanned<String>>,
    ) -> Option<Template> {
        self.parsed(
            report,
            deps,
            field,
            value,
            |v| Template::parse_text(v),
            "has a template error",
        )
    }

    /// A template of any TOML value (`input`, `context`).
    pub(super) fn template(
        &self,
        report: &mut Reporter,
        deps: &mut BTreeSet<StepId>,
        field: &str,
        value: &Option<Spanned<toml::Value>>,
    ) -> Option<Template> {
        self.parsed(
            report,
            deps,
            field,
            value,
            Template::parse,
            "has a template error",
        )
    }

    /// The step ids `refs` (a template's references in `field`) name, every problem
    /// reported at `span`.
    pub(super) fn references(
        &self,
        report: &mut Reporter,
        span: std::ops::Range<usize>,
        field: &str,
        refs: &BTreeSet<String>,
    ) -> BTreeSet<StepId> {
        resolve_references(
            report,
            span,
            field,
            self.step,
            refs,
            self.ids,
            self.has_items,
        )
    }

    /// The field `value` parsed by `parse`, its references recorded as dependencies;
    /// `None` when the field is absent, or with the problem reported at its span
    /// (`problem` says what is wrong).
    fn parsed<V, T>(
        &self,
        report: &mut Reporter,
        deps: &mut BTreeSet<StepId>,
        field: &str,
        value: &Option<Spanned<V>>,
        parse: impl FnOnce(&V) -> Result<(T, BTreeSet<String>), crate::TemplateError>,
        problem: &str,
    ) -> Option<T> {
        let value = value.as_ref()?;
        let span = value.span();
        match parse(value.get_ref()) {
            Ok((parsed, refs)) => {
                deps.extend(self.references(report, span, field, &refs));
                Some(parsed)
            }
            Err(e) => {
                report.at(
                    span,
                    format!("step {:?}: `{field}` {problem}: {e}", self.step),
                );
                None
            }
        }
    }
}

pub(super) fn check_step(
    report: &mut Reporter,
    raw: &Spanned<RawStep>,
    ids: &BTreeSet<String>,
    raw_plugins: &BTreeMap<String, Spanned<RawPlugin>>,
    plugins: &BTreeMap<PluginName, PluginDecl>,
) -> Option<Step> {
    let s = raw.get_ref();
    let name = s.id.get_ref().clone();
    let id = StepId::try_from(name.clone()).ok()?;
    let mut deps = BTreeSet::new();
    let has_items = s.for_each.is_some() || s.approve.is_some() || s.after_each.is_some();

    let scope = FieldScope {
        step: &name,
        ids,
        has_items,
    };
    let when = scope.expr(report, &mut deps, "when", &s.when);
    let for_each = scope.expr(report, &mut deps, "for_each", &s.for_each);
    let after_each = s.after_each.as_ref().and_then(|value| {
        let source = value.get_ref();
        if s.for_each.is_some() {
            report.at(value.span(), format!("step {name:?} has both `for_each` and `after_each`; it runs per item of one or the other"));
            return None;
        }
        if s.approve.is_some() {
            report.at(value.span(), format!("step {name:?}: a gate follows the items of the step it approves; `after_each` is for tasks"));
            return None;
        }
        if source == &name || !ids.contains(source) {
            report.at(
                value.span(),
                format!(
                    "step {name:?}: after_each = {source:?} is not another step; steps: {}",
                    ids.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
            return None;
        }
        let id = StepId::try_from(source.clone()).ok()?;
        deps.insert(id.clone());
        Some(id)
    });

    let kind = match (&s.uses, &s.approve) {
        (Some(_), Some(approve)) => {
            report.at(approve.span(), format!("step {name:?} has both `uses` and `approve`; a step is a task (`uses`) or a gate (`approve`), not both"));
            return None;
        }
        (None, None) => {
            report.at(s.id.span(), format!("step {name:?} needs `uses = \"<plugin>\"` (a task) or `approve = \"<step>\"` (a gate)"));
            return None;
        }
        (Some(uses), None) => {
            for (field, present) in [
                ("title", s.title.is_some()),
                ("reason", s.reason.is_some()),
                ("severity", s.severity.is_some()),
                ("choices", s.choices.is_some()),
                ("context", s.context.is_some()),
                ("view", s.view.is_some()),
                ("edit", s.edit.is_some()),
                ("edit_schema", s.edit_schema.is_some()),
                ("timeout", s.timeout.is_some()),
                ("on_timeout", s.on_timeout.is_some()),
                ("auto_approve", s.auto_approve.is_some()),
                ("kind", s.kind.is_some()),
                ("spot_check", s.spot_check.is_some()),
                ("spot_check_agreement", s.spot_check_agreement.is_some()),
                ("decide_in", s.decide_in.is_some()),
                ("approvers", s.approvers.is_some()),
            ] {
                if present {
                    report.at(
                        s.id.span(),
                        format!(
                            "step {name:?}: `{field}` only applies to gates (steps with `approve`)"
                        ),
                    );
                }
            }
            if !raw_plugins.contains_key(uses.get_ref()) {
                report.at(
                    uses.span(),
                    format!(
                        "step {name:?} uses plugin {:?}, which is not declared; declared plugins: {}",
                        uses.get_ref(),
                        if plugins.is_empty() { "none (add a [plugins.<name>] table)".to_string() } else { plugins.keys().cloned().collect::<Vec<_>>().join(", ") }
                    ),
                );
            }
            let input = match &s.input {
                Some(_) => scope.template(report, &mut deps, "input", &s.input)?,
                None => Template::parse_text("{{ input }}").ok()?.0,
            };
            StepKind::Task {
                uses: PluginName::try_from(uses.get_ref().clone()).ok()?,
                input,
            }
        }
        (None, Some(approve)) => {
            super::gates::check_gate(report, s, &name, approve, ids, &scope, &mut deps)?
        }
    };
    Some(Step {
        id,
        kind,
        when,
        for_each,
        after_each,
        depends_on: deps,
    })
}

#[cfg(test)]
mod tests {
    use super::super::StepKind;
    use super::super::testing::{parse, problems, with_echo};

    #[test]
    fn a_task_without_input_gets_the_runs_input() {
        let workflow = parse(&with_echo("")).unwrap();
        match &workflow.steps[0].kind {
            StepKind::Task { uses, input } => {
                assert_eq!(uses.as_str(), "echo");
                assert!(format!("{input:?}").contains("input"), "{input:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn after_each_follows_a_step_that_runs_per_item() {
        let items = "for_each = \"input.list\"\n";
        let good = parse(&with_echo(&format!(
            "{items}\n[[steps]]\nid = \"review\"\napprove = \"first\"\ntitle = \"t\"\n\n[[steps]]\nid = \"apply\"\nuses = \"echo\"\nafter_each = \"review\"\ninput = {{ one = \"{{{{ item }}}}\", so_far = \"{{{{ steps.review.output }}}}\" }}\n"
        )))
        .unwrap();
        let apply = good
            .steps
            .iter()
            .find(|s| s.id.as_str() == "apply")
            .unwrap();
        assert_eq!(
            apply.after_each.as_ref().map(|s| s.as_str()),
            Some("review")
        );
        assert!(good.is_itemized(apply));
        let once = problems(&with_echo(
            "\n[[steps]]\nid = \"apply\"\nuses = \"echo\"\nafter_each = \"first\"\n",
        ));
        assert!(once.contains("\"first\" runs once, not per item"), "{once}");
        let unknown = problems(&with_echo(
            "\n[[steps]]\nid = \"apply\"\nuses = \"echo\"\nafter_each = \"nope\"\n",
        ));
        assert!(
            unknown.contains("after_each = \"nope\" is not another step"),
            "{unknown}"
        );
        let both = problems(&with_echo(&format!(
            "{items}\n[[steps]]\nid = \"apply\"\nuses = \"echo\"\nfor_each = \"input.list\"\nafter_each = \"first\"\n"
        )));
        assert!(
            both.contains("has both `for_each` and `after_each`"),
            "{both}"
        );
    }

    #[test]
    fn ids_are_unique_and_a_step_is_a_task_or_a_gate() {
        let twice = problems(&with_echo("\n[[steps]]\nid = \"first\"\nuses = \"echo\"\n"));
        assert!(twice.contains("step id \"first\" is used twice"), "{twice}");
        let both = problems(&with_echo(
            "\n[[steps]]\nid = \"x\"\nuses = \"echo\"\napprove = \"first\"\n",
        ));
        assert!(both.contains("has both `uses` and `approve`"), "{both}");
        let neither = problems(&with_echo("\n[[steps]]\nid = \"x\"\n"));
        assert!(neither.contains("needs `uses = \"<plugin>\"`"), "{neither}");
        let undeclared = problems(&with_echo("\n[[steps]]\nid = \"x\"\nuses = \"nope\"\n"));
        assert!(
            undeclared
                .contains("uses plugin \"nope\", which is not declared; declared plugins: echo"),
            "{undeclared}"
        );
        let gate_field = problems(&with_echo("title = \"?\"\n"));
        assert!(
            gate_field.contains("`title` only applies to gates"),
            "{gate_field}"
        );
    }
}
