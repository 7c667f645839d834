//! The model-selection numbers ([`ModelSelection`]): per eval × prompt × model quality
//! with 95% intervals, latency, tokens, cost per 1,000 cases and the Pareto fronts.

use std::collections::HashMap;
use std::io;

use serde::Serialize;

use crate::analysis::eval_groups::{eval_groups, RowIndex};
use crate::analysis::stats::{wilson, Z95};
use crate::analysis::summary::SummaryRow;
use crate::store::{CellHead, ResultSource, RunRecord};

/// A closed interval `[low, high]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// The lower bound.
    pub low: f64,
    /// The upper bound.
    pub high: f64,
}

/// One eval × prompt × model combination, with the numbers to choose between them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Combination {
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
    /// Cells without a scored output.
    pub errors: u64,
    /// `passed / (passed + failed)`; `None` when nothing was scored.
    pub pass_rate: Option<f64>,
    /// The 95% Wilson interval of the pass rate.
    pub pass_rate_ci: Option<Interval>,
    /// The mean case score over scored cells.
    pub score_mean: Option<f64>,
    /// The 95% Student-t interval of the mean score (at least two scored cells).
    pub score_ci: Option<Interval>,
    /// Median latency in milliseconds.
    pub latency_ms_p50: Option<f64>,
    /// 95th percentile latency in milliseconds.
    pub latency_ms_p95: Option<f64>,
    /// Mean prompt tokens per cell, over cells that reported them.
    pub tokens_in_mean: Option<f64>,
    /// Mean completion tokens per cell, over cells that reported them.
    pub tokens_out_mean: Option<f64>,
    /// Total cost of the cells; `None` when a price was unknown.
    pub cost_usd: Option<f64>,
    /// Cost per 1,000 scored cells; `None` when a price was unknown or nothing was scored.
    pub cost_per_1k_usd: Option<f64>,
    /// Scored cells where a scorer failed (counted in `failed` too).
    pub scorer_errors: u64,
    /// Whether a scorer called a model (a judge) for these cells.
    pub grader_calls: bool,
    /// What the scorers' model calls (judges) cost per 1,000 scored cells, apart from
    /// `cost_per_1k_usd` (from the summary's `grader_cost_usd`); `None` without such calls,
    /// or when their price was unknown.
    pub grader_cost_per_1k_usd: Option<f64>,
    /// Whether a simulated user played the cells' conversations (`simulated_user:`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub simulated_user: bool,
    /// What the simulated user's model calls cost per 1,000 scored cells, apart from
    /// `cost_per_1k_usd` (from the summary's `simulated_user`); `None` without one, or
    /// when its price was unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_cost_per_1k_usd: Option<f64>,
    /// On the Pareto front of pass rate vs cost per 1,000 cases (the model's cost: what
    /// using it costs, not what judging it did); `None` when either is unknown.
    pub front_cost: Option<bool>,
    /// On the Pareto front of pass rate vs p50 latency; `None` when either is unknown.
    pub front_latency: Option<bool>,
}

/// One eval's combinations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SelectionEval {
    /// The eval's name.
    pub name: String,
    /// Its prompt × model combinations, in summary order.
    pub candidates: Vec<Combination>,
}

/// The model-selection numbers of a run. What each number means, so every table agrees,
/// is written down in `docs/design.md` ("The model-selection report").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSelection {
    /// The run id.
    pub run_id: String,
    /// The evals, in run order.
    pub evals: Vec<SelectionEval>,
}

/// Per-cell sums that the summary rows do not keep.
#[derive(Default)]
struct Sums {
    scored: u64,
    score_sum: f64,
    score_sq_sum: f64,
    tokens_in: (u64, u64),
    tokens_out: (u64, u64),
}

impl Sums {
    fn add(&mut self, cell: &CellHead<'_>) {
        if !cell.is_error() {
            let score = if cell.score.is_finite() {
                cell.score
            } else {
                0.0
            };
            self.scored += 1;
            self.score_sum += score;
            self.score_sq_sum += score * score;
        }
        if let Some(t) = cell.tokens_in {
            self.tokens_in.0 += t;
            self.tokens_in.1 += 1;
        }
        if let Some(t) = cell.tokens_out {
            self.tokens_out.0 += t;
            self.tokens_out.1 += 1;
        }
    }
}

/// Computes the model-selection numbers of a run, reading its results once (the head
/// of each line only: its texts are not needed).
pub fn compute_selection(
    record: &RunRecord,
    results: &dyn ResultSource,
) -> io::Result<ModelSelection> {
    let groups = eval_groups(record);
    let index = RowIndex::new(&groups);
    let mut sums: HashMap<(usize, usize), Sums> = HashMap::new();
    let mut lines = results.lines()?;
    while let Some(line) = lines.next_line() {
        let cell = CellHead::parse(line?)?;
        if let Some(at) = index.find_names(&cell.eval, &cell.prompt, &cell.model) {
            sums.entry(at).or_default().add(&cell);
        }
    }
    let evals = groups
        .iter()
        .enumerate()
        .map(|(g, group)| {
            let mut candidates: Vec<Combination> = group
                .rows
                .iter()
                .enumerate()
                .map(|(r, row)| combination(row, sums.get(&(g, r))))
                .collect();
            mark_fronts(&mut candidates);
            SelectionEval {
                name: group.name.to_string(),
                candidates,
            }
        })
        .collect();
    Ok(ModelSelection {
        run_id: record.run_id.clone(),
        evals,
    })
}

fn combination(row: &SummaryRow, sums: Option<&Sums>) -> Combination {
    let scored = row.passed + row.failed;
    let pass_rate_ci = (scored > 0).then(|| {
        let (low, high) = wilson(row.passed, scored, Z95);
        // Rounding leaves ~1e-17 where the bound is exactly 0 or 1; a table must not show
        // that as "0.1%".
        let snap = |v: f64| {
            if v.abs() < 1e-9 {
                0.0
            } else if (1.0 - v).abs() < 1e-9 {
                1.0
            } else {
                v
            }
        };
        Interval {
            low: snap(low),
            high: snap(high),
        }
    });
    let score_ci = sums.and_then(|s| mean_interval(s.scored, s.score_sum, s.score_sq_sum));
    let mean = |(sum, n): (u64, u64)| (n > 0).then(|| sum as f64 / n as f64);
    let per_1k = |cost: Option<f64>| {
        cost.filter(|c| c.is_finite() && scored > 0)
            .map(|c| c / scored as f64 * 1000.0)
    };
    Combination {
        eval: row.eval.clone(),
        prompt: row.prompt.clone(),
        model: row.model.clone(),
        cases: row.cases,
        passed: row.passed,
        failed: row.failed,
        errors: row.errors,
        pass_rate: row.pass_rate,
        pass_rate_ci,
        score_mean: row.score_mean,
        score_ci,
        latency_ms_p50: row.latency_ms_p50,
        latency_ms_p95: row.latency_ms_p95,
        tokens_in_mean: sums.and_then(|s| mean(s.tokens_in)),
        tokens_out_mean: sums.and_then(|s| mean(s.tokens_out)),
        cost_usd: row.cost_usd,
        cost_per_1k_usd: per_1k(row.cost_usd),
        scorer_errors: row.scorer_errors,
        grader_calls: row.has_grader_calls(),
        grader_cost_per_1k_usd: per_1k(row.grader_cost_usd),
        simulated_user: row.simulated_user.is_some(),
        user_cost_per_1k_usd: per_1k(row.simulated_user.as_ref().and_then(|u| u.cost_usd)),
        front_cost: None,
        front_latency: None,
    }
}

fn mark_fronts(candidates: &mut [Combination]) {
    let by_cost: Vec<Option<(f64, f64)>> = candidates
        .iter()
        .map(|c| Some((c.pass_rate?, c.cost_per_1k_usd?)))
        .collect();
    let by_latency: Vec<Option<(f64, f64)>> = candidates
        .iter()
        .map(|c| Some((c.pass_rate?, c.latency_ms_p50?)))
        .collect();
    for ((c, on_cost), on_latency) in candidates
        .iter_mut()
        .zip(pareto_front(&by_cost))
        .zip(pareto_front(&by_latency))
    {
        c.front_cost = on_cost;
        c.front_latency = on_latency;
    }
}

/// Which points are on the Pareto front of `(quality, expense)` — quality higher is
/// better, expense lower is better. A point is on the front when no other point is at
/// least as good on both and strictly better on one; equal points are all on it. `None`
/// points (a value unknown) take no part and stay `None`.
///
/// ```
/// use prompteval::analysis::model_selection::pareto_front;
/// let points = [Some((0.9, 10.0)), Some((0.8, 1.0)), Some((0.7, 5.0)), None];
/// assert_eq!(pareto_front(&points), [Some(true), Some(true), Some(false), None]);
/// ```
pub fn pareto_front(points: &[Option<(f64, f64)>]) -> Vec<Option<bool>> {
    const EPS: f64 = 1e-12;
    points
        .iter()
        .map(|p| {
            let (q, x) = (*p)?;
            let dominated = points
                .iter()
                .flatten()
                .any(|&(oq, ox)| oq >= q - EPS && ox <= x + EPS && (oq > q + EPS || ox < x - EPS));
            Some(!dominated)
        })
        .collect()
}

/// The 95% Student-t interval of a mean from `n` values with the given sum and sum of
/// squares, clipped to `[0, 1]` (scores live there). `None` below two values.
fn mean_interval(n: u64, sum: f64, sq_sum: f64) -> Option<Interval> {
    if n < 2 {
        return None;
    }
    let n_f = n as f64;
    let mean = sum / n_f;
    // The sample variance; clamped because rounding can make it slightly negative.
    let var = ((sq_sum - n_f * mean * mean) / (n_f - 1.0)).max(0.0);
    let half = t975(n - 1) * (var / n_f).sqrt();
    Some(Interval {
        low: (mean - half).clamp(0.0, 1.0),
        high: (mean + half).clamp(0.0, 1.0),
    })
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (`df` ≥ 1): exact table
/// values up to 30, then the Cornish-Fisher expansion (error below 1e-6 from 30 on).
fn t975(df: u64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706_205, 4.302_653, 3.182_446, 2.776_445, 2.570_582, 2.446_912, 2.364_624, 2.306_004,
        2.262_157, 2.228_139, 2.200_985, 2.178_813, 2.160_369, 2.144_787, 2.131_450, 2.119_905,
        2.109_816, 2.100_922, 2.093_024, 2.085_963, 2.079_614, 2.073_873, 2.068_658, 2.063_899,
        2.059_539, 2.055_529, 2.051_831, 2.048_407, 2.045_230, 2.042_272,
    ];
    if df == 0 {
        return f64::INFINITY;
    }
    if let Some(t) = TABLE.get(df as usize - 1) {
        return *t;
    }
    let z = Z95;
    let v = df as f64;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * v)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * v.powi(4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn t_quantiles_match_published_tables() {
        // scipy.stats.t.ppf(0.975, df)
        for (df, t) in [
            (1, 12.706_205),
            (10, 2.228_139),
            (30, 2.042_272),
            (40, 2.021_075),
            (60, 2.000_298),
            (120, 1.979_930),
        ] {
            assert!((t975(df) - t).abs() < 2e-6, "df {df}: {} != {t}", t975(df));
        }
        assert!((t975(1_000_000) - Z95).abs() < 1e-5);
    }

    #[test]
    fn mean_interval_is_the_t_interval() {
        // Scores 0, 0.5, 1, 1: mean 0.625, s = 0.478714, half = 3.182446 * s / 2.
        let xs: [f64; 4] = [0.0, 0.5, 1.0, 1.0];
        let sum: f64 = xs.iter().sum();
        let sq: f64 = xs.iter().map(|x| x * x).sum();
        let ci = mean_interval(4, sum, sq).unwrap();
        assert!((ci.low - 0.0).abs() < 1e-9, "clipped at 0: {ci:?}");
        assert!((ci.high - 1.0).abs() < 1e-9, "clipped at 1: {ci:?}");
        let xs: Vec<f64> = (0..20).map(|i| 0.5 + 0.01 * (i % 5) as f64).collect();
        let sum: f64 = xs.iter().sum();
        let sq: f64 = xs.iter().map(|x| x * x).sum();
        let ci = mean_interval(20, sum, sq).unwrap();
        // mean 0.52, sd 0.0145095 → half 2.093024 * 0.0145095 / sqrt(20) = 0.0067906.
        assert!((ci.low - (0.52 - 0.006_790_6)).abs() < 1e-6, "{ci:?}");
        assert!((ci.high - (0.52 + 0.006_790_6)).abs() < 1e-6, "{ci:?}");
        assert_eq!(mean_interval(1, 1.0, 1.0), None);
    }

    #[test]
    fn pareto_front_rules() {
        let p = |q, x| Some((q, x));
        // Dominated on both, dominated on one with a tie on the other, duplicates.
        let points = [
            p(0.9, 10.0),
            p(0.8, 1.0),
            p(0.7, 5.0),
            p(0.8, 2.0),
            p(0.9, 10.0),
            None,
        ];
        assert_eq!(
            pareto_front(&points),
            [
                Some(true),
                Some(true),
                Some(false),
                Some(false),
                Some(true),
                None
            ]
        );
        assert_eq!(pareto_front(&[p(0.5, 0.0)]), [Some(true)]);
        assert!(pareto_front(&[]).is_empty());
    }

    #[test]
    fn fixture_selection() {
        let (record, results) = fixture::small();
        let selection = compute_selection(&record, &results).unwrap();
        assert_eq!(selection.evals.len(), 2);
        let sentiment = &selection.evals[0].candidates;
        assert_eq!(sentiment.len(), 4);
        // sentiment@1 × echo: 3 of 4 pass, free.
        let c = &sentiment[0];
        assert_eq!(
            (c.prompt.as_str(), c.model.as_str()),
            ("sentiment@1", "echo")
        );
        assert_eq!(c.pass_rate, Some(0.75));
        let ci = c.pass_rate_ci.unwrap();
        assert!((ci.low - 0.300_641).abs() < 1e-5 && (ci.high - 0.954_414).abs() < 1e-5);
        assert_eq!(c.cost_per_1k_usd, Some(0.0));
        assert_eq!(c.tokens_in_mean, Some(42.0));
        // sentiment@2 × echo is perfect and free: it dominates everything on cost.
        let fronts: Vec<_> = sentiment.iter().map(|c| c.front_cost).collect();
        assert_eq!(fronts, [Some(false), Some(false), Some(true), Some(false)]);
        // gemma-local costs 0.000041 a cell: 0.041 per 1,000.
        let gemma = &sentiment[3];
        assert!((gemma.cost_per_1k_usd.unwrap() - 0.041).abs() < 1e-12);
        // capitals: unknown price → unknown cost, never 0, and no cost front.
        let capitals = &selection.evals[1].candidates[0];
        assert_eq!(capitals.cost_usd, None);
        assert_eq!(capitals.cost_per_1k_usd, None);
        assert_eq!(capitals.front_cost, None);
        assert_eq!(capitals.front_latency, Some(true));
        assert!(capitals.score_ci.is_some());
        // A perfect row's interval ends exactly at 1, and a hopeless one's starts at 0.
        let perfect = sentiment[2].pass_rate_ci.unwrap();
        assert_eq!(perfect.high, 1.0);
        let mut none = record.summary[0].clone();
        (none.passed, none.failed) = (0, 3);
        assert_eq!(combination(&none, None).pass_rate_ci.unwrap().low, 0.0);
    }
}
