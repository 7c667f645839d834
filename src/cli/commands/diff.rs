//! `prompteval runs diff A B`: loads both runs and prints the cell-by-cell diff.

use std::path::Path;

use super::Context;
use crate::analysis::baseline::{self, Baseline, BaselineRef};
use crate::cli::diagnostics::{self, Exit};
use crate::report::{self, DiffOptions};
use crate::store::Store;

/// Loads a run named by id, prefix, `latest`, or a run record file.
fn load(store: &Store, text: &str) -> Result<Baseline, baseline::BaselineError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| Path::new(".").to_path_buf());
    let reference = match BaselineRef::parse(text, &cwd) {
        // `latest` here is the newest stored run of any eval.
        BaselineRef::Latest => BaselineRef::Run("latest".into()),
        // `git:REV` means nothing to a diff of two stored runs; read it as an id.
        BaselineRef::Git(_) => BaselineRef::Run(text.to_string()),
        other => other,
    };
    baseline::resolve(store, &cwd, &reference, &[])
}

/// Prints what changed between runs `a` and `b`.
pub(crate) fn diff(
    ctx: &Context,
    store: &Store,
    a: &str,
    b: &str,
    max_cells: usize,
    all: bool,
) -> Exit {
    let (before, after) = match (load(store, a), load(store, b)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => {
            return diagnostics::report(&e);
        }
    };
    let options = DiffOptions {
        color: ctx.color,
        max_cells: if all { usize::MAX } else { max_cells },
        unchanged: all,
    };
    let mut out = crate::cli::output::stdout();
    match report::write_diff(
        &before.record,
        &before,
        &after.record,
        &after,
        &options,
        &mut out,
    ) {
        Ok(()) => Exit::Success,
        Err(e) => diagnostics::report(&e),
    }
}
