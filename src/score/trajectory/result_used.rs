//! `tool-result-used`: the final answer repeats a value that a tool returned — did the
//! model use what it looked up?
//!
//! The values of one result: when it is JSON, its numbers and its strings of at most five
//! words; otherwise the numbers in it and its double-quoted strings, or, when it has
//! neither and is at most five words long, the whole result. Numbers match numbers of the
//! answer by value (`18` matches `18.0`, not `180`); strings match case-insensitively
//! anywhere in the answer. Error results and results without values are not counted.

use std::sync::LazyLock;

use regex::Regex;

use super::super::check::{Check, Outcome};
use super::super::value::{show, show_list, Compiler, Text};
use super::super::{ScoreError, ScoreInput};
use crate::agent::ToolResult;
use crate::template::TemplateSet;

/// A correct `tool-result-used` assertion, for error hints.
pub(crate) const EXAMPLE: &str = "{type: tool-result-used, value: get_weather}";

/// The longest string, in words, taken as one value.
const SHORT_WORDS: usize = 5;

static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-?\d+(?:\.\d+)?").expect("number regex"));
static QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""([^"\n]+)""#).expect("quoted"));

/// Compiles `tool-result-used`: `value`, when present, is the function whose results count.
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let tool = match &c.spec.value {
        None => None,
        Some(_) => Some(c.text_value(EXAMPLE)?),
    };
    Ok(Box::new(ResultUsed { tool }))
}

/// `tool-result-used`.
struct ResultUsed {
    tool: Option<Text>,
}

impl Check for ResultUsed {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let tool = match &self.tool {
            Some(text) => Some(text.resolve(input, templates)?.into_owned()),
            None => None,
        };
        let results: Vec<&ToolResult> = input
            .steps
            .iter()
            .flat_map(|s| &s.tool_results)
            .filter(|r| tool.as_ref().is_none_or(|t| &r.name == t))
            .collect();
        let whose = tool.as_deref().unwrap_or("tool");
        if results.is_empty() {
            return Ok(Outcome::fail(format!("no {whose} results to use")));
        }
        let counted: Vec<(&ToolResult, Vec<String>)> = results
            .iter()
            .filter(|r| !r.is_error)
            .map(|r| (*r, values(&r.content)))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if counted.is_empty() {
            return Ok(Outcome::fail(format!(
                "none of the {} {whose} results holds a value to look for (each was an error, or long text without numbers)",
                results.len()
            )));
        }
        let answer = Answer::new(input.output);
        let mut used = Vec::new();
        let mut unused = Vec::new();
        for (result, values) in &counted {
            match values.iter().find(|v| answer.has(v)) {
                Some(found) => used.push(format!("{}'s {}", result.name, show(found))),
                None => unused.push((result.name.as_str(), values)),
            }
        }
        let score = used.len() as f64 / counted.len() as f64;
        let reason = match unused.first() {
            None => format!("final answer uses {}", used.join(", ")),
            Some((name, values)) => format!(
                "final answer uses {} of {} {whose} results; none of {name}'s {}",
                used.len(),
                counted.len(),
                show_list(values.iter().map(String::as_str))
            ),
        };
        Ok(Outcome::scored(unused.is_empty(), score, reason))
    }
}

/// The values of one result, as the module header describes them.
fn values(content: &str) -> Vec<String> {
    let content = content.trim();
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(content) {
        if json.is_object() || json.is_array() {
            let mut out = Vec::new();
            json_values(&json, &mut out);
            return out;
        }
    }
    let mut out: Vec<String> = NUMBER
        .find_iter(content)
        .map(|m| m.as_str().to_string())
        .collect();
    out.extend(QUOTED.captures_iter(content).map(|c| c[1].to_string()));
    if out.is_empty() && is_short(content) {
        out.push(content.to_string());
    }
    out.dedup();
    out
}

/// The numbers and short strings of a JSON value, depth first.
fn json_values(json: &serde_json::Value, out: &mut Vec<String>) {
    match json {
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::String(s) if is_short(s) => out.push(s.trim().to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_values(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| json_values(v, out)),
        _ => {}
    }
}

/// Non-empty and at most [`SHORT_WORDS`] words.
fn is_short(text: &str) -> bool {
    let words = text.split_whitespace().count();
    words > 0 && words <= SHORT_WORDS
}

/// The final answer, read once: its numbers and its lowercased text.
struct Answer {
    numbers: Vec<f64>,
    lower: String,
}

impl Answer {
    fn new(text: &str) -> Self {
        Answer {
            numbers: NUMBER
                .find_iter(text)
                .filter_map(|m| m.as_str().parse().ok())
                .collect(),
            lower: text.to_lowercase(),
        }
    }

    /// Whether the answer holds `value`: by value for a number, as text otherwise.
    fn has(&self, value: &str) -> bool {
        match value.parse::<f64>() {
            Ok(n) if NUMBER.find(value).is_some_and(|m| m.len() == value.len()) => {
                self.numbers.iter().any(|a| a == &n)
            }
            _ => self.lower.contains(&value.to_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use super::values;
    use crate::agent::{Step, ToolResult};
    use serde_json::json;

    fn with_results(results: &[(&str, &str, bool)], answer: &str) -> Vec<Step> {
        vec![
            Step {
                tool_results: results
                    .iter()
                    .map(|(name, content, is_error)| ToolResult {
                        name: name.to_string(),
                        content: content.to_string(),
                        is_error: *is_error,
                        ..ToolResult::default()
                    })
                    .collect(),
                ..Step::default()
            },
            Step {
                output: answer.into(),
                ..Step::default()
            },
        ]
    }

    #[test]
    fn values_are_numbers_quoted_strings_or_a_short_result() {
        assert_eq!(values("Rome: 18°C, wind 3.5 km/h"), ["18", "3.5"]);
        assert_eq!(values(r#"the order is "shipped""#), ["shipped"]);
        assert_eq!(values("sunny"), ["sunny"]);
        assert!(values("a long sentence of more than five words here").is_empty());
        assert_eq!(
            values(
                r#"{"temp": 18, "sky": "partly cloudy", "note": "one two three four five six"}"#
            ),
            ["18", "partly cloudy"]
        );
    }

    #[test]
    fn a_number_is_matched_by_value_and_a_string_anywhere() {
        let spec = json!({"type": "tool-result-used"});
        let s = with_results(
            &[("get_weather", "Rome: 18°C", false)],
            "It's 18.0 degrees.",
        );
        let r = eval_steps(spec.clone(), &s, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, r#"final answer uses get_weather's "18""#);
        let s = with_results(&[("get_weather", "Rome: 18°C", false)], "It's 180 degrees.");
        let r = eval_steps(spec.clone(), &s, json!({}));
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            r#"final answer uses 0 of 1 tool results; none of get_weather's "18""#
        );
        let s = with_results(&[("lookup", "Sunny", false)], "The sky is sunny today.");
        assert!(eval_steps(spec, &s, json!({})).pass);
    }

    #[test]
    fn every_counted_result_must_be_used_and_value_picks_the_tool() {
        let s = with_results(
            &[("a", "12", false), ("b", "34", false), ("c", "boom", true)],
            "I found 12.",
        );
        let r = eval_steps(json!({"type": "tool-result-used"}), &s, json!({}));
        assert!(!r.pass);
        assert_eq!(r.score, 0.5, "the error result is not counted");
        let r = eval_steps(
            json!({"type": "tool-result-used", "value": "a"}),
            &s,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval_steps(
            json!({"type": "tool-result-used", "value": "{{ tool }}"}),
            &s,
            json!({"tool": "b"}),
        );
        assert!(!r.pass, "{}", r.reason);
    }

    #[test]
    fn nothing_to_use_fails_and_says_why() {
        let r = eval(json!({"type": "tool-result-used"}), "18", json!({}));
        assert!(!r.pass);
        assert_eq!(r.reason, "no tool results to use");
        let s = with_results(&[("a", "boom", true)], "x");
        let r = eval_steps(
            json!({"type": "tool-result-used", "value": "a"}),
            &s,
            json!({}),
        );
        assert!(
            r.reason
                .starts_with("none of the 1 a results holds a value"),
            "{}",
            r.reason
        );
        let r = eval(json!({"type": "not-tool-result-used"}), "18", json!({}));
        assert!(r.pass);
    }
}
