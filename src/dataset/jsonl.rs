//! JSONL datasets: one JSON object per line; blank lines are skipped.

use std::path::Path;

use serde_json::Value as Json;

use crate::diagnostic::Location;

use super::load::{describe, strip_position};
use super::row::{RawRow, RowBuilder};
use super::DatasetError;

/// Reads the rows of a JSONL file into `rows`, one line at a time.
pub(super) fn parse_jsonl(
    text: &str,
    path: &Path,
    rows: &mut RowBuilder<'_>,
) -> Result<(), DatasetError> {
    for (idx, line) in text.lines().enumerate() {
        let number = idx + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Json>(line) {
            Ok(Json::Object(vars)) => rows.push(RawRow { line: number, vars })?,
            Ok(other) => {
                return Err(DatasetError::Parse {
                    location: Location::line(path, number),
                    message: format!(
                        "expected a JSON object on each line, found {}",
                        describe(&other)
                    ),
                })
            }
            Err(err) => {
                return Err(DatasetError::Parse {
                    location: Location::at(path, number, err.column()),
                    message: strip_position(err.to_string()),
                })
            }
        }
    }
    Ok(())
}
