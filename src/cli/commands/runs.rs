//! `prompteval runs list | show`.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use super::show::{output_formats, print_run, print_run_with, write_outputs};
use super::Context;
use crate::cli::args::RunsCommand;
use crate::cli::diagnostics::{self, Exit};
use crate::error::Error;
use crate::project::Project;
use crate::store::Store;

/// Lists or shows stored runs.
pub(crate) fn runs(ctx: &Context, cmd: RunsCommand) -> Exit {
    let project = match Project::discover(&ctx.start) {
        Ok((p, _)) => p,
        Err(e) => return diagnostics::error(&Error::from(e)),
    };
    let store = Store::new(project.store_dir());
    match cmd {
        RunsCommand::List { limit } => {
            let ids = match store.run_ids() {
                Ok(ids) => ids,
                Err(e) => return diagnostics::error(&e.into()),
            };
            if ids.is_empty() {
                println!("no runs yet; `prompteval run` makes one");
                return Exit::Success;
            }
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header([
                "run",
                "started",
                "status",
                "evals",
                "cells",
                "pass rate",
                "gate",
            ]);
            for id in ids.iter().take(limit) {
                let row = match store.load(id) {
                    Ok(run) => {
                        let r = &run.record;
                        let (passed, scored) = r.summary.iter().fold((0, 0), |(p, s), row| {
                            (p + row.passed, s + row.passed + row.failed)
                        });
                        vec![
                            r.run_id.clone(),
                            r.started_at.clone(),
                            format!("{:?}", r.status).to_lowercase(),
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
                            match &r.gate {
                                Some(g) if g.passed => "passed".into(),
                                Some(_) => "FAILED".into(),
                                None => "—".into(),
                            },
                        ]
                    }
                    Err(e) => vec![id.clone(), format!("unreadable: {e}")],
                };
                table.add_row(row);
            }
            println!("{table}");
            if ids.len() > limit {
                println!("… {} older runs not shown (--limit)", ids.len() - limit);
            }
            Exit::Success
        }
        RunsCommand::Show {
            id,
            all,
            max_rows,
            outputs,
        } => {
            let outputs = match output_formats(&outputs) {
                Ok(o) => o,
                Err(e) => {
                    diagnostics::other(&e, e.hint());
                    return Exit::Input;
                }
            };
            let run = match store.load(&id) {
                Ok(run) => run,
                Err(e) => return diagnostics::error(&e.into()),
            };
            let rows = if all { usize::MAX } else { max_rows };
            let printed = match crate::baseline::load_comparison(&run) {
                Some(c) => print_run_with(ctx, &run, Some(rows), Some(&c)),
                None => print_run(ctx, &run, Some(rows)),
            };
            if let Err(e) = printed {
                diagnostics::other(&e, e.hint());
                return Exit::Runtime;
            }
            if let Err(e) = write_outputs(&run.record, &run, &outputs) {
                diagnostics::other(&e, e.hint());
                return Exit::Runtime;
            }
            Exit::Success
        }
        RunsCommand::Diff {
            a,
            b,
            max_cells,
            all,
        } => super::diff::diff(ctx, &store, &a, &b, max_cells, all),
    }
}
