//! The model-selection report in the terminal: per eval, one row per prompt × model with
//! intervals, latency, tokens, cost per 1,000 cases and Pareto marks, then a legend.

use std::io::Write;

use comfy_table::{Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, Width};
use console::style;

use crate::analysis::model_selection::{Combination, Interval, ModelSelection, SelectionEval};
use crate::store::RunRecord;

use super::common;
use super::error::{named, Failure};
use super::human;
use super::table::{new_table, write_table};
use super::ReportError;

/// How the selection tables are drawn.
#[derive(Clone, Debug)]
pub struct SelectionOptions {
    /// The widest a table may be, in columns.
    pub max_width: u16,
    /// Whether to colour (the front marks). Never detected here: the caller decides.
    pub color: bool,
}

impl Default for SelectionOptions {
    fn default() -> Self {
        SelectionOptions {
            max_width: 100,
            color: false,
        }
    }
}

/// The mark of a combination on a Pareto front.
pub(crate) const FRONT: &str = "◆";

const HEADERS: [&str; 10] = [
    "prompt",
    "model",
    "cases",
    "pass rate\n95% CI",
    "score\n95% CI",
    "p50",
    "p95",
    "tokens\nin/out",
    "cost per\n1k cases",
    "front",
];

/// A rule under the header and no other lines, like the run summary.
const PRESET: &str = "     ──            ";

/// Writes the model-selection tables of `selection` (the numbers of `record`): a heading
/// and a table per eval, then a legend saying what the intervals and the front marks mean.
pub fn write_selection(
    record: &RunRecord,
    selection: &ModelSelection,
    opts: &SelectionOptions,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("selection", || {
        writeln!(w, "model selection · run {}", selection.run_id)?;
        let mut unknown_cost = Vec::new();
        for eval in &selection.evals {
            writeln!(w)?;
            let heading = common::eval_heading(record, &eval.name);
            if opts.color {
                writeln!(w, "{}", style(heading).bold().force_styling(true))?;
            } else {
                writeln!(w, "{heading}")?;
            }
            if eval.candidates.is_empty() {
                writeln!(w, "  no results")?;
                continue;
            }
            unknown_cost.extend(
                eval.candidates
                    .iter()
                    .filter(|c| c.cost_per_1k_usd.is_none() && c.pass_rate.is_some())
                    .map(|c| format!("{} × {}", c.prompt, c.model)),
            );
            write_table(w, &eval_table(eval, opts))?;
        }
        writeln!(w)?;
        let judged = selection
            .evals
            .iter()
            .flat_map(|e| &e.candidates)
            .any(|c| c.grader_calls);
        write_legend(w, &unknown_cost, judged)
    })
}

/// One eval's table, at its natural width when that fits.
fn eval_table(eval: &SelectionEval, opts: &SelectionOptions) -> Table {
    let mut table = new_table(PRESET, opts.max_width, opts.color);
    table.set_header(HEADERS.iter().map(Cell::new));
    for c in &eval.candidates {
        table.add_row(row(c, opts.color));
    }
    for (index, column) in table.column_iter_mut().enumerate() {
        // The preset's blank vertical line already separates columns.
        column.set_padding((0, 0));
        if index >= 2 {
            column.set_cell_alignment(if index == HEADERS.len() - 1 {
                CellAlignment::Left
            } else {
                CellAlignment::Right
            });
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    // At its natural width when that fits, so names do not wrap needlessly; otherwise
    // the names wrap and the numbers never do.
    let natural: u32 = table
        .column_max_content_widths()
        .iter()
        .map(|w| u32::from(*w) + 1)
        .sum();
    if natural <= u32::from(opts.max_width) {
        table.set_content_arrangement(ContentArrangement::Disabled);
    } else {
        for column in table.column_iter_mut().take(2) {
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(8)));
        }
    }
    table
}

fn row(c: &Combination, color: bool) -> Vec<Cell> {
    let mut cases = human::thousands(c.cases);
    if c.errors > 0 {
        cases.push_str(&format!(
            "\n{} {}",
            human::thousands(c.errors),
            if c.errors == 1 { "error" } else { "errors" }
        ));
    }
    if c.scorer_errors > 0 {
        cases.push_str(&format!(
            "\n{} scorer\n{}",
            human::thousands(c.scorer_errors),
            if c.scorer_errors == 1 {
                "error"
            } else {
                "errors"
            }
        ));
    }
    let mut cost = match c.cost_per_1k_usd {
        Some(cost) => human::cost(Some(cost)),
        None if c.pass_rate.is_some() => "unknown".to_string(),
        None => human::UNKNOWN.to_string(),
    };
    if c.grader_calls {
        let judges = match c.grader_cost_per_1k_usd {
            Some(judges) => human::cost(Some(judges)),
            None => "unknown".to_string(),
        };
        cost.push_str(&format!("\n+{judges}\njudges"));
    }
    let tokens = format!(
        "{} / {}",
        tokens(c.tokens_in_mean),
        tokens(c.tokens_out_mean)
    );
    let front = front_marks(c);
    let mut front_cell = Cell::new(&front);
    if color && !front.is_empty() {
        front_cell = front_cell.fg(Color::Green);
    }
    vec![
        Cell::new(&c.prompt),
        Cell::new(&c.model),
        Cell::new(cases),
        Cell::new(with_interval(
            human::percent_opt(c.pass_rate),
            c.pass_rate_ci,
            |i| format!("{}–{}", human::percent(i.low), human::percent(i.high)),
        )),
        Cell::new(with_interval(human::score(c.score_mean), c.score_ci, |i| {
            format!("{:.2}–{:.2}", i.low, i.high)
        })),
        Cell::new(human::duration_ms_opt(c.latency_ms_p50)),
        Cell::new(human::duration_ms_opt(c.latency_ms_p95)),
        Cell::new(tokens),
        Cell::new(cost),
        front_cell,
    ]
}

/// `◆ cost, latency`, `◆ cost`, `◆ latency` or nothing.
pub(crate) fn front_marks(c: &Combination) -> String {
    let mut on = Vec::new();
    if c.front_cost == Some(true) {
        on.push("cost");
    }
    if c.front_latency == Some(true) {
        on.push("latency");
    }
    if on.is_empty() {
        String::new()
    } else {
        format!("{FRONT} {}", on.join(", "))
    }
}

fn with_interval(
    value: String,
    interval: Option<Interval>,
    show: impl Fn(Interval) -> String,
) -> String {
    match interval {
        Some(i) => format!("{value}\n{}", show(i)),
        None => value,
    }
}

/// A mean token count, rounded: `42`, `1,234`; `—` when no cell reported tokens.
fn tokens(mean: Option<f64>) -> String {
    match mean {
        Some(m) if m.is_finite() && m >= 0.0 => human::thousands(m.round() as u64),
        _ => human::UNKNOWN.to_string(),
    }
}

fn write_legend(w: &mut dyn Write, unknown_cost: &[String], judged: bool) -> Result<(), Failure> {
    writeln!(
        w,
        "pass rate: passed / scored cases, 95% Wilson interval below; score: mean, 95% t interval."
    )?;
    writeln!(
        w,
        "tokens: mean per case; cost per 1k cases: from the configured prices."
    )?;
    writeln!(
        w,
        "{FRONT} front: on the Pareto front of pass rate vs cost per 1k cases (cost) or vs p50"
    )?;
    writeln!(
        w,
        "  latency (latency) within its eval: nothing else is as good on both and better on one."
    )?;
    if judged {
        writeln!(
            w,
            "+… judges: what the scorers' model calls (judges) cost per 1k cases, apart from"
        )?;
        writeln!(w, "  the model's cost and not on the front.")?;
    }
    if !unknown_cost.is_empty() {
        writeln!(
            w,
            "cost unknown (no price configured, so left off the cost front): {}",
            unknown_cost.join(", ")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model_selection::compute_selection;
    use crate::report::fixture;

    fn render(opts: &SelectionOptions) -> String {
        let (record, results) = fixture::small();
        let selection = compute_selection(&record, &results).unwrap();
        let mut out = Vec::new();
        write_selection(&record, &selection, opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn selection_snapshot() {
        insta::assert_snapshot!(render(&SelectionOptions::default()));
    }

    #[test]
    fn fits_the_width_and_never_shows_unknown_cost_as_zero() {
        let text = render(&SelectionOptions::default());
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "too wide: {line}");
        }
        let capitals = text.split("\ncapitals").nth(1).unwrap();
        assert!(capitals.contains("unknown"), "{capitals}");
        assert!(!capitals.contains("$0"), "{capitals}");
        assert!(text.contains("cost unknown (no price configured, so left off the cost front): capital@1 × gemma-local"));
    }

    #[test]
    fn judge_cost_and_scorer_errors_were_invisible_in_the_selection_report() {
        // Issue 13.7: the judged row scored 4 cells; $0.0123 of judges is $3.08 per 1k.
        let record = fixture::judged();
        let results = fixture::small().1;
        let selection = compute_selection(&record, &results).unwrap();
        let c = &selection.evals[0].candidates[0];
        assert_eq!(c.scorer_errors, 2);
        let scored = (c.passed + c.failed) as f64;
        let per_1k = 0.0123 / scored * 1000.0;
        assert!((c.grader_cost_per_1k_usd.unwrap() - per_1k).abs() < 1e-9);
        let mut out = Vec::new();
        write_selection(&record, &selection, &SelectionOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("2 scorer"), "{text}");
        assert!(
            text.contains(&format!("+{}", human::cost(Some(per_1k)))),
            "{text}"
        );
        assert!(
            text.contains("+… judges: what the scorers' model calls"),
            "{text}"
        );
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "too wide: {line}\n{text}");
        }
        assert!(!render(&SelectionOptions::default()).contains("judges"));
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!render(&SelectionOptions::default()).contains('\u{1b}'));
        let coloured = render(&SelectionOptions {
            color: true,
            ..Default::default()
        });
        assert!(coloured.contains('\u{1b}'));
    }
}
