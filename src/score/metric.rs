//! What the text-metric assertions (`rouge-*`, `bleu`, `chrf`, `f1`) share: reading a
//! threshold in `[0, 1]`, one or several references as `value`, refusing the ROUGE-only
//! options elsewhere, and the pass/fail outcome of a score.

use super::check::Outcome;
use super::value::{show, Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

/// The threshold of the text metrics when the spec gives none.
pub(crate) const DEFAULT_THRESHOLD: f64 = 0.5;

/// The spec's `threshold`, which must be in `[0, 1]`; absent → [`DEFAULT_THRESHOLD`].
pub(crate) fn unit_threshold(c: &Compiler<'_>, example: &'static str) -> Result<f64, ScoreError> {
    match c.spec.threshold {
        None => Ok(DEFAULT_THRESHOLD),
        Some(t) if (0.0..=1.0).contains(&t) => Ok(t),
        Some(t) => Err(c.invalid(
            format!("`threshold` must be between 0 and 1, found {t}"),
            example,
        )),
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
