//! `--baseline REF` → the run to compare with: an id, `latest`, a record file or `git:REV`.

use std::path::{Path, PathBuf};

use crate::config::git::{self, GitError};
use crate::diagnostic::Diagnostic;
use crate::run::events::CellResult;
use crate::store::{
    read_record, read_results, ResultSource, RunRecord, RunStatus, Store, StoreError, RECORD_FILE,
    RESULTS_FILE,
};

/// What `--baseline` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BaselineRef {
    /// `latest`: the newest stored run of the same eval(s), made before this one.
    Latest,
    /// A stored run's id or a unique prefix of it.
    Run(String),
    /// A run record file written by `--output FILE.json`, or a stored `run.json`.
    File(PathBuf),
    /// `git:REV`: the newest stored run whose recorded commit is REV or an ancestor of it.
    Git(String),
}

impl BaselineRef {
    /// Reads a reference as written on the command line. A value that names an existing
    /// file, or ends in `.json`, is a file; relative paths are taken from `cwd`.
    pub fn parse(text: &str, cwd: &Path) -> BaselineRef {
        if text == "latest" {
            BaselineRef::Latest
        } else if let Some(rev) = text.strip_prefix("git:") {
            BaselineRef::Git(rev.to_string())
        } else if text.ends_with(".json") || cwd.join(text).is_file() {
            BaselineRef::File(cwd.join(text))
        } else {
            BaselineRef::Run(text.to_string())
        }
    }
}

impl std::fmt::Display for BaselineRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaselineRef::Latest => f.write_str("latest"),
            BaselineRef::Run(id) => f.write_str(id),
            BaselineRef::File(path) => write!(f, "{}", path.display()),
            BaselineRef::Git(rev) => write!(f, "git:{rev}"),
        }
    }
}

/// The baseline run: its record and all its cell results, in memory (pairing needs them).
#[derive(Clone, Debug)]
pub struct Baseline {
    /// How it was named (`latest`, `git:main`, a path).
    pub reference: String,
    /// Its record.
    pub record: RunRecord,
    /// Its results.
    pub results: Vec<CellResult>,
    /// Newer stored runs of these evals that `latest` or `git:REV` passed over (they did
    /// not finish, or were made at a commit that is not an ancestor).
    pub passed_over: usize,
    /// Prompt name → the version its `production` alias points at in the registry now;
    /// filled by `run` so that a version the baseline never ran is compared with
    /// production (empty elsewhere).
    pub production: std::collections::BTreeMap<String, u32>,
}

impl ResultSource for Baseline {
    fn results(
        &self,
    ) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<CellResult>> + '_>> {
        self.results.results()
    }
}

/// A baseline that cannot be found or read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The store could not be read, or has no such run.
    #[error("cannot load baseline")]
    Store(#[from] StoreError),
    /// No stored run fits `latest` or `git:REV`.
    #[error("no stored run of {} to use as baseline `{reference}`", evals.join(", "))]
    NoRun {
        /// As given.
        reference: String,
        /// The evals being run.
        evals: Vec<String>,
        /// Runs of these evals that were skipped (unfinished, or made at a commit that is
        /// not an ancestor).
        skipped: usize,
    },
    /// A run record file that cannot be read.
    #[error("cannot read baseline file {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A run record file that is not a run record.
    #[error("{}: not a run record (written by `prompteval run --output FILE.json`)", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// `git:REV` could not be resolved.
    #[error("cannot resolve baseline `git:{rev}`")]
    Git {
        /// The revision.
        rev: String,
        /// Why.
        #[source]
        source: GitError,
    },
    /// A results file could not be read.
    #[error("failed to read the results of the {which} run")]
    Results {
        /// `baseline` or `current`.
        which: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Diagnostic for BaselineError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            BaselineError::Store(e) => e.hint(),
            BaselineError::NoRun { reference, skipped, .. } => Some(format!(
                "run once without --baseline to make one{}; `prompteval runs list` shows the stored runs, and --baseline also takes a run id or a run record file{}",
                if *skipped > 0 { format!(" ({skipped} stored runs of these evals did not qualify)") } else { String::new() },
                if reference.starts_with("git:") { "; in CI, restore .prompteval/runs from a cache or pass the main branch's run.json" } else { "" }
            )),
            BaselineError::File { .. } | BaselineError::Corrupt { .. } => Some(
                "pass a file written by `prompteval run --output FILE.json`, or a stored `.prompteval/runs/<id>/run.json`".into(),
            ),
            BaselineError::Git { source, .. } => source.hint(),
            BaselineError::Results { .. } => None,
        }
    }
}

/// Whether a stored run of `evals` can serve as a baseline: it ran at least one of them,
/// and it finished (an interrupted run's pass rates are those of the cells it reached).
fn usable(record: &RunRecord, evals: &[String]) -> bool {
    record.status == RunStatus::Finished && ran_any(record, evals)
}

fn ran_any(record: &RunRecord, evals: &[String]) -> bool {
    evals.is_empty() || record.evals.iter().any(|e| evals.contains(&e.name))
}

/// Finds and loads the baseline run. `evals` are the evals about to run (`latest` and
/// `git:REV` only consider runs of at least one of them); `root` is the project root (for
/// git).
pub fn resolve(
    store: &Store,
    root: &Path,
    reference: &BaselineRef,
    evals: &[String],
) -> Result<Baseline, BaselineError> {
    let text = reference.to_string();
    let no_run = |skipped| BaselineError::NoRun {
        reference: text.clone(),
        evals: evals.to_vec(),
        skipped,
    };
    match reference {
        BaselineRef::Run(id) => {
            let run = store.load(id)?;
            let results = collect(read_results(&run.results_path()))?;
            Ok(Baseline {
                reference: text,
                record: run.record,
                results,
                passed_over: 0,
                production: Default::default(),
            })
        }
        BaselineRef::File(path) => load_file(path, text),
        BaselineRef::Latest => {
            let mut skipped = 0;
            for id in store.run_ids()? {
                let run = store.load(&id)?;
                if usable(&run.record, evals) {
                    let results = collect(read_results(&run.results_path()))?;
                    return Ok(Baseline {
                        reference: text,
                        record: run.record,
                        results,
                        passed_over: skipped,
                        production: Default::default(),
                    });
                }
                skipped += usize::from(ran_any(&run.record, evals));
            }
            Err(no_run(skipped))
        }
        BaselineRef::Git(rev) => {
            let git_err = |source| BaselineError::Git {
                rev: rev.clone(),
                source,
            };
            let commit = git::resolve_commit(root, rev).map_err(git_err)?;
            let mut skipped = 0;
            for id in store.run_ids()? {
                let run = store.load(&id)?;
                if !usable(&run.record, evals) {
                    skipped += usize::from(ran_any(&run.record, evals));
                    continue;
                }
                let Some(info) = &run.record.git else {
                    skipped += 1;
                    continue;
                };
                let fits = info.commit == commit
                    || git::is_ancestor(root, &info.commit, &commit).unwrap_or(false);
                if fits {
                    let results = collect(read_results(&run.results_path()))?;
                    return Ok(Baseline {
                        reference: text,
                        record: run.record,
                        results,
                        passed_over: skipped,
                        production: Default::default(),
                    });
                }
                skipped += 1;
            }
            Err(no_run(skipped))
        }
    }
}

fn collect(
    results: std::io::Result<Box<dyn Iterator<Item = std::io::Result<CellResult>>>>,
) -> Result<Vec<CellResult>, BaselineError> {
    let wrap = |source| BaselineError::Results {
        which: "baseline",
        source,
    };
    results
        .map_err(wrap)?
        .collect::<Result<_, _>>()
        .map_err(wrap)
}

/// Loads `--output FILE.json` (record fields plus `results`), or a stored `run.json` with
/// its `results.jsonl` beside it.
fn load_file(path: &Path, reference: String) -> Result<Baseline, BaselineError> {
    if path.is_dir() && path.join(RECORD_FILE).is_file() {
        return load_file(&path.join(RECORD_FILE), reference);
    }
    let bytes = std::fs::read(path).map_err(|source| BaselineError::File {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |source| BaselineError::Corrupt {
        path: path.to_path_buf(),
        source,
    };
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(corrupt)?;
    let embedded = value.as_object_mut().and_then(|o| o.remove("results"));
    let record: RunRecord = serde_json::from_value(value).map_err(corrupt)?;
    let results = match embedded {
        Some(results) => serde_json::from_value(results).map_err(corrupt)?,
        None => {
            let sibling = path.with_file_name(RESULTS_FILE);
            if sibling.is_file() {
                collect(read_results(&sibling))?
            } else {
                // A record without results still compares rates, not cases.
                read_record(path).map(|_| Vec::new())?
            }
        }
    };
    Ok(Baseline {
        reference,
        record,
        results,
        passed_over: 0,
        production: Default::default(),
    })
}
