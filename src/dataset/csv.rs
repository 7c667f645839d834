//! CSV datasets: the header row names the columns; every value is a string.

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::diagnostic::Location;

use super::row::{RawRow, RowBuilder};
use super::DatasetError;

/// Reads the rows of a CSV file into `rows`, one record at a time.
pub(super) fn parse_csv(
    bytes: &[u8],
    path: &Path,
    rows: &mut RowBuilder<'_>,
) -> Result<(), DatasetError> {
    let csv_error = |err: csv::Error| {
        let location = match err.position() {
            Some(pos) => Location::line(path, pos.line() as usize),
            None => Location::file(path),
        };
        let message = match err.kind() {
            csv::ErrorKind::Utf8 { err, .. } => {
                format!("field {} is not valid UTF-8", err.field() + 1)
            }
            _ => err.to_string(),
        };
        DatasetError::Parse { location, message }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.is_empty() {
        return Ok(());
    }
    let header_line = reader
        .headers()
        .ok()
        .and_then(|h| h.position())
        .map_or(1, |pos| record_line(bytes, pos));
    let mut seen = HashSet::new();
    for (idx, name) in headers.iter().enumerate() {
        let message = if name.is_empty() {
            format!("column {} of the header has no name", idx + 1)
        } else if !seen.insert(name.as_str()) {
            format!("column `{name}` appears twice in the header")
        } else {
            continue;
        };
        return Err(DatasetError::Parse {
            location: Location::line(path, header_line),
            message,
        });
    }
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |pos| record_line(bytes, pos));
        if record.len() != headers.len() {
            return Err(DatasetError::FieldCount {
                location: Location::line(path, line),
                expected: headers.len(),
                found: record.len(),
            });
        }
        let mut vars = Map::with_capacity(headers.len());
        for (name, value) in headers.iter().zip(record.iter()) {
            vars.insert(name.clone(), Json::String(value.to_owned()));
        }
        rows.push(RawRow { line, vars })?;
    }
    Ok(())
}

/// The line where a CSV record starts. The csv crate reports the position before any blank
/// lines it skipped, so those are counted here.
fn record_line(bytes: &[u8], pos: &csv::Position) -> usize {
    let start = usize::try_from(pos.byte()).unwrap_or(usize::MAX);
    let skipped = bytes
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .filter(|b| **b == b'\n')
        .count();
    pos.line() as usize + skipped
}
