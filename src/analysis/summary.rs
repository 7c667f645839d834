//! Per eval × prompt × model statistics, accumulated cell by cell so that memory does not
//! grow with the outputs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::Stopped;
use crate::analysis::repeats::{RepeatCounter, RepeatStats};
use crate::run::events::{AssertionResult, CellResult, CellStatus};
use crate::score::bleu::{self, BleuStats};

/// One line of the summary table and of the run record's `summary`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// The eval's name.
    pub eval: String,
    /// The prompt reference as resolved (`sentiment@2`).
    pub prompt: String,
    /// The model (provider) name.
    pub model: String,
    /// Cells run (cases × repeats).
    pub cases: u64,
    /// Cells whose assertions held.
    pub passed: u64,
    /// Cells with a failed assertion.
    pub failed: u64,
    /// Cells without a scored output (provider or render errors).
    pub errors: u64,
    /// `passed / (passed + failed)`; errors are counted apart. `None` when nothing was scored.
    pub pass_rate: Option<f64>,
    /// Mean case score over scored cells.
    pub score_mean: Option<f64>,
    /// Median latency in milliseconds over cells with an output.
    pub latency_ms_p50: Option<f64>,
    /// 95th percentile latency in milliseconds.
    pub latency_ms_p95: Option<f64>,
    /// Whether the latency percentiles come from bins, within 0.05% of the exact ones:
    /// a row of more than 65,536 cells (`analysis::latencies`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub latency_binned: bool,
    /// Total prompt tokens reported.
    pub tokens_in: u64,
    /// Total completion tokens reported.
    pub tokens_out: u64,
    /// Total cost; `None` when any cell's price was unknown.
    pub cost_usd: Option<f64>,
    /// Corpus BLEU (sacrebleu's `corpus_bleu`, 0–100) of the outputs against their
    /// references, from each scored cell's first `bleu` assertion; `None` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus_bleu: Option<f64>,
    /// Cells whose response came from the response cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cached: u64,
    /// Per-case statistics across repeats (pass@k, flaky cases), when cases were repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<RepeatStats>,
    /// Mean score per named metric (`metric:` on an assertion, also inside an
    /// `assert-set`) over the scored cells' assertions of that name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    /// Scored cells where a scorer failed (a judge reply that could not be parsed, an
    /// external scorer that crashed): counted in `failed` too, but not a quality verdict.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub scorer_errors: u64,
    /// Total prompt tokens of scorer model calls (judges), apart from `tokens_in`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub grader_tokens_in: u64,
    /// Total completion tokens of scorer model calls.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub grader_tokens_out: u64,
    /// Total cost of scorer model calls; `None` when there were none or a price was unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader_cost_usd: Option<f64>,
    /// The trajectories' figures, when cells of this row ran an agent loop; absent (and
    /// not written) otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentStats>,
    /// What the simulated user of its conversations took (`simulated_user:`), apart from
    /// the model's figures; absent (and not written) when no cell of the row had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated_user: Option<UserStats>,
}

/// What the simulated users of one summary row's conversations took, over its cells that
/// had one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserStats {
    /// Cells whose conversation a simulated user played.
    pub cells: u64,
    /// Its model calls over those cells.
    pub calls: u64,
    /// Prompt tokens its calls reported.
    pub tokens_in: u64,
    /// Completion tokens its calls reported.
    pub tokens_out: u64,
    /// Its cost in US dollars; `None` when any call's price was unknown.
    pub cost_usd: Option<f64>,
}

/// What the agent loops of one summary row took, over its cells with steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentStats {
    /// Cells that ran an agent loop (had steps).
    pub cells: u64,
    /// Mean model calls per such cell.
    pub steps_mean: f64,
    /// Mean tool calls per such cell.
    pub tool_calls_mean: f64,
    /// The share of such cells stopped at `max_steps` (still calling tools), in `[0, 1]`.
    pub stopped_max_steps: f64,
}

impl SummaryRow {
    /// Whether any scorer called a model (a judge, an embedder) for this row.
    pub fn has_grader_calls(&self) -> bool {
        self.grader_tokens_in + self.grader_tokens_out > 0 || self.grader_cost_usd.is_some()
    }

    /// The row's cost with its scorers' model calls: `cost_usd` plus `grader_cost_usd`;
    /// `None` when either price is unknown.
    pub fn cost_with_graders_usd(&self) -> Option<f64> {
        self.cost_with(self.grader_cost_usd, self.has_grader_calls())
    }

    /// The row's cost with its simulated users' calls: `cost_usd` plus theirs; `None` when
    /// either price is unknown.
    pub fn cost_with_user_usd(&self) -> Option<f64> {
        match &self.simulated_user {
            Some(user) => self.cost_with(user.cost_usd, true),
            None => self.cost_usd,
        }
    }

    /// `cost_usd` plus `other` (a side's cost, `None` when unknown or absent); `None` when
    /// either is unknown, the side counting only when it made calls.
    fn cost_with(&self, other: Option<f64>, called: bool) -> Option<f64> {
        let other = match other {
            Some(cost) => cost,
            None if called => return None,
            None => 0.0,
        };
        self.cost_usd.map(|cost| cost + other)
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Default)]
struct Acc {
    passed: u64,
    failed: u64,
    errors: u64,
    score_sum: f64,
    latencies: super::latencies::Latencies,
    tokens_in: u64,
    tokens_out: u64,
    cost: f64,
    cost_unknown: bool,
    bleu: Option<BleuStats>,
    cached: u64,
    repeats: RepeatCounter,
    /// The eval does not repeat its cases: no per-case counts are kept (they would grow
    /// with the dataset and yield no statistics).
    unrepeated: bool,
    /// Per metric name: score sum and count.
    metrics: BTreeMap<String, (f64, u64)>,
    scorer_errors: u64,
    grader_tokens_in: u64,
    grader_tokens_out: u64,
    grader_cost: Option<f64>,
    grader_cost_unknown: bool,
    /// Agent cells: how many, their steps, their tool calls, and those stopped at
    /// `max_steps`.
    agent_cells: u64,
    agent_steps: u64,
    agent_calls: u64,
    agent_stopped: u64,
    /// The simulated users' figures, once a cell had one; whether a price was unknown.
    user: Option<UserStats>,
    user_cost_unknown: bool,
}

/// Builds the summary from cell results as they arrive.
///
/// Row order is the order in which each eval × prompt × model was first declared with
/// [`SummaryBuilder::declare`], so tables follow the eval file, not completion order.
#[derive(Default)]
pub struct SummaryBuilder {
    /// Every row's key and accumulator, in declaration order.
    rows: Vec<((String, String, String), Acc)>,
    /// The row the last cell went to: cells of one row mostly arrive together.
    last: usize,
}

impl SummaryBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a row so it appears (in this order) even if none of its cells finish.
    pub fn declare(&mut self, eval: &str, prompt: &str, model: &str) {
        self.index(eval, prompt, model);
    }

    /// Says that `eval` runs each case once (its `repeat` is 1), so its rows keep no
    /// per-case counts: their memory would grow with the dataset for statistics that need
    /// two repeats at least. Declare the rows first; a cell of `eval` with a repeat index
    /// above 0 must not be added.
    pub fn unrepeated(&mut self, eval: &str) {
        for ((e, _, _), acc) in &mut self.rows {
            if e == eval {
                acc.unrepeated = true;
            }
        }
    }

    /// The position of a row in `rows`, added at the end when it is new.
    fn index(&mut self, eval: &str, prompt: &str, model: &str) -> usize {
        let is = |((e, p, m), _): &((String, String, String), Acc)| {
            e == eval && p == prompt && m == model
        };
        if self.rows.get(self.last).is_some_and(is) {
            return self.last;
        }
        self.last = match self.rows.iter().position(is) {
            Some(i) => i,
            None => {
                let key = (eval.to_string(), prompt.to_string(), model.to_string());
                self.rows.push((key, Acc::default()));
                self.rows.len() - 1
            }
        };
        self.last
    }

    /// Adds one finished cell.
    pub fn add(&mut self, cell: &CellResult) {
        let i = self.index(&cell.eval, &cell.prompt, &cell.model);
        let acc = &mut self.rows[i].1;
        match cell.status() {
            CellStatus::Pass => acc.passed += 1,
            CellStatus::Fail => acc.failed += 1,
            CellStatus::Error => acc.errors += 1,
        }
        if cell.error.is_none() {
            add_metrics(&mut acc.metrics, &cell.assertions);
            acc.score_sum += cell.score;
            acc.latencies.push(cell.latency_ms);
            match cell.cost_usd {
                Some(cost) => acc.cost += cost,
                None => acc.cost_unknown = true,
            }
            if let Some(stats) = bleu::stats_of(&cell.assertions) {
                acc.bleu.get_or_insert_with(BleuStats::default).add(&stats);
            }
        }
        acc.tokens_in += cell.tokens_in.unwrap_or(0);
        acc.tokens_out += cell.tokens_out.unwrap_or(0);
        acc.cached += u64::from(cell.cached);
        if !acc.unrepeated {
            acc.repeats.add(
                &cell.case_id,
                cell.repeat,
                cell.error.is_none(),
                cell.status() == CellStatus::Pass,
            );
        }
        if cell.has_scorer_error() {
            acc.scorer_errors += 1;
        }
        if !cell.steps.is_empty() {
            acc.agent_cells += 1;
            acc.agent_steps += cell.steps.len() as u64;
            acc.agent_calls += cell
                .steps
                .iter()
                .map(|s| s.tool_calls.len() as u64)
                .sum::<u64>();
            acc.agent_stopped += u64::from(cell.stopped == Some(Stopped::MaxSteps));
        }
        if let Some(user) = &cell.simulated_user {
            let stats = acc.user.get_or_insert_with(|| UserStats {
                cost_usd: Some(0.0),
                ..UserStats::default()
            });
            stats.cells += 1;
            stats.calls += u64::from(user.calls);
            stats.tokens_in += user.tokens_in.unwrap_or(0);
            stats.tokens_out += user.tokens_out.unwrap_or(0);
            match user.cost_usd {
                Some(cost) => stats.cost_usd = stats.cost_usd.map(|c| c + cost),
                None => acc.user_cost_unknown = true,
            }
        }
        if cell.grader_tokens_in.is_some() || cell.grader_tokens_out.is_some() {
            acc.grader_tokens_in += cell.grader_tokens_in.unwrap_or(0);
            acc.grader_tokens_out += cell.grader_tokens_out.unwrap_or(0);
            match cell.grader_cost_usd {
                Some(cost) => *acc.grader_cost.get_or_insert(0.0) += cost,
                None => acc.grader_cost_unknown = true,
            }
        }
    }

    /// The summary rows, in declaration order.
    pub fn finish(self) -> Vec<SummaryRow> {
        self.rows
            .into_iter()
            .map(|(key, mut acc)| {
                let scored = acc.passed + acc.failed;
                let (eval, prompt, model) = key;
                let agent = agent_stats(&acc);
                let simulated_user = acc.user.take().map(|mut user| {
                    if acc.user_cost_unknown {
                        user.cost_usd = None;
                    }
                    user
                });
                SummaryRow {
                    eval,
                    prompt,
                    model,
                    cases: scored + acc.errors,
                    passed: acc.passed,
                    failed: acc.failed,
                    errors: acc.errors,
                    pass_rate: (scored > 0).then(|| acc.passed as f64 / scored as f64),
                    score_mean: (scored > 0).then(|| acc.score_sum / scored as f64),
                    latency_ms_p50: acc.latencies.percentile(0.50),
                    latency_ms_p95: acc.latencies.percentile(0.95),
                    latency_binned: acc.latencies.binned(),
                    tokens_in: acc.tokens_in,
                    tokens_out: acc.tokens_out,
                    cost_usd: (scored > 0 && !acc.cost_unknown).then_some(acc.cost),
                    corpus_bleu: acc.bleu.map(|s| s.score(false)),
                    cached: acc.cached,
                    repeats: acc.repeats.finish(),
                    metrics: acc
                        .metrics
                        .into_iter()
                        .map(|(name, (sum, n))| (name, sum / n as f64))
                        .collect(),
                    scorer_errors: acc.scorer_errors,
                    grader_tokens_in: acc.grader_tokens_in,
                    grader_tokens_out: acc.grader_tokens_out,
                    grader_cost_usd: acc.grader_cost.filter(|_| !acc.grader_cost_unknown),
                    agent,
                    simulated_user,
                }
            })
            .collect()
    }
}

/// The agent figures of a row, `None` when none of its cells had steps.
fn agent_stats(acc: &Acc) -> Option<AgentStats> {
    let cells = acc.agent_cells;
    (cells > 0).then(|| AgentStats {
        cells,
        steps_mean: acc.agent_steps as f64 / cells as f64,
        tool_calls_mean: acc.agent_calls as f64 / cells as f64,
        stopped_max_steps: acc.agent_stopped as f64 / cells as f64,
    })
}

/// Adds the scores of named assertions, and of the named members of `assert-set` groups
/// (kept in the group's `detail.assertions`).
fn add_metrics(metrics: &mut BTreeMap<String, (f64, u64)>, results: &[AssertionResult]) {
    for result in results {
        if let Some(name) = &result.metric {
            let entry = metrics.entry(name.clone()).or_default();
            entry.0 += result.score;
            entry.1 += 1;
        }
        if result.kind != "assert-set" {
            continue;
        }
        let members = result.detail.as_ref().and_then(|d| d.get("assertions"));
        if let Some(members) = members {
            if let Ok(members) = Vec::<AssertionResult>::deserialize(members) {
                add_metrics(metrics, &members);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn cell(prompt: &str, pass: bool, error: bool, latency: f64) -> CellResult {
        CellResult {
            steps: Vec::new(),
            stopped: None,
            simulated_user: None,
            eval: "e".into(),
            prompt: prompt.into(),
            model: "echo".into(),
            case_id: "1".into(),
            repeat: 0,
            vars: Arc::new(Default::default()),
            output: (!error).then(|| "x".into()),
            error: error.then(|| "boom".into()),
            tool_calls: Vec::new(),
            finish_reason: None,
            latency_ms: latency,
            queue_ms: None,
            tokens_in: Some(3),
            tokens_out: Some(1),
            cost_usd: None,
            cached: false,
            pass,
            score: if pass { 1.0 } else { 0.0 },
            assertions: vec![],
            grader_tokens_in: None,
            grader_tokens_out: None,
            grader_cost_usd: None,
        }
    }

    #[test]
    fn errors_are_counted_apart_from_failures() {
        let mut b = SummaryBuilder::new();
        b.declare("e", "p@2", "echo");
        b.declare("e", "p@1", "echo");
        b.add(&cell("p@1", true, false, 10.0));
        b.add(&cell("p@1", false, false, 20.0));
        b.add(&cell("p@1", false, true, 30.0));
        let rows = b.finish();
        assert_eq!(rows[0].prompt, "p@2");
        assert_eq!(rows[0].cases, 0);
        assert_eq!(rows[0].pass_rate, None);
        let r = &rows[1];
        assert_eq!((r.cases, r.passed, r.failed, r.errors), (3, 1, 1, 1));
        assert_eq!(r.pass_rate, Some(0.5));
        assert_eq!(r.latency_ms_p50, Some(10.0));
        assert_eq!(r.latency_ms_p95, Some(20.0));
        assert_eq!(r.tokens_in, 9);
        assert_eq!(r.cost_usd, None);
    }

    /// Issue 19: an eval that does not repeat keeps no per-case counts, and its rows read
    /// as before; a repeated eval beside it still gets its statistics.
    #[test]
    fn an_unrepeated_eval_keeps_no_per_case_counts() {
        let mut b = SummaryBuilder::new();
        b.declare("e", "p@1", "echo");
        b.declare("r", "p@1", "echo");
        b.unrepeated("e");
        for (id, pass) in [("1", true), ("2", false)] {
            let mut c = cell("p@1", pass, false, 1.0);
            c.case_id = id.into();
            b.add(&c);
        }
        for (repeat, pass) in [(0, true), (1, false)] {
            let mut c = cell("p@1", pass, false, 1.0);
            c.eval = "r".into();
            c.repeat = repeat;
            b.add(&c);
        }
        assert!(b.rows[0].1.repeats.finish().is_none());
        assert!(b.rows[0].1.unrepeated && !b.rows[1].1.unrepeated);
        let rows = b.finish();
        assert_eq!((rows[0].cases, rows[0].passed), (2, 1));
        assert_eq!(rows[0].repeats, None);
        let repeats = rows[1].repeats.as_ref().unwrap();
        assert_eq!((repeats.repeats, repeats.cases), (2, 1));
        assert_eq!(repeats.flaky.len(), 1);
    }

    fn named(kind: &str, metric: Option<&str>, score: f64) -> AssertionResult {
        AssertionResult {
            kind: kind.into(),
            pass: score >= 0.5,
            score,
            reason: String::new(),
            metric: metric.map(Into::into),
            weight: 1.0,
            detail: None,
            scorer_error: false,
        }
    }

    #[test]
    fn named_metrics_are_averaged_per_row_including_set_members() {
        let mut b = SummaryBuilder::new();
        let mut first = cell("p@1", true, false, 1.0);
        let mut group = named("assert-set", Some("format"), 0.5);
        group.detail = Some(serde_json::json!({"assertions": [
            named("contains", Some("accuracy"), 0.0),
            named("is-json", None, 1.0),
        ]}));
        first.assertions = vec![named("contains", Some("accuracy"), 1.0), group];
        let mut second = cell("p@1", false, false, 1.0);
        second.assertions = vec![named("contains", Some("accuracy"), 0.5)];
        let mut errored = cell("p@1", false, true, 1.0);
        errored.assertions = vec![named("contains", Some("accuracy"), 0.0)];
        let mut other = cell("p@2", true, false, 1.0);
        other.assertions = vec![named("contains", None, 1.0)];
        for c in [&first, &second, &errored, &other] {
            b.add(c);
        }
        let rows = b.finish();
        let m = &rows[0].metrics;
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m["accuracy"], 0.5, "errored cells are not scored");
        assert_eq!(m["format"], 0.5);
        assert!(rows[1].metrics.is_empty());
        let json = serde_json::to_value(&rows[1]).unwrap();
        assert!(
            json.get("metrics").is_none(),
            "no empty `metrics` in the record"
        );
        let json = serde_json::to_value(&rows[0]).unwrap();
        assert_eq!(json["metrics"]["accuracy"], 0.5);
    }

    #[test]
    fn corpus_bleu_adds_the_statistics_of_scored_cells() {
        use crate::run::events::AssertionResult;
        let with_bleu = |hyp: &str, reference: &str, error: bool| {
            let mut c = cell("p@1", true, error, 1.0);
            let stats = bleu::bleu_stats(hyp, &[reference]);
            c.assertions = vec![AssertionResult {
                kind: "bleu".into(),
                pass: true,
                score: 0.0,
                reason: String::new(),
                metric: None,
                weight: 1.0,
                detail: Some(serde_json::to_value(stats).unwrap()),
                scorer_error: false,
            }];
            c
        };
        let mut b = SummaryBuilder::new();
        b.declare("e", "p@2", "echo");
        b.add(&with_bleu(
            "the cat sat on the mat",
            "the cat sat on a mat",
            false,
        ));
        b.add(&with_bleu("a dog ran", "the dog ran away", false));
        b.add(&with_bleu("ignored", "because the cell errored", true));
        let rows = b.finish();
        assert_eq!(rows[0].corpus_bleu, None);
        let want = bleu::corpus_bleu(&[
            bleu::bleu_stats("the cat sat on the mat", &["the cat sat on a mat"]),
            bleu::bleu_stats("a dog ran", &["the dog ran away"]),
        ]);
        assert_eq!(rows[1].corpus_bleu, Some(want));
        assert!(want > 0.0 && want < 100.0, "{want}");
        let json = serde_json::to_value(&rows[1]).unwrap();
        assert_eq!(json["corpus_bleu"], want);
        assert!(serde_json::to_value(&rows[0])
            .unwrap()
            .get("corpus_bleu")
            .is_none());
    }

    #[test]
    fn agent_cells_give_mean_steps_calls_and_the_share_stopped() {
        use crate::agent::Step;
        use crate::tools::ToolCall;
        let step = |calls: usize| Step {
            tool_calls: (0..calls)
                .map(|i| ToolCall::from_raw(i.to_string(), "f", "{}"))
                .collect(),
            ..Step::default()
        };
        let mut b = SummaryBuilder::new();
        b.add(&cell("plain", true, false, 1.0));
        let mut short = cell("agent", true, false, 1.0);
        short.steps = vec![step(1), step(0)];
        let mut long = cell("agent", false, false, 1.0);
        long.steps = vec![step(2), step(1), step(1), step(1)];
        long.stopped = Some(Stopped::MaxSteps);
        b.add(&short);
        b.add(&long);
        b.add(&cell("agent", false, true, 0.0));
        let rows = b.finish();
        assert_eq!(rows[0].agent, None, "no steps, no agent figures");
        assert!(serde_json::to_value(&rows[0])
            .unwrap()
            .get("agent")
            .is_none());
        let agent = rows[1].agent.as_ref().unwrap();
        assert_eq!(agent.cells, 2, "the error cell had no steps");
        assert_eq!(agent.steps_mean, 3.0);
        assert_eq!(agent.tool_calls_mean, 3.0);
        assert_eq!(agent.stopped_max_steps, 0.5);
    }

    #[test]
    fn simulated_users_are_summed_apart_and_an_unknown_price_stays_unknown() {
        use crate::run::conversation::UserUsage;
        let user = |cost: Option<f64>| UserUsage {
            provider: "customer".into(),
            calls: 3,
            tokens_in: Some(30),
            tokens_out: Some(6),
            cost_usd: cost,
            ..UserUsage::default()
        };
        let mut b = SummaryBuilder::new();
        b.add(&cell("plain", true, false, 1.0));
        for (prompt, cost) in [
            ("priced", Some(0.25)),
            ("priced", Some(0.5)),
            ("unknown", None),
        ] {
            let mut c = cell(prompt, true, false, 1.0);
            c.cost_usd = Some(1.0);
            c.simulated_user = Some(user(cost));
            b.add(&c);
        }
        let mut known = cell("unknown", true, false, 1.0);
        known.simulated_user = Some(user(Some(1.0)));
        b.add(&known);
        let rows = b.finish();
        assert_eq!(rows[0].simulated_user, None);
        assert!(serde_json::to_value(&rows[0])
            .unwrap()
            .get("simulated_user")
            .is_none());
        let priced = rows[1].simulated_user.as_ref().unwrap();
        assert_eq!((priced.cells, priced.calls, priced.tokens_in), (2, 6, 60));
        assert_eq!(priced.cost_usd, Some(0.75));
        assert_eq!(rows[1].cost_with_user_usd(), Some(2.75));
        assert_eq!(rows[2].simulated_user.as_ref().unwrap().cost_usd, None);
        assert_eq!(rows[2].cost_with_user_usd(), None, "unknown, never $0");
        assert_eq!(rows[0].cost_with_user_usd(), rows[0].cost_usd);
    }

    #[test]
    fn percentile_nearest_rank() {
        let mut v = crate::analysis::latencies::Latencies::default();
        (1..=100).rev().for_each(|i| v.push(f64::from(i)));
        assert_eq!(v.percentile(0.5), Some(50.0));
        assert_eq!(v.percentile(0.95), Some(95.0));
        let mut one = crate::analysis::latencies::Latencies::default();
        one.push(7.0);
        assert_eq!(one.percentile(0.95), Some(7.0));
    }
}
