//! `prompteval run`: plan → run → tables → report files → exit code.

use std::sync::atomic::Ordering;

use super::show::{output_formats, print_run, write_outputs};
use super::{load, Context};
use crate::cli::args::{RunArgs, SelectArgs};
use crate::cli::diagnostics::{self, Exit};
use crate::cli::progress::Progress;
use crate::error::Error;
use crate::provider;
use crate::response_cache::{CacheError, CacheMode, CacheSettings};
use crate::resume::{self, ResumeError, RunSelection};
use crate::session::{self, SessionOptions};
use crate::spec;
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
    if let Some(rate) = args.fail_under {
        if !(0.0..=1.0).contains(&rate) {
            eprintln!("error: --fail-under must be between 0 and 1, got {rate}");
            return Exit::Input;
        }
    }
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
                },
                None => args.select.clone(),
            };
            let selection = selection_args.to_selection()?;
            let build: &spec::BuildProvider = if cache.mode == CacheMode::Offline {
                &provider::build_offline
            } else {
                &provider::build
            };
            let (mut plan, warnings) = spec::plan_with(&project, &registry, &selection, build)?;
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
                plan,
                warnings,
                resuming,
                selection_args,
                counters,
                cache.dir,
            ))
        });
    let (project, plan, warnings, resuming, selection_args, counters, cache_dir) = match planned {
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
    for note in &plan.notes {
        eprintln!("note: {note}");
    }

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
        },
    };
    if let Some(r) = &resuming {
        eprintln!(
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
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            diagnostics::other(&e, e.hint());
            return Exit::Runtime;
        }
    };

    let max_rows = (!args.no_matrix).then_some(args.max_rows);
    if let Err(e) = print_run(ctx, &result.run, max_rows) {
        diagnostics::other(&e, e.hint());
    }
    match write_outputs(&result.run.record, &result.run, &outputs) {
        Ok(written) => {
            for path in written {
                eprintln!("wrote {}", path.display());
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
        eprintln!(
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
    eprintln!(
        "run {} stored in {}",
        record.run_id,
        project.relative(&result.run.dir).display()
    );
    if result.outcome.interrupted {
        eprintln!(
            "interrupted: {} of {} cells finished and were kept",
            record.completed_cells, record.total_cells
        );
        return Exit::Runtime;
    }
    let errors = result.errors();
    if errors > 0 {
        eprintln!(
            "error: {errors} cells could not be scored (provider or render errors); see the ERROR cells above"
        );
        return Exit::Runtime;
    }
    match &record.gate {
        Some(g) if !g.passed => Exit::GateFailed,
        _ => Exit::Success,
    }
}
