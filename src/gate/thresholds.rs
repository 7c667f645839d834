//! The threshold rules of the gate: `min_pass_rate`, `min_score`, else `no_failures`.

use super::verdict::GatedRow;
use super::{GateConfig, GateVerdict};
use crate::analysis::summary::SummaryRow;

/// Checks `row` against the thresholds of `config`, adding checks and reasons to `verdict`.
/// Without any rule at all (no threshold and no regression rule), every case must pass;
/// regression rules alone are a gate, judged against the baseline instead.
pub(super) fn check_row(verdict: &mut GateVerdict, row: &SummaryRow, config: &GateConfig) {
    let gated = GatedRow {
        eval: &row.eval,
        prompt: &row.prompt,
        model: &row.model,
    };
    let mut rules = Vec::new();
    if let Some(min) = config.min_pass_rate {
        rules.push(("min_pass_rate", min, row.pass_rate));
    }
    if let Some(min) = config.min_score {
        rules.push(("min_score", min, row.score_mean));
    }
    if rules.is_empty() && !config.has_regression_rule() {
        rules.push(("no_failures", 1.0, row.pass_rate));
    }
    for (rule, threshold, actual) in rules {
        // A row with nothing scored (every cell errored) cannot pass a quality rule; the
        // errors themselves decide the exit code.
        let passed = actual.is_some_and(|a| a + 1e-12 >= threshold);
        if !passed {
            verdict
                .reasons
                .push(reason(&gated, row, rule, threshold, actual));
        }
        verdict
            .checks
            .push(gated.check(rule, threshold, actual, passed));
    }
}

fn reason(
    gated: &GatedRow<'_>,
    row: &SummaryRow,
    rule: &str,
    threshold: f64,
    actual: Option<f64>,
) -> String {
    let who = gated.who();
    match (rule, actual) {
        (_, None) => format!("{who}: no case was scored ({} errors)", row.errors),
        ("no_failures", Some(_)) => format!(
            "{who}: {} of {} cases failed (no gate set, so every case must pass)",
            row.failed,
            row.passed + row.failed
        ),
        ("min_pass_rate", Some(a)) => format!(
            "{who}: pass rate {:.1}% is below min_pass_rate {:.1}%",
            a * 100.0,
            threshold * 100.0
        ),
        (_, Some(a)) => format!("{who}: {rule} {a:.3} is below {threshold:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::summary::SummaryRow;
    use crate::gate::{judge, GateConfig, GateOverrides, GateVerdict};

    fn evaluate(
        gates: impl Fn(&str) -> GateConfig,
        summary: &[SummaryRow],
        fail_under: Option<f64>,
    ) -> GateVerdict {
        let overrides = GateOverrides {
            fail_under,
            ..GateOverrides::default()
        };
        judge(gates, summary, None, &overrides)
    }

    fn row(passed: u64, failed: u64) -> SummaryRow {
        let scored = passed + failed;
        SummaryRow {
            eval: "e".into(),
            prompt: "p@1".into(),
            model: "m".into(),
            cases: scored,
            passed,
            failed,
            errors: 0,
            pass_rate: (scored > 0).then(|| passed as f64 / scored as f64),
            score_mean: (scored > 0).then(|| passed as f64 / scored as f64),
            latency_ms_p50: None,
            latency_ms_p95: None,
            latency_binned: false,
            tokens_in: 0,
            tokens_out: 0,
            cost_usd: None,
            corpus_bleu: None,
            cached: 0,
            repeats: None,
            metrics: Default::default(),
            scorer_errors: 0,
            grader_tokens_in: 0,
            grader_tokens_out: 0,
            grader_cost_usd: None,
            agent: None,
            simulated_user: None,
        }
    }

    #[test]
    fn no_gate_means_every_case_must_pass() {
        let v = evaluate(|_| GateConfig::default(), &[row(9, 1)], None);
        assert!(!v.passed);
        assert_eq!(
            v.reasons,
            ["e: p@1 × m: 1 of 10 cases failed (no gate set, so every case must pass)"]
        );
        assert!(evaluate(|_| GateConfig::default(), &[row(3, 0)], None).passed);
    }

    #[test]
    fn min_pass_rate_and_fail_under() {
        let gate = |_: &str| GateConfig {
            min_pass_rate: Some(0.8),
            ..GateConfig::default()
        };
        assert!(evaluate(gate, &[row(8, 2)], None).passed);
        let v = evaluate(gate, &[row(7, 3)], None);
        assert_eq!(
            v.reasons,
            ["e: p@1 × m: pass rate 70.0% is below min_pass_rate 80.0%"]
        );
        assert!(evaluate(gate, &[row(7, 3)], Some(0.5)).passed);
    }

    #[test]
    fn only_the_named_prompts_are_gated() {
        let gate = |_: &str| GateConfig {
            min_pass_rate: Some(0.8),
            prompts: vec!["p@2".into()],
            ..GateConfig::default()
        };
        let mut baseline = row(1, 9);
        baseline.prompt = "p@1".into();
        let mut candidate = row(9, 1);
        candidate.prompt = "p@2".into();
        let v = evaluate(gate, &[baseline.clone(), candidate.clone()], None);
        assert!(v.passed, "{:?}", v.reasons);
        assert_eq!(v.checks.len(), 1);
        candidate.passed = 5;
        candidate.failed = 5;
        candidate.pass_rate = Some(0.5);
        assert!(!evaluate(gate, &[baseline, candidate], None).passed);
    }

    #[test]
    fn nothing_scored_fails() {
        let mut r = row(0, 0);
        r.errors = 4;
        let v = evaluate(|_| GateConfig::default(), &[r], None);
        assert_eq!(v.reasons, ["e: p@1 × m: no case was scored (4 errors)"]);
    }
}
