//! Statistics for honest comparisons: confidence intervals for pass rates.
//!
//! Pure functions, no I/O. The baseline gate and the model-selection report both read
//! their intervals from here so that every table agrees.

/// The two-sided 95% normal quantile used by [`wilson`].
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval for `successes` out of `n` at normal quantile `z`
/// (use [`Z95`] for 95%). Returns `(low, high)` within `[0, 1]`; `(0, 1)` when `n` is 0.
///
/// Matches `statsmodels.stats.proportion.proportion_confint(method="wilson")`.
///
/// ```
/// let (lo, hi) = prompteval::stats::wilson(8, 10, prompteval::stats::Z95);
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

    #[test]
    fn wilson_of_nothing_is_the_whole_range() {
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
    }
}
