//! `final-answer`: text assertions (under `assert`) scored on the reply that ended the
//! trajectory; fails when there is none (the last model call still called tools).

use super::super::check::{Check, Outcome};
use super::super::set::{compile_members, Group};
use super::super::value::Compiler;
use super::super::{combine, registry, Assertion, ScoreError, ScoreInput};
use crate::template::TemplateSet;

/// A correct `final-answer`, for error hints.
pub(crate) const EXAMPLE: &str =
    "{type: final-answer, assert: [{type: contains, value: \"18\"}, {type: max-length, value: 200}]}";

/// Compiles `final-answer`, compiling its members into the same template set.
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let group = Group {
        example: EXAMPLE,
        listed: "the text assertions on the final answer",
        needs: "a list of text assertions",
        tag: "final",
    };
    let (members, threshold) = compile_members(c, &group, |i, member| {
        let base = member.kind.strip_prefix("not-").unwrap_or(&member.kind);
        (registry::uses_tool_calls(base) || matches!(base, "final-answer" | "max-steps")).then(
            || {
                format!(
                    "`assert[{i}]` is `{}`, which does not read the answer's text; write it beside `final-answer`, not inside",
                    member.kind
                )
            },
        )
    })?;
    Ok(Box::new(FinalAnswer { members, threshold }))
}

/// `final-answer`.
struct FinalAnswer {
    members: Vec<Assertion>,
    threshold: Option<f64>,
}

impl Check for FinalAnswer {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let last_calls = input
            .steps
            .last()
            .map_or(input.tool_calls, |s| &s.tool_calls);
        if !last_calls.is_empty() {
            let steps = input.steps.len().max(1);
            return Ok(Outcome::fail(format!(
                "no final answer: the last model call (step {steps}) still called {}",
                last_calls[0].name
            )));
        }
        let results: Vec<_> = self
            .members
            .iter()
            .map(|m| m.evaluate(input, templates))
            .collect();
        let (pass, score) = combine(&results, self.threshold);
        let passed = results.iter().filter(|r| r.pass).count();
        let mut reason = format!("final answer: {passed} of {} passed", results.len());
        if let Some(threshold) = self.threshold {
            let relation = if pass { "≥" } else { "<" };
            reason.push_str(&format!(
                ", score {score:.2} {relation} threshold {threshold:.2}"
            ));
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
    use super::super::super::testing::*;
    use crate::agent::Step;
    use crate::diagnostic::Diagnostic;
    use crate::tools::ToolCall;
    use serde_json::json;

    fn trajectory(last_calls: bool) -> Vec<Step> {
        let call = |n: &str| vec![ToolCall::from_raw("1", n, r#"{"city": "Rome"}"#)];
        vec![
            Step {
                output: String::new(),
                tool_calls: call("get_weather"),
                ..Step::default()
            },
            Step {
                output: "It's 18°C in Rome.".into(),
                tool_calls: if last_calls {
                    call("get_weather")
                } else {
                    vec![]
                },
                ..Step::default()
            },
        ]
    }

    fn spec() -> serde_json::Value {
        json!({"type": "final-answer", "assert": [
            {"type": "contains", "value": "18"},
            {"type": "icontains", "value": "{{ city }}"}
        ]})
    }

    #[test]
    fn members_score_the_last_reply() {
        let r = eval_steps(spec(), &trajectory(false), json!({"city": "rome"}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "final answer: 2 of 2 passed");
        let r = eval_steps(spec(), &trajectory(false), json!({"city": "Paris"}));
        assert!(!r.pass);
        assert_eq!(r.score, 0.5);
        assert_eq!(
            r.reason,
            r#"final answer: 1 of 2 passed; icontains: output does not contain "Paris" (ignoring case)"#
        );
    }

    #[test]
    fn a_trajectory_still_calling_tools_has_no_final_answer() {
        let r = eval_steps(spec(), &trajectory(true), json!({"city": "Rome"}));
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            "no final answer: the last model call (step 2) still called get_weather"
        );
    }

    #[test]
    fn bad_shapes_are_compile_errors() {
        let err = compile_err(json!({"type": "final-answer"}));
        assert!(err.to_string().contains("needs `assert`"), "{err}");
        let err = compile_err(json!({"type": "final-answer", "assert": []}));
        assert!(err.to_string().contains("at least one"), "{err}");
        let err = compile_err(
            json!({"type": "final-answer", "value": "x", "assert": [{"type": "is-json"}]}),
        );
        assert!(err.to_string().contains("takes no `value`"), "{err}");
        let err = compile_err(
            json!({"type": "final-answer", "assert": [{"type": "tool-called", "value": "f"}]}),
        );
        assert!(
            err.to_string().contains("`assert[0]` is `tool-called`"),
            "{err}"
        );
        let err = compile_err(json!({"type": "not-final-answer", "assert": [{"type": "is-json"}]}));
        assert!(err.hint().unwrap().contains("negate the members"), "{err}");
    }

    #[test]
    fn a_member_with_a_turn_of_its_own_is_refused() {
        let err = compile_err(json!({"type": "final-answer", "assert": [
            {"type": "contains", "value": "18", "turn": 2}
        ]}));
        assert!(
            err.to_string().contains(
                "`assert[0]` has `turn: 2`, which a member does not take: the group scores one reply; put `turn: 2` on the `final-answer` itself"
            ),
            "{err}"
        );
    }
}
