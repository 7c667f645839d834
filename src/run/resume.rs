//! `run --resume`: finding the run, checking its plan is unchanged, reading its finished cells.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diagnostic::Diagnostic;
use crate::plan::{EvalPlan, Plan, Selection};
use crate::run::events::CellResult;
use crate::run::CellKey;
use crate::store::{EvalInfo, PlanFile, RunStatus, Store, StoreError, StoredRun, PLAN_VERSION};

/// A run that cannot be resumed.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// `--resume` without an id, and every run finished.
    #[error("no unfinished run in {}", dir.display())]
    NothingToResume {
        /// The runs directory.
        dir: PathBuf,
    },
    /// The run finished already.
    #[error("run {run_id} already finished; there is nothing to resume")]
    Finished {
        /// The run.
        run_id: String,
    },
    /// The run has no plan file (made by an older prompteval).
    #[error("run {run_id} cannot be resumed: {} is missing", path.display())]
    NoPlanFile {
        /// The run.
        run_id: String,
        /// The missing file.
        path: PathBuf,
    },
    /// The plan file cannot be read.
    #[error("run {run_id} cannot be resumed: {} is invalid", path.display())]
    BadPlanFile {
        /// The run.
        run_id: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The prompts, datasets, evals or providers changed since the run started.
    #[error("run {run_id} cannot be resumed: the plan changed since it started ({})", changes.join("; "))]
    Changed {
        /// The run.
        run_id: String,
        /// What changed, one entry each.
        changes: Vec<String>,
    },
    /// `--retry-errors` on a run without error cells.
    #[error("run {run_id} has no error cells; there is nothing to retry")]
    NoErrors {
        /// The run.
        run_id: String,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The results file cannot be read.
    #[error("failed to read the results of run {run_id}")]
    Results {
        /// The run.
        run_id: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Diagnostic for ResumeError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            ResumeError::NothingToResume { .. } | ResumeError::Finished { .. } => {
                Some("`prompteval runs list` shows each run's status; start a new run with `prompteval run`".into())
            }
            ResumeError::NoPlanFile { .. } | ResumeError::BadPlanFile { .. } => {
                Some("start a new run with `prompteval run`".into())
            }
            ResumeError::Changed { .. } => Some(
                "a resumed run must use the files it started with: restore them, or start a new run with `prompteval run`".into(),
            ),
            ResumeError::NoErrors { run_id } => Some(format!(
                "`prompteval runs show {run_id}` shows its cells; `prompteval rescore {run_id}` scores its outputs again"
            )),
            ResumeError::Store(e) => e.hint(),
            ResumeError::Results { .. } => None,
        }
    }
}

/// `sha256:<hex>` of a file's bytes; `None` when it cannot be read.
fn file_hash(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
}

/// The plan file for a new run of `plan` made with `selection`.
pub fn plan_file(root: &Path, plan: &Plan, selection: &Selection) -> PlanFile {
    PlanFile {
        version: PLAN_VERSION,
        selection: selection.clone(),
        eval_hashes: plan
            .evals
            .iter()
            .map(|e| {
                let hash = file_hash(&root.join(&e.path)).unwrap_or_default();
                (e.name.clone(), hash)
            })
            .collect(),
    }
}

/// Reads a run's `plan.json`.
pub fn read_plan_file(run: &StoredRun) -> Result<PlanFile, ResumeError> {
    match run.plan() {
        Ok(Some(file)) => Ok(file),
        Ok(None) => Err(ResumeError::NoPlanFile {
            run_id: run.record.run_id.clone(),
            path: run.plan_path(),
        }),
        Err(source) => Err(ResumeError::BadPlanFile {
            run_id: run.record.run_id.clone(),
            path: run.plan_path(),
            source,
        }),
    }
}

/// The run to resume: `id` (an id, unique prefix or `latest`), or the newest run that did
/// not finish.
pub fn find_run(store: &Store, id: Option<&str>) -> Result<StoredRun, ResumeError> {
    let run = match id {
        Some(id) => store.load(id)?,
        None => {
            let mut found = None;
            for id in store.run_ids()? {
                let run = store.load(&id)?;
                if run.record.status != RunStatus::Finished {
                    found = Some(run);
                    break;
                }
            }
            found.ok_or_else(|| ResumeError::NothingToResume {
                dir: store.runs_dir(),
            })?
        }
    };
    if run.record.status == RunStatus::Finished {
        return Err(ResumeError::Finished {
            run_id: run.record.run_id,
        });
    }
    Ok(run)
}

/// The run whose error cells `--retry-errors` runs again: `id` (an id, unique prefix or
/// `latest`), or the newest run, whatever its status (an unfinished run's missing cells run
/// too).
pub fn find_any(store: &Store, id: Option<&str>) -> Result<StoredRun, ResumeError> {
    Ok(store.load(id.unwrap_or("latest"))?)
}

/// The cells of `done` that did not end in an error (those run again); refuses a run
/// without error cells.
pub fn without_errors(
    run: &StoredRun,
    done: Vec<CellResult>,
) -> Result<Vec<CellResult>, ResumeError> {
    let before = done.len();
    let kept: Vec<CellResult> = done.into_iter().filter(|c| c.error.is_none()).collect();
    if kept.len() == before && run.record.status == RunStatus::Finished {
        return Err(ResumeError::NoErrors {
            run_id: run.record.run_id.clone(),
        });
    }
    Ok(kept)
}

/// Checks that `plan` (rebuilt from the plan file's selection) is the plan `run` started
/// with: the same evals and eval files, prompt versions and their hashes, datasets and
/// their hashes, cases, models, repeats and provider settings.
pub fn check(
    root: &Path,
    run: &StoredRun,
    file: &PlanFile,
    plan: &Plan,
) -> Result<(), ResumeError> {
    let record = &run.record;
    let mut changes = Vec::new();
    let names = |v: Vec<&str>| v.join(", ");
    let old: Vec<&str> = record.evals.iter().map(|e| e.name.as_str()).collect();
    let new: Vec<&str> = plan.evals.iter().map(|e| e.name.as_str()).collect();
    if old != new {
        changes.push(format!("evals were {}, now {}", names(old), names(new)));
    }
    for (info, eval) in record.evals.iter().zip(&plan.evals) {
        eval_changes(root, file, info, eval, &mut changes);
    }
    for (name, config) in &plan.provider_configs {
        let before = record.providers.get(name);
        let same = before
            .is_some_and(|b| serde_json::to_value(b).ok() == serde_json::to_value(config).ok());
        if before.is_some() && !same {
            changes.push(format!("the settings of provider `{name}` changed"));
        }
    }
    if changes.is_empty() {
        Ok(())
    } else {
        changes.dedup();
        Err(ResumeError::Changed {
            run_id: record.run_id.clone(),
            changes,
        })
    }
}

/// What changed in one eval since the run started: its file, dataset, cases, repeats,
/// models and prompt versions.
fn eval_changes(
    root: &Path,
    file: &PlanFile,
    info: &EvalInfo,
    eval: &EvalPlan,
    changes: &mut Vec<String>,
) {
    let name = &eval.name;
    let hash = file_hash(&root.join(&eval.path)).unwrap_or_default();
    if file.eval_hashes.get(name) != Some(&hash) {
        changes.push(format!("eval file {} changed", eval.path.display()));
    }
    if info.dataset_hash != eval.dataset.hash {
        changes.push(format!("dataset {} changed", info.dataset));
    }
    if info.cases != eval.rows.len() {
        changes.push(format!(
            "eval `{name}` selects {} cases, not {}",
            eval.rows.len(),
            info.cases
        ));
    }
    if info.repeat != eval.repeat {
        changes.push(format!(
            "eval `{name}` repeats {} times, not {}",
            eval.repeat, info.repeat
        ));
    }
    if info.models != eval.models {
        changes.push(format!(
            "eval `{name}` runs models {}, not {}",
            eval.models.join(", "),
            info.models.join(", ")
        ));
    }
    let old: Vec<(&str, &str)> = info
        .prompts
        .iter()
        .map(|p| (p.reference.as_str(), p.hash.as_str()))
        .collect();
    let new_refs: Vec<String> = eval.prompts.iter().map(|p| p.version.reference()).collect();
    let new: Vec<(&str, &str)> = new_refs
        .iter()
        .zip(&eval.prompts)
        .map(|(r, p)| (r.as_str(), p.version.hash.as_str()))
        .collect();
    if old.iter().map(|p| p.0).ne(new.iter().map(|p| p.0)) {
        let before: Vec<&str> = old.iter().map(|p| p.0).collect();
        changes.push(format!(
            "eval `{name}` runs prompts {}, not {}",
            new_refs.join(", "),
            before.join(", ")
        ));
    } else {
        for (o, n) in old.iter().zip(&new) {
            if o.1 != n.1 {
                changes.push(format!("prompt {} changed", o.0));
            }
        }
    }
}

/// The cells `run` finished, each once (a torn final line is ignored).
pub fn finished_cells(run: &StoredRun) -> Result<Vec<CellResult>, ResumeError> {
    let err = |source| ResumeError::Results {
        run_id: run.record.run_id.clone(),
        source,
    };
    let mut seen = HashSet::new();
    let mut cells = Vec::new();
    for cell in crate::store::read_results(&run.results_path()).map_err(err)? {
        let cell = cell.map_err(err)?;
        if seen.insert(CellKey::of(&cell)) {
            cells.push(cell);
        }
    }
    Ok(cells)
}
