//! Printing a run's tables and writing its report files: shared by `run` and `runs show`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::Context;
use crate::report::{self, Format, ReportError};
use crate::store::{RunRecord, StoredRun};

/// Checks report paths before anything runs, so a typo costs nothing.
pub(crate) fn output_formats(outputs: &[PathBuf]) -> Result<Vec<(PathBuf, Format)>, ReportError> {
    outputs
        .iter()
        .map(|p| Format::from_path(p).map(|f| (p.clone(), f)))
        .collect()
}

/// Prints, eval by eval, the case matrix and the summary table, then the verdict.
pub(crate) fn print_run(
    ctx: &Context,
    run: &StoredRun,
    max_rows: Option<usize>,
) -> Result<(), ReportError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let record = &run.record;
    let write_err = |source| ReportError::Write {
        format: "table",
        source,
    };
    for (i, eval) in record.evals.iter().enumerate() {
        // One eval at a time, so its matrix and its summary stand together.
        let mut part = record.clone();
        part.evals = vec![eval.clone()];
        part.summary.retain(|row| row.eval == eval.name);
        let last = i + 1 == record.evals.len();
        if let Some(max_rows) = max_rows {
            let options = report::MatrixOptions {
                max_rows,
                color: ctx.color,
                max_width: ctx.width,
                ..Default::default()
            };
            report::write_matrix(&part, run, &options, &mut out)?;
            writeln!(out).map_err(write_err)?;
        }
        let options = report::TableOptions {
            color: ctx.color,
            max_width: ctx.width,
            verdict: last,
        };
        report::write_summary(&part, &options, &mut out)?;
        report::write_repeats(&part, &mut out).map_err(write_err)?;
        if !last {
            writeln!(out).map_err(write_err)?;
        }
    }
    out.flush().map_err(write_err)?;
    Ok(())
}

/// Writes each requested report file.
pub(crate) fn write_outputs(
    record: &RunRecord,
    run: &StoredRun,
    outputs: &[(PathBuf, Format)],
) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for (path, format) in outputs {
        write_file(path, format.name(), |w| {
            report::write(*format, record, run, w)
        })?;
        written.push(path.clone());
    }
    Ok(written)
}

fn write_file(
    path: &Path,
    format: &'static str,
    write: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let err = |e: std::io::Error| ReportError::Write {
        format,
        source: std::io::Error::new(e.kind(), format!("{}: {e}", path.display())),
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let file = std::fs::File::create(path).map_err(err)?;
    let mut w = std::io::BufWriter::new(file);
    write(&mut w)?;
    w.flush().map_err(err)
}
