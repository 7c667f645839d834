//! The validated plan: evals with their prompts, models, rows and compiled assertions.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::dataset::Dataset;
use crate::gate::GateConfig;
use crate::provider::{Provider, ProviderConfig};
use crate::registry::{Params, PromptVersion};
use crate::score::{Assertion, Transform};
use crate::template::TemplateSet;

/// A prompt version in a plan.
#[derive(Clone, Debug)]
pub struct PlannedPrompt {
    /// As written in the eval or on the command line.
    pub requested: String,
    /// The resolved version.
    pub version: Arc<PromptVersion>,
}

/// One eval, ready to run.
pub struct EvalPlan {
    /// The eval's name (file stem).
    pub name: String,
    /// The eval file, relative to the root.
    pub path: PathBuf,
    /// Its description.
    pub description: Option<String>,
    /// The dataset (all rows).
    pub dataset: Arc<Dataset>,
    /// The selected rows (`rows[i]`, `rows.len()`, `rows.iter()`), indexes into `dataset`.
    pub rows: super::Rows,
    /// The prompt versions.
    pub prompts: Vec<PlannedPrompt>,
    /// The model (provider) names.
    pub models: Vec<String>,
    /// Request params per prompt × model: provider defaults overlaid by the version's.
    pub params: Vec<Vec<Params>>,
    /// Assertions of the eval.
    pub assertions: Vec<Assertion>,
    /// Extra assertions per selected row (same index as `rows`); empty when no row has
    /// any, so that rows without them cost nothing ([`EvalPlan::row_asserts`] reads it).
    pub row_assertions: Vec<Vec<Assertion>>,
    /// The conversation of each selected row (same index as `rows`): `None` for a row that
    /// plays the prompt once (see `run/conversation.rs`); empty when no row plays one.
    pub conversations: Vec<Option<Arc<super::PlannedConversation>>>,
    /// The tools of the rows that add some (see [`EvalPlan::tool_set`]).
    pub(crate) row_tools: super::tools::RowTools,
    /// Repeats per case.
    pub repeat: u32,
    /// Case threshold on the weighted score, if any (a row's own `threshold` wins).
    pub threshold: Option<f64>,
    /// The eval's `transform`, applied to every output before its assertions.
    pub transform: Option<Transform>,
    /// The gate thresholds.
    pub gate: GateConfig,
    /// The judge of model-graded assertions that name none (eval, else project default).
    pub grader: Option<String>,
    /// The embeddings provider of `similar` assertions that name none.
    pub embedder: Option<String>,
    /// Providers the scorers call (graders, embedders), besides `models`.
    pub scorer_models: Vec<String>,
    /// Who runs the model's tool calls (`tool_handlers:`); `None` when the eval gives no
    /// handlers, and its cells stop at the model's first answer.
    pub handlers: Option<Arc<crate::agent::HandlerSet>>,
    /// The most model calls one agent loop makes (`max_steps:`, default
    /// [`DEFAULT_MAX_STEPS`]).
    pub max_steps: u32,
}

/// The model calls an agent loop makes at most when the eval does not say.
pub const DEFAULT_MAX_STEPS: u32 = 8;

impl EvalPlan {
    /// The `row`-th selected row's own assertions (none when it has none).
    pub fn row_asserts(&self, row: usize) -> &[Assertion] {
        self.row_assertions.get(row).map_or(&[], Vec::as_slice)
    }

    /// Cells in this eval.
    pub fn cells(&self) -> usize {
        self.rows.len() * self.prompts.len() * self.models.len() * self.repeat as usize
    }

    /// The files the eval runs besides those the plan names (its eval file, dataset, prompt
    /// versions, partials and tools): the scripts of its external scorers and of its `exec`
    /// tool handlers, as written, relative to the project root. A watch session re-runs the
    /// eval when one changes; another kind of such file is one more line here.
    pub fn dependency_files(&self) -> Vec<PathBuf> {
        let assertions = self
            .assertions
            .iter()
            .chain(self.row_assertions.iter().flatten());
        let mut files: Vec<PathBuf> = assertions
            .flat_map(|a| crate::score::scorer_files(a.spec()))
            .chain(self.handlers.iter().flat_map(|h| h.files()))
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

/// Everything a run needs, validated.
pub struct Plan {
    /// The evals.
    pub evals: Vec<EvalPlan>,
    /// Compiled templates of every prompt version and assertion value.
    pub templates: TemplateSet,
    /// The providers used, by name.
    pub providers: BTreeMap<String, Arc<dyn Provider>>,
    /// Their settings, for the run record.
    pub provider_configs: BTreeMap<String, ProviderConfig>,
    /// Notes about what was skipped (`--prompt` filtering).
    pub notes: Vec<String>,
    /// Run-wide scoring settings: project root, judge prompt overrides, external scorers.
    pub scoring: crate::score::ScoringSetup,
}

impl Plan {
    /// Cells in the whole plan.
    pub fn total_cells(&self) -> usize {
        self.evals.iter().map(EvalPlan::cells).sum()
    }
}
