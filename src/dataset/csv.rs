//! CSV datasets: the header row names the columns; every value is a string.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::Location;

use super::file_rows::checksum;
use super::row::RowBuilder;
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
    let layout = CsvLayout::new(headers.clone());
    rows.set_shape(super::file_rows::Shape::Csv(layout.clone()));
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
        let sum = checksum(record.iter().map(str::as_bytes));
        rows.push_csv(&layout, &record, line, (start, sum))?;
    }
    finish(reader)
}

/// How a CSV file's records become rows, worked out once from its header: the variables'
/// names in the order a row keeps them and the column each comes from, and the `id`
/// column. A record is packed straight from its fields, without a map per row.
#[derive(Clone, Debug)]
pub(super) struct CsvLayout {
    /// The header's names, as written.
    pub(super) headers: Vec<String>,
    /// The variables' names: the header's, but `assert` and then `tools` last, where a
    /// row built from a map puts them (in CSV they are ordinary variables).
    pub(super) names: Arc<[String]>,
    /// For each name of `names`, its column.
    pub(super) columns: Vec<usize>,
    /// The `id` column, if there is one.
    pub(super) id: Option<usize>,
}

impl CsvLayout {
    pub(super) fn new(headers: Vec<String>) -> Self {
        let mut columns: Vec<usize> = (0..headers.len()).collect();
        for last in ["assert", "tools"] {
            if let Some(at) = columns.iter().position(|&c| headers[c] == last) {
                let column = columns.remove(at);
                columns.push(column);
            }
        }
        let names: Vec<String> = columns.iter().map(|&c| headers[c].clone()).collect();
        CsvLayout {
            id: headers.iter().position(|h| h == "id"),
            names: names.into(),
            columns,
            headers,
        }
    }
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
