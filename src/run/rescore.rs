//! `prompteval rescore`: a stored run's outputs scored again with the evals' current
//! assertions, transforms, thresholds and gate, into a new run linked to it. No model is
//! called; judges call their grader, through the response cache.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use crate::analysis::baseline::Baseline;
use crate::config::project::Project;
use crate::diagnostic::{Diagnostic, ExitClass, Warning};
use crate::gate::GateOverrides;
use crate::plan::{self, Plan, PlanError, Selection};
use crate::provider::cache::{CacheError, CacheMode};
use crate::provider::{self, CacheCounters};
use crate::registry::Registry;
use crate::run::events::{CellResult, RunSink};
use crate::run::outcome::{CacheUse, Finished};
use crate::run::replay::Replay;
use crate::run::request::RunRequest;
use crate::run::rescore_match::{drop_judges, intersect, keep_scorer_providers};
use crate::run::session::{self, SessionError, SessionOptions};
use crate::store::{read_results, RunSettings, Store, StoreError, StoredRun};

/// What `prompteval rescore` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct RescoreRequest {
    /// The run whose outputs are scored again: an id, a unique prefix, or `latest`.
    pub run: String,
    /// The evals to rescore (names); empty: every eval of the run.
    pub evals: Vec<String>,
    /// `--no-judges`: leave out the assertions a judge model grades.
    pub no_judges: bool,
    /// Compare the new run with the source run (the default).
    pub compare: bool,
    /// `-j`: cells in flight at once (judges call out).
    pub jobs: Option<usize>,
    /// `--offline` or `--no-cache`, for the judges' calls.
    pub cache_mode: Option<CacheMode>,
    /// `--fail-under`, `--max-regression` and `--significance`.
    pub gate: GateOverrides,
}

/// A rescore that cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum RescoreError {
    /// The store cannot be read, or has no such run.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The source run's results cannot be read.
    #[error("failed to read the results of run {run_id}")]
    Results {
        /// The run.
        run_id: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An eval named on the command line that the run did not run.
    #[error("eval `{eval}` is not in run {run_id} (it ran {})", evals.join(", "))]
    NotInRun {
        /// As given.
        eval: String,
        /// The run.
        run_id: String,
        /// The evals it ran.
        evals: Vec<String>,
    },
    /// The project, its prompts, datasets or evals (one or many problems).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The cache settings.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The run and the evals as they are now share no cell.
    #[error("nothing to rescore: run {run_id} and the evals as they are now share no cell ({})", skipped.join("; "))]
    NothingShared {
        /// The run.
        run_id: String,
        /// What was left out, and why.
        skipped: Vec<String>,
    },
    /// The new run started but could not finish.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl Diagnostic for RescoreError {
    fn hint(&self) -> Option<String> {
        match self {
            RescoreError::Store(e) => e.hint(),
            RescoreError::Plan(e) => e.hint(),
            RescoreError::Cache(e) => e.hint(),
            RescoreError::Session(e) => e.hint(),
            RescoreError::NotInRun { eval, .. } => Some(format!(
                "name one of the evals above, or run `{eval}` with `prompteval run {eval}`"
            )),
            RescoreError::NothingShared { .. } => Some(
                "rescore scores the outputs a run stored; new prompts, models or cases need `prompteval run`".into(),
            ),
            RescoreError::Results { .. } => None,
        }
    }

    fn exit_class(&self) -> ExitClass {
        match self {
            RescoreError::Plan(e) => e.exit_class(),
            RescoreError::Store(e) => e.exit_class(),
            RescoreError::Session(e) => e.exit_class(),
            RescoreError::Results { .. } => ExitClass::Runtime,
            RescoreError::NotInRun { .. }
            | RescoreError::Cache(_)
            | RescoreError::NothingShared { .. } => ExitClass::Input,
        }
    }

    fn problems(&self) -> Option<Vec<&dyn Diagnostic>> {
        match self {
            RescoreError::Plan(e) => e.problems(),
            _ => None,
        }
    }
}

/// A rescore ready to run: the plan trimmed to the cells the source run stored.
pub struct PreparedRescore<'p> {
    project: &'p Project,
    request: RescoreRequest,
    source: StoredRun,
    results: Vec<CellResult>,
    selection: Selection,
    plan: Plan,
    replay: Replay,
    warnings: Vec<Warning>,
    skipped: Vec<String>,
    judges: BTreeMap<String, usize>,
    cache: CacheUse,
}

/// Loads the source run, plans its evals as they are now (with the run's own selection:
/// filters, `--prompt`, `--model`), and keeps the cells both share.
pub fn prepare_rescore(
    project: &Project,
    registry: Registry,
    request: RescoreRequest,
) -> Result<PreparedRescore<'_>, RescoreError> {
    let source = Store::new(project.store_dir()).load(&request.run)?;
    let run_id = source.record.run_id.clone();
    let ran: Vec<String> = source.record.evals.iter().map(|e| e.name.clone()).collect();
    for eval in &request.evals {
        if !ran.contains(eval) {
            return Err(RescoreError::NotInRun {
                eval: eval.clone(),
                run_id,
                evals: ran,
            });
        }
    }
    let mut selection = source.plan().ok().flatten().map(|f| f.selection);
    let mut selection = selection.take().unwrap_or_default();
    selection.evals = if request.evals.is_empty() {
        ran
    } else {
        request.evals.clone()
    };
    let runner = RunRequest {
        jobs: request.jobs,
        cache_mode: request.cache_mode,
        ..RunRequest::default()
    };
    let cache = runner.cache(project)?;
    let build: &plan::BuildProvider = if cache.mode == CacheMode::Offline {
        &provider::build_offline
    } else {
        &provider::build
    };
    let (mut plan, warnings) = plan::plan_with(project, &registry, &selection, build)?;
    let judges = if request.no_judges {
        drop_judges(&mut plan)
    } else {
        BTreeMap::new()
    };
    keep_scorer_providers(&mut plan);
    let counters: Arc<CacheCounters> =
        provider::wrap_providers(&mut plan.providers, &plan.provider_configs, &cache);
    let results = read_stored(&source)?;
    let (replay, skipped) = intersect(&plan, &source.record, results.clone());
    if replay.is_empty() {
        return Err(RescoreError::NothingShared { run_id, skipped });
    }
    Ok(PreparedRescore {
        project,
        request,
        source,
        results,
        selection,
        plan,
        replay,
        warnings,
        skipped,
        judges,
        cache: CacheUse {
            dir: cache.dir,
            counters,
        },
    })
}

/// Every stored result of `run`, in file order.
fn read_stored(run: &StoredRun) -> Result<Vec<CellResult>, RescoreError> {
    let err = |source| RescoreError::Results {
        run_id: run.record.run_id.clone(),
        source,
    };
    read_results(&run.results_path())
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)
}

impl PreparedRescore<'_> {
    /// What the project's files should say differently (unknown keys, say).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The source run.
    pub fn source(&self) -> &StoredRun {
        &self.source
    }

    /// How many stored cells are scored again.
    pub fn cells(&self) -> usize {
        self.replay.len()
    }

    /// What is left out of the rescore, one sentence each (prompts, models or cases on
    /// one side only), and the plan's own notes.
    pub fn skipped(&self) -> impl Iterator<Item = &String> {
        self.plan.notes.iter().chain(&self.skipped)
    }

    /// The judge assertions `--no-judges` left out, by type.
    pub fn judges_skipped(&self) -> &BTreeMap<String, usize> {
        &self.judges
    }

    /// Scores the stored outputs again into a new run (recording the source run's id),
    /// compared with the source run unless the request says not to; the session stores
    /// every cell and decides the gate. Call it from the future given to `block_on`.
    pub async fn run(
        self,
        sinks: &mut [&mut dyn RunSink],
        cancel: impl Future<Output = ()>,
    ) -> Result<Finished, RescoreError> {
        let PreparedRescore {
            project,
            request,
            source,
            results,
            selection,
            plan,
            replay,
            cache,
            ..
        } = self;
        let concurrency = RunRequest {
            jobs: request.jobs,
            ..RunRequest::default()
        }
        .concurrency(project);
        let before = &source.record.settings;
        let settings = RunSettings {
            concurrency,
            limit: before.limit,
            case_filter: before.case_filter.clone(),
            fail_under: request.gate.fail_under.or(before.fail_under),
            rescored_from: Some(source.record.run_id.clone()),
            ..RunSettings::default()
        };
        let baseline = request.compare.then(|| Baseline {
            reference: "the rescored run".into(),
            record: source.record.clone(),
            results,
            passed_over: 0,
            production: Default::default(),
        });
        let options = SessionOptions {
            settings,
            selection,
            baseline: baseline.as_ref(),
            gate: request.gate,
            replay: Some(Arc::new(replay)),
        };
        let result = session::run(project, plan, &options, None, sinks, cancel).await?;
        Ok(Finished {
            run: result.run,
            interrupted: result.outcome.interrupted,
            comparison: result.comparison.map(Arc::new),
            cache,
        })
    }
}
