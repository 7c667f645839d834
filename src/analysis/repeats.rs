//! Statistics across repeats of the same case: per-case pass counts, flaky cases (both
//! passed and failed), pass@k and the share of cases that passed every repeat.
//!
//! pass@k is the unbiased estimator of Chen et al. (2021): for a case with `n` scored
//! repeats of which `c` passed, the probability that at least one of `k` repeats drawn
//! without replacement passes is `1 - C(n-c, k) / C(n, k)`; the reported value is its mean
//! over the cases with at least `k` scored repeats. Errored cells are not samples: they
//! are counted apart, as everywhere else.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// pass@k for one `k`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassAtK {
    /// Samples drawn per case.
    pub k: u32,
    /// Mean over cases of `1 - C(n-c, k) / C(n, k)`.
    pub value: f64,
}

/// A case that both passed and failed across its repeats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlakyCase {
    /// The dataset case id.
    pub case_id: String,
    /// Repeats that passed.
    pub passed: u32,
    /// Repeats that were scored (passed or failed; errors are not counted).
    pub scored: u32,
}

/// Statistics across repeats for one eval × prompt × model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepeatStats {
    /// The most repeats any case had (the eval's `repeat`).
    pub repeats: u32,
    /// Distinct cases.
    pub cases: u64,
    /// Share of cases, among those with a scored repeat, that passed every scored repeat.
    pub all_pass_rate: Option<f64>,
    /// pass@k for k = 1, 2, 3, 5, 10, 20, 50, 100 and `repeats`, up to `repeats`.
    pub pass_at_k: Vec<PassAtK>,
    /// Cases that passed some repeats and failed others, most evenly split first.
    pub flaky: Vec<FlakyCase>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    scored: u32,
    passed: u32,
    max_repeat: u32,
}

/// Accumulates per-case counts cell by cell.
#[derive(Debug, Default)]
pub struct RepeatCounter {
    cases: HashMap<String, Counts>,
    order: Vec<String>,
}

impl RepeatCounter {
    /// Adds one cell: `scored` is false for an errored cell.
    pub fn add(&mut self, case_id: &str, repeat: u32, scored: bool, passed: bool) {
        let counts = match self.cases.get_mut(case_id) {
            Some(c) => c,
            None => {
                self.order.push(case_id.to_string());
                self.cases.entry(case_id.to_string()).or_default()
            }
        };
        counts.max_repeat = counts.max_repeat.max(repeat + 1);
        if scored {
            counts.scored += 1;
            counts.passed += u32::from(passed);
        }
    }

    /// The statistics, or `None` when no case was repeated.
    pub fn finish(&self) -> Option<RepeatStats> {
        let repeats = self.cases.values().map(|c| c.max_repeat).max()?;
        if repeats < 2 {
            return None;
        }
        let scored: Vec<&Counts> = self.cases.values().filter(|c| c.scored > 0).collect();
        let all_pass_rate = (!scored.is_empty()).then(|| {
            scored.iter().filter(|c| c.passed == c.scored).count() as f64 / scored.len() as f64
        });
        let mut ks: Vec<u32> = [1, 2, 3, 5, 10, 20, 50, 100]
            .into_iter()
            .filter(|&k| k < repeats)
            .collect();
        ks.push(repeats);
        let pass_at_k = ks
            .into_iter()
            .filter_map(|k| {
                let values: Vec<f64> = scored
                    .iter()
                    .filter(|c| c.scored >= k)
                    .map(|c| pass_at_k(c.scored, c.passed, k))
                    .collect();
                (!values.is_empty()).then(|| PassAtK {
                    k,
                    value: values.iter().sum::<f64>() / values.len() as f64,
                })
            })
            .collect();
        let mut flaky: Vec<FlakyCase> = self
            .order
            .iter()
            .filter_map(|id| {
                let c = self.cases.get(id)?;
                (c.passed > 0 && c.passed < c.scored).then(|| FlakyCase {
                    case_id: id.clone(),
                    passed: c.passed,
                    scored: c.scored,
                })
            })
            .collect();
        // Most evenly split first: |passed/scored - 1/2| ascending; stable for ties.
        flaky.sort_by(|a, b| {
            let d = |f: &FlakyCase| (f64::from(f.passed) / f64::from(f.scored) - 0.5).abs();
            d(a).total_cmp(&d(b))
        });
        Some(RepeatStats {
            repeats,
            cases: self.cases.len() as u64,
            all_pass_rate,
            pass_at_k,
            flaky,
        })
    }
}

/// `1 - C(n-c, k) / C(n, k)`, computed as `1 - Π_{i=n-c+1..=n} (1 - k/i)` to stay exact
/// in floating point for large `n`. 1 when fewer than `k` samples failed.
pub fn pass_at_k(n: u32, c: u32, k: u32) -> f64 {
    if n.saturating_sub(c) < k {
        return 1.0;
    }
    let mut prod = 1.0;
    for i in (n - c + 1)..=n {
        prod *= 1.0 - f64::from(k) / f64::from(i);
    }
    1.0 - prod
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(n: u64, k: u64) -> f64 {
        if k > n {
            return 0.0;
        }
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }

    #[test]
    fn estimator_matches_the_binomial_formula() {
        for n in 1..=12u32 {
            for c in 0..=n {
                for k in 1..=n {
                    let exact = 1.0
                        - choose(u64::from(n - c), u64::from(k))
                            / choose(u64::from(n), u64::from(k));
                    let got = pass_at_k(n, c, k);
                    assert!(
                        (got - exact).abs() < 1e-9,
                        "n={n} c={c} k={k}: {got} vs {exact}"
                    );
                }
            }
        }
        assert_eq!(pass_at_k(5, 0, 1), 0.0);
        assert_eq!(pass_at_k(5, 5, 5), 1.0);
        assert!((pass_at_k(4, 2, 1) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn flaky_cases_and_pass_at_k() {
        let mut r = RepeatCounter::default();
        // a: always passes; b: 1 of 4; c: never; d: 2 of 3 scored, one error.
        for rep in 0..4 {
            r.add("a", rep, true, true);
            r.add("b", rep, true, rep == 2);
            r.add("c", rep, true, false);
            r.add("d", rep, rep != 3, rep < 2);
        }
        let s = r.finish().unwrap();
        assert_eq!(s.repeats, 4);
        assert_eq!(s.cases, 4);
        assert_eq!(s.all_pass_rate, Some(0.25));
        let ids: Vec<_> = s.flaky.iter().map(|f| f.case_id.as_str()).collect();
        assert_eq!(ids, ["d", "b"]);
        assert_eq!((s.flaky[0].passed, s.flaky[0].scored), (2, 3));
        let at = |k| s.pass_at_k.iter().find(|p| p.k == k).unwrap().value;
        // k=1: mean of c/n = (1 + 0.25 + 0 + 2/3) / 4.
        assert!((at(1) - (1.0 + 0.25 + 0.0 + 2.0 / 3.0) / 4.0).abs() < 1e-12);
        // k=4: d has only 3 scored samples and is left out: (1 + 1 + 0) / 3.
        assert!((at(4) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            s.pass_at_k.iter().map(|p| p.k).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn no_repeats_no_stats() {
        let mut r = RepeatCounter::default();
        r.add("a", 0, true, true);
        assert_eq!(r.finish(), None);
        assert_eq!(RepeatCounter::default().finish(), None);
    }
}
