//! The terminal summary: per eval, one table row per prompt × model, then the gate verdict.

use std::io::Write;

use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table,
};
use console::style;

use crate::analysis::eval_groups::{eval_groups, EvalGroup};
use crate::analysis::summary::SummaryRow;
use crate::store::{RunRecord, RunStatus};

use super::common::{self, PASS_RATE_COLUMN};
use super::error::{named, Failure};
use super::human;
use super::ReportError;

/// How the terminal summary is drawn.
#[derive(Clone, Debug)]
pub struct TableOptions {
    /// The widest a table may be, in columns (the terminal width, or 100 when not a terminal).
    pub max_width: u16,
    /// Whether to colour (pass rates green or red, the verdict). Never detected here: the
    /// caller decides.
    pub color: bool,
    /// Whether to end with the run's status (when it did not finish) and the gate verdict.
    /// Off when the caller prints one eval at a time and the verdict once at the end.
    pub verdict: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            max_width: 100,
            color: false,
            verdict: true,
        }
    }
}

/// Marks the best pass rate of an eval.
pub(crate) const BEST: &str = "★";

/// Writes the summary of `record`: a heading and a table per eval, then the gate verdict.
///
/// Only the summary rows are used, so this never reads the results.
pub fn write_summary(
    record: &RunRecord,
    opts: &TableOptions,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("summary", || {
        for (i, group) in eval_groups(record).iter().enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            let heading = common::heading(group);
            if opts.color {
                writeln!(w, "{}", style(heading).bold().force_styling(true))?;
            } else {
                writeln!(w, "{heading}")?;
            }
            if group.rows.is_empty() {
                writeln!(w, "  no results")?;
                continue;
            }
            let (table, dropped) = eval_table(record, group, opts);
            write_table(w, &table)?;
            if common::best_rows(&group.rows).contains(&true) {
                writeln!(w, "{BEST} the best pass rate of this eval")?;
            }
            if !dropped.is_empty() {
                let names: Vec<String> = dropped.iter().map(|h| h.replace('\n', " ")).collect();
                writeln!(
                    w,
                    "({} not shown to fit {} columns; -o summary.md has every column)",
                    names.join(", "),
                    opts.max_width
                )?;
            }
            if let Some(table) = metrics_table(group, opts) {
                writeln!(w)?;
                write_table(w, &table)?;
            }
            if common::has_scorer_figures(&group.rows) {
                writeln!(w)?;
                write_table(w, &scorers_table(group, opts))?;
            }
            if common::has_agent_figures(&group.rows) {
                writeln!(w)?;
                write_table(w, &agents_table(group, opts))?;
            }
            if common::has_user_figures(&group.rows) {
                writeln!(w)?;
                let users = side_table(group, opts, &common::USER_HEADERS, common::user_values);
                write_table(w, &users)?;
            }
        }
        if !opts.verdict {
            return Ok(());
        }
        writeln!(w)?;
        verdict(record, opts, w)
    })
}

/// Writes the run's status (when it did not finish) and the gate verdict with its reasons
/// and notes: the end of [`write_summary`], for callers that print something between the
/// tables and the verdict.
pub fn write_verdict(
    record: &RunRecord,
    opts: &TableOptions,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("summary", || verdict(record, opts, w))
}

fn verdict(record: &RunRecord, opts: &TableOptions, w: &mut dyn Write) -> Result<(), Failure> {
    if let Some(not_judged) = record.not_judged() {
        writeln!(w, "{}", status_line(record))?;
        writeln!(w, "gate: {not_judged}")?;
        return Ok(());
    }
    write_gate(record, opts, w)
}

/// `run 2026…: interrupted, 120 of 400 cells finished`.
pub(crate) fn status_line(record: &RunRecord) -> String {
    let status = match record.status {
        RunStatus::Running => "still running (or its process died)",
        RunStatus::Finished => "finished",
        RunStatus::Interrupted => "interrupted",
        RunStatus::Failed => "failed",
    };
    format!(
        "run {}: {status}, {} of {} cells finished",
        record.run_id,
        human::thousands(record.completed_cells as u64),
        human::thousands(record.total_cells as u64)
    )
}

/// The summary columns dropped first when the table is wider than the terminal: tokens
/// out, tokens in, p95, cases, p50, cost, score.
const DROP_ORDER: [usize; 7] = [11, 10, 9, 2, 8, 12, 7];

/// The summary table of one eval, without the columns that do not fit `opts.max_width`
/// (lowest priority first), and the headers of those dropped.
fn eval_table(
    record: &RunRecord,
    group: &EvalGroup<'_>,
    opts: &TableOptions,
) -> (Table, Vec<&'static str>) {
    let mut shown: Vec<usize> = (0..TERMINAL_HEADERS.len()).collect();
    let mut dropped = Vec::new();
    let mut table = build_table(record, group, opts, &shown);
    for column in DROP_ORDER {
        if table_width(&table) <= usize::from(opts.max_width) {
            break;
        }
        shown.retain(|&i| i != column);
        dropped.push(TERMINAL_HEADERS[column]);
        table = build_table(record, group, opts, &shown);
    }
    (table, dropped)
}

/// The widest line of a drawn table, in terminal columns.
pub(crate) fn table_width(table: &Table) -> usize {
    table
        .lines()
        .map(|l| console::measure_text_width(l.trim_end()))
        .max()
        .unwrap_or(0)
}

fn build_table(
    record: &RunRecord,
    group: &EvalGroup<'_>,
    opts: &TableOptions,
    shown: &[usize],
) -> Table {
    let mut table = new_table(SUMMARY_PRESET, opts.max_width, opts.color);
    table.set_header(shown.iter().map(|&i| Cell::new(TERMINAL_HEADERS[i])));
    let best = common::best_rows(&group.rows);
    for (row, is_best) in group.rows.iter().zip(best) {
        let values = common::summary_values(row);
        let cells = values
            .into_iter()
            .enumerate()
            .filter(|(i, _)| shown.contains(i))
            .map(|(i, value)| {
                if i != PASS_RATE_COLUMN {
                    return Cell::new(value);
                }
                let mut cell = if is_best {
                    Cell::new(format!("{BEST} {value}"))
                } else {
                    Cell::new(value)
                };
                if opts.color && row.pass_rate.is_some() {
                    let color = if common::row_ok(record, row) {
                        Color::Green
                    } else {
                        Color::Red
                    };
                    cell = cell.fg(color);
                    if is_best {
                        cell = cell.add_attribute(Attribute::Bold);
                    }
                }
                cell
            });
        table.add_row(cells);
    }
    for (index, column) in table.column_iter_mut().enumerate() {
        if index < 2 {
            column.set_padding((0, 1));
            // Prompt and model names are the keys of the table: they never wrap; columns
            // are dropped instead (see `eval_table`).
            column.set_constraint(ColumnConstraint::ContentWidth);
        } else {
            column.set_padding((0, 0));
            column.set_cell_alignment(CellAlignment::Right);
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    table
}

/// The named metrics (`metric:` on assertions) of an eval, one column per name, in a table
/// of their own so the summary keeps its width; `None` when no row has any.
fn metrics_table(group: &EvalGroup<'_>, opts: &TableOptions) -> Option<Table> {
    let names: std::collections::BTreeSet<&str> = group
        .rows
        .iter()
        .flat_map(|row| row.metrics.keys().map(String::as_str))
        .collect();
    if names.is_empty() {
        return None;
    }
    let mut table = new_table(SUMMARY_PRESET, opts.max_width, opts.color);
    table.set_header(
        ["prompt", "model"]
            .into_iter()
            .chain(names.iter().copied())
            .map(Cell::new),
    );
    for row in &group.rows {
        let scores = names
            .iter()
            .map(|name| human::score(row.metrics.get(*name).copied()));
        table.add_row(
            [row.prompt.clone(), row.model.clone()]
                .into_iter()
                .chain(scores)
                .map(Cell::new),
        );
    }
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 1));
        if index >= 2 {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    Some(table)
}

/// What the scorers' model calls cost and how often a scorer failed, per row, in a table
/// of its own (see [`common::SCORER_HEADERS`]).
fn scorers_table(group: &EvalGroup<'_>, opts: &TableOptions) -> Table {
    side_table(group, opts, &common::SCORER_HEADERS, common::scorer_values)
}

/// The agent loops' mean steps, mean tool calls and share stopped at `max_steps`, per
/// row, in a table of their own (see [`common::AGENT_HEADERS`]).
fn agents_table(group: &EvalGroup<'_>, opts: &TableOptions) -> Table {
    side_table(group, opts, &common::AGENT_HEADERS, common::agent_values)
}

/// A table beside the summary: `headers` (each broken after its first word), one line of
/// `values` per summary row, the figures after the prompt and model right-aligned.
fn side_table<const N: usize>(
    group: &EvalGroup<'_>,
    opts: &TableOptions,
    headers: &[&str; N],
    values: fn(&SummaryRow) -> [String; N],
) -> Table {
    let mut table = new_table(SUMMARY_PRESET, opts.max_width, opts.color);
    table.set_header(headers.iter().map(|h| Cell::new(h.replacen(' ', "\n", 1))));
    for row in &group.rows {
        table.add_row(values(row).into_iter().map(Cell::new));
    }
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 1));
        if index >= 2 {
            column.set_cell_alignment(CellAlignment::Right);
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    table
}

/// Short headers, so that thirteen columns fit in a 100-column terminal; the same columns
/// as [`common::SUMMARY_HEADERS`].
const TERMINAL_HEADERS: [&str; 13] = [
    "prompt",
    "model",
    "cases",
    "pass",
    "fail",
    "error",
    "pass\nrate",
    "score",
    "p50",
    "p95",
    "tokens\nin",
    "tokens\nout",
    "cost",
];

/// A rule under the header and no other lines: thirteen columns fit in 100 terminal columns
/// only without vertical borders.
pub(crate) const SUMMARY_PRESET: &str = "     ──            ";

/// A table with the given preset, never wider than `max_width` (unless its numbers cannot
/// fit), styled only when `color` is set — never by looking at the terminal.
pub(crate) fn new_table(preset: &str, max_width: u16, color: bool) -> Table {
    let mut table = Table::new();
    table
        .load_preset(preset)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(max_width);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// Writes a table without the trailing spaces that padding leaves at the end of lines.
pub(crate) fn write_table(w: &mut dyn Write, table: &Table) -> Result<(), Failure> {
    for line in table.lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

fn write_gate(record: &RunRecord, opts: &TableOptions, w: &mut dyn Write) -> Result<(), Failure> {
    let Some(gate) = record.verdict() else {
        writeln!(w, "gate: not judged (the record has no verdict)")?;
        return Ok(());
    };
    let verdict = if gate.passed { "passed" } else { "FAILED" };
    if opts.color {
        let styled = if gate.passed {
            style(verdict).green()
        } else {
            style(verdict).red().bold()
        };
        writeln!(w, "gate: {}", styled.force_styling(true))?;
    } else {
        writeln!(w, "gate: {verdict}")?;
    }
    for reason in &gate.reasons {
        writeln!(w, "  • {reason}")?;
    }
    for note in &gate.notes {
        writeln!(w, "  note: {note}")?;
    }
    // Rows that `gate.prompts` leaves out ran for comparison only: say so, so a reader
    // does not take their numbers for a verdict. (A gated row can have no check too: a
    // gate of regression rules only, without a baseline; the notes say so.)
    let ungated: Vec<String> = record
        .summary
        .iter()
        .filter(|row| {
            let prompts = record.gate_config(&row.eval).prompts;
            !prompts.is_empty() && !prompts.contains(&row.prompt)
        })
        .map(|row| format!("{} × {}", row.prompt, row.model))
        .collect();
    if !ungated.is_empty() {
        writeln!(w, "  not gated (comparison only): {}", ungated.join(", "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn render(record: &RunRecord, opts: &TableOptions) -> String {
        let mut out = Vec::new();
        write_summary(record, opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn summary_snapshot() {
        let (record, _) = fixture::small();
        insta::assert_snapshot!(render(&record, &TableOptions::default()));
    }

    #[test]
    fn big_summary_snapshot() {
        let (record, _) = fixture::big();
        insta::assert_snapshot!(render(&record, &TableOptions::default()));
    }

    #[test]
    fn agent_evals_get_an_agents_table_at_80_and_200_columns() {
        let (record, _) = crate::report::fixture_agent::agent();
        for width in [80u16, 200] {
            let opts = TableOptions {
                max_width: width,
                ..TableOptions::default()
            };
            let text = render(&record, &opts);
            assert!(text.contains("at max_steps"), "{text}");
            insta::assert_snapshot!(format!("agent_summary_{width}"), text);
        }
        let (small, _) = fixture::small();
        let text = render(&small, &TableOptions::default());
        assert!(!text.contains("mean"), "no agents, no agents table: {text}");
    }

    #[test]
    fn fits_a_100_column_terminal() {
        let (record, _) = fixture::small();
        let text = render(&record, &TableOptions::default());
        for line in text.lines() {
            assert!(console::measure_text_width(line) <= 100, "too wide: {line}");
        }
    }

    #[test]
    fn narrow_terminal_drops_columns_but_never_wraps_names_or_numbers() {
        let (record, _) = fixture::small();
        let opts = TableOptions {
            max_width: 60,
            ..TableOptions::default()
        };
        let text = render(&record, &opts);
        for kept in ["sentiment@1  gemma-local", "33.3%", "★ 100%"] {
            assert!(text.contains(kept), "{kept} was broken:\n{text}");
        }
        assert!(text.contains("not shown to fit 60 columns"), "{text}");
        for line in text
            .lines()
            .filter(|l| l.starts_with("sentiment@") || l.starts_with("prompt "))
        {
            assert!(line.chars().count() <= 60, "too wide: {line}\n{text}");
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn named_metrics_get_a_table_of_their_own() {
        let (mut record, _) = fixture::small();
        let text = render(&record, &TableOptions::default());
        assert!(!text.contains("accuracy"), "{text}");
        record.summary[0]
            .metrics
            .insert("accuracy".to_string(), 0.8333);
        record.summary[1].metrics.insert("format".to_string(), 1.0);
        let text = render(&record, &TableOptions::default());
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.contains("accuracy"))
            .expect("metrics header");
        assert!(lines[header].contains("format"), "{text}");
        assert!(lines[header + 2].contains("0.83"), "{text}");
        assert!(lines[header + 2].contains('—'), "{text}");
        assert!(lines[header + 3].contains("1.00"), "{text}");
        for line in text.lines() {
            assert!(console::measure_text_width(line) <= 100, "too wide: {line}");
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn judge_cost_and_scorer_errors_were_invisible() {
        // Issue 13.7.
        let (plain, _) = fixture::small();
        assert!(!render(&plain, &TableOptions::default()).contains("judge"));
        let record = fixture::judged();
        let row = &record.summary[0];
        let text = render(&record, &TableOptions::default());
        let line = text
            .lines()
            .skip_while(|l| !l.contains("judge"))
            .find(|l| l.trim_start().starts_with(&row.prompt))
            .unwrap_or_else(|| panic!("{text}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        let with_judges = human::cost(row.cost_with_graders_usd());
        assert_eq!(
            cells[2..],
            ["2", "1,200", "80", "$0.0123", with_judges.as_str()],
            "{text}"
        );
        for line in text.lines() {
            assert!(console::measure_text_width(line) <= 100, "too wide: {line}");
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let (record, _) = fixture::small();
        let plain = render(&record, &TableOptions::default());
        assert!(!plain.contains('\u{1b}'));
        let opts = TableOptions {
            color: true,
            ..TableOptions::default()
        };
        let coloured = render(&record, &opts);
        assert!(coloured.contains('\u{1b}'));
        assert_eq!(
            console::strip_ansi_codes(&coloured).lines().count(),
            plain.lines().count()
        );
    }

    #[test]
    fn rows_outside_gate_prompts_are_marked_comparison_only() {
        let (mut record, _) = fixture::small();
        let text = render(&record, &TableOptions::default());
        assert!(!text.contains("not gated"), "{text}");
        let first = record.summary[0].clone();
        let eval = record
            .evals
            .iter_mut()
            .find(|e| e.name == first.eval)
            .unwrap();
        eval.gate.prompts = record
            .summary
            .iter()
            .filter(|r| r.eval == first.eval && r.prompt != first.prompt)
            .map(|r| r.prompt.clone())
            .collect();
        let text = render(&record, &TableOptions::default());
        assert!(
            text.contains(&format!(
                "  not gated (comparison only): {p} × echo, {p} × gemma-local\n",
                p = first.prompt
            )),
            "{text}"
        );
    }

    #[test]
    fn gate_verdict_lines() {
        let (mut record, _) = fixture::small();
        let text = render(&record, &TableOptions::default());
        assert!(text.contains("gate: FAILED\n  • sentiment: sentiment@1 × gemma-local: pass rate 33.3% is below min_pass_rate 75.0%\n"));
        record.gate.as_mut().unwrap().passed = true;
        record.gate.as_mut().unwrap().reasons.clear();
        assert!(render(&record, &TableOptions::default()).ends_with("\ngate: passed\n"));
    }

    #[test]
    fn an_interrupted_run_was_shown_with_a_gate_verdict() {
        // Issue 13.4: even a record (written before the fix) that carries a verdict for an
        // interrupted run is shown as not judged, with the command that finishes it.
        let (mut record, _) = fixture::small();
        assert!(record.gate.is_some());
        record.status = RunStatus::Interrupted;
        record.completed_cells = 7;
        let text = render(&record, &TableOptions::default());
        assert!(
            text.ends_with(
                "run 20260101-120000-a1b2: interrupted, 7 of 20 cells finished\ngate: not judged: interrupted after 7 of 20 cells — `prompteval run --resume 20260101-120000-a1b2` to finish\n"
            ),
            "{text}"
        );
        assert!(!text.contains("gate: FAILED"), "{text}");
        record.status = RunStatus::Failed;
        let text = render(&record, &TableOptions::default());
        assert!(
            text.contains("gate: not judged: failed after 7 of 20 cells"),
            "{text}"
        );
    }

    #[test]
    fn best_row_is_starred() {
        let (record, _) = fixture::small();
        let text = render(&record, &TableOptions::default());
        let legend = format!("{BEST} the best pass rate of this eval");
        assert!(text.contains(&format!("\n{legend}\n")), "{text}");
        let starred: Vec<_> = text
            .lines()
            .filter(|l| l.contains(BEST) && *l != legend)
            .collect();
        assert_eq!(starred.len(), 1);
        let words: Vec<_> = starred[0].split_whitespace().take(2).collect();
        assert_eq!(words, ["sentiment@2", "echo"]);
    }
}
