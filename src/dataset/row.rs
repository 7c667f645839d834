//! Rows and datasets: ids, per-row assertions and thresholds, template contexts.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde_json::{Map, Value as Json};

use crate::diagnostic::{Location, Warning};
use crate::score::AssertionSpec;

use super::load::describe;
use super::DatasetError;

/// One row: one case of an eval.
#[derive(Clone, Debug)]
pub struct Row {
    /// The case id: the `id` column, else the 1-based row number.
    pub id: String,
    /// Where the row starts in the file (1-based line).
    pub line: usize,
    /// The row's variables (every key but `assert`), in file order.
    pub vars: Arc<serde_json::Map<String, serde_json::Value>>,
    /// The same variables as a template context: a view of `vars` that converts a value
    /// when a template reads it, not a copy.
    pub context: minijinja::Value,
    /// Extra assertions for this row only (`assert` key in JSONL/JSON/YAML).
    pub asserts: Vec<AssertionSpec>,
    /// This case's own threshold on the weighted score (`threshold` key in JSONL/JSON/YAML),
    /// overriding the eval's.
    pub threshold: Option<f64>,
    /// Tools this case offers besides the version's (`tools` key in JSONL/JSON/YAML), as
    /// written: definitions or names of shared tools, resolved by the plan.
    pub tools: Vec<serde_json::Value>,
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

/// A row's variables seen as a template context. A converted copy of every row's values
/// cost about twenty times the dataset's size on disk (issue 19); this view converts a
/// value when a template reads it, and reads like the map it replaces (same keys in the
/// same order, strict undefined for a missing key).
#[derive(Debug)]
struct RowContext(Arc<Map<String, Json>>);

impl RowContext {
    /// The context of `vars`, as a template value.
    fn value(vars: &Arc<Map<String, Json>>) -> minijinja::Value {
        minijinja::Value::from_object(RowContext(vars.clone()))
    }
}

impl Object for RowContext {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        self.0
            .get(key.as_str()?)
            .map(minijinja::Value::from_serialize)
    }

    /// The keys in sorted order, as minijinja's own maps keep them (without its
    /// `preserve_order` feature): `items`, `tojson` and loops read as before.
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<&str> = self.0.keys().map(String::as_str).collect();
        keys.sort_unstable();
        Enumerator::Values(keys.into_iter().map(minijinja::Value::from).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}

/// A row as parsed, before ids and assertions.
pub(super) struct RawRow {
    pub(super) line: usize,
    pub(super) vars: Map<String, Json>,
}

/// Ids, per-row assertions and contexts.
pub(super) fn build_rows(
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
        let tools = match vars.shift_remove("tools") {
            Some(value) if allow_assert => parse_tools(value, &location)?,
            Some(value) => {
                vars.insert("tools".to_string(), value);
                Vec::new()
            }
            None => Vec::new(),
        };
        let id = row_id(&vars, idx, &location)?;
        if let Some(first_line) = ids.insert(id.clone(), line) {
            return Err(DatasetError::DuplicateId {
                location,
                id,
                first_line,
            });
        }
        let vars = Arc::new(vars);
        rows.push(Row {
            id,
            line,
            context: RowContext::value(&vars),
            vars,
            asserts,
            threshold,
            tools,
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

/// A row's `tools`: a list of definitions or names (one alone is taken as a list of one);
/// `null` means none.
fn parse_tools(value: Json, location: &Location) -> Result<Vec<Json>, DatasetError> {
    let items = match value {
        Json::Null => return Ok(Vec::new()),
        Json::Array(items) => items,
        item @ (Json::Object(_) | Json::String(_)) => vec![item],
        other => {
            return Err(DatasetError::Tools {
                location: location.clone(),
                message: format!(
                    "expected a list of tool definitions or names, found {}",
                    describe(&other)
                ),
            })
        }
    };
    if let Some((i, bad)) = items
        .iter()
        .enumerate()
        .find(|(_, t)| !t.is_object() && !t.is_string())
    {
        return Err(DatasetError::Tools {
            location: location.clone(),
            message: format!(
                "`tools[{i}]` is {}, expected a tool definition (a mapping with `name`) or the name of a shared tool",
                describe(bad)
            ),
        });
    }
    Ok(items)
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
                let mut at = if key.is_empty() || key == "." {
                    prefix
                } else {
                    format!("{prefix}.{key}")
                };
                let mut message = err.to_string();
                if let Some((key, wording)) = crate::config::yaml::unknown_key(&message) {
                    if !at.ends_with(&format!(".{key}")) {
                        at = format!("{at}.{key}");
                    }
                    message = wording;
                }
                return Err(DatasetError::Assert {
                    location: location.clone(),
                    message: format!("at `{at}`: {message}"),
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
pub(super) fn columns(rows: &[Row]) -> Vec<String> {
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
