//! `prompteval run --resume`: the plan file a run leaves beside its record (what was
//! selected, and the eval files' hashes), finding the run to resume, checking that the plan
//! rebuilt today is the plan the run started with, and reading the cells it finished.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::plan::{Plan, Selection};
use crate::run::events::CellResult;
use crate::run::CellKey;
use crate::store::{RunStatus, Store, StoreError, StoredRun};

/// The plan file in a run directory.
pub const PLAN_FILE: &str = "plan.json";
/// The version of the plan file format.
pub const PLAN_VERSION: u32 = 1;

/// `plan.json`: what `--resume` needs to rebuild a run's plan and to check it is the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The selection the run was made with.
    pub selection: Selection,
    /// `sha256:<hex>` of each eval file, by eval name.
    pub eval_hashes: BTreeMap<String, String>,
}

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

impl ResumeError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
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

/// Writes `plan.json` into a run directory.
pub fn write_plan_file(dir: &Path, file: &PlanFile) -> Result<(), StoreError> {
    let path = dir.join(PLAN_FILE);
    let bytes = serde_json::to_vec_pretty(file).map_err(|e| StoreError::Io {
        action: "serialize",
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&path, bytes).map_err(StoreError::io("write", &path))
}

/// Reads a run's `plan.json`.
pub fn read_plan_file(run: &StoredRun) -> Result<PlanFile, ResumeError> {
    let path = run.dir.join(PLAN_FILE);
    let bytes = std::fs::read(&path).map_err(|_| ResumeError::NoPlanFile {
        run_id: run.record.run_id.clone(),
        path: path.clone(),
    })?;
    serde_json::from_slice(&bytes).map_err(|source| ResumeError::BadPlanFile {
        run_id: run.record.run_id.clone(),
        path,
        source,
    })
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
            changes.push(format!(
                "eval `{name}` runs prompts {}, not {}",
                new_refs.join(", "),
                info.prompts
                    .iter()
                    .map(|p| p.reference.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            for (o, n) in old.iter().zip(&new) {
                if o.1 != n.1 {
                    changes.push(format!("prompt {} changed", o.0));
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `plan.json` as an older prompteval wrote it (`run --model echo --case '^[a-z]'
    /// --limit 2`): it must still read, and a new run must write the same bytes.
    const OLD_PLAN_FILE: &str = r#"{
  "version": 1,
  "selection": {
    "evals": [],
    "prompts": [],
    "models": [
      "echo"
    ],
    "case": "^[a-z]",
    "limit": 2,
    "repeat": null
  },
  "eval_hashes": {
    "greeting": "sha256:b087cfc0e563c27b667718b31e8a479154ee8d949ff7c6fc9dc7823d92f7be6c"
  }
}"#;

    #[test]
    fn plan_files_keep_their_bytes() {
        let file: PlanFile = serde_json::from_str(OLD_PLAN_FILE).unwrap();
        assert_eq!(
            file.selection,
            Selection {
                models: vec!["echo".into()],
                case: Some("^[a-z]".into()),
                limit: Some(2),
                ..Selection::default()
            }
        );
        assert_eq!(serde_json::to_string_pretty(&file).unwrap(), OLD_PLAN_FILE);
    }
}
