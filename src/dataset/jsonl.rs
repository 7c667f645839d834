//! JSONL datasets: one JSON object per line; blank lines are skipped.

use std::io::{BufRead, Read};
use std::path::Path;

use serde_json::Value as Json;

use crate::diagnostic::Location;

use super::file_rows::{checksum, line_body};
use super::load::{describe, strip_position};
use super::row::{RawRow, RowBuilder};
use super::stream::Tracked;
use super::DatasetError;

/// Reads the rows of a JSONL file into `rows`, one line at a time; returns the file's
/// hash and the reader, read to its end.
pub(super) fn parse_jsonl<R: Read>(
    mut input: Tracked<R>,
    path: &Path,
    rows: &mut RowBuilder<'_>,
) -> Result<(String, R), DatasetError> {
    let read_error = |source| DatasetError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    let mut number = 0;
    loop {
        bytes.clear();
        let start = input.position();
        if input.read_until(b'\n', &mut bytes).map_err(read_error)? == 0 {
            break;
        }
        number += 1;
        let body = line_body(&bytes);
        let line = std::str::from_utf8(body).map_err(|_| DatasetError::Parse {
            location: Location::line(path, number),
            message: "file is not valid UTF-8".to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Json>(line) {
            Ok(Json::Object(vars)) => {
                let sum = checksum([body].into_iter());
                rows.push_at(RawRow { line: number, vars }, (start, sum))?
            }
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
    input.finish().map_err(read_error)
}
