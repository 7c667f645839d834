//! Printing a run's tables and writing its report files: shared by `run` and `runs show`.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::analysis::baseline::Comparison;
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
    print_run_with(ctx, run, max_rows, None)
}

/// [`print_run`], with each eval's comparison against the baseline under its summary and
/// the verdict at the very end.
pub(crate) fn print_run_with(
    ctx: &Context,
    run: &StoredRun,
    max_rows: Option<usize>,
    comparison: Option<&Comparison>,
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
            verdict: last && comparison.is_none(),
        };
        report::write_summary(&part, &options, &mut out)?;
        report::write_repeats(&part, &mut out).map_err(write_err)?;
        if let Some(comparison) = comparison {
            writeln!(out).map_err(write_err)?;
            let options = report::ComparisonOptions {
                color: ctx.color,
                max_width: ctx.width,
                ..Default::default()
            };
            report::write_comparison(comparison, Some(&eval.name), &options, &mut out)?;
            if last {
                writeln!(out).map_err(write_err)?;
                let options = report::TableOptions {
                    color: ctx.color,
                    max_width: ctx.width,
                    verdict: true,
                };
                report::write_verdict(record, &options, &mut out)?;
            }
        }
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
    write_outputs_with(record, run, outputs, None)
}

/// [`write_outputs`], with the baseline comparison in the Markdown report.
pub(crate) fn write_outputs_with(
    record: &RunRecord,
    run: &StoredRun,
    outputs: &[(PathBuf, Format)],
    comparison: Option<&Arc<Comparison>>,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    for (path, format) in outputs {
        write_file(path, format.name(), |w| match (format, comparison) {
            (Format::Markdown, Some(_)) => write_markdown(record, run, comparison, w),
            _ => report::write(*format, record, run, w),
        })?;
        written.push(path.clone());
    }
    Ok(written)
}

/// The Markdown summary, with the comparison when there is one.
pub(crate) fn write_markdown(
    record: &RunRecord,
    run: &StoredRun,
    comparison: Option<&Arc<Comparison>>,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    let options = report::MarkdownOptions {
        baseline: comparison.cloned(),
        ..Default::default()
    };
    let mut buffered = std::io::BufWriter::new(w);
    report::write_markdown(record, run, &options, &mut buffered)?;
    buffered.flush().map_err(|source| ReportError::Write {
        format: "markdown",
        source,
    })
}

/// Appends the Markdown summary to the file named by `$GITHUB_STEP_SUMMARY` (GitHub
/// Actions shows it on the run's page); `None` when the variable is not set.
pub(crate) fn append_step_summary(
    record: &RunRecord,
    run: &StoredRun,
    comparison: Option<&Arc<Comparison>>,
) -> Option<Result<PathBuf, ReportError>> {
    let path = PathBuf::from(std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty())?);
    let result = (|| {
        let err = |e: std::io::Error| ReportError::Write {
            format: "markdown",
            source: std::io::Error::new(e.kind(), format!("{}: {e}", path.display())),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(err)?;
        write_markdown(record, run, comparison, &mut file)?;
        writeln!(file).map_err(err)?;
        Ok(path.clone())
    })();
    Some(result)
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
