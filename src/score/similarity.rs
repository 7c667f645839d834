//! Edit-distance assertions: `levenshtein` (a similarity) and `levenshtein-distance`.

use super::check::{Check, Outcome};
use super::value::{show, Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

pub(crate) const EX_LEVENSHTEIN: &str =
    "{type: levenshtein, value: \"{{ expected }}\", threshold: 0.8}";
pub(crate) const EX_DISTANCE: &str =
    "{type: levenshtein-distance, value: \"{{ expected }}\", threshold: 3}";

/// The most edits `levenshtein-distance` allows when the spec gives no threshold.
pub(crate) const DEFAULT_MAX_EDITS: usize = 5;

/// The threshold when the spec gives none.
pub(crate) const DEFAULT_THRESHOLD: f64 = 0.8;

/// Compiles `levenshtein` (`not-` already removed).
pub(crate) fn levenshtein(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let threshold = c
        .unit_threshold(EX_LEVENSHTEIN)?
        .unwrap_or(DEFAULT_THRESHOLD);
    let value = c.text_value(EX_LEVENSHTEIN)?;
    Ok(Box::new(Edits {
        value,
        rule: Rule::MinSimilarity(threshold),
    }))
}

/// Compiles `levenshtein-distance` (`not-` already removed).
pub(crate) fn distance(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let max_edits = match c.spec.threshold {
        None => DEFAULT_MAX_EDITS,
        Some(t) => super::value::count(&serde_json::json!(t)).ok_or_else(|| {
            c.invalid(
                format!("`threshold` must be a whole number of edits ≥ 0, found {t}"),
                EX_DISTANCE,
            )
        })?,
    };
    let value = c.text_value(EX_DISTANCE)?;
    Ok(Box::new(Edits {
        value,
        rule: Rule::MaxEdits(max_edits),
    }))
}

/// Edit distance in characters, and 1 − distance / length of the longer string.
///
/// rapidfuzz's bit-parallel Levenshtein (Hyyrö): the dynamic-programming version was a
/// tenth of the CPU time of the 20,000-cell benchmark.
fn compare(output: &str, expected: &str) -> (usize, f64) {
    let distance = rapidfuzz::distance::levenshtein::distance(output.chars(), expected.chars());
    let longest = output.chars().count().max(expected.chars().count());
    let similarity = if longest == 0 {
        1.0
    } else {
        1.0 - distance as f64 / longest as f64
    };
    (distance, similarity)
}

fn detail(distance: usize, similarity: f64) -> serde_json::Value {
    serde_json::json!({"distance": distance, "similarity": similarity})
}

/// What passes: a similarity of at least this (`levenshtein`), or at most this many edits
/// (`levenshtein-distance`).
enum Rule {
    MinSimilarity(f64),
    MaxEdits(usize),
}

/// The edit distance between the trimmed output and the trimmed value; the score is the
/// similarity (1 − distance / length of the longer string, in characters) under either rule.
struct Edits {
    value: Text,
    rule: Rule,
}

impl Check for Edits {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let expected = self.value.resolve(input, templates)?;
        let expected = expected.trim();
        let (distance, similarity) = compare(input.output.trim(), expected);
        let expected = show(expected);
        let (pass, reason) = match self.rule {
            Rule::MinSimilarity(threshold) => {
                let pass = similarity >= threshold;
                let reason = if pass {
                    format!("similarity {similarity:.2} to {expected} (threshold {threshold:.2})")
                } else {
                    format!("similarity {similarity:.2} to {expected} is below {threshold:.2}")
                };
                (pass, reason)
            }
            Rule::MaxEdits(max) => {
                let pass = distance <= max;
                let edits = if distance == 1 { "edit" } else { "edits" };
                let reason = if pass {
                    format!("{distance} {edits} from {expected} (at most {max})")
                } else {
                    format!("{distance} {edits} from {expected}, more than {max}")
                };
                (pass, reason)
            }
        };
        Ok(Outcome::scored(pass, similarity, reason).with_detail(detail(distance, similarity)))
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Diagnostic;
    #[test]
    fn distance_agrees_with_the_dynamic_programming_table() {
        let mut rng = fastrand::Rng::with_seed(4);
        let alphabet = ['a', 'b', 'c', 'é', '中', ' '];
        for round in 0..500 {
            // Past 64 characters in some rounds: the bit-parallel version works in blocks.
            let max = if round % 4 == 0 { 150 } else { 20 };
            let mut text = || -> String {
                let len = rng.usize(0..max);
                (0..len)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect()
            };
            let (a, b) = (text(), text());
            assert_eq!(
                super::compare(&a, &b).0,
                strsim::levenshtein(&a, &b),
                "{a:?} {b:?}"
            );
        }
    }

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
    fn distance_passes_at_most_threshold_edits_and_scores_the_similarity() {
        let r = eval(
            json!({"type": "levenshtein-distance", "value": "kitten", "threshold": 3}),
            "sitting",
            json!({}),
        );
        assert!(r.pass);
        assert_eq!(r.reason, r#"3 edits from "kitten" (at most 3)"#);
        assert!((r.score - (1.0 - 3.0 / 7.0)).abs() < 1e-9);
        assert_eq!(r.detail.as_ref().unwrap()["distance"], 3);
        let r = eval(
            json!({"type": "levenshtein-distance", "threshold": 0}),
            "Pariss",
            json!({"expected": "Paris"}),
        );
        assert!(!r.pass);
        assert_eq!(r.reason, r#"1 edit from "Paris", more than 0"#);
        // Default: at most 5 edits.
        let r = eval(
            json!({"type": "levenshtein-distance", "value": "abcdef"}),
            "",
            json!({}),
        );
        assert!(!r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "levenshtein-distance", "value": ""}),
            "",
            json!({}),
        );
        assert!(r.pass);
        assert_eq!(r.score, 1.0);
        let err =
            compile_err(json!({"type": "levenshtein-distance", "value": "a", "threshold": 0.5}));
        assert!(err.to_string().contains("whole number of edits"), "{err}");
    }

    #[test]
    fn levenshtein_keeps_the_distance_in_detail() {
        let r = eval(
            json!({"type": "levenshtein", "value": "kitten"}),
            "sitting",
            json!({}),
        );
        assert_eq!(r.detail.unwrap()["distance"], 3);
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
