//! Model-graded assertions: the judge prompt of each type, and the judge call.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

use super::check::Outcome;
use super::judge_reply::{
    parse_closed_qa, parse_factuality, parse_g_eval, parse_rubric, parse_select_best, Graded,
};
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
            tools: None,
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
        case: &'a str,
        ctx: &'a ScoreContext<'a>,
        usage: &'a mut GraderUsage,
    ) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(self.select_best(candidates, vars, case, ctx, usage))
    }

    fn grader(&self) -> Option<&str> {
        self.grader.as_deref()
    }
}

impl Judge {
    /// Asks the judge for the best of the candidates, shown in an order shuffled per case
    /// (see [`shown_order`]), and maps its choice back to the candidate.
    async fn select_best(
        &self,
        candidates: &[Candidate<'_>],
        row: &minijinja::Value,
        case: &str,
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
            tool_calls: &[],
            tools: None,
            steps: &[],
        };
        let criteria = match self.value.resolve(&input, ctx.templates) {
            Ok(v) => v.into_owned(),
            Err(reason) => return all(&|| Verdict::Failed(reason.clone())),
        };
        let seed = shuffle_seed(case);
        let order = shown_order(candidates.len(), seed);
        let outputs: Vec<&str> = order.iter().map(|&i| candidates[i].output).collect();
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
        detail.insert("seed".into(), json!(seed));
        let shown: Vec<usize> = order.iter().map(|i| i + 1).collect();
        detail.insert("order".into(), json!(shown));
        match parse_select_best(&text, candidates.len()) {
            Ok((position, reason)) => chosen(&labels, &order, position, &reason, detail),
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

/// The verdicts once the judge chose the output it saw at `position` (from 0): the
/// candidate shown there passes, the others fail.
fn chosen(
    labels: &[&str],
    order: &[usize],
    position: usize,
    reason: &str,
    mut detail: Map<String, Json>,
) -> Vec<Verdict> {
    let best = order[position];
    detail.insert("best".into(), json!(best + 1));
    detail.insert("best_shown".into(), json!(position + 1));
    let detail = Json::Object(detail);
    let n = labels.len();
    let shown = position + 1;
    (0..n)
        .map(|i| {
            let outcome = if i == best {
                Outcome::pass(format!(
                    "chosen as the best of {n} (shown to the judge as output {shown}): {reason}"
                ))
            } else {
                Outcome::fail(format!(
                    "{} was chosen as the best of {n} (shown to the judge as output {shown}): {reason}",
                    labels[best]
                ))
            };
            Verdict::Checked(outcome.with_detail(detail.clone()))
        })
        .collect()
}

/// The seed of a case's order: the first 6 bytes of the SHA-256 of `select-best:` and the
/// case key, so it is the same on every run of the case (and fits a JSON number exactly).
fn shuffle_seed(case: &str) -> u64 {
    let digest = Sha256::digest(format!("select-best:{case}").as_bytes());
    digest[..6]
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// The order the judge sees `n` outputs in: `order[k]` is the candidate (from 0) shown as
/// output `k + 1`. A Fisher–Yates shuffle driven by SplitMix64 from `seed`, written out
/// here so that the order never changes with a dependency's version.
fn shown_order(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::testing::{compile_err, compile_in, templates};

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
    fn select_best_order_is_no_longer_the_same_for_every_case() {
        // Pinned: a change here changes every judge prompt, and misses the cache.
        assert_eq!(shuffle_seed("greet/a#0"), 81_267_857_626_702);
        assert_eq!(shown_order(3, shuffle_seed("greet/a#0")), [1, 2, 0]);
        assert_eq!(shown_order(3, shuffle_seed("greet/b#0")), [0, 2, 1]);
        assert_eq!(shown_order(2, shuffle_seed("greet/c#0")), [0, 1]);
        for n in 0..8 {
            let mut order = shown_order(n, 7);
            order.sort_unstable();
            assert_eq!(order, (0..n).collect::<Vec<_>>());
        }
        assert!(shuffle_seed("e/x#0") < 1 << 48);
    }

    #[test]
    fn select_best_maps_the_shown_choice_back_to_its_candidate() {
        let verdicts = chosen(
            &["p@1 · m", "p@2 · m", "p@3 · m"],
            &[2, 0, 1],
            0,
            "short",
            Map::new(),
        );
        let outcomes: Vec<_> = verdicts
            .into_iter()
            .map(|v| match v {
                Verdict::Checked(o) => o,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(!outcomes[0].pass && !outcomes[1].pass && outcomes[2].pass);
        assert_eq!(
            outcomes[0].reason,
            "p@3 · m was chosen as the best of 3 (shown to the judge as output 1): short"
        );
        let detail = outcomes[2].detail.as_ref().unwrap();
        assert_eq!(
            (&detail["best"], &detail["best_shown"]),
            (&json!(3), &json!(1))
        );
    }

    #[test]
    fn builtin_prompts_use_only_documented_variables() {
        let judges = crate::score::registry::TYPES
            .iter()
            .filter_map(|t| match t.build {
                crate::score::registry::Build::Judge(prompt) => Some((t.name, prompt)),
                _ => None,
            });
        for (kind, prompt) in judges {
            let mut t = templates();
            let origin = crate::diagnostic::Location::line("x", 1);
            t.add_inline("j", prompt.source, &origin).unwrap();
            for var in t.inline_variables("j") {
                assert!(prompt.variables.contains(&var.as_str()), "{kind}: {var}");
            }
            assert_eq!(crate::score::judge_variables(kind), prompt.variables);
            if let Reading::One(_) = prompt.reading {
                assert!(prompt.variables.contains(&prompt.value_variable), "{kind}");
            }
        }
    }
}
