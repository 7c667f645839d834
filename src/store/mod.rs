//! The run store: `.prompteval/runs/<run-id>/`, every file in it, and the run history.

mod cell_head;
mod cell_shape;
mod error;
mod files;
mod history;
mod plan_file;
mod record;
mod results;
mod runs;
mod writer;

pub use cell_head::CellHead;
pub use cell_shape::CellShape;
pub use error::StoreError;
pub use files::{
    read_comparison, read_plan, read_record, write_comparison, write_plan, write_record,
    COMPARISON_FILE, PLAN_FILE, RECORD_FILE, RESULTS_FILE,
};
pub use history::{MergeError, MergeOutcome, RunFilter};
pub use plan_file::{PlanFile, PLAN_VERSION};
pub use record::{
    EvalInfo, GitInfo, PromptInfo, RunRecord, RunSettings, RunStatus, RECORD_VERSION,
};
pub use results::{parse_cell, read_results, ResultLines, ResultSource};
pub use runs::{Store, StoredRun};
pub use writer::RunWriter;
