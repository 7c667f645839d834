//! The runner: executes a [`crate::plan::Plan`] cell by cell with bounded concurrency and
//! streams [`crate::run::events::RunEvent`]s. It never formats output and never decides the gate.

mod cell;
pub mod events;
mod group;
pub mod resume;
mod runner;
pub mod session;

pub use runner::{execute, new_run_id, planned_cells, CellKey, RunError, RunOptions, RunOutcome};
