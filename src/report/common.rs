//! Pieces shared by several reports: an eval's heading, the best row of an eval, gate
//! status per row, the summary columns, and failure reasons.

use std::io;

use crate::analysis::eval_groups::{eval_groups, EvalGroup};
use crate::analysis::summary::SummaryRow;
use crate::run::events::CellResult;
use crate::store::RunRecord;

use super::error::Failure;
use super::human;

/// `sentiment — Sentiment — zero-shot vs few-shot · datasets/reviews.csv · 4 cases`: an
/// eval's name, description, dataset and size, as a heading over its tables.
pub(crate) fn heading(group: &EvalGroup<'_>) -> String {
    let mut parts = vec![group.name.to_string()];
    if let Some(info) = group.info {
        if let Some(description) = info.description.as_deref().filter(|d| !d.is_empty()) {
            parts[0] = format!("{} — {}", group.name, description);
        }
        parts.push(info.dataset.clone());
        let mut cases = format!(
            "{} {}",
            human::thousands(info.cases as u64),
            plural(info.cases as u64, "case", "cases")
        );
        if info.repeat > 1 {
            cases.push_str(&format!(" × {} repeats", info.repeat));
        }
        parts.push(cases);
    }
    parts.join(" · ")
}

/// The [`heading`] of the eval named `eval` in `record`; just the name when the record
/// does not know it.
pub(crate) fn eval_heading(record: &RunRecord, eval: &str) -> String {
    eval_groups(record)
        .iter()
        .find(|g| g.name == eval)
        .map_or_else(|| eval.to_string(), heading)
}

/// `word` or `words` by count.
pub(crate) fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Which rows hold the best pass rate of their eval. Nothing is marked when there is a
/// single row, or when every row ties (there is no winner then).
pub(crate) fn best_rows(rows: &[&SummaryRow]) -> Vec<bool> {
    let rates: Vec<Option<f64>> = rows.iter().map(|r| r.pass_rate).collect();
    let best = rates
        .iter()
        .flatten()
        .copied()
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    let marks: Vec<bool> = rates
        .iter()
        .map(|r| matches!((r, best), (Some(r), Some(b)) if (r - b).abs() < 1e-12))
        .collect();
    if rows.len() < 2 || marks.iter().all(|m| *m) {
        vec![false; rows.len()]
    } else {
        marks
    }
}

/// Whether the gate held for this row: `None` when the record has no gate or the gate
/// checked nothing for the row.
pub(crate) fn row_gate_passed(record: &RunRecord, row: &SummaryRow) -> Option<bool> {
    let gate = record.verdict()?;
    let mut checks = gate
        .checks
        .iter()
        .filter(|c| c.eval == row.eval && c.prompt == row.prompt && c.model == row.model)
        .peekable();
    checks.peek()?;
    Some(checks.all(|c| c.passed))
}

/// Whether a row looks good: its gate checks held, or without a gate, nothing failed.
pub(crate) fn row_ok(record: &RunRecord, row: &SummaryRow) -> bool {
    row_gate_passed(record, row).unwrap_or(row.failed == 0 && row.errors == 0)
}

/// The column headers of a summary table (terminal and Markdown).
pub(crate) const SUMMARY_HEADERS: [&str; 13] = [
    "prompt",
    "model",
    "cases",
    "passed",
    "failed",
    "errors",
    "pass rate",
    "score",
    "p50",
    "p95",
    "tokens in",
    "tokens out",
    "cost",
];

/// The index of the pass-rate column in [`SUMMARY_HEADERS`].
pub(crate) const PASS_RATE_COLUMN: usize = 6;

/// The cells of one summary row, in [`SUMMARY_HEADERS`] order.
pub(crate) fn summary_values(row: &SummaryRow) -> [String; 13] {
    [
        row.prompt.clone(),
        row.model.clone(),
        human::thousands(row.cases),
        human::thousands(row.passed),
        human::thousands(row.failed),
        human::thousands(row.errors),
        human::percent_opt(row.pass_rate),
        human::score(row.score_mean),
        human::duration_ms_opt(row.latency_ms_p50),
        human::duration_ms_opt(row.latency_ms_p95),
        human::thousands(row.tokens_in),
        human::thousands(row.tokens_out),
        human::cost(row.cost_usd),
    ]
}

/// The column headers of the scorers table (terminal and Markdown), shown beside the
/// summary when a scorer called a model or failed: what the judges cost, apart from the
/// models' `cost`, and the cost of both.
pub(crate) const SCORER_HEADERS: [&str; 7] = [
    "prompt",
    "model",
    "scorer errors",
    "judge tokens in",
    "judge tokens out",
    "judge cost",
    "cost with judges",
];

/// Whether an eval's rows need the scorers table: a scorer called a model or failed.
pub(crate) fn has_scorer_figures(rows: &[&SummaryRow]) -> bool {
    rows.iter()
        .any(|r| r.scorer_errors > 0 || r.has_grader_calls())
}

/// The cells of one row of the scorers table, in [`SCORER_HEADERS`] order; a judge cost
/// that is unknown (no price configured) is `—`, never `$0`.
pub(crate) fn scorer_values(row: &SummaryRow) -> [String; 7] {
    let judge_cost = if row.has_grader_calls() {
        human::cost(row.grader_cost_usd)
    } else {
        "$0".to_string()
    };
    [
        row.prompt.clone(),
        row.model.clone(),
        human::thousands(row.scorer_errors),
        human::thousands(row.grader_tokens_in),
        human::thousands(row.grader_tokens_out),
        judge_cost,
        human::cost(row.cost_with_graders_usd()),
    ]
}

/// The column headers of the agents table (terminal and Markdown), shown beside the
/// summary when cells of an eval ran an agent loop.
pub(crate) const AGENT_HEADERS: [&str; 5] = [
    "prompt",
    "model",
    "mean steps",
    "mean tool calls",
    "stopped at max_steps",
];

/// Whether an eval's rows need the agents table: a cell of one ran an agent loop.
pub(crate) fn has_agent_figures(rows: &[&SummaryRow]) -> bool {
    rows.iter().any(|r| r.agent.is_some())
}

/// The cells of one row of the agents table, in [`AGENT_HEADERS`] order; `—` for a row
/// without agent cells.
pub(crate) fn agent_values(row: &SummaryRow) -> [String; 5] {
    let (steps, calls, stopped) = match &row.agent {
        Some(a) => (
            format!("{:.1}", a.steps_mean),
            format!("{:.1}", a.tool_calls_mean),
            human::percent(a.stopped_max_steps),
        ),
        None => ("—".to_string(), "—".to_string(), "—".to_string()),
    };
    [row.prompt.clone(), row.model.clone(), steps, calls, stopped]
}

/// The column headers of the simulated-user table (terminal and Markdown), shown beside
/// the summary when a simulated user played a conversation of an eval: what it took,
/// apart from the model's `tokens` and `cost`, and the cost of both.
pub(crate) const USER_HEADERS: [&str; 7] = [
    "prompt",
    "model",
    "user calls",
    "user tokens in",
    "user tokens out",
    "user cost",
    "cost with user",
];

/// Whether an eval's rows need the simulated-user table.
pub(crate) fn has_user_figures(rows: &[&SummaryRow]) -> bool {
    rows.iter().any(|r| r.simulated_user.is_some())
}

/// The cells of one row of the simulated-user table, in [`USER_HEADERS`] order; a cost
/// that is unknown (no price configured for the user's provider) is `—`, never `$0`.
pub(crate) fn user_values(row: &SummaryRow) -> [String; 7] {
    let (calls, tokens_in, tokens_out, cost) = match &row.simulated_user {
        Some(u) => (
            human::thousands(u.calls),
            human::thousands(u.tokens_in),
            human::thousands(u.tokens_out),
            human::cost(u.cost_usd),
        ),
        None => ("0".into(), "0".into(), "0".into(), "$0".into()),
    };
    [
        row.prompt.clone(),
        row.model.clone(),
        calls,
        tokens_in,
        tokens_out,
        cost,
        human::cost(row.cost_with_user_usd()),
    ]
}

/// Unwraps one streamed result; a failure is a read failure.
pub(crate) fn read(result: io::Result<CellResult>) -> Result<CellResult, Failure> {
    result.map_err(Failure::Read)
}

/// The reasons of a cell's failed assertions, `type: reason` each.
pub(crate) fn failed_reasons(cell: &CellResult) -> impl Iterator<Item = String> + '_ {
    cell.assertions.iter().filter(|a| !a.pass).map(|a| {
        if a.reason.is_empty() {
            a.kind.clone()
        } else {
            format!("{}: {}", a.kind, a.reason)
        }
    })
}

/// The first string variable that is not `id` or `expected`, for a short input preview.
pub(crate) fn input_preview(cell: &CellResult) -> Option<&str> {
    cell.vars
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "id" | "expected"))
        .find_map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn headings_name_the_description_dataset_and_size() {
        let (record, _) = fixture::small();
        let groups = eval_groups(&record);
        assert_eq!(
            heading(&groups[0]),
            "sentiment — Sentiment — zero-shot vs few-shot · datasets/reviews.csv · 4 cases"
        );
    }

    #[test]
    fn best_row_is_marked_only_when_there_is_a_winner() {
        let (record, _) = fixture::small();
        let groups = eval_groups(&record);
        let marks = best_rows(&groups[0].rows);
        assert_eq!(marks.iter().filter(|m| **m).count(), 1);
        assert_eq!(best_rows(&groups[1].rows), [false]);
        let mut tie = record.summary[0].clone();
        tie.pass_rate = Some(1.0);
        assert_eq!(best_rows(&[&tie, &tie]), [false, false]);
    }
}
