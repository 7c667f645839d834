//! `prompteval watch`: run the selected evals, then re-run the affected ones on every change
//! to a file they use, each iteration compared with the previous one.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult};
use tokio::sync::mpsc;

use super::run::{execute, stop_requested, stored, verdict};
use super::show::print_run_with;
use super::{load, Context};
use crate::cli::args::WatchArgs;
use crate::cli::diagnostics::{self, Exit};
use crate::registry::Registry;
use crate::run::watch::{relevant, Dependencies};
use crate::run::{self, Outcome, RunRequest};

/// How one iteration ended.
enum Step {
    /// A run was stored: what its evals depend on, and its id (the next baseline).
    Ran {
        deps: Dependencies,
        registry: Box<Registry>,
        run_id: String,
        exit: Exit,
    },
    /// The project could not be planned (the error is printed); the next change re-runs all.
    Failed(Exit),
    /// Ctrl-C or SIGTERM during the run.
    Interrupted,
}

/// Runs, then re-runs on every change until Ctrl-C, SIGTERM (or `--max-iterations`).
pub(crate) fn watch(ctx: &Context, args: WatchArgs) -> Exit {
    let waiter = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return diagnostics::unexpected(&e),
    };
    let mut deps: Option<Dependencies>;
    let (mut registry, mut baseline) = (None::<Registry>, None::<String>);
    let mut evals: Option<BTreeSet<String>> = None;
    let mut last = Exit::Success;
    for iteration in 1.. {
        match &evals {
            _ if iteration == 1 => {}
            Some(evals) => {
                let names: Vec<&str> = evals.iter().map(String::as_str).collect();
                errln!("── iteration {iteration}: re-running {}", names.join(", "));
            }
            None => errln!("── iteration {iteration}: re-running every selected eval"),
        }
        match once(ctx, &args, evals.as_ref(), baseline.as_deref()) {
            Step::Ran {
                deps: d,
                registry: r,
                run_id,
                exit,
            } => {
                (deps, registry, baseline, last) = (Some(d), Some(*r), Some(run_id), exit);
            }
            Step::Failed(exit) => (deps, last) = (None, exit),
            Step::Interrupted => return Exit::Success,
        }
        if args.max_iterations.is_some_and(|max| iteration >= max) {
            return last;
        }
        let ctx_root = match crate::config::project::Project::discover(&ctx.start) {
            Ok((project, _)) => project.root,
            Err(_) => ctx.start.clone(),
        };
        let watched = deps.clone().unwrap_or_default();
        let next = waiter.block_on(next_change(
            &ctx_root,
            &watched,
            args.debounce_ms,
            |changed| {
                match (&deps, &registry) {
                    (Some(deps), Some(registry)) => {
                        let mut hit = deps.affected(registry, changed);
                        if !args.select.evals.is_empty() {
                            // A new eval file is outside the evals named on the command line.
                            hit.retain(|e| deps.runs(e));
                        }
                        (!hit.is_empty()).then_some(Some(hit))
                    }
                    // The last iteration failed: any change re-runs the whole selection.
                    _ => Some(None),
                }
            },
        ));
        match next {
            Some(affected) => evals = affected,
            None => return Exit::Success,
        }
    }
    last
}

/// One iteration: plan, run (compared with `baseline`), print, and say what to watch.
fn once(
    ctx: &Context,
    args: &WatchArgs,
    evals: Option<&BTreeSet<String>>,
    baseline: Option<&str>,
) -> Step {
    let (project, registry) = match load(ctx) {
        Ok(loaded) => loaded,
        Err(e) => return Step::Failed(diagnostics::report(&e)),
    };
    let mut selection = args.select.to_selection();
    if let Some(evals) = evals {
        selection.evals = evals.iter().cloned().collect();
    }
    let request = RunRequest {
        selection,
        jobs: args.jobs,
        baseline: baseline.map(str::to_string),
        ..RunRequest::default()
    };
    let prepared = match run::prepare(&project, registry.clone(), request) {
        Ok(p) => p,
        Err(e) => return Step::Failed(diagnostics::report(&e)),
    };
    diagnostics::warnings(prepared.warnings());
    for note in prepared.notes() {
        errln!("note: {note}");
    }
    let deps = Dependencies::of(&project, &registry, prepared.plan());
    let mode = crate::cli::progress::ProgressMode::unless(args.no_progress);
    let finished = match execute(prepared, mode, false) {
        Ok(Outcome::Ran(finished)) => finished,
        Ok(Outcome::NothingChanged { .. }) => return Step::Failed(Exit::Success),
        Err(exit) => return Step::Failed(exit),
    };
    let max_rows = (!args.no_matrix).then_some(args.max_rows);
    let comparison = finished.comparison.as_deref();
    if let Err(e) = print_run_with(ctx, &finished.run, max_rows, comparison) {
        diagnostics::print(&e);
    }
    stored(&project, &finished);
    if finished.interrupted {
        return Step::Interrupted;
    }
    let exit = verdict(&finished);
    Step::Ran {
        deps,
        registry: Box::new(registry),
        run_id: finished.run.record.run_id.clone(),
        exit,
    }
}

/// Waits for a burst of saves that `decide` turns into a re-run (`Some(evals)`: those,
/// `Some(None)`: the whole selection); `None` on Ctrl-C or SIGTERM, or when the watcher
/// cannot start (said on stderr).
async fn next_change(
    root: &std::path::Path,
    deps: &Dependencies,
    debounce_ms: u64,
    mut decide: impl FnMut(&[PathBuf]) -> Option<Option<BTreeSet<String>>>,
) -> Option<Option<BTreeSet<String>>> {
    let (tx, mut rx) = mpsc::unbounded_channel::<DebounceEventResult>();
    let handler = move |result: DebounceEventResult| {
        let _ = tx.send(result);
    };
    let mut debouncer = match new_debouncer(Duration::from_millis(debounce_ms), handler) {
        Ok(d) => d,
        Err(e) => {
            errln!("error: cannot watch the project's files: {e}");
            return None;
        }
    };
    let mut dirs = deps.watch_dirs();
    for dir in ["prompts", "evals"] {
        dirs.entry(root.join(dir)).or_insert(true);
    }
    dirs.entry(root.to_path_buf()).or_insert(false);
    for (dir, recursive) in dirs.iter().filter(|(d, _)| d.is_dir()) {
        let mode = if *recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        if let Err(e) = debouncer.watcher().watch(dir, mode) {
            errln!("warning: cannot watch {}: {e}", dir.display());
        }
    }
    // Said once the watcher is in place, so a save after this line is never missed.
    match deps.files().len() {
        0 => errln!("watching the project; fix the error to re-run (Ctrl-C to quit)"),
        n => errln!("watching {n} files; edit a prompt to re-run (Ctrl-C to quit)"),
    }
    let stop = stop_requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return None,
            event = rx.recv() => {
                let Some(Ok(events)) = event else { continue };
                let changed: Vec<PathBuf> = events
                    .into_iter()
                    .map(|e| e.path)
                    .filter(|p| relevant(root, p))
                    .collect();
                if changed.is_empty() {
                    continue;
                }
                if let Some(next) = decide(&changed) {
                    return Some(next);
                }
            }
        }
    }
}
