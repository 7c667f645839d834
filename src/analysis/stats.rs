//! Statistics for honest comparisons: confidence intervals for pass rates, the exact
//! McNemar test for paired pass/fail outcomes, the Newcombe interval for a difference of
//! rates and a paired bootstrap for a difference of mean scores.
//!
//! Pure functions, no I/O. The baseline gate and the model-selection report both read
//! their intervals from here so that every table agrees. Reference values come from
//! scipy and statsmodels (`scripts/gen-stats-fixtures.sh` → `tests/fixtures/stats/`).

/// The two-sided 95% normal quantile used by [`wilson`].
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval for `successes` out of `n` at normal quantile `z`
/// (use [`Z95`] for 95%). Returns `(low, high)` within `[0, 1]`; `(0, 1)` when `n` is 0.
///
/// Matches `statsmodels.stats.proportion.proportion_confint(method="wilson")`.
///
/// ```
/// let (lo, hi) = prompteval::analysis::stats::wilson(8, 10, prompteval::analysis::stats::Z95);
/// assert!((lo - 0.490_162).abs() < 1e-5 && (hi - 0.943_318).abs() < 1e-5);
/// ```
pub fn wilson(successes: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = successes.min(n) as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The exact McNemar test on the discordant pairs of a paired comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct McNemar {
    /// Pairs that went from pass (before) to fail (after).
    pub b: u64,
    /// Pairs that went from fail (before) to pass (after).
    pub c: u64,
    /// The two-sided exact p-value: twice the binomial tail of `min(b, c)` out of `b + c`
    /// at one half, capped at 1. 1 when there are no discordant pairs.
    pub p_value: f64,
    /// The mid-p variant (Fagerland, Lydersen & Laake 2013): `p_value` minus the point
    /// probability of the observed split; less conservative, still close to nominal.
    pub mid_p: f64,
}

/// The exact (binomial) McNemar test for `b` pass→fail and `c` fail→pass pairs.
///
/// Matches `statsmodels.stats.contingency_tables.mcnemar(table, exact=True)` and
/// `scipy.stats.binomtest(min(b, c), b + c, 0.5)`.
///
/// ```
/// let t = prompteval::analysis::stats::mcnemar_exact(0, 6);
/// assert!((t.p_value - 0.03125).abs() < 1e-12);
/// ```
pub fn mcnemar_exact(b: u64, c: u64) -> McNemar {
    let n = b + c;
    if n == 0 {
        return McNemar {
            b,
            c,
            p_value: 1.0,
            mid_p: 1.0,
        };
    }
    let k = b.min(c);
    let (cdf, pmf) = binomial_half_tail(k, n);
    McNemar {
        b,
        c,
        p_value: (2.0 * cdf).min(1.0),
        mid_p: (2.0 * cdf - pmf).clamp(0.0, 1.0),
    }
}

/// The smallest two-sided exact McNemar p-value that `n` discordant pairs can give (all of
/// them in one direction): below `alpha`, a significant result is possible at all.
pub fn min_mcnemar_p(n: u64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    (2.0 * (-(n as f64) * std::f64::consts::LN_2).exp()).min(1.0)
}

/// `(P(X <= k), P(X = k))` for `X ~ Binomial(n, 1/2)`, summed in log space so that large
/// `n` neither underflows nor loses precision.
fn binomial_half_tail(k: u64, n: u64) -> (f64, f64) {
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_terms = Vec::with_capacity(k as usize + 1);
    let mut ln_choose = 0.0_f64;
    for i in 0..=k {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        ln_terms.push(ln_choose + ln_half_n);
    }
    let max = ln_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = ln_terms.iter().map(|t| (t - max).exp()).sum();
    let cdf = (max + sum.ln()).exp();
    let pmf = ln_terms.last().map_or(0.0, |t| t.exp());
    (cdf.min(1.0), pmf)
}

/// Newcombe's hybrid score interval (his method 10) for the difference of two independent
/// rates `k1/n1 - k2/n2`, built from the two Wilson intervals at normal quantile `z`.
///
/// Matches `statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb",
/// compare="diff")`. For the same cases run twice the samples are paired, and ignoring the
/// pairing makes this interval somewhat wider than necessary: a conservative choice.
/// `(-1, 1)` when either side is empty.
pub fn newcombe_diff(k1: u64, n1: u64, k2: u64, n2: u64, z: f64) -> (f64, f64) {
    if n1 == 0 || n2 == 0 {
        return (-1.0, 1.0);
    }
    let p1 = k1.min(n1) as f64 / n1 as f64;
    let p2 = k2.min(n2) as f64 / n2 as f64;
    let (l1, u1) = wilson(k1, n1, z);
    let (l2, u2) = wilson(k2, n2, z);
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    (low.max(-1.0), high.min(1.0))
}

/// A bootstrap estimate with its percentile interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BootstrapInterval {
    /// The statistic on the data itself.
    pub estimate: f64,
    /// The lower percentile bound.
    pub low: f64,
    /// The upper percentile bound.
    pub high: f64,
    /// How many resamples were drawn.
    pub resamples: usize,
}

/// The default number of bootstrap resamples: the interval's bounds then move by well under
/// 0.01 from one seed to another on scores in `[0, 1]`.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The seed of every bootstrap in reports, so the same two runs always give the same
/// interval.
pub const BOOTSTRAP_SEED: u64 = 0x005e_ed0f_ba5e;

/// Paired percentile bootstrap of the mean difference `after[i] - before[i]`: pairs are
/// resampled together, so a case-level correlation between the two runs is kept. The
/// interval's confidence is `confidence` (0.95 for 95%); the random generator is seeded
/// with `seed`, so the result is deterministic. `None` when there are no pairs or the
/// slices differ in length.
///
/// Agrees with `scipy.stats.bootstrap(method="percentile")` up to Monte Carlo error (about
/// 0.01 at 10,000 resamples on scores in `[0, 1]`).
pub fn paired_bootstrap_mean_diff(
    before: &[f64],
    after: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<BootstrapInterval> {
    if before.is_empty() || before.len() != after.len() {
        return None;
    }
    let diffs: Vec<f64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let n = diffs.len();
    let estimate = diffs.iter().sum::<f64>() / n as f64;
    let resamples = resamples.max(1);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| diffs[rng.usize(..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    Some(BootstrapInterval {
        estimate,
        low: quantile(&means, tail),
        high: quantile(&means, 1.0 - tail),
        resamples,
    })
}

/// The `q` quantile of sorted values with linear interpolation (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_statsmodels() {
        // proportion_confint(count, nobs, method="wilson")
        let cases = [
            (8, 10, 0.490_162_5, 0.943_317_8),
            (0, 10, 0.0, 0.277_532_8),
            (10, 10, 0.722_467_2, 1.0),
            (45, 100, 0.356_145_4, 0.547_554_0),
        ];
        for (k, n, lo, hi) in cases {
            let (l, h) = wilson(k, n, Z95);
            assert!((l - lo).abs() < 1e-6, "{k}/{n}: low {l} != {lo}");
            assert!((h - hi).abs() < 1e-6, "{k}/{n}: high {h} != {hi}");
        }
    }

    fn fixture(name: &str) -> Vec<serde_json::Value> {
        let path = format!(
            "{}/tests/fixtures/stats/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        doc["cases"].as_array().unwrap().clone()
    }

    fn num(v: &serde_json::Value, key: &str) -> f64 {
        v[key].as_f64().unwrap()
    }

    fn int(v: &serde_json::Value, key: &str) -> u64 {
        v[key].as_u64().unwrap()
    }

    fn close(a: f64, b: f64, tol: f64, what: &str) {
        assert!((a - b).abs() <= tol, "{what}: {a} != {b} (tolerance {tol})");
    }

    #[test]
    fn mcnemar_matches_statsmodels_fixtures() {
        for case in fixture("mcnemar") {
            let (b, c) = (int(&case, "b"), int(&case, "c"));
            let t = mcnemar_exact(b, c);
            close(t.p_value, num(&case, "p"), 1e-9, &format!("p b={b} c={c}"));
            close(t.p_value, num(&case, "binomtest_p"), 1e-9, "binomtest");
            close(
                t.mid_p,
                num(&case, "mid_p"),
                1e-9,
                &format!("mid-p b={b} c={c}"),
            );
        }
    }

    #[test]
    fn wilson_matches_statsmodels_fixtures() {
        for case in fixture("wilson") {
            let (k, n) = (int(&case, "k"), int(&case, "n"));
            let (lo, hi) = wilson(k, n, Z95);
            close(lo, num(&case, "low"), 1e-9, &format!("{k}/{n} low"));
            close(hi, num(&case, "high"), 1e-9, &format!("{k}/{n} high"));
        }
    }

    #[test]
    fn newcombe_matches_statsmodels_fixtures() {
        for case in fixture("newcombe") {
            let k = [
                int(&case, "k1"),
                int(&case, "n1"),
                int(&case, "k2"),
                int(&case, "n2"),
            ];
            let (lo, hi) = newcombe_diff(k[0], k[1], k[2], k[3], Z95);
            close(lo, num(&case, "low"), 1e-9, &format!("{k:?} low"));
            close(hi, num(&case, "high"), 1e-9, &format!("{k:?} high"));
        }
    }

    #[test]
    fn bootstrap_agrees_with_scipy_within_monte_carlo_error() {
        for case in fixture("bootstrap") {
            let vec = |key: &str| -> Vec<f64> {
                case[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            let (before, after) = (vec("before"), vec("after"));
            let b = paired_bootstrap_mean_diff(
                &before,
                &after,
                BOOTSTRAP_RESAMPLES,
                0.95,
                BOOTSTRAP_SEED,
            )
            .unwrap();
            close(b.estimate, num(&case, "mean"), 1e-9, "mean");
            // A Monte Carlo interval: the documented tolerance, not 1e-9.
            close(b.low, num(&case, "low"), 0.01, "low");
            close(b.high, num(&case, "high"), 0.01, "high");
        }
    }

    #[test]
    fn bootstrap_is_deterministic_and_rejects_bad_input() {
        let before = [0.0, 1.0, 0.5, 0.25, 1.0];
        let after = [1.0, 1.0, 0.5, 0.0, 0.75];
        let a = paired_bootstrap_mean_diff(&before, &after, 500, 0.95, 7);
        assert_eq!(a, paired_bootstrap_mean_diff(&before, &after, 500, 0.95, 7));
        assert!(paired_bootstrap_mean_diff(&[], &[], 500, 0.95, 7).is_none());
        assert!(paired_bootstrap_mean_diff(&[1.0], &[], 500, 0.95, 7).is_none());
    }

    #[test]
    fn mcnemar_small_samples() {
        assert_eq!(mcnemar_exact(0, 0).p_value, 1.0);
        // Five discordant pairs all one way cannot reach 5% two-sided: 2/32 = 0.0625.
        close(mcnemar_exact(5, 0).p_value, 0.0625, 1e-15, "5-0");
        close(min_mcnemar_p(5), 0.0625, 1e-15, "min p 5");
        assert!(min_mcnemar_p(6) < 0.05);
        // A large symmetric sample neither underflows nor exceeds 1.
        assert_eq!(mcnemar_exact(5000, 5000).p_value, 1.0);
        assert!(mcnemar_exact(0, 5000).p_value >= 0.0);
    }

    #[test]
    fn wilson_of_nothing_is_the_whole_range() {
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
    }
}
