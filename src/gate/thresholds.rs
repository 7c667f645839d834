//! The quality gate: thresholds over the summary → a verdict with reasons. Pure.

use serde::{Deserialize, Serialize};

use crate::analysis::summary::SummaryRow;

/// Thresholds from an eval's `gate:` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Every prompt × model must pass at least this share of scored cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_pass_rate: Option<f64>,
    /// Every prompt × model must reach at least this mean score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f64>,
    /// With a baseline (`--baseline`): the largest allowed drop in pass rate on the paired
    /// cases, absolute (`0.05` = five points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_regression: Option<f64>,
    /// With a baseline: a regression fails the gate only when the exact McNemar test on the
    /// paired cases finds it significant at this level (`0.05`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub significance: Option<f64>,
    /// Only these prompts are held to the gate (resolved references, `name@N`); the others
    /// are in the eval for comparison. Empty: every prompt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<String>,
}

/// One rule checked against one summary row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateCheck {
    /// The eval.
    pub eval: String,
    /// The prompt reference.
    pub prompt: String,
    /// The model.
    pub model: String,
    /// The rule (`min_pass_rate`, `min_score`, `no_failures`).
    pub rule: String,
    /// The threshold.
    pub threshold: f64,
    /// The measured value, when there was one.
    pub actual: Option<f64>,
    /// Whether it held.
    pub passed: bool,
}

/// The gate's decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateVerdict {
    /// Whether every rule held.
    pub passed: bool,
    /// One sentence per failed rule, for people.
    pub reasons: Vec<String>,
    /// Every rule checked.
    pub checks: Vec<GateCheck>,
    /// What a reader should know that did not fail the gate (a comparison too small to
    /// tell, a row without a baseline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Decides the gate for the rows of one eval. Without thresholds, any failed case fails.
/// `fail_under` (from the command line) replaces `min_pass_rate`.
pub fn evaluate<'a>(
    gates: impl Fn(&str) -> GateConfig,
    summary: impl IntoIterator<Item = &'a SummaryRow>,
    fail_under: Option<f64>,
) -> GateVerdict {
    let mut checks = Vec::new();
    let mut reasons = Vec::new();
    for row in summary {
        let mut config = gates(&row.eval);
        if !config.prompts.is_empty() && !config.prompts.contains(&row.prompt) {
            continue;
        }
        if fail_under.is_some() {
            config.min_pass_rate = fail_under;
        }
        let mut rules = Vec::new();
        if let Some(min) = config.min_pass_rate {
            rules.push(("min_pass_rate", min, row.pass_rate));
        }
        if let Some(min) = config.min_score {
            rules.push(("min_score", min, row.score_mean));
        }
        if rules.is_empty() {
            rules.push(("no_failures", 1.0, row.pass_rate));
        }
        for (rule, threshold, actual) in rules {
            // A row with nothing scored (every cell errored) cannot pass a quality rule;
            // the errors themselves decide the exit code.
            let passed = actual.is_some_and(|a| a + 1e-12 >= threshold);
            if !passed {
                reasons.push(reason(row, rule, threshold, actual));
            }
            checks.push(GateCheck {
                eval: row.eval.clone(),
                prompt: row.prompt.clone(),
                model: row.model.clone(),
                rule: rule.to_string(),
                threshold,
                actual,
                passed,
            });
        }
    }
    GateVerdict {
        passed: reasons.is_empty(),
        reasons,
        checks,
        notes: Vec::new(),
    }
}

fn reason(row: &SummaryRow, rule: &str, threshold: f64, actual: Option<f64>) -> String {
    let who = format!("{}: {} × {}", row.eval, row.prompt, row.model);
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
    use super::*;

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
