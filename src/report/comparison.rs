//! The comparison with a baseline run, drawn: a terminal table with the flipped cases, and
//! the Markdown section a reviewer reads in a pull request.

use std::io::Write;

use comfy_table::{Cell, CellAlignment, Color};

use crate::analysis::baseline::{CellSnapshot, Comparison, Flip, RowComparison};
use crate::run::events::CellStatus;

use super::error::{named, Failure};
use super::human;
use super::markdown::escape;
use super::table::{new_table, write_table};
use super::ReportError;

/// How the comparison is drawn.
#[derive(Clone, Debug)]
pub struct ComparisonOptions {
    /// The widest a table may be, in columns.
    pub max_width: u16,
    /// Whether to colour (regressions red, improvements green).
    pub color: bool,
    /// Flipped cases listed (regressions first); the rest are counted.
    pub max_flips: usize,
    /// Characters of output shown per side of a flipped case.
    pub snippet_chars: usize,
}

impl Default for ComparisonOptions {
    fn default() -> Self {
        ComparisonOptions {
            max_width: 100,
            color: false,
            max_flips: 10,
            snippet_chars: 60,
        }
    }
}

/// A signed number with a real minus sign: `+0.06`, `−0.06`.
fn signed(x: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, x.abs());
    let zero = text.chars().all(|c| c == '0' || c == '.');
    if zero {
        format!("±{text}")
    } else if x < 0.0 {
        format!("−{text}")
    } else {
        format!("+{text}")
    }
}

/// `0.81 (−0.06)`: the pass rate now with its change on the paired cases.
pub(crate) fn rate_with_delta(row: &RowComparison) -> String {
    let rate = if row.scored == 0 {
        human::UNKNOWN.to_string()
    } else {
        format!("{:.2}", row.passed as f64 / row.scored as f64)
    };
    match row.delta_pass_rate {
        Some(d) => format!("{rate} ({})", signed(d, 2)),
        None => rate,
    }
}

fn interval(ci: Option<(f64, f64)>) -> String {
    match ci {
        Some((lo, hi)) => format!("[{}, {}]", signed(lo, 2), signed(hi, 2)),
        None => human::UNKNOWN.to_string(),
    }
}

fn p_value(row: &RowComparison) -> String {
    row.p_value
        .map_or(human::UNKNOWN.to_string(), crate::gate::p_text)
}

fn flips(row: &RowComparison) -> String {
    format!("{}↓ {}↑", row.regressions.len(), row.fixes.len())
}

fn score_delta(row: &RowComparison) -> String {
    match row.delta_score {
        Some(d) => format!("{} {}", signed(d, 2), interval(row.delta_score_ci)),
        None => human::UNKNOWN.to_string(),
    }
}

/// The header line: `vs baseline 2026… (latest) · 3 pass→fail, 1 fail→pass`, counting the
/// flips of `eval` only when one is given.
fn headline(comparison: &Comparison, eval: Option<&str>) -> String {
    let (down, up) = comparison.flip_counts_in(eval);
    format!(
        "vs baseline {} ({}) · {down} pass→fail, {up} fail→pass",
        comparison.baseline_run_id, comparison.baseline_reference
    )
}

/// Writes the terminal comparison for the rows of `eval` (all rows when `None`): one table
/// row per prompt × model, then up to `max_flips` flipped cases, regressions first.
pub fn write_comparison(
    comparison: &Comparison,
    eval: Option<&str>,
    opts: &ComparisonOptions,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("comparison", || {
        let rows: Vec<&RowComparison> = comparison
            .rows
            .iter()
            .filter(|r| eval.is_none_or(|e| r.eval == e))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(w, "{}", headline(comparison, eval))?;
        write_table(w, &terminal_table(&rows, opts))?;
        let all: Vec<(&RowComparison, &Flip, bool)> = ordered_flips(&rows);
        for (row, flip, down) in all.iter().take(opts.max_flips) {
            write_flip_line(row, flip, *down, opts, w)?;
        }
        if all.len() > opts.max_flips {
            writeln!(
                w,
                "  … {} more flipped cases (`prompteval runs diff {} {}` shows them all)",
                all.len() - opts.max_flips,
                comparison.baseline_run_id,
                comparison.run_id
            )?;
        }
        write_call_changes(comparison, &rows, opts, w)?;
        Ok(())
    })
}

/// The terminal table: one row per prompt × model with its change and flips.
fn terminal_table(rows: &[&RowComparison], opts: &ComparisonOptions) -> comfy_table::Table {
    let mut table = new_table(super::table::SUMMARY_PRESET, opts.max_width, opts.color);
    table.set_header(
        [
            "prompt",
            "model",
            "vs",
            "n",
            "pass (Δ)",
            "Δ 95% CI",
            "p",
            "flips",
            "score Δ",
        ]
        .iter()
        .map(Cell::new),
    );
    for row in rows {
        let mut rate = Cell::new(rate_with_delta(row));
        if opts.color {
            match row.delta_pass_rate {
                Some(d) if d < -1e-12 => rate = rate.fg(Color::Red),
                Some(d) if d > 1e-12 => rate = rate.fg(Color::Green),
                _ => {}
            }
        }
        let baseline = match row.baseline_prompt.as_deref() {
            None => "(new)",
            Some(p) if p == row.prompt => "=",
            Some(p) => p,
        };
        let score = row
            .delta_score
            .map_or(human::UNKNOWN.to_string(), |d| signed(d, 2));
        table.add_row(vec![
            Cell::new(&row.prompt),
            Cell::new(&row.model),
            Cell::new(baseline),
            Cell::new(human::thousands(row.paired)).set_alignment(CellAlignment::Right),
            rate.set_alignment(CellAlignment::Right),
            Cell::new(interval(row.delta_pass_rate_ci)),
            Cell::new(p_value(row)).set_alignment(CellAlignment::Right),
            Cell::new(flips(row)).set_alignment(CellAlignment::Right),
            Cell::new(score).set_alignment(CellAlignment::Right),
        ]);
    }
    // Numbers never wrap; names do when the terminal is narrow.
    for (i, column) in table.column_iter_mut().enumerate() {
        if i >= 3 {
            column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
        }
    }
    table
}

/// `  ↓ case c · greet@1 × echo: PASS → FAIL · reason`, red or green when colouring.
fn write_flip_line(
    row: &RowComparison,
    flip: &Flip,
    down: bool,
    opts: &ComparisonOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let arrow = if down { "↓" } else { "↑" };
    let mut line = format!(
        "  {arrow} case {}{} · {} × {}: {} → {}",
        flip.case_id,
        repeat(flip),
        row.prompt,
        row.model,
        flip.before.status.label(),
        flip.after.status.label(),
    );
    if let Some(why) = why(flip, down).first() {
        line.push_str(&format!(" · {}", human::snippet(why, opts.snippet_chars)));
    }
    if opts.color {
        let styled = if down {
            console::style(line).red()
        } else {
            console::style(line).green()
        };
        writeln!(w, "{}", styled.force_styling(true))?;
    } else {
        writeln!(w, "{line}")?;
    }
    if let Some(parting) = &flip.parting {
        writeln!(
            w,
            "      trajectories part at step {}: was {} · now {}",
            parting.step,
            human::snippet(&parting.before, opts.snippet_chars),
            human::snippet(&parting.after, opts.snippet_chars)
        )?;
    }
    Ok(())
}

/// The cases whose tool calls changed without a flip, up to `max_flips`:
/// `  ~ case c · p × m: PASS · → f(a=1) ⇒ → f(a=2)`.
fn write_call_changes(
    comparison: &Comparison,
    rows: &[&RowComparison],
    opts: &ComparisonOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let changed: Vec<(&RowComparison, &Flip)> = rows
        .iter()
        .flat_map(|row| row.call_changes.iter().map(move |f| (*row, f)))
        .collect();
    let calls = |side: &CellSnapshot| {
        human::snippet(
            side.tool_calls.as_deref().unwrap_or("(no tool calls)"),
            opts.snippet_chars,
        )
    };
    for (row, change) in changed.iter().take(opts.max_flips) {
        writeln!(
            w,
            "  ~ case {}{} · {} × {}: {} · {} ⇒ {}",
            change.case_id,
            repeat(change),
            row.prompt,
            row.model,
            change.after.status.label(),
            calls(&change.before),
            calls(&change.after),
        )?;
    }
    if changed.len() > opts.max_flips {
        writeln!(
            w,
            "  … {} more cases whose tool calls changed (`prompteval runs diff {} {}` shows them all)",
            changed.len() - opts.max_flips,
            comparison.baseline_run_id,
            comparison.run_id
        )?;
    }
    Ok(())
}

/// Why a case flipped: a regression's failed assertions now; for a fix, the assertions it
/// failed in the baseline, labelled `was:` (it passes now, so it has no reason of its own).
fn why(flip: &Flip, down: bool) -> Vec<String> {
    if down {
        flip.after.reasons.clone()
    } else {
        flip.before
            .reasons
            .iter()
            .map(|r| format!("was: {r}"))
            .collect()
    }
}

fn repeat(flip: &Flip) -> String {
    if flip.repeat > 0 {
        format!(" #{}", flip.repeat)
    } else {
        String::new()
    }
}

/// Every flip of `rows`: regressions of every row first, then fixes.
fn ordered_flips<'a>(rows: &[&'a RowComparison]) -> Vec<(&'a RowComparison, &'a Flip, bool)> {
    let mut all = Vec::new();
    for row in rows {
        all.extend(row.regressions.iter().map(|f| (*row, f, true)));
    }
    for row in rows {
        all.extend(row.fixes.iter().map(|f| (*row, f, false)));
    }
    all
}

fn md_output(
    status: CellStatus,
    output: Option<&str>,
    error: Option<&str>,
    chars: usize,
) -> String {
    match (status, output, error) {
        (CellStatus::Error, _, Some(e)) => format!("ERROR: {}", escape(&human::snippet(e, chars))),
        (_, Some(o), _) if o.trim().is_empty() => "*(empty)*".into(),
        (_, Some(o), _) => escape(&human::snippet(o, chars)),
        _ => human::UNKNOWN.into(),
    }
}

/// Writes the Markdown comparison: the table of prompt × model with deltas, the flipped
/// cases with short outputs (up to `max_flips`, the rest in a collapsed block) and the
/// statistics behind each row, collapsed.
pub(crate) fn write_comparison_markdown(
    comparison: &Comparison,
    opts: &ComparisonOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    writeln!(
        w,
        "### Compared with baseline `{}`",
        comparison.baseline_run_id
    )?;
    writeln!(w)?;
    let (down, up) = comparison.flip_counts();
    writeln!(
        w,
        "Baseline `{}` · **{down}** pass→fail · **{up}** fail→pass",
        escape(&comparison.baseline_reference)
    )?;
    writeln!(w)?;
    md_rows(comparison, w)?;
    let rows: Vec<&RowComparison> = comparison.rows.iter().collect();
    md_flips(&ordered_flips(&rows), opts, w)?;
    md_call_changes(&rows, opts, w)?;
    writeln!(w)?;
    writeln!(w, "<details><summary>Statistics</summary>")?;
    writeln!(w)?;
    md_statistics(comparison, w)?;
    writeln!(w)?;
    writeln!(w, "</details>")?;
    Ok(())
}

/// The Markdown table of prompt × model rows with their changes.
fn md_rows(comparison: &Comparison, w: &mut dyn Write) -> Result<(), Failure> {
    writeln!(
        w,
        "| eval | prompt | model | baseline | pass rate (Δ) | Δ 95% CI | McNemar p | flips | score Δ [95% CI] |"
    )?;
    writeln!(w, "|:--|:--|:--|:--|--:|--:|--:|--:|--:|")?;
    for row in &comparison.rows {
        let mut rate = escape(&rate_with_delta(row));
        if row.delta_pass_rate.is_some_and(|d| d < -1e-12) {
            rate = format!("🔻 {rate}");
        }
        writeln!(
            w,
            "| {} | {} | {} | {} | {rate} | {} | {} | {} | {} |",
            escape(&row.eval),
            escape(&row.prompt),
            escape(&row.model),
            escape(row.baseline_prompt.as_deref().unwrap_or("(new)")),
            interval(row.delta_pass_rate_ci),
            escape(&p_value(row)),
            flips(row),
            score_delta(row),
        )?;
    }
    Ok(())
}

/// The flipped cases: up to `max_flips` in a table, the rest in a collapsed one.
/// The cases whose tool calls changed without a flip, in a collapsed block.
fn md_call_changes(
    rows: &[&RowComparison],
    opts: &ComparisonOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let count: usize = rows.iter().map(|r| r.call_changes.len()).sum();
    if count == 0 {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "<details><summary>{count} {} changed tool calls, same pass/fail</summary>",
        if count == 1 { "case" } else { "cases" }
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "| eval | case | prompt × model | status | before | after |"
    )?;
    writeln!(w, "|:--|:--|:--|:--|:--|:--|")?;
    let calls = |side: &CellSnapshot| match side.tool_calls.as_deref() {
        Some(calls) => escape(&human::snippet(calls, opts.snippet_chars)),
        None => "*(no tool calls)*".to_string(),
    };
    for row in rows {
        for change in &row.call_changes {
            writeln!(
                w,
                "| {} | {}{} | {} × {} | {} | {} | {} |",
                escape(&row.eval),
                escape(&change.case_id),
                repeat(change),
                escape(&row.prompt),
                escape(&row.model),
                change.after.status.label(),
                calls(&change.before),
                calls(&change.after),
            )?;
        }
    }
    writeln!(w)?;
    writeln!(w, "</details>")?;
    Ok(())
}

fn md_flips(
    all: &[(&RowComparison, &Flip, bool)],
    opts: &ComparisonOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    if all.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "#### Flipped cases ({})", all.len())?;
    writeln!(w)?;
    let header = |w: &mut dyn Write| -> Result<(), Failure> {
        writeln!(
            w,
            "| | eval | case | prompt × model | before | after | why |"
        )?;
        writeln!(w, "|:--|:--|:--|:--|:--|:--|:--|")?;
        Ok(())
    };
    header(w)?;
    for flip in all.iter().take(opts.max_flips) {
        md_flip_line(flip, opts, w)?;
    }
    if all.len() > opts.max_flips {
        writeln!(w)?;
        writeln!(
            w,
            "<details><summary>{} more flipped cases</summary>",
            all.len() - opts.max_flips
        )?;
        writeln!(w)?;
        header(w)?;
        for flip in all.iter().skip(opts.max_flips) {
            md_flip_line(flip, opts, w)?;
        }
        writeln!(w)?;
        writeln!(w, "</details>")?;
    }
    Ok(())
}

/// One flipped case: before and after with short outputs, and why.
fn md_flip_line(
    (row, flip, down): &(&RowComparison, &Flip, bool),
    opts: &ComparisonOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let side = |cell: &CellSnapshot| {
        md_output(
            cell.status,
            cell.output.as_deref(),
            cell.error.as_deref(),
            opts.snippet_chars,
        )
    };
    writeln!(
        w,
        "| {} | {} | {}{} | {} × {} | {} | {} | {} |",
        if *down {
            "🔴 pass→fail"
        } else {
            "🟢 fail→pass"
        },
        escape(&row.eval),
        escape(&flip.case_id),
        repeat(flip),
        escape(&row.prompt),
        escape(&row.model),
        side(&flip.before),
        side(&flip.after),
        why(flip, *down)
            .iter()
            .map(|r| escape(&human::truncate(r, 200)))
            .collect::<Vec<_>>()
            .join("<br>"),
    )?;
    Ok(())
}

/// The statistics behind each row, and the rows only the baseline has.
fn md_statistics(comparison: &Comparison, w: &mut dyn Write) -> Result<(), Failure> {
    writeln!(
        w,
        "Cells are paired by eval, prompt, model, case id and repeat; only cells scored in both runs count. The change in pass rate is on the paired cells, with a Newcombe 95% interval; the p-value is the two-sided exact McNemar test on the flipped cells (mid-p in brackets); the score change has a paired-bootstrap 95% interval ({} resamples, fixed seed).",
        human::thousands(crate::analysis::stats::BOOTSTRAP_RESAMPLES as u64)
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "| eval | prompt × model | paired | passed before → now (paired) | whole row now | whole row before | p (mid-p) | errored pairs | unpaired |"
    )?;
    writeln!(w, "|:--|:--|--:|--:|--:|--:|--:|--:|--:|")?;
    for row in &comparison.rows {
        let mid_p = row
            .mid_p
            .map_or(human::UNKNOWN.to_string(), crate::gate::p_text);
        writeln!(
            w,
            "| {} | {} × {} | {} | {} → {} | {}/{} | {}/{} | {} ({}) | {} | {} |",
            escape(&row.eval),
            escape(&row.prompt),
            escape(&row.model),
            row.paired,
            row.paired_passed_before,
            row.paired_passed_after,
            row.passed,
            row.scored,
            row.baseline_passed,
            row.baseline_scored,
            escape(&p_value(row)),
            escape(&mid_p),
            row.errored_pairs,
            row.unpaired,
        )?;
    }
    if !comparison.baseline_only.is_empty() {
        writeln!(w)?;
        let gone: Vec<String> = comparison
            .baseline_only
            .iter()
            .map(|k| {
                format!(
                    "{}: {} × {}",
                    escape(&k.eval),
                    escape(&k.prompt),
                    escape(&k.model)
                )
            })
            .collect();
        writeln!(w, "Only in the baseline: {}", gone.join(", "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::comparison;

    #[test]
    fn terminal_comparison_snapshot() {
        let mut out = Vec::new();
        write_comparison(&comparison(), None, &ComparisonOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("1.00 (±0.00)") || text.contains("0.50 (−0.50)"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn agent_flips_say_where_the_trajectories_part() {
        let comparison = crate::report::fixture_agent::agent_comparison();
        let mut out = Vec::new();
        write_comparison(&comparison, None, &ComparisonOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("↑ case oslo"), "{text}");
        assert!(
            text.contains(r#"      trajectories part at step 2: was → get_weather(city="Oslo") ⇒ "Oslo: -3°C, snow" · now → "It's -3°C with snow in Oslo.""#),
            "{text}"
        );
        assert!(text.contains("~ case rome"), "rome's calls changed: {text}");
    }

    #[test]
    fn cases_whose_calls_changed_are_listed_after_the_flips() {
        let mut comparison = comparison();
        let row = comparison
            .rows
            .iter_mut()
            .find(|r| !r.regressions.is_empty())
            .unwrap();
        let mut change = row.regressions[0].clone();
        change.before.status = change.after.status;
        change.before.tool_calls = Some(r#"→ get_weather(city="Paris")"#.into());
        change.after.tool_calls = Some(r#"→ get_weather(city="Rome")"#.into());
        row.call_changes.push(change);
        let (prompt, model) = (row.prompt.clone(), row.model.clone());
        let mut out = Vec::new();
        write_comparison(&comparison, None, &ComparisonOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = format!(
            r#"  ~ case 1 · {prompt} × {model}: FAIL · → get_weather(city="Paris") ⇒ → get_weather(city="Rome")"#
        );
        assert!(text.lines().last() == Some(expected.as_str()), "{text}");
        let mut out = Vec::new();
        write_comparison_markdown(&comparison, &ComparisonOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("<details><summary>1 case changed tool calls, same pass/fail</summary>"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "| sentiment | 1 | {prompt} × {model} | FAIL | → get\\_weather(city=\"Paris\") | → get\\_weather(city=\"Rome\") |"
            )),
            "{text}"
        );
    }

    #[test]
    fn markdown_comparison_snapshot() {
        let mut out = Vec::new();
        write_comparison_markdown(&comparison(), &ComparisonOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "| 🔴 pass→fail | sentiment | 1 | sentiment@2 × echo | positive | mixed |"
            ),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn flips_are_capped_with_the_rest_collapsed() {
        let opts = ComparisonOptions {
            max_flips: 1,
            ..ComparisonOptions::default()
        };
        let mut out = Vec::new();
        write_comparison_markdown(&comparison(), &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("<details><summary>2 more flipped cases</summary>"),
            "{text}"
        );
        let mut out = Vec::new();
        write_comparison(&comparison(), None, &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("… 2 more flipped cases"), "{text}");
    }

    #[test]
    fn flip_totals_per_eval_were_run_wide() {
        // Issue 13.5: the fixture flips two sentiment cases down and one capitals case up.
        let render = |eval| {
            let mut out = Vec::new();
            write_comparison(&comparison(), eval, &ComparisonOptions::default(), &mut out).unwrap();
            String::from_utf8(out).unwrap()
        };
        let capitals = render(Some("capitals"));
        assert!(
            capitals
                .lines()
                .next()
                .unwrap()
                .ends_with("· 0 pass→fail, 1 fail→pass"),
            "{capitals}"
        );
        let sentiment = render(Some("sentiment"));
        assert!(
            sentiment
                .lines()
                .next()
                .unwrap()
                .ends_with("· 2 pass→fail, 0 fail→pass"),
            "{sentiment}"
        );
        assert!(render(None)
            .lines()
            .next()
            .unwrap()
            .ends_with("· 2 pass→fail, 1 fail→pass"));
    }

    #[test]
    fn markdown_flips_had_no_eval_column_and_fixes_showed_the_old_reason_unlabelled() {
        // Issue 13.5.
        let mut out = Vec::new();
        write_comparison_markdown(&comparison(), &ComparisonOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("| | eval | case | prompt × model | before | after | why |"),
            "{text}"
        );
        let fix = text
            .lines()
            .find(|l| l.starts_with("| 🟢 fail→pass"))
            .unwrap();
        assert!(fix.starts_with("| 🟢 fail→pass | capitals | "), "{fix}");
        let why = fix.trim_end_matches(" |").rsplit(" | ").next().unwrap();
        assert!(why.starts_with("was: "), "{fix}");
        let down = text
            .lines()
            .find(|l| l.starts_with("| 🔴 pass→fail"))
            .unwrap();
        assert!(down.starts_with("| 🔴 pass→fail | sentiment | "), "{down}");
        assert!(!down.contains("was: "), "{down}");
        let mut out = Vec::new();
        write_comparison(&comparison(), None, &ComparisonOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let fix = text.lines().find(|l| l.starts_with("  ↑")).unwrap();
        assert!(fix.contains("FAIL → PASS · was: "), "{fix}");
    }

    #[test]
    fn signs() {
        assert_eq!(signed(-0.06, 2), "−0.06");
        assert_eq!(signed(0.061, 2), "+0.06");
        assert_eq!(signed(-0.0001, 2), "±0.00");
    }
}
