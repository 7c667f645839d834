//! Similarity assertions: `levenshtein`, the normalised edit similarity between the trimmed
//! output and the value (default `{{ expected }}`), passing at `threshold` (default 0.8).

use super::check::{Check, Outcome};
use super::value::{show, Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

const EX_LEVENSHTEIN: &str = "{type: levenshtein, value: \"{{ expected }}\", threshold: 0.8}";

/// The threshold when the spec gives none.
pub(crate) const DEFAULT_THRESHOLD: f64 = 0.8;

/// Compiles `levenshtein` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let threshold = match c.spec.threshold {
        None => DEFAULT_THRESHOLD,
        Some(t) if (0.0..=1.0).contains(&t) => t,
        Some(t) => {
            return Err(c.invalid(
                format!("`threshold` must be between 0 and 1, found {t}"),
                EX_LEVENSHTEIN,
            ))
        }
    };
    let value = c.text_value(true, EX_LEVENSHTEIN)?;
    Ok(Box::new(Levenshtein { value, threshold }))
}

/// `levenshtein`: score = 1 − edit distance / length of the longer string, in characters.
struct Levenshtein {
    value: Text,
    threshold: f64,
}

impl Check for Levenshtein {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let expected = self.value.resolve(input, templates)?;
        let expected = expected.trim();
        let similarity = strsim::normalized_levenshtein(input.output.trim(), expected);
        let threshold = self.threshold;
        Ok(if similarity >= threshold {
            Outcome::scored(
                true,
                similarity,
                format!(
                    "similarity {similarity:.2} to {} (threshold {threshold:.2})",
                    show(expected)
                ),
            )
        } else {
            Outcome::scored(
                false,
                similarity,
                format!(
                    "similarity {similarity:.2} to {} is below {threshold:.2}",
                    show(expected)
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use serde_json::json;

    #[test]
    fn identical_text_scores_one() {
        let r = eval(
            json!({"type": "levenshtein", "value": "kitten"}),
            " kitten\n",
            json!({}),
        );
        assert!(r.pass);
        assert_eq!(r.score, 1.0);
        assert_eq!(r.reason, r#"similarity 1.00 to "kitten" (threshold 0.80)"#);
    }

    #[test]
    fn score_is_the_similarity_and_default_threshold_is_0_8() {
        // kitten → sitting: 3 edits over 7 characters.
        let r = eval(
            json!({"type": "levenshtein", "value": "kitten"}),
            "sitting",
            json!({}),
        );
        assert!(!r.pass);
        assert!((r.score - (1.0 - 3.0 / 7.0)).abs() < 1e-9, "{}", r.score);
        assert_eq!(r.reason, r#"similarity 0.57 to "kitten" is below 0.80"#);
        let r = eval(
            json!({"type": "levenshtein", "value": "kitten", "threshold": 0.5}),
            "sitting",
            json!({}),
        );
        assert!(r.pass);
    }

    #[test]
    fn reads_expected_by_default() {
        let r = eval(
            json!({"type": "levenshtein"}),
            "Pariss",
            json!({"expected": "Paris"}),
        );
        assert!(r.pass, "{}", r.reason);
        assert!((r.score - 5.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn not_levenshtein_inverts_the_score() {
        let r = eval(
            json!({"type": "not-levenshtein", "value": "kitten"}),
            "sitting",
            json!({}),
        );
        assert!(r.pass);
        assert!((r.score - 3.0 / 7.0).abs() < 1e-9);
        let r = eval(
            json!({"type": "not-levenshtein", "value": "kitten"}),
            "kitten",
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(r.score, 0.0);
        assert!(r.reason.ends_with("(not-levenshtein)"), "{}", r.reason);
    }

    #[test]
    fn bad_threshold_and_value_are_compile_errors() {
        let err = compile_err(json!({"type": "levenshtein", "value": "a", "threshold": 1.5}));
        assert!(
            err.to_string()
                .contains("`threshold` must be between 0 and 1, found 1.5"),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("threshold: 0.8"));
        let err = compile_err(json!({"type": "levenshtein", "value": ["a"]}));
        assert!(
            err.to_string().contains("`value` must be a string"),
            "{err}"
        );
    }
}
