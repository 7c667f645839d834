//! The runner: executes a [`crate::spec::Plan`] cell by cell with bounded concurrency and
//! streams [`crate::events::RunEvent`]s. It never formats output and never decides the gate.

mod cell;
mod group;
mod runner;

pub use runner::{execute, new_run_id, planned_cells, CellKey, RunError, RunOptions, RunOutcome};
