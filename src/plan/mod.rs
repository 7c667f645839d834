//! Planning: eval files into a validated [`Plan`] (pure), selection, changed-since, shards.

pub mod changed;
mod selection;
pub mod shard;
mod spec;

pub use selection::{eval_names, Selection};
pub use spec::*;
