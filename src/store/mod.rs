//! The run store: `.prompteval/runs/<run-id>/` with `run.json` (the run record without
//! results) and `results.jsonl` (one [`CellResult`] per line, appended as cells finish).

mod record;

pub use record::{
    EvalInfo, GitInfo, PromptInfo, RunRecord, RunSettings, RunStatus, RECORD_VERSION,
};

use std::io;

use crate::events::CellResult;

/// Anything that can stream a run's cell results, as often as asked.
pub trait ResultSource {
    /// Iterates the results from the start.
    fn results(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>> + '_>>;
}

impl ResultSource for [CellResult] {
    fn results(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>> + '_>> {
        Ok(Box::new(self.iter().cloned().map(Ok)))
    }
}

impl ResultSource for Vec<CellResult> {
    fn results(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<CellResult>> + '_>> {
        self.as_slice().results()
    }
}
