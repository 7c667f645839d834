//! The terminal case matrix: per eval, one row per case and one column per prompt × model,
//! failures first, capped at a number of rows.

use std::collections::HashMap;
use std::io::Write;

use comfy_table::presets::UTF8_FULL;
use comfy_table::{Cell, Color};

use crate::analysis::eval_groups::{eval_groups, EvalGroup, RowIndex};
use crate::analysis::trajectory;
use crate::run::events::{CellResult, CellStatus};
use crate::store::{parse_cell, CellHead, ResultSource, RunRecord};
use crate::tools::show;

use super::common;
use super::error::{named, Failure};
use super::human;
use super::matrix_cases::{Case, EvalCases, Tally};
use super::table::{new_table, write_table};
use super::ReportError;

/// How the case matrix is drawn.
#[derive(Clone, Debug)]
pub struct MatrixOptions {
    /// Rows shown per eval, failing and disagreeing cases first (`usize::MAX` for all).
    pub max_rows: usize,
    /// The widest a table may be, in columns.
    pub max_width: u16,
    /// Whether to colour statuses. Never detected here: the caller decides.
    pub color: bool,
    /// Characters of output shown per cell.
    pub snippet_chars: usize,
    /// Characters of input shown in the `input` column.
    pub preview_chars: usize,
}

impl Default for MatrixOptions {
    fn default() -> Self {
        MatrixOptions {
            max_rows: 20,
            max_width: 100,
            color: false,
            snippet_chars: 24,
            preview_chars: 30,
        }
    }
}

/// One row chosen for display, filled in pass 2.
struct ShownRow {
    case: Case,
    preview: Option<String>,
    snippets: Vec<Option<String>>,
}

/// One eval's chosen rows, filled in pass 2, and where each case id is shown.
struct ShownEval {
    total: usize,
    not_passing: usize,
    rows: Vec<ShownRow>,
    positions: HashMap<String, usize>,
}

/// Writes the case matrix of every eval in `record`, reading `results` twice.
///
/// Memory stays bounded on runs of tens of thousands of cells: the first pass keeps only a
/// few numbers per case and column (to choose which rows to show), the second keeps the
/// output snippets of the chosen rows only.
pub fn write_matrix(
    record: &RunRecord,
    results: &dyn ResultSource,
    opts: &MatrixOptions,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("matrix", || {
        let groups = eval_groups(record);
        let columns = RowIndex::new(&groups);

        let mut evals: Vec<EvalCases> = groups
            .iter()
            .map(|g| EvalCases::new(g.rows.len(), g.repeat(), opts.max_rows))
            .collect();
        let mut lines = results.lines().map_err(Failure::Read)?;
        while let Some(line) = lines.next_at() {
            let (at, line) = line.map_err(Failure::Read)?;
            let cell = CellHead::parse(line).map_err(Failure::Read)?;
            if let Some((g, c)) = columns.find_names(&cell.eval, &cell.prompt, &cell.model) {
                evals[g].add(c, &cell, at);
            }
        }
        drop(lines);

        let mut shown: Vec<ShownEval> = evals.into_iter().map(shown_eval).collect();
        if shown.iter().any(|e| !e.rows.is_empty()) {
            fill_rows(results, &columns, &mut shown, opts)?;
        }

        for (g, group) in groups.iter().enumerate() {
            if g > 0 {
                writeln!(w)?;
            }
            write_eval(record, group, &shown[g], opts, w)?;
        }
        Ok(())
    })
}

/// The rows chosen in one eval, not yet filled.
fn shown_eval(cases: EvalCases) -> ShownEval {
    let chosen = cases.finish();
    let positions = chosen
        .rows
        .iter()
        .enumerate()
        .map(|(pos, case)| (case.id.clone(), pos))
        .collect();
    let rows = chosen
        .rows
        .into_iter()
        .map(|case| ShownRow {
            snippets: vec![None; case.tallies.len()],
            case,
            preview: None,
        })
        .collect();
    ShownEval {
        total: chosen.total,
        not_passing: chosen.not_passing,
        rows,
        positions,
    }
}

/// Pass 2: the input preview and the output snippets of the chosen rows.
fn fill_rows(
    results: &dyn ResultSource,
    index: &RowIndex,
    shown: &mut [ShownEval],
    opts: &MatrixOptions,
) -> Result<(), Failure> {
    // The lines of the chosen cells only: each row's first line (its input preview)
    // and the shown repeat of each column.
    let positions: Vec<u64> = shown
        .iter()
        .flat_map(|e| &e.rows)
        .flat_map(|row| {
            let shown = row.case.tallies.iter().filter(|t| t.total > 0);
            std::iter::once(row.case.first_at).chain(shown.map(|t| t.first_at))
        })
        .collect();
    let mut lines = results.lines_at(&positions).map_err(Failure::Read)?;
    while let Some(line) = lines.next_line() {
        let line = line.map_err(Failure::Read)?;
        let head = CellHead::parse(line).map_err(Failure::Read)?;
        let Some((g, c)) = index.find_names(&head.eval, &head.prompt, &head.model) else {
            continue;
        };
        let Some(&pos) = shown[g].positions.get(&*head.case_id) else {
            continue;
        };
        let row = &mut shown[g].rows[pos];
        let first_repeat = head.repeat == row.case.tallies[c].first_repeat;
        if row.preview.is_some() && !(first_repeat && row.snippets[c].is_none()) {
            continue;
        }
        let cell = parse_cell(line).map_err(Failure::Read)?;
        if row.preview.is_none() {
            row.preview = Some(
                common::input_preview(&cell)
                    .map(|p| human::snippet(p, opts.preview_chars))
                    .unwrap_or_default(),
            );
        }
        if first_repeat && row.snippets[c].is_none() {
            row.snippets[c] = Some(cell_snippet(&cell, opts.snippet_chars));
        }
    }
    Ok(())
}

/// The output's (or error's) first characters on one line; `(empty)` for empty output.
/// A failed cell first names the assertions that failed (metric, else type), so the
/// matrix says *why* at a glance.
fn cell_snippet(cell: &CellResult, max: usize) -> String {
    let output = cell.output.as_deref().unwrap_or("");
    let calls;
    let text = match &cell.error {
        Some(error) => error.as_str(),
        // An agent's trajectory: its calls, their results and the reply, fitted to the cell.
        None if !cell.steps.is_empty() => {
            calls = trajectory::fitted(&cell.steps, cell.stopped, max);
            calls.as_str()
        }
        None if cell.tool_calls.is_empty() => output,
        // The calls come first, then what is left of the text.
        None => {
            calls = show::with_text(&cell.tool_calls, &human::snippet(output, max));
            calls.as_str()
        }
    };
    let output = if text.trim().is_empty() {
        "(empty)".to_string()
    } else {
        human::snippet(text, max)
    };
    let failed: Vec<&crate::run::events::AssertionResult> =
        cell.assertions.iter().filter(|a| !a.pass).collect();
    match failed.first() {
        Some(first) if cell.error.is_none() => {
            let more = match failed.len() {
                1 => String::new(),
                n => format!(" (+{})", n - 1),
            };
            let why = short_reason(first);
            format!(
                "✗ {}{more}\n{output}",
                human::snippet(&why, max.saturating_sub(2 + more.chars().count()))
            )
        }
        _ => output,
    }
}

/// A failed assertion's reason, first line, without its leading "output " (`does not
/// contain "English"`); its metric or type when there is no reason.
fn short_reason(a: &crate::run::events::AssertionResult) -> String {
    let reason = a.reason.trim();
    let reason = reason.strip_prefix("output ").unwrap_or(reason);
    match reason.lines().next() {
        Some(line) if !line.trim().is_empty() => line.to_string(),
        _ => a.metric.as_deref().unwrap_or(&a.kind).to_string(),
    }
}

fn write_eval(
    record: &RunRecord,
    group: &EvalGroup<'_>,
    shown: &ShownEval,
    opts: &MatrixOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    writeln!(w, "{}", common::heading(group))?;
    if shown.total == 0 {
        writeln!(w, "  no results")?;
        return Ok(());
    }
    let mut table = new_table(UTF8_FULL, opts.max_width, opts.color);
    let mut header = vec![Cell::new("case"), Cell::new("input")];
    header.extend(
        group
            .rows
            .iter()
            .map(|r| Cell::new(format!("{}\n{}", r.prompt, r.model))),
    );
    table.set_header(header);
    for row in &shown.rows {
        let mut cells = vec![
            Cell::new(&row.case.id),
            Cell::new(row.preview.as_deref().unwrap_or("")),
        ];
        for (tally, snippet) in row.case.tallies.iter().zip(&row.snippets) {
            cells.push(status_cell(tally, snippet.as_deref(), opts.color));
        }
        table.add_row(cells);
    }
    write_table(w, &table)?;

    let hidden = shown.total - shown.rows.len();
    if hidden > 0 {
        let hidden_failing =
            shown.not_passing - shown.rows.iter().filter(|r| r.case.rank() < 2).count();
        let failing = if hidden_failing == 0 {
            "all passing".to_string()
        } else {
            format!("{} failing", human::thousands(hidden_failing as u64))
        };
        writeln!(
            w,
            "… {} more {} not shown ({failing}); see --output or `prompteval runs show {} --all`",
            human::thousands(hidden as u64),
            common::plural(hidden as u64, "case", "cases"),
            record.run_id
        )?;
    }
    Ok(())
}

/// `PASS`, `FAIL 1/3`, `ERROR` over a snippet; `—` when the cell never ran.
fn status_cell(tally: &Tally, snippet: Option<&str>, color: bool) -> Cell {
    let Some(status) = tally.first else {
        return Cell::new(human::UNKNOWN);
    };
    let mut text = status.label().to_string();
    if tally.total > 1 {
        text.push_str(&format!(" {}/{}", tally.passed, tally.total));
    }
    if let Some(snippet) = snippet {
        text.push('\n');
        text.push_str(snippet);
    }
    let cell = Cell::new(text);
    if !color {
        return cell;
    }
    cell.fg(match status {
        CellStatus::Pass if tally.passed == tally.total => Color::Green,
        CellStatus::Pass => Color::Yellow,
        CellStatus::Fail => Color::Red,
        CellStatus::Error => Color::Magenta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn render(record: &RunRecord, results: &dyn ResultSource, opts: &MatrixOptions) -> String {
        let mut out = Vec::new();
        write_matrix(record, results, opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matrix_snapshot() {
        let (record, results) = fixture::small();
        insta::assert_snapshot!(render(&record, &results, &MatrixOptions::default()));
    }

    #[test]
    fn agent_trajectories_fit_80_and_200_columns() {
        let (record, results) = crate::report::fixture_agent::agent();
        // The widths `runs show` gives one column at 80 and 200 terminal columns
        // (`cli::commands::show::matrix_widths`).
        for (width, snippet_chars, preview_chars) in [(80u16, 46, 16), (200, 152, 30)] {
            let opts = MatrixOptions {
                max_width: width,
                snippet_chars,
                preview_chars,
                ..MatrixOptions::default()
            };
            let text = render(&record, &results, &opts);
            for line in text.lines() {
                assert!(
                    console::measure_text_width(line) <= usize::from(width),
                    "{line}"
                );
            }
            insta::assert_snapshot!(format!("agent_matrix_{width}"), text);
        }
    }

    #[test]
    fn tool_calls_are_shown_before_the_text() {
        let (record, mut results) = fixture::small();
        for cell in results.iter_mut().filter(|c| c.case_id == "1") {
            cell.tool_calls = vec![crate::tools::ToolCall::from_raw(
                "c1",
                "get_weather",
                r#"{"city": "Rome"}"#,
            )];
        }
        let text = render(&record, &results, &MatrixOptions::default());
        assert!(text.contains("→ get_weather(c"), "{text}");
        let cell = results.iter().find(|c| c.case_id == "1").unwrap();
        let snippet = cell_snippet(cell, 80);
        assert!(
            snippet.ends_with(&format!(
                r#"→ get_weather(city="Rome") {}"#,
                cell.output.as_deref().unwrap().trim()
            )),
            "{snippet}"
        );
    }

    #[test]
    fn big_matrix_is_capped_with_failures_first() {
        let (record, results) = fixture::big();
        let text = render(&record, &results, &MatrixOptions::default());
        insta::assert_snapshot!(text);
        // Cases 97, 113, 194, … fail somewhere; 250, 500, 750, 1000 error.
        let problems = (1..=1000)
            .filter(|i| i % 97 == 0 || i % 113 == 0 || i % 250 == 0)
            .count();
        let hidden_failing = problems - 20;
        assert!(text.contains(&format!(
            "… 980 more cases not shown ({hidden_failing} failing); see --output or `prompteval runs show 20260101-120000-a1b2 --all`"
        )), "{text}");
        assert!(
            !text.contains("│ 1 "),
            "a passing case was shown before failing ones"
        );
    }

    #[test]
    fn reads_the_results_twice() {
        let (record, cells) = fixture::small();
        let source = fixture::Counting::new(cells);
        let opts = MatrixOptions::default();
        let reads = source.reads(|| drop(render(&record, &source, &opts)));
        assert_eq!(reads, 2);
    }

    #[test]
    fn all_rows_when_uncapped() {
        let (record, results) = fixture::big();
        let opts = MatrixOptions {
            max_rows: usize::MAX,
            ..MatrixOptions::default()
        };
        let text = render(&record, &results, &opts);
        assert!(!text.contains("more cases not shown"));
        assert!(text.contains("│ 1000 "));
    }

    #[test]
    fn repeats_show_the_first_status_and_a_count() {
        let (record, results) = fixture::small();
        let text = render(&record, &results, &MatrixOptions::default());
        assert!(text.contains("PASS 1/2"), "{text}");
        assert!(text.contains("PASS 2/2"), "{text}");
    }

    #[test]
    fn colour_only_when_asked() {
        let (record, results) = fixture::small();
        let plain = render(&record, &results, &MatrixOptions::default());
        assert!(!plain.contains('\u{1b}'));
        let opts = MatrixOptions {
            color: true,
            ..MatrixOptions::default()
        };
        assert!(render(&record, &results, &opts).contains('\u{1b}'));
    }
}
