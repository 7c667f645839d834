//! The run record (`run.json`): what was run, with what, and how it ended.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analysis::summary::SummaryRow;
use crate::gate::{GateConfig, GateVerdict};
use crate::provider::ProviderConfig;

/// The version of the run record format; bumped on incompatible changes.
pub const RECORD_VERSION: u32 = 1;

/// How a run ended (or that it has not yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Still running, or the process died.
    Running,
    /// Every cell finished.
    Finished,
    /// Stopped by Ctrl-C; finished cells are kept.
    Interrupted,
    /// Stopped by an error.
    Failed,
}

/// The commit the run was made at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    /// `git rev-parse HEAD`.
    pub commit: String,
    /// Whether the work tree had uncommitted changes.
    pub dirty: bool,
}

/// A prompt version as run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptInfo {
    /// As written in the eval (`sentiment@production`).
    pub requested: String,
    /// As resolved (`sentiment@2`).
    pub reference: String,
    /// The version file.
    pub path: String,
    /// Its content hash.
    pub hash: String,
}

/// One eval as run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalInfo {
    /// The eval's name (file stem).
    pub name: String,
    /// The eval file.
    pub path: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The dataset file.
    pub dataset: String,
    /// The dataset's content hash.
    pub dataset_hash: String,
    /// Cases selected from the dataset.
    pub cases: usize,
    /// Repeats per case.
    pub repeat: u32,
    /// The prompts.
    pub prompts: Vec<PromptInfo>,
    /// The models (provider names).
    pub models: Vec<String>,
    /// The gate thresholds.
    pub gate: GateConfig,
}

/// Settings the run was made with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Cells in flight at once.
    pub concurrency: usize,
    /// `--limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// `--case`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_filter: Option<String>,
    /// `--fail-under`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_under: Option<f64>,
    /// `--shard K/N`: this run holds only the cells of one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::plan::shard::Shard>,
    /// [`crate::plan::shard::plan_hash`] of the run: shard records merge only when it matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_hash: Option<String>,
    /// The shard runs this run was merged from (`prompteval runs merge`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// The run whose stored outputs this run scored again (`prompteval rescore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescored_from: Option<String>,
}

/// `run.json`: everything about a run but the per-cell results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`RECORD_VERSION`].
    pub version: u32,
    /// The run id (`20261127-031502-a1b2`).
    pub run_id: String,
    /// How it ended.
    pub status: RunStatus,
    /// RFC 3339 start time (UTC).
    pub started_at: String,
    /// RFC 3339 end time (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Wall time in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// The prompteval version that made it.
    pub prompteval_version: String,
    /// The git commit, when the project is in a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitInfo>,
    /// Settings.
    pub settings: RunSettings,
    /// The providers used, by name (API key variable names only, never keys).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// The evals.
    pub evals: Vec<EvalInfo>,
    /// Cells planned.
    pub total_cells: usize,
    /// Cells finished.
    pub completed_cells: usize,
    /// One row per eval × prompt × model.
    pub summary: Vec<SummaryRow>,
    /// The gate's verdict: `null` unless the run finished (an unfinished run is not
    /// judged). Read it through [`RunRecord::verdict`], which also ignores the verdict that
    /// records written before 0.1 gave interrupted runs.
    #[serde(default)]
    pub gate: Option<GateVerdict>,
}

impl RunRecord {
    /// The gate's verdict, for a finished run only: an interrupted, failed or still
    /// running run has none, whatever its record says.
    pub fn verdict(&self) -> Option<&GateVerdict> {
        self.gate
            .as_ref()
            .filter(|_| self.status == RunStatus::Finished)
    }

    /// Why an unfinished run has no verdict, and how to finish it: `not judged:
    /// interrupted after 8 of 40 cells — `prompteval run --resume ID` to finish`. `None`
    /// for a finished run.
    pub fn not_judged(&self) -> Option<String> {
        let how = match self.status {
            RunStatus::Finished => return None,
            RunStatus::Interrupted => "interrupted after",
            RunStatus::Failed => "failed after",
            RunStatus::Running => "did not finish (still running, or its process died):",
        };
        Some(format!(
            "not judged: {how} {} of {} cells — `prompteval run --resume {}` to finish",
            self.completed_cells, self.total_cells, self.run_id
        ))
    }

    /// The gate settings of one of the run's evals (the defaults for an eval it lacks).
    pub fn gate_config(&self, eval: &str) -> GateConfig {
        self.evals
            .iter()
            .find(|e| e.name == eval)
            .map(|e| e.gate.clone())
            .unwrap_or_default()
    }
}
