//! Reading judge replies: one parser per judge type, and the helpers they share.

use std::fmt::Write as _;

use serde_json::{json, Map, Value as Json};

/// A parsed judge verdict.
#[derive(Debug, PartialEq)]
pub(crate) struct Graded {
    pub(crate) pass: bool,
    pub(crate) score: f64,
    pub(crate) reason: String,
    /// Parsed fields kept with the raw reply (`choice`, `steps`).
    pub(crate) detail: Map<String, Json>,
}

/// The first JSON object in `text`: bare, in a code fence, or inside prose.
pub(crate) fn find_json_object(text: &str) -> Option<Map<String, Json>> {
    text.match_indices('{').find_map(|(i, _)| {
        let mut stream = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Json>();
        match stream.next() {
            Some(Ok(Json::Object(map))) => Some(map),
            _ => None,
        }
    })
}

/// A short excerpt of a reply for error messages.
fn excerpt(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "the reply is empty".into();
    }
    let mut short: String = one_line.chars().take(80).collect();
    if short.len() < one_line.len() {
        short.push('…');
    }
    format!("{short:?}")
}

fn reason_of(map: &Map<String, Json>) -> String {
    match map.get("reason").or_else(|| map.get("reasoning")) {
        Some(Json::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => "the judge gave no reason".into(),
    }
}

fn number(value: &Json) -> Option<f64> {
    match value {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `llm-rubric`: `{"reason", "pass", "score"}`. Without `pass` the score decides
/// (`threshold`, default 0.5); without `score` it is 1 or 0; with `threshold` both must
/// hold.
pub(crate) fn parse_rubric(text: &str, threshold: Option<f64>) -> Result<Graded, String> {
    let map = find_json_object(text).ok_or_else(|| {
        format!(
            "expected a JSON object with `pass` and `score`, got {}",
            excerpt(text)
        )
    })?;
    let pass = match map.get("pass") {
        None => None,
        Some(Json::Bool(b)) => Some(*b),
        Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        Some(other) => return Err(format!("`pass` must be true or false, found {other}")),
    };
    let score = match map.get("score") {
        None => None,
        Some(v) => match number(v) {
            Some(s) if (0.0..=1.0).contains(&s) => Some(s),
            _ => return Err(format!("`score` must be a number from 0 to 1, found {v}")),
        },
    };
    let (pass, score) = match (pass, score) {
        (None, None) => {
            return Err(format!(
                "the JSON object has neither `pass` nor `score`: {}",
                excerpt(text)
            ))
        }
        (Some(p), None) => (p, if p { 1.0 } else { 0.0 }),
        (None, Some(s)) => (s >= threshold.unwrap_or(0.5), s),
        (Some(p), Some(s)) => (p && threshold.is_none_or(|t| s >= t), s),
    };
    Ok(Graded {
        pass,
        score,
        reason: format!("{} (score {score:.2})", reason_of(&map)),
        detail: Map::new(),
    })
}

/// The text before the last line holding the answer: the judge's explanation.
fn explanation(text: &str, answer_line: usize) -> String {
    let before: Vec<&str> = text
        .lines()
        .take(answer_line)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    before.join(" ")
}

/// The last line matching `re`, its index and the captured answer.
fn last_answer<'t>(text: &'t str, re: &regex::Regex) -> Option<(usize, &'t str)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            re.captures(line)
                .and_then(|c| c.get(1))
                .map(|m| (i, m.as_str()))
        })
        .last()
}

/// `factuality`: the letter A–E on an `Answer:` line (or alone on the last line). Scores
/// as autoevals does: A 0.4, B 0.6, C 1, D 0, E 1. Passes unless D, or with `threshold`
/// when the score reaches it.
pub(crate) fn parse_factuality(text: &str, threshold: Option<f64>) -> Result<Graded, String> {
    static ANSWER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = ANSWER.get_or_init(|| {
        regex::Regex::new(
            r"(?i)^(?:(?:answer|choice)\s*[:：]?\s*)?\(?([A-E])\)?\.?$|^(?:answer|choice)\s*[:：]\s*\(?([A-E])(?:\)|\.|\s|$)",
        )
        .expect("static regex")
    });
    let found = text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let caps = re.captures(line.trim())?;
            caps.get(1).or_else(|| caps.get(2)).map(|m| (i, m.as_str()))
        })
        .last();
    let Some((line, letter)) = found else {
        return Err(format!(
            "expected a choice A–E on an `Answer:` line, got {}",
            excerpt(text)
        ));
    };
    let choice = letter.to_ascii_uppercase();
    let (score, meaning) = match choice.as_str() {
        "A" => (0.4, "a consistent subset of the expected answer"),
        "B" => (0.6, "a consistent superset of the expected answer"),
        "C" => (1.0, "the same details as the expected answer"),
        "D" => (0.0, "disagrees with the expected answer"),
        _ => (
            1.0,
            "differs from the expected answer in ways that do not matter",
        ),
    };
    let pass = match threshold {
        Some(t) => score >= t,
        None => choice != "D",
    };
    let why = explanation(text, line);
    let mut reason = format!("({choice}) {meaning}");
    if !why.is_empty() {
        let _ = write!(reason, ": {why}");
    }
    let mut detail = Map::new();
    detail.insert("choice".into(), choice.into());
    Ok(Graded {
        pass,
        score,
        reason,
        detail,
    })
}

/// `closed-qa`: `Answer: Y` or `Answer: N` (or Y/N/yes/no alone on the last line).
pub(crate) fn parse_closed_qa(text: &str) -> Result<Graded, String> {
    static ANSWER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = ANSWER.get_or_init(|| {
        regex::Regex::new(r"(?i)^\W*(?:answer\s*[:：]\s*)?\W*(y|n|yes|no)\W*$")
            .expect("static regex")
    });
    let trimmed: Vec<&str> = text.lines().map(str::trim).collect();
    let joined = trimmed.join("\n");
    let Some((line, answer)) = last_answer(&joined, re) else {
        return Err(format!(
            "expected `Answer: Y` or `Answer: N`, got {}",
            excerpt(text)
        ));
    };
    let pass = answer.to_ascii_lowercase().starts_with('y');
    let why = explanation(&joined, line);
    let mut reason = if pass {
        "meets the criterion".to_string()
    } else {
        "does not meet the criterion".to_string()
    };
    if !why.is_empty() {
        let _ = write!(reason, ": {why}");
    }
    let mut detail = Map::new();
    detail.insert("choice".into(), (if pass { "Y" } else { "N" }).into());
    Ok(Graded {
        pass,
        score: if pass { 1.0 } else { 0.0 },
        reason,
        detail,
    })
}

/// `g-eval`: `{"steps", "score" (1–5), "reason"}`; the score is normalised to
/// `(score − 1) / 4` and passes at `threshold`.
pub(crate) fn parse_g_eval(text: &str, threshold: f64) -> Result<Graded, String> {
    let map = find_json_object(text).ok_or_else(|| {
        format!(
            "expected a JSON object with `score` from 1 to 5, got {}",
            excerpt(text)
        )
    })?;
    let raw = match map.get("score").and_then(number) {
        Some(s) if (1.0..=5.0).contains(&s) => s,
        Some(s) => return Err(format!("`score` must be from 1 to 5, found {s}")),
        None => {
            return Err(format!(
                "the JSON object has no numeric `score`: {}",
                excerpt(text)
            ))
        }
    };
    let score = (raw - 1.0) / 4.0;
    let mut detail = Map::new();
    detail.insert("raw_score".into(), json!(raw));
    if let Some(steps) = map.get("steps") {
        detail.insert("steps".into(), steps.clone());
    }
    Ok(Graded {
        pass: score >= threshold,
        score,
        reason: format!("{} (score {raw}/5)", reason_of(&map)),
        detail,
    })
}

/// `select-best`: `{"best": n, "reason"}` with `n` from 1 to `count`; returns the index
/// from 0.
pub(crate) fn parse_select_best(text: &str, count: usize) -> Result<(usize, String), String> {
    let map = find_json_object(text)
        .ok_or_else(|| format!("expected a JSON object with `best`, got {}", excerpt(text)))?;
    let best = map
        .get("best")
        .and_then(number)
        .ok_or_else(|| format!("the JSON object has no numeric `best`: {}", excerpt(text)))?;
    if best.fract() != 0.0 || best < 1.0 || best > count as f64 {
        return Err(format!(
            "`best` must be a whole number from 1 to {count}, found {best}"
        ));
    }
    Ok((best as usize - 1, reason_of(&map)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rubric_reply_in_a_code_fence() {
        let g = parse_rubric(
            "Sure.\n```json\n{\"reason\": \"names Paris\", \"pass\": true, \"score\": 0.9}\n```",
            None,
        )
        .unwrap();
        assert!(g.pass);
        assert_eq!(g.score, 0.9);
        assert_eq!(g.reason, "names Paris (score 0.90)");
    }

    #[test]
    fn rubric_threshold_and_missing_fields() {
        let g = parse_rubric(r#"{"pass": true, "score": 0.6}"#, Some(0.7)).unwrap();
        assert!(!g.pass);
        let g = parse_rubric(r#"{"score": "0.6"}"#, None).unwrap();
        assert!(g.pass);
        assert_eq!(g.reason, "the judge gave no reason (score 0.60)");
        let g = parse_rubric(r#"{"pass": false}"#, None).unwrap();
        assert_eq!((g.pass, g.score), (false, 0.0));
    }

    #[test]
    fn rubric_errors_say_what_was_wrong() {
        let err = parse_rubric("The output is good.", None).unwrap_err();
        assert_eq!(
            err,
            "expected a JSON object with `pass` and `score`, got \"The output is good.\""
        );
        assert!(parse_rubric(r#"{"pass": "maybe"}"#, None)
            .unwrap_err()
            .contains("`pass`"));
        assert!(parse_rubric(r#"{"score": 7}"#, None)
            .unwrap_err()
            .contains("from 0 to 1"));
        assert!(parse_rubric(r#"{"reason": "x"}"#, None)
            .unwrap_err()
            .contains("neither"));
        assert_eq!(
            parse_rubric("", None).unwrap_err(),
            "expected a JSON object with `pass` and `score`, got the reply is empty"
        );
    }

    #[test]
    fn json_is_found_after_braces_that_are_not_json() {
        let map = find_json_object("use {curly} braces: {\"best\": 2}").unwrap();
        assert_eq!(map["best"], 2);
        assert!(find_json_object("{ nope").is_none());
    }

    #[test]
    fn factuality_letters_and_scores() {
        let g = parse_factuality("Both say Paris.\nAnswer: C", None).unwrap();
        assert_eq!((g.pass, g.score), (true, 1.0));
        assert_eq!(
            g.reason,
            "(C) the same details as the expected answer: Both say Paris."
        );
        assert_eq!(g.detail["choice"], "C");
        let g = parse_factuality("They conflict.\nAnswer: (D)", None).unwrap();
        assert_eq!((g.pass, g.score), (false, 0.0));
        let g = parse_factuality("A", None).unwrap();
        assert_eq!(g.score, 0.4);
        assert!(g.pass);
        let g = parse_factuality("answer: b", Some(0.7)).unwrap();
        assert_eq!(g.score, 0.6);
        assert!(!g.pass);
        assert!(parse_factuality("I think it is fine.", None)
            .unwrap_err()
            .starts_with("expected a choice A–E"));
        assert!(parse_factuality("Answer: F", None).is_err());
    }

    #[test]
    fn closed_qa_yes_and_no() {
        let g = parse_closed_qa("It names Paris.\nAnswer: Y").unwrap();
        assert!(g.pass);
        assert_eq!(g.reason, "meets the criterion: It names Paris.");
        let g = parse_closed_qa("No").unwrap();
        assert!(!g.pass);
        assert_eq!(g.score, 0.0);
        assert!(parse_closed_qa("Maybe.").is_err());
    }

    #[test]
    fn g_eval_normalises_and_keeps_steps() {
        let g = parse_g_eval(
            r#"{"steps": ["read", "score"], "score": 4, "reason": "clear"}"#,
            0.7,
        )
        .unwrap();
        assert_eq!(g.score, 0.75);
        assert!(g.pass);
        assert_eq!(g.reason, "clear (score 4/5)");
        assert_eq!(g.detail["steps"], json!(["read", "score"]));
        let g = parse_g_eval(r#"{"score": 3}"#, 0.7).unwrap();
        assert!(!g.pass);
        assert!(parse_g_eval(r#"{"score": 0}"#, 0.7)
            .unwrap_err()
            .contains("from 1 to 5"));
        assert!(parse_g_eval("4/5", 0.7).is_err());
    }

    #[test]
    fn select_best_index() {
        assert_eq!(
            parse_select_best(r#"{"best": 2, "reason": "polite"}"#, 3).unwrap(),
            (1, "polite".to_string())
        );
        assert!(parse_select_best(r#"{"best": 4}"#, 3)
            .unwrap_err()
            .contains("from 1 to 3"));
        assert!(parse_select_best(r#"{"best": 1.5}"#, 3).is_err());
        assert!(parse_select_best("the second", 3).is_err());
    }
}
