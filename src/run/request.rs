//! What `prompteval run` is asked to do, and the settings it resolves to against the project.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use crate::analysis::baseline::BaselineRef;
use crate::config::project::Project;
use crate::diagnostic::Diagnostic;
use crate::gate::GateOverrides;
use crate::plan::shard::{ParseShardError, Shard};
use crate::plan::Selection;
use crate::provider::cache::{CacheError, CacheMode, CacheSettings};
use crate::store::RunSettings;

/// Cells in flight at once when neither the request nor the project says.
pub const DEFAULT_JOBS: usize = 16;

/// Which stored run `--resume` completes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResumeTarget {
    /// The newest run that did not finish.
    Newest,
    /// A run id, a unique prefix of one, or `latest`.
    Run(String),
}

impl ResumeTarget {
    /// The id as given, `None` for the newest unfinished run.
    pub fn id(&self) -> Option<&str> {
        match self {
            ResumeTarget::Newest => None,
            ResumeTarget::Run(id) => Some(id),
        }
    }
}

/// A run as requested: what the flags and the environment say, before the project's
/// configuration fills the gaps ([`RunRequest::concurrency`], [`RunRequest::cache`]).
#[derive(Clone, Debug, Default)]
pub struct RunRequest {
    /// Which evals, prompts, models and cases; a resumed run uses its own instead.
    pub selection: Selection,
    /// `--resume`: complete a stored run instead of starting one.
    pub resume: Option<ResumeTarget>,
    /// `--retry-errors`: run the error cells of a stored run again, in that run
    /// ([`ResumeTarget::Newest`] is the newest run).
    pub retry_errors: Option<ResumeTarget>,
    /// `-j` or `PROMPTEVAL_JOBS`: cells in flight at once.
    pub jobs: Option<usize>,
    /// `--offline` or `--no-cache`; `None` leaves it to `cache.enabled`.
    pub cache_mode: Option<CacheMode>,
    /// `--cache-ttl`; `None` leaves it to `cache.ttl`.
    pub cache_ttl: Option<String>,
    /// `--fail-under`, `--max-regression` and `--significance`.
    pub gate: GateOverrides,
    /// `--baseline REF`, as given: a run id, `latest`, a run record file or `git:REV`.
    pub baseline: Option<String>,
    /// `--changed-since REV`: run only the evals whose inputs changed since REV.
    pub changed_since: Option<String>,
    /// `--shard K/N`.
    pub shard: Option<Shard>,
}

/// A request that cannot be run; found before the project is read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A rate or a significance level outside its range.
    #[error("{flag} must be {range}, got {value}")]
    OutOfRange {
        /// The flag (`--fail-under`).
        flag: &'static str,
        /// `between 0 and 1`, or `strictly between 0 and 1`.
        range: &'static str,
        /// As given.
        value: f64,
    },
    /// `-j 0` (or `PROMPTEVAL_JOBS=0`): no cell could ever run.
    #[error("-j/--jobs (or PROMPTEVAL_JOBS) must be at least 1, got 0")]
    ZeroJobs,
    /// A `--shard` that is not `K/N`.
    #[error(transparent)]
    Shard(#[from] ParseShardError),
}

impl Diagnostic for RequestError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            RequestError::OutOfRange { .. } => None,
            RequestError::ZeroJobs => Some(
                "leave it out for the default (16), or `defaults.concurrency` in prompteval.yaml"
                    .into(),
            ),
            RequestError::Shard(_) => Some("`--shard 1/4` runs the first of four slices".into()),
        }
    }
}

/// Checks that the gate's rates are rates (0..=1) and its significance level is a level
/// (strictly between 0 and 1).
pub fn check_gate(gate: &GateOverrides) -> Result<(), RequestError> {
    for (flag, value, open) in [
        ("--fail-under", gate.fail_under, false),
        ("--max-regression", gate.max_regression, false),
        ("--significance", gate.significance, true),
    ] {
        let Some(value) = value else { continue };
        if !(0.0..=1.0).contains(&value) || (open && (value <= 0.0 || value >= 1.0)) {
            return Err(RequestError::OutOfRange {
                flag,
                range: if open {
                    "strictly between 0 and 1"
                } else {
                    "between 0 and 1"
                },
                value,
            });
        }
    }
    Ok(())
}

/// Refuses `-j 0`, which used to run as `-j 1` silently.
pub fn check_jobs(jobs: Option<usize>) -> Result<(), RequestError> {
    match jobs {
        Some(0) => Err(RequestError::ZeroJobs),
        _ => Ok(()),
    }
}

impl RunRequest {
    /// Cells in flight: the request, else the project's `defaults.concurrency`, else
    /// [`DEFAULT_JOBS`]. Zero is refused where it is given ([`check_jobs`], and
    /// `defaults.concurrency` is a non-zero number); `max(1)` only guards a library caller.
    pub fn concurrency(&self, project: &Project) -> usize {
        self.jobs
            .or(project.config.defaults.concurrency.map(NonZeroUsize::get))
            .unwrap_or(DEFAULT_JOBS)
            .max(1)
    }

    /// The response cache's settings: the request's mode and TTL over the project's
    /// `cache:` block.
    pub fn cache(&self, project: &Project) -> Result<CacheSettings, CacheError> {
        CacheSettings::resolve(
            &project.root,
            &project.store_dir(),
            &project.config.cache,
            self.cache_mode,
            self.cache_ttl.as_deref(),
        )
    }

    /// The baseline reference, a path in it taken from the current directory (`root`
    /// when that is gone).
    pub fn baseline_ref(&self, root: &Path) -> Option<BaselineRef> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from(root));
        self.baseline
            .as_deref()
            .map(|text| BaselineRef::parse(text, &cwd))
    }

    /// The settings recorded with a new run.
    pub fn settings(&self, concurrency: usize) -> RunSettings {
        RunSettings {
            concurrency,
            limit: self.selection.limit,
            case_filter: self.selection.case.clone(),
            fail_under: self.gate.fail_under,
            shard: self.shard,
            ..RunSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_checked_in_flag_order() {
        let gate = GateOverrides {
            fail_under: Some(1.5),
            max_regression: Some(-1.0),
            significance: None,
        };
        assert_eq!(
            check_gate(&gate).unwrap_err().to_string(),
            "--fail-under must be between 0 and 1, got 1.5"
        );
        let gate = GateOverrides {
            significance: Some(1.0),
            ..GateOverrides::default()
        };
        assert_eq!(
            check_gate(&gate).unwrap_err().to_string(),
            "--significance must be strictly between 0 and 1, got 1"
        );
        let gate = GateOverrides {
            fail_under: Some(1.0),
            max_regression: Some(0.0),
            significance: Some(0.05),
        };
        assert!(check_gate(&gate).is_ok());
    }
}
