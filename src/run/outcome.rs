//! What the run pipeline tells its caller: notices before the run, the outcome after it.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::analysis::baseline::{BaselineRef, Comparison};
use crate::plan::changed::EvalChange;
use crate::provider::CacheCounters;
use crate::store::{RunStatus, StoredRun};

/// Something the user should hear about before the run starts.
#[derive(Clone, Copy, Debug)]
pub enum Notice<'a> {
    /// `--changed-since`: whether an eval runs, and why.
    Change {
        /// The revision compared with.
        rev: &'a str,
        /// The eval and what changed (nothing: it is skipped).
        change: &'a EvalChange,
    },
    /// `--baseline`: the run that this one is compared with.
    Baseline {
        /// The baseline run's id.
        run_id: &'a str,
        /// How it was named.
        reference: &'a BaselineRef,
        /// How the baseline run ended (only a finished run qualifies as `latest` or
        /// `git:REV`; a run named by id or file may be unfinished).
        status: RunStatus,
        /// Newer runs of these evals that `latest` or `git:REV` passed over.
        passed_over: usize,
    },
    /// `--baseline latest` on the first run of these evals: nothing to compare with, so the
    /// run goes ahead and the gate's thresholds alone judge it.
    NoBaseline {
        /// The evals being run.
        evals: &'a [String],
        /// Stored runs of these evals that did not finish (so did not qualify).
        unfinished: usize,
    },
    /// `--resume`: the run being completed.
    Resuming {
        /// Its id.
        run_id: &'a str,
        /// Cells it had finished.
        finished: usize,
        /// Cells in its plan.
        total: usize,
    },
    /// `--retry-errors`: the run whose error cells run again.
    Retrying {
        /// Its id.
        run_id: &'a str,
        /// Cells it keeps (every cell that did not end in an error).
        kept: usize,
        /// Cells in its plan.
        total: usize,
    },
}

/// How the pipeline ended without an error.
#[derive(Debug)]
pub enum Outcome {
    /// `--changed-since`: nothing any eval depends on changed, so nothing ran.
    NothingChanged {
        /// The revision.
        rev: String,
        /// Evals skipped (all of them).
        skipped: usize,
    },
    /// A run was made (finished, interrupted, or with errored cells).
    Ran(Box<Finished>),
}

/// A stored run with everything its verdict was made from.
#[derive(Debug)]
pub struct Finished {
    /// The run: its record (summary and final verdict) and its results.
    pub run: StoredRun,
    /// Whether it was interrupted before every cell finished.
    pub interrupted: bool,
    /// The comparison with the baseline, when there was one.
    pub comparison: Option<Arc<Comparison>>,
    /// How the response cache was used.
    pub cache: CacheUse,
}

/// How a finished run ends, most serious first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Interrupted: the finished cells are kept.
    Interrupted,
    /// This many cells could not be scored (provider or render errors).
    Errors(u64),
    /// A quality gate failed.
    GateFailed,
    /// Every gate held.
    Passed,
}

impl Finished {
    /// The run's verdict: interrupted, then errored cells, then the gate.
    pub fn verdict(&self) -> Verdict {
        let record = &self.run.record;
        let errors: u64 = record.summary.iter().map(|r| r.errors).sum();
        if self.interrupted {
            Verdict::Interrupted
        } else if errors > 0 {
            Verdict::Errors(errors)
        } else if record.verdict().is_some_and(|g| !g.passed) {
            Verdict::GateFailed
        } else {
            Verdict::Passed
        }
    }
}

/// The response cache's directory and its counters, shared with the providers of the run.
#[derive(Clone, Debug)]
pub struct CacheUse {
    /// The cache directory.
    pub dir: PathBuf,
    pub(crate) counters: Arc<CacheCounters>,
}

/// How often the cache served, missed and stored; read once the run is over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Responses served from the cache.
    pub hits: u64,
    /// Requests sent to a model.
    pub misses: u64,
    /// Responses stored.
    pub stores: u64,
    /// Offline requests that found no entry.
    pub offline_misses: u64,
}

impl CacheCounts {
    /// Whether the cache took part in the run at all.
    pub fn used(&self) -> bool {
        self.hits + self.misses + self.offline_misses > 0
    }
}

impl CacheUse {
    /// The counters now. Requests still in flight may count after the pipeline returns:
    /// read this once the runtime is gone.
    pub fn counts(&self) -> CacheCounts {
        let c = &self.counters;
        CacheCounts {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            stores: c.stores.load(Ordering::Relaxed),
            offline_misses: c.offline_misses.load(Ordering::Relaxed),
        }
    }
}
