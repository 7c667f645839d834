//! Case scoring: the verdict and weighted score of all assertions on one output.

use super::transform::Transform;
use super::{Assertion, ScoreInput};
use crate::run::events::AssertionResult;
use crate::template::TemplateSet;

/// The outcome of all assertions on one output.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseScore {
    /// Whether the case passed.
    pub pass: bool,
    /// The weighted mean score.
    pub score: f64,
    /// Each assertion's outcome.
    pub assertions: Vec<AssertionResult>,
}

/// Scores one output: passes when every assertion of non-zero weight passes, or with
/// `threshold` (the row's own, else the eval's), when the weighted score reaches it. No
/// assertions: pass with score 1.
///
/// The score is the mean of the assertion scores weighted by their weights; when every
/// weight is 0 it is the plain mean. Assertions of weight 0 are metric-only: they are
/// reported but never decide pass or fail.
pub fn score_case<'a>(
    assertions: impl IntoIterator<Item = &'a Assertion>,
    input: &ScoreInput<'_>,
    templates: &TemplateSet,
    threshold: Option<f64>,
) -> CaseScore {
    let results: Vec<AssertionResult> = assertions
        .into_iter()
        .map(|a| a.evaluate(input, templates))
        .collect();
    aggregate(results, threshold)
}

/// The case score of assertion results, as [`score_case`] describes.
pub fn aggregate(results: Vec<AssertionResult>, threshold: Option<f64>) -> CaseScore {
    let (pass, score) = combine(&results, threshold);
    CaseScore {
        pass,
        score,
        assertions: results,
    }
}

/// [`score_case`] on the output as the eval's `transform` leaves it. A transform that fails
/// on this output fails the case, with one `transform` result that says why.
pub fn score_output<'a>(
    transform: Option<&Transform>,
    assertions: impl IntoIterator<Item = &'a Assertion>,
    input: &ScoreInput<'_>,
    templates: &TemplateSet,
    threshold: Option<f64>,
) -> CaseScore {
    let Some(transform) = transform else {
        return score_case(assertions, input, templates, threshold);
    };
    match transform.apply(input.output, input.vars, templates) {
        Ok(output) => score_case(
            assertions,
            &input.with_output(&output),
            templates,
            threshold,
        ),
        Err(reason) => transform_failed(reason),
    }
}

/// The case score when the eval's `transform` fails on an output: one failing
/// `transform` result saying why.
pub(crate) fn transform_failed(reason: String) -> CaseScore {
    CaseScore {
        pass: false,
        score: 0.0,
        assertions: vec![AssertionResult {
            kind: "transform".to_string(),
            pass: false,
            score: 0.0,
            reason,
            metric: None,
            weight: 1.0,
            detail: None,
            scorer_error: false,
        }],
    }
}

/// Slack for comparing a weighted mean with a threshold, so that `0.1 + 0.2` reaches `0.3`.
const THRESHOLD_EPSILON: f64 = 1e-12;

/// The verdict and weighted score of a list of results, by the rules of [`score_case`]
/// (shared with `assert-set`).
pub(crate) fn combine(results: &[AssertionResult], threshold: Option<f64>) -> (bool, f64) {
    if results.is_empty() {
        return (true, 1.0);
    }
    let total_weight: f64 = results.iter().map(|r| r.weight).sum();
    if total_weight <= 0.0 {
        let mean = results.iter().map(|r| r.score).sum::<f64>() / results.len() as f64;
        return (true, mean);
    }
    let score = results.iter().map(|r| r.score * r.weight).sum::<f64>() / total_weight;
    let pass = match threshold {
        Some(threshold) => score + THRESHOLD_EPSILON >= threshold,
        None => results.iter().filter(|r| r.weight > 0.0).all(|r| r.pass),
    };
    (pass, score)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::transform;
    use super::*;
    use crate::diagnostic::Location;
    use serde_json::json;

    fn case(specs: &[serde_json::Value], output: &str, threshold: Option<f64>) -> CaseScore {
        let mut templates = templates();
        let assertions: Vec<Assertion> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| compile_in(s.clone(), &format!("a{i}"), &mut templates).unwrap())
            .collect();
        let vars = minijinja::Value::from_serialize(json!({}));
        let input = ScoreInput {
            output,
            vars: &vars,
            latency_ms: 0.0,
            tool_calls: &[],
            tools: None,
            steps: &[],
        };
        score_case(&assertions, &input, &templates, threshold)
    }

    #[test]
    fn no_assertions_pass_with_score_one() {
        let s = case(&[], "anything", None);
        assert!(s.pass);
        assert_eq!(s.score, 1.0);
        assert!(s.assertions.is_empty());
    }

    #[test]
    fn all_must_pass_without_threshold() {
        let specs = [
            json!({"type": "contains", "value": "a"}),
            json!({"type": "contains", "value": "z", "weight": 3}),
        ];
        let s = case(&specs, "abc", None);
        assert!(!s.pass);
        assert_eq!(s.score, 0.25);
        let s = case(&specs, "abcz", None);
        assert!(s.pass);
        assert_eq!(s.score, 1.0);
    }

    #[test]
    fn threshold_uses_weighted_mean() {
        let specs = [
            json!({"type": "contains", "value": "a", "weight": 3}),
            json!({"type": "contains", "value": "z"}),
        ];
        let s = case(&specs, "abc", Some(0.75));
        assert_eq!(s.score, 0.75);
        assert!(s.pass);
        let s = case(&specs, "abc", Some(0.8));
        assert!(!s.pass);
    }

    #[test]
    fn zero_weights_fall_back_to_plain_mean_and_never_fail() {
        let specs = [
            json!({"type": "contains", "value": "a", "weight": 0}),
            json!({"type": "contains", "value": "z", "weight": 0}),
        ];
        let s = case(&specs, "abc", Some(0.9));
        assert_eq!(s.score, 0.5);
        assert!(s.pass);
        let s = case(&specs, "xyz", None);
        assert!(s.pass);
    }

    #[test]
    fn metric_only_assertions_do_not_decide_pass_or_fail() {
        let specs = [
            json!({"type": "contains", "value": "a"}),
            json!({"type": "contains", "value": "z", "weight": 0, "metric": "has_z"}),
        ];
        let s = case(&specs, "abc", None);
        assert!(s.pass, "a failing weight-0 assertion failed the case");
        assert_eq!(s.score, 1.0);
        assert!(!s.assertions[1].pass);
        assert_eq!(s.assertions[1].metric.as_deref(), Some("has_z"));
        let s = case(&specs, "xyz", None);
        assert!(!s.pass, "the weighted assertion still decides");
        assert_eq!(s.score, 0.0);
        let s = case(&specs, "abc", Some(1.0));
        assert!(s.pass);
    }

    #[test]
    fn threshold_comparison_tolerates_rounding() {
        let specs = [
            json!({"type": "contains", "value": "a", "weight": 0.1}),
            json!({"type": "contains", "value": "b", "weight": 0.2}),
            json!({"type": "contains", "value": "z", "weight": 0.7}),
        ];
        let s = case(&specs, "ab", Some(0.3));
        assert!(s.pass, "score {}", s.score);
    }

    #[test]
    fn eval_transform_applies_before_every_assertion_and_fails_the_case_when_it_fails() {
        let mut templates = templates();
        let origin = Location::line("evals/e.yaml", 2);
        let t = transform::compile_eval(
            "output | fromjson | attr('a')",
            "e",
            &origin,
            &mut templates,
        )
        .unwrap();
        let a = compile_in(json!({"type": "equals", "value": "x"}), "a", &mut templates).unwrap();
        let vars = minijinja::Value::from(());
        let score = |output: &str| {
            let input = ScoreInput {
                output,
                vars: &vars,
                latency_ms: 0.0,
                tool_calls: &[],
                tools: None,
                steps: &[],
            };
            score_output(Some(&t), [&a], &input, &templates, None)
        };
        assert!(score(r#"{"a": "x"}"#).pass);
        let s = score("oops");
        assert!(!s.pass);
        assert_eq!(s.assertions.len(), 1);
        assert_eq!(s.assertions[0].kind, "transform");
        assert!(
            s.assertions[0].reason.contains("not JSON"),
            "{}",
            s.assertions[0].reason
        );
    }
}
