//! Running a plan: request → pipeline → session → scheduler (see `docs/pipeline.md`).

mod agent;
mod cell;
pub mod conversation;
pub mod events;
mod group;
pub mod outcome;
pub mod pipeline;
pub mod replay;
pub mod request;
pub mod rescore;
mod rescore_match;
pub mod resume;
mod runner;
mod server_tools;
pub mod session;
pub mod watch;

pub use outcome::{CacheCounts, CacheUse, Finished, Notice, Outcome, Verdict};
pub use pipeline::{prepare, PipelineError, Prepared};
pub use replay::Replay;
pub use request::{RequestError, ResumeTarget, RunRequest};
pub use rescore::{prepare_rescore, PreparedRescore, RescoreError, RescoreRequest};
pub use runner::{
    execute, new_run_id, planned_cells, replayed_cells, CellKey, RunError, RunOptions, RunOutcome,
};
