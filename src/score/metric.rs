//! What the reference metrics share: the references, the pass mark, the outcome.

use super::check::{Check, Outcome};
use super::value::{show, Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

/// The threshold of the text metrics when the spec gives none.
pub(crate) const DEFAULT_THRESHOLD: f64 = 0.5;

/// What a metric found on one output.
pub(crate) struct Measured {
    /// The score in `[0, 1]`.
    pub(crate) score: f64,
    /// The figure as the reason shows it (`BLEU 41.20`).
    pub(crate) figure: String,
    /// What the result keeps in its `detail`.
    pub(crate) detail: Option<serde_json::Value>,
}

/// Measures an output against its references; `Err` is the whole failure reason. A
/// closure, so that it can hold the metric's options.
pub(crate) type Measure = Box<dyn Fn(&str, &[String]) -> Result<Measured, String> + Send + Sync>;

/// A metric of the output against one or several references (`bleu`, `chrf`, `f1`),
/// passing at `threshold` in `[0, 1]`.
struct ReferenceMetric {
    threshold: f64,
    references: References,
    measure: Measure,
}

/// Compiles a metric that takes one or several references and a `threshold` in `[0, 1]`
/// (default [`DEFAULT_THRESHOLD`]).
pub(crate) fn compile(
    c: &mut Compiler<'_>,
    example: &'static str,
    measure: Measure,
) -> Result<Box<dyn Check>, ScoreError> {
    let threshold = c.unit_threshold(example)?.unwrap_or(DEFAULT_THRESHOLD);
    let references = References::compile(c, example)?;
    Ok(Box::new(ReferenceMetric {
        threshold,
        references,
        measure,
    }))
}

impl Check for ReferenceMetric {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let refs = self.references.resolve(input, templates)?;
        let measured = (self.measure)(input.output, &refs)?;
        let outcome = outcome(
            measured.score,
            self.threshold,
            measured.figure,
            show_refs(&refs),
        );
        Ok(match measured.detail {
            Some(detail) => outcome.with_detail(detail),
            None => outcome,
        })
    }
}

/// The references: `value` as one string or a list of strings; absent → `{{ expected }}`
/// (every text metric defaults its value).
pub(crate) struct References(Vec<Text>);

impl References {
    /// Reads `value`: a list → several references, anything else → one.
    pub(crate) fn compile(c: &mut Compiler<'_>, example: &'static str) -> Result<Self, ScoreError> {
        if matches!(c.spec.value, Some(serde_json::Value::Array(_))) {
            return Ok(References(c.text_list(example)?));
        }
        Ok(References(vec![c.text_value(example)?]))
    }

    /// The references for one row.
    pub(crate) fn resolve(
        &self,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
    ) -> Result<Vec<String>, String> {
        self.0
            .iter()
            .map(|t| t.resolve(input, templates).map(|s| s.into_owned()))
            .collect()
    }
}

/// `"a"` for one reference, `"a" (and 2 more references)` for several.
pub(crate) fn show_refs(refs: &[String]) -> String {
    match refs {
        [] => "no reference".to_string(),
        [one] => show(one),
        [first, rest @ ..] => format!(
            "{} (and {} more reference{})",
            show(first),
            rest.len(),
            if rest.len() == 1 { "" } else { "s" }
        ),
    }
}

/// Passes when `score ≥ threshold`; the reason reads `{what} {figure} against {refs}` with
/// the threshold.
pub(crate) fn outcome(score: f64, threshold: f64, what: String, against: String) -> Outcome {
    if score >= threshold {
        Outcome::scored(
            true,
            score,
            format!("{what} against {against} (threshold {threshold:.2})"),
        )
    } else {
        Outcome::scored(
            false,
            score,
            format!("{what} against {against} is below {threshold:.2}"),
        )
    }
}
