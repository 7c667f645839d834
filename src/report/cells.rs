//! The cells of the JSON and JSONL reports: each stored line copied as it is when it is
//! the cell as this version writes it, parsed and written again when it is not.

use std::io::Write;

use crate::store::{parse_cell, CellShape, ResultSource};

use super::error::Failure;

/// What goes around each cell: before the first, before each other one, after each.
pub(crate) struct Framing {
    /// Written before the first cell.
    pub first: &'static [u8],
    /// Written before every other cell.
    pub rest: &'static [u8],
    /// Written after every cell.
    pub after: &'static [u8],
}

/// Writes every cell of `results` in `framing`.
///
/// A report's cell is the cell as this version writes it, and a stored line written by
/// this version is exactly that (see [`CellShape`]): copying it saves parsing every cell
/// and writing it again, two thirds of the time of a report of a million cells. A line in
/// another shape (a record of an older version) is parsed and written again, as before.
pub(crate) fn write_cells(
    results: &dyn ResultSource,
    framing: &Framing,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let shape = CellShape::current();
    let mut lines = results.lines().map_err(Failure::Read)?;
    let mut first = true;
    while let Some(line) = lines.next_line() {
        let line = line.map_err(Failure::Read)?;
        w.write_all(if first { framing.first } else { framing.rest })?;
        first = false;
        if shape.matches(line) {
            w.write_all(line.as_bytes())?;
        } else {
            let cell = parse_cell(line).map_err(Failure::Read)?;
            serde_json::to_writer(&mut *w, &cell).map_err(|e| Failure::Write(e.into()))?;
        }
        w.write_all(framing.after)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::conversation::{Ended, UserUsage};
    use crate::run::events::CellResult;
    use crate::store::{parse_cell, StoredRun, RESULTS_FILE};
    use crate::tools::ToolCall;

    /// Cells of every kind: plain, failing, erroring and repeated ones, an agent's steps
    /// with tool calls and results, a tool-calling answer, a conversation's turns and its
    /// simulated user; with escapes, non-ASCII text and figures of seventeen digits.
    fn every_kind() -> Vec<CellResult> {
        let (_, mut cells) = crate::report::fixture::small();
        let (_, agents) = crate::report::fixture_agent::agent();
        let mut tools = cells[0].clone();
        tools.tool_calls = vec![ToolCall::from_raw(
            "call_1",
            "get_weather",
            "{\"city\": \"Zürich\", \"when\": \"\\u0007\"}",
        )];
        tools.finish_reason = Some("tool_calls".into());
        tools.latency_ms = 985.690_694_632_869_5;
        tools.queue_ms = Some(0.1 + 0.2);
        let mut talk = agents[0].clone();
        talk.steps[0].turn = 1;
        talk.steps[0].user = Some("And tomorrow?\n\t\"quoted\"".into());
        talk.simulated_user = Some(UserUsage {
            provider: "echo".into(),
            calls: 2,
            tokens_in: Some(10),
            tokens_out: None,
            cost_usd: Some(1e-7),
            latency_ms: 12.5,
            cached: false,
            ended: Some(Ended::MaxTurns),
        });
        cells[1].output = Some("</script> ünïcödé \u{1F600} \\ \u{7f}".into());
        cells.extend(agents);
        cells.extend([tools, talk]);
        cells
    }

    /// What the reports wrote before issue 19: every stored line parsed and written again.
    fn parsed_again(lines: &str, framing: &Framing) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, line) in lines.lines().enumerate() {
            out.extend_from_slice(if i == 0 { framing.first } else { framing.rest });
            serde_json::to_writer(&mut out, &parse_cell(line).unwrap()).unwrap();
            out.extend_from_slice(framing.after);
        }
        out
    }

    /// Issue 19: the cells of a stored run, copied line by line, are byte for byte what
    /// parsing and writing each again gave, for this version's lines (copied) and for an
    /// older version's (parsed: no `repeat`, no `weight`), in both framings.
    #[test]
    fn copied_cells_are_the_cells_parsed_and_written_again() {
        let cells = every_kind();
        let shape = CellShape::current();
        let mut text = String::new();
        for cell in &cells {
            let line = serde_json::to_string(cell).unwrap();
            assert!(shape.matches(&line), "{line}");
            text.push_str(&line);
            text.push('\n');
        }
        let old = serde_json::to_string(&cells[0])
            .unwrap()
            .replacen("\"repeat\":0,", "", 1)
            .replace(",\"weight\":1.0", "");
        assert!(!shape.matches(&old));
        text.push_str(&old);
        text.push('\n');

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RESULTS_FILE), &text).unwrap();
        let (record, _) = crate::report::fixture::small();
        let run = StoredRun {
            dir: dir.path().to_path_buf(),
            record,
        };
        let json = Framing {
            first: b"\n",
            rest: b",\n",
            after: b"",
        };
        let jsonl = Framing {
            first: b"",
            rest: b"",
            after: b"\n",
        };
        for framing in [json, jsonl] {
            let mut copied = Vec::new();
            write_cells(&run, &framing, &mut copied).unwrap();
            assert_eq!(
                String::from_utf8(copied).unwrap(),
                String::from_utf8(parsed_again(&text, &framing)).unwrap()
            );
        }
    }
}
