//! Scoring: assertion specs from eval files and dataset rows, compiled once, evaluated on
//! each output.
//!
//! Every type lives in one family file: `text.rs` (`equals`, `contains`, `regex`,
//! lengths, `word-count`), `json.rs` (`is-json`, `json-schema`), `similarity.rs`
//! (`levenshtein`) and `latency.rs`. Each implements one internal `Check` trait.
//! Scorers that call out implement `AsyncCheck` or `GroupCheck` (`remote.rs`) and are
//! scored by [`score_case_async`]: `judge.rs` (`llm-rubric`, `factuality`, `closed-qa`,
//! `g-eval`, `select-best`), `embed.rs` (`similar`) and `external.rs` (`external`).
//!
//! Value shapes: a string for `equals`, `contains`, `icontains`, `starts-with`,
//! `ends-with`, `regex` and `levenshtein` (numbers and booleans are taken as their text);
//! a list of strings for the `-any`/`-all` types; a whole number of characters for
//! `max-length`/`min-length`; for `word-count` a whole number (the maximum) or
//! `{min, max}` (either may be left out); a schema mapping for `json-schema`; nothing for
//! `is-json`. `levenshtein` takes `threshold` in `[0, 1]` (default 0.8; the score is the
//! similarity); `latency` requires `threshold` in milliseconds.
//!
//! Conventions shared by all types:
//! - every type but `latency` has a `not-` form that inverts the result (score becomes
//!   `1 - score`); a value that cannot be rendered fails either way;
//! - string values are templates over the row when they hold template syntax; a value of
//!   exactly `{{ name }}` reads the row variable directly. Values without template syntax
//!   are prepared once at compile time (regexes and schemas compiled, needles lowercased);
//! - the single-string types (`equals`, `contains`, `icontains`, `starts-with`,
//!   `ends-with`, `levenshtein`) default their `value` to `{{ expected }}`; the caller
//!   checks through [`Assertion::variables`] that the dataset has that column;
//! - whitespace around the output is ignored by `equals`, `starts-with`, `ends-with`,
//!   `levenshtein`, the length types and `word-count`, because models often emit a
//!   leading space or a trailing newline; `contains` and `regex` see the output as is;
//! - `threshold` is only accepted by the types that read one (`levenshtein`, `latency`).

mod check;
mod embed;
mod error;
mod external;
mod json;
mod judge;
mod latency;
mod remote;
mod similarity;
mod text;
mod value;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Location;
use crate::events::AssertionResult;
use crate::template::TemplateSet;

use check::Outcome;
pub use error::ScoreError;
pub use judge::{judge_prompt_name, judge_variables, JUDGE_KINDS};
pub use remote::{
    score_case_async, Candidate, GraderUsage, ProviderRole, ScoreContext, ScoredCase, ScoringSetup,
};
use remote::{Scorer, Verdict};
use value::Compiler;

/// Every assertion type without its `not-` prefix.
pub const BASE_KINDS: &[&str] = &[
    "equals",
    "contains",
    "icontains",
    "contains-any",
    "contains-all",
    "icontains-any",
    "icontains-all",
    "starts-with",
    "ends-with",
    "regex",
    "max-length",
    "min-length",
    "word-count",
    "is-json",
    "json-schema",
    "levenshtein",
    "latency",
    "llm-rubric",
    "factuality",
    "closed-qa",
    "g-eval",
    "select-best",
    "similar",
    "external",
];

/// The one base type without a `not-` form: "slower than" is not a useful check.
const NOT_NEGATABLE: &str = "latency";

/// Every accepted assertion type: each of [`BASE_KINDS`], then the `not-` forms.
pub fn kinds() -> impl Iterator<Item = String> {
    let negated = BASE_KINDS
        .iter()
        .filter(|k| **k != NOT_NEGATABLE)
        .map(|k| format!("not-{k}"));
    BASE_KINDS.iter().map(|k| k.to_string()).chain(negated)
}

/// An assertion as written in an eval file or a dataset row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AssertionSpec {
    /// The type (`contains`, `not-regex`, `levenshtein`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The expected value; strings are templates over the row. When absent, the
    /// single-string types (`equals`, `contains`, `icontains`, `starts-with`, `ends-with`,
    /// `levenshtein`) read the row's `expected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// A threshold (similarity, latency in ms), where the type takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Weight in the case score (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Name the score is reported under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Model-graded types: the provider that judges, overriding the eval's `grader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader: Option<String>,
    /// `similar`: the provider that computes embeddings, overriding the eval's `embedder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<String>,
    /// `external`: the scorer's command line (program and arguments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// `external`: a script run by the interpreter its extension names (`.py` → `python3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// `external`: how long one reply may take, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// What an assertion looks at.
pub struct ScoreInput<'a> {
    /// The model's output.
    pub output: &'a str,
    /// The row's template context.
    pub vars: &'a minijinja::Value,
    /// The request's latency in milliseconds.
    pub latency_ms: f64,
}

/// A compiled assertion.
///
/// ```
/// use prompteval::diagnostic::Location;
/// use prompteval::score::{Assertion, AssertionSpec, ScoreInput};
/// use prompteval::template::TemplateSet;
///
/// let mut templates = TemplateSet::new(&Default::default()).unwrap();
/// let spec = AssertionSpec {
///     kind: "not-contains".into(),
///     value: Some("sorry".into()),
///     ..Default::default()
/// };
/// let origin = Location::line("evals/e.yaml", 3);
/// let assertion = Assertion::compile(&spec, "e#0", &origin, &mut templates).unwrap();
/// let vars = minijinja::Value::from(());
/// let input = ScoreInput { output: "I am sorry", vars: &vars, latency_ms: 0.0 };
/// let result = assertion.evaluate(&input, &templates);
/// assert!(!result.pass);
/// assert_eq!(result.reason, r#"output contains "sorry" (not-contains)"#);
/// ```
pub struct Assertion {
    spec: AssertionSpec,
    negated: bool,
    weight: f64,
    scorer: Scorer,
    variables: BTreeSet<String>,
    template_names: Vec<String>,
}

impl std::fmt::Debug for Assertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertion")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl Assertion {
    /// Compiles a spec: checks the type, the value's shape, regexes and schemas, and
    /// compiles value templates into `templates` under names starting with `id`.
    ///
    /// Values without template syntax never reach `templates`.
    pub fn compile(
        spec: &AssertionSpec,
        id: &str,
        origin: &Location,
        templates: &mut TemplateSet,
    ) -> Result<Assertion, ScoreError> {
        let (negated, written_base) = match spec.kind.strip_prefix("not-") {
            Some(base) => (true, base),
            None => (false, spec.kind.as_str()),
        };
        let Some(base) = BASE_KINDS.iter().copied().find(|k| *k == written_base) else {
            return Err(ScoreError::UnknownKind {
                origin: origin.clone(),
                kind: spec.kind.clone(),
                suggestion: suggest(&spec.kind),
            });
        };
        if negated && base == NOT_NEGATABLE {
            return Err(ScoreError::NotNegatable {
                origin: origin.clone(),
                kind: spec.kind.clone(),
            });
        }
        let mut compiler = Compiler::new(spec, id, origin, templates);
        let weight = match spec.weight {
            None => 1.0,
            Some(w) if w.is_finite() && w >= 0.0 => w,
            Some(w) => {
                return Err(compiler.invalid(
                    format!("`weight` must be a number ≥ 0, found {w}"),
                    "{type: contains, value: Paris, weight: 2}",
                ))
            }
        };
        if let Some(scorer) = remote::compile(base, &mut compiler)? {
            return Ok(Assertion {
                spec: spec.clone(),
                negated,
                weight,
                scorer,
                variables: compiler.variables,
                template_names: compiler.template_names,
            });
        }
        let check = match base {
            "is-json" | "json-schema" => json::compile(base, &mut compiler)?,
            "levenshtein" => similarity::compile(&mut compiler)?,
            "latency" => latency::compile(&mut compiler)?,
            _ => text::compile(base, &mut compiler)?,
        };
        Ok(Assertion {
            spec: spec.clone(),
            negated,
            weight,
            scorer: Scorer::Sync(check),
            variables: compiler.variables,
            template_names: compiler.template_names,
        })
    }

    /// The spec this was compiled from.
    pub fn spec(&self) -> &AssertionSpec {
        &self.spec
    }

    /// The weight in the case score (default 1).
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// The top-level row variables the value templates read.
    pub fn variables(&self, templates: &TemplateSet) -> BTreeSet<String> {
        let mut vars = self.variables.clone();
        for name in &self.template_names {
            vars.extend(templates.inline_variables(name));
        }
        vars
    }

    /// Evaluates the assertion on one output.
    ///
    /// Types that call out (judges, `similar`, `external`) are scored by
    /// [`score_case_async`]; here they fail as scorer errors.
    pub fn evaluate(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> AssertionResult {
        match &self.scorer {
            Scorer::Sync(check) => self.result(check.check(input, templates)),
            Scorer::Async(_) | Scorer::Group(_) => self.result_of(Verdict::scorer_error(format!(
                "`{}` is only scored in a run",
                self.spec.kind
            ))),
        }
    }

    /// The result of a check, with `not-` applied and the score clamped to `[0, 1]`.
    fn result(&self, checked: Result<Outcome, String>) -> AssertionResult {
        let (pass, score, reason, detail) = match checked {
            Err(reason) => (false, 0.0, reason, None),
            Ok(outcome) if !self.negated => {
                (outcome.pass, outcome.score, outcome.reason, outcome.detail)
            }
            Ok(outcome) if outcome.pass => (
                false,
                1.0 - outcome.score,
                format!("{} ({})", outcome.reason, self.spec.kind),
                outcome.detail,
            ),
            Ok(outcome) => (
                true,
                1.0 - outcome.score,
                outcome.negated_reason.unwrap_or(outcome.reason),
                outcome.detail,
            ),
        };
        let score = if score.is_nan() {
            0.0
        } else {
            score.clamp(0.0, 1.0)
        };
        AssertionResult {
            kind: self.spec.kind.clone(),
            pass,
            score,
            reason,
            metric: self.spec.metric.clone(),
            weight: self.weight,
            detail,
            scorer_error: false,
        }
    }
}

/// The known type closest to a misspelt one, if any is close.
fn suggest(kind: &str) -> Option<String> {
    kinds()
        .map(|k| (strsim::levenshtein(kind, &k), k))
        .filter(|(distance, k)| *distance <= 3.max(k.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

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

/// Scores one output: passes when every assertion passes, or with `threshold`, when the
/// weighted score reaches it. No assertions: pass with score 1.
///
/// The score is the mean of the assertion scores weighted by their weights; when every
/// weight is 0 it is the plain mean.
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

/// The case score of assertion results: as [`score_case`] describes.
pub fn aggregate(results: Vec<AssertionResult>, threshold: Option<f64>) -> CaseScore {
    if results.is_empty() {
        return CaseScore {
            pass: true,
            score: 1.0,
            assertions: results,
        };
    }
    let total_weight: f64 = results.iter().map(|r| r.weight).sum();
    let score = if total_weight > 0.0 {
        results.iter().map(|r| r.score * r.weight).sum::<f64>() / total_weight
    } else {
        results.iter().map(|r| r.score).sum::<f64>() / results.len() as f64
    };
    let pass = match threshold {
        Some(threshold) => score >= threshold,
        None => results.iter().all(|r| r.pass),
    };
    CaseScore {
        pass,
        score,
        assertions: results,
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn assertions_can_be_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Assertion>();
    }

    #[test]
    fn every_base_kind_has_a_not_form_except_latency() {
        let kinds: Vec<String> = kinds().collect();
        for base in BASE_KINDS {
            assert!(kinds.iter().any(|k| k == base), "{base}");
            let negated = format!("not-{base}");
            assert_eq!(kinds.contains(&negated), *base != "latency", "{base}");
        }
        assert_eq!(kinds.len(), BASE_KINDS.len() * 2 - 1);
    }

    #[test]
    fn unknown_kind_lists_choices_and_suggests() {
        let err = compile_err(json!({"type": "contians", "value": "x"}));
        let text = err.to_string();
        assert!(
            text.starts_with(
                "evals/e.yaml:7: unknown assertion type `contians`. Choose from: equals, contains,"
            ),
            "{text}"
        );
        assert!(text.contains("latency"), "{text}");
        assert_eq!(err.hint().as_deref(), Some("did you mean `contains`?"));
        let err = compile_err(json!({"type": "zzzzzzzzzzzz"}));
        assert_eq!(err.hint(), None);
    }

    #[test]
    fn not_latency_is_refused() {
        let err = compile_err(json!({"type": "not-latency", "threshold": 10}));
        assert!(matches!(err, ScoreError::NotNegatable { .. }), "{err}");
    }

    #[test]
    fn negative_weight_is_refused() {
        let err = compile_err(json!({"type": "contains", "value": "a", "weight": -1}));
        assert!(
            err.to_string().contains("`weight` must be a number ≥ 0"),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("weight: 2"));
    }

    #[test]
    fn weight_and_metric_are_carried() {
        let r = eval(
            json!({"type": "contains", "value": "a", "weight": 2.5, "metric": "m"}),
            "abc",
            json!({}),
        );
        assert_eq!(r.weight, 2.5);
        assert_eq!(r.metric.as_deref(), Some("m"));
        assert_eq!(r.kind, "contains");
    }

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
    fn zero_weights_fall_back_to_plain_mean() {
        let specs = [
            json!({"type": "contains", "value": "a", "weight": 0}),
            json!({"type": "contains", "value": "z", "weight": 0}),
        ];
        let s = case(&specs, "abc", Some(0.5));
        assert_eq!(s.score, 0.5);
        assert!(s.pass);
    }

    #[test]
    fn negation_inverts_pass_and_score_and_names_the_type() {
        let r = eval(
            json!({"type": "not-contains", "value": "sorry"}),
            "I am sorry",
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(r.score, 0.0);
        assert_eq!(r.reason, r#"output contains "sorry" (not-contains)"#);
        let r = eval(
            json!({"type": "not-contains", "value": "sorry"}),
            "fine",
            json!({}),
        );
        assert!(r.pass);
        assert_eq!(r.score, 1.0);
        assert_eq!(r.reason, r#"output does not contain "sorry""#);
    }

    #[test]
    fn missing_expected_fails_without_panicking_even_when_negated() {
        for kind in ["equals", "not-equals"] {
            let r = eval(json!({"type": kind}), "x", json!({"input": "q"}));
            assert!(!r.pass, "{kind}");
            assert_eq!(r.score, 0.0);
            assert_eq!(
                r.reason,
                "could not render value: undefined variable `expected`"
            );
        }
    }

    #[test]
    fn default_value_reads_expected_and_reports_the_variable() {
        let mut templates = templates();
        let a = compile_in(json!({"type": "equals"}), "a", &mut templates).unwrap();
        assert_eq!(
            a.variables(&templates).into_iter().collect::<Vec<_>>(),
            ["expected"]
        );
        let r = eval(
            json!({"type": "equals"}),
            " positive\n",
            json!({"expected": "positive"}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(json!({"type": "equals"}), "7", json!({"expected": 7}));
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn literal_values_have_no_variables() {
        let mut templates = templates();
        let a = compile_in(
            json!({"type": "contains", "value": "x"}),
            "a",
            &mut templates,
        )
        .unwrap();
        assert!(a.variables(&templates).is_empty());
    }

    #[test]
    fn templated_values_render_per_row() {
        let r = eval(
            json!({"type": "contains", "value": "{{ city | upper }}"}),
            "PARIS is nice",
            json!({"city": "Paris"}),
        );
        assert!(r.pass, "{}", r.reason);
        let mut templates = templates();
        let a = compile_in(
            json!({"type": "contains", "value": "{{ city | upper }} {{ country }}"}),
            "a",
            &mut templates,
        )
        .unwrap();
        assert_eq!(
            a.variables(&templates).into_iter().collect::<Vec<_>>(),
            ["city", "country"]
        );
    }

    #[test]
    fn template_that_fails_to_render_fails_the_assertion() {
        let r = eval(
            json!({"type": "contains", "value": "{{ missing.attr }}"}),
            "x",
            json!({}),
        );
        assert!(!r.pass);
        assert!(
            r.reason.starts_with("could not render value: "),
            "{}",
            r.reason
        );
    }

    #[test]
    fn bad_value_template_is_a_compile_error_with_origin() {
        let err = compile_err(json!({"type": "contains", "value": "{{ oops"}));
        assert!(matches!(err, ScoreError::Template { .. }), "{err}");
        assert!(err.to_string().starts_with("evals/e.yaml:7:"), "{err}");
    }
}
