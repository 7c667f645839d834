//! The Markdown report (`--output pr.md`): what a reviewer reads in a pull request — the
//! verdict first, a table per eval, then the failing cases.

use std::io::Write;

use crate::analysis::baseline::Comparison;
use crate::analysis::eval_groups::{eval_groups, EvalGroup, RowIndex};
use crate::run::events::{CellResult, CellStatus};
use crate::store::{ResultSource, RunRecord, RunStatus};

use super::common::{self, PASS_RATE_COLUMN, SUMMARY_HEADERS};
use super::error::{named, Failure};
use super::human;
use super::registry::{ReportFormat, ResultReads};
use super::table::{status_line, BEST};
use super::ReportError;

/// The `.md` format: a summary for a pull request, with the baseline comparison.
pub(crate) const FORMAT: ReportFormat = ReportFormat {
    name: "markdown",
    extensions: &["md", "markdown"],
    title: Some("Markdown"),
    writer: |input, w| {
        let options = MarkdownOptions {
            baseline: input.comparison,
            ..MarkdownOptions::default()
        };
        write_markdown(input.record, input.results, &options, w)
    },
    uses_comparison: true,
    step_summary: true,
    reads: ResultReads::Once,
};

/// What the Markdown report shows.
#[derive(Clone, Debug)]
pub struct MarkdownOptions<'a> {
    /// Failing cells listed per eval; the rest are counted in a `<details>` block.
    pub max_failures: usize,
    /// Characters of output shown per failing cell.
    pub snippet_chars: usize,
    /// The comparison with a baseline run: a table with deltas and the flipped cases
    /// follow the verdict.
    pub baseline: Option<&'a Comparison>,
}

impl Default for MarkdownOptions<'_> {
    fn default() -> Self {
        MarkdownOptions {
            max_failures: 20,
            snippet_chars: 80,
            baseline: None,
        }
    }
}

/// A failing or erroring cell, ready to print.
struct Failing {
    case_id: String,
    column: usize,
    repeat: u32,
    status: CellStatus,
    why: String,
    output: String,
}

impl Failing {
    fn new(cell: &CellResult, column: usize, snippet_chars: usize) -> Self {
        let why = match &cell.error {
            Some(error) => escape(&human::truncate(error, 300)),
            None => {
                let reasons: Vec<String> = common::failed_reasons(cell)
                    .map(|r| escape(&human::truncate(&r, 300)))
                    .collect();
                if reasons.is_empty() {
                    format!("score {:.2}", cell.score)
                } else {
                    reasons.join("<br>")
                }
            }
        };
        let output = match cell.output.as_deref() {
            None => human::UNKNOWN.to_string(),
            Some(o) if o.trim().is_empty() => "*(empty)*".to_string(),
            Some(o) => escape(&human::snippet(o, snippet_chars)),
        };
        Failing {
            case_id: cell.case_id.clone(),
            column,
            repeat: cell.repeat,
            status: cell.status(),
            why,
            output,
        }
    }

    fn order(&self, other: &Self) -> std::cmp::Ordering {
        human::natural_cmp(&self.case_id, &other.case_id)
            .then(self.column.cmp(&other.column))
            .then(self.repeat.cmp(&other.repeat))
    }
}

/// The first failing cells of one eval (in case order) and how many there are in all.
#[derive(Default)]
struct Failures {
    kept: Vec<Failing>,
    total: u64,
}

impl Failures {
    fn add(&mut self, failing: Failing, cap: usize) {
        self.total += 1;
        self.kept.push(failing);
        // Keep memory bounded: trim back to the cap whenever twice as many have piled up.
        if self.kept.len() >= cap.saturating_mul(2).max(64) {
            self.trim(cap);
        }
    }

    fn trim(&mut self, cap: usize) {
        self.kept.sort_by(Failing::order);
        self.kept.truncate(cap);
    }
}

/// Writes the Markdown summary: the gate verdict with its reasons, a table of prompt ×
/// model rows per eval, and up to `max_failures` failing cells per eval. Reads the results
/// once.
pub fn write_markdown(
    record: &RunRecord,
    results: &dyn ResultSource,
    opts: &MarkdownOptions<'_>,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("markdown", || {
        let groups = eval_groups(record);
        let columns = RowIndex::new(&groups);
        let mut failures: Vec<Failures> = groups.iter().map(|_| Failures::default()).collect();
        for cell in results.results().map_err(Failure::Read)? {
            let cell = common::read(cell)?;
            if cell.status() == CellStatus::Pass {
                continue;
            }
            if let Some((g, c)) = columns.find(&cell) {
                failures[g].add(
                    Failing::new(&cell, c, opts.snippet_chars),
                    opts.max_failures,
                );
            }
        }
        for f in &mut failures {
            f.trim(opts.max_failures);
        }

        write_verdict(record, w)?;
        if let Some(comparison) = opts.baseline {
            writeln!(w)?;
            let compare = super::comparison::ComparisonOptions {
                max_flips: opts.max_failures,
                ..Default::default()
            };
            super::comparison::write_comparison_markdown(comparison, &compare, w)?;
        }
        for (group, failures) in groups.iter().zip(&failures) {
            writeln!(w)?;
            write_eval(record, group, failures, w)?;
        }
        Ok(())
    })
}

fn write_verdict(record: &RunRecord, w: &mut dyn Write) -> Result<(), Failure> {
    match record.verdict() {
        Some(gate) if gate.passed => writeln!(w, "## ✅ gate passed")?,
        Some(_) => writeln!(w, "## ❌ gate failed")?,
        None => writeln!(w, "## ⏳ not judged")?,
    }
    writeln!(w)?;
    if let Some(not_judged) = record.not_judged() {
        // Our own words and a run id: the backticks are meant as code.
        writeln!(w, "{not_judged}")?;
        writeln!(w)?;
    }
    if let Some(gate) = record.verdict() {
        for reason in &gate.reasons {
            writeln!(w, "- {}", escape(reason))?;
        }
        if !gate.reasons.is_empty() {
            writeln!(w)?;
        }
        for note in &gate.notes {
            writeln!(w, "> ℹ️ {}", escape(note))?;
        }
        if !gate.notes.is_empty() {
            writeln!(w)?;
        }
    }
    if record.status == RunStatus::Finished {
        writeln!(
            w,
            "Run `{}` · {} cells",
            record.run_id,
            human::thousands(record.completed_cells as u64)
        )?;
    } else {
        writeln!(w, "⚠️ {}", escape(&status_line(record)))?;
    }
    Ok(())
}

/// One eval: its heading, the table of its rows, and its failing cases.
fn write_eval(
    record: &RunRecord,
    group: &EvalGroup<'_>,
    failures: &Failures,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    writeln!(w, "### {}", escape(group.name))?;
    writeln!(w)?;
    if let Some(info) = group.info {
        let mut parts = Vec::new();
        if let Some(description) = info.description.as_deref().filter(|d| !d.is_empty()) {
            parts.push(escape(description));
        }
        parts.push(format!("`{}`", info.dataset.replace('`', "'")));
        let mut cases = format!(
            "{} {}",
            human::thousands(info.cases as u64),
            common::plural(info.cases as u64, "case", "cases")
        );
        if info.repeat > 1 {
            cases.push_str(&format!(" × {} repeats", info.repeat));
        }
        parts.push(cases);
        writeln!(w, "{}", parts.join(" · "))?;
        writeln!(w)?;
    }
    if group.rows.is_empty() {
        writeln!(w, "No results.")?;
        return Ok(());
    }
    write_rows(record, group, w)?;
    if common::has_scorer_figures(&group.rows) {
        write_scorers(group, w)?;
    }
    if common::has_agent_figures(&group.rows) {
        write_figures(
            &common::AGENT_HEADERS,
            group.rows.iter().map(|r| common::agent_values(r)),
            w,
        )?;
    }
    if common::has_user_figures(&group.rows) {
        write_figures(
            &common::USER_HEADERS,
            group.rows.iter().map(|r| common::user_values(r)),
            w,
        )?;
    }
    if failures.total > 0 {
        write_failures(record, group, failures, w)?;
    }
    Ok(())
}

/// The table of an eval's prompt × model rows, the best pass rate marked.
fn write_rows(record: &RunRecord, group: &EvalGroup<'_>, w: &mut dyn Write) -> Result<(), Failure> {
    writeln!(w, "| {} |", SUMMARY_HEADERS.join(" | "))?;
    let align: Vec<&str> = (0..SUMMARY_HEADERS.len())
        .map(|i| if i < 2 { ":--" } else { "--:" })
        .collect();
    writeln!(w, "|{}|", align.join("|"))?;
    let best = common::best_rows(&group.rows);
    for (row, is_best) in group.rows.iter().zip(best) {
        let mut values = common::summary_values(row).map(|v| escape(&v));
        let rate = &mut values[PASS_RATE_COLUMN];
        if is_best {
            *rate = format!("{BEST} **{rate}**");
        }
        if common::row_gate_passed(record, row) == Some(false) {
            *rate = format!("❌ {rate}");
        }
        writeln!(w, "| {} |", values.join(" | "))?;
    }
    Ok(())
}

/// The scorers' failures and model calls of an eval's rows, with the cost of both.
fn write_scorers(group: &EvalGroup<'_>, w: &mut dyn Write) -> Result<(), Failure> {
    writeln!(w)?;
    writeln!(w, "| {} |", common::SCORER_HEADERS.join(" | "))?;
    let align: Vec<&str> = (0..common::SCORER_HEADERS.len())
        .map(|i| if i < 2 { ":--" } else { "--:" })
        .collect();
    writeln!(w, "|{}|", align.join("|"))?;
    for row in &group.rows {
        let values = common::scorer_values(row).map(|v| escape(&v));
        writeln!(w, "| {} |", values.join(" | "))?;
    }
    Ok(())
}

/// A table of figures per row (the agents table), the names left-aligned.
fn write_figures<const N: usize>(
    headers: &[&str; N],
    rows: impl Iterator<Item = [String; N]>,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    writeln!(w)?;
    writeln!(w, "| {} |", headers.join(" | "))?;
    let align: Vec<&str> = (0..N).map(|i| if i < 2 { ":--" } else { "--:" }).collect();
    writeln!(w, "|{}|", align.join("|"))?;
    for values in rows {
        writeln!(w, "| {} |", values.map(|v| escape(&v)).join(" | "))?;
    }
    Ok(())
}

/// The failing cases kept, and a note of how many more there are.
fn write_failures(
    record: &RunRecord,
    group: &EvalGroup<'_>,
    failures: &Failures,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    writeln!(w)?;
    writeln!(
        w,
        "#### Failing cases ({})",
        human::thousands(failures.total)
    )?;
    writeln!(w)?;
    writeln!(w, "| case | prompt × model | status | why | output |")?;
    writeln!(w, "|:--|:--|:--|:--|:--|")?;
    for f in &failures.kept {
        let row = group.rows[f.column];
        let mut case = escape(&f.case_id);
        if group.repeat() > 1 || f.repeat > 0 {
            case.push_str(&format!(" #{}", f.repeat));
        }
        writeln!(
            w,
            "| {case} | {} × {} | {} | {} | {} |",
            escape(&row.prompt),
            escape(&row.model),
            f.status.label(),
            f.why,
            f.output
        )?;
    }
    let rest = failures.total - failures.kept.len() as u64;
    if rest > 0 {
        writeln!(w)?;
        writeln!(
            w,
            "<details><summary>{} more failing {} not shown</summary>",
            human::thousands(rest),
            common::plural(rest, "case", "cases")
        )?;
        writeln!(w)?;
        writeln!(
            w,
            "See them all with `prompteval runs show {} --all`, or write every result with `--output results.json`.",
            record.run_id
        )?;
        writeln!(w)?;
        writeln!(w, "</details>")?;
    }
    Ok(())
}

/// Escapes text for a Markdown table cell or list item: `|` and Markdown punctuation get a
/// backslash, `<`, `>` and `&` become entities (so outputs cannot inject HTML), and line
/// breaks become `<br>`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("<br>"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn render(record: &RunRecord, results: &dyn ResultSource, opts: &MarkdownOptions) -> String {
        let mut out = Vec::new();
        write_markdown(record, results, opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn markdown_snapshot() {
        let (record, results) = fixture::small();
        insta::assert_snapshot!(render(&record, &results, &MarkdownOptions::default()));
    }

    #[test]
    fn big_markdown_caps_failures() {
        let (record, results) = fixture::big();
        let text = render(&record, &results, &MarkdownOptions::default());
        insta::assert_snapshot!(text);
        assert!(text.starts_with("## ✅ gate passed\n"));
        assert!(text.contains("#### Failing cases (22)"));
        assert!(text.contains("<details><summary>2 more failing cases not shown</summary>"));
        let listed = text
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains(" × ") && !l.starts_with("| case"))
            .count();
        assert_eq!(listed, 20);
    }

    #[test]
    fn verdict_comes_first() {
        let (record, results) = fixture::small();
        let text = render(&record, &results, &MarkdownOptions::default());
        assert!(text.starts_with("## ❌ gate failed\n\n- sentiment: sentiment@1 × gemma-local: pass rate 33.3% is below min\\_pass\\_rate 75.0%\n"));
    }

    #[test]
    fn an_interrupted_run_had_a_gate_verdict_in_markdown() {
        // Issue 13.4: the fixture's record carries a failed verdict; interrupted, it is
        // not judged.
        let (mut record, results) = fixture::small();
        record.status = RunStatus::Interrupted;
        record.completed_cells = 8;
        let text = render(&record, &results, &MarkdownOptions::default());
        assert!(
            text.starts_with("## ⏳ not judged\n\nnot judged: interrupted after 8 of 20 cells — `prompteval run --resume 20260101-120000-a1b2` to finish\n\n"),
            "{text}"
        );
        assert!(!text.contains("min\\_pass\\_rate"), "{text}");
    }

    #[test]
    fn judge_cost_and_scorer_errors_were_invisible_in_markdown() {
        // Issue 13.7.
        let record = fixture::judged();
        let results = fixture::small().1;
        let text = render(&record, &results, &MarkdownOptions::default());
        assert!(
            text.contains("| prompt | model | scorer errors | judge tokens in | judge tokens out | judge cost | cost with judges |"),
            "{text}"
        );
        let row = &record.summary[0];
        let expected = format!(
            "| {} | {} | 2 | 1,200 | 80 | $0.0123 | {} |",
            row.prompt,
            row.model,
            human::cost(row.cost_with_graders_usd())
        );
        assert!(text.contains(&expected), "{expected}\n{text}");
    }

    #[test]
    fn table_rows_keep_their_column_count() {
        let (record, results) = fixture::small();
        let text = render(&record, &results, &MarkdownOptions::default());
        for line in text.lines().filter(|l| l.starts_with('|')) {
            let unescaped_pipes = line.matches('|').count() - line.matches("\\|").count();
            assert!(
                unescaped_pipes == 14 || unescaped_pipes == 6,
                "wrong column count: {line}"
            );
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a | b"), "a \\| b");
        assert_eq!(escape("<script>&"), "&lt;script&gt;&amp;");
        assert_eq!(escape("one\r\ntwo\nthree"), "one<br>two<br>three");
        assert_eq!(
            escape("*bold* _it_ `code` [l](u)"),
            "\\*bold\\* \\_it\\_ \\`code\\` \\[l\\](u)"
        );
        assert_eq!(escape("back\\slash"), "back\\\\slash");
    }
}
