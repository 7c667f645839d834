//! Datasets: one file per format → rows with stable ids and the source line of each row.
//! The formats and the row rules are described in `docs/datasets.md`.

mod conversation;
mod csv;
mod error;
mod file_rows;
mod ids;
mod json;
mod jsonl;
mod load;
mod row;
mod stream;
#[cfg(test)]
mod tests;
mod vars;
mod yaml;

pub use conversation::{
    Conversation, ScriptedTurn, SimulatedUserSpec, DEFAULT_MAX_TURNS, DEFAULT_STOP,
};
pub use error::DatasetError;
pub use load::{load, EXTENSIONS, HOLD_ROWS};
pub use row::{Dataset, Row};
pub use vars::Vars;
