//! CSV datasets: the header row names the columns; every value is a string.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::diagnostic::Location;

use super::file_rows::checksum;
use super::row::{RawRow, RowBuilder};
use super::stream::Tracked;
use super::DatasetError;

/// Reads the rows of a CSV file into `rows`, one record at a time; returns the file's
/// hash and the reader, read to its end.
pub(super) fn parse_csv<R: Read>(
    input: Tracked<R>,
    path: &Path,
    rows: &mut RowBuilder<'_>,
) -> Result<(String, R), DatasetError> {
    let csv_error = |err: csv::Error| csv_error(err, path);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let line_of = |reader: &mut csv::Reader<Tracked<R>>, pos: &csv::Position| {
        pos.line() as usize + reader.get_mut().newlines_at(pos.byte())
    };
    let finish = |reader: csv::Reader<Tracked<R>>| {
        reader
            .into_inner()
            .finish()
            .map_err(|source| DatasetError::Read {
                path: path.to_path_buf(),
                source,
            })
    };
    if headers.is_empty() {
        return finish(reader);
    }
    let header_line = reader
        .headers()
        .ok()
        .and_then(|h| h.position().cloned())
        .map_or(1, |pos| line_of(&mut reader, &pos));
    check_header(&headers, path, header_line)?;
    rows.set_headers(headers.clone());
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |pos| line_of(&mut reader, pos));
        let start = record.position().map_or(0, |pos| pos.byte());
        let start = reader.get_ref().file_offset(start);
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
        let sum = checksum(record.iter().map(str::as_bytes));
        rows.push_at(RawRow { line, vars }, (start, sum))?;
    }
    finish(reader)
}

/// A csv error as a dataset error: a read failure, or a parse error at its line.
fn csv_error(err: csv::Error, path: &Path) -> DatasetError {
    if let csv::ErrorKind::Io(_) = err.kind() {
        let source = match err.into_kind() {
            csv::ErrorKind::Io(source) => source,
            _ => std::io::Error::other("read failed"),
        };
        return DatasetError::Read {
            path: path.to_path_buf(),
            source,
        };
    }
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
}

/// Every column of the header has a name, and no name appears twice.
fn check_header(headers: &[String], path: &Path, line: usize) -> Result<(), DatasetError> {
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
            location: Location::line(path, line),
            message,
        });
    }
    Ok(())
}
