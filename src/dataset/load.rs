//! Datasets: CSV, JSONL, JSON (array) and YAML (list) files → rows with stable ids and the
//! source line of each row.
//!
//! - **CSV**: the header row names the columns; every value is a string. CSV cannot carry
//!   per-row assertions: an `assert` column is an ordinary variable.
//! - **JSONL**: one JSON object per line; blank lines are skipped.
//! - **JSON**: a top-level array of objects.
//! - **YAML**: a top-level list of mappings.
//!
//! JSON and YAML values may be nested (kept as [`serde_json::Value`]). In JSONL, JSON and
//! YAML an `assert` key holds extra assertions for that row (one mapping or a list); it is
//! removed from the row's variables. A row's id is its `id` value (numbers become their
//! text), else its 1-based row number; ids must be unique and non-empty.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::config::yaml::YamlError;
use crate::diagnostic::{Location, Warning};
use crate::score::AssertionSpec;

/// The extensions [`load`] reads.
pub const EXTENSIONS: &[&str] = &["csv", "jsonl", "json", "yaml", "yml"];

/// A dataset file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file does not exist.
    #[error("dataset {} not found", path.display())]
    Missing {
        /// The file, as given.
        path: PathBuf,
        /// The project root it was resolved against.
        root: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("failed to read dataset {}", path.display())]
    Read {
        /// The file, as given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The extension is not one of [`EXTENSIONS`].
    #[error(
        "{}: unsupported dataset format {}. Choose from: .csv, .jsonl, .json, .yaml, .yml",
        path.display(),
        extension.as_deref().map(|e| format!("`.{e}`")).unwrap_or_else(|| "(no extension)".to_string())
    )]
    UnsupportedFormat {
        /// The file, as given.
        path: PathBuf,
        /// Its extension, if it has one.
        extension: Option<String>,
    },
    /// The text is not valid CSV, JSON or YAML, or has the wrong shape.
    #[error("{location}: {message}")]
    Parse {
        /// Where the problem is.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A CSV row with more or fewer fields than the header.
    #[error("{location}: row has {found} fields, expected {expected} (one per header column)")]
    FieldCount {
        /// The row.
        location: Location,
        /// Columns in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// Two rows share an id.
    #[error("{location}: duplicate id `{id}` (also used on line {first_line})")]
    DuplicateId {
        /// The second row with the id.
        location: Location,
        /// The id.
        id: String,
        /// The line of the first row with the id.
        first_line: usize,
    },
    /// A row's `id` is empty.
    #[error("{location}: row has an empty `id`")]
    EmptyId {
        /// The row.
        location: Location,
    },
    /// A row's `assert` is not an assertion or a list of them.
    #[error("{location}: invalid `assert`: {message}")]
    Assert {
        /// The row.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A row's `threshold` is not a number between 0 and 1.
    #[error("{location}: invalid `threshold`: {message}")]
    Threshold {
        /// The row.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// The file holds no rows.
    #[error("{}: dataset has no rows", path.display())]
    Empty {
        /// The file, as given.
        path: PathBuf,
    },
}

impl DatasetError {
    /// Where the problem is.
    pub fn location(&self) -> Location {
        match self {
            DatasetError::Missing { path, .. }
            | DatasetError::Read { path, .. }
            | DatasetError::UnsupportedFormat { path, .. }
            | DatasetError::Empty { path } => Location::file(path),
            DatasetError::Parse { location, .. }
            | DatasetError::FieldCount { location, .. }
            | DatasetError::DuplicateId { location, .. }
            | DatasetError::EmptyId { location }
            | DatasetError::Assert { location, .. }
            | DatasetError::Threshold { location, .. } => location.clone(),
        }
    }

    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            DatasetError::Missing { root, .. } => Some(format!(
                "dataset paths are relative to the project root ({})",
                root.display()
            )),
            DatasetError::UnsupportedFormat { .. } => Some(
                "save the rows as CSV (header row + rows), JSONL (one object per line), a JSON array of objects or a YAML list of mappings"
                    .to_string(),
            ),
            DatasetError::FieldCount { .. } => Some(
                "quote fields that contain commas or line breaks: \"a, b\"".to_string(),
            ),
            DatasetError::DuplicateId { .. } => Some(
                "give every row a unique `id`, or drop the `id` column to number rows"
                    .to_string(),
            ),
            DatasetError::EmptyId { .. } => Some(
                "fill in the `id`, or drop the `id` column to number rows".to_string(),
            ),
            DatasetError::Assert { .. } => Some(
                "write `assert` as a mapping or a list of them, e.g. assert: [{type: contains, value: Paris}]"
                    .to_string(),
            ),
            DatasetError::Threshold { .. } => Some(
                "a row's `threshold` is the weighted score (0 to 1) its case needs to pass, e.g. {\"input\": \"…\", \"threshold\": 0.5}"
                    .to_string(),
            ),
            DatasetError::Empty { path } => Some(
                if path.extension().is_some_and(|e| e == "csv") {
                    "add rows below the header line".to_string()
                } else {
                    "add at least one row".to_string()
                },
            ),
            DatasetError::Read { .. } | DatasetError::Parse { .. } => None,
        }
    }
}

/// One row: one case of an eval.
#[derive(Clone, Debug)]
pub struct Row {
    /// The case id: the `id` column, else the 1-based row number.
    pub id: String,
    /// Where the row starts in the file (1-based line).
    pub line: usize,
    /// The row's variables (every key but `assert`), in file order.
    pub vars: Arc<serde_json::Map<String, serde_json::Value>>,
    /// The same variables as a template context, built once.
    pub context: minijinja::Value,
    /// Extra assertions for this row only (`assert` key in JSONL/JSON/YAML).
    pub asserts: Vec<AssertionSpec>,
    /// This case's own threshold on the weighted score (`threshold` key in JSONL/JSON/YAML),
    /// overriding the eval's.
    pub threshold: Option<f64>,
}

impl Row {
    /// The row's `expected` value, if it has one.
    pub fn expected(&self) -> Option<&serde_json::Value> {
        self.vars.get("expected")
    }
}

/// A loaded dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The file, as the user named it (relative to the project root).
    pub path: PathBuf,
    /// Every variable name, in order of first appearance.
    pub columns: Vec<String>,
    /// The rows, in file order.
    pub rows: Vec<Row>,
    /// `sha256:<hex>` of the file's bytes.
    pub hash: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Jsonl,
    Json,
    Yaml,
}

impl Format {
    fn of(path: &Path) -> Result<Format, DatasetError> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("jsonl") => Ok(Format::Jsonl),
            Some("json") => Ok(Format::Json),
            Some("yaml" | "yml") => Ok(Format::Yaml),
            _ => Err(DatasetError::UnsupportedFormat {
                path: path.to_path_buf(),
                extension,
            }),
        }
    }
}

/// A row as parsed, before ids and assertions.
struct RawRow {
    line: usize,
    vars: Map<String, Json>,
}

/// Loads a dataset; the format follows the extension (`.csv`, `.jsonl`, `.json`,
/// `.yaml`/`.yml`). `path` is resolved against `root`; messages name it as given.
///
/// Warnings are unknown keys in per-row assertions.
pub fn load(root: &Path, path: &Path) -> Result<(Dataset, Vec<Warning>), DatasetError> {
    let format = Format::of(path)?;
    let bytes = std::fs::read(root.join(path)).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DatasetError::Missing {
                path: path.to_path_buf(),
                root: root.to_path_buf(),
            }
        } else {
            DatasetError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let hash = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let raw = match format {
        Format::Csv => parse_csv(body, path)?,
        Format::Jsonl => parse_jsonl(utf8(body, path)?, path)?,
        Format::Json => parse_json(utf8(body, path)?, path)?,
        Format::Yaml => parse_yaml(utf8(body, path)?, path)?,
    };
    if raw.is_empty() {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut warnings = Vec::new();
    let rows = build_rows(raw, path, format != Format::Csv, &mut warnings)?;
    let columns = columns(&rows);
    Ok((
        Dataset {
            path: path.to_path_buf(),
            columns,
            rows,
            hash,
        },
        warnings,
    ))
}

/// The text of a JSON/YAML file, or an error at the first byte that is not UTF-8.
fn utf8<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, DatasetError> {
    std::str::from_utf8(bytes).map_err(|err| {
        let valid = &bytes[..err.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        DatasetError::Parse {
            location: Location::line(path, line),
            message: "file is not valid UTF-8".to_string(),
        }
    })
}

/// serde_json and serde_yaml append " at line L column C"; the location is shown apart.
fn strip_position(message: String) -> String {
    match message.find(" at line ") {
        Some(idx) => message[..idx].to_string(),
        None => message,
    }
}

/// What kind of JSON value this is, for messages.
fn describe(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

fn parse_csv(bytes: &[u8], path: &Path) -> Result<Vec<RawRow>, DatasetError> {
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
        return Ok(Vec::new());
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
    let mut rows = Vec::new();
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
        rows.push(RawRow { line, vars });
    }
    Ok(rows)
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

fn parse_jsonl(text: &str, path: &Path) -> Result<Vec<RawRow>, DatasetError> {
    let mut rows = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let number = idx + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Json>(line) {
            Ok(Json::Object(vars)) => rows.push(RawRow { line: number, vars }),
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
    Ok(rows)
}

fn parse_json(text: &str, path: &Path) -> Result<Vec<RawRow>, DatasetError> {
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
fn json_element_lines(text: &str) -> Vec<usize> {
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

fn parse_yaml(text: &str, path: &Path) -> Result<Vec<RawRow>, DatasetError> {
    let has_content = text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
    });
    if !has_content {
        return Ok(Vec::new());
    }
    let (items, _) = crate::config::yaml::parse::<Vec<Map<String, Json>>>(text, path).map_err(
        |err| match err {
            YamlError::Invalid {
                location,
                key_path,
                message,
            } => DatasetError::Parse {
                location,
                message: match key_path {
                    Some(key) => format!("at `{key}`: {message}"),
                    None => message,
                },
            },
            other => DatasetError::Parse {
                location: other.location(),
                message: other.to_string(),
            },
        },
    )?;
    let lines = yaml_item_lines(text);
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(idx, vars)| RawRow {
            line: lines.get(idx).copied().unwrap_or(1),
            vars,
        })
        .collect())
}

/// Best effort: the 1-based line of each `- ` item of the top-level list, found at the
/// indentation of the first item. Flow-style lists (`[…]`) yield nothing.
fn yaml_item_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut indent = None;
    for (idx, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || line.starts_with("---")
            || line.starts_with("...")
            || line.starts_with('%')
        {
            continue;
        }
        let at = line.len() - trimmed.len();
        let is_item = trimmed == "-" || trimmed.starts_with("- ") || trimmed.starts_with("-\t");
        match indent {
            None if is_item => {
                indent = Some(at);
                lines.push(idx + 1);
            }
            None => return lines,
            Some(level) if is_item && at == level => lines.push(idx + 1),
            Some(_) => {}
        }
    }
    lines
}

/// Ids, per-row assertions and contexts.
fn build_rows(
    raw: Vec<RawRow>,
    path: &Path,
    allow_assert: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Row>, DatasetError> {
    let mut ids: HashMap<String, usize> = HashMap::with_capacity(raw.len());
    let mut rows = Vec::with_capacity(raw.len());
    for (idx, RawRow { line, mut vars }) in raw.into_iter().enumerate() {
        let location = Location::line(path, line);
        let asserts = match vars.shift_remove("assert") {
            Some(value) if allow_assert => parse_asserts(value, &location, warnings)?,
            Some(value) => {
                vars.insert("assert".to_string(), value);
                Vec::new()
            }
            None => Vec::new(),
        };
        let threshold = if allow_assert {
            match vars.shift_remove("threshold") {
                Some(value) => parse_threshold(&value, &location)?,
                None => None,
            }
        } else {
            None
        };
        let id = row_id(&vars, idx, &location)?;
        if let Some(first_line) = ids.insert(id.clone(), line) {
            return Err(DatasetError::DuplicateId {
                location,
                id,
                first_line,
            });
        }
        let context = minijinja::Value::from_serialize(&vars);
        rows.push(Row {
            id,
            line,
            vars: Arc::new(vars),
            context,
            asserts,
            threshold,
        });
    }
    Ok(rows)
}

/// The `id` value as text, else the 1-based row number.
fn row_id(
    vars: &Map<String, Json>,
    idx: usize,
    location: &Location,
) -> Result<String, DatasetError> {
    match vars.get("id") {
        None => Ok((idx + 1).to_string()),
        Some(Json::String(s)) if s.trim().is_empty() => Err(DatasetError::EmptyId {
            location: location.clone(),
        }),
        Some(Json::Null) => Err(DatasetError::EmptyId {
            location: location.clone(),
        }),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(Json::Number(n)) => Ok(n.to_string()),
        Some(other) => Err(DatasetError::Parse {
            location: location.clone(),
            message: format!(
                "`id` must be a string or a number, found {}",
                describe(other)
            ),
        }),
    }
}

/// A row's `threshold`: a number in `[0, 1]`; `null` means none.
fn parse_threshold(value: &Json, location: &Location) -> Result<Option<f64>, DatasetError> {
    match value {
        Json::Null => Ok(None),
        Json::Number(n) => match n.as_f64() {
            Some(t) if (0.0..=1.0).contains(&t) => Ok(Some(t)),
            _ => Err(DatasetError::Threshold {
                location: location.clone(),
                message: format!("must be between 0 and 1, found {n}"),
            }),
        },
        other => Err(DatasetError::Threshold {
            location: location.clone(),
            message: format!(
                "must be a number between 0 and 1, found {}",
                describe(other)
            ),
        }),
    }
}

/// A row's `assert`: one mapping, or a list of them; `null` means none.
fn parse_asserts(
    value: Json,
    location: &Location,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<AssertionSpec>, DatasetError> {
    let (items, listed) = match value {
        Json::Null => return Ok(Vec::new()),
        Json::Array(items) => (items, true),
        item @ Json::Object(_) => (vec![item], false),
        other => {
            return Err(DatasetError::Assert {
                location: location.clone(),
                message: format!(
                    "expected an assertion (a mapping with `type`) or a list of them, found {}",
                    describe(&other)
                ),
            })
        }
    };
    let mut specs = Vec::with_capacity(items.len());
    for (idx, item) in items.into_iter().enumerate() {
        let prefix = if listed {
            format!("assert[{idx}]")
        } else {
            "assert".to_string()
        };
        if !item.is_object() {
            return Err(DatasetError::Assert {
                location: location.clone(),
                message: format!(
                    "`{prefix}` is {}, expected a mapping with `type`",
                    describe(&item)
                ),
            });
        }
        let mut unknown = Vec::new();
        let mut track = serde_path_to_error::Track::new();
        let de = serde_path_to_error::Deserializer::new(item, &mut track);
        let spec: Result<AssertionSpec, _> =
            serde_ignored::deserialize(de, |key| unknown.push(key.to_string()));
        match spec {
            Ok(spec) => specs.push(spec),
            Err(err) => {
                let key = track.path().to_string();
                let at = if key.is_empty() || key == "." {
                    prefix
                } else {
                    format!("{prefix}.{key}")
                };
                return Err(DatasetError::Assert {
                    location: location.clone(),
                    message: format!("at `{at}`: {err}"),
                });
            }
        }
        warnings.extend(unknown.into_iter().map(|key| Warning {
            location: location.clone(),
            message: format!("unknown key `{prefix}.{key}` ignored"),
        }));
    }
    Ok(specs)
}

/// Every variable name, in order of first appearance.
fn columns(rows: &[Row]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut columns = Vec::new();
    for row in rows {
        for key in row.vars.keys() {
            if !seen.contains(key.as_str()) {
                seen.insert(key.clone());
                columns.push(key.clone());
            }
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Writes `content` as `datasets/<name>` in a fresh root and loads it.
    fn load_text(name: &str, content: &[u8]) -> Result<(Dataset, Vec<Warning>), DatasetError> {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("datasets")).unwrap();
        let path = PathBuf::from("datasets").join(name);
        std::fs::write(root.path().join(&path), content).unwrap();
        load(root.path(), &path)
    }

    fn ok(name: &str, content: &str) -> Dataset {
        match load_text(name, content.as_bytes()) {
            Ok((dataset, warnings)) => {
                assert!(warnings.is_empty(), "{warnings:?}");
                dataset
            }
            Err(err) => panic!("{err}"),
        }
    }

    fn err(name: &str, content: &str) -> DatasetError {
        match load_text(name, content.as_bytes()) {
            Ok((dataset, _)) => panic!("expected an error, loaded {dataset:?}"),
            Err(err) => err,
        }
    }

    fn ids(dataset: &Dataset) -> Vec<&str> {
        dataset.rows.iter().map(|r| r.id.as_str()).collect()
    }

    fn lines(dataset: &Dataset) -> Vec<usize> {
        dataset.rows.iter().map(|r| r.line).collect()
    }

    #[test]
    fn csv_rows_are_strings_with_numbered_ids() {
        let d = ok(
            "r.csv",
            "text,expected\n\"great, really\",positive\nbad,negative\n",
        );
        assert_eq!(d.path, PathBuf::from("datasets/r.csv"));
        assert_eq!(d.columns, ["text", "expected"]);
        assert_eq!(ids(&d), ["1", "2"]);
        assert_eq!(lines(&d), [2, 3]);
        assert_eq!(d.rows[0].vars["text"], json!("great, really"));
        assert_eq!(d.rows[1].expected(), Some(&json!("negative")));
        assert!(d.rows[0].asserts.is_empty());
        assert_eq!(
            d.rows[0].context.get_attr("text").unwrap().as_str(),
            Some("great, really")
        );
    }

    #[test]
    fn hash_is_sha256_of_the_bytes() {
        let d = ok("r.csv", "a\n1\n");
        assert_eq!(
            d.hash,
            format!("sha256:{}", hex::encode(Sha256::digest(b"a\n1\n")))
        );
    }

    #[test]
    fn csv_id_column_and_multiline_fields_keep_lines() {
        let d = ok(
            "r.csv",
            "id,text\nfirst,\"two\nlines\"\n\nsecond,x\nthird,y",
        );
        assert_eq!(ids(&d), ["first", "second", "third"]);
        assert_eq!(lines(&d), [2, 5, 6]);
        assert_eq!(d.columns, ["id", "text"]);
    }

    #[test]
    fn csv_bom_is_trimmed_and_headers_trimmed() {
        let d = ok("r.csv", "\u{feff}id, text\n1,a\n");
        assert_eq!(d.columns, ["id", "text"]);
        assert_eq!(ids(&d), ["1"]);
    }

    #[test]
    fn csv_wrong_field_count_names_line_and_counts() {
        let e = err("r.csv", "a,b\n1,2\n\n\r\n3,4,5\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.csv:5: row has 3 fields, expected 2 (one per header column)"
        );
        assert!(e.hint().unwrap().contains("quote"));
        let e = err("r.csv", "a,b\n1\n");
        assert!(
            matches!(
                e,
                DatasetError::FieldCount {
                    expected: 2,
                    found: 1,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn csv_without_rows_is_empty() {
        for content in ["", "a,b\n"] {
            let e = err("r.csv", content);
            assert_eq!(e.to_string(), "datasets/r.csv: dataset has no rows");
            assert_eq!(e.hint().unwrap(), "add rows below the header line");
        }
    }

    #[test]
    fn csv_bad_headers() {
        let e = err("r.csv", "a,,b\n1,2,3\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.csv:1: column 2 of the header has no name"
        );
        let e = err("r.csv", "\n\na,b,a\n1,2,3\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.csv:3: column `a` appears twice in the header"
        );
    }

    #[test]
    fn csv_invalid_utf8_names_the_line() {
        let e = load_text("r.csv", b"a,b\n1,2\nx,\xff\xfe\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "datasets/r.csv:3: field 2 is not valid UTF-8"
        );
    }

    #[test]
    fn csv_assert_column_is_an_ordinary_variable() {
        let d = ok("r.csv", "text,assert\na,b\n");
        assert_eq!(d.columns, ["text", "assert"]);
        assert!(d.rows[0].asserts.is_empty());
        assert_eq!(d.rows[0].vars["assert"], json!("b"));
    }

    #[test]
    fn jsonl_rows_nested_values_and_blank_lines() {
        let d = ok(
            "r.jsonl",
            "{\"id\": 7, \"q\": \"a\"}\n\n{\"q\": \"b\", \"meta\": {\"tags\": [1, 2]}}\r\n",
        );
        assert_eq!(ids(&d), ["7", "2"]);
        assert_eq!(lines(&d), [1, 3]);
        assert_eq!(d.columns, ["id", "q", "meta"]);
        assert_eq!(d.rows[1].vars["meta"], json!({"tags": [1, 2]}));
        let tags = d.rows[1]
            .context
            .get_attr("meta")
            .unwrap()
            .get_attr("tags")
            .unwrap();
        assert_eq!(tags.len(), Some(2));
    }

    #[test]
    fn jsonl_errors_have_line_and_column() {
        let e = err("r.jsonl", "{\"a\": 1}\n{\"a\": }\n");
        assert_eq!(e.location(), Location::at("datasets/r.jsonl", 2, 7));
        assert!(
            e.to_string()
                .starts_with("datasets/r.jsonl:2:7: expected value"),
            "{e}"
        );
        assert!(!e.to_string().contains("at line"), "{e}");
        let e = err("r.jsonl", "{\"a\": 1}\n[1]\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.jsonl:2: expected a JSON object on each line, found a list"
        );
    }

    #[test]
    fn json_rows_have_the_line_where_each_element_starts() {
        let text = r#"[
  {"id": "a", "text": "has ] and { and \" inside"},
  {
    "id": "b",
    "nested": [{"x": 1}, {"y": "]"}]
  },

  {"id": "c"}
]"#;
        let d = ok("r.json", text);
        assert_eq!(ids(&d), ["a", "b", "c"]);
        assert_eq!(lines(&d), [2, 3, 8]);
        assert_eq!(d.rows[1].vars["nested"], json!([{"x": 1}, {"y": "]"}]));
    }

    #[test]
    fn json_element_scanner_handles_one_line_arrays() {
        assert_eq!(json_element_lines("[{}, {}]"), [1, 1]);
        assert_eq!(json_element_lines("\n\n[\n]"), Vec::<usize>::new());
        assert_eq!(json_element_lines("[\"a\\\\\",\n{}]"), [1, 2]);
    }

    #[test]
    fn json_errors() {
        let e = err("r.json", "[\n  {\"a\": 1},\n  {\"a\" 2}\n]");
        assert_eq!(e.location(), Location::at("datasets/r.json", 3, 8));
        let e = err("r.json", "\n{\"a\": 1}");
        assert_eq!(
            e.to_string(),
            "datasets/r.json:2: expected a top-level array of objects, found an object"
        );
        let e = err("r.json", "[{\"a\": 1},\n \"x\"]");
        assert_eq!(
            e.to_string(),
            "datasets/r.json:2: row 2 is a string, expected an object"
        );
        assert_eq!(
            err("r.json", "[]").to_string(),
            "datasets/r.json: dataset has no rows"
        );
    }

    #[test]
    fn yaml_rows_lines_and_nested_values() {
        let text = "# reviews\n- id: one\n  text: fine\n  meta:\n    - a\n    - b\n\n-   text: |\n      - not an item\n    n: 3\n";
        let d = ok("r.yaml", text);
        assert_eq!(ids(&d), ["one", "2"]);
        assert_eq!(lines(&d), [2, 8]);
        assert_eq!(d.rows[0].vars["meta"], json!(["a", "b"]));
        assert_eq!(d.rows[1].vars["n"], json!(3));
        assert_eq!(d.columns, ["id", "text", "meta", "n"]);
    }

    #[test]
    fn yaml_indented_list_and_yml_extension() {
        let d = ok("r.yml", "---\n  - {id: 1}\n  - id: 2\n");
        assert_eq!(ids(&d), ["1", "2"]);
        assert_eq!(lines(&d), [2, 3]);
    }

    #[test]
    fn yaml_errors_have_location() {
        let e = err("r.yaml", "- a: 1\n- b: [1\n");
        assert!(e.location().line.is_some(), "{e}");
        assert!(e.to_string().starts_with("datasets/r.yaml:"), "{e}");
        let e = err("r.yaml", "a: 1\n");
        assert!(e.to_string().contains("expected a sequence"), "{e}");
        let e = err("r.yaml", "- a: 1\n- just text\n");
        assert!(e.to_string().starts_with("datasets/r.yaml:2:"), "{e}");
        let e = err("r.yaml", "# nothing\n");
        assert!(matches!(e, DatasetError::Empty { .. }), "{e}");
    }

    #[test]
    fn per_row_asserts_are_parsed_and_removed_from_vars() {
        let d = ok(
            "r.jsonl",
            concat!(
                "{\"q\": \"a\", \"assert\": {\"type\": \"contains\", \"value\": \"x\"}}\n",
                "{\"q\": \"b\", \"assert\": [{\"type\": \"equals\"}, {\"type\": \"latency\", \"threshold\": 5}]}\n",
                "{\"q\": \"c\", \"assert\": null}\n",
            ),
        );
        assert_eq!(d.columns, ["q"]);
        assert!(!d.rows[0].vars.contains_key("assert"));
        assert_eq!(d.rows[0].asserts.len(), 1);
        assert_eq!(d.rows[0].asserts[0].kind, "contains");
        assert_eq!(d.rows[0].asserts[0].value, Some(json!("x")));
        assert_eq!(d.rows[1].asserts.len(), 2);
        assert_eq!(d.rows[1].asserts[1].threshold, Some(5.0));
        assert!(d.rows[2].asserts.is_empty());
    }

    #[test]
    fn per_row_thresholds_are_parsed_and_removed_from_vars() {
        let d = ok(
            "r.jsonl",
            "{\"q\": \"a\", \"threshold\": 0.5}\n{\"q\": \"b\"}\n{\"q\": \"c\", \"threshold\": null}\n",
        );
        assert_eq!(d.columns, ["q"]);
        assert_eq!(d.rows[0].threshold, Some(0.5));
        assert!(!d.rows[0].vars.contains_key("threshold"));
        assert_eq!(d.rows[1].threshold, None);
        assert_eq!(d.rows[2].threshold, None);
        let d = ok("r.yaml", "- q: a\n  threshold: 1\n");
        assert_eq!(d.rows[0].threshold, Some(1.0));
    }

    #[test]
    fn bad_row_threshold_names_file_line_and_problem() {
        let e = err("r.jsonl", "{\"q\": 1}\n{\"threshold\": 1.5}\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.jsonl:2: invalid `threshold`: must be between 0 and 1, found 1.5"
        );
        assert!(e.hint().unwrap().contains("\"threshold\": 0.5"));
        let e = err("r.jsonl", "{\"threshold\": \"high\"}\n");
        assert!(e.to_string().ends_with("found a string"), "{e}");
    }

    #[test]
    fn csv_threshold_column_is_an_ordinary_variable() {
        let d = ok("r.csv", "text,threshold\na,0.5\n");
        assert_eq!(d.columns, ["text", "threshold"]);
        assert_eq!(d.rows[0].threshold, None);
    }

    #[test]
    fn per_row_asserts_in_yaml() {
        let d = ok(
            "r.yaml",
            "- q: a\n  assert:\n    - type: icontains\n      value: Paris\n",
        );
        assert_eq!(d.rows[0].asserts[0].kind, "icontains");
    }

    #[test]
    fn malformed_assert_names_file_line_and_problem() {
        let e = err("r.jsonl", "{\"q\": 1}\n{\"assert\": \"contains\"}\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.jsonl:2: invalid `assert`: expected an assertion (a mapping with `type`) or a list of them, found a string"
        );
        assert!(e.hint().is_some());
        let e = err("r.jsonl", "{\"assert\": [{\"value\": 1}]}\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.jsonl:1: invalid `assert`: at `assert[0]`: missing field `type`"
        );
        let e = err(
            "r.jsonl",
            "{\"assert\": {\"type\": \"x\", \"threshold\": \"high\"}}\n",
        );
        assert!(
            e.to_string()
                .contains("at `assert.threshold`: invalid type: string \"high\""),
            "{e}"
        );
        let e = err("r.jsonl", "{\"assert\": [1]}\n");
        assert!(e.to_string().contains("`assert[0]` is a number"), "{e}");
    }

    #[test]
    fn unknown_assert_keys_are_warnings() {
        let (d, warnings) = load_text(
            "r.jsonl",
            b"{\"q\": 1}\n{\"assert\": [{\"type\": \"contains\", \"valeu\": \"x\"}]}\n",
        )
        .unwrap();
        assert_eq!(d.rows[1].asserts[0].value, None);
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].to_string(),
            "datasets/r.jsonl:2: unknown key `assert[0].valeu` ignored"
        );
    }

    #[test]
    fn duplicate_ids_name_both_lines() {
        let e = err("r.csv", "id,q\na,1\nb,2\na,3\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.csv:4: duplicate id `a` (also used on line 2)"
        );
        // An explicit id may collide with a row number.
        let e = err("r.jsonl", "{\"id\": 2}\n{\"q\": 1}\n");
        assert!(
            matches!(e, DatasetError::DuplicateId { first_line: 1, .. }),
            "{e}"
        );
    }

    #[test]
    fn empty_and_invalid_ids() {
        let e = err("r.csv", "id,q\n,1\n");
        assert_eq!(e.to_string(), "datasets/r.csv:2: row has an empty `id`");
        let e = err("r.jsonl", "{\"id\": null}\n");
        assert!(matches!(e, DatasetError::EmptyId { .. }), "{e}");
        let e = err("r.jsonl", "{\"id\": [1]}\n");
        assert_eq!(
            e.to_string(),
            "datasets/r.jsonl:1: `id` must be a string or a number, found a list"
        );
    }

    #[test]
    fn columns_are_the_union_in_first_appearance_order() {
        let d = ok("r.jsonl", "{\"b\": 1}\n{\"a\": 1, \"b\": 2}\n{\"c\": 1}\n");
        assert_eq!(d.columns, ["b", "a", "c"]);
    }

    #[test]
    fn missing_file_and_unsupported_format() {
        let root = tempfile::tempdir().unwrap();
        let e = load(root.path(), Path::new("datasets/none.csv")).unwrap_err();
        assert_eq!(e.to_string(), "dataset datasets/none.csv not found");
        assert!(e
            .hint()
            .unwrap()
            .starts_with("dataset paths are relative to the project root"));
        let e = load(root.path(), Path::new("datasets/r.txt")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "datasets/r.txt: unsupported dataset format `.txt`. Choose from: .csv, .jsonl, .json, .yaml, .yml"
        );
        let e = load(root.path(), Path::new("data")).unwrap_err();
        assert!(e.to_string().contains("(no extension)"), "{e}");
    }

    #[test]
    fn non_utf8_json_names_the_line() {
        let e = load_text("r.json", b"[\n{\"a\": \"\xff\"}]").unwrap_err();
        assert_eq!(e.to_string(), "datasets/r.json:2: file is not valid UTF-8");
    }

    #[test]
    fn many_csv_rows_load() {
        let mut text = String::from("id,text,expected\n");
        for i in 0..5000 {
            text.push_str(&format!("r{i},\"review number {i}, fine\",positive\n"));
        }
        let d = ok("big.csv", &text);
        assert_eq!(d.rows.len(), 5000);
        assert_eq!(d.rows[4999].line, 5001);
    }
}
