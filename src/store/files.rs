//! The files of a run directory, named here and nowhere else, and written atomically.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{PlanFile, RunRecord, StoreError};
use crate::analysis::baseline::Comparison;

/// The record file in a run directory.
pub const RECORD_FILE: &str = "run.json";
/// The results file in a run directory.
pub const RESULTS_FILE: &str = "results.jsonl";
/// The plan file in a run directory: what `--resume` rebuilds the plan from.
pub const PLAN_FILE: &str = "plan.json";
/// The file in a run's directory holding its comparison with the baseline.
pub const COMPARISON_FILE: &str = "comparison.json";

/// Reads a `run.json`.
pub fn read_record(path: &Path) -> Result<RunRecord, StoreError> {
    let bytes = std::fs::read(path).map_err(StoreError::io("read", path))?;
    serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `run.json` atomically (temporary file, then rename).
pub fn write_record(dir: &Path, record: &RunRecord) -> Result<(), StoreError> {
    write_json(&dir.join(RECORD_FILE), record)
}

/// Writes `plan.json` atomically.
pub fn write_plan(dir: &Path, file: &PlanFile) -> Result<(), StoreError> {
    write_json(&dir.join(PLAN_FILE), file)
}

/// Reads `plan.json`: `Ok(None)` when it cannot be read (runs made by an older
/// prompteval have none), an error when it is not a plan file.
pub fn read_plan(dir: &Path) -> Result<Option<PlanFile>, serde_json::Error> {
    match std::fs::read(dir.join(PLAN_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some),
        Err(_) => Ok(None),
    }
}

/// Writes `comparison.json` atomically.
pub fn write_comparison(dir: &Path, comparison: &Comparison) -> Result<(), StoreError> {
    write_json(&dir.join(COMPARISON_FILE), comparison)
}

/// Reads `comparison.json`; `None` when the run was not compared with a baseline (or the
/// file cannot be read).
pub fn read_comparison(dir: &Path) -> Option<Comparison> {
    let bytes = std::fs::read(dir.join(COMPARISON_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes `value` as pretty JSON to `path` atomically: a temporary file beside it, then a
/// rename, so a reader never sees half a file.
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Io {
        action: "serialize",
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(StoreError::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(StoreError::io("write", path))
}
