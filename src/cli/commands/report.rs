//! `prompteval report RUN [--html FILE]`: the model-selection report of a stored run, with
//! the flips against its baseline when it was run with one.

use std::io::Write;
use std::path::Path;

use super::show::write_file;
use super::Context;
use crate::analysis::model_selection::compute_selection;
use crate::cli::args::ReportArgs;
use crate::cli::diagnostics::{self, Exit};
use crate::config::project::Project;
use crate::report::{self, HtmlOptions, ReportError, SelectionOptions};
use crate::store::{self, Store, StoredRun};

/// Prints the selection tables of a run and, with `--html`, writes the HTML report.
pub(crate) fn report(ctx: &Context, args: ReportArgs) -> Exit {
    let run = match load(ctx, &args.run) {
        Ok(run) => run,
        Err(exit) => return exit,
    };
    let selection =
        compute_selection(&run.record, &run).map_err(|source| ReportError::ReadResults {
            format: "selection",
            source,
        });
    let selection = match selection {
        Ok(s) => s,
        Err(e) => {
            return diagnostics::report(&e);
        }
    };
    let options = SelectionOptions {
        max_width: ctx.width,
        color: ctx.color,
    };
    let mut out = crate::cli::output::stdout();
    if let Err(e) = report::write_selection(&run.record, &selection, &options, &mut out) {
        return diagnostics::report(&e);
    }
    if let Some(path) = &args.html {
        let comparison = run.comparison();
        let options = HtmlOptions {
            max_cells: args.max_cases,
            ..HtmlOptions::for_run(comparison.as_ref())
        };
        let written = write_file(path, "html", |w| {
            report::write_html(&run.record, &selection, &run, &options, w)
        });
        if let Err(e) = written {
            return diagnostics::report(&e);
        }
        let _ = writeln!(out, "\nwrote {}", path.display());
    }
    let _ = out.flush();
    Exit::Success
}

/// A run by id, unique prefix or `latest` from the project's store, or a run directory
/// (one holding `run.json`) given by path.
/// Errors are printed; the exit status they map to is returned.
fn load(ctx: &Context, run: &str) -> Result<StoredRun, Exit> {
    let dir = Path::new(run);
    if dir.join(store::RECORD_FILE).is_file() {
        let record = store::read_record(&dir.join(store::RECORD_FILE))
            .map_err(|e| diagnostics::report(&e))?;
        return Ok(StoredRun {
            dir: dir.to_path_buf(),
            record,
        });
    }
    let (project, warnings) = Project::discover(&ctx.start).map_err(|e| diagnostics::report(&e))?;
    diagnostics::warnings(&warnings);
    Store::new(project.store_dir())
        .load(run)
        .map_err(|e| diagnostics::report(&e))
}
