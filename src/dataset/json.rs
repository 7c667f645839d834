//! JSON datasets: a top-level array of objects.

use std::path::Path;

use serde_json::Value as Json;

use crate::diagnostic::Location;

use super::load::{describe, strip_position};
use super::row::RawRow;
use super::DatasetError;

pub(super) fn parse_json(text: &str, path: &Path) -> Result<Vec<RawRow>, DatasetError> {
    let value: Json = serde_json::from_str(text).map_err(|err| DatasetError::Parse {
        location: Location::at(path, err.line(), err.column()),
        message: strip_position(err.to_string()),
    })?;
    let items = match value {
        Json::Array(items) => items,
        other => {
            let line = first_content_line(text);
            return Err(DatasetError::Parse {
                location: Location::line(path, line),
                message: format!(
                    "expected a top-level array of objects, found {}",
                    describe(&other)
                ),
            });
        }
    };
    let lines = json_element_lines(text);
    items
        .into_iter()
        .enumerate()
        .map(|(idx, item)| {
            let line = lines.get(idx).copied().unwrap_or(1);
            match item {
                Json::Object(vars) => Ok(RawRow { line, vars }),
                other => Err(DatasetError::Parse {
                    location: Location::line(path, line),
                    message: format!(
                        "row {} is {}, expected an object",
                        idx + 1,
                        describe(&other)
                    ),
                }),
            }
        })
        .collect()
}

/// The line of the first character that is not whitespace.
fn first_content_line(text: &str) -> usize {
    let end = text.len() - text.trim_start().len();
    text[..end].matches('\n').count() + 1
}

/// The 1-based line where each element of the top-level array starts. `text` must be
/// valid JSON.
pub(super) fn json_element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut depth) = (1, 0usize);
    let (mut in_string, mut escaped, mut expecting) = (false, false, false);
    for byte in text.bytes() {
        if byte == b'\n' {
            line += 1;
        }
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if byte.is_ascii_whitespace() {
            continue;
        }
        if depth == 1 && expecting && byte != b']' {
            lines.push(line);
            expecting = false;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    lines
}
