//! `prompteval runs list | show | rm | gc | merge | push`.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::show::{output_formats, print_run, print_run_with, write_outputs};
use super::Context;
use crate::cli::args::RunsCommand;
use crate::cli::diagnostics::{self, Exit};
use crate::config::project::Project;
use crate::store::{RunFilter, Store};

/// Lists or shows stored runs.
pub(crate) fn runs(ctx: &Context, cmd: RunsCommand) -> Exit {
    let project = match Project::discover(&ctx.start) {
        Ok((p, _)) => p,
        Err(e) => return diagnostics::report(&e),
    };
    let store = Store::new(project.store_dir());
    match cmd {
        RunsCommand::List { limit, filter } => list(ctx, &store, limit, &filter),
        RunsCommand::Show {
            id,
            case: Some(case),
            prompt,
            model,
            ..
        } => match store.load(&id) {
            Ok(run) => {
                let filter = super::cell::CellFilter {
                    case: &case,
                    prompt: prompt.as_deref(),
                    model: model.as_deref(),
                };
                super::cell::show_cells(&project, &run, &filter)
            }
            Err(e) => diagnostics::report(&e),
        },
        RunsCommand::Show {
            id,
            all,
            max_rows,
            summary_only,
            outputs,
            ..
        } => show(
            ctx,
            &store,
            &id,
            (!summary_only).then_some(if all { usize::MAX } else { max_rows }),
            &outputs,
        ),
        RunsCommand::Diff {
            a,
            b,
            max_cells,
            all,
        } => super::diff::diff(ctx, &store, &a, &b, max_cells, all),
        RunsCommand::Rm { ids } => remove(&store, &ids),
        RunsCommand::Gc { keep } => match store.gc(keep) {
            Ok(removed) => {
                let kept = store.run_ids().map(|i| i.len()).unwrap_or(0);
                outln!("removed {} runs; kept the newest {kept}", removed.len());
                Exit::Success
            }
            Err(e) => diagnostics::report(&e),
        },
        RunsCommand::Merge { ids } => merge(ctx, &project, &store, &ids),
        RunsCommand::Push {
            id,
            uri,
            experiment,
        } => {
            let mlflow = crate::cli::args::MlflowArgs {
                uri,
                disabled: false,
                experiment,
            };
            push(&project, &store, &id, &mlflow)
        }
    }
}

/// `runs list`: the stored runs, newest first, filtered.
fn list(
    ctx: &Context,
    store: &Store,
    limit: usize,
    filter: &crate::cli::args::RunFilterArgs,
) -> Exit {
    let filter = match run_filter(filter) {
        Ok(f) => f,
        Err(message) => {
            errln!("error: {message}");
            return Exit::Input;
        }
    };
    let filtered = (filter.eval.is_some()
        || filter.prompt.is_some()
        || filter.model.is_some()
        || filter.since.is_some())
    .then_some(&filter);
    let ids = match store.run_ids() {
        Ok(ids) => ids,
        Err(e) => return diagnostics::report(&e),
    };
    if ids.is_empty() {
        outln!("no runs yet; `prompteval run` makes one");
        return Exit::Success;
    }
    let ids: Vec<String> = match filtered {
        None => ids,
        Some(f) => ids
            .into_iter()
            .filter(|id| store.load(id).is_ok_and(|r| f.matches(&r.record)))
            .collect(),
    };
    if ids.is_empty() {
        outln!("no stored run matches the filters");
        return Exit::Success;
    }
    let mut table = Table::new();
    // The table fits the terminal: long cells wrap, the run id (the key) never does.
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(ctx.width);
    // The run id already says when it started (UTC): below 100 columns the start time
    // is left out rather than wrapped.
    let started = ctx.width >= 100;
    let keep = |mut row: Vec<String>| {
        if !started && row.len() > 1 {
            row.remove(1);
        }
        row
    };
    table.set_header(keep(
        [
            "run",
            "started",
            "status",
            "evals",
            "cells",
            "pass rate",
            "gate",
        ]
        .map(String::from)
        .to_vec(),
    ));
    for id in ids.iter().take(limit) {
        let row = match store.load(id) {
            Ok(run) => list_row(&run.record),
            Err(e) => vec![id.clone(), String::new(), format!("unreadable: {e}")],
        };
        table.add_row(keep(row));
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        // The run id, status, cells, pass rate and gate never wrap; evals may.
        let evals = if started { 3 } else { 2 };
        if i != evals {
            column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
        }
    }
    outln!("{table}");
    if ids.len() > limit {
        outln!("… {} older runs not shown (--limit)", ids.len() - limit);
    }
    Exit::Success
}

/// One line of `runs list`: id, start, status, evals, cells, pass rate and gate.
fn list_row(r: &crate::store::RunRecord) -> Vec<String> {
    let (passed, scored) = r.summary.iter().fold((0, 0), |(p, s), row| {
        (p + row.passed, s + row.passed + row.failed)
    });
    vec![
        r.run_id.clone(),
        r.started_at.clone(),
        match (r.settings.shard, r.settings.merged_from.len()) {
            (Some(shard), _) => format!("{:?} (shard {shard})", r.status).to_lowercase(),
            (None, n) if n > 0 => format!("{:?} (merged {n})", r.status).to_lowercase(),
            _ => format!("{:?}", r.status).to_lowercase(),
        },
        r.evals
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        format!("{}/{}", r.completed_cells, r.total_cells),
        if scored == 0 {
            "—".into()
        } else {
            format!("{:.1}%", passed as f64 * 100.0 / scored as f64)
        },
        list_gate(r),
    ]
}

/// The gate column of `runs list`: an unfinished run is not judged, and a finished run
/// with errored cells (exit 3) says so beside its verdict.
fn list_gate(r: &crate::store::RunRecord) -> String {
    let errors: u64 = r.summary.iter().map(|row| row.errors).sum();
    let verdict = match r.verdict() {
        _ if r.status != crate::store::RunStatus::Finished => return "not judged".into(),
        Some(g) if g.passed => "passed",
        Some(_) => "FAILED",
        None => return "—".into(),
    };
    match errors {
        0 => verdict.into(),
        1 => format!("{verdict}, 1 error"),
        n => format!("{verdict}, {n} errors"),
    }
}

/// `runs show ID`: a stored run's tables, and report files from it.
fn show(
    ctx: &Context,
    store: &Store,
    id: &str,
    rows: Option<usize>,
    outputs: &[std::path::PathBuf],
) -> Exit {
    let outputs = match output_formats(outputs) {
        Ok(o) => o,
        Err(e) => {
            return diagnostics::report(&e);
        }
    };
    let run = match store.load(id) {
        Ok(run) => run,
        Err(e) => return diagnostics::report(&e),
    };
    let printed = match run.comparison() {
        Some(c) => print_run_with(ctx, &run, rows, Some(&c)),
        None => print_run(ctx, &run, rows),
    };
    if let Err(e) = printed {
        return diagnostics::report(&e);
    }
    if let Err(e) = write_outputs(&run.record, &run, &outputs) {
        return diagnostics::report(&e);
    }
    Exit::Success
}

/// `runs rm ID…`: removes runs.
fn remove(store: &Store, ids: &[String]) -> Exit {
    for id in ids {
        match store.remove(id) {
            Ok(removed) => outln!("removed run {removed}"),
            Err(e) => return diagnostics::report(&e),
        }
    }
    Exit::Success
}

/// `runs merge ID…`: joins the runs of a plan's shards into one run.
fn merge(ctx: &Context, project: &Project, store: &Store, ids: &[String]) -> Exit {
    let new_id = crate::run::new_run_id();
    match store.merge(ids, &new_id) {
        Ok(merged) => {
            let r = &merged.run.record;
            errln!(
                "merged {} shard runs into run {} ({} cells) in {}",
                r.settings.merged_from.len(),
                r.run_id,
                r.completed_cells,
                project.relative(&merged.run.dir).display()
            );
            if !merged.missing.is_empty() {
                let missing: Vec<String> = merged.missing.iter().map(|s| s.to_string()).collect();
                errln!(
                    "warning: shards {} are missing; the merged run covers part of the plan",
                    missing.join(", ")
                );
            }
            if let Err(e) = print_run(ctx, &merged.run, Some(20)) {
                diagnostics::print(&e);
            }
            match r.verdict() {
                _ if !merged.missing.is_empty() => Exit::Runtime,
                None => Exit::Runtime,
                Some(g) if !g.passed => Exit::GateFailed,
                _ => Exit::Success,
            }
        }
        Err(e) => {
            diagnostics::print(&e);
            match e {
                crate::store::MergeError::Store(crate::store::StoreError::Io { .. }) => {
                    Exit::Runtime
                }
                _ => Exit::Input,
            }
        }
    }
}

/// `runs push ID`: logs a stored run to MLflow.
fn push(project: &Project, store: &Store, id: &str, mlflow: &crate::cli::args::MlflowArgs) -> Exit {
    let run = match store.load(id) {
        Ok(run) => run,
        Err(e) => return diagnostics::report(&e),
    };
    let client = match super::mlflow::required(mlflow.uri.as_deref(), project) {
        Ok(c) => c,
        Err(e) => {
            return diagnostics::report(&e);
        }
    };
    let options = super::mlflow::tracking_options(mlflow, project);
    match super::mlflow::log(&client, &run, &options) {
        Ok(()) => Exit::Success,
        Err(exit) => exit,
    }
}

/// The library filter from the flags; `--since` takes a date, an RFC 3339 time or an age.
fn run_filter(args: &crate::cli::args::RunFilterArgs) -> Result<RunFilter, String> {
    let since = match args.since.as_deref() {
        None => None,
        Some(s) => Some(parse_since(s, std::time::SystemTime::now())?),
    };
    Ok(RunFilter {
        eval: args.eval.clone(),
        prompt: args.prompt.clone(),
        model: args.model.clone(),
        since,
    })
}

fn parse_since(s: &str, now: std::time::SystemTime) -> Result<std::time::SystemTime, String> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{s}T00:00:00Z")) {
        return Ok(t);
    }
    if let Ok(age) = humantime::parse_duration(s) {
        return now
            .checked_sub(age)
            .ok_or_else(|| format!("--since {s} reaches before the epoch"));
    }
    Err(format!(
        "invalid --since `{s}`: expected a date (2026-11-01), a time (2026-11-01T12:00:00Z) or an age (3d, 12h)"
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_since;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn since_takes_dates_times_and_ages() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let day = |s| parse_since(s, now).unwrap();
        assert_eq!(
            day("2026-11-01"),
            humantime::parse_rfc3339("2026-11-01T00:00:00Z").unwrap()
        );
        assert_eq!(
            day("2026-11-01T12:30:00Z"),
            humantime::parse_rfc3339("2026-11-01T12:30:00Z").unwrap()
        );
        assert_eq!(day("2d"), now - Duration::from_secs(2 * 86400));
        assert!(parse_since("yesterday", now).unwrap_err().contains("3d"));
    }
}
