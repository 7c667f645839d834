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

/// What pass 1 keeps about one case in one column.
#[derive(Clone, Copy, Default)]
struct Tally {
    /// The lowest repeat seen, whose status and output are shown.
    first_repeat: u32,
    /// That repeat's status; `None` while no cell was seen.
    first: Option<CellStatus>,
    /// Cells (repeats) that passed.
    passed: u32,
    /// Cells (repeats) seen.
    total: u32,
}

impl Tally {
    fn add(&mut self, cell: &CellHead<'_>) {
        let status = cell.status();
        if self.first.is_none() || cell.repeat < self.first_repeat {
            self.first = Some(status);
            self.first_repeat = cell.repeat;
        }
        self.total += 1;
        if status == CellStatus::Pass {
            self.passed += 1;
        }
    }
}

/// Pass 1's view of one eval: case ids and a tally per case and column.
struct EvalCases {
    columns: usize,
    index: HashMap<String, usize>,
    ids: Vec<String>,
    tallies: Vec<Tally>,
}

impl EvalCases {
    fn new(columns: usize) -> Self {
        EvalCases {
            columns,
            index: HashMap::new(),
            ids: Vec::new(),
            tallies: Vec::new(),
        }
    }

    fn add(&mut self, column: usize, cell: &CellHead<'_>) {
        let case = match self.index.get(&*cell.case_id) {
            Some(case) => *case,
            None => {
                let case = self.ids.len();
                self.index.insert(cell.case_id.to_string(), case);
                self.ids.push(cell.case_id.to_string());
                self.tallies
                    .extend(std::iter::repeat_n(Tally::default(), self.columns));
                case
            }
        };
        self.tallies[case * self.columns + column].add(cell);
    }

    fn tallies(&self, case: usize) -> &[Tally] {
        &self.tallies[case * self.columns..(case + 1) * self.columns]
    }

    /// 0: columns disagree (or repeats do); 1: every column fails or errors; 2: all pass.
    fn rank(&self, case: usize) -> u8 {
        let seen: Vec<&Tally> = self.tallies(case).iter().filter(|t| t.total > 0).collect();
        let all_pass = seen.iter().all(|t| t.passed == t.total);
        if all_pass {
            return 2;
        }
        let flaky = seen.iter().any(|t| t.passed > 0 && t.passed < t.total);
        let first = seen.first().and_then(|t| t.first);
        let mixed = seen.iter().any(|t| t.first != first);
        if flaky || mixed {
            0
        } else {
            1
        }
    }
}

/// One row chosen for display, filled in pass 2.
struct ShownRow {
    case: usize,
    preview: Option<String>,
    snippets: Vec<Option<String>>,
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
            .map(|g| EvalCases::new(g.rows.len()))
            .collect();
        let mut lines = results.lines().map_err(Failure::Read)?;
        while let Some(line) = lines.next_line() {
            let cell = CellHead::parse(line.map_err(Failure::Read)?).map_err(Failure::Read)?;
            if let Some((g, c)) = columns.find_names(&cell.eval, &cell.prompt, &cell.model) {
                evals[g].add(c, &cell);
            }
        }

        let (mut shown, positions) = choose_all(&evals, opts.max_rows);
        if shown.iter().any(|rows| !rows.is_empty()) {
            let chosen = Chosen {
                evals: &evals,
                positions: &positions,
                index: &columns,
            };
            fill_rows(results, &chosen, &mut shown, opts)?;
        }

        for (g, group) in groups.iter().enumerate() {
            if g > 0 {
                writeln!(w)?;
            }
            write_eval(record, group, &evals[g], &shown[g], opts, w)?;
        }
        Ok(())
    })
}

/// The rows chosen in every eval, and per eval where each chosen case is shown.
fn choose_all(
    evals: &[EvalCases],
    max_rows: usize,
) -> (Vec<Vec<ShownRow>>, Vec<HashMap<usize, usize>>) {
    let mut shown = Vec::with_capacity(evals.len());
    let mut positions = Vec::with_capacity(evals.len());
    for cases in evals {
        let chosen = choose_rows(cases, max_rows);
        positions.push(
            chosen
                .iter()
                .enumerate()
                .map(|(pos, case)| (*case, pos))
                .collect(),
        );
        shown.push(
            chosen
                .into_iter()
                .map(|case| ShownRow {
                    case,
                    preview: None,
                    snippets: vec![None; cases.columns],
                })
                .collect(),
        );
    }
    (shown, positions)
}

/// What pass 2 looks cells up in: pass 1's cases, where the chosen ones are shown, and
/// the cell → column index.
struct Chosen<'a> {
    evals: &'a [EvalCases],
    positions: &'a [HashMap<usize, usize>],
    index: &'a RowIndex,
}

/// Pass 2: the input preview and the output snippets of the chosen rows.
fn fill_rows(
    results: &dyn ResultSource,
    chosen: &Chosen<'_>,
    shown: &mut [Vec<ShownRow>],
    opts: &MatrixOptions,
) -> Result<(), Failure> {
    let mut lines = results.lines().map_err(Failure::Read)?;
    while let Some(line) = lines.next_line() {
        let line = line.map_err(Failure::Read)?;
        // The head finds the chosen cells; only those are read whole.
        let head = CellHead::parse(line).map_err(Failure::Read)?;
        let Some((g, c)) = chosen
            .index
            .find_names(&head.eval, &head.prompt, &head.model)
        else {
            continue;
        };
        let Some(&case) = chosen.evals[g].index.get(&*head.case_id) else {
            continue;
        };
        let Some(&pos) = chosen.positions[g].get(&case) else {
            continue;
        };
        let tally = chosen.evals[g].tallies(case)[c];
        let row = &mut shown[g][pos];
        let wanted = row.preview.is_none()
            || (head.repeat == tally.first_repeat && row.snippets[c].is_none());
        if !wanted {
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
        if cell.repeat == tally.first_repeat && row.snippets[c].is_none() {
            row.snippets[c] = Some(cell_snippet(&cell, opts.snippet_chars));
        }
    }
    Ok(())
}

/// The cases to show, in display order: disagreements, then failures everywhere, then
/// passes, each in natural case order, at most `max_rows`. When disagreements and
/// failures everywhere do not both fit, each kind gets half the rows (the other's unused
/// share going to it), so cases failing in every column are never all hidden behind
/// disagreeing ones.
fn choose_rows(cases: &EvalCases, max_rows: usize) -> Vec<usize> {
    let mut order: Vec<(u8, usize)> = (0..cases.ids.len()).map(|c| (cases.rank(c), c)).collect();
    order.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| human::natural_cmp(&cases.ids[a.1], &cases.ids[b.1]))
    });
    let of_rank = |rank: u8| {
        order
            .iter()
            .filter(move |(r, _)| *r == rank)
            .map(|(_, c)| *c)
    };
    let (mixed, failing) = (of_rank(0).count(), of_rank(1).count());
    if mixed + failing <= max_rows {
        return order.into_iter().take(max_rows).map(|(_, c)| c).collect();
    }
    let half = max_rows.div_ceil(2);
    let failing_rows = failing.min(max_rows - mixed.min(half));
    let mixed_rows = max_rows - failing_rows;
    of_rank(0)
        .take(mixed_rows)
        .chain(of_rank(1).take(failing_rows))
        .collect()
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
    cases: &EvalCases,
    rows: &[ShownRow],
    opts: &MatrixOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    writeln!(w, "{}", common::heading(group))?;
    if cases.ids.is_empty() {
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
    for row in rows {
        let mut cells = vec![
            Cell::new(&cases.ids[row.case]),
            Cell::new(row.preview.as_deref().unwrap_or("")),
        ];
        for (tally, snippet) in cases.tallies(row.case).iter().zip(&row.snippets) {
            cells.push(status_cell(tally, snippet.as_deref(), opts.color));
        }
        table.add_row(cells);
    }
    write_table(w, &table)?;

    let hidden = cases.ids.len() - rows.len();
    if hidden > 0 {
        let hidden_failing = (0..cases.ids.len()).filter(|c| cases.rank(*c) < 2).count()
            - rows.iter().filter(|r| cases.rank(r.case) < 2).count();
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

    /// Adds a cell as pass 1 reads it: the head of its stored line.
    fn add(cases: &mut EvalCases, column: usize, cell: &CellResult) {
        let line = serde_json::to_string(cell).unwrap();
        cases.add(column, &CellHead::parse(&line).unwrap());
    }

    #[test]
    fn ranks_disagreement_before_uniform_failure() {
        let mut cases = EvalCases::new(2);
        let (_, results) = fixture::small();
        let mut pass = results[0].clone();
        pass.pass = true;
        pass.error = None;
        let mut fail = pass.clone();
        fail.pass = false;
        for (id, a, b) in [
            ("a", &pass, &pass),
            ("b", &fail, &fail),
            ("c", &pass, &fail),
        ] {
            let mut a = a.clone();
            let mut b = b.clone();
            a.case_id = id.into();
            b.case_id = id.into();
            add(&mut cases, 0, &a);
            add(&mut cases, 1, &b);
        }
        assert_eq!((cases.rank(0), cases.rank(1), cases.rank(2)), (2, 1, 0));
        assert_eq!(choose_rows(&cases, 2), [2, 1]);
    }

    #[test]
    fn failures_everywhere_are_shown_beside_many_disagreements() {
        let mut cases = EvalCases::new(2);
        let (_, results) = fixture::small();
        let mut pass = results[0].clone();
        pass.pass = true;
        pass.error = None;
        let mut fail = pass.clone();
        fail.pass = false;
        // Ten disagreeing cases (m0…m9), three failing everywhere (f0…f2), one passing.
        let rows = (0..10)
            .map(|i| (format!("m{i}"), &pass, &fail))
            .chain((0..3).map(|i| (format!("f{i}"), &fail, &fail)))
            .chain([("p".to_string(), &pass, &pass)]);
        for (id, a, b) in rows {
            let (mut a, mut b) = (a.clone(), b.clone());
            a.case_id = id.clone();
            b.case_id = id;
            add(&mut cases, 0, &a);
            add(&mut cases, 1, &b);
        }
        let ids = |rows: Vec<usize>| -> Vec<String> {
            rows.into_iter().map(|c| cases.ids[c].clone()).collect()
        };
        assert_eq!(ids(choose_rows(&cases, 4)), ["m0", "m1", "f0", "f1"]);
        // The failing ones need fewer than half: the disagreements get the rest.
        assert_eq!(
            ids(choose_rows(&cases, 8)),
            ["m0", "m1", "m2", "m3", "m4", "f0", "f1", "f2"]
        );
        assert_eq!(ids(choose_rows(&cases, 20)).len(), 14);
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
