//! `prompteval run`: flags → a [`RunRequest`] → the pipeline → tables, files, exit code.

use super::failing_cell::FailingCells;
use super::show::{
    append_step_summary, output_formats, print_run_with, write_outputs_with, Outputs,
};
use super::{load, Context};
use crate::analysis::baseline::BaselineRef;
use crate::cli::args::{ProgressChoice, RunArgs};
use crate::cli::diagnostics::{self, Exit};
use crate::cli::progress::{Progress, ProgressMode};
use crate::config::project::Project;
use crate::gate::GateOverrides;
use crate::provider::cache::CacheMode;
use crate::run::events::RunSink;
use crate::run::request::{check_gate, check_jobs, RequestError};
use crate::run::{
    self, Finished, Notice, Outcome, PipelineError, Prepared, ResumeTarget, RunRequest, Verdict,
};
use crate::store::RunStatus;

impl RunArgs {
    /// The library's request: the flags (and `PROMPTEVAL_JOBS`) as given, checked.
    pub(super) fn to_request(&self) -> Result<RunRequest, RequestError> {
        let gate = GateOverrides {
            fail_under: self.fail_under,
            max_regression: self.max_regression,
            significance: self.significance,
        };
        check_gate(&gate)?;
        check_jobs(self.jobs)?;
        Ok(RunRequest {
            selection: self.select.to_selection(),
            resume: self.resume.as_deref().map(target),
            retry_errors: self.retry_errors.as_deref().map(target),
            jobs: self.jobs,
            cache_mode: if self.offline {
                Some(CacheMode::Offline)
            } else if self.no_cache {
                Some(CacheMode::Off)
            } else {
                None
            },
            cache_ttl: self.cache_ttl.clone(),
            gate,
            baseline: self.baseline.clone(),
            changed_since: self.changed_since.clone(),
            shard: self.shard.as_deref().map(str::parse).transpose()?,
        })
    }
}

/// The run `--resume` or `--retry-errors` names (none: the newest one).
fn target(id: &str) -> ResumeTarget {
    match id {
        "" => ResumeTarget::Newest,
        id => ResumeTarget::Run(id.to_string()),
    }
}

/// Runs the selected evals.
pub(crate) fn run(ctx: &Context, args: RunArgs) -> Exit {
    if args.watch {
        return super::watch::session(ctx, args);
    }
    let outputs = match output_formats(&args.outputs) {
        Ok(o) => o,
        Err(e) => return diagnostics::report(&e),
    };
    let request = match args.to_request() {
        Ok(r) => r,
        Err(e) => return fail(&e.into()),
    };
    let (project, registry) = match load(ctx) {
        Ok(loaded) => loaded,
        Err(e) => return diagnostics::report(&e),
    };
    let prepared = match run::prepare(&project, registry, request) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    diagnostics::warnings(prepared.warnings());
    // A bad tracking URI is a configuration error: stop before any model is called.
    let mlflow = match super::mlflow::for_run(&args.mlflow, &project) {
        Ok(s) => s.map(crate::mlflow::Client::new),
        Err(e) => return diagnostics::report(&e),
    };
    if !ctx.quiet {
        for note in prepared.notes() {
            errln!("note: {note}");
        }
    }
    let mode = if ctx.quiet {
        ProgressMode::Off
    } else {
        progress_mode(&args)
    };
    let mut failing = FailingCells::new(prepared.plan());
    let finished = match execute(prepared, mode, ctx.verbose, &mut failing) {
        Ok(Outcome::Ran(finished)) => finished,
        Ok(Outcome::NothingChanged { rev, skipped }) => {
            errln!("nothing changed since {rev}: no eval to run ({skipped} skipped)");
            return Exit::Success;
        }
        Err(exit) => return exit,
    };
    if let Err(exit) = report(ctx, &args, &outputs, &finished) {
        return exit;
    }
    if !ctx.quiet {
        stored(&project, &finished);
        let failing = failing.of(&finished.run);
        for line in closing_lines(&finished, &failing, ctx.width.into()) {
            errln!("{line}");
        }
    }
    // The local record is written; MLflow comes after, and its failure is reported after
    // the run's own verdict.
    let tracked = mlflow.as_ref().map_or(Ok(()), |client| {
        let options = super::mlflow::tracking_options(&args.mlflow, &project);
        super::mlflow::log(client, &finished.run, &options)
    });
    let verdict = verdict(&finished);
    match tracked {
        Ok(()) => verdict,
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
    }
}

/// Runs the prepared plan on a fresh runtime, with a progress bar and Ctrl-C or SIGTERM
/// as the cancel signal, printing notices as they come.
pub(super) fn execute(
    prepared: Prepared<'_>,
    mode: ProgressMode,
    verbose: bool,
    failing: &mut FailingCells,
) -> Result<Outcome, Exit> {
    execute_until(prepared, mode, verbose, stop_requested, Some(failing))
}

/// [`execute`], cancelled when the future `cancel` makes (inside the runtime, so signal
/// handlers it installs are in place before the run starts) resolves.
pub(super) fn execute_until<F: std::future::Future<Output = ()>>(
    prepared: Prepared<'_>,
    mode: ProgressMode,
    verbose: bool,
    cancel: impl FnOnce() -> F,
    failing: Option<&mut FailingCells>,
) -> Result<Outcome, Exit> {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Err(diagnostics::unexpected(&e));
        }
    };
    let mut progress = Progress::new(mode).log_retries(verbose);
    // The handlers are installed inside the runtime, before the run starts.
    let outcome = runtime.block_on(async {
        let cancel = cancel();
        let mut sinks: Vec<&mut dyn RunSink> = vec![&mut progress];
        sinks.extend(failing.map(|f| f as &mut dyn RunSink));
        prepared.run(&mut notice, &mut sinks, cancel).await
    });
    // Dropping the runtime now ends every request still in flight.
    drop(runtime);
    outcome.map_err(|e| fail(&e))
}

/// The progress mode the flags ask for.
pub(super) fn progress_mode(args: &RunArgs) -> ProgressMode {
    if args.no_progress {
        return ProgressMode::Off;
    }
    match args.progress {
        ProgressChoice::Auto => ProgressMode::auto(),
        ProgressChoice::Bar => ProgressMode::Bar,
        ProgressChoice::Plain => ProgressMode::Plain,
        ProgressChoice::Off => ProgressMode::Off,
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM (CI cancellation, `timeout`, `docker stop`):
/// both stop the run cleanly, keeping the cells that finished. The handlers are installed
/// when this is called, so a signal that arrives before the future is first polled still
/// counts. A handler that cannot be installed leaves that signal to its default.
#[cfg(unix)]
pub(super) fn stop_requested() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn recv(s: Option<Signal>) {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async move {
        tokio::select! {
            () = recv(interrupt) => {}
            () = recv(terminate) => {}
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub(super) fn stop_requested() -> impl std::future::Future<Output = ()> {
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Prints a pipeline error with its causes and hint; returns its exit status.
fn fail(err: &PipelineError) -> Exit {
    diagnostics::report(err)
}

/// Prints what the pipeline says before the run starts.
pub(super) fn notice(notice: Notice<'_>) {
    match notice {
        Notice::Change { change, .. } if change.changed() => {
            errln!(
                "running eval {}: {}",
                change.eval,
                change.reasons.join("; ")
            );
        }
        Notice::Change { rev, change } => errln!(
            "skipped eval {}: none of its prompts, partials, dataset, eval file or provider settings changed since {rev}",
            change.eval
        ),
        Notice::Baseline {
            run_id,
            reference,
            status,
            passed_over,
        } => baseline_notice(run_id, reference, status, passed_over),
        Notice::NoBaseline { evals, unfinished } => {
            let skipped = match unfinished {
                0 => String::new(),
                1 => " (1 stored run did not finish)".into(),
                n => format!(" ({n} stored runs did not finish)"),
            };
            errln!(
                "baseline latest: no earlier finished run of {}{skipped}; nothing to compare, the gate's thresholds alone judge this run",
                evals.join(", ")
            );
        }
        Notice::Resuming {
            run_id,
            finished,
            total,
        } => errln!("resuming run {run_id}: {finished} of {total} cells already finished"),
        Notice::Retrying {
            run_id,
            kept,
            total,
        } => errln!(
            "retrying run {run_id}: {} of {total} cells run again, {kept} kept",
            total - kept.min(total)
        ),
    }
}

/// `baseline: run ID (latest: the newest finished run of these evals; 1 newer run passed
/// over)`, and a warning for a named baseline that did not finish.
fn baseline_notice(run_id: &str, reference: &BaselineRef, status: RunStatus, passed_over: usize) {
    let how = match reference {
        BaselineRef::Latest => "latest: the newest finished run of these evals".to_string(),
        BaselineRef::Git(rev) => {
            format!("git:{rev}: the newest finished run of these evals at {rev} or an ancestor")
        }
        other => other.to_string(),
    };
    let over = match passed_over {
        0 => String::new(),
        1 => "; 1 newer run passed over".into(),
        n => format!("; {n} newer runs passed over"),
    };
    errln!("baseline: run {run_id} ({how}{over})");
    if status != RunStatus::Finished {
        errln!(
            "warning: baseline run {run_id} did not finish ({}): only the cells it reached are compared",
            format!("{status:?}").to_lowercase()
        );
    }
}

/// Prints the tables and writes the report files (and the GitHub step summary).
pub(super) fn report(
    ctx: &Context,
    args: &RunArgs,
    outputs: &Outputs,
    finished: &Finished,
) -> Result<(), Exit> {
    let (run, comparison) = (&finished.run, finished.comparison.as_ref());
    let max_rows = (!args.no_matrix).then_some(args.max_rows);
    if let Err(e) = print_run_with(ctx, run, max_rows, comparison.map(|c| &**c)) {
        diagnostics::print(&e);
    }
    pairing_notes(comparison.map(|c| &**c));
    if let Some(appended) = append_step_summary(&run.record, run, comparison) {
        match appended {
            Ok(path) => errln!("appended the Markdown summary to {}", path.display()),
            Err(e) => diagnostics::print(&e),
        }
    }
    match write_outputs_with(&run.record, run, outputs, comparison) {
        Ok(written) => {
            for path in written {
                errln!("wrote {}", path.display());
            }
            Ok(())
        }
        Err(e) => Err(diagnostics::report(&e)),
    }
}

/// Prints how the cache was used, where the run is stored, and which shard it holds.
pub(super) fn stored(project: &Project, finished: &Finished) {
    let cache = finished.cache.counts();
    if cache.used() {
        errln!(
            "cache: {} responses served from {}, {} requests sent, {} stored{}",
            cache.hits,
            project.relative(&finished.cache.dir).display(),
            cache.misses,
            cache.stores,
            if cache.offline_misses > 0 {
                format!(", {} offline misses", cache.offline_misses)
            } else {
                String::new()
            }
        );
    }
    let record = &finished.run.record;
    errln!(
        "run {} stored in {}",
        record.run_id,
        project.relative(&finished.run.dir).display()
    );
    if let Some(shard) = record.settings.shard {
        errln!(
            "shard {shard}: {} of the plan's cells; `prompteval runs merge` joins the shards' runs",
            record.total_cells
        );
    }
}

/// The run's total time and speed, then the next commands that apply to it; each
/// command's description is left out when one of them would not fit in `columns`.
fn closing_lines(finished: &Finished, failing: &FailingCells, columns: usize) -> Vec<String> {
    let record = &finished.run.record;
    let id = &record.run_id;
    let ms = record.duration_ms.unwrap_or(0.0);
    let what = if finished.interrupted {
        format!(
            "stopped after {} of {} cells",
            record.completed_cells, record.total_cells
        )
    } else {
        format!("finished {} cells", record.completed_cells)
    };
    let mut steps = Vec::new();
    if finished.interrupted {
        steps.push((
            format!("prompteval run --resume {id}"),
            "run the missing cells",
        ));
    }
    if record.summary.iter().any(|r| r.failed + r.errors > 0) {
        let which = failing
            .flags(&finished.run)
            .unwrap_or_else(|| "--case CASE".into());
        steps.push((
            format!("prompteval runs show {id} {which}"),
            "one failing cell in full",
        ));
    }
    steps.push((
        format!("prompteval report {id} --html report.html"),
        "models compared: quality, latency, cost",
    ));
    let width = steps.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    let mut lines = vec![
        format!("{what} in {}", took(ms, record.completed_cells)),
        "next:".into(),
    ];
    // All or none: one described line among bare ones would be padded for nothing.
    let fits = steps
        .iter()
        .all(|(_, why)| 2 + width + 3 + why.chars().count() <= columns);
    lines.extend(steps.into_iter().map(|(cmd, why)| match fits {
        true => format!("  {cmd:width$}   {why}"),
        false => format!("  {cmd}"),
    }));
    lines
}

/// `1.25s (4.0 cells/s)`, or `3ms` for a run too short for a rate to mean anything (an
/// echo run said "0.00s (8777.7 cells/s)").
fn took(ms: f64, cells: usize) -> String {
    if ms < 10.0 {
        return match ms < 1.0 {
            true => "<1ms".into(),
            false => format!("{ms:.0}ms"),
        };
    }
    let secs = ms / 1000.0;
    let rate = cells as f64 / secs;
    match secs < 1.0 {
        true => format!("{ms:.0}ms ({rate:.1} cells/s)"),
        false => format!("{secs:.2}s ({rate:.1} cells/s)"),
    }
}

/// The exit status of a finished run, with a line saying why it is not a gate result.
pub(super) fn verdict(finished: &Finished) -> Exit {
    let record = &finished.run.record;
    match finished.verdict() {
        Verdict::Interrupted => {
            errln!(
                "interrupted: {} of {} cells finished and were kept; `prompteval run --resume {}` finishes the run",
                record.completed_cells, record.total_cells, record.run_id
            );
            Exit::Runtime
        }
        Verdict::Errors(errors) => {
            errln!(
                "error: {errors} cells could not be scored (provider or render errors); see the ERROR cells above"
            );
            Exit::Runtime
        }
        Verdict::GateFailed => Exit::GateFailed,
        Verdict::Passed => Exit::Success,
    }
}

/// Says which baseline row a version the baseline never ran was compared with.
fn pairing_notes(comparison: Option<&crate::analysis::baseline::Comparison>) {
    for row in comparison.into_iter().flat_map(|c| &c.rows) {
        if let Some(how) = &row.pairing {
            errln!(
                "compared {} on {} with {how}: the baseline did not run {}",
                row.prompt,
                row.model,
                row.prompt
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::took;

    /// An echo run said "finished 6 cells in 0.00s (8777.7 cells/s)".
    #[test]
    fn a_run_of_a_millisecond_said_zero_seconds() {
        assert_eq!(took(0.4, 6), "<1ms");
        assert_eq!(took(3.2, 6), "3ms");
        assert_eq!(took(250.0, 5), "250ms (20.0 cells/s)");
        assert_eq!(took(2500.0, 5), "2.50s (2.0 cells/s)");
    }
}
