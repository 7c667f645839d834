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

/// Prints the summary table, the case matrix and the verdict to stdout.
pub(crate) fn print_run(
    ctx: &Context,
    run: &StoredRun,
    max_rows: Option<usize>,
) -> Result<(), ReportError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(max_rows) = max_rows {
        let options = report::MatrixOptions {
            max_rows,
            color: ctx.color,
            max_width: ctx.width,
            ..Default::default()
        };
        report::write_matrix(&run.record, run, &options, &mut out)?;
        writeln!(out).map_err(|e| ReportError::Write {
            format: "table",
            source: e,
        })?;
    }
    let options = report::TableOptions {
        color: ctx.color,
        max_width: ctx.width,
    };
    report::write_summary(&run.record, &options, &mut out)?;
    out.flush().map_err(|source| ReportError::Write {
        format: "table",
        source,
    })?;
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
