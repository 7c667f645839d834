//! `tool-sequence`: the calls' names in order — `mode: exact` (default), `in-order` (these
//! names in this order, others may come between) or `any-order` (each of these, counting
//! repeats, in any order, others may come too).

use super::super::check::{Check, Outcome};
use super::super::value::{show, Compiler};
use super::super::{ScoreError, ScoreInput};
use super::common::{call_names, names};
use super::names::Names;
use crate::template::TemplateSet;

/// A correct `tool-sequence` assertion, for error hints.
pub(crate) const EXAMPLE: &str =
    "{type: tool-sequence, value: [find_order, issue_refund], mode: in-order}";

/// How the names are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Exact,
    InOrder,
    AnyOrder,
}

/// Compiles `tool-sequence` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let mode = match c.spec.mode.as_deref() {
        None | Some("exact") => Mode::Exact,
        Some("in-order") => Mode::InOrder,
        Some("any-order") => Mode::AnyOrder,
        Some(other) => {
            return Err(c.invalid(
                format!(
                    "`mode` must be `exact`, `in-order` or `any-order`, found {}",
                    show(other)
                ),
                EXAMPLE,
            ))
        }
    };
    let expected = Names::compile(c, EXAMPLE)?;
    Ok(Box::new(ToolSequence { expected, mode }))
}

/// `tool-sequence`.
struct ToolSequence {
    expected: Names,
    mode: Mode,
}

impl Check for ToolSequence {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let expected = self.expected.resolve(input, templates)?;
        let actual = call_names(input.tool_calls);
        let calls = format!("calls {}", names(&actual));
        Ok(match self.mode {
            Mode::Exact => {
                let equal = actual.len() == expected.len()
                    && actual.iter().zip(&expected).all(|(a, e)| a == e);
                if equal {
                    Outcome::pass(format!("{calls}, exactly as expected"))
                } else {
                    Outcome::fail(format!("{calls}, expected exactly {}", names(&expected)))
                        .when_negated(format!("{calls}, not {}", names(&expected)))
                }
            }
            Mode::InOrder => {
                let found = in_order(&actual, &expected);
                let score = fraction(found, expected.len());
                let reason = match expected.get(found) {
                    None => format!("{calls}: {} in order", names(&expected)),
                    Some(next) => format!(
                        "{calls}: expected {} in order, {next} (number {}) is missing after the first {found}",
                        names(&expected),
                        found + 1
                    ),
                };
                Outcome::scored(found == expected.len(), score, reason)
            }
            Mode::AnyOrder => {
                let missing = missing(&actual, &expected);
                let score = fraction(expected.len() - missing.len(), expected.len());
                let reason = if missing.is_empty() {
                    format!("{calls}: each of {}", names(&expected))
                } else {
                    format!(
                        "{calls}: expected each of {}, missing {}",
                        names(&expected),
                        names(&missing)
                    )
                };
                Outcome::scored(missing.is_empty(), score, reason)
            }
        })
    }
}

/// How many of `expected`, from the first, appear in `actual` in order.
fn in_order(actual: &[&str], expected: &[String]) -> usize {
    let mut found = 0;
    for name in actual {
        if expected.get(found).is_some_and(|e| e == name) {
            found += 1;
        }
    }
    found
}

/// The names of `expected` (counting repeats) that `actual` does not have.
fn missing(actual: &[&str], expected: &[String]) -> Vec<String> {
    let mut left: Vec<&str> = actual.to_vec();
    let mut missing = Vec::new();
    for name in expected {
        match left.iter().position(|a| a == name) {
            Some(at) => {
                left.swap_remove(at);
            }
            None => missing.push(name.clone()),
        }
    }
    missing
}

/// `part / whole`, 1 when there is nothing to find.
fn fraction(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use crate::tools::ToolCall;
    use serde_json::json;

    fn calls(names: &[&str]) -> Vec<ToolCall> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| ToolCall::from_raw(i.to_string(), *n, "{}"))
            .collect()
    }

    fn seq(value: serde_json::Value, mode: Option<&str>) -> serde_json::Value {
        let mut spec = json!({"type": "tool-sequence", "value": value});
        if let Some(mode) = mode {
            spec["mode"] = json!(mode);
        }
        spec
    }

    #[test]
    fn exact_is_the_default_and_wants_the_same_list() {
        let r = eval_calls(
            seq(json!(["a", "b"]), None),
            &calls(&["a", "b"]),
            None,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "calls [a, b], exactly as expected");
        let r = eval_calls(
            seq(json!(["a", "b"]), Some("exact")),
            &calls(&["b", "a"]),
            None,
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(r.reason, "calls [b, a], expected exactly [a, b]");
        let r = eval_calls(seq(json!([]), None), &[], None, json!({}));
        assert!(r.pass, "no calls, none expected: {}", r.reason);
    }

    #[test]
    fn in_order_allows_calls_between_and_scores_the_part_found() {
        let spec = seq(json!(["find", "refund"]), Some("in-order"));
        let r = eval_calls(
            spec.clone(),
            &calls(&["find", "log", "refund"]),
            None,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval_calls(spec, &calls(&["refund", "find"]), None, json!({}));
        assert!(!r.pass);
        assert_eq!(r.score, 0.5);
        assert_eq!(
            r.reason,
            "calls [refund, find]: expected [find, refund] in order, refund (number 2) is missing after the first 1"
        );
    }

    #[test]
    fn any_order_counts_repeats() {
        let spec = seq(json!(["a", "a", "b"]), Some("any-order"));
        let r = eval_calls(spec.clone(), &calls(&["b", "a", "c", "a"]), None, json!({}));
        assert!(r.pass, "{}", r.reason);
        let r = eval_calls(spec, &calls(&["b", "a"]), None, json!({}));
        assert!(!r.pass);
        assert!((r.score - 2.0 / 3.0).abs() < 1e-9);
        assert!(r.reason.ends_with("missing [a]"), "{}", r.reason);
    }

    #[test]
    fn names_may_come_from_the_row() {
        let spec = seq(json!("{{ expected_tools }}"), None);
        let r = eval_calls(
            spec.clone(),
            &calls(&["a", "b"]),
            None,
            json!({"expected_tools": ["a", "b"]}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval_calls(
            spec,
            &calls(&["a", "b"]),
            None,
            json!({"expected_tools": "a, b"}),
        );
        assert!(r.pass, "comma-separated text: {}", r.reason);
        let r = eval_calls(
            seq(json!(["{{ first }}", "b"]), None),
            &calls(&["a", "b"]),
            None,
            json!({"first": "a"}),
        );
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn bad_modes_list_the_choices() {
        let err = compile_err(seq(json!(["a"]), Some("sorted")));
        assert!(
            err.to_string()
                .contains("`mode` must be `exact`, `in-order` or `any-order`, found \"sorted\""),
            "{err}"
        );
        let err = compile_err(json!({"type": "tool-sequence"}));
        assert!(err.to_string().contains("needs a `value`"), "{err}");
        let err = compile_err(seq(json!([1]), None));
        assert!(
            err.to_string()
                .contains("`value[0]` must be a function name"),
            "{err}"
        );
    }
}
