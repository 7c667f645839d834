//! prompteval: a prompt-template registry and evaluation harness.
//!
//! Data flows one way: load ([`project`], [`registry`], [`dataset`]) → validate and plan
//! ([`spec`]) → execute ([`run`], [`provider`]) → score ([`score`]) → store ([`store`]) →
//! report ([`report`]) → gate ([`gate`]). The runner talks to everything that watches it
//! through [`events::RunEvent`]. The library never prints and never exits.

pub mod baseline;
pub mod cache;
pub mod changed;
pub mod dataset;
pub mod diagnostic;
pub mod error;
pub mod events;
pub mod gate;
pub mod git;
pub mod message;
pub mod mlflow;
pub mod project;
pub mod provider;
pub mod registry;
pub mod repeats;
pub mod report;
pub mod response_cache;
pub mod resume;
pub mod run;
pub mod score;
pub mod session;
pub mod shard;
pub mod spec;
pub mod stats;
pub mod store;
pub mod summary;
pub mod template;
pub mod yaml;

pub use error::{Error, ErrorKind};
pub mod cli;
pub mod scaffold;
