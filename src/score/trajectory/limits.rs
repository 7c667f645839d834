//! `max-steps` (at most N model calls) and `max-tool-calls` (at most N calls, in all or per
//! tool) over an agent's trajectory; a single-call answer is one model call.

use std::collections::BTreeMap;

use super::super::check::{Check, Outcome};
use super::super::value::{count, describe, Compiler};
use super::super::{ScoreError, ScoreInput};
use crate::agent::step::all_calls;
use crate::template::TemplateSet;

/// A correct `max-steps` assertion, for error hints.
pub(crate) const EX_STEPS: &str = "{type: max-steps, value: 4}";

/// A correct `max-tool-calls` assertion, for error hints.
pub(crate) const EX_CALLS: &str = "{type: max-tool-calls, value: {get_weather: 1, search: 2}}";

/// Compiles `max-steps`: `value` is the most model calls allowed (at least 1).
pub(crate) fn compile_steps(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    if c.spec.value.is_none() {
        return Err(c.invalid("needs a `value`: the most model calls allowed", EX_STEPS));
    }
    let limit = c.count_value(EX_STEPS)?;
    if limit == 0 {
        return Err(c.invalid(
            "`value` must be at least 1: every answer takes one model call",
            EX_STEPS,
        ));
    }
    Ok(Box::new(MaxSteps { limit }))
}

/// `max-steps`.
struct MaxSteps {
    limit: usize,
}

impl Check for MaxSteps {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        let steps = input.steps.len().max(1);
        let calls = plural(steps, "model call");
        Ok(if steps <= self.limit {
            Outcome::pass(format!("{calls}, at most {} allowed", self.limit))
        } else {
            Outcome::fail(format!("{calls}, more than the {} allowed", self.limit))
        })
    }
}

/// Compiles `max-tool-calls`: `value` is a count of all calls, or a mapping of function
/// names to the count each may be called.
pub(crate) fn compile_calls(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let limits = match &c.spec.value {
        None => {
            return Err(c.invalid(
                "needs a `value`: the most tool calls allowed, or a mapping of function names to counts",
                EX_CALLS,
            ))
        }
        Some(serde_json::Value::Object(map)) if map.is_empty() => {
            return Err(c.invalid("`value` must name at least one function", EX_CALLS))
        }
        Some(serde_json::Value::Object(map)) => {
            let mut limits = BTreeMap::new();
            for (name, limit) in map {
                let limit = count(limit).ok_or_else(|| {
                    c.invalid(
                        format!(
                            "`value.{name}` must be a non-negative whole number, found {}",
                            describe(limit)
                        ),
                        EX_CALLS,
                    )
                })?;
                limits.insert(name.clone(), limit);
            }
            Limits::PerTool(limits)
        }
        Some(_) => Limits::Total(c.count_value(EX_CALLS)?),
    };
    Ok(Box::new(MaxToolCalls { limits }))
}

/// What `max-tool-calls` bounds.
enum Limits {
    /// Every call of the trajectory.
    Total(usize),
    /// The calls of each named function.
    PerTool(BTreeMap<String, usize>),
}

/// `max-tool-calls`.
struct MaxToolCalls {
    limits: Limits,
}

impl Check for MaxToolCalls {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        let calls = all_calls(input.steps, input.tool_calls);
        Ok(match &self.limits {
            Limits::Total(limit) => {
                let made = plural(calls.len(), "tool call");
                Outcome::binary(
                    calls.len() <= *limit,
                    if calls.len() <= *limit {
                        format!("{made}, at most {limit} allowed")
                    } else {
                        format!("{made}, more than the {limit} allowed")
                    },
                )
            }
            Limits::PerTool(limits) => {
                let counted: Vec<(&str, usize, usize)> = limits
                    .iter()
                    .map(|(name, limit)| {
                        let made = calls.iter().filter(|c| &c.name == name).count();
                        (name.as_str(), made, *limit)
                    })
                    .collect();
                let over: Vec<String> = counted
                    .iter()
                    .filter(|(_, made, limit)| made > limit)
                    .map(|(name, made, limit)| format!("{name} called {made}× (at most {limit})"))
                    .collect();
                let within = counted.len() - over.len();
                let score = within as f64 / counted.len() as f64;
                let reason = if over.is_empty() {
                    let each: Vec<String> = counted
                        .iter()
                        .map(|(name, made, limit)| format!("{name} {made}/{limit}"))
                        .collect();
                    format!("within the limits: {}", each.join(", "))
                } else {
                    over.join(", ")
                };
                Outcome::scored(over.is_empty(), score, reason)
            }
        })
    }
}

/// `3 model calls`, `1 tool call`.
pub(crate) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use crate::agent::Step;
    use crate::diagnostic::Diagnostic;
    use crate::tools::ToolCall;
    use serde_json::json;

    fn steps(calls: &[&[&str]]) -> Vec<Step> {
        calls
            .iter()
            .map(|names| Step {
                tool_calls: names
                    .iter()
                    .map(|n| ToolCall::from_raw("id", *n, "{}"))
                    .collect(),
                ..Step::default()
            })
            .collect()
    }

    #[test]
    fn max_steps_counts_model_calls_and_a_single_answer_is_one() {
        let three = steps(&[&["a"], &["b"], &[]]);
        let r = eval_steps(json!({"type": "max-steps", "value": 3}), &three, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "3 model calls, at most 3 allowed");
        let r = eval_steps(json!({"type": "max-steps", "value": 2}), &three, json!({}));
        assert!(!r.pass);
        assert_eq!(r.reason, "3 model calls, more than the 2 allowed");
        let r = eval(json!({"type": "max-steps", "value": 1}), "hi", json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "1 model call, at most 1 allowed");
    }

    #[test]
    fn max_tool_calls_counts_every_step_in_all_or_per_tool() {
        let t = steps(&[&["search", "search"], &["get_weather"], &[]]);
        let r = eval_steps(json!({"type": "max-tool-calls", "value": 3}), &t, json!({}));
        assert!(r.pass, "{}", r.reason);
        let r = eval_steps(json!({"type": "max-tool-calls", "value": 2}), &t, json!({}));
        assert!(!r.pass);
        assert_eq!(r.reason, "3 tool calls, more than the 2 allowed");
        let spec = json!({"type": "max-tool-calls", "value": {"search": 1, "get_weather": 1}});
        let r = eval_steps(spec.clone(), &t, json!({}));
        assert!(!r.pass);
        assert_eq!(r.score, 0.5);
        assert_eq!(r.reason, "search called 2× (at most 1)");
        let spec = json!({"type": "max-tool-calls", "value": {"search": 2, "book": 0}});
        let r = eval_steps(spec, &t, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "within the limits: book 0/0, search 2/2");
        let calls = [ToolCall::from_raw("1", "a", "{}")];
        let r = eval_calls(
            json!({"type": "max-tool-calls", "value": 0}),
            &calls,
            None,
            json!({}),
        );
        assert!(!r.pass, "a single answer's calls count: {}", r.reason);
    }

    #[test]
    fn bad_limits_are_compile_errors() {
        let err = compile_err(json!({"type": "max-steps"}));
        assert!(err.to_string().contains("needs a `value`"), "{err}");
        let err = compile_err(json!({"type": "max-steps", "value": 0}));
        assert!(err.to_string().contains("at least 1"), "{err}");
        let err = compile_err(json!({"type": "max-steps", "value": "many"}));
        assert!(
            err.to_string().contains("non-negative whole number"),
            "{err}"
        );
        let err = compile_err(json!({"type": "max-tool-calls"}));
        assert!(
            err.to_string().contains("mapping of function names"),
            "{err}"
        );
        let err = compile_err(json!({"type": "max-tool-calls", "value": {"a": -1}}));
        assert!(err.to_string().contains("`value.a` must be"), "{err}");
        let err = compile_err(json!({"type": "max-tool-calls", "value": {}}));
        assert!(err.to_string().contains("at least one function"), "{err}");
        let err = compile_err(json!({"type": "not-max-steps", "value": 2}));
        assert!(err.hint().is_some(), "{err}");
        let err = compile_err(json!({"type": "max-steps", "value": 2, "threshold": 1}));
        assert!(err.to_string().contains("takes no `threshold`"), "{err}");
    }
}
