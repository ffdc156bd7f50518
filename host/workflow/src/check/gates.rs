//! Gates (`approve`): what the operator sees (title, reason, severity, choices,
//! context), what they may do (edit, within `edit_schema`; who approves), and what
//! happens when nobody decides (`timeout`, `on_timeout`, `auto_approve`).

use super::steps::FieldScope;
use super::*;

/// Checks the gate `name` (its raw fields `s`), approving `approve`; its templates'
/// references go into `deps`.
pub(super) fn check_gate(
    report: &mut Reporter,
    s: &RawStep,
    name: &str,
    approve: &Spanned<String>,
    ids: &BTreeSet<String>,
    scope: &FieldScope<'_>,
    deps: &mut BTreeSet<StepId>,
) -> Option<StepKind> {
    if s.input.is_some() {
        report.at(
            s.id.span(),
            format!(
                "step {name:?}: a gate takes no `input`; it decides on the output of `approve`"
            ),
        );
    }
    let approved = approve.get_ref();
    if approved == name {
        report.at(
            approve.span(),
            format!("step {name:?} approves itself; name the step whose output is decided on"),
        );
    } else if !ids.contains(approved) {
        report.at(
            approve.span(),
            format!(
                "step {name:?} approves {approved:?}, which is not a step; steps: {}",
                ids.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let approve_id = StepId::try_from(approved.clone()).ok();
    if let Some(approve_id) = &approve_id {
        deps.insert(approve_id.clone());
    }
    let title = scope.text(report, deps, "title", &s.title);
    if s.title.is_none() {
        report.at(
            s.id.span(),
            format!("gate {name:?} needs a `title`, e.g. title = \"Send this follow-up?\""),
        );
    }
    let reason = scope
        .text(report, deps, "reason", &s.reason)
        .unwrap_or(Template::Literal(serde_json::Value::String(String::new())));
    let choices = scope.expr(report, deps, "choices", &s.choices);
    let context = match &s.context {
        Some(_) => Some(scope.template(report, deps, "context", &s.context)?),
        None => None,
    };
    let view = view_template(report, s, name, scope, deps);
    let kind = scope.text(report, deps, "kind", &s.kind);
    let auto_approve = auto_approve_expr(report, s, name, scope, deps);
    let severity = match scope.text(report, deps, "severity", &s.severity) {
        Some(Template::Literal(serde_json::Value::String(fixed)))
            if Severity::parse(&fixed).is_none() =>
        {
            let span = s.severity.as_ref().map(|v| v.span()).unwrap_or(0..0);
            report.at(span, format!("step {name:?}: severity {fixed:?} is not one of critical, high, monitor, info (or a template giving one, e.g. \"{{{{ item.severity }}}}\")"));
            Template::Literal(serde_json::Value::String("info".into()))
        }
        Some(template) => template,
        None => Template::Literal(serde_json::Value::String("info".into())),
    };
    let on_timeout = match &s.on_timeout {
        None => OnTimeout::Reject,
        Some(value) => {
            match value.get_ref().as_str() {
                "reject" => OnTimeout::Reject,
                "approve_default" => OnTimeout::ApproveDefault,
                other => {
                    report.at(value.span(), format!("step {name:?}: on_timeout {other:?} is not one of reject, approve_default"));
                    OnTimeout::Reject
                }
            }
        }
    };
    let timeout = s
        .timeout
        .as_ref()
        .and_then(|value| match parse_duration(value.get_ref()) {
            Ok(d) => Some(d),
            Err(e) => {
                report.at(value.span(), format!("step {name:?}: timeout {e}"));
                None
            }
        });
    if s.on_timeout.is_some() && s.timeout.is_none() {
        report.at(
            s.id.span(),
            format!("step {name:?}: `on_timeout` needs a `timeout`, e.g. timeout = \"48h\""),
        );
    }
    let edit_schema = s.edit_schema.as_ref().and_then(|value| {
            if value.get_ref().starts_with("#/") {
                Some(value.get_ref().clone())
            } else {
                report.at(value.span(), format!("step {name:?}: edit_schema must be a JSON pointer into the plugin's output schema, e.g. \"#/$defs/email\""));
                None
            }
        });
    let approvers = match &s.approvers {
        None => Vec::new(),
        Some(list) => {
            let names: Vec<String> = list
                .get_ref()
                .iter()
                .map(|n| n.trim().to_string())
                .collect();
            if names.is_empty() || names.iter().any(String::is_empty) {
                report.at(list.span(), format!("step {name:?}: `approvers` names the operators who may decide, e.g. approvers = [\"maria\"]; leave it out to let anyone decide"));
            }
            names
        }
    };
    let spot_check = spot_check_policy(report, s, name);
    let inbox_only = match &s.decide_in {
        None => false,
        Some(value) => match value.get_ref().as_str() {
            "inbox" => true,
            "anywhere" => false,
            other => {
                report.at(
                    value.span(),
                    format!("step {name:?}: decide_in {other:?} is not one of anywhere, inbox"),
                );
                false
            }
        },
    };
    Some(StepKind::Gate(Box::new(Gate {
        approve: approve_id?,
        title: title?,
        reason,
        severity,
        choices,
        context,
        view,
        editable: s.edit.unwrap_or(true),
        edit_schema,
        timeout,
        on_timeout,
        auto_approve,
        kind,
        spot_check,
        inbox_only,
        approvers,
    })))
}

/// The gate's `spot_check` and `spot_check_agreement`: percentages, and only on a
/// gate that auto-approves.
fn spot_check_policy(
    report: &mut Reporter,
    s: &RawStep,
    name: &str,
) -> Option<baton_core::SpotCheckPolicy> {
    let mut share_of = |field: &str, value: &Spanned<String>, zero_ok: bool| match parse_percent(
        value.get_ref(),
    ) {
        Some(p) if p > 0.0 || zero_ok => Some(p),
        _ => {
            report.at(
                value.span(),
                format!(
                    "step {name:?}: `{field}` is a percentage {}; not {:?}",
                    if zero_ok {
                        "from 0% to 100%, e.g. \"80%\""
                    } else {
                        "above 0% and up to 100%, e.g. \"10%\""
                    },
                    value.get_ref()
                ),
            );
            None
        }
    };
    let share = match &s.spot_check {
        Some(value) => share_of("spot_check", value, false),
        None => {
            if let Some(value) = &s.spot_check_agreement {
                report.at(value.span(), format!("step {name:?}: `spot_check_agreement` needs a `spot_check` share, e.g. spot_check = \"10%\""));
            }
            return None;
        }
    };
    let min_agreement = match &s.spot_check_agreement {
        Some(value) => share_of("spot_check_agreement", value, true),
        None => Some(0.8),
    };
    if s.auto_approve.is_none() {
        let span = s.spot_check.as_ref().map(|v| v.span()).unwrap_or(0..0);
        report.at(span, format!("step {name:?}: `spot_check` reviews the decisions the gate auto-approves, and it has no `auto_approve`; add one, e.g. auto_approve = \"kind == 'budget-limited/monitor'\""));
        return None;
    }
    Some(baton_core::SpotCheckPolicy {
        share: share?,
        min_agreement: min_agreement?,
    })
}

/// `"10%"` as 0.1; `None` unless it is a number from 0 to 100 followed by `%`.
fn parse_percent(text: &str) -> Option<f64> {
    let number: f64 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    (0.0..=100.0).contains(&number).then_some(number / 100.0)
}

/// The gate's `auto_approve`: an expression in which `kind` (the decision's kind,
/// from the gate's `kind`) is in scope besides what every expression sees.
fn auto_approve_expr(
    report: &mut Reporter,
    s: &RawStep,
    name: &str,
    scope: &FieldScope<'_>,
    deps: &mut BTreeSet<StepId>,
) -> Option<Expr> {
    let value = s.auto_approve.as_ref()?;
    match Expr::parse(value.get_ref()) {
        Ok((expr, mut refs)) => {
            if s.kind.is_some() {
                refs.retain(|r| r != "kind");
            }
            deps.extend(scope.references(report, value.span(), "auto_approve", &refs));
            Some(expr)
        }
        Err(e) => {
            report.at(
                value.span(),
                format!("step {name:?}: `auto_approve` is not a valid expression: {e}"),
            );
            None
        }
    }
}

/// The gate's `view`: a text template in which `choice` (the choice shown) is in scope
/// besides what every template sees.
fn view_template(
    report: &mut Reporter,
    s: &RawStep,
    name: &str,
    scope: &FieldScope<'_>,
    deps: &mut BTreeSet<StepId>,
) -> Option<Template> {
    let value = s.view.as_ref()?;
    match Template::parse_text(value.get_ref()) {
        Ok((template, mut refs)) => {
            refs.retain(|r| r != "choice" && !r.starts_with("choice."));
            deps.extend(scope.references(report, value.span(), "view", &refs));
            Some(template)
        }
        Err(e) => {
            report.at(
                value.span(),
                format!("step {name:?}: `view` has a template error: {e}"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::StepKind;
    use super::super::testing::{parse, problems, with_echo};
    use baton_core::OnTimeout;

    fn gate(fields: &str) -> String {
        with_echo(&format!(
            "\n[[steps]]\nid = \"review\"\napprove = \"first\"\n{fields}"
        ))
    }

    #[test]
    fn a_gate_keeps_what_the_operator_sees_and_what_happens_without_them() {
        let workflow = parse(&gate(
            "title = \"Send?\"\ntimeout = \"48h\"\non_timeout = \"approve_default\"\nedit_schema = \"#/$defs/email\"\napprovers = [\"maria\"]\n",
        ))
        .unwrap();
        let StepKind::Gate(gate) = &workflow.steps[1].kind else {
            panic!("not a gate")
        };
        assert_eq!(gate.approve.as_str(), "first");
        assert_eq!(
            gate.timeout,
            Some(std::time::Duration::from_secs(48 * 3600))
        );
        assert_eq!(gate.on_timeout, OnTimeout::ApproveDefault);
        assert_eq!(gate.edit_schema.as_deref(), Some("#/$defs/email"));
        assert_eq!(gate.approvers, vec!["maria".to_string()]);
        assert!(gate.editable);
        assert_eq!(workflow.gated_plugin(gate), Some("echo"));
    }

    #[test]
    fn each_mistake_in_a_gate_is_named() {
        for (fields, expected) in [
            ("", "gate \"review\" needs a `title`"),
            (
                "title = \"?\"\nseverity = \"urgent\"",
                "severity \"urgent\" is not one of critical, high, monitor, info",
            ),
            (
                "title = \"?\"\non_timeout = \"reject\"",
                "`on_timeout` needs a `timeout`",
            ),
            (
                "title = \"?\"\ntimeout = \"1h\"\non_timeout = \"ignore\"",
                "on_timeout \"ignore\" is not one of reject, approve_default",
            ),
            (
                "title = \"?\"\nedit_schema = \"$defs/email\"",
                "edit_schema must be a JSON pointer",
            ),
            (
                "title = \"?\"\napprovers = []",
                "`approvers` names the operators who may decide",
            ),
            (
                "title = \"?\"\ninput = \"{{ input }}\"",
                "a gate takes no `input`",
            ),
        ] {
            let found = problems(&gate(fields));
            assert!(found.contains(expected), "{fields}: {found}");
        }
        let itself = problems(&with_echo(
            "\n[[steps]]\nid = \"review\"\napprove = \"review\"\ntitle = \"?\"\n",
        ));
        assert!(itself.contains("approves itself"), "{itself}");
    }
}
