//! The gate: thresholds and regression rules into one verdict with reasons.

mod regression;
mod thresholds;

pub use regression::{apply_gate, p_text, GateOverrides};
pub use thresholds::*;
