//! `prompteval runs diff A B`: what changed cell by cell between two runs, regressions and
//! fixes first, with a word-level diff of each output.

use std::io::Write;

use console::style;
use similar::{ChangeTag, TextDiff};

use crate::analysis::baseline::{pair_cells, CellPair};
use crate::analysis::trajectory;
use crate::run::events::CellStatus;
use crate::store::{ResultSource, RunRecord};
use crate::tools::{same_calls, show};

use super::error::{named, Failure};
use super::human;
use super::ReportError;

/// What the diff shows.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Whether to colour (deletions red, insertions green). Without colour, deletions are
    /// written `[-old-]` and insertions `{+new+}`.
    pub color: bool,
    /// Changed cells shown in full; the rest are counted.
    pub max_cells: usize,
    /// Also list cells whose status, score, output and tool calls are all the same (failing
    /// ones too).
    pub unchanged: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            color: false,
            max_cells: 50,
            unchanged: false,
        }
    }
}

/// How a cell changed, in the order they are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Passed before, does not now.
    Regressed,
    /// Did not pass before, does now.
    Fixed,
    /// Failed (or errored) both times, something changed.
    StillFailing,
    /// Passed both times, the output or score changed.
    Changed,
    /// Only in A.
    Removed,
    /// Only in B.
    Added,
    /// Failed (or errored) both times, with the same output and score: still failing,
    /// listed only with the unchanged cells.
    StillFailingSame,
    /// Passed both times with the same score and output.
    Unchanged,
}

impl Kind {
    fn of(pair: &CellPair) -> Kind {
        match (&pair.before, &pair.after) {
            (Some(_), None) => Kind::Removed,
            (None, Some(_)) => Kind::Added,
            (Some(b), Some(a)) => {
                let (bs, as_) = (b.status(), a.status());
                if bs == CellStatus::Pass && as_ != CellStatus::Pass {
                    Kind::Regressed
                } else if bs != CellStatus::Pass && as_ == CellStatus::Pass {
                    Kind::Fixed
                } else if bs == as_
                    && b.output == a.output
                    && same_calls(&b.tool_calls, &a.tool_calls)
                    && trajectory::parting(&b.steps, &a.steps).is_none()
                    && b.error == a.error
                    && (b.score - a.score).abs() < 1e-12
                {
                    if as_ == CellStatus::Pass {
                        Kind::Unchanged
                    } else {
                        Kind::StillFailingSame
                    }
                } else if as_ == CellStatus::Pass {
                    Kind::Changed
                } else {
                    Kind::StillFailing
                }
            }
            (None, None) => Kind::Unchanged,
        }
    }

    fn marker(self) -> &'static str {
        match self {
            Kind::Regressed => "↓",
            Kind::Fixed => "↑",
            Kind::StillFailing | Kind::StillFailingSame => "✗",
            Kind::Changed => "~",
            Kind::Removed => "-",
            Kind::Added => "+",
            Kind::Unchanged => "=",
        }
    }
}

/// Writes the diff from run `a` (before) to run `b` (after). Cells are paired as for
/// `--baseline` (eval, prompt, model, case id, repeat).
pub fn write_diff(
    a: &RunRecord,
    a_results: &dyn ResultSource,
    b: &RunRecord,
    b_results: &dyn ResultSource,
    opts: &DiffOptions,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("diff", || {
        let pairs = pair_cells(a, a_results, b, b_results).map_err(Failure::Read)?;
        let mut kinds: Vec<(Kind, &CellPair)> = pairs.iter().map(|p| (Kind::of(p), p)).collect();
        kinds.sort_by(|(k1, p1), (k2, p2)| {
            k1.cmp(k2)
                .then(p1.row.eval.cmp(&p2.row.eval))
                .then(human::natural_cmp(&p1.case_id, &p2.case_id))
                .then(p1.repeat.cmp(&p2.repeat))
                .then(p1.row.prompt.cmp(&p2.row.prompt))
                .then(p1.row.model.cmp(&p2.row.model))
        });
        let count = |k: Kind| kinds.iter().filter(|(x, _)| *x == k).count();
        writeln!(w, "runs diff {} → {}", a.run_id, b.run_id)?;
        writeln!(
            w,
            "{} pass→fail · {} fail→pass · {} still failing · {} changed · {} unchanged · {} only in {} · {} only in {}",
            count(Kind::Regressed),
            count(Kind::Fixed),
            count(Kind::StillFailing) + count(Kind::StillFailingSame),
            count(Kind::Changed),
            count(Kind::Unchanged),
            count(Kind::Removed),
            a.run_id,
            count(Kind::Added),
            b.run_id,
        )?;
        let shown: Vec<&(Kind, &CellPair)> = kinds
            .iter()
            .filter(|(k, _)| {
                opts.unchanged || !matches!(k, Kind::Unchanged | Kind::StillFailingSame)
            })
            .collect();
        for (kind, pair) in shown.iter().take(opts.max_cells) {
            writeln!(w)?;
            write_cell(*kind, pair, opts, w)?;
        }
        if shown.len() > opts.max_cells {
            writeln!(w)?;
            writeln!(
                w,
                "… {} more cells not shown (--max-cells)",
                shown.len() - opts.max_cells
            )?;
        }
        Ok(())
    })
}

fn status_text(pair: &CellPair) -> (String, String) {
    let side = |c: Option<&crate::run::events::CellResult>| match c {
        Some(c) if c.error.is_some() => "ERROR".to_string(),
        Some(c) => format!("{} {:.2}", c.status().label(), c.score),
        None => "absent".to_string(),
    };
    (side(pair.before.as_ref()), side(pair.after.as_ref()))
}

/// One changed cell: its heading, why the failing side fails, and the output's change.
fn write_cell(
    kind: Kind,
    pair: &CellPair,
    opts: &DiffOptions,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let prompt = match pair.baseline_prompt.as_deref() {
        Some(before) if before != pair.row.prompt => format!("{before} → {}", pair.row.prompt),
        _ => pair.row.prompt.clone(),
    };
    let repeat = if pair.repeat > 0 {
        format!(" #{}", pair.repeat)
    } else {
        String::new()
    };
    let (before, after) = status_text(pair);
    let head = format!(
        "{} {} · case {}{repeat} · {prompt} × {}: {before} → {after}",
        kind.marker(),
        pair.row.eval,
        pair.case_id,
        pair.row.model
    );
    if opts.color {
        let styled = match kind {
            Kind::Regressed | Kind::Removed => style(head).red().bold(),
            Kind::Fixed | Kind::Added => style(head).green().bold(),
            _ => style(head).bold(),
        };
        writeln!(w, "{}", styled.force_styling(true))?;
    } else {
        writeln!(w, "{head}")?;
    }
    // Why the failing side fails.
    if let Some(cell) = pair
        .after
        .as_ref()
        .filter(|c| c.status() != CellStatus::Pass)
    {
        if let Some(error) = &cell.error {
            writeln!(w, "    error: {}", human::truncate(error, 200))?;
        }
        for a in cell.assertions.iter().filter(|a| !a.pass) {
            writeln!(w, "    {}: {}", a.kind, human::truncate(&a.reason, 200))?;
        }
    }
    write_calls(pair, opts.color, w)?;
    let text = |c: Option<&crate::run::events::CellResult>| {
        c.and_then(|c| c.output.clone()).unwrap_or_default()
    };
    let (old, new) = (text(pair.before.as_ref()), text(pair.after.as_ref()));
    if old == new {
        if !old.is_empty() && kind != Kind::Unchanged {
            writeln!(w, "    output unchanged: {}", human::snippet(&old, 80))?;
        }
        return Ok(());
    }
    write_word_diff(&old, &new, opts.color, w)
}

/// A change in the tool calls (a function or an argument), as a word diff of the calls
/// on one line each; nothing when both sides made the same calls. Agent cells show where
/// their trajectories part instead.
fn write_calls(pair: &CellPair, color: bool, w: &mut dyn Write) -> Result<(), Failure> {
    let before = pair.before.as_ref().map_or(&[][..], |c| &c.steps[..]);
    let after = pair.after.as_ref().map_or(&[][..], |c| &c.steps[..]);
    if !before.is_empty() || !after.is_empty() {
        if let Some(parting) = trajectory::parting(before, after) {
            writeln!(
                w,
                "    trajectories part at step {} (of {} → {}):",
                parting.step,
                before.len(),
                after.len()
            )?;
            // Two different steps rarely share words: each is shown whole, not word-diffed.
            let (old, new) = (
                format!("- {}", parting.before),
                format!("+ {}", parting.after),
            );
            if color {
                writeln!(w, "    {}", style(old).red().force_styling(true))?;
                writeln!(w, "    {}", style(new).green().force_styling(true))?;
            } else {
                writeln!(w, "    {old}\n    {new}")?;
            }
            return Ok(());
        }
        return Ok(());
    }
    let old = pair.before.as_ref().map_or(&[][..], |c| &c.tool_calls[..]);
    let new = pair.after.as_ref().map_or(&[][..], |c| &c.tool_calls[..]);
    if same_calls(old, new) {
        return Ok(());
    }
    let line = |calls: &[crate::tools::ToolCall]| {
        if calls.is_empty() {
            "(no tool calls)".to_string()
        } else {
            show::arrows(calls)
        }
    };
    writeln!(w, "    tool calls changed:")?;
    write_word_diff(&line(old), &line(new), color, w)
}

/// The word-level diff of two outputs, indented: `[-old-]{+new+}`, or struck through and
/// underlined when colouring.
fn write_word_diff(old: &str, new: &str, color: bool, w: &mut dyn Write) -> Result<(), Failure> {
    write!(w, "    ")?;
    let diff = TextDiff::from_words(old, new);
    // Runs of the same kind are written as one span: `{+mostly positive+}`, not a span per
    // word and per space.
    let mut spans: Vec<(ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        match spans.last_mut() {
            Some((tag, text)) if *tag == change.tag() => text.push_str(change.value()),
            _ => spans.push((change.tag(), change.value().to_string())),
        }
    }
    for (tag, text) in spans {
        let value = text.replace('\n', "\n    ");
        match (tag, color) {
            (ChangeTag::Equal, _) => write!(w, "{value}")?,
            (ChangeTag::Delete, true) => write!(
                w,
                "{}",
                style(value).red().strikethrough().force_styling(true)
            )?,
            (ChangeTag::Insert, true) => write!(
                w,
                "{}",
                style(value).green().underlined().force_styling(true)
            )?,
            (ChangeTag::Delete, false) => write!(w, "[-{value}-]")?,
            (ChangeTag::Insert, false) => write!(w, "{{+{value}+}}")?,
        }
    }
    writeln!(w)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{fixture, fixture_agent};

    fn runs() -> (
        RunRecord,
        Vec<crate::run::events::CellResult>,
        RunRecord,
        Vec<crate::run::events::CellResult>,
    ) {
        let (a, a_results) = fixture::small();
        let mut b = a.clone();
        b.run_id = "20260102-120000-c3d4".into();
        let mut b_results = a_results.clone();
        for cell in &mut b_results {
            if cell.prompt == "sentiment@2" && cell.model == "echo" && cell.case_id == "4" {
                cell.pass = false;
                cell.score = 0.5;
                cell.output = Some("mostly positive".into());
                cell.assertions[0].pass = false;
                cell.assertions[0].reason = "expected `positive`, got `mostly positive`".into();
            }
            if cell.prompt == "sentiment@1" && cell.model == "echo" && cell.case_id == "2" {
                cell.pass = true;
                cell.score = 1.0;
                cell.output = Some("negative".into());
                cell.assertions[0].pass = true;
            }
            if cell.prompt == "sentiment@2" && cell.model == "gemma-local" && cell.case_id == "3" {
                cell.output = Some("positive, I think".into());
            }
        }
        b_results.retain(|c| !(c.eval == "capitals" && c.repeat == 1 && c.case_id == "fr"));
        (a, a_results, b, b_results)
    }

    fn render(opts: &DiffOptions) -> String {
        let (a, ar, b, br) = runs();
        let mut out = Vec::new();
        write_diff(&a, &ar, &b, &br, opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn agent_trajectories_show_the_step_where_they_part() {
        let (a, ar) = fixture_agent::agent();
        let (b, br) = fixture_agent::agent_again();
        let mut out = Vec::new();
        write_diff(&a, &ar, &b, &br, &DiffOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("trajectories part at step 2 (of 2 → 3):"),
            "{text}"
        );
        assert!(!text.contains("case paris"), "paris did the same: {text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn diff_snapshot() {
        let text = render(&DiffOptions::default());
        insta::assert_snapshot!(text);
    }

    #[test]
    fn regressions_come_first_and_counts_are_on_top() {
        let text = render(&DiffOptions::default());
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[1].starts_with("1 pass→fail · 1 fail→pass · 5 still failing"),
            "{text}"
        );
        let first = lines
            .iter()
            .find(|l| l.starts_with(['↓', '↑', '✗', '~', '-', '+']))
            .unwrap();
        assert!(
            first.starts_with("↓ sentiment · case 4 · sentiment@2 × echo: PASS 1.00 → FAIL 0.50"),
            "{text}"
        );
        assert!(text.contains("    {+mostly +}positive\n"), "{text}");
    }

    #[test]
    fn fail_to_fail_cells_were_counted_as_unchanged() {
        // Issue 13.5: the fixture's failing cells fail the same way in both runs.
        let (a, ar, b, br) = runs();
        let failing_both = ar
            .iter()
            .filter(|c| c.status() != CellStatus::Pass)
            .filter(|c| {
                br.iter().any(|d| {
                    (&d.eval, &d.prompt, &d.model, &d.case_id, d.repeat)
                        == (&c.eval, &c.prompt, &c.model, &c.case_id, c.repeat)
                        && d.status() != CellStatus::Pass
                })
            })
            .count();
        assert!(failing_both > 1, "{failing_both}");
        let mut out = Vec::new();
        write_diff(&a, &ar, &b, &br, &DiffOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let counts = text.lines().nth(1).unwrap();
        assert!(
            counts.contains(&format!(" · {failing_both} still failing · ")),
            "{counts}"
        );
        // The identical ones are counted, and listed only with --unchanged.
        assert_eq!(
            text.lines().filter(|l| l.starts_with('✗')).count(),
            1,
            "{text}"
        );
        let all = render(&DiffOptions {
            unchanged: true,
            ..DiffOptions::default()
        });
        assert_eq!(
            all.lines().filter(|l| l.starts_with('✗')).count(),
            failing_both,
            "{all}"
        );
    }

    #[test]
    fn a_changed_call_is_a_change_even_when_both_pass() {
        let (a, mut ar, b, mut br) = runs();
        let call = |city: &str| {
            vec![crate::tools::ToolCall::from_raw(
                format!("call_{city}"),
                "get_weather",
                format!(r#"{{"city": "{city}"}}"#),
            )]
        };
        let same = |c: &crate::run::events::CellResult| {
            c.prompt == "sentiment@1" && c.model == "echo" && c.case_id == "1"
        };
        ar.iter_mut()
            .filter(|c| same(c))
            .for_each(|c| c.tool_calls = call("Paris"));
        br.iter_mut()
            .filter(|c| same(c))
            .for_each(|c| c.tool_calls = call("Rome"));
        let mut out = Vec::new();
        write_diff(&a, &ar, &b, &br, &DiffOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("~ sentiment · case 1 · sentiment@1 × echo: PASS 1.00 → PASS 1.00\n    tool calls changed:\n    → [-get_weather(city=\"Paris\")-]{+get_weather(city=\"Rome\")+}\n"),
            "{text}"
        );
        // Only the ids differ: the same calls, no change.
        br.iter_mut()
            .filter(|c| same(c))
            .for_each(|c| c.tool_calls = call("Paris"));
        br.iter_mut()
            .filter(|c| same(c))
            .for_each(|c| c.tool_calls[0].id = "other".into());
        let mut out = Vec::new();
        write_diff(&a, &ar, &b, &br, &DiffOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("case 1 · sentiment@1 × echo"), "{text}");
    }

    #[test]
    fn colour_only_when_asked() {
        assert!(!render(&DiffOptions::default()).contains('\u{1b}'));
        let coloured = render(&DiffOptions {
            color: true,
            ..DiffOptions::default()
        });
        assert!(coloured.contains('\u{1b}'));
        assert!(!coloured.contains("{+"));
    }

    #[test]
    fn unchanged_cells_are_counted_not_listed() {
        let text = render(&DiffOptions::default());
        assert!(!text.lines().any(|l| l.starts_with('=')));
        let all = render(&DiffOptions {
            unchanged: true,
            ..DiffOptions::default()
        });
        assert!(all.lines().any(|l| l.starts_with('=')));
    }
}
