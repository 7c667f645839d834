"""Reference values for src/stats.rs, computed with scipy and statsmodels.

Run through scripts/gen-stats-fixtures.sh, which sets up the virtual environment.
Writes one JSON file per statistic into the directory given as the only argument.
"""

import json
import sys
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
versions = {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__}


def write(name, cases, note):
    path = out / f"{name}.json"
    doc = {"generated_by": "scripts/gen-stats-fixtures.py", "versions": versions,
           "note": note, "cases": cases}
    path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {path} ({len(cases)} cases)")


# Exact McNemar: b = pass->fail, c = fail->pass discordant pairs.
pairs = [(0, 0), (0, 1), (1, 0), (1, 1), (0, 3), (3, 0), (2, 5), (5, 2), (0, 5), (0, 6),
         (1, 9), (4, 4), (7, 19), (12, 3), (25, 40), (50, 30), (100, 130), (0, 20),
         (300, 260), (1, 1000)]
cases = []
for b, c in pairs:
    table = [[10, b], [c, 10]]
    p = float(mcnemar(table, exact=True).pvalue)
    n = b + c
    k = min(b, c)
    # Fagerland, Lydersen & Laake (2013): mid-p = 2 * P(X <= k) - P(X = k), which is 1
    # when b == c.
    mid = min(1.0, 2 * float(stats.binom.cdf(k, n, 0.5)) - float(stats.binom.pmf(k, n, 0.5))) if n > 0 else 1.0
    scipy_p = float(stats.binomtest(k, n, 0.5).pvalue) if n > 0 else 1.0
    cases.append({"b": b, "c": c, "p": p, "mid_p": mid, "binomtest_p": scipy_p})
write("mcnemar", cases,
      "p: statsmodels mcnemar(exact=True); mid_p: 2 * binom.cdf(min(b,c)) - binom.pmf(min(b,c)) "
      "(Fagerland et al. 2013); binomtest_p: scipy binomtest, two-sided")

# Wilson interval for one proportion.
cases = []
for k, n in [(0, 1), (1, 1), (0, 10), (8, 10), (10, 10), (45, 100), (3, 7), (1, 30),
             (999, 1000), (5000, 10000)]:
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    cases.append({"k": k, "n": n, "low": float(lo), "high": float(hi)})
write("wilson", cases, "statsmodels proportion_confint(method='wilson', alpha=0.05)")

# Newcombe hybrid score interval for p1 - p2 (independent samples).
cases = []
for k1, n1, k2, n2 in [(8, 10, 5, 10), (5, 10, 8, 10), (0, 10, 0, 10), (10, 10, 10, 10),
                       (10, 10, 0, 10), (45, 100, 50, 100), (30, 40, 35, 40), (1, 3, 2, 3),
                       (90, 100, 81, 100), (450, 500, 470, 500), (0, 5, 5, 5), (7, 9, 3, 12)]:
    lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff",
                                        alpha=0.05)
    cases.append({"k1": k1, "n1": n1, "k2": k2, "n2": n2, "low": float(lo), "high": float(hi)})
write("newcombe", cases,
      "statsmodels confint_proportions_2indep(method='newcomb', compare='diff', alpha=0.05): "
      "interval for k1/n1 - k2/n2")

# Percentile bootstrap of the mean of paired differences (after - before).
rng = np.random.default_rng(20240607)
cases = []
for n, shift in [(10, 0.0), (30, -0.1), (50, 0.05), (200, -0.02)]:
    before = rng.uniform(0, 1, n).round(3)
    after = np.clip(before + shift + rng.normal(0, 0.2, n), 0, 1).round(3)
    diffs = after - before
    res = stats.bootstrap((diffs,), np.mean, n_resamples=200_000, method="percentile",
                          confidence_level=0.95, random_state=np.random.default_rng(1))
    cases.append({"before": before.tolist(), "after": after.tolist(),
                  "mean": float(diffs.mean()),
                  "low": float(res.confidence_interval.low),
                  "high": float(res.confidence_interval.high)})
write("bootstrap", cases,
      "scipy.stats.bootstrap(method='percentile', n_resamples=200000) of mean(after - before); "
      "a Monte Carlo interval: compare with a tolerance, not exactly")
