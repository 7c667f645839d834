//! prompteval: a prompt-template registry and evaluation harness.
//!
//! Data flows one way, and the modules follow it: load ([`config`], [`registry`],
//! [`dataset`], [`template`]) → [`plan`] → [`run`] → [`provider`] → [`score`] →
//! [`analysis`] → [`gate`] → [`store`] → [`report`], with [`mlflow`] beside the store and
//! [`cli`] at the edge. See `docs/architecture.md`. The library never prints and never exits.

pub mod agent;
pub mod analysis;
pub mod cli;
pub mod config;
pub mod dataset;
pub mod gate;
pub mod mlflow;
pub mod plan;
pub mod provider;
pub mod registry;
pub mod report;
pub mod run;
pub mod score;
pub mod store;
pub mod template;
pub mod tools;

pub mod diagnostic;
mod piped;
mod process;
#[cfg(test)]
mod test_files;
