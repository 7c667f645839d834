//! `prompteval watch` and `run --watch`: run the selected evals, then re-run the affected
//! ones on every change to a file they use, each iteration compared with the previous one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::run::{execute_until, progress_mode, report, stored, verdict};
use super::show::{output_formats, Outputs};
use super::watch_files::FileWatcher;
use super::watch_quit::Quit;
use super::{load, Context};
use crate::cli::args::{ProgressChoice, RunArgs, WatchArgs};
use crate::cli::diagnostics::{self, Exit};
use crate::cli::progress::ProgressMode;
use crate::provider::llamacpp::KeepServers;
use crate::registry::Registry;
use crate::run::watch::{Baselines, Dependencies};
use crate::run::{self, Outcome};

impl WatchArgs {
    /// The same session as `run --watch` with these flags and run's defaults for the rest.
    fn into_run_args(self) -> RunArgs {
        RunArgs {
            select: self.select,
            jobs: self.jobs,
            outputs: Vec::new(),
            fail_under: None,
            baseline: None,
            max_regression: None,
            significance: None,
            changed_since: None,
            max_rows: self.max_rows,
            no_matrix: self.no_matrix,
            progress: ProgressChoice::Auto,
            no_progress: self.no_progress,
            no_cache: false,
            offline: false,
            cache_ttl: None,
            resume: None,
            retry_errors: None,
            shard: None,
            mlflow: Default::default(),
            watch: true,
            tuning: self.tuning,
        }
    }
}

/// `prompteval watch`.
pub(crate) fn watch(ctx: &Context, args: WatchArgs) -> Exit {
    session(ctx, args.into_run_args())
}

/// How one iteration ended.
enum Step {
    /// A run was stored: what its evals depend on, the registry it read, and the verdict.
    Ran {
        deps: Dependencies,
        registry: Box<Registry>,
        run_id: String,
        exit: Exit,
    },
    /// The project could not be planned or the run failed (the error is printed).
    Failed(Exit),
    /// Asked to quit during the run.
    Interrupted,
}

/// What the session knows between iterations.
struct State {
    /// The files of the last iteration that planned (or none yet), and its registry.
    deps: Dependencies,
    registry: Option<Registry>,
    /// The last iteration failed: the next change re-runs the whole selection.
    failed: bool,
    baselines: Baselines,
}

/// The watch session of `run --watch` and `prompteval watch`: runs, then re-runs on every
/// change until `q`, Ctrl-C or SIGTERM (or `--max-iterations`). A managed llama-server is
/// started once and stopped when the session ends, however it ends.
pub(super) fn session(ctx: &Context, args: RunArgs) -> Exit {
    let outputs = match output_formats(&args.outputs) {
        Ok(o) => o,
        Err(e) => return diagnostics::report(&e),
    };
    if let Err(e) = args.to_request() {
        return diagnostics::report(&run::PipelineError::from(e));
    }
    let (runtime, mut files) = match machinery() {
        Ok(m) => m,
        Err(exit) => return exit,
    };
    let quit = Quit::listen(&runtime);
    let root = match crate::config::project::Project::discover(&ctx.start) {
        Ok((project, _)) => project.root,
        Err(_) => ctx.start.clone(),
    };
    let ignored: Vec<PathBuf> = outputs.iter().filter_map(|(p, _)| absolute(p)).collect();
    // Declared after the runtime and the watcher, so it is dropped (servers stopped) first.
    let servers = KeepServers::new();
    let mut state = State {
        deps: Dependencies::none(&root),
        registry: None,
        failed: false,
        baselines: Baselines::default(),
    };
    watch_dirs(&mut files, &state.deps);
    let mut evals: Option<BTreeSet<String>> = None;
    let mut last = Exit::Success;
    for iteration in 1.. {
        if evals.is_none() {
            servers.mark();
        }
        let baseline = match iteration {
            1 => args.baseline.clone(),
            _ => state
                .baselines
                .for_evals(evals.as_ref())
                .map(str::to_string),
        };
        let step = once(ctx, &args, &outputs, evals.as_ref(), baseline, &quit);
        match state.took(step, evals.is_none(), &servers) {
            Some(exit) => last = exit,
            None => return Exit::Success,
        }
        if quit.reason().is_some() {
            return Exit::Success;
        }
        if args
            .tuning
            .max_iterations
            .is_some_and(|max| iteration >= max)
        {
            return last;
        }
        watch_dirs(&mut files, &state.deps);
        let waiting = wait(&runtime, &mut files, &state, &args, &ignored, &quit);
        let Some((next, changed)) = waiting else {
            return Exit::Success;
        };
        header(iteration + 1, next.as_ref(), &state, &changed);
        evals = next;
    }
    last
}

impl State {
    /// Takes in how an iteration ended (`full`: it ran the whole selection); its verdict,
    /// or `None` when it was interrupted.
    fn took(&mut self, step: Step, full: bool, servers: &KeepServers) -> Option<Exit> {
        match step {
            Step::Ran {
                deps,
                registry,
                run_id,
                exit,
            } => {
                if full {
                    servers.release_unused();
                }
                self.baselines.finished(deps.evals(), &run_id);
                match full {
                    // The whole selection ran: an eval that is gone is no longer watched.
                    true => self.deps = deps,
                    false => self.deps.merge(deps),
                }
                (self.registry, self.failed) = (Some(*registry), false);
                Some(exit)
            }
            Step::Failed(exit) => {
                self.failed = true;
                Some(exit)
            }
            Step::Interrupted => None,
        }
    }
}

/// The runtime that waits between iterations (and hears the signals) and the watcher.
fn machinery() -> Result<(tokio::runtime::Runtime, FileWatcher), Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| diagnostics::unexpected(&e))?;
    let files = FileWatcher::new().map_err(|e| {
        errln!("error: cannot watch the project's files: {e}");
        Exit::Runtime
    })?;
    Ok((runtime, files))
}

/// Prints `── iteration N: re-running EVALS (FILES)`.
fn header(iteration: usize, evals: Option<&BTreeSet<String>>, state: &State, changed: &[PathBuf]) {
    let what = match (evals, state.failed) {
        (Some(evals), _) => evals.iter().cloned().collect::<Vec<_>>().join(", "),
        (None, true) => "every selected eval".into(),
        (None, false) => state.deps.evals().collect::<Vec<_>>().join(", "),
    };
    let root = state.deps.root();
    let mut files: Vec<String> = changed
        .iter()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    if files.len() > 3 {
        let more = files.len() - 3;
        files.truncate(3);
        files.push(format!("{more} more"));
    }
    errln!(
        "── iteration {iteration}: re-running {what} ({})",
        files.join(", ")
    );
}

/// Points the watcher at the directories `deps` needs (and the project's, always).
fn watch_dirs(files: &mut FileWatcher, deps: &Dependencies) {
    for (dir, why) in files.watch(deps.watch_dirs()) {
        errln!("warning: cannot watch {}: {why}", dir.display());
    }
}

/// Says what is watched, then waits for a burst of changes that affects some eval: which
/// evals to re-run (`None`: the whole selection) and the files that changed. `None` when
/// the session is asked to quit or the watcher stops.
fn wait(
    runtime: &tokio::runtime::Runtime,
    files: &mut FileWatcher,
    state: &State,
    args: &RunArgs,
    ignored: &[PathBuf],
    quit: &Quit,
) -> Option<(Option<BTreeSet<String>>, Vec<PathBuf>)> {
    let watched = state.deps.files().len();
    let count = match watched {
        1 => "1 file".to_string(),
        n => format!("{n} files"),
    };
    match state.failed {
        true => errln!("watching {count}; fix the error to re-run (q to quit)"),
        false => errln!("watching {count}; edit a prompt to re-run (q to quit)"),
    }
    let quiet = Duration::from_millis(args.tuning.debounce_ms);
    let wanted = |p: &Path| state.deps.concerns(p) && !ignored.iter().any(|i| i == p);
    runtime.block_on(async {
        loop {
            let mut changed = tokio::select! {
                _ = quit.clone().requested() => return None,
                burst = files.burst(quiet, wanted) => burst?,
            };
            // A file written and renamed away within the burst (an editor's or sed's
            // temporary file) changed nothing.
            changed.retain(|p| p.exists() || state.deps.reads(p));
            if changed.is_empty() {
                continue;
            }
            if let Some(next) = decide(state, args, &changed) {
                return Some((next, changed));
            }
        }
    })
}

/// The evals a change re-runs: after a failed iteration, the whole selection; else the
/// affected evals (the whole selection when that is all of them), or `None` for a change
/// that affects none.
fn decide(state: &State, args: &RunArgs, changed: &[PathBuf]) -> Option<Option<BTreeSet<String>>> {
    let registry = match (&state.registry, state.failed) {
        (Some(registry), false) => registry,
        _ => return Some(None),
    };
    let deps = &state.deps;
    let mut hit = deps.affected(registry, changed);
    if !args.select.evals.is_empty() {
        // A new eval file is outside the evals named on the command line.
        hit.retain(|e| deps.runs(e));
    }
    if hit.is_empty() {
        return None;
    }
    let all = deps.evals().all(|e| hit.contains(e));
    Some((!all).then_some(hit))
}

/// One iteration: plan, run (compared with `baseline`), print, and say what to watch.
fn once(
    ctx: &Context,
    args: &RunArgs,
    outputs: &Outputs,
    evals: Option<&BTreeSet<String>>,
    baseline: Option<String>,
    quit: &Quit,
) -> Step {
    let (project, registry) = match load(ctx) {
        Ok(loaded) => loaded,
        Err(e) => return Step::Failed(diagnostics::report(&e)),
    };
    let mut request = match args.to_request() {
        Ok(r) => r,
        Err(e) => return Step::Failed(diagnostics::report(&run::PipelineError::from(e))),
    };
    if let Some(evals) = evals {
        request.selection.evals = evals.iter().cloned().collect();
    }
    request.baseline = baseline;
    let prepared = match run::prepare(&project, registry.clone(), request) {
        Ok(p) => p,
        Err(e) => return Step::Failed(diagnostics::report(&e)),
    };
    diagnostics::warnings(prepared.warnings());
    if !ctx.quiet {
        for note in prepared.notes() {
            errln!("note: {note}");
        }
    }
    let deps = Dependencies::of(&project, &registry, prepared.plan());
    let mode = match ctx.quiet {
        true => ProgressMode::Off,
        false => progress_mode(args),
    };
    let cancel = || async {
        quit.clone().requested().await;
    };
    let finished = match execute_until(prepared, mode, ctx.verbose, cancel, None) {
        Ok(Outcome::Ran(finished)) => finished,
        Ok(Outcome::NothingChanged { .. }) => return Step::Failed(Exit::Success),
        Err(exit) => return Step::Failed(exit),
    };
    if let Err(exit) = report(ctx, args, outputs, &finished) {
        return Step::Failed(exit);
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

/// `path` made absolute against the current directory, as the watcher reports paths.
fn absolute(path: &Path) -> Option<PathBuf> {
    std::path::absolute(path).ok()
}
