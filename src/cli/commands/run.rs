//! `prompteval run`: plan → run → tables → report files → exit code.

use super::show::{output_formats, print_run, write_outputs};
use super::{load, Context};
use crate::cli::args::RunArgs;
use crate::cli::diagnostics::{self, Exit};
use crate::cli::progress::Progress;
use crate::error::Error;
use crate::session::{self, SessionOptions};
use crate::spec;
use crate::store::RunSettings;

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
    let shard = match args.shard.as_deref().map(str::parse::<crate::shard::Shard>) {
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
    let planned = load(ctx).and_then(|(project, registry)| {
        let selection = args.select.to_selection()?;
        let (plan, warnings) = spec::plan(&project, &registry, &selection)?;
        Ok::<_, Error>((project, plan, warnings))
    });
    let (project, plan, warnings) = match planned {
        Ok(p) => p,
        Err(e) => return diagnostics::error(&e),
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
        eprintln!("note: {note}");
    }

    let options = SessionOptions {
        settings: RunSettings {
            concurrency: args
                .jobs
                .or(project.config.defaults.concurrency)
                .unwrap_or(DEFAULT_JOBS)
                .max(1),
            limit: args.select.limit,
            case_filter: args.select.case.clone(),
            fail_under: args.fail_under,
            shard,
            ..RunSettings::default()
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
        session::run(&project, plan, &options, &mut [&mut progress], cancel).await
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
    eprintln!(
        "run {} stored in {}",
        record.run_id,
        project.relative(&result.run.dir).display()
    );
    if let Some(shard) = record.settings.shard {
        eprintln!(
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
            eprintln!(
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
