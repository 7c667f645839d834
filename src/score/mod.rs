//! Scoring: assertion specs from eval files and dataset rows, compiled once, evaluated on
//! each output.
//!
//! Every type lives in one family file: `text.rs` (`equals`, `contains`, `regex`,
//! lengths, `word-count`), `json.rs` (`is-json`, `json-schema`), `similarity.rs`
//! (`levenshtein`, `levenshtein-distance`), `latency.rs`, and the text metrics that match
//! their reference implementations: `rouge.rs` (`rouge-1`, `rouge-2`, `rouge-l`, as
//! Google's `rouge-score`), `bleu.rs` (`bleu`, as sacrebleu), `chrf.rs` (`chrf`, as
//! sacrebleu) and `squad.rs` (`f1`, `exact-match`, as the SQuAD script). Each implements
//! one internal `Check` trait.
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
//! similarity); `levenshtein-distance` takes `threshold` as a whole number of edits
//! (default 5); `latency` requires `threshold` in milliseconds.
//!
//! The text metrics take a string, or a list of strings for several references (`bleu`,
//! `chrf`) or acceptable answers (`f1`, `exact-match`); `rouge-*` take one string. Their
//! `threshold` is in `[0, 1]` (default 0.5; `exact-match` takes none) and their score is
//! the metric in `[0, 1]` (BLEU and chrF divided by 100). Only `rouge-*` read `measure`
//! (`f`, `precision` or `recall`; default `f`) and `stem` (default false); any other type
//! given one of them is a compile error.
//!
//! Conventions shared by all types:
//! - every type but `latency` has a `not-` form that inverts the result (score becomes
//!   `1 - score`); a value that cannot be rendered fails either way;
//! - string values are templates over the row when they hold template syntax; a value of
//!   exactly `{{ name }}` reads the row variable directly. Values without template syntax
//!   are prepared once at compile time (regexes and schemas compiled, needles lowercased);
//! - the single-string types (`equals`, `contains`, `icontains`, `starts-with`,
//!   `ends-with`, `levenshtein`) and the text metrics default their `value` to
//!   `{{ expected }}`; the caller
//!   checks through [`Assertion::variables`] that the dataset has that column;
//! - whitespace around the output is ignored by `equals`, `starts-with`, `ends-with`,
//!   `levenshtein`, the length types and `word-count`, because models often emit a
//!   leading space or a trailing newline; `contains` and `regex` see the output as is;
//! - `threshold` is only accepted by the types that read one (`levenshtein`,
//!   `levenshtein-distance`, `latency` and the text metrics but `exact-match`).

pub mod bleu;
mod check;
pub mod chrf;
mod embed;
mod error;
mod external;
mod json;
mod json_diff;
mod json_expect;
mod json_path;
mod judge;
mod latency;
mod metric;
mod ngram;
pub mod porter;
mod remote;
pub mod rouge;
mod set;
mod similarity;
pub mod squad;
mod text;
mod tok13a;
mod transform;
mod value;
mod xml;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Location;
use crate::run::events::AssertionResult;
use crate::template::TemplateSet;

use check::Outcome;
pub use error::ScoreError;
pub use judge::{judge_prompt_name, judge_variables, JUDGE_KINDS};
pub use remote::{
    score_case_async, score_output_async, Candidate, GraderUsage, ProviderRole, ScoreContext,
    ScoredCase, ScoringSetup,
};
use remote::{Scorer, Verdict};
pub use transform::{compile_eval as compile_eval_transform, Transform};
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
    "contains-json",
    "json-path",
    "json-diff",
    "is-xml",
    "levenshtein",
    "levenshtein-distance",
    "rouge-1",
    "rouge-2",
    "rouge-l",
    "bleu",
    "chrf",
    "f1",
    "exact-match",
    "latency",
    "assert-set",
    "llm-rubric",
    "factuality",
    "closed-qa",
    "g-eval",
    "select-best",
    "similar",
    "external",
];

/// Where `measure` and `stem` belong, for the error that finds them elsewhere.
const EX_ROUGE_OPTIONS: &str = "{type: rouge-l, measure: recall, stem: true}";

/// The base types without a `not-` form: "slower than" is not a useful check, and a group
/// is negated through its members.
const NOT_NEGATABLE: &[&str] = &["latency", "assert-set"];

/// Every accepted assertion type: each of [`BASE_KINDS`], then the `not-` forms.
pub fn kinds() -> impl Iterator<Item = String> {
    let negated = BASE_KINDS
        .iter()
        .filter(|k| !NOT_NEGATABLE.contains(k))
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
    /// Which ROUGE figure is the score: `f` (default), `precision` or `recall`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    /// Whether ROUGE stems tokens with the Porter stemmer (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stem: Option<bool>,
    /// The JSONPath (RFC 9535) a `json-path` assertion reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A minijinja expression over `output` (and the row's variables) whose value is
    /// scored instead of the output (`output | trim | lower`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// The members of an `assert-set`.
    #[serde(default, rename = "assert", skip_serializing_if = "Option::is_none")]
    pub assert: Option<Vec<AssertionSpec>>,
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

impl<'a> ScoreInput<'a> {
    /// The same input with another output (what a `transform` left).
    pub fn with_output<'b>(&self, output: &'b str) -> ScoreInput<'b>
    where
        'a: 'b,
    {
        ScoreInput {
            output,
            vars: self.vars,
            latency_ms: self.latency_ms,
        }
    }
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
///     threshold: None,
///     weight: None,
///     metric: None,
///     measure: None,
///     stem: None,
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
    transform: Option<Transform>,
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
        if negated && NOT_NEGATABLE.contains(&base) {
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
        if !base.starts_with("rouge-") {
            metric::no_rouge_options(&compiler, EX_ROUGE_OPTIONS)?;
        }
        if spec.path.is_some() && base != "json-path" {
            return Err(compiler.invalid(
                "takes no `path` (only `json-path` reads one)",
                json_path::EXAMPLE,
            ));
        }
        if spec.assert.is_some() && base != "assert-set" {
            return Err(compiler.invalid(
                "takes no `assert` list (only `assert-set` groups assertions)",
                set::EXAMPLE,
            ));
        }
        let transform = match &spec.transform {
            Some(source) => Some(transform::compile_for(source, &mut compiler)?),
            None => None,
        };
        if let Some(scorer) = remote::compile(base, &mut compiler)? {
            return Ok(Assertion {
                spec: spec.clone(),
                negated,
                weight,
                transform,
                scorer,
                variables: compiler.variables,
                template_names: compiler.template_names,
            });
        }
        let check = match base {
            "is-json" | "json-schema" | "contains-json" => json::compile(base, &mut compiler)?,
            "json-path" => json_path::compile(&mut compiler)?,
            "json-diff" => json_diff::compile(&mut compiler)?,
            "is-xml" => xml::compile(&mut compiler)?,
            "assert-set" => set::compile(&mut compiler)?,
            "levenshtein" => similarity::compile(&mut compiler)?,
            "levenshtein-distance" => similarity::compile_distance(&mut compiler)?,
            "rouge-1" | "rouge-2" | "rouge-l" => rouge::compile(base, &mut compiler)?,
            "bleu" => bleu::compile(&mut compiler)?,
            "chrf" => chrf::compile(&mut compiler)?,
            "f1" | "exact-match" => squad::compile(base, &mut compiler)?,
            "latency" => latency::compile(&mut compiler)?,
            _ => text::compile(base, &mut compiler)?,
        };
        Ok(Assertion {
            spec: spec.clone(),
            negated,
            weight,
            transform,
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

    /// Evaluates the assertion on one output (after its `transform`, if it has one).
    ///
    /// Types that call out (judges, `similar`, `external`) are scored by
    /// [`score_case_async`]; here they fail as scorer errors.
    pub fn evaluate(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> AssertionResult {
        let Scorer::Sync(check) = &self.scorer else {
            return self.result_of(Verdict::scorer_error(format!(
                "`{}` is only scored in a run",
                self.spec.kind
            )));
        };
        let checked = match self.transformed(input, templates) {
            Ok(None) => check.check(input, templates),
            Ok(Some(output)) => check.check(&input.with_output(&output), templates),
            Err(reason) => Err(reason),
        };
        self.result(checked)
    }

    /// The output as this assertion's `transform` leaves it: `None` without a transform.
    pub(crate) fn transformed(
        &self,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
    ) -> Result<Option<String>, String> {
        match &self.transform {
            None => Ok(None),
            Some(transform) => transform
                .apply(input.output, input.vars, templates)
                .map(Some),
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
    fn every_base_kind_has_a_not_form_except_latency_and_assert_set() {
        let kinds: Vec<String> = kinds().collect();
        for base in BASE_KINDS {
            assert!(kinds.iter().any(|k| k == base), "{base}");
            let negated = format!("not-{base}");
            let negatable = !matches!(*base, "latency" | "assert-set");
            assert_eq!(kinds.contains(&negated), negatable, "{base}");
        }
        assert_eq!(kinds.len(), BASE_KINDS.len() * 2 - 2);
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

    #[test]
    fn path_and_assert_are_refused_where_not_read() {
        let err = compile_err(json!({"type": "contains", "value": "a", "path": "$.a"}));
        assert!(err.to_string().contains("takes no `path`"), "{err}");
        let err = compile_err(json!({"type": "equals", "assert": []}));
        assert!(err.to_string().contains("takes no `assert` list"), "{err}");
    }

    #[test]
    fn transform_applies_before_the_check() {
        let r = eval(
            json!({"type": "equals", "value": "paris", "transform": "output | trim | lower"}),
            "  PARIS\n",
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "equals", "value": "yes", "transform": "(output | fromjson).answer"}),
            r#"{"answer": "yes"}"#,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "not-contains", "value": "x", "transform": "output.nope()"}),
            "x",
            json!({}),
        );
        assert!(!r.pass, "a failing transform is not inverted");
        assert!(
            r.reason.starts_with("could not apply transform: "),
            "{}",
            r.reason
        );
    }

    #[test]
    fn transform_reads_row_variables_and_reports_them() {
        let mut templates = templates();
        let a = compile_in(
            json!({"type": "equals", "value": "ok", "transform": "output | replace(prefix, '')"}),
            "a",
            &mut templates,
        )
        .unwrap();
        assert_eq!(
            a.variables(&templates).into_iter().collect::<Vec<_>>(),
            ["prefix"]
        );
        let r = eval(
            json!({"type": "equals", "value": "ok", "transform": "output | replace(prefix, '')"}),
            "A: ok",
            json!({"prefix": "A: "}),
        );
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn bad_transform_is_a_compile_error_with_origin() {
        let err = compile_err(json!({"type": "equals", "value": "a", "transform": "output |"}));
        assert!(matches!(err, ScoreError::Transform { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("evals/e.yaml:7: `equals` assertion: invalid `transform`"),
            "{err}"
        );
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
