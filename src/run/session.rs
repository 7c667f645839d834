//! One run from a validated plan to a stored record and a verdict: creates the run
//! directory, starts the providers, wires the store and the summary to the runner's
//! events, decides the gate.
//!
//! The plan owns the providers, and local providers own their model servers: the plan is
//! dropped before [`run`] returns, on every path (finished, interrupted, failed), so no
//! server outlives the run.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::analysis::summary::SummaryBuilder;
use crate::config::project::Project;
use crate::gate;
use crate::plan::Plan;
use crate::plan::Selection;
use crate::provider::ProviderError;
use crate::run::events::CellResult;
use crate::run::events::{RunEvent, RunSink};
use crate::run::resume;
use crate::run::{self, CellKey, RunError, RunOptions, RunOutcome};
use crate::store::{
    EvalInfo, PromptInfo, RunRecord, RunSettings, RunStatus, RunWriter, Store, StoreError,
    StoredRun, RECORD_VERSION,
};

/// Settings of a run that are not in the plan.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Recorded settings (concurrency, filters, fail-under).
    pub settings: RunSettings,
    /// The selection as given, kept in the run's `plan.json` for `--resume`.
    pub selection: Selection,
}

/// A stored run to complete instead of starting a new one (`run --resume`).
#[derive(Debug)]
pub struct Resume {
    /// The run, as loaded.
    pub run: StoredRun,
    /// The cells it finished, each once.
    pub done: Vec<CellResult>,
}

/// A finished (or interrupted) run.
#[derive(Debug)]
pub struct SessionResult {
    /// The stored run (record with summary and verdict, and its results file).
    pub run: StoredRun,
    /// How the runner ended.
    pub outcome: RunOutcome,
}

impl SessionResult {
    /// Cells that ended in an error.
    pub fn errors(&self) -> u64 {
        self.run.record.summary.iter().map(|r| r.errors).sum()
    }
}

/// A run that failed midway; the partial record is on disk.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The store could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A provider could not get ready (a local model server did not start); no request
    /// was sent.
    #[error("provider `{provider}` could not start; the failed run is recorded in {}", dir.display())]
    Start {
        /// The provider's name.
        provider: String,
        /// The run directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: ProviderError,
    },
    /// The runner failed.
    #[error("the run stopped early; finished cells are in {}", dir.display())]
    Run {
        /// The run directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: RunError,
    },
}

impl SessionError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SessionError::Start { provider, .. } => Some(format!(
                "check the settings of provider `{provider}` in prompteval.yaml (`binary`, `model_path`, `startup_timeout`) and the server output above"
            )),
            SessionError::Store(_) | SessionError::Run { .. } => None,
        }
    }
}

struct SummarySink<'a>(&'a mut SummaryBuilder);

impl RunSink for SummarySink<'_> {
    fn on_event(&mut self, event: &RunEvent<'_>) -> io::Result<()> {
        if let RunEvent::CellFinished { cell, .. } = event {
            self.0.add(cell);
        }
        Ok(())
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// The record a run starts with (status `running`, no summary yet).
pub fn initial_record(
    project: &Project,
    plan: &Plan,
    run_id: &str,
    options: &SessionOptions,
) -> RunRecord {
    RunRecord {
        version: RECORD_VERSION,
        run_id: run_id.to_string(),
        status: RunStatus::Running,
        started_at: now(),
        finished_at: None,
        duration_ms: None,
        prompteval_version: env!("CARGO_PKG_VERSION").to_string(),
        git: crate::config::git::info(&project.root),
        settings: options.settings.clone(),
        providers: plan.provider_configs.clone(),
        evals: plan
            .evals
            .iter()
            .map(|e| EvalInfo {
                name: e.name.clone(),
                path: e.path.display().to_string(),
                description: e.description.clone(),
                dataset: e.dataset.path.display().to_string(),
                dataset_hash: e.dataset.hash.clone(),
                cases: e.rows.len(),
                repeat: e.repeat,
                prompts: e
                    .prompts
                    .iter()
                    .map(|p| PromptInfo {
                        requested: p.requested.clone(),
                        reference: p.version.reference(),
                        path: p.version.path.display().to_string(),
                        hash: p.version.hash.clone(),
                    })
                    .collect(),
                models: e.models.clone(),
                gate: e.gate.clone(),
            })
            .collect(),
        total_cells: run::planned_cells(plan, options.settings.shard),
        completed_cells: 0,
        summary: Vec::new(),
        gate: None,
    }
}

/// Starts every provider of `plan`, one after the other; the first failure stops.
async fn start_providers(plan: &Plan) -> Result<(), (String, ProviderError)> {
    for (name, provider) in &plan.providers {
        provider.start().await.map_err(|e| (name.clone(), e))?;
    }
    Ok(())
}

/// Runs `plan`, storing everything under the project's store, and decides the gate.
/// `sinks` (a progress bar, say) see every event after the store has.
///
/// Every provider is started ([`crate::provider::Provider::start`]) before the first
/// request, on the calling task: call this from the future given to `block_on`, so local
/// servers are spawned by the thread that lives for the whole run. A provider that fails
/// to start fails the run (record status `failed`); `cancel` resolving while providers
/// start ends the run as interrupted with no cells.
pub async fn run(
    project: &Project,
    plan: Plan,
    options: &SessionOptions,
    sinks: &mut [&mut dyn RunSink],
    cancel: impl Future<Output = ()>,
) -> Result<SessionResult, SessionError> {
    run_or_resume(project, plan, options, None, sinks, cancel).await
}

/// Completes a stored run: runs only the cells `resume.done` lacks, appending to its
/// results, and ends with a summary and a verdict over every cell. The caller has checked
/// that `plan` is the run's plan ([`resume::check`]).
pub async fn resume(
    project: &Project,
    plan: Plan,
    options: &SessionOptions,
    resume: Resume,
    sinks: &mut [&mut dyn RunSink],
    cancel: impl Future<Output = ()>,
) -> Result<SessionResult, SessionError> {
    run_or_resume(project, plan, options, Some(resume), sinks, cancel).await
}

async fn run_or_resume(
    project: &Project,
    plan: Plan,
    options: &SessionOptions,
    resuming: Option<Resume>,
    sinks: &mut [&mut dyn RunSink],
    cancel: impl Future<Output = ()>,
) -> Result<SessionResult, SessionError> {
    let (run_id, dir, mut record, mut writer, done) = match resuming {
        None => {
            let store = Store::new(project.store_dir());
            let run_id = run::new_run_id();
            let dir = store.create_run(&run_id)?;
            let mut record = initial_record(project, &plan, &run_id, options);
            record.settings.plan_hash = Some(crate::plan::shard::plan_hash(&record));
            crate::store::write_plan(
                &dir,
                &resume::plan_file(&project.root, &plan, &options.selection),
            )?;
            let writer = RunWriter::create(&dir, &record)?;
            (run_id, dir, record, writer, Vec::new())
        }
        Some(Resume { run, done }) => {
            let mut record = run.record;
            record.status = RunStatus::Running;
            record.gate = None;
            let writer = RunWriter::resume(&run.dir, &record)?;
            (record.run_id.clone(), run.dir, record, writer, done)
        }
    };
    let previous_ms = record.duration_ms.unwrap_or(0.0);

    let mut summary = SummaryBuilder::new();
    for eval in &plan.evals {
        for p in &eval.prompts {
            for m in &eval.models {
                summary.declare(&eval.name, &p.version.reference(), m);
            }
        }
    }
    for cell in &done {
        summary.add(cell);
    }
    let skip: std::collections::HashSet<CellKey> = done.iter().map(CellKey::of).collect();
    let gates: BTreeMap<String, gate::GateConfig> = plan
        .evals
        .iter()
        .map(|e| (e.name.clone(), e.gate.clone()))
        .collect();

    let started = Instant::now();
    tokio::pin!(cancel);
    let start = tokio::select! {
        biased;
        () = &mut cancel => None,
        result = start_providers(&plan) => Some(result),
    };
    let outcome = match start {
        Some(Ok(())) => {
            let run_options = RunOptions {
                concurrency: options.settings.concurrency,
                skip: Some(Arc::new(skip)),
                shard: options.settings.shard,
            };
            let mut summary_sink = SummarySink(&mut summary);
            let mut all: Vec<&mut dyn RunSink> = vec![&mut writer, &mut summary_sink];
            for s in sinks.iter_mut() {
                all.push(&mut **s);
            }
            // `execute` consumes the plan: the providers (and their servers) are dropped
            // when it returns, whether it finished, was cancelled or failed.
            run::execute(Arc::new(plan), &run_options, &run_id, &mut all, cancel).await
        }
        Some(Err((provider, source))) => {
            drop(plan);
            record.finished_at = Some(now());
            record.duration_ms = Some(previous_ms + started.elapsed().as_secs_f64() * 1000.0);
            record.status = RunStatus::Failed;
            writer.finish(&record)?;
            return Err(SessionError::Start {
                provider,
                dir,
                source,
            });
        }
        None => {
            drop(plan);
            Ok(RunOutcome {
                completed: 0,
                interrupted: true,
            })
        }
    };

    record.finished_at = Some(now());
    record.duration_ms = Some(previous_ms + started.elapsed().as_secs_f64() * 1000.0);
    record.summary = summary.finish();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(source) => {
            record.status = RunStatus::Failed;
            writer.finish(&record)?;
            return Err(SessionError::Run { dir, source });
        }
    };
    record.completed_cells = done.len() + outcome.completed;
    record.status = if outcome.interrupted {
        RunStatus::Interrupted
    } else {
        RunStatus::Finished
    };
    record.gate = Some(gate::evaluate(
        |eval| gates.get(eval).cloned().unwrap_or_default(),
        &record.summary,
        options.settings.fail_under,
    ));
    writer.finish(&record)?;
    Ok(SessionResult {
        run: StoredRun { dir, record },
        outcome,
    })
}
