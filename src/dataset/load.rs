//! Reading a dataset file: the format from its extension, the bytes, the hash.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::config::depth;
use crate::diagnostic::{Location, Warning};

use super::csv::CsvLayout;
use super::file_rows::Shape;
use super::row::{Dataset, RowBuilder};
use super::stream::Tracked;
use super::DatasetError;
use super::{csv, json, jsonl, yaml};

/// The extensions [`load`] reads.
pub const EXTENSIONS: &[&str] = &["csv", "jsonl", "json", "yaml", "yml"];

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

/// The path `path` likely means, when it names no file: each part that does not exist is
/// replaced with the closest entry of its directory (`datasets/peple.csv` →
/// `datasets/people.csv`, `dataset/people.csv` → `datasets/people.csv`). A file is compared
/// by its stem with the files of its extension, which every one of them shares.
fn nearby(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut found = PathBuf::new();
    for part in path.components() {
        let part = Path::new(part.as_os_str());
        if root.join(&found).join(part).exists() {
            found.push(part);
            continue;
        }
        let entries: Vec<PathBuf> = std::fs::read_dir(root.join(&found))
            .ok()?
            .filter_map(|e| Some(PathBuf::from(e.ok()?.file_name())))
            .filter(|e| e.extension() == part.extension())
            .collect();
        let stem = |p: &Path| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string()
        };
        let stems: Vec<String> = entries.iter().map(|e| stem(e)).collect();
        let valid: Vec<&str> = stems.iter().map(String::as_str).collect();
        let near = crate::diagnostic::suggest(&stem(part), &valid)?;
        found.push(&entries[stems.iter().position(|s| s == near)?]);
    }
    Some(found)
}

/// How many rows a dataset may have and still be held in memory: more are read again
/// from the file when asked (about 240 bytes a row held, 12 not; issue 19). The 20,000-cell
/// benchmark's 5,000 rows are held.
pub const HOLD_ROWS: usize = 8192;

/// Loads a dataset; the format follows the extension (`.csv`, `.jsonl`, `.json`,
/// `.yaml`/`.yml`). `path` is resolved against `root`; messages name it as given. Every
/// row is checked; a CSV or JSONL dataset of more than [`HOLD_ROWS`] rows keeps only where
/// each row starts, and reads rows again from the open file when asked.
///
/// Warnings are unknown keys in per-row assertions.
pub fn load(root: &Path, path: &Path) -> Result<(Dataset, Vec<Warning>), DatasetError> {
    load_holding(root, path, HOLD_ROWS)
}

/// [`load`], holding at most `hold` rows of a CSV or JSONL file.
pub(crate) fn load_holding(
    root: &Path,
    path: &Path,
    hold: usize,
) -> Result<(Dataset, Vec<Warning>), DatasetError> {
    let format = Format::of(path)?;
    let read_error = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DatasetError::Missing {
                path: path.to_path_buf(),
                root: root.to_path_buf(),
                near: nearby(root, path),
            }
        } else {
            DatasetError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    let mut warnings = Vec::new();
    let shape = match format {
        Format::Csv => Some(Shape::Csv(CsvLayout::new(Vec::new()))),
        Format::Jsonl => Some(Shape::Jsonl),
        Format::Json | Format::Yaml => None,
    };
    let file_path = root.join(path);
    let mut rows = RowBuilder::new(path, file_path.clone(), shape, hold, &mut warnings);
    let (hash, file) = match format {
        // Read as a stream: the file is not held beside the rows built from it.
        Format::Csv | Format::Jsonl => {
            let file = std::fs::File::open(&file_path).map_err(read_error)?;
            rows.set_file_len(file.metadata().map_or(0, |m| m.len()));
            let input = Tracked::new(file, format == Format::Csv).map_err(read_error)?;
            let (hash, file) = match format {
                Format::Csv => csv::parse_csv(input, path, &mut rows)?,
                _ => jsonl::parse_jsonl(input, path, &mut rows)?,
            };
            (hash, Some(file))
        }
        Format::Json | Format::Yaml => {
            let bytes = std::fs::read(&file_path).map_err(read_error)?;
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let text = utf8(body, path)?;
            let raws = match format {
                Format::Json => json::parse_json(text, path)?,
                _ => yaml::parse_yaml(text, path)?,
            };
            for raw in raws {
                rows.push(raw)?;
            }
            let hash = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
            (hash, None)
        }
    };
    if rows.len() == 0 {
        return Err(DatasetError::Empty {
            path: path.to_path_buf(),
        });
    }
    let built = rows.finish(file)?;
    Ok((Dataset::new(path, built, hash), warnings))
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
/// Their recursion limit is said in words ([`depth::too_deep_message`]).
pub(super) fn strip_position(message: String) -> String {
    let message = match message.find(" at line ") {
        Some(idx) => message[..idx].to_string(),
        None => message,
    };
    if depth::is_recursion_limit(&message) {
        depth::too_deep_message()
    } else {
        message
    }
}

/// What kind of JSON value this is, for messages.
pub(super) fn describe(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}
