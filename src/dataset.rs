//! Datasets: CSV, JSONL, JSON (array) and YAML (list) files → rows with stable ids and the
//! source line of each row.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Location, Warning};
use crate::score::AssertionSpec;

/// A dataset file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Placeholder until the loader is implemented.
    #[error("{0}")]
    Other(String),
}

impl DatasetError {
    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        None
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

/// Loads a dataset; the format follows the extension (`.csv`, `.jsonl`, `.json`,
/// `.yaml`/`.yml`). `path` is resolved against `root`; messages name it as given.
pub fn load(root: &Path, path: &Path) -> Result<(Dataset, Vec<Warning>), DatasetError> {
    let _ = (root, path, Location::file(path));
    todo!()
}
