//! `assert-set`: a group of assertions scored as one, by the rules of a case.

use super::check::{Check, Outcome};
use super::value::Compiler;
use super::{combine, Assertion, ScoreError, ScoreInput};
use crate::template::TemplateSet;

/// A correct `assert-set`, for error hints.
pub(crate) const EXAMPLE: &str =
    "{type: assert-set, threshold: 0.5, assert: [{type: contains, value: Paris}, {type: is-json}]}";

/// Compiles `assert-set`, compiling its members into the same template set.
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let group = Group {
        example: EXAMPLE,
        listed: "the member assertions",
        needs: "a list of assertions",
        tag: "set",
    };
    let (members, threshold) = compile_members(c, &group, |_, _| None)?;
    Ok(Box::new(AssertSet { members, threshold }))
}

/// How a type that groups assertions under `assert` (`assert-set`, `final-answer`) names
/// them in its errors.
pub(crate) struct Group {
    /// A correct entry of the type.
    pub example: &'static str,
    /// What is listed under `assert` ("the member assertions").
    pub listed: &'static str,
    /// What `assert` must hold ("a list of assertions").
    pub needs: &'static str,
    /// The members' id suffix (`#set0`, `#final0`).
    pub tag: &'static str,
}

/// The members under `assert` and the group's `threshold`, compiled into the same
/// template set; `refuse` says why member `i` may not be in the group, if it may not.
/// Members' row variables become the group's: the planner checks them against the
/// dataset through it.
pub(crate) fn compile_members(
    c: &mut Compiler<'_>,
    group: &Group,
    refuse: impl Fn(usize, &crate::score::spec::AssertionSpec) -> Option<String>,
) -> Result<(Vec<Assertion>, Option<f64>), ScoreError> {
    if c.spec.value.is_some() {
        let message = format!("takes no `value`; list {} under `assert`", group.listed);
        return Err(c.invalid(message, group.example));
    }
    let threshold = c.unit_threshold(group.example)?;
    let members = match &c.spec.assert {
        None => return Err(c.invalid(format!("needs `assert`: {}", group.needs), group.example)),
        Some(members) if members.is_empty() => {
            return Err(c.invalid("`assert` must list at least one assertion", group.example))
        }
        Some(members) => members.clone(),
    };
    let mut compiled = Vec::with_capacity(members.len());
    for (i, member) in members.iter().enumerate() {
        if let Some(turn) = member.turn {
            // A member is scored on the reply its group is given: a `turn` of its own
            // would be read by nobody, and a typo must never produce a green run.
            let why = format!(
                "`assert[{i}]` has `turn: {turn}`, which a member does not take: the group scores one reply; put `turn: {turn}` on the `{}` itself",
                c.spec.kind
            );
            return Err(c.invalid(why, group.example));
        }
        if let Some(why) = refuse(i, member) {
            return Err(c.invalid(why, group.example));
        }
        let id = format!("{}#{}{i}", c.id, group.tag);
        let assertion = Assertion::compile(member, &id, c.origin, c.templates)?;
        c.variables.extend(assertion.variables.iter().cloned());
        c.template_names
            .extend(assertion.template_names.iter().cloned());
        compiled.push(assertion);
    }
    Ok((compiled, threshold))
}

/// `assert-set`.
struct AssertSet {
    members: Vec<Assertion>,
    threshold: Option<f64>,
}

impl Check for AssertSet {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let results: Vec<_> = self
            .members
            .iter()
            .map(|m| m.evaluate(input, templates))
            .collect();
        let (pass, score) = combine(&results, self.threshold);
        let passed = results.iter().filter(|r| r.pass).count();
        let mut reason = format!("{passed} of {} passed, score {score:.2}", results.len());
        if let Some(threshold) = self.threshold {
            let relation = if pass { "≥" } else { "<" };
            reason.push_str(&format!(" {relation} threshold {threshold:.2}"));
        }
        if let Some(failed) = results.iter().find(|r| !r.pass && r.weight > 0.0) {
            reason.push_str(&format!("; {}: {}", failed.kind, failed.reason));
        }
        let detail = serde_json::json!({ "assertions": results });
        Ok(Outcome::scored(pass, score, reason).with_detail(detail))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{score_case, ScoreInput};
    use crate::diagnostic::Diagnostic;
    use crate::run::events::AssertionResult;
    use serde_json::json;

    fn set(threshold: Option<f64>) -> serde_json::Value {
        let mut spec = json!({
            "type": "assert-set",
            "metric": "format",
            "assert": [
                {"type": "contains", "value": "a"},
                {"type": "contains", "value": "b", "weight": 3},
                {"type": "contains", "value": "z", "weight": 0, "metric": "has_z"}
            ]
        });
        if let Some(t) = threshold {
            spec["threshold"] = json!(t);
        }
        spec
    }

    #[test]
    fn without_threshold_every_weighted_member_must_pass() {
        let r = eval(set(None), "ab", json!({}));
        assert!(r.pass, "the weight-0 member does not count: {}", r.reason);
        assert_eq!(r.score, 1.0);
        assert_eq!(r.reason, "2 of 3 passed, score 1.00");
        assert_eq!(r.metric.as_deref(), Some("format"));
        let members: Vec<AssertionResult> =
            serde_json::from_value(r.detail.unwrap()["assertions"].clone()).unwrap();
        assert_eq!(members.len(), 3);
        assert_eq!(members[2].metric.as_deref(), Some("has_z"));
        let r = eval(set(None), "a", json!({}));
        assert!(!r.pass);
        assert_eq!(r.score, 0.25);
        assert_eq!(
            r.reason,
            r#"1 of 3 passed, score 0.25; contains: output does not contain "b""#
        );
    }

    #[test]
    fn threshold_uses_the_weighted_score() {
        let r = eval(set(Some(0.7)), "b", json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.score, 0.75);
        assert!(
            r.reason.contains("score 0.75 ≥ threshold 0.70"),
            "{}",
            r.reason
        );
        let r = eval(set(Some(0.8)), "b", json!({}));
        assert!(!r.pass);
        assert!(r.reason.contains("< threshold 0.80"), "{}", r.reason);
    }

    #[test]
    fn a_set_counts_as_one_assertion_in_the_case() {
        let mut templates = templates();
        let group = compile_in(set(None), "g", &mut templates).unwrap();
        let other = compile_in(
            json!({"type": "contains", "value": "q"}),
            "o",
            &mut templates,
        )
        .unwrap();
        let vars = minijinja::Value::from(());
        let input = ScoreInput {
            output: "a q",
            vars: &vars,
            latency_ms: 0.0,
            tool_calls: &[],
            tools: None,
            steps: &[],
        };
        let case = score_case([&group, &other], &input, &templates, None);
        assert_eq!(case.assertions.len(), 2);
        assert!(!case.pass);
        assert_eq!(case.score, (0.25 + 1.0) / 2.0);
    }

    #[test]
    fn members_variables_are_the_groups() {
        let mut templates = templates();
        let group = compile_in(
            json!({"type": "assert-set", "assert": [
                {"type": "equals"},
                {"type": "contains", "value": "{{ city | lower }}"},
                {"type": "assert-set", "assert": [{"type": "contains", "value": "{{ country }}"}]}
            ]}),
            "g",
            &mut templates,
        )
        .unwrap();
        assert_eq!(
            group.variables(&templates).into_iter().collect::<Vec<_>>(),
            ["city", "country", "expected"]
        );
    }

    #[test]
    fn bad_shapes_are_compile_errors() {
        let err = compile_err(json!({"type": "assert-set"}));
        assert!(err.to_string().contains("needs `assert`"), "{err}");
        assert!(err.hint().unwrap().contains("type: assert-set"));
        let err = compile_err(json!({"type": "assert-set", "assert": []}));
        assert!(err.to_string().contains("at least one"), "{err}");
        let err =
            compile_err(json!({"type": "assert-set", "value": 1, "assert": [{"type": "is-json"}]}));
        assert!(err.to_string().contains("takes no `value`"), "{err}");
        let err = compile_err(
            json!({"type": "assert-set", "threshold": 3, "assert": [{"type": "is-json"}]}),
        );
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
        let err = compile_err(json!({"type": "assert-set", "assert": [{"type": "contians"}]}));
        assert!(
            err.to_string()
                .contains("unknown assertion type `contians`"),
            "{err}"
        );
        let err = compile_err(json!({"type": "not-assert-set", "assert": [{"type": "is-json"}]}));
        assert!(err.hint().unwrap().contains("negate the members"), "{err}");
    }

    #[test]
    fn a_member_with_a_turn_of_its_own_is_refused() {
        // Issue 16: a member's `turn` was read by nobody, so a typo scored the wrong reply.
        let err = compile_err(json!({"type": "assert-set", "assert": [
            {"type": "contains", "value": "a"},
            {"type": "contains", "value": "b", "turn": 2}
        ]}));
        assert_eq!(
            err.to_string(),
            "evals/e.yaml:7: `assert-set` assertion: `assert[1]` has `turn: 2`, which a member does not take: the group scores one reply; put `turn: 2` on the `assert-set` itself"
        );
        let nested = compile_err(json!({"type": "assert-set", "assert": [
            {"type": "assert-set", "assert": [{"type": "is-json", "turn": 1}]}
        ]}));
        assert!(
            nested.to_string().contains("`assert[0]` has `turn: 1`"),
            "{nested}"
        );
    }
}
