//! Planning: eval files into a validated [`Plan`] (pure), selection, changed-since, shards.

pub mod changed;
pub mod shard;
mod spec;

pub use spec::*;
