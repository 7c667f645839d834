//! `json-diff`: the similarity in `[0, 1]` of the output's JSON to the expected JSON.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::check::{Check, Outcome};
use super::json::parse_output;
use super::json_expect::{short, Expected};
use super::similarity::DEFAULT_THRESHOLD;
use super::value::Compiler;
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

pub(crate) const EXAMPLE: &str = "{type: json-diff, value: \"{{ expected }}\", threshold: 0.9}";

/// Differences named in a reason, at most.
const SHOWN_DIFFERENCES: usize = 3;

/// Compiles `json-diff` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let threshold = c.unit_threshold(EXAMPLE)?.unwrap_or(DEFAULT_THRESHOLD);
    let expected = match c.spec.value.clone() {
        None => Expected::Var(c.default_variable(EXAMPLE)?),
        Some(value) => Expected::compile(c, &value)?,
    };
    Ok(Box::new(JsonDiff {
        expected,
        threshold,
    }))
}

/// `json-diff`.
struct JsonDiff {
    expected: Expected,
    threshold: f64,
}

impl Check for JsonDiff {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let expected = self.expected.resolve(input, templates)?;
        // Text is JSON to parse (a CSV column, a rendered template); text that is not JSON
        // is compared as a JSON string.
        let expected = match expected.as_ref() {
            Json::String(text) => match serde_json::from_str::<Json>(text.trim()) {
                Ok(parsed) => Cow::Owned(parsed),
                Err(_) => expected,
            },
            _ => expected,
        };
        let actual = match parse_output(input.output) {
            Ok(value) => value,
            Err(reason) => return Ok(Outcome::fail(reason)),
        };
        let mut differences = Vec::new();
        let similarity = similarity(&actual, &expected, "", &mut differences);
        let threshold = self.threshold;
        let shown = describe_differences(&differences);
        let detail = serde_json::json!({"similarity": similarity, "differences": differences});
        Ok(if similarity >= threshold {
            Outcome::scored(
                true,
                similarity,
                format!("JSON similarity {similarity:.2} (threshold {threshold:.2}){shown}"),
            )
        } else {
            Outcome::scored(
                false,
                similarity,
                format!("JSON similarity {similarity:.2} is below {threshold:.2}{shown}"),
            )
        }
        .with_detail(detail))
    }
}

/// `: /a: 1 vs 2; /b missing` — the first differences, for a reason.
fn describe_differences(differences: &[String]) -> String {
    if differences.is_empty() {
        return String::new();
    }
    let mut text = format!(
        ": {}",
        differences[..differences.len().min(SHOWN_DIFFERENCES)].join("; ")
    );
    if differences.len() > SHOWN_DIFFERENCES {
        text.push_str(&format!(
            " and {} more",
            differences.len() - SHOWN_DIFFERENCES
        ));
    }
    text
}

/// The similarity of `actual` to `expected` at JSON pointer `at`, noting each difference.
///
/// The similarity is recursive: an object scores the mean over the union of its keys (a
/// missing or extra key scores 0), an array the sum over positions divided by the longer
/// length, a string `1 - levenshtein / longer length` in characters, a number
/// `1 - |a - b| / max(|a|, |b|)`, booleans and null 1 when equal; values of different
/// types score 0.
pub(crate) fn similarity(
    actual: &Json,
    expected: &Json,
    at: &str,
    differences: &mut Vec<String>,
) -> f64 {
    let place = if at.is_empty() { "/" } else { at };
    let score = match (actual, expected) {
        (Json::Object(a), Json::Object(e)) => {
            let mut total = 0.0;
            let mut keys = 0usize;
            for (key, e_value) in e {
                keys += 1;
                let here = format!("{at}/{}", escape(key));
                match a.get(key) {
                    Some(a_value) => total += similarity(a_value, e_value, &here, differences),
                    None => differences.push(format!("{here} missing")),
                }
            }
            for key in a.keys().filter(|k| !e.contains_key(*k)) {
                keys += 1;
                differences.push(format!("{at}/{} unexpected", escape(key)));
            }
            return if keys == 0 { 1.0 } else { total / keys as f64 };
        }
        (Json::Array(a), Json::Array(e)) => {
            let longest = a.len().max(e.len());
            if longest == 0 {
                return 1.0;
            }
            let mut total = 0.0;
            for (i, (a_item, e_item)) in a.iter().zip(e).enumerate() {
                total += similarity(a_item, e_item, &format!("{at}/{i}"), differences);
            }
            if a.len() != e.len() {
                differences.push(format!("{place}: {} items, expected {}", a.len(), e.len()));
            }
            return total / longest as f64;
        }
        (Json::String(a), Json::String(e)) => strsim::normalized_levenshtein(a, e),
        (Json::Number(a), Json::Number(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) if a == e => 1.0,
            (Some(a), Some(e)) => {
                let scale = a.abs().max(e.abs());
                (1.0 - (a - e).abs() / scale).clamp(0.0, 1.0)
            }
            _ => 0.0,
        },
        (a, e) if a == e => 1.0,
        _ => 0.0,
    };
    if score < 1.0 {
        differences.push(format!("{place}: {} vs {}", short(actual), short(expected)));
    }
    score
}

/// A key as a JSON pointer token (RFC 6901).
fn escape(key: &str) -> Cow<'_, str> {
    if key.contains(['~', '/']) {
        Cow::Owned(key.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(key)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::similarity;
    use serde_json::json;

    fn sim(a: serde_json::Value, e: serde_json::Value) -> (f64, Vec<String>) {
        let mut d = Vec::new();
        let s = similarity(&a, &e, "", &mut d);
        (s, d)
    }

    #[test]
    fn identical_documents_score_one() {
        let doc = json!({"a": [1, "x", {"b": null}], "c": true});
        assert_eq!(sim(doc.clone(), doc), (1.0, vec![]));
        assert_eq!(sim(json!({}), json!({})).0, 1.0);
        assert_eq!(sim(json!([]), json!([])).0, 1.0);
        assert_eq!(sim(json!(1), json!(1.0)).0, 1.0);
    }

    #[test]
    fn leaves_score_by_kind() {
        assert_eq!(sim(json!("kitten"), json!("sitting")).0, 1.0 - 3.0 / 7.0);
        assert!((sim(json!(90), json!(100)).0 - 0.9).abs() < 1e-12);
        assert_eq!(sim(json!(-5), json!(5)).0, 0.0);
        assert_eq!(sim(json!(0), json!(0.5)).0, 0.0);
        assert_eq!(sim(json!(true), json!(false)).0, 0.0);
        assert_eq!(sim(json!("1"), json!(1)).0, 0.0);
        assert_eq!(sim(json!(null), json!(null)).0, 1.0);
    }

    #[test]
    fn missing_and_extra_keys_count() {
        let (s, d) = sim(json!({"a": 1, "x": 2}), json!({"a": 1, "b": 2}));
        assert!((s - 1.0 / 3.0).abs() < 1e-12, "{s}");
        assert_eq!(d, ["/b missing", "/x unexpected"]);
    }

    #[test]
    fn arrays_compare_by_position_over_the_longer_length() {
        let (s, d) = sim(json!([1, 2]), json!([1, 2, 3, 4]));
        assert_eq!(s, 0.5);
        assert_eq!(d, ["/: 2 items, expected 4"]);
        let (s, d) = sim(json!({"l": [{"k/e": "ab"}]}), json!({"l": [{"k/e": "ac"}]}));
        assert_eq!(s, 0.5);
        assert_eq!(d, [r#"/l/0/k~1e: "ab" vs "ac""#]);
    }

    #[test]
    fn assertion_scores_and_thresholds() {
        let spec =
            json!({"type": "json-diff", "value": {"city": "Paris", "n": 10}, "threshold": 0.9});
        let r = eval(spec.clone(), r#"{"city": "Paris", "n": 10}"#, json!({}));
        assert!(r.pass);
        assert_eq!(r.score, 1.0);
        assert_eq!(r.reason, "JSON similarity 1.00 (threshold 0.90)");
        let r = eval(spec.clone(), r#"{"city": "Paris", "n": 9}"#, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert!((r.score - 0.95).abs() < 1e-12, "{}", r.score);
        assert_eq!(
            r.reason,
            "JSON similarity 0.95 (threshold 0.90): /n: 9 vs 10"
        );
        let r = eval(spec, r#"{"city": "Lyon"}"#, json!({}));
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            r#"JSON similarity 0.00 is below 0.90: /city: "Lyon" vs "Paris"; /n missing"#
        );
        assert_eq!(
            r.detail.unwrap()["differences"].as_array().unwrap().len(),
            2
        );
    }

    #[test]
    fn expected_defaults_to_the_row_and_text_is_parsed() {
        let r = eval(
            json!({"type": "json-diff"}),
            "```json\n{\"a\": [1, 2]}\n```",
            json!({"expected": {"a": [1, 2]}}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "json-diff", "threshold": 1}),
            r#"{"a": [1, 2]}"#,
            json!({"expected": "{\"a\": [1, 2]}"}),
        );
        assert!(r.pass, "a CSV column holding JSON text: {}", r.reason);
        let r = eval(json!({"type": "json-diff"}), "{", json!({"expected": {}}));
        assert!(r.reason.starts_with("output is not JSON"), "{}", r.reason);
        let err = compile_err(json!({"type": "json-diff", "threshold": 2}));
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
    }

    #[test]
    fn many_differences_are_summarised() {
        let r = eval(
            json!({"type": "json-diff", "value": {"a": 1, "b": 2, "c": 3, "d": 4}}),
            "{}",
            json!({}),
        );
        assert!(r.reason.ends_with("/c missing and 1 more"), "{}", r.reason);
    }
}
