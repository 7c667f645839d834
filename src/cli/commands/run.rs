//! `prompteval run`: plan → run → tables → report files → exit code.

use std::sync::Arc;

use super::show::{append_step_summary, output_formats, print_run_with, write_outputs_with};
use super::{load, Context};
use crate::baseline::{self, BaselineRef, GateOverrides};
use crate::changed;
use crate::cli::args::RunArgs;
use crate::cli::diagnostics::{self, Exit};
use crate::cli::progress::Progress;
use crate::error::Error;
use crate::session::{self, SessionOptions};
use crate::spec;
use crate::store::RunSettings;
use crate::store::Store;

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
                eprintln!("error: {flag} must be {range}, got {v}");
                return Exit::Input;
            }
        }
    }
    let planned = load(ctx).and_then(|(project, registry)| {
        let selection = args.select.to_selection()?;
        let (plan, warnings) = spec::plan(&project, &registry, &selection)?;
        Ok::<_, Error>((project, registry, plan, warnings))
    });
    let (project, registry, mut plan, warnings) = match planned {
        Ok(p) => p,
        Err(e) => return diagnostics::error(&e),
    };
    diagnostics::warnings(&warnings);
    for note in &plan.notes {
        eprintln!("note: {note}");
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
                eprintln!(
                    "running eval {}: {}",
                    change.eval,
                    change.reasons.join("; ")
                );
            } else {
                eprintln!(
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
            eprintln!(
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
                    eprintln!("baseline: run {} ({reference})", b.record.run_id);
                    Some(b)
                }
                Err(e) => {
                    diagnostics::other(&e, e.hint());
                    return Exit::Input;
                }
            }
        }
    };

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
            Ok(path) => eprintln!("appended the Markdown summary to {}", path.display()),
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
