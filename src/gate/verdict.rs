//! The gate's settings and verdict, and [`judge`]: thresholds and regression rules at once.

use serde::{Deserialize, Serialize};

use super::{regression, thresholds};
use crate::analysis::baseline::Comparison;
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

impl GateConfig {
    /// Whether `max_regression` or `significance` is set.
    pub fn has_regression_rule(&self) -> bool {
        self.max_regression.is_some() || self.significance.is_some()
    }
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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

/// Rules given on the command line; each replaces the eval's own value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GateOverrides {
    /// `--fail-under`: replaces `min_pass_rate`.
    pub fail_under: Option<f64>,
    /// `--max-regression`.
    pub max_regression: Option<f64>,
    /// `--significance`.
    pub significance: Option<f64>,
}

/// The rules that hold one row (eval × prompt × model) to account: its eval's gate with
/// the command line's overrides; `None` when the gate names other prompts only.
fn row_config(
    gates: &impl Fn(&str) -> GateConfig,
    eval: &str,
    prompt: &str,
    overrides: &GateOverrides,
) -> Option<GateConfig> {
    let mut config = gates(eval);
    if !config.prompts.is_empty() && !config.prompts.iter().any(|p| p == prompt) {
        return None;
    }
    if overrides.fail_under.is_some() {
        config.min_pass_rate = overrides.fail_under;
    }
    if overrides.max_regression.is_some() {
        config.max_regression = overrides.max_regression;
    }
    if overrides.significance.is_some() {
        config.significance = overrides.significance;
    }
    Some(config)
}

/// Decides the gate: every gated row of `summary` against its thresholds (without any
/// rule at all, any failed case fails; regression rules alone are a gate), then, with a baseline `comparison`, every gated row
/// against the regression rules. `gates` gives each eval's settings. Failed rules become
/// reasons; what could not be decided (a sample too small to tell) becomes a note.
pub fn judge<'a>(
    gates: impl Fn(&str) -> GateConfig,
    summary: impl IntoIterator<Item = &'a SummaryRow>,
    comparison: Option<&Comparison>,
    overrides: &GateOverrides,
) -> GateVerdict {
    let mut verdict = GateVerdict::default();
    let mut unjudged: Vec<&str> = Vec::new();
    for row in summary {
        if let Some(config) = row_config(&gates, &row.eval, &row.prompt, overrides) {
            thresholds::check_row(&mut verdict, row, &config);
            let only_regression = config.has_regression_rule()
                && config.min_pass_rate.is_none()
                && config.min_score.is_none();
            if comparison.is_none() && only_regression && !unjudged.contains(&row.eval.as_str()) {
                unjudged.push(&row.eval);
            }
        }
    }
    for eval in unjudged {
        verdict.notes.push(format!(
            "{eval}: the gate has only regression rules (max_regression, significance) and there is no baseline to compare with (`--baseline`), so nothing was judged"
        ));
    }
    if let Some(comparison) = comparison {
        let mut any_rule = false;
        for row in &comparison.rows {
            let Some(config) = row_config(&gates, &row.eval, &row.prompt, overrides) else {
                continue;
            };
            if config.max_regression.is_none() && config.significance.is_none() {
                continue;
            }
            any_rule = true;
            regression::check_row(&mut verdict, row, &config);
        }
        if !any_rule && !comparison.rows.is_empty() {
            verdict.notes.push(format!(
                "compared with baseline run {}; no max_regression or significance is set, so a regression does not fail the gate",
                comparison.baseline_run_id
            ));
        }
    }
    verdict.passed = verdict.reasons.is_empty();
    verdict
}

/// One row of the gate, named as every reason names it.
pub(super) struct GatedRow<'a> {
    pub eval: &'a str,
    pub prompt: &'a str,
    pub model: &'a str,
}

impl GatedRow<'_> {
    /// `eval: prompt × model`, the start of every reason and note about the row.
    pub fn who(&self) -> String {
        format!("{}: {} × {}", self.eval, self.prompt, self.model)
    }

    /// The record of one rule checked against this row.
    pub fn check(
        &self,
        rule: &str,
        threshold: f64,
        actual: Option<f64>,
        passed: bool,
    ) -> GateCheck {
        GateCheck {
            eval: self.eval.to_string(),
            prompt: self.prompt.to_string(),
            model: self.model.to_string(),
            rule: rule.to_string(),
            threshold,
            actual,
            passed,
        }
    }
}
