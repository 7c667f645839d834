//! Which calls a tool-call assertion reads: every call of an agent's trajectory, or the
//! calls of the one step named by `step: N` (counted from 1).

use std::borrow::Cow;

use super::super::value::Compiler;
use super::super::{ScoreError, ScoreInput};
use crate::agent::step::all_calls;
use crate::tools::ToolCall;

/// A correct `step`, for error hints.
pub(crate) const EXAMPLE: &str = "{type: tool-called, value: get_weather, step: 1}";

/// The `step` of a spec, refused when it is 0 (steps count from 1).
pub(crate) fn compile_step(c: &Compiler<'_>) -> Result<Option<u32>, ScoreError> {
    match c.spec.step {
        Some(0) => Err(c.invalid(
            "`step` counts model calls from 1 (the first answer is `step: 1`), found 0",
            EXAMPLE,
        )),
        step => Ok(step),
    }
}

/// The calls an assertion reads: without `step`, every call of every step in order (the
/// answer's calls when there are no steps); with `step: N`, that step's calls. `Err` is the
/// whole reason when the trajectory has no step `N`.
pub(crate) fn select<'a>(
    input: &ScoreInput<'a>,
    step: Option<u32>,
) -> Result<Cow<'a, [ToolCall]>, String> {
    let steps = input.steps;
    match step {
        None if steps.is_empty() => Ok(Cow::Borrowed(input.tool_calls)),
        None => Ok(Cow::Owned(
            all_calls(steps, input.tool_calls)
                .into_iter()
                .cloned()
                .collect(),
        )),
        Some(1) if steps.is_empty() => Ok(Cow::Borrowed(input.tool_calls)),
        Some(n) if steps.is_empty() => Err(format!(
            "`step: {n}`, but this answer was a single model call (no agent loop)"
        )),
        Some(n) => match steps.get(n as usize - 1) {
            Some(found) => Ok(Cow::Borrowed(&found.tool_calls)),
            None => Err(format!(
                "`step: {n}`, but the trajectory has {} step{}",
                steps.len(),
                if steps.len() == 1 { "" } else { "s" }
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use crate::agent::Step;
    use crate::tools::ToolCall;
    use serde_json::json;

    fn step(calls: &[(&str, &str)]) -> Step {
        Step {
            tool_calls: calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| ToolCall::from_raw(i.to_string(), *name, *args))
                .collect(),
            ..Step::default()
        }
    }

    fn trajectory() -> Vec<Step> {
        vec![
            step(&[("find_order", r#"{"id": 7}"#)]),
            step(&[("issue_refund", r#"{"id": 7}"#), ("log", "{}")]),
            step(&[]),
        ]
    }

    #[test]
    fn without_step_every_call_of_the_trajectory_counts() {
        let steps = trajectory();
        let spec = json!({"type": "tool-sequence", "value": ["find_order", "issue_refund", "log"]});
        let r = eval_steps(spec, &steps, json!({}));
        assert!(r.pass, "{}", r.reason);
        let r = eval_steps(
            json!({"type": "tool-called", "value": "find_order"}),
            &steps,
            json!({}),
        );
        assert!(r.pass, "the first step's call counts: {}", r.reason);
        let r = eval_steps(json!({"type": "no-tool-call"}), &steps, json!({}));
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            "called find_order(id=7), issue_refund(id=7), log()"
        );
    }

    #[test]
    fn step_reads_one_step_counted_from_one_and_says_so() {
        let steps = trajectory();
        let spec = json!({"type": "tool-sequence", "value": ["issue_refund", "log"], "step": 2});
        let r = eval_steps(spec, &steps, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(
            r.reason,
            "step 2: calls [issue_refund, log], exactly as expected"
        );
        let r = eval_steps(
            json!({"type": "tool-called", "value": "find_order", "step": 2}),
            &steps,
            json!({}),
        );
        assert!(!r.pass);
        assert!(
            r.reason.starts_with("step 2: no call to find_order"),
            "{}",
            r.reason
        );
        let r = eval_steps(
            json!({"type": "no-tool-call", "step": 3}),
            &steps,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn a_step_past_the_end_fails_with_the_count_even_when_negated() {
        let steps = trajectory();
        for kind in ["tool-called", "not-tool-called"] {
            let r = eval_steps(
                json!({"type": kind, "value": "f", "step": 4}),
                &steps,
                json!({}),
            );
            assert!(!r.pass, "{kind}");
            assert_eq!(r.reason, "`step: 4`, but the trajectory has 3 steps");
        }
        let calls = [ToolCall::from_raw("1", "f", "{}")];
        let r = eval_calls(
            json!({"type": "tool-called", "value": "f", "step": 1}),
            &calls,
            None,
            json!({}),
        );
        assert!(r.pass, "step 1 of a single call is the call: {}", r.reason);
        let r = eval_calls(
            json!({"type": "tool-called", "value": "f", "step": 2}),
            &calls,
            None,
            json!({}),
        );
        assert!(!r.pass);
        assert!(r.reason.contains("single model call"), "{}", r.reason);
    }

    #[test]
    fn step_zero_and_step_on_text_types_are_compile_errors() {
        let err = compile_err(json!({"type": "tool-called", "value": "f", "step": 0}));
        assert!(
            err.to_string().contains("counts model calls from 1"),
            "{err}"
        );
        let err = compile_err(json!({"type": "contains", "value": "f", "step": 1}));
        assert!(err.to_string().contains("takes no `step`"), "{err}");
    }
}
