//! Model-graded assertions: the judge prompts, the judge call and the readers of its reply.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

use super::check::Outcome;
use super::remote::{
    AsyncCheck, Candidate, GraderUsage, GroupCheck, ProviderRole, ScoreContext, Scorer, Verdict,
};
use super::value::{Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::provider::{BoxFuture, ProviderRequest};
use crate::registry::Params;
use crate::template::message::RenderedPrompt;

/// The version of the built-in judge prompts; raise it with any change to a file in
/// `src/score/judges/`, so that records say which prompt judged them.
const BUILTIN_VERSION: u32 = 1;

/// The default pass mark of `g-eval` on its normalised score.
const G_EVAL_THRESHOLD: f64 = 0.7;

/// The name of the registry prompt that replaces the built-in judge prompt of `kind`
/// (`judge-llm-rubric`).
pub fn judge_prompt_name(kind: &str) -> String {
    format!("judge-{kind}")
}

/// A model-graded type's judge: its built-in prompt, what the prompt receives, and how
/// the reply is read. The registry entry of each judge type points at one.
pub(crate) struct JudgePrompt {
    /// The built-in prompt (`src/score/judges/<type>.jinja`).
    source: &'static str,
    /// The name the assertion's value takes in the prompt.
    value_variable: &'static str,
    /// The variables the prompt receives; a registry prompt may use no others.
    pub(crate) variables: &'static [&'static str],
    /// The pass mark when the spec gives no `threshold`.
    default_threshold: Option<f64>,
    /// How the reply is read.
    pub(crate) reading: Reading,
    /// A correct assertion of this type, for error hints.
    pub(crate) example: &'static str,
}

/// How a judge reads its reply.
pub(crate) enum Reading {
    /// One output per call: the reply's parser, given the threshold.
    One(fn(&str, Option<f64>) -> Result<Graded, String>),
    /// All outputs of a row in one call (`select-best`).
    Row,
}

/// `llm-rubric`: the output judged against a rubric.
pub(crate) const LLM_RUBRIC: JudgePrompt = JudgePrompt {
    source: include_str!("judges/llm-rubric.jinja"),
    value_variable: "rubric",
    variables: &["output", "rubric", "input", "vars"],
    default_threshold: None,
    reading: Reading::One(parse_rubric),
    example: "{type: llm-rubric, value: \"answers politely and names a city\"}",
};

/// `factuality`: the output compared with the expected answer.
pub(crate) const FACTUALITY: JudgePrompt = JudgePrompt {
    source: include_str!("judges/factuality.jinja"),
    value_variable: "expected",
    variables: &["output", "expected", "input", "vars"],
    default_threshold: None,
    reading: Reading::One(parse_factuality),
    example: "{type: factuality, value: \"{{ expected }}\"}",
};

/// `closed-qa`: whether the output meets a criterion.
pub(crate) const CLOSED_QA: JudgePrompt = JudgePrompt {
    source: include_str!("judges/closed-qa.jinja"),
    value_variable: "criteria",
    variables: &["output", "criteria", "input", "vars"],
    default_threshold: None,
    reading: Reading::One(|text, _| parse_closed_qa(text)),
    example: "{type: closed-qa, value: \"names the capital of the country\"}",
};

/// `g-eval`: a 1–5 score with reasoning steps.
pub(crate) const G_EVAL: JudgePrompt = JudgePrompt {
    source: include_str!("judges/g-eval.jinja"),
    value_variable: "criteria",
    variables: &["output", "criteria", "input", "vars"],
    default_threshold: Some(G_EVAL_THRESHOLD),
    reading: Reading::One(|text, threshold| {
        parse_g_eval(text, threshold.unwrap_or(G_EVAL_THRESHOLD))
    }),
    example: "{type: g-eval, value: \"coherent and concise\", threshold: 0.7}",
};

/// `select-best`: the best of a row's outputs.
pub(crate) const SELECT_BEST: JudgePrompt = JudgePrompt {
    source: include_str!("judges/select-best.jinja"),
    value_variable: "criteria",
    variables: &["outputs", "criteria", "vars"],
    default_threshold: None,
    reading: Reading::Row,
    example: "{type: select-best, value: \"the most helpful answer\"}",
};

/// Compiles the judge type of `c` with its `prompt` (`not-` already removed).
pub(crate) fn compile(
    prompt: &'static JudgePrompt,
    c: &mut Compiler<'_>,
) -> Result<Scorer, ScoreError> {
    let threshold = c
        .unit_threshold(prompt.example)?
        .or(prompt.default_threshold);
    let value = c.text_value(prompt.example)?;
    let template = format!("{}#judge", c.id);
    c.templates
        .add_inline(&template, prompt.source, c.origin)
        .map_err(|source| ScoreError::Template {
            origin: c.origin.clone(),
            kind: c.spec.kind.clone(),
            source: Box::new(source),
        })?;
    let judge = Judge {
        kind: c.kind.name,
        prompt,
        value,
        threshold,
        grader: c.spec.grader.clone(),
        template,
        builtin_hash: format!(
            "sha256:{}",
            hex::encode(Sha256::digest(prompt.source.as_bytes()))
        ),
    };
    Ok(match prompt.reading {
        Reading::Row => Scorer::Group(Box::new(judge)),
        Reading::One(_) => Scorer::Async(Box::new(judge)),
    })
}

/// A compiled judge assertion.
///
/// A judge prompt (built in, or `judge-<type>` from the registry) is rendered, sent to the
/// grader provider, and its reply parsed; a reply that cannot be parsed is a scorer error,
/// never a silent fail.
struct Judge {
    kind: &'static str,
    prompt: &'static JudgePrompt,
    value: Text,
    threshold: Option<f64>,
    grader: Option<String>,
    /// The built-in prompt, compiled as an inline template under this name.
    template: String,
    builtin_hash: String,
}

/// A judge call that went through: the grader's name, the prompt's label, the raw reply.
struct Reply {
    text: String,
    detail: Map<String, Json>,
}

impl Judge {
    /// Renders the judge prompt (the registry's `judge-<kind>` when there is one), sends it
    /// to the grader and returns its reply. `Err` is a scorer error.
    async fn ask(
        &self,
        vars: minijinja::Value,
        ctx: &ScoreContext<'_>,
        usage: &mut GraderUsage,
    ) -> Result<Reply, Verdict> {
        let (name, provider) = ctx
            .provider(ProviderRole::Grader, self.grader.as_deref())
            .map_err(Verdict::scorer_error)?;
        let mut detail = Map::new();
        detail.insert("grader".into(), name.into());
        let rendered = match ctx.setup.judge_prompts.get(self.kind) {
            Some(version) => {
                detail.insert("judge_prompt".into(), version.reference().into());
                detail.insert("judge_prompt_hash".into(), version.hash.clone().into());
                ctx.templates.render_prompt(version, &vars)
            }
            None => {
                let label = format!("builtin:{}@{BUILTIN_VERSION}", self.kind);
                detail.insert("judge_prompt".into(), label.into());
                detail.insert("judge_prompt_hash".into(), self.builtin_hash.clone().into());
                ctx.templates
                    .render_inline(&self.template, &vars)
                    .map(RenderedPrompt::Text)
            }
        };
        let prompt = rendered.map_err(|e| Verdict::ScorerError {
            reason: format!("could not render the judge prompt: {e}"),
            detail: Some(Json::Object(detail.clone())),
        })?;
        let request = ProviderRequest {
            prompt,
            params: Params::new(),
            retries: None,
            vars: Default::default(),
        };
        match provider.complete(request).await {
            Ok(response) => {
                usage.add(provider.as_ref(), &response);
                detail.insert("reply".into(), response.output.clone().into());
                Ok(Reply {
                    text: response.output,
                    detail,
                })
            }
            Err(e) => Err(Verdict::ScorerError {
                reason: format!("judge `{name}` failed: {}", e.message),
                detail: Some(Json::Object(detail)),
            }),
        }
    }

    /// The prompt variables for one output.
    fn variables(
        &self,
        input: &ScoreInput<'_>,
        value: &str,
        ctx: &ScoreContext<'_>,
    ) -> minijinja::Value {
        let mut vars: BTreeMap<&str, minijinja::Value> = BTreeMap::new();
        vars.insert("output", input.output.into());
        vars.insert("input", ctx.prompt.into());
        vars.insert("vars", input.vars.clone());
        vars.insert(self.prompt.value_variable, value.into());
        minijinja::Value::from_iter(vars)
    }

    async fn run(
        &self,
        input: &ScoreInput<'_>,
        ctx: &ScoreContext<'_>,
        usage: &mut GraderUsage,
    ) -> Verdict {
        let value = match self.value.resolve(input, ctx.templates) {
            Ok(v) => v.into_owned(),
            Err(reason) => return Verdict::Failed(reason),
        };
        let vars = self.variables(input, &value, ctx);
        let reply = match self.ask(vars, ctx, usage).await {
            Ok(reply) => reply,
            Err(verdict) => return verdict,
        };
        let Reply { text, mut detail } = reply;
        let parsed = match self.prompt.reading {
            Reading::One(parse) => parse(&text, self.threshold),
            Reading::Row => Err("the judge of a row was asked about one output".to_string()),
        };
        match parsed {
            Ok(graded) => {
                detail.extend(graded.detail);
                Verdict::Checked(
                    Outcome::scored(graded.pass, graded.score, graded.reason)
                        .with_detail(Json::Object(detail)),
                )
            }
            Err(why) => Verdict::ScorerError {
                reason: format!("judge reply could not be parsed: {why}"),
                detail: Some(Json::Object(detail)),
            },
        }
    }
}

impl AsyncCheck for Judge {
    fn check<'a>(
        &'a self,
        input: &'a ScoreInput<'a>,
        ctx: &'a ScoreContext<'a>,
        usage: &'a mut GraderUsage,
    ) -> BoxFuture<'a, Verdict> {
        Box::pin(self.run(input, ctx, usage))
    }

    fn provider(&self) -> Option<(ProviderRole, Option<&str>)> {
        Some((ProviderRole::Grader, self.grader.as_deref()))
    }
}

impl GroupCheck for Judge {
    fn check_group<'a>(
        &'a self,
        candidates: &'a [Candidate<'a>],
        vars: &'a minijinja::Value,
        ctx: &'a ScoreContext<'a>,
        usage: &'a mut GraderUsage,
    ) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(self.select_best(candidates, vars, ctx, usage))
    }

    fn grader(&self) -> Option<&str> {
        self.grader.as_deref()
    }
}

impl Judge {
    async fn select_best(
        &self,
        candidates: &[Candidate<'_>],
        row: &minijinja::Value,
        ctx: &ScoreContext<'_>,
        usage: &mut GraderUsage,
    ) -> Vec<Verdict> {
        let all = |make: &dyn Fn() -> Verdict| candidates.iter().map(|_| make()).collect();
        if candidates.len() == 1 {
            return vec![Verdict::Checked(Outcome::pass(
                "the only output of this row (the others have none)".into(),
            ))];
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        let input = ScoreInput {
            output: "",
            vars: row,
            latency_ms: 0.0,
        };
        let criteria = match self.value.resolve(&input, ctx.templates) {
            Ok(v) => v.into_owned(),
            Err(reason) => return all(&|| Verdict::Failed(reason.clone())),
        };
        let outputs: Vec<&str> = candidates.iter().map(|c| c.output).collect();
        let mut vars: BTreeMap<&str, minijinja::Value> = BTreeMap::new();
        vars.insert("outputs", minijinja::Value::from_serialize(&outputs));
        vars.insert("criteria", criteria.into());
        vars.insert("vars", row.clone());
        let reply = match self
            .ask(minijinja::Value::from_iter(vars), ctx, usage)
            .await
        {
            Ok(reply) => reply,
            Err(Verdict::ScorerError { reason, detail }) => {
                return all(&|| Verdict::ScorerError {
                    reason: reason.clone(),
                    detail: detail.clone(),
                })
            }
            Err(other) => return vec![other],
        };
        let Reply { text, mut detail } = reply;
        let labels: Vec<&str> = candidates.iter().map(|c| c.label).collect();
        detail.insert("candidates".into(), json!(labels));
        match parse_select_best(&text, candidates.len()) {
            Ok((best, reason)) => {
                detail.insert("best".into(), json!(best + 1));
                let detail = Json::Object(detail);
                let n = candidates.len();
                candidates
                    .iter()
                    .enumerate()
                    .map(|(i, _)| {
                        let outcome = if i == best {
                            Outcome::pass(format!("chosen as the best of {n}: {reason}"))
                        } else {
                            Outcome::fail(format!(
                                "output {} ({}) was chosen as the best of {n}: {reason}",
                                best + 1,
                                labels[best]
                            ))
                        };
                        Verdict::Checked(outcome.with_detail(detail.clone()))
                    })
                    .collect()
            }
            Err(why) => {
                let detail = Some(Json::Object(detail));
                all(&|| Verdict::ScorerError {
                    reason: format!("judge reply could not be parsed: {why}"),
                    detail: detail.clone(),
                })
            }
        }
    }
}

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
    use crate::score::testing::{compile_err, compile_in, templates};

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

    #[test]
    fn judge_types_compile_and_report_their_grader() {
        let mut t = templates();
        let a = compile_in(
            json!({"type": "llm-rubric", "value": "polite", "grader": "g"}),
            "a",
            &mut t,
        )
        .unwrap();
        assert_eq!(a.provider_role(), Some((ProviderRole::Grader, Some("g"))));
        assert!(!a.is_group());
        let a = compile_in(json!({"type": "select-best", "value": "best"}), "b", &mut t).unwrap();
        assert!(a.is_group());
        assert_eq!(a.provider_role(), Some((ProviderRole::Grader, None)));
        let a = compile_in(json!({"type": "factuality"}), "c", &mut t).unwrap();
        assert_eq!(
            a.variables(&t).into_iter().collect::<Vec<_>>(),
            ["expected"]
        );
    }

    #[test]
    fn judge_types_check_value_and_threshold() {
        let err = compile_err(json!({"type": "llm-rubric"}));
        assert!(err.to_string().contains("needs a `value`"), "{err}");
        let err = compile_err(json!({"type": "closed-qa", "value": "x", "threshold": 0.5}));
        assert!(err.to_string().contains("takes no `threshold`"), "{err}");
        let err = compile_err(json!({"type": "g-eval", "value": "x", "threshold": 2}));
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
    }

    #[test]
    fn builtin_prompts_use_only_documented_variables() {
        for (kind, prompt) in [
            ("llm-rubric", &LLM_RUBRIC),
            ("factuality", &FACTUALITY),
            ("closed-qa", &CLOSED_QA),
            ("g-eval", &G_EVAL),
            ("select-best", &SELECT_BEST),
        ] {
            let mut t = templates();
            let origin = crate::diagnostic::Location::line("x", 1);
            t.add_inline("j", prompt.source, &origin).unwrap();
            for var in t.inline_variables("j") {
                assert!(prompt.variables.contains(&var.as_str()), "{kind}: {var}");
            }
            assert_eq!(crate::score::judge_variables(kind), prompt.variables);
            if kind != "select-best" {
                assert!(prompt.variables.contains(&prompt.value_variable), "{kind}");
            }
        }
    }
}
