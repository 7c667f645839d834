//! The model-selection report in the terminal: per eval, one row per prompt × model with
//! intervals, latency, tokens, cost per 1,000 cases and Pareto marks, then a legend.

use std::io::Write;

use comfy_table::{Cell, CellAlignment, Color, ColumnConstraint, Table};
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
            let (table, dropped) = eval_table(eval, opts);
            write_table(w, &table)?;
            if !dropped.is_empty() {
                writeln!(
                    w,
                    "({} not shown to fit {} columns; --html has every column)",
                    dropped.join(", "),
                    opts.max_width
                )?;
            }
        }
        writeln!(w)?;
        let judged = selection
            .evals
            .iter()
            .flat_map(|e| &e.candidates)
            .any(|c| c.grader_calls);
        let simulated = selection
            .evals
            .iter()
            .flat_map(|e| &e.candidates)
            .any(|c| c.simulated_user);
        write_legend(w, &unknown_cost, (judged, simulated), opts.max_width)
    })
}

/// The columns left out first when an eval's table is wider than the terminal: tokens,
/// p95, score, cases, p50, cost. Prompt, model, pass rate and front stay; names never wrap.
const DROP_ORDER: [usize; 6] = [7, 6, 4, 2, 5, 8];

/// One eval's table without the columns that do not fit `opts.max_width` (lowest priority
/// first), and the headers of those left out.
fn eval_table(eval: &SelectionEval, opts: &SelectionOptions) -> (Table, Vec<String>) {
    let mut shown: Vec<usize> = (0..HEADERS.len()).collect();
    let mut dropped = Vec::new();
    let mut table = build_table(eval, opts, &shown);
    for column in DROP_ORDER {
        if super::table::table_width(&table) <= usize::from(opts.max_width) {
            break;
        }
        shown.retain(|&i| i != column);
        dropped.push(
            HEADERS[column]
                .split('\n')
                .next()
                .unwrap_or_default()
                .to_string(),
        );
        table = build_table(eval, opts, &shown);
    }
    (table, dropped)
}

/// One eval's table with the columns in `shown`, each as wide as its content.
fn build_table(eval: &SelectionEval, opts: &SelectionOptions, shown: &[usize]) -> Table {
    let mut table = new_table(PRESET, opts.max_width, opts.color);
    table.set_header(shown.iter().map(|&i| Cell::new(HEADERS[i])));
    for c in &eval.candidates {
        let cells = row(c, opts.color).into_iter().enumerate();
        table.add_row(cells.filter(|(i, _)| shown.contains(i)).map(|(_, c)| c));
    }
    for (column, &index) in table.column_iter_mut().zip(shown) {
        // The preset's blank vertical line already separates columns.
        column.set_padding((0, 0));
        if index >= 2 {
            column.set_cell_alignment(if index == HEADERS.len() - 1 {
                CellAlignment::Left
            } else {
                CellAlignment::Right
            });
        }
        column.set_constraint(ColumnConstraint::ContentWidth);
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
    if c.simulated_user {
        let user = match c.user_cost_per_1k_usd {
            Some(user) => human::cost(Some(user)),
            None => "unknown".to_string(),
        };
        cost.push_str(&format!("\n+{user}\nuser"));
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

fn write_legend(
    w: &mut dyn Write,
    unknown_cost: &[String],
    (judged, simulated): (bool, bool),
    width: u16,
) -> Result<(), Failure> {
    let mut paragraphs = vec![
        "pass rate: passed / scored cases, 95% Wilson interval below; score: mean, 95% t interval.".to_string(),
        "tokens: mean per case; cost per 1k cases: from the configured prices.".to_string(),
        format!("{FRONT} front: on the Pareto front of pass rate vs cost per 1k cases (cost) or vs p50 latency (latency) within its eval: nothing else is as good on both and better on one."),
    ];
    if judged {
        paragraphs.push("+… judges: what the scorers' model calls (judges) cost per 1k cases, apart from the model's cost and not on the front.".to_string());
    }
    if simulated {
        paragraphs.push("+… user: what the simulated user's model calls cost per 1k cases, apart from the model's cost and not on the front.".to_string());
    }
    if !unknown_cost.is_empty() {
        paragraphs.push(format!(
            "cost unknown (no price configured, so left off the cost front): {}",
            unknown_cost.join(", ")
        ));
    }
    for paragraph in paragraphs {
        for line in wrap(&paragraph, usize::from(width)) {
            writeln!(w, "{line}")?;
        }
    }
    Ok(())
}

/// `text` in lines of at most `width` characters, broken between words, the lines after
/// the first indented by two spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line");
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if line.trim().is_empty() {
            line.push_str(word);
        } else if fits {
            line.push(' ');
            line.push_str(word);
        } else {
            lines.push(format!("  {word}"));
        }
    }
    lines
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

    /// Issue 14.4: at 80 columns `report` spilled past the edge and wrapped `greeting@1`.
    #[test]
    fn at_80_columns_columns_are_left_out_and_names_never_wrap() {
        for width in [80, 60] {
            let text = render(&SelectionOptions {
                max_width: width,
                ..Default::default()
            });
            for line in text
                .lines()
                .filter(|l| !l.contains(" — ") && !l.starts_with('('))
            {
                assert!(
                    line.chars().count() <= usize::from(width),
                    "too wide: {line}\n{text}"
                );
            }
            assert!(
                text.contains(&format!("not shown to fit {width} columns")),
                "{text}"
            );
            assert!(text.contains("pass rate"), "{text}");
        }
        let narrow = render(&SelectionOptions {
            max_width: 60,
            ..Default::default()
        });
        assert!(!narrow.contains("tokens\n"), "{narrow}");
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
