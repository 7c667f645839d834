//! The regression rules of the gate: `max_regression` and `significance` on paired cases.

use super::verdict::GatedRow;
use super::{GateConfig, GateVerdict};
use crate::analysis::baseline::RowComparison;
use crate::analysis::stats;

fn points(rate: f64) -> String {
    format!("{:.1} points", rate * 100.0)
}

/// A row's drop in pass rate on its paired cases, as every rule and note describes it.
struct Fall<'a> {
    gated: GatedRow<'a>,
    /// The drop (positive when it got worse).
    drop: f64,
    /// The exact McNemar p-value.
    p: f64,
    /// Paired cases.
    n: u64,
    /// Pass → fail and fail → pass.
    flips: (usize, usize),
    /// `90.0% → 79.0% on 100 paired cases vs p@1`.
    rates: String,
    /// Whether the drop exceeds `max_regression`, when one is set.
    too_big: Option<bool>,
}

impl Fall<'_> {
    /// `pass rate fell 11.0 points (90.0% → 79.0% …; 12 pass→fail, 1 fail→pass)`.
    fn fell(&self) -> String {
        let (b, c) = self.flips;
        format!(
            "pass rate fell {} ({}; {b} pass→fail, {c} fail→pass)",
            points(self.drop),
            self.rates
        )
    }

    fn regressed(&self) -> bool {
        self.flips.0 > self.flips.1
    }
}

/// Checks `row` against the regression rules of `config` (at least one is set), adding
/// checks, reasons and notes to `verdict`.
pub(super) fn check_row(verdict: &mut GateVerdict, row: &RowComparison, config: &GateConfig) {
    let gated = GatedRow {
        eval: &row.eval,
        prompt: &row.prompt,
        model: &row.model,
    };
    let Some(baseline_prompt) = &row.baseline_prompt else {
        verdict.notes.push(format!(
            "{}: not in the baseline run, nothing to compare with",
            gated.who()
        ));
        return;
    };
    let (Some(drop), Some(p)) = (row.drop(), row.p_value) else {
        verdict.notes.push(format!(
            "{}: no case was scored in both runs, nothing to compare",
            gated.who()
        ));
        return;
    };
    let n = row.paired;
    let fall = Fall {
        gated,
        drop,
        p,
        n,
        flips: (row.regressions.len(), row.fixes.len()),
        rates: format!(
            "{:.1}% → {:.1}% on {n} paired {} vs {baseline_prompt}",
            row.paired_passed_before as f64 * 100.0 / n as f64,
            row.paired_passed_after as f64 * 100.0 / n as f64,
            if n == 1 { "case" } else { "cases" },
        ),
        too_big: config.max_regression.map(|max| drop > max + 1e-12),
    };
    if let Some(alpha) = config.significance {
        significance(verdict, &fall, alpha, config.max_regression);
    }
    if let Some(max) = config.max_regression {
        let significant = config
            .significance
            .map(|alpha| fall.regressed() && p < alpha);
        max_regression(verdict, &fall, max, significant);
    }
}

/// The statistical rule: a regression fails only when the exact McNemar test finds it
/// significant at `alpha` (and, with `max_regression`, the drop is also too big). With too
/// few pairs even a total collapse could not be significant, and that is said rather than
/// passed silently.
fn significance(verdict: &mut GateVerdict, fall: &Fall<'_>, alpha: f64, max: Option<f64>) {
    let (who, n, p) = (fall.gated.who(), fall.n, fall.p);
    let can_tell = stats::min_mcnemar_p(n) < alpha;
    let regressed = fall.regressed();
    let passed = !(regressed && p < alpha && fall.too_big.unwrap_or(true));
    verdict
        .checks
        .push(fall.gated.check("significance", alpha, Some(p), passed));
    let (b, c) = fall.flips;
    if !can_tell && regressed {
        verdict.notes.push(format!(
            "{who}: too few paired cases to tell (n={n}): even if every case had flipped, the exact McNemar test could not reach p < {alpha}; {}, {b} pass→fail, {c} fail→pass",
            fall.rates
        ));
    } else if regressed && !passed {
        let mut reason = format!(
            "{who}: {}, significant: McNemar exact p = {} < significance {alpha}",
            fall.fell(),
            p_text(p)
        );
        if let Some(max) = max {
            reason.push_str(&format!(", and above max_regression {}", points(max)));
        }
        verdict.reasons.push(reason);
    } else if regressed && fall.too_big != Some(false) {
        verdict.notes.push(format!(
            "{who}: {}, within noise: McNemar exact p = {} ≥ {alpha}",
            fall.fell(),
            p_text(p)
        ));
    }
}

/// The drop rule: with `significance` set, the drop fails only together with the test
/// (reported by [`significance`]); without it, the drop alone decides.
fn max_regression(verdict: &mut GateVerdict, fall: &Fall<'_>, max: f64, significant: Option<bool>) {
    let passed = match significant {
        Some(sig) => !(fall.too_big == Some(true) && sig),
        None => fall.too_big != Some(true),
    };
    verdict.checks.push(
        fall.gated
            .check("max_regression", max, Some(fall.drop), passed),
    );
    if significant.is_none() && !passed {
        verdict.reasons.push(format!(
            "{}: {}, above max_regression {}",
            fall.gated.who(),
            fall.fell(),
            points(max)
        ));
    }
}

/// A p-value for people: three significant digits, `< 0.0001` below that.
pub fn p_text(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".into()
    } else if p >= 0.1 {
        format!("{p:.2}")
    } else {
        format!("{p:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::baseline::{compare, Baseline, Comparison};
    use crate::analysis::summary::SummaryBuilder;
    use crate::gate::{judge, GateConfig, GateOverrides};
    use crate::report::fixture;
    use crate::run::events::CellResult;
    use crate::store::RunRecord;

    /// A run of one row `e: p@N × m` with `outcomes[i]` the pass/fail of case `i`.
    fn run(prompt: &str, outcomes: &[bool]) -> (RunRecord, Vec<CellResult>) {
        let (mut record, template) = fixture::small();
        let mut results = Vec::new();
        let mut builder = SummaryBuilder::new();
        builder.declare("e", prompt, "m");
        for (i, pass) in outcomes.iter().enumerate() {
            let mut cell = template[0].clone();
            cell.eval = "e".into();
            cell.prompt = prompt.into();
            cell.model = "m".into();
            cell.case_id = (i + 1).to_string();
            cell.pass = *pass;
            cell.score = if *pass { 1.0 } else { 0.0 };
            cell.output = Some(if *pass { "yes" } else { "no" }.into());
            builder.add(&cell);
            results.push(cell);
        }
        record.evals.truncate(1);
        record.evals[0].name = "e".into();
        record.evals[0].prompts[0].requested = "p@production".into();
        record.evals[0].prompts[0].reference = prompt.into();
        record.evals[0].prompts.truncate(1);
        record.evals[0].models = vec!["m".into()];
        record.summary = builder.finish();
        record.run_id = format!("run-{prompt}");
        (record, results)
    }

    /// Runs `p@2` with outcomes `after` against a baseline of `p@1` with `before`: the
    /// current record and the comparison.
    fn compare_runs(before: &[bool], after: &[bool]) -> (RunRecord, Comparison) {
        let (brec, bres) = run("p@1", before);
        let (arec, ares) = run("p@2", after);
        let baseline = Baseline {
            reference: "latest".into(),
            record: brec,
            results: bres,
            passed_over: 0,
            production: Default::default(),
        };
        let comparison = compare(&baseline, &arec, &ares).unwrap();
        (arec, comparison)
    }

    /// `n` cases: `base_pass` pass in the baseline; then `b` of the passing ones fail now and
    /// `c` of the failing ones pass now.
    fn verdict_for(
        n: usize,
        base_pass: usize,
        b: usize,
        c: usize,
        config: GateConfig,
    ) -> GateVerdict {
        let before: Vec<bool> = (0..n).map(|i| i < base_pass).collect();
        let mut after = before.clone();
        for slot in after.iter_mut().take(b) {
            *slot = false;
        }
        for slot in after.iter_mut().skip(base_pass).take(c) {
            *slot = true;
        }
        let comparison = compare_runs(&before, &after).1;
        judge(
            |_| config.clone(),
            &[],
            Some(&comparison),
            &GateOverrides::default(),
        )
    }

    fn config(max_regression: Option<f64>, significance: Option<f64>) -> GateConfig {
        GateConfig {
            max_regression,
            significance,
            ..GateConfig::default()
        }
    }

    #[test]
    fn significant_regression_fails() {
        // 100 cases, 90 passed; 12 now fail, 1 is fixed: 90% → 79%, p ≈ 0.003.
        let v = verdict_for(100, 90, 12, 1, config(Some(0.05), Some(0.05)));
        assert!(!v.passed, "{v:?}");
        assert_eq!(v.reasons.len(), 1);
        let reason = &v.reasons[0];
        assert!(
            reason.starts_with("e: p@2 × m: pass rate fell 11.0 points (90.0% → 79.0% on 100 paired cases vs p@1; 12 pass→fail, 1 fail→pass), significant: McNemar exact p = 0.00"),
            "{reason}"
        );
        assert!(
            reason.ends_with("and above max_regression 5.0 points"),
            "{reason}"
        );
    }

    #[test]
    fn noise_does_not_fail() {
        // 3 regressions and 1 fix out of 100: a 2-point drop, p = 0.625.
        let v = verdict_for(100, 90, 3, 1, config(None, Some(0.05)));
        assert!(v.passed, "{v:?}");
        assert!(
            v.notes[0].contains("within noise: McNemar exact p = 0.62 ≥ 0.05"),
            "{:?}",
            v.notes
        );
        // A large drop that is not significant passes with significance set…
        let v = verdict_for(20, 18, 4, 0, config(Some(0.05), Some(0.05)));
        assert!(v.passed, "{v:?}");
        // …and fails on max_regression alone.
        let v = verdict_for(20, 18, 4, 0, config(Some(0.05), None));
        assert!(!v.passed);
        assert!(
            v.reasons[0].ends_with("above max_regression 5.0 points"),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn improvement_passes() {
        let v = verdict_for(100, 70, 0, 20, config(Some(0.0), Some(0.05)));
        assert!(v.passed, "{v:?}");
        assert!(v.notes.is_empty(), "{:?}", v.notes);
        assert!(v.checks.iter().all(|c| c.passed));
        assert_eq!(v.checks.len(), 2);
    }

    #[test]
    fn too_small_a_sample_is_reported_as_such() {
        let v = verdict_for(3, 3, 3, 0, config(None, Some(0.05)));
        assert!(v.passed, "{v:?}");
        assert!(
            v.notes[0].starts_with("e: p@2 × m: too few paired cases to tell (n=3)"),
            "{:?}",
            v.notes
        );
    }

    #[test]
    fn no_rules_means_a_note_only() {
        let v = verdict_for(10, 10, 5, 0, GateConfig::default());
        assert!(v.passed);
        assert!(v.notes[0].contains("no max_regression or significance is set"));
    }

    #[test]
    fn overrides_replace_the_eval() {
        let before: Vec<bool> = vec![true; 10];
        let after: Vec<bool> = (0..10).map(|i| i >= 2).collect();
        let comparison = compare_runs(&before, &after).1;
        let overrides = GateOverrides {
            max_regression: Some(0.1),
            ..GateOverrides::default()
        };
        let v = judge(
            |_| config(Some(0.5), None),
            &[],
            Some(&comparison),
            &overrides,
        );
        assert!(!v.passed);
        assert_eq!(v.checks[0].threshold, 0.1);
        assert!((v.checks[0].actual.unwrap() - 0.2).abs() < 1e-12);
    }

    #[test]
    fn thresholds_and_regression_rules_are_judged_in_one_verdict() {
        // 10 of 10 passed before, 8 of 10 now: below min_pass_rate 90% and a drop of 20
        // points, above max_regression 10.
        let after: Vec<bool> = (0..10).map(|i| i >= 2).collect();
        let (arec, comparison) = compare_runs(&[true; 10], &after);
        let gate = GateConfig {
            min_pass_rate: Some(0.9),
            max_regression: Some(0.1),
            ..GateConfig::default()
        };
        let overrides = GateOverrides::default();
        let v = judge(
            |_| gate.clone(),
            &arec.summary,
            Some(&comparison),
            &overrides,
        );
        assert!(!v.passed);
        let rules: Vec<&str> = v.checks.iter().map(|c| c.rule.as_str()).collect();
        assert_eq!(rules, ["min_pass_rate", "max_regression"]);
        assert_eq!(
            v.reasons[0],
            "e: p@2 × m: pass rate 80.0% is below min_pass_rate 90.0%"
        );
        assert!(
            v.reasons[1].ends_with("above max_regression 10.0 points"),
            "{:?}",
            v.reasons
        );
        // Without a baseline, only the thresholds are judged.
        let v = judge(|_| gate.clone(), &arec.summary, None, &overrides);
        assert_eq!(v.checks.len(), 1);
        assert_eq!(v.reasons.len(), 1);
    }

    #[test]
    fn a_gate_of_regression_rules_only_did_not_also_demand_that_every_case_pass() {
        // Issue 13.1: 60 cases, 50 passed before; 2 flip to failing (p = 0.50). The rows
        // fail cases, but regression rules are a gate: noise does not fail it.
        for gate in [config(None, Some(0.05)), config(Some(0.05), None)] {
            let v = verdict_for(60, 50, 2, 0, gate.clone());
            assert!(v.passed, "{gate:?}: {v:?}");
            assert!(
                v.checks.iter().all(|c| c.rule != "no_failures"),
                "{:?}",
                v.checks
            );
            assert!(
                v.reasons
                    .iter()
                    .all(|r| !r.contains("every case must pass")),
                "{:?}",
                v.reasons
            );
        }
        // Without a baseline such a gate judges nothing, and says so.
        let (arec, _) = run("p@2", &[true, false]);
        let v = judge(
            |_| config(None, Some(0.05)),
            &arec.summary,
            None,
            &GateOverrides::default(),
        );
        assert!(v.passed && v.checks.is_empty(), "{v:?}");
        assert_eq!(
            v.notes,
            ["e: the gate has only regression rules (max_regression, significance) and there is no baseline to compare with (`--baseline`), so nothing was judged"]
        );
        // A command-line regression rule is a gate rule too.
        let overrides = GateOverrides {
            significance: Some(0.05),
            ..GateOverrides::default()
        };
        let v = judge(|_| GateConfig::default(), &arec.summary, None, &overrides);
        assert!(v.passed && v.checks.is_empty(), "{v:?}");
        // With no rule at all, every case must still pass.
        let v = judge(
            |_| GateConfig::default(),
            &arec.summary,
            None,
            &GateOverrides::default(),
        );
        assert!(!v.passed);
        assert_eq!(v.checks[0].rule, "no_failures");
    }

    #[test]
    fn p_values_for_people() {
        assert_eq!(p_text(0.5), "0.50");
        assert_eq!(p_text(0.0123), "0.012");
        assert_eq!(p_text(0.00001), "< 0.0001");
    }
}
