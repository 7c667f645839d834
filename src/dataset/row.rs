//! Rows and datasets: ids, per-row assertions and thresholds, template contexts.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde_json::{Map, Value as Json};

use crate::diagnostic::{Location, Warning};
use crate::score::AssertionSpec;

use super::load::describe;
use super::vars::{Packer, Vars};
use super::DatasetError;

/// One row: one case of an eval.
#[derive(Clone, Debug)]
pub struct Row {
    /// The case id: the `id` column, else the 1-based row number.
    pub id: String,
    /// Where the row starts in the file (1-based line).
    pub line: usize,
    /// The row's variables (every key but `assert`, `threshold` and `tools` in
    /// JSONL/JSON/YAML), in file order, held compactly ([`Row::vars_map`] builds the map
    /// a request carries, [`Row::context`] the template context).
    pub vars: Vars,
    /// What only some rows have, kept apart so that the others do not pay for it.
    extras: Option<Box<Extras>>,
}

/// A row's own assertions, threshold and tools.
#[derive(Clone, Debug, Default)]
struct Extras {
    asserts: Vec<AssertionSpec>,
    threshold: Option<f64>,
    tools: Vec<Json>,
    conversation: Option<Arc<super::Conversation>>,
}

impl Row {
    /// The row's `expected` value, if it has one.
    pub fn expected(&self) -> Option<Json> {
        self.vars.get("expected")
    }

    /// Every variable, as the map a provider request and a cell result carry.
    pub fn vars_map(&self) -> Arc<Map<String, Json>> {
        Arc::new(self.vars.to_map())
    }

    /// The variables as a template context: a view that parses a value when a template
    /// reads it, not a copy.
    pub fn context(&self) -> minijinja::Value {
        minijinja::Value::from_object(RowContext(self.vars.clone()))
    }

    /// Extra assertions for this row only (`assert` key in JSONL/JSON/YAML).
    pub fn asserts(&self) -> &[AssertionSpec] {
        self.extras.as_ref().map_or(&[], |e| &e.asserts)
    }

    /// This case's own threshold on the weighted score (`threshold` key in JSONL/JSON/YAML),
    /// overriding the eval's.
    pub fn threshold(&self) -> Option<f64> {
        self.extras.as_ref().and_then(|e| e.threshold)
    }

    /// Tools this case offers besides the version's (`tools` key in JSONL/JSON/YAML), as
    /// written: definitions or names of shared tools, resolved by the plan.
    pub fn tools(&self) -> &[Json] {
        self.extras.as_ref().map_or(&[], |e| &e.tools)
    }

    /// The conversation this case plays (`messages`, `turns`, `simulated_user` keys in
    /// JSONL/JSON/YAML), when it has one.
    pub fn conversation(&self) -> Option<&Arc<super::Conversation>> {
        self.extras.as_ref().and_then(|e| e.conversation.as_ref())
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
struct RowContext(Vars);

impl Object for RowContext {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        let value = self.0.get(key.as_str()?)?;
        Some(minijinja::Value::from_serialize(&value))
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

/// Turns parsed rows into [`Row`]s one at a time, as the parser reads them, so that a
/// large file is never held as parsed maps: ids (unique), per-row assertions, threshold
/// and tools, the packed variables.
pub(super) struct RowBuilder<'a> {
    path: &'a Path,
    allow_assert: bool,
    warnings: &'a mut Vec<Warning>,
    rows: Vec<Row>,
    packer: Packer,
    ids: Ids,
}

/// The ids seen so far, by their hash, to find a duplicate without a second copy of every
/// id; an id whose hash another id has already is kept whole in `collided`.
struct Ids<S = RandomState> {
    by_hash: HashMap<u64, u32>,
    collided: HashMap<String, u32>,
    hasher: S,
}

impl<S: BuildHasher> Ids<S> {
    fn new(hasher: S) -> Self {
        Ids {
            by_hash: HashMap::new(),
            collided: HashMap::new(),
            hasher,
        }
    }

    /// The line of an earlier row of `rows` with this id; else records the id as that of
    /// `rows[index]`, the row about to be added.
    fn first_with(&mut self, id: &str, index: u32, rows: &[Row]) -> Option<usize> {
        match self.by_hash.entry(self.hasher.hash_one(id)) {
            Entry::Vacant(slot) => {
                slot.insert(index);
                None
            }
            Entry::Occupied(slot) => {
                let earlier = &rows[*slot.get() as usize];
                if earlier.id == id {
                    return Some(earlier.line);
                }
                match self.collided.entry(id.to_string()) {
                    Entry::Occupied(first) => Some(rows[*first.get() as usize].line),
                    Entry::Vacant(slot) => {
                        slot.insert(index);
                        None
                    }
                }
            }
        }
    }
}

impl<'a> RowBuilder<'a> {
    pub(super) fn new(path: &'a Path, allow_assert: bool, warnings: &'a mut Vec<Warning>) -> Self {
        RowBuilder {
            path,
            allow_assert,
            warnings,
            rows: Vec::new(),
            packer: Packer::default(),
            ids: Ids::new(RandomState::new()),
        }
    }

    /// Adds the next row of the file.
    pub(super) fn push(&mut self, raw: RawRow) -> Result<(), DatasetError> {
        let RawRow { line, mut vars } = raw;
        let location = Location::line(self.path, line);
        let allow = self.allow_assert;
        let mut extras = Extras::default();
        match vars.shift_remove("assert") {
            Some(value) if allow => {
                extras.asserts = parse_asserts(value, &location, self.warnings)?
            }
            Some(value) => {
                vars.insert("assert".to_string(), value);
            }
            None => {}
        }
        if allow {
            if let Some(value) = vars.shift_remove("threshold") {
                extras.threshold = parse_threshold(&value, &location)?;
            }
        }
        match vars.shift_remove("tools") {
            Some(value) if allow => extras.tools = parse_tools(value, &location)?,
            Some(value) => {
                vars.insert("tools".to_string(), value);
            }
            None => {}
        }
        let conversation = allow
            .then(|| super::conversation::take(&mut vars))
            .flatten();
        let id = row_id(&vars, self.rows.len(), &location)?;
        if let Some(keys) = conversation {
            extras.conversation = Some(Arc::new(super::conversation::parse(
                keys,
                &location,
                &id,
                self.warnings,
            )?));
        }
        let index = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
        if let Some(first_line) = self.ids.first_with(&id, index, &self.rows) {
            return Err(DatasetError::DuplicateId {
                location,
                id,
                first_line,
            });
        }
        let vars = self.packer.pack(&vars).ok_or_else(|| DatasetError::Parse {
            location: location.clone(),
            message: "the row's values are larger than 4 GiB".to_string(),
        })?;
        let plain = extras.asserts.is_empty()
            && extras.threshold.is_none()
            && extras.tools.is_empty()
            && extras.conversation.is_none();
        self.rows.push(Row {
            id,
            line,
            vars,
            extras: (!plain).then(|| Box::new(extras)),
        });
        Ok(())
    }

    /// The rows, in file order.
    pub(super) fn finish(self) -> Vec<Row> {
        self.rows
    }
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
pub(super) fn parse_asserts(
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

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasherDefault, Hasher};

    use super::*;

    /// Every id hashes alike, so every id after the first collides.
    #[derive(Default)]
    struct Same;

    impl Hasher for Same {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    fn row(id: &str, line: usize) -> Row {
        Row {
            id: id.to_string(),
            line,
            vars: Packer::default().pack(&Map::new()).unwrap(),
            extras: None,
        }
    }

    /// Issue 19: ids are told apart by their hash, and ids whose hashes collide are still
    /// told apart, and still found when repeated.
    #[test]
    fn colliding_ids_are_compared_whole() {
        let mut ids = Ids::new(BuildHasherDefault::<Same>::default());
        let mut rows = Vec::new();
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            assert_eq!(ids.first_with(id, i as u32, &rows), None, "{id}");
            rows.push(row(id, i + 2));
        }
        assert_eq!(ids.first_with("a", 3, &rows), Some(2));
        assert_eq!(ids.first_with("c", 3, &rows), Some(4));
        assert_eq!(ids.first_with("d", 3, &rows), None);
    }
}
