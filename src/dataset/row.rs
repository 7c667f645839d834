//! Rows and datasets: ids, per-row assertions and thresholds, template contexts.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use serde_json::{Map, Value as Json};

use crate::diagnostic::{Location, Warning};
use crate::score::AssertionSpec;

use super::csv::CsvLayout;
use super::file_rows::{FileRows, Shape, Starts};
use super::ids::Ids;
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

/// A loaded dataset: every row checked, held when there are few, else read again from
/// the file when asked ([`Dataset::row`]).
#[derive(Debug)]
pub struct Dataset {
    /// The file, as the user named it (relative to the project root).
    pub path: PathBuf,
    /// Every variable name, in order of first appearance.
    pub columns: Vec<String>,
    /// `sha256:<hex>` of the file's bytes.
    pub hash: String,
    rows: Stored,
    plain: bool,
    uniform: bool,
}

impl Dataset {
    pub(super) fn new(path: &Path, built: Built, hash: String) -> Self {
        Dataset {
            path: path.to_path_buf(),
            columns: built.columns,
            hash,
            rows: built.rows,
            plain: built.plain,
            uniform: built.uniform,
        }
    }

    /// How many rows the dataset has.
    pub fn len(&self) -> usize {
        match &self.rows {
            Stored::Held(rows) => rows.len(),
            Stored::File(rows) => rows.len(),
        }
    }

    /// Whether the dataset has no rows (a load never returns one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th row, in file order. A row not held is read from the file: an error
    /// when it cannot be read, or the file changed since the load checked it.
    pub fn row(&self, i: usize) -> Result<Arc<Row>, DatasetError> {
        match &self.rows {
            Stored::Held(rows) => rows.get(i).cloned().ok_or_else(|| DatasetError::Changed {
                path: self.path.clone(),
            }),
            Stored::File(rows) => rows.row(i),
        }
    }

    /// Every row, in file order.
    pub fn rows(&self) -> impl Iterator<Item = Result<Arc<Row>, DatasetError>> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// Whether no row has assertions, a threshold, tools or a conversation of its own
    /// (no CSV row has): the plan then need not read the rows for them.
    pub fn plain(&self) -> bool {
        self.plain
    }

    /// Whether every row has every column (every CSV row does): no row lacks a variable
    /// that is a column.
    pub fn uniform(&self) -> bool {
        self.uniform
    }

    /// Whether the rows are held in memory rather than read from the file.
    pub fn is_held(&self) -> bool {
        matches!(self.rows, Stored::Held(_))
    }
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

/// Builds one [`Row`] from a parsed one: its id, assertions, threshold, tools,
/// conversation and packed variables. The load builds every row with it, and a large
/// dataset's rows are built with it again when they are read back.
#[derive(Clone, Debug)]
pub(super) struct RowMaker {
    path: PathBuf,
    allow_assert: bool,
    packer: Packer,
}

impl RowMaker {
    /// The row of CSV `record` (every field a string), the `index`-th of the file:
    /// the row [`RowMaker::make`] builds from the map of its fields.
    pub(super) fn csv(
        &self,
        layout: &CsvLayout,
        record: &csv::StringRecord,
        line: usize,
        index: usize,
    ) -> Result<Row, DatasetError> {
        let location = || Location::line(&self.path, line);
        let id = match layout.id.map(|c| record.get(c).unwrap_or_default()) {
            None => (index + 1).to_string(),
            Some(id) if id.trim().is_empty() => {
                return Err(DatasetError::EmptyId {
                    location: location(),
                })
            }
            Some(id) => id.to_string(),
        };
        let values = layout
            .columns
            .iter()
            .map(|&c| record.get(c).unwrap_or_default());
        let vars =
            Packer::pack_texts(&layout.names, values).ok_or_else(|| DatasetError::Parse {
                location: location(),
                message: "the row's values are larger than 4 GiB".to_string(),
            })?;
        Ok(Row {
            id,
            line,
            vars,
            extras: None,
        })
    }

    pub(super) fn new(path: &Path, allow_assert: bool) -> Self {
        RowMaker {
            path: path.to_path_buf(),
            allow_assert,
            packer: Packer::default(),
        }
    }

    /// The row `raw`, the `index`-th of the file (0-based).
    pub(super) fn make(
        &mut self,
        raw: RawRow,
        index: usize,
        warnings: &mut Vec<Warning>,
    ) -> Result<Row, DatasetError> {
        let RawRow { line, mut vars } = raw;
        let location = Location::line(&self.path, line);
        let allow = self.allow_assert;
        let mut extras = Extras::default();
        match vars.shift_remove("assert") {
            Some(value) if allow => extras.asserts = parse_asserts(value, &location, warnings)?,
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
        let id = row_id(&vars, index, &location)?;
        if let Some(keys) = conversation {
            let parsed = super::conversation::parse(keys, &location, &id, warnings)?;
            extras.conversation = Some(Arc::new(parsed));
        }
        let vars = self.packer.pack(&vars).ok_or_else(|| DatasetError::Parse {
            location: location.clone(),
            message: "the row's values are larger than 4 GiB".to_string(),
        })?;
        let plain = extras.asserts.is_empty()
            && extras.threshold.is_none()
            && extras.tools.is_empty()
            && extras.conversation.is_none();
        Ok(Row {
            id,
            line,
            vars,
            extras: (!plain).then(|| Box::new(extras)),
        })
    }
}

/// Turns parsed rows into [`Row`]s one at a time, as the parser reads them, so that a
/// large file is never held as parsed maps: ids (unique), per-row assertions, threshold
/// and tools, the packed variables. The rows are held while there are at most `hold` of
/// them; past that, when the parser says where each row starts, only that is kept and
/// the rows are read again from the file when asked ([`FileRows`]).
pub(super) struct RowBuilder<'a> {
    maker: RowMaker,
    warnings: &'a mut Vec<Warning>,
    ids: Ids,
    columns: Columns,
    count: usize,
    /// Whether no row so far has extras.
    plain: bool,
    /// The rows, until there are more than `hold` and the file can be read again.
    held: Option<Vec<Arc<Row>>>,
    hold: usize,
    /// Where each row starts, when the parser says ([`RowBuilder::push_at`]).
    starts: Starts,
    /// How a record looks, for reading rows again; `None` for JSON and YAML.
    shape: Option<Shape>,
    /// The file, to read an earlier row's id again (a repeated id's hash).
    file: PathBuf,
    /// How long the file is, when known.
    file_len: u64,
}

/// Every variable name, in order of first appearance, gathered as rows are added.
#[derive(Default)]
struct Columns {
    seen: HashSet<String>,
    names: Vec<String>,
    last: Option<Vars>,
    /// How many times the rows' names changed from the row before (1: all alike).
    shapes: usize,
}

impl Columns {
    fn add(&mut self, vars: &Vars) {
        if self.last.as_ref().is_some_and(|last| last.same_names(vars)) {
            return;
        }
        self.shapes += 1;
        for key in vars.keys() {
            if self.seen.insert(key.clone()) {
                self.names.push(key.clone());
            }
        }
        self.last = Some(vars.clone());
    }
}

/// What a load makes of its rows: the rows, the columns, whether every row is plain.
pub(super) struct Built {
    rows: Stored,
    columns: Vec<String>,
    plain: bool,
    uniform: bool,
}

/// The rows of a dataset, held or not.
#[derive(Debug)]
pub(super) enum Stored {
    /// Every row, held.
    Held(Vec<Arc<Row>>),
    /// Rows read from the file when asked.
    File(Box<FileRows>),
}

impl<'a> RowBuilder<'a> {
    /// A builder for the rows of `path` (`file` on disk); `shape` says how its records
    /// look when they can be read again (CSV and JSONL), and past `hold` rows they are.
    pub(super) fn new(
        path: &Path,
        file: PathBuf,
        shape: Option<Shape>,
        hold: usize,
        warnings: &'a mut Vec<Warning>,
    ) -> Self {
        RowBuilder {
            maker: RowMaker::new(path, !matches!(shape, Some(Shape::Csv(_)))),
            warnings,
            ids: Ids::new(RandomState::new()),
            columns: Columns::default(),
            count: 0,
            plain: true,
            held: Some(Vec::new()),
            hold,
            starts: Starts::default(),
            shape,
            file,
            file_len: 0,
        }
    }

    /// How the file's records look, once its header is read.
    pub(super) fn set_shape(&mut self, shape: Shape) {
        self.shape = Some(shape);
    }

    /// Adds the next row of the file.
    pub(super) fn push(&mut self, raw: RawRow) -> Result<(), DatasetError> {
        let row = self.maker.make(raw, self.count, self.warnings)?;
        self.add(row)
    }

    /// Adds the next row of a CSV file, `record` on `line`, which starts at byte `offset`
    /// and has checksum `sum`.
    pub(super) fn push_csv(
        &mut self,
        layout: &CsvLayout,
        record: &csv::StringRecord,
        line: usize,
        (offset, sum): (u64, u32),
    ) -> Result<(), DatasetError> {
        let row = self.maker.csv(layout, record, line, self.count);
        self.add_at(row, line, (offset, sum))
    }

    /// Adds `row`, which starts on `line` at byte `offset` with checksum `sum`; where it
    /// starts is kept only when it is added.
    fn add_at(
        &mut self,
        row: Result<Row, DatasetError>,
        line: usize,
        (offset, sum): (u64, u32),
    ) -> Result<(), DatasetError> {
        self.starts.push(offset, line, sum);
        let added = row.and_then(|row| self.add(row));
        if added.is_err() {
            self.starts.truncate(self.count);
        }
        added
    }

    /// Adds `row`, the next of the file: its id must be new.
    fn add(&mut self, row: Row) -> Result<(), DatasetError> {
        let index = u32::try_from(self.count).unwrap_or(u32::MAX);
        let first = self.ids.first_with(&row.id, index, |i| {
            earlier_id(
                &self.held,
                &self.file,
                &self.shape,
                &self.starts,
                &self.maker,
                i,
            )
        })?;
        if let Some(first) = first {
            let first_line = match &self.held {
                Some(rows) => rows.get(first as usize).map_or(0, |r| r.line),
                None => self.starts.line(first as usize),
            };
            return Err(DatasetError::DuplicateId {
                location: Location::line(self.maker.path.as_path(), row.line),
                id: row.id,
                first_line,
            });
        }
        self.columns.add(&row.vars);
        self.count += 1;
        self.plain &= row.extras.is_none();
        if let Some(rows) = &mut self.held {
            rows.push(Arc::new(row));
            if rows.len() > self.hold && self.shape.is_some() && self.starts.len() == rows.len() {
                self.held = None;
                self.reserve();
            }
        }
        Ok(())
    }

    /// Adds the next row of the file, which starts at byte `offset` and has checksum
    /// `sum` ([`super::file_rows::checksum`]).
    pub(super) fn push_at(&mut self, raw: RawRow, at: (u64, u32)) -> Result<(), DatasetError> {
        let line = raw.line;
        let row = self.maker.make(raw, self.count, self.warnings);
        self.add_at(row, line, at)
    }

    /// The file is this many bytes long (for [`RowBuilder::reserve`]).
    pub(super) fn set_file_len(&mut self, len: u64) {
        self.file_len = len;
    }

    /// Makes room at once for the rows the file likely holds (by the bytes a row took so
    /// far), so that the ids' table and the row starts do not grow by doubling: a table
    /// that grows holds its old self and the new one at once, a third of the load's peak
    /// at 1,000,000 rows (issue 19).
    fn reserve(&mut self) {
        let read = self.starts.offset(self.count.saturating_sub(1)).max(1);
        let likely = (self.file_len as f64 / read as f64 * self.count as f64 * 1.05) as usize;
        let more = likely.saturating_sub(self.count);
        self.ids.by_hash.reserve(more);
        self.starts.reserve(more);
    }

    /// How many rows were added.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// The rows and the columns; `file` is the open file (and what it was when opened),
    /// for rows not held.
    pub(super) fn finish(self, file: Option<File>) -> Result<Built, DatasetError> {
        let stored = match (self.held, file, self.shape) {
            (Some(rows), _, _) => Stored::Held(rows),
            (None, Some(file), Some(shape)) => Stored::File(Box::new(FileRows::new(
                &self.maker.path.clone(),
                file,
                shape,
                self.starts,
                self.maker,
            ))),
            // Rows are let go only when their file can be read again.
            (None, _, _) => {
                return Err(DatasetError::Changed {
                    path: self.maker.path,
                })
            }
        };
        Ok(Built {
            rows: stored,
            uniform: self.columns.shapes == 1,
            columns: self.columns.names,
            plain: self.plain,
        })
    }
}

/// The id of row `i`, added earlier: held, or read again from `file`.
fn earlier_id(
    held: &Option<Vec<Arc<Row>>>,
    file: &Path,
    shape: &Option<Shape>,
    starts: &Starts,
    maker: &RowMaker,
    i: u32,
) -> Result<String, DatasetError> {
    if let Some(rows) = held {
        return Ok(rows
            .get(i as usize)
            .map(|r| r.id.clone())
            .unwrap_or_default());
    }
    let read_error = |source| DatasetError::Read {
        path: maker.path.clone(),
        source,
    };
    let opened = File::open(file).map_err(read_error)?;
    let shape = shape.clone().unwrap_or(Shape::Jsonl);
    let start = starts.get(i as usize);
    let row = FileRows::one(
        &maker.path,
        opened,
        (shape, maker.clone()),
        start,
        i as usize,
    )?;
    Ok(row.id)
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
