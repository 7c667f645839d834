//! One run from a validated plan to a stored record and its verdict (see `docs/pipeline.md`).

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::analysis::baseline::{compare, Baseline, BaselineError, Comparison};
use crate::analysis::summary::SummaryBuilder;
use crate::config::project::Project;
use crate::diagnostic::{Diagnostic, ExitClass};
use crate::gate::{self, GateOverrides};
use crate::plan::{Plan, Selection};
use crate::provider::ProviderError;
use crate::run::events::{CellResult, RunEvent, RunSink};
use crate::run::replay::Replay;
use crate::run::resume;
use crate::run::{self, CellKey, RunError, RunOptions, RunOutcome};
use crate::store::{
    self, EvalInfo, PromptInfo, RunRecord, RunSettings, RunStatus, RunWriter, Store, StoreError,
    StoredRun, RECORD_VERSION,
};

/// Settings of a run that are not in the plan.
#[derive(Clone, Debug, Default)]
pub struct SessionOptions<'a> {
    /// Recorded settings (concurrency, filters, fail-under).
    pub settings: RunSettings,
    /// The selection as given, kept in the run's `plan.json` for `--resume`.
    pub selection: Selection,
    /// The run to compare with; the comparison is an input of the gate.
    pub baseline: Option<&'a Baseline>,
    /// The gate's rules from the command line. `fail_under` is taken from the recorded
    /// settings, so a resumed run keeps the threshold it started with.
    pub gate: GateOverrides,
    /// Stored answers to score again instead of calling the models (`rescore`).
    pub replay: Option<Arc<Replay>>,
}

/// A stored run to complete instead of starting a new one (`run --resume`).
#[derive(Debug)]
pub struct Resume {
    /// The run, as loaded.
    pub run: StoredRun,
    /// The cells it finished, each once.
    pub done: Vec<CellResult>,
    /// Whether the results file is rewritten with `done` only before the missing cells
    /// run (`run --retry-errors`: the error cells it drops run again).
    pub rewrite: bool,
}

/// A finished (or interrupted) run.
#[derive(Debug)]
pub struct SessionResult {
    /// The stored run (record with summary and verdict, and its results file).
    pub run: StoredRun,
    /// How the runner ended.
    pub outcome: RunOutcome,
    /// The comparison with the baseline, when there was one (also in `comparison.json`).
    pub comparison: Option<Comparison>,
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
    /// A tool handler could not get ready (an MCP server did not start); no request was
    /// sent.
    #[error("{location}: the handler of tool `{tool}` could not start; the failed run is recorded in {}", dir.display())]
    HandlerStart {
        /// Where the handler is written.
        location: Box<crate::diagnostic::Location>,
        /// The tool it serves.
        tool: String,
        /// The run directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: crate::agent::ToolFailure,
    },
    /// An MCP server whose tools a version offers (`tools: [{mcp: NAME}]`) could not list
    /// them; no request was sent.
    #[error("{location}: MCP server `{server}` could not list its tools; the failed run is recorded in {}", dir.display())]
    ServerList {
        /// Where the server is written.
        location: Box<crate::diagnostic::Location>,
        /// Its name.
        server: String,
        /// The run directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: crate::agent::ToolFailure,
    },
    /// The tools a server lists do not fit a version that offers them (none, a name twice,
    /// a bad schema); no request was sent.
    #[error("{location}: {reference}: {problem}; the failed run is recorded in {}", dir.display())]
    ServerTools {
        /// The version's `{mcp: NAME}` entry, or the row that adds tools.
        location: Box<crate::diagnostic::Location>,
        /// The version (and case).
        reference: String,
        /// What is wrong.
        problem: Box<crate::tools::listed::ListedProblem>,
        /// The run directory.
        dir: PathBuf,
    },
    /// The finished run could not be compared with its baseline; the run is recorded
    /// with the verdict of its thresholds.
    #[error(transparent)]
    Compare(BaselineError),
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

impl Diagnostic for SessionError {
    /// The run started: whatever stopped it, it could not finish; but tools a server
    /// lists that do not fit the version are the user's configuration, found before any
    /// request.
    fn exit_class(&self) -> ExitClass {
        match self {
            SessionError::ServerTools { .. } => ExitClass::Input,
            _ => ExitClass::Runtime,
        }
    }

    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            SessionError::Start { provider, .. } => Some(format!(
                "check the settings of provider `{provider}` in prompteval.yaml (`binary`, `model_path`, `startup_timeout`) and the server output above"
            )),
            SessionError::HandlerStart { .. } => Some(
                "check the handler's settings under `tool_handlers:` and its output above".into(),
            ),
            SessionError::ServerList { server, .. } => Some(format!(
                "check the settings of `mcp_servers.{server}` and the server's output above"
            )),
            SessionError::ServerTools { problem, .. } => problem.hint(),
            SessionError::Compare(e) => e.hint(),
            SessionError::Run {
                source: RunError::Dataset(e),
                ..
            } => e.hint(),
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
    options: &SessionOptions<'_>,
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
        total_cells: match &options.replay {
            None => run::planned_cells(plan, options.settings.shard),
            Some(replay) => run::replayed_cells(plan, options.settings.shard, replay),
        },
        completed_cells: 0,
        summary: Vec::new(),
        gate: None,
    }
}

/// Starts every provider of `plan`, one after the other, then every tool handler unless
/// the cells are replayed (`rescore` calls no tool), then lists the tools of the MCP
/// servers the versions offer (replayed cells too: their tool-call assertions read the
/// tools offered); the first failure stops.
async fn start_providers(plan: &mut Plan, handlers: bool) -> Result<(), Stopped> {
    for (name, provider) in &plan.providers {
        provider
            .start()
            .await
            .map_err(|e| Stopped::Start(name.clone(), e))?;
    }
    if handlers {
        super::agent::start_handlers(plan)
            .await
            .map_err(|(tool, location, e)| Stopped::Handler(tool, location, e))?;
    }
    super::server_tools::list_server_tools(plan)
        .await
        .map_err(Stopped::Listed)
}

/// Runs `plan` (or completes the stored run `resuming`: only the cells it lacks run, and
/// they are appended to its results), storing everything under the project's store, and
/// ends with a summary, the comparison with `options.baseline` and the gate's verdict over
/// every cell, written once into `run.json`. `sinks` (a progress bar, say) see every event
/// after the store has. When resuming, the caller has checked that `plan` is the run's
/// plan ([`resume::check`]).
///
/// Every provider is started ([`crate::provider::Provider::start`]) before the first
/// request, on the calling task: call this from the future given to `block_on`, so local
/// servers are spawned by the thread that lives for the whole run; so is every tool
/// handler ([`crate::agent::ToolHandler::start`]), once, after the providers. A provider or
/// handler that fails to start fails the run (record status `failed`); `cancel` resolving
/// while they start ends the run as interrupted with no cells.
pub async fn run(
    project: &Project,
    plan: Plan,
    options: &SessionOptions<'_>,
    resuming: Option<Resume>,
    sinks: &mut [&mut dyn RunSink],
    cancel: impl Future<Output = ()>,
) -> Result<SessionResult, SessionError> {
    let Opened {
        run_id,
        dir,
        mut record,
        mut writer,
        done,
    } = open(project, &plan, options, resuming)?;
    let previous_ms = record.duration_ms.unwrap_or(0.0);
    let mut summary = summary_of(&plan, &done);
    let started = Instant::now();
    let outcome = execute(
        plan,
        options,
        &run_id,
        &done,
        &mut writer,
        &mut summary,
        sinks,
        cancel,
    )
    .await;
    record.finished_at = Some(now());
    record.duration_ms = Some(previous_ms + started.elapsed().as_secs_f64() * 1000.0);
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(stopped) => return Err(failed(stopped, &mut record, writer, summary, dir)),
    };
    record.summary = summary.finish();
    record.completed_cells = done.len() + outcome.completed;
    let comparison = if outcome.interrupted {
        // An unfinished run has no verdict (and no comparison to base one on): its
        // record says how far it got, and `--resume` finishes it.
        record.status = RunStatus::Interrupted;
        writer.finish(&record, None)?;
        None
    } else {
        record.status = RunStatus::Finished;
        judge(&mut record, writer, options)?
    };
    Ok(SessionResult {
        run: StoredRun { dir, record },
        outcome,
        comparison,
    })
}

/// Records a run whose cells stopped before they could end on their own as failed (with
/// the summary of the cells that finished, when the runner itself failed), and returns
/// the error that says why.
fn failed(
    stopped: Stopped,
    record: &mut RunRecord,
    writer: RunWriter,
    summary: SummaryBuilder,
    dir: PathBuf,
) -> SessionError {
    if let Stopped::Run(_) = stopped {
        record.summary = summary.finish();
        record.completed_cells = record.summary.iter().map(|r| r.cases as usize).sum();
    }
    record.status = RunStatus::Failed;
    if let Err(e) = writer.finish(record, None) {
        return e.into();
    }
    match stopped {
        Stopped::Start(provider, source) => SessionError::Start {
            provider,
            dir,
            source,
        },
        Stopped::Handler(tool, location, source) => SessionError::HandlerStart {
            location: Box::new(location),
            tool,
            dir,
            source,
        },
        Stopped::Listed(listed) => listed.into_error(dir),
        Stopped::Run(source) => SessionError::Run { dir, source },
    }
}

/// The summary of a run's plan, with every row declared in plan order and the cells a
/// resumed run had finished already added.
fn summary_of(plan: &Plan, done: &[CellResult]) -> SummaryBuilder {
    let mut summary = SummaryBuilder::new();
    for eval in &plan.evals {
        for p in &eval.prompts {
            for m in &eval.models {
                summary.declare(&eval.name, &p.version.reference(), m);
            }
        }
        if eval.repeat == 1 {
            summary.unrepeated(&eval.name);
        }
    }
    for cell in done {
        summary.add(cell);
    }
    summary
}

/// Why the cells stopped before the runner could end on its own.
enum Stopped {
    /// A provider could not start (its name, and why); no cell ran.
    Start(String, ProviderError),
    /// A tool handler could not start (its tool, where it is written, and why); no cell
    /// ran.
    Handler(
        String,
        crate::diagnostic::Location,
        crate::agent::ToolFailure,
    ),
    /// The tools of an MCP server could not be listed or do not fit; no cell ran.
    Listed(super::server_tools::ListError),
    /// The runner failed.
    Run(RunError),
}

/// Starts the providers, then runs the cells `done` lacks into `writer`, `summary` and
/// `sinks`. Consumes the plan: the providers (and their servers) are dropped before it
/// returns, on every path.
#[allow(clippy::too_many_arguments)]
async fn execute(
    mut plan: Plan,
    options: &SessionOptions<'_>,
    run_id: &str,
    done: &[CellResult],
    writer: &mut RunWriter,
    summary: &mut SummaryBuilder,
    sinks: &mut [&mut dyn RunSink],
    cancel: impl Future<Output = ()>,
) -> Result<RunOutcome, Stopped> {
    tokio::pin!(cancel);
    let start = tokio::select! {
        biased;
        () = &mut cancel => None,
        result = start_providers(&mut plan, options.replay.is_none()) => Some(result),
    };
    match start {
        Some(Ok(())) => {
            let run_options = RunOptions {
                concurrency: options.settings.concurrency,
                skip: Some(Arc::new(done.iter().map(CellKey::of).collect())),
                shard: options.settings.shard,
                replay: options.replay.clone(),
            };
            let mut summary_sink = SummarySink(summary);
            let mut all: Vec<&mut dyn RunSink> = vec![writer, &mut summary_sink];
            for s in sinks.iter_mut() {
                all.push(&mut **s);
            }
            run::execute(Arc::new(plan), &run_options, run_id, &mut all, cancel)
                .await
                .map_err(Stopped::Run)
        }
        Some(Err(stopped)) => Err(stopped),
        None => Ok(RunOutcome {
            completed: 0,
            interrupted: true,
        }),
    }
}

/// A run directory ready for cells: new, or a stored run reopened to complete.
struct Opened {
    run_id: String,
    dir: PathBuf,
    record: RunRecord,
    writer: RunWriter,
    done: Vec<CellResult>,
}

/// Creates the run directory with its record and plan file, or reopens the run to resume.
fn open(
    project: &Project,
    plan: &Plan,
    options: &SessionOptions<'_>,
    resuming: Option<Resume>,
) -> Result<Opened, SessionError> {
    Ok(match resuming {
        None => {
            let store = Store::new(project.store_dir());
            let run_id = run::new_run_id();
            let dir = store.create_run(&run_id)?;
            let mut record = initial_record(project, plan, &run_id, options);
            record.settings.plan_hash = Some(crate::plan::shard::plan_hash(&record));
            store::write_plan(
                &dir,
                &resume::plan_file(&project.root, plan, &options.selection),
            )?;
            let writer = RunWriter::create(&dir, &record)?;
            Opened {
                run_id,
                dir,
                record,
                writer,
                done: Vec::new(),
            }
        }
        Some(Resume { run, done, rewrite }) => {
            let mut record = run.record;
            record.status = RunStatus::Running;
            record.gate = None;
            let writer = if rewrite {
                RunWriter::rewrite(&run.dir, &record, &done)?
            } else {
                RunWriter::resume(&run.dir, &record)?
            };
            Opened {
                run_id: record.run_id.clone(),
                dir: run.dir,
                record,
                writer,
                done,
            }
        }
    })
}

/// Compares the finished run with its baseline (reading back the results just written),
/// decides the gate over thresholds and regression rules at once, and writes the final
/// record (and the comparison) through the store.
fn judge(
    record: &mut RunRecord,
    mut writer: RunWriter,
    options: &SessionOptions<'_>,
) -> Result<Option<Comparison>, SessionError> {
    let overrides = GateOverrides {
        fail_under: record.settings.fail_under,
        ..options.gate
    };
    let verdict = |record: &RunRecord, comparison: Option<&Comparison>| {
        gate::judge(
            |eval| record.gate_config(eval),
            &record.summary,
            comparison,
            &overrides,
        )
    };
    let comparison = match options.baseline {
        None => None,
        Some(baseline) => {
            writer.sync()?;
            match compare(baseline, record, &writer) {
                Ok(comparison) => Some(comparison),
                Err(source) => {
                    // The run itself is complete: keep it with the verdict of its
                    // thresholds, and say why the comparison is missing.
                    record.gate = Some(verdict(record, None));
                    writer.finish(record, None)?;
                    return Err(SessionError::Compare(source));
                }
            }
        }
    };
    record.gate = Some(verdict(record, comparison.as_ref()));
    writer.finish(record, comparison.as_ref())?;
    Ok(comparison)
}
