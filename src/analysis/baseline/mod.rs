//! Comparing a run with a baseline run: [`resolve`] a `--baseline REF` to a stored run
//! before the run (a bad reference costs nothing), then [`compare`] the finished run with
//! it — paired cells, per prompt × model statistics, flipped cases. The comparison is an
//! input of the gate ([`crate::gate::judge`]).

mod compare;
mod resolve;

pub use compare::{
    compare, pair_cells, prompt_name, CellPair, CellSnapshot, Comparison, Flip, RowComparison,
    RowKey, COMPARISON_VERSION, SNAPSHOT_CHARS,
};
pub use resolve::{resolve, Baseline, BaselineError, BaselineRef};
