//! Scorers that call out: their traits, their context and cost, and async case scoring.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::check::Outcome;
use super::external::Worker;
use super::{aggregate, Assertion, CaseScore, ScoreInput};
use crate::provider::{BoxFuture, Provider, ProviderResponse};
use crate::registry::PromptVersion;
use crate::run::events::AssertionResult;
use crate::template::TemplateSet;

/// What an asynchronous check found.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The check ran: pass or fail on the output's merits.
    Checked(Outcome),
    /// A failure no `not-` may invert (a value that could not be rendered): the reason.
    Failed(String),
    /// The scorer itself failed (unparseable judge reply, crashed worker, HTTP error).
    ScorerError {
        /// The whole reason (`judge reply could not be parsed: …`).
        reason: String,
        /// What there is to keep: the raw reply, the scorer's stderr.
        detail: Option<serde_json::Value>,
    },
}

impl Verdict {
    /// A scorer error without detail.
    pub(crate) fn scorer_error(reason: impl Into<String>) -> Self {
        Verdict::ScorerError {
            reason: reason.into(),
            detail: None,
        }
    }
}

/// The provider a scorer calls, when it calls one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderRole {
    /// A judge model (`grader:`).
    Grader,
    /// An embeddings model (`embedder:`).
    Embedder,
}

/// A compiled assertion that calls out to score one output.
pub(crate) trait AsyncCheck: Send + Sync {
    /// Checks one output; `usage` collects the cost of model calls made.
    fn check<'a>(
        &'a self,
        input: &'a ScoreInput<'a>,
        ctx: &'a ScoreContext<'a>,
        usage: &'a mut GraderUsage,
    ) -> BoxFuture<'a, Verdict>;

    /// The provider it calls, if any, and the name written on the assertion.
    fn provider(&self) -> Option<(ProviderRole, Option<&str>)> {
        None
    }
}

/// One output in a group check: a prompt × model's answer to the same row.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// The output.
    pub output: &'a str,
    /// Its prompt reference and model (`greet@2 · echo`), for the record.
    pub label: &'a str,
}

/// A compiled assertion that scores all outputs of one row together (`select-best`).
pub(crate) trait GroupCheck: Send + Sync {
    /// One verdict per candidate, in order. `case` names the case (`eval/case_id#repeat`)
    /// and seeds whatever the check draws at random, so a re-run sends the same requests.
    fn check_group<'a>(
        &'a self,
        candidates: &'a [Candidate<'a>],
        vars: &'a minijinja::Value,
        case: &'a str,
        ctx: &'a ScoreContext<'a>,
        usage: &'a mut GraderUsage,
    ) -> BoxFuture<'a, Vec<Verdict>>;

    /// The judge's name written on the assertion, if any.
    fn grader(&self) -> Option<&str>;
}

/// How an assertion scores.
pub(crate) enum Scorer {
    /// Deterministic and synchronous.
    Sync(Box<dyn super::check::Check>),
    /// Calls out, one output at a time.
    Async(Box<dyn AsyncCheck>),
    /// Calls out once all outputs of the row exist.
    Group(Box<dyn GroupCheck>),
}

/// Run-wide scoring settings held by the plan: the project root (external scorers start
/// there), judge prompts the registry overrides, and the external scorer processes.
#[derive(Debug, Default)]
pub struct ScoringSetup {
    /// The project root.
    pub root: PathBuf,
    /// Judge type (`llm-rubric`) → the registry version replacing the built-in prompt.
    pub judge_prompts: BTreeMap<String, Arc<PromptVersion>>,
    workers: Mutex<HashMap<Vec<String>, Arc<Worker>>>,
}

impl ScoringSetup {
    /// Settings for a project rooted at `root`, with no judge prompt overrides.
    pub fn new(root: PathBuf) -> Self {
        ScoringSetup {
            root,
            ..ScoringSetup::default()
        }
    }

    /// The worker for `argv`: one per distinct command line per run, started on first use.
    pub(crate) fn worker(&self, argv: &[String]) -> Arc<Worker> {
        let mut workers = self.workers.lock().unwrap_or_else(|e| e.into_inner());
        workers
            .entry(argv.to_vec())
            .or_insert_with(|| Arc::new(Worker::new(argv.to_vec(), self.root.clone())))
            .clone()
    }
}

/// Everything an asynchronous scorer may use for one cell.
pub struct ScoreContext<'a> {
    /// Compiled templates (assertion values, judge prompts).
    pub templates: &'a TemplateSet,
    /// The run's providers by name: judges go through them (cache, retries, limits).
    pub providers: &'a BTreeMap<String, Arc<dyn Provider>>,
    /// Run-wide settings.
    pub setup: &'a ScoringSetup,
    /// The eval's judge, when the assertion names none.
    pub grader: Option<&'a str>,
    /// The eval's embeddings provider, when the assertion names none.
    pub embedder: Option<&'a str>,
    /// The prompt sent to the model, as text (judges see it as `input`).
    pub prompt: &'a str,
}

impl ScoreContext<'_> {
    /// The provider for `role`: `written` on the assertion, else the eval's. `Err` is a
    /// scorer error reason.
    pub(crate) fn provider<'s>(
        &'s self,
        role: ProviderRole,
        written: Option<&'s str>,
    ) -> Result<(&'s str, &'s Arc<dyn Provider>), String> {
        let (key, default) = match role {
            ProviderRole::Grader => ("grader", self.grader),
            ProviderRole::Embedder => ("embedder", self.embedder),
        };
        let Some(name) = written.or(default) else {
            return Err(format!("no `{key}` is configured"));
        };
        match self.providers.get(name) {
            Some(p) => Ok((name, p)),
            None => Err(format!("{key} `{name}` is not a provider of this run")),
        }
    }
}

/// The model calls a scorer made, counted apart from the evaluated model's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GraderUsage {
    /// Calls made.
    pub calls: u32,
    /// Prompt tokens reported.
    pub tokens_in: u64,
    /// Completion tokens reported.
    pub tokens_out: u64,
    /// Total cost of the calls whose price is known.
    pub cost_usd: f64,
    /// Whether some call's cost was unknown.
    pub cost_unknown: bool,
}

impl GraderUsage {
    /// Counts one response of `provider`.
    pub(crate) fn add(&mut self, provider: &dyn Provider, response: &ProviderResponse) {
        self.calls += 1;
        self.tokens_in += response.tokens_in.unwrap_or(0);
        self.tokens_out += response.tokens_out.unwrap_or(0);
        match provider.cost_cached(response.tokens_in, response.tokens_out, response.cache) {
            Some(cost) => self.cost_usd += cost,
            None => self.cost_unknown = true,
        }
    }

    /// Adds another usage.
    pub fn merge(&mut self, other: &GraderUsage) {
        self.calls += other.calls;
        self.tokens_in += other.tokens_in;
        self.tokens_out += other.tokens_out;
        self.cost_usd += other.cost_usd;
        self.cost_unknown |= other.cost_unknown;
    }

    /// This usage split into `n` shares whose token and cost sums are the whole
    /// (remainders go to the first shares); each share keeps the number of calls, which
    /// every share took part in.
    pub fn split(&self, n: usize) -> Vec<GraderUsage> {
        let n64 = n.max(1) as u64;
        (0..n64)
            .map(|i| GraderUsage {
                calls: self.calls,
                tokens_in: self.tokens_in / n64 + u64::from(i < self.tokens_in % n64),
                tokens_out: self.tokens_out / n64 + u64::from(i < self.tokens_out % n64),
                cost_usd: self.cost_usd / n64 as f64,
                cost_unknown: self.cost_unknown,
            })
            .collect()
    }

    /// Adds the usage to a cell's `grader_*` fields; without calls they stay as they are.
    /// The cost becomes unknown (`None`) once any call's cost is.
    pub fn apply(&self, cell: &mut crate::run::events::CellResult) {
        if self.calls == 0 {
            return;
        }
        let first = cell.grader_tokens_in.is_none();
        *cell.grader_tokens_in.get_or_insert(0) += self.tokens_in;
        *cell.grader_tokens_out.get_or_insert(0) += self.tokens_out;
        cell.grader_cost_usd = match (self.cost_unknown, first, cell.grader_cost_usd) {
            (true, _, _) | (false, false, None) => None,
            (false, true, _) => Some(self.cost_usd),
            (false, false, Some(cost)) => Some(cost + self.cost_usd),
        };
    }
}

/// The name of one case × repeat of an eval that group checks are given:
/// `eval/case_id#repeat`.
pub fn case_key(eval: &str, case_id: &str, repeat: u32) -> String {
    format!("{eval}/{case_id}#{repeat}")
}

/// A case scored with scorers that call out.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredCase {
    /// The case score. Group assertions (`select-best`) hold a placeholder until
    /// [`Assertion::evaluate_group`] replaces it.
    pub case: CaseScore,
    /// What the scorers' model calls cost.
    pub usage: GraderUsage,
}

/// Like [`super::score_case`], awaiting scorers that call out, one after the other.
/// Group assertions get a placeholder result (`pending`) for the caller to replace once
/// every output of the row exists.
pub async fn score_case_async(
    assertions: &[&Assertion],
    input: &ScoreInput<'_>,
    ctx: &ScoreContext<'_>,
    threshold: Option<f64>,
) -> ScoredCase {
    let mut usage = GraderUsage::default();
    let mut results = Vec::new();
    for assertion in assertions.iter().copied() {
        let result = match &assertion.scorer {
            Scorer::Sync(_) => assertion.evaluate(input, ctx.templates),
            Scorer::Async(check) => match assertion.transformed(input, ctx.templates) {
                Ok(None) => assertion.result_of(check.check(input, ctx, &mut usage).await),
                Ok(Some(output)) => {
                    let input = input.with_output(&output);
                    assertion.result_of(check.check(&input, ctx, &mut usage).await)
                }
                Err(reason) => assertion.result_of(Verdict::Failed(reason)),
            },
            Scorer::Group(_) => assertion.pending(),
        };
        results.push(result);
    }
    ScoredCase {
        case: aggregate(results, threshold),
        usage,
    }
}

/// [`score_case_async`] on the output as the eval's `transform` leaves it; a transform
/// that fails fails the case, as [`super::score_output`] does.
pub async fn score_output_async(
    transform: Option<&super::Transform>,
    assertions: &[&Assertion],
    input: &ScoreInput<'_>,
    ctx: &ScoreContext<'_>,
    threshold: Option<f64>,
) -> ScoredCase {
    let Some(transform) = transform else {
        return score_case_async(assertions, input, ctx, threshold).await;
    };
    match transform.apply(input.output, input.vars, ctx.templates) {
        Ok(output) => {
            score_case_async(assertions, &input.with_output(&output), ctx, threshold).await
        }
        Err(reason) => ScoredCase {
            case: super::transform_failed(reason),
            usage: GraderUsage::default(),
        },
    }
}

impl Assertion {
    /// Whether the assertion scores all outputs of a row together (`select-best`): its
    /// result comes from [`Assertion::evaluate_group`].
    pub fn is_group(&self) -> bool {
        matches!(self.scorer, Scorer::Group(_))
    }

    /// The provider this assertion calls and the name written on it (`grader:`,
    /// `embedder:`), if it calls one.
    pub fn provider_role(&self) -> Option<(ProviderRole, Option<&str>)> {
        match &self.scorer {
            Scorer::Sync(_) => None,
            Scorer::Async(check) => check.provider(),
            Scorer::Group(check) => Some((ProviderRole::Grader, check.grader())),
        }
    }

    /// Scores the outputs of one row together. `outputs` holds one entry per cell of the
    /// row (`None` for a cell without output, which gets `None` back); `case` names the
    /// case and repeat (`eval/case_id#repeat`, see [`case_key`]).
    pub async fn evaluate_group(
        &self,
        outputs: &[Option<Candidate<'_>>],
        vars: &minijinja::Value,
        case: &str,
        ctx: &ScoreContext<'_>,
    ) -> (Vec<Option<AssertionResult>>, GraderUsage) {
        let mut usage = GraderUsage::default();
        let Scorer::Group(check) = &self.scorer else {
            return (vec![None; outputs.len()], usage);
        };
        let candidates: Vec<Candidate<'_>> = outputs.iter().flatten().copied().collect();
        let mut verdicts = check
            .check_group(&candidates, vars, case, ctx, &mut usage)
            .await
            .into_iter();
        let results = outputs
            .iter()
            .map(|o| {
                o.as_ref().map(|_| {
                    let verdict = verdicts.next().unwrap_or_else(|| {
                        Verdict::scorer_error("the group scorer returned too few verdicts")
                    });
                    self.result_of(verdict)
                })
            })
            .collect();
        (results, usage)
    }

    /// The placeholder of a group assertion until the row is complete.
    fn pending(&self) -> AssertionResult {
        self.result_of(Verdict::Failed(
            "pending: waits for the other outputs of this row".into(),
        ))
    }

    /// The result of a verdict, with `not-` applied.
    pub(crate) fn result_of(&self, verdict: Verdict) -> AssertionResult {
        match verdict {
            Verdict::Checked(outcome) => self.result(Ok(outcome)),
            Verdict::Failed(reason) => self.result(Err(reason)),
            Verdict::ScorerError { reason, detail } => {
                let mut result = self.result(Err(reason));
                result.detail = detail;
                result.scorer_error = true;
                result
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_the_totals() {
        let usage = GraderUsage {
            calls: 1,
            tokens_in: 10,
            tokens_out: 3,
            cost_usd: 0.9,
            cost_unknown: false,
        };
        let shares = usage.split(3);
        assert_eq!(shares.iter().map(|u| u.tokens_in).sum::<u64>(), 10);
        assert_eq!(shares.iter().map(|u| u.tokens_out).sum::<u64>(), 3);
        assert!(shares.iter().all(|u| u.calls == 1));
        assert!((shares.iter().map(|u| u.cost_usd).sum::<f64>() - 0.9).abs() < 1e-12);
        assert_eq!(shares[0].tokens_in, 4);
        assert_eq!(shares[2].tokens_in, 3);
    }

    fn cell() -> crate::run::events::CellResult {
        serde_json::from_value(serde_json::json!({
            "eval": "e", "prompt": "p@1", "model": "m", "case_id": "1", "vars": {},
            "output": "x", "error": null, "latency_ms": 1.0, "tokens_in": null,
            "tokens_out": null, "cost_usd": null, "pass": true, "score": 1.0,
            "assertions": []
        }))
        .unwrap()
    }

    #[test]
    fn apply_adds_and_unknown_cost_sticks() {
        let mut c = cell();
        GraderUsage::default().apply(&mut c);
        assert_eq!(c.grader_tokens_in, None);
        let known = GraderUsage {
            calls: 1,
            tokens_in: 5,
            tokens_out: 2,
            cost_usd: 0.5,
            cost_unknown: false,
        };
        known.apply(&mut c);
        known.apply(&mut c);
        assert_eq!(
            (c.grader_tokens_in, c.grader_tokens_out),
            (Some(10), Some(4))
        );
        assert_eq!(c.grader_cost_usd, Some(1.0));
        let unknown = GraderUsage {
            cost_unknown: true,
            ..known
        };
        unknown.apply(&mut c);
        assert_eq!(c.grader_cost_usd, None);
        known.apply(&mut c);
        assert_eq!(c.grader_cost_usd, None);
        assert_eq!(c.grader_tokens_in, Some(20));
    }
}
