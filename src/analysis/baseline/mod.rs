//! Comparing a run with a baseline run: resolving `--baseline REF` to a stored run,
//! pairing cells, per prompt × model statistics with flipped cases, and the regression
//! rules of the gate.
//!
//! The flow: [`resolve`] a [`BaselineRef`] before the run (a bad reference costs nothing),
//! [`compare`] the finished run with it, then [`apply_gate`] adds `max_regression` and
//! `significance` checks to the run's verdict. [`finish_run`] does the last two and stores
//! the comparison beside the run (`comparison.json`).

mod compare;
mod resolve;

use crate::gate::{apply_gate, GateOverrides};
pub use compare::{
    compare, pair_cells, prompt_name, CellPair, CellSnapshot, Comparison, Flip, RowComparison,
    RowKey, COMPARISON_VERSION, SNAPSHOT_CHARS,
};
pub use resolve::{resolve, Baseline, BaselineError, BaselineRef};

use crate::store::StoredRun;

/// Compares a finished run with its baseline, adds the regression rules to its gate
/// verdict, and writes the updated `run.json` and `comparison.json` into the run's
/// directory.
pub fn finish_run(
    run: &mut StoredRun,
    baseline: &Baseline,
    overrides: &GateOverrides,
) -> Result<Comparison, BaselineError> {
    let comparison = compare(baseline, &run.record, &*run)?;
    if let Some(verdict) = run.record.gate.as_mut() {
        let gates: Vec<_> = run
            .record
            .evals
            .iter()
            .map(|e| (e.name.clone(), e.gate.clone()))
            .collect();
        apply_gate(
            verdict,
            &comparison,
            |eval| {
                gates
                    .iter()
                    .find(|(name, _)| name == eval)
                    .map(|(_, g)| g.clone())
                    .unwrap_or_default()
            },
            overrides,
        );
    }
    crate::store::write_record(&run.dir, &run.record)?;
    crate::store::write_comparison(&run.dir, &comparison)?;
    Ok(comparison)
}
