//! `tool-call-f1`: the F1 of the called names, as a multiset, against the expected names
//! (default `{{ expected_tools }}`), passing at `threshold` (default 1).

use std::collections::BTreeMap;

use super::super::check::{Check, Outcome};
use super::super::value::Compiler;
use super::super::{ScoreError, ScoreInput};
use super::common::{call_names, names};
use super::names::Names;
use crate::template::TemplateSet;

/// A correct `tool-call-f1` assertion, for error hints.
pub(crate) const EXAMPLE: &str =
    "{type: tool-call-f1, value: [get_weather, get_time], threshold: 0.8}";

/// Compiles `tool-call-f1` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let threshold = c.unit_threshold(EXAMPLE)?.unwrap_or(1.0);
    let expected = Names::compile(c, EXAMPLE)?;
    Ok(Box::new(ToolCallF1 {
        expected,
        threshold,
    }))
}

/// `tool-call-f1`.
struct ToolCallF1 {
    expected: Names,
    threshold: f64,
}

/// Precision, recall and F1 of `actual` against `expected`, both as multisets; all 1 when
/// both are empty.
fn f1(actual: &[&str], expected: &[String]) -> (f64, f64, f64) {
    if actual.is_empty() && expected.is_empty() {
        return (1.0, 1.0, 1.0);
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in expected {
        *counts.entry(name.as_str()).or_default() += 1;
    }
    let mut hits = 0usize;
    for name in actual {
        if let Some(left) = counts.get_mut(name).filter(|n| **n > 0) {
            *left -= 1;
            hits += 1;
        }
    }
    let ratio = |n: usize| if n == 0 { 0.0 } else { hits as f64 / n as f64 };
    let (precision, recall) = (ratio(actual.len()), ratio(expected.len()));
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    (precision, recall, f1)
}

impl Check for ToolCallF1 {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let expected = self.expected.resolve(input, templates)?;
        let actual = call_names(input.tool_calls);
        let (precision, recall, score) = f1(&actual, &expected);
        let pass = score + 1e-9 >= self.threshold;
        let reason = format!(
            "F1 {score:.2} (precision {precision:.2}, recall {recall:.2}) {} threshold {:.2}: called {}, expected {}",
            if pass { "≥" } else { "<" },
            self.threshold,
            names(&actual),
            names(&expected)
        );
        Ok(
            Outcome::scored(pass, score, reason).with_detail(serde_json::json!({
                "precision": precision,
                "recall": recall,
                "f1": score,
            })),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use super::f1;
    use crate::tools::ToolCall;
    use serde_json::json;

    fn calls(names: &[&str]) -> Vec<ToolCall> {
        names
            .iter()
            .map(|n| ToolCall::from_raw("c", *n, "{}"))
            .collect()
    }

    #[test]
    fn f1_counts_names_as_a_multiset() {
        let e = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(f1(&[], &[]), (1.0, 1.0, 1.0));
        assert_eq!(f1(&["a"], &e(&["a"])), (1.0, 1.0, 1.0));
        assert_eq!(f1(&["a", "a"], &e(&["a"])).0, 0.5);
        let (p, r, f) = f1(&["a", "b"], &e(&["a", "c", "d"]));
        assert_eq!((p, r), (0.5, 1.0 / 3.0));
        assert!((f - 0.4).abs() < 1e-9);
        assert_eq!(f1(&[], &e(&["a"])), (0.0, 0.0, 0.0));
        assert_eq!(f1(&["a"], &[]), (0.0, 0.0, 0.0));
    }

    #[test]
    fn the_value_defaults_to_expected_tools_and_the_threshold_to_one() {
        let spec = json!({"type": "tool-call-f1"});
        let r = eval_calls(
            spec.clone(),
            &calls(&["a", "b"]),
            None,
            json!({"expected_tools": ["b", "a"]}),
        );
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.score, 1.0);
        let r = eval_calls(
            spec.clone(),
            &calls(&["a", "b"]),
            None,
            json!({"expected_tools": ["a"]}),
        );
        assert!(!r.pass);
        assert!((r.score - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            r.reason,
            "F1 0.67 (precision 0.50, recall 1.00) < threshold 1.00: called [a, b], expected [a]"
        );
        assert_eq!(r.detail.as_ref().unwrap()["precision"], 0.5);
        let r = eval_calls(spec, &calls(&["a"]), None, json!({}));
        assert!(!r.pass);
        assert!(
            r.reason.contains("undefined variable `expected_tools`"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_threshold_and_a_written_value() {
        let spec = json!({"type": "tool-call-f1", "value": ["a", "c"], "threshold": 0.5});
        let r = eval_calls(spec, &calls(&["a", "b"]), None, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.score, 0.5);
        let err = compile_err(json!({"type": "tool-call-f1", "threshold": 2}));
        assert!(
            err.to_string()
                .contains("`threshold` must be between 0 and 1"),
            "{err}"
        );
    }
}
