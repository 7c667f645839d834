//! Comparing a run with a baseline run: resolving `--baseline REF`, then comparing the two.

mod compare;
mod resolve;

pub use compare::{
    compare, pair_cells, prompt_name, CellPair, CellSnapshot, Comparison, Flip, RowComparison,
    RowKey, COMPARISON_VERSION, SNAPSHOT_CHARS,
};
pub use resolve::{resolve, Baseline, BaselineError, BaselineRef};
