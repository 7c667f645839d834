//! The gate: thresholds and regression rules into one verdict with reasons.

mod regression;
mod thresholds;
mod verdict;

pub use regression::p_text;
pub use verdict::{judge, GateCheck, GateConfig, GateOverrides, GateVerdict};
