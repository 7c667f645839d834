//! Running a plan: the pipeline from a request to a stored run with its verdict, the
//! session that stores it, and the scheduler that executes cells and streams
//! [`events::RunEvent`]s. Nothing here prints.

mod cell;
pub mod events;
mod group;
pub mod outcome;
pub mod pipeline;
pub mod request;
pub mod resume;
mod runner;
pub mod session;

pub use outcome::{CacheCounts, CacheUse, Finished, Notice, Outcome, Verdict};
pub use pipeline::{prepare, PipelineError, Prepared};
pub use request::{RequestError, ResumeTarget, RunRequest};
pub use runner::{execute, new_run_id, planned_cells, CellKey, RunError, RunOptions, RunOutcome};
