//! `prompteval run`: plan → run → tables → report files → exit code.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::show::{append_step_summary, output_formats, print_run_with, write_outputs_with};
use super::{load, Context};
use crate::analysis::baseline::{self, BaselineRef};
use crate::cli::args::{RunArgs, SelectArgs};
use crate::cli::diagnostics::{self, Exit};
use crate::cli::progress::Progress;
use crate::error::Error;
use crate::gate::GateOverrides;
use crate::plan;
use crate::plan::changed;
use crate::provider;
use crate::provider::cache::{CacheError, CacheMode, CacheSettings};
use crate::run::resume::{self, ResumeError, RunSelection};
use crate::run::session::{self, SessionOptions};
use crate::store::{RunSettings, Store};

/// Why a run could not start: the plan, the run to resume, or the cache settings.
enum ResumeFailure {
    Plan(Error),
    Resume(ResumeError),
    Cache(CacheError),
}

impl From<Error> for ResumeFailure {
    fn from(e: Error) -> Self {
        ResumeFailure::Plan(e)
    }
}

impl From<ResumeError> for ResumeFailure {
    fn from(e: ResumeError) -> Self {
        ResumeFailure::Resume(e)
    }
}

/// Default cells in flight when neither `-j`, `PROMPTEVAL_JOBS` nor the config says.
const DEFAULT_JOBS: usize = 16;

/// Runs the selected evals.
pub(crate) fn run(ctx: &Context, args: RunArgs) -> Exit {
    let outputs = match output_formats(&args.outputs) {
        Ok(o) => o,
        Err(e) => {
            diagnostics::other(&e, e.hint());
            return Exit::Input;
        }
    };
    for (flag, value, low_open) in [
        ("--fail-under", args.fail_under, false),
        ("--max-regression", args.max_regression, false),
        ("--significance", args.significance, true),
    ] {
        if let Some(v) = value {
            if !(0.0..=1.0).contains(&v) || (low_open && (v <= 0.0 || v >= 1.0)) {
                let range = if low_open {
                    "strictly between 0 and 1"
                } else {
                    "between 0 and 1"
                };
                errln!("error: {flag} must be {range}, got {v}");
                return Exit::Input;
            }
        }
    }
    let shard = match args
        .shard
        .as_deref()
        .map(str::parse::<crate::plan::shard::Shard>)
    {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            diagnostics::other(
                &e,
                Some("`--shard 1/4` runs the first of four slices".into()),
            );
            return Exit::Input;
        }
    };
    let planned = load(ctx)
        .map_err(ResumeFailure::from)
        .and_then(|(project, registry)| {
            let cache = CacheSettings::resolve(
                &project.root,
                &project.store_dir(),
                &project.config.cache,
                if args.offline {
                    Some(CacheMode::Offline)
                } else if args.no_cache {
                    Some(CacheMode::Off)
                } else {
                    None
                },
                args.cache_ttl.as_deref(),
            )
            .map_err(ResumeFailure::Cache)?;
            let resuming = match args.resume.as_deref() {
                None => None,
                Some(id) => {
                    let store = Store::new(project.store_dir());
                    let id = (!id.is_empty()).then_some(id);
                    let run = resume::find_run(&store, id)?;
                    let file = resume::read_plan_file(&run)?;
                    Some((run, file))
                }
            };
            let selection_args = match &resuming {
                Some((_, file)) => SelectArgs {
                    evals: file.selection.evals.clone(),
                    prompts: file.selection.prompts.clone(),
                    models: file.selection.models.clone(),
                    case: file.selection.case.clone(),
                    limit: file.selection.limit,
                    repeat: file.selection.repeat,
                },
                None => args.select.clone(),
            };
            let selection = selection_args.to_selection()?;
            let build: &plan::BuildProvider = if cache.mode == CacheMode::Offline {
                &provider::build_offline
            } else {
                &provider::build
            };
            let (mut plan, warnings) = plan::plan_with(&project, &registry, &selection, build)?;
            let counters =
                provider::wrap_providers(&mut plan.providers, &plan.provider_configs, &cache);
            let resuming = match resuming {
                None => None,
                Some((run, file)) => {
                    resume::check(&project.root, &run, &file, &plan)?;
                    let done = resume::finished_cells(&run)?;
                    Some(session::Resume { run, done })
                }
            };
            Ok::<_, ResumeFailure>((
                project,
                registry,
                plan,
                warnings,
                resuming,
                selection_args,
                counters,
                cache.dir,
            ))
        });
    let (project, registry, mut plan, warnings, resuming, selection_args, counters, cache_dir) =
        match planned {
            Ok(p) => p,
            Err(ResumeFailure::Plan(e)) => return diagnostics::error(&e),
            Err(ResumeFailure::Resume(e)) => {
                diagnostics::other(&e, e.hint());
                return Exit::Input;
            }
            Err(ResumeFailure::Cache(e)) => {
                diagnostics::other(&e, e.hint());
                return Exit::Input;
            }
        };
    diagnostics::warnings(&warnings);
    // A bad tracking URI is a configuration error: stop before any model is called.
    let mlflow_client = match super::mlflow::for_run(&args.mlflow, &project) {
        Ok(s) => s.map(crate::mlflow::Client::new),
        Err(e) => {
            diagnostics::other(&e, e.hint());
            return Exit::Input;
        }
    };
    let tracking = super::mlflow::tracking_options(&args.mlflow, &project);
    for note in &plan.notes {
        errln!("note: {note}");
    }
    if let Some(rev) = &args.changed_since {
        let changes = match changed::changed_evals(&project, &registry, &plan, rev) {
            Ok(c) => c,
            Err(e) => {
                diagnostics::other(&e, e.hint());
                return Exit::Input;
            }
        };
        for change in &changes {
            if change.changed() {
                errln!(
                    "running eval {}: {}",
                    change.eval,
                    change.reasons.join("; ")
                );
            } else {
                errln!(
                    "skipped eval {}: none of its prompts, partials, dataset, eval file or provider settings changed since {rev}",
                    change.eval
                );
            }
        }
        let keep: Vec<String> = changes
            .iter()
            .filter(|c| c.changed())
            .map(|c| c.eval.clone())
            .collect();
        if keep.is_empty() {
            errln!(
                "nothing changed since {rev}: no eval to run ({} skipped)",
                changes.len()
            );
            return Exit::Success;
        }
        changed::restrict(&mut plan, &keep);
    }
    drop(registry);
    let baseline = match &args.baseline {
        None => None,
        Some(text) => {
            let cwd = std::env::current_dir().unwrap_or_else(|_| project.root.clone());
            let reference = BaselineRef::parse(text, &cwd);
            let evals: Vec<String> = plan.evals.iter().map(|e| e.name.clone()).collect();
            let store = Store::new(project.store_dir());
            match baseline::resolve(&store, &project.root, &reference, &evals) {
                Ok(b) => {
                    errln!("baseline: run {} ({reference})", b.record.run_id);
                    Some(b)
                }
                Err(e) => {
                    diagnostics::other(&e, e.hint());
                    return Exit::Input;
                }
            }
        }
    };

    let concurrency = args
        .jobs
        .or(project.config.defaults.concurrency)
        .unwrap_or(DEFAULT_JOBS)
        .max(1);
    let settings = match &resuming {
        Some(r) => RunSettings {
            concurrency,
            ..r.run.record.settings.clone()
        },
        None => RunSettings {
            concurrency,
            limit: args.select.limit,
            case_filter: args.select.case.clone(),
            fail_under: args.fail_under,
            shard,
            ..RunSettings::default()
        },
    };
    if let Some(r) = &resuming {
        errln!(
            "resuming run {}: {} of {} cells already finished",
            r.run.record.run_id,
            r.done.len(),
            plan.total_cells()
        );
    }
    let options = SessionOptions {
        settings,
        selection: RunSelection {
            evals: selection_args.evals,
            prompts: selection_args.prompts,
            models: selection_args.models,
            case: selection_args.case,
            limit: selection_args.limit,
            repeat: selection_args.repeat,
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            diagnostics::other(&e, None);
            return Exit::Runtime;
        }
    };
    let mut progress = Progress::new(!args.no_progress);
    let result = runtime.block_on(async {
        let cancel = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        match resuming {
            Some(r) => {
                session::resume(&project, plan, &options, r, &mut [&mut progress], cancel).await
            }
            None => session::run(&project, plan, &options, &mut [&mut progress], cancel).await,
        }
    });
    // Dropping the runtime now ends every request still in flight.
    drop(runtime);
    let mut result = match result {
        Ok(r) => r,
        Err(e) => {
            diagnostics::other(&e, e.hint());
            return Exit::Runtime;
        }
    };
    let comparison = match &baseline {
        None => None,
        Some(b) => {
            let overrides = GateOverrides {
                max_regression: args.max_regression,
                significance: args.significance,
            };
            match baseline::finish_run(&mut result.run, b, &overrides) {
                Ok(c) => Some(Arc::new(c)),
                Err(e) => {
                    diagnostics::other(&e, e.hint());
                    return Exit::Runtime;
                }
            }
        }
    };

    let max_rows = (!args.no_matrix).then_some(args.max_rows);
    if let Err(e) = print_run_with(ctx, &result.run, max_rows, comparison.as_deref()) {
        diagnostics::other(&e, e.hint());
    }
    if let Some(appended) =
        append_step_summary(&result.run.record, &result.run, comparison.as_ref())
    {
        match appended {
            Ok(path) => errln!("appended the Markdown summary to {}", path.display()),
            Err(e) => diagnostics::other(&e, e.hint()),
        }
    }
    match write_outputs_with(
        &result.run.record,
        &result.run,
        &outputs,
        comparison.as_ref(),
    ) {
        Ok(written) => {
            for path in written {
                errln!("wrote {}", path.display());
            }
        }
        Err(e) => {
            diagnostics::other(&e, e.hint());
            return Exit::Runtime;
        }
    }
    let record = &result.run.record;
    let hits = counters.hits.load(Ordering::Relaxed);
    let offline_misses = counters.offline_misses.load(Ordering::Relaxed);
    if hits + counters.misses.load(Ordering::Relaxed) + offline_misses > 0 {
        errln!(
            "cache: {hits} responses served from {}, {} requests sent, {} stored{}",
            project.relative(&cache_dir).display(),
            counters.misses.load(Ordering::Relaxed),
            counters.stores.load(Ordering::Relaxed),
            if offline_misses > 0 {
                format!(", {offline_misses} offline misses")
            } else {
                String::new()
            }
        );
    }
    errln!(
        "run {} stored in {}",
        record.run_id,
        project.relative(&result.run.dir).display()
    );
    if let Some(shard) = record.settings.shard {
        errln!(
            "shard {shard}: {} of the plan's cells; `prompteval runs merge` joins the shards' runs",
            record.total_cells
        );
    }
    // The local record is written; MLflow comes after, and its failure is reported after
    // the run's own verdict below.
    let tracked = match &mlflow_client {
        Some(client) => super::mlflow::log(client, &result.run, &tracking),
        None => Ok(()),
    };
    let verdict = verdict(&result);
    match tracked {
        Err(exit) => {
            let own = match verdict {
                Exit::Success => "every gate held",
                Exit::GateFailed => "a quality gate FAILED",
                _ => "the run did not finish",
            };
            errln!(
                "error: the run's own verdict ({own}) stands, but it could not be logged to MLflow (exit 3)"
            );
            exit
        }
        Ok(()) => verdict,
    }
}

/// The exit status of a finished run: interrupted or errored cells, else the gate.
fn verdict(result: &session::SessionResult) -> Exit {
    let record = &result.run.record;
    if result.outcome.interrupted {
        errln!(
            "interrupted: {} of {} cells finished and were kept",
            record.completed_cells,
            record.total_cells
        );
        return Exit::Runtime;
    }
    let errors = result.errors();
    if errors > 0 {
        errln!(
            "error: {errors} cells could not be scored (provider or render errors); see the ERROR cells above"
        );
        return Exit::Runtime;
    }
    match &record.gate {
        Some(g) if !g.passed => Exit::GateFailed,
        _ => Exit::Success,
    }
}
