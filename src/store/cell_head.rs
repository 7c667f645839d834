//! A stored cell read in part ([`CellHead`]): its identity and figures, borrowed from
//! its line, for the readers that summarise a run without its texts.

use std::borrow::Cow;
use std::io;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::run::events::CellStatus;

/// The fields of a `results.jsonl` line that the summarising readers use (the case
/// matrix, the model-selection numbers, the HTML report's choice of cells), borrowed
/// from the line: reading a million cells this way allocates nothing per cell, where a
/// whole [`crate::run::events::CellResult`] allocates its variables, output and
/// assertions. A line that parses as a `CellResult` parses as a `CellHead`.
#[derive(Debug, Deserialize)]
pub struct CellHead<'a> {
    /// The eval's name.
    #[serde(borrow)]
    pub eval: Cow<'a, str>,
    /// The prompt reference as resolved.
    #[serde(borrow)]
    pub prompt: Cow<'a, str>,
    /// The model (provider) name.
    #[serde(borrow)]
    pub model: Cow<'a, str>,
    /// The dataset case id.
    #[serde(borrow)]
    pub case_id: Cow<'a, str>,
    /// The repeat index, from 0.
    #[serde(default)]
    pub repeat: u32,
    /// Whether the cell has an error; its text is not read.
    #[serde(default)]
    error: Option<IgnoredAny>,
    /// Whether the case passed.
    pub pass: bool,
    /// The weighted case score.
    pub score: f64,
    /// Prompt tokens, when reported.
    #[serde(default)]
    pub tokens_in: Option<u64>,
    /// Completion tokens, when reported.
    #[serde(default)]
    pub tokens_out: Option<u64>,
}

impl CellHead<'_> {
    /// Parses the head of one stored line; a line that is not a cell is invalid data.
    pub fn parse(line: &str) -> io::Result<CellHead<'_>> {
        serde_json::from_str(line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Whether the cell has an error (no scored output).
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }

    /// The status of the cell, as [`crate::run::events::CellResult::status`] says it.
    pub fn status(&self) -> CellStatus {
        if self.is_error() {
            CellStatus::Error
        } else if self.pass {
            CellStatus::Pass
        } else {
            CellStatus::Fail
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19: the head of every stored cell says what the whole cell says, escapes
    /// in its names included.
    #[test]
    fn the_head_reads_as_the_cell() {
        let (_, mut cells) = crate::report::fixture::small();
        cells[0].case_id = "quote \" and é".into();
        let (_, agents) = crate::report::fixture_agent::agent();
        for cell in cells.iter().chain(&agents) {
            let line = serde_json::to_string(cell).unwrap();
            let head = CellHead::parse(&line).unwrap();
            assert_eq!(
                (&*head.eval, &*head.prompt, &*head.model, &*head.case_id),
                (&*cell.eval, &*cell.prompt, &*cell.model, &*cell.case_id)
            );
            assert_eq!(head.repeat, cell.repeat);
            assert_eq!(head.status(), cell.status());
            assert_eq!(head.score.to_bits(), cell.score.to_bits());
            assert_eq!(
                (head.tokens_in, head.tokens_out),
                (cell.tokens_in, cell.tokens_out)
            );
        }
        assert!(CellHead::parse("{\"eval\": 1}").is_err());
    }
}
