//! Printing a run's tables and writing its report files: shared by `run` and `runs show`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::baseline::Comparison;
use crate::cli::Context;
use crate::report::{self, ReportError, ReportFormat, ReportInput, FORMATS};
use crate::store::{RunRecord, StoredRun};

/// Report files to write, each with its format.
pub(crate) type Outputs = [(PathBuf, &'static ReportFormat)];

/// Checks report paths before anything runs, so a typo costs nothing.
pub(crate) fn output_formats(
    outputs: &[PathBuf],
) -> Result<Vec<(PathBuf, &'static ReportFormat)>, ReportError> {
    outputs
        .iter()
        .map(|p| ReportFormat::from_path(p).map(|f| (p.clone(), f)))
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

/// Characters of output per matrix cell and of input in the `input` column, so that the
/// matrix of `columns` prompt × model columns uses the `width` there is: wider terminals
/// show more of every output.
pub(crate) fn matrix_widths(width: u16, columns: usize) -> (usize, usize) {
    let width = usize::from(width);
    let preview = if width >= 100 { 30 } else { 16 };
    // The case column, the input column and the borders take about this much.
    let fixed = 12 + preview + 3;
    let snippet = (width.saturating_sub(fixed) / columns.max(1)).saturating_sub(3);
    (snippet.clamp(16, 200), preview)
}

/// [`print_run`], with each eval's comparison against the baseline under its summary and
/// the verdict at the very end.
pub(crate) fn print_run_with(
    ctx: &Context,
    run: &StoredRun,
    max_rows: Option<usize>,
    comparison: Option<&Comparison>,
) -> Result<(), ReportError> {
    let mut out = crate::cli::output::stdout();
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
            let (snippet_chars, preview_chars) = matrix_widths(ctx.width, part.summary.len());
            let options = report::MatrixOptions {
                max_rows,
                color: ctx.color,
                max_width: ctx.width,
                snippet_chars,
                preview_chars,
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

/// Writes each requested report file of a stored run, with the comparison stored beside
/// it when it was run with a baseline.
pub(crate) fn write_outputs(
    record: &RunRecord,
    run: &StoredRun,
    outputs: &Outputs,
) -> Result<Vec<PathBuf>, ReportError> {
    let uses_comparison = outputs.iter().any(|(_, format)| format.uses_comparison);
    let comparison = uses_comparison.then(|| run.comparison()).flatten();
    write_files(record, run, outputs, comparison.as_ref())
}

/// [`write_outputs`], with `comparison` in the formats that show it.
pub(crate) fn write_outputs_with(
    record: &RunRecord,
    run: &StoredRun,
    outputs: &Outputs,
    comparison: Option<&Arc<Comparison>>,
) -> Result<Vec<PathBuf>, ReportError> {
    write_files(record, run, outputs, comparison.map(|c| &**c))
}

fn write_files(
    record: &RunRecord,
    run: &StoredRun,
    outputs: &Outputs,
    comparison: Option<&Comparison>,
) -> Result<Vec<PathBuf>, ReportError> {
    let input = ReportInput {
        record,
        results: run,
        comparison,
    };
    let mut written = Vec::new();
    for (path, format) in outputs {
        write_file(path, format.name, |w| format.write(&input, w))?;
        written.push(path.clone());
    }
    Ok(written)
}

/// Appends the step-summary reports (Markdown) to the file named by
/// `$GITHUB_STEP_SUMMARY` (GitHub Actions shows it on the run's page); `None` when the
/// variable is not set.
pub(crate) fn append_step_summary(
    record: &RunRecord,
    run: &StoredRun,
    comparison: Option<&Arc<Comparison>>,
) -> Option<Result<PathBuf, ReportError>> {
    let path = PathBuf::from(std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty())?);
    let input = ReportInput {
        record,
        results: run,
        comparison: comparison.map(|c| &**c),
    };
    let result = (|| {
        for format in FORMATS.iter().filter(|f| f.step_summary) {
            let err = |e: std::io::Error| ReportError::Write {
                format: format.name,
                source: std::io::Error::new(e.kind(), format!("{}: {e}", path.display())),
            };
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(err)?;
            format.write(&input, &mut file)?;
            writeln!(file).map_err(err)?;
        }
        Ok(path.clone())
    })();
    Some(result)
}

/// Writes one report file through `write`, creating its directory first.
pub(crate) fn write_file(
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

#[cfg(test)]
mod tests {
    use super::matrix_widths;

    #[test]
    fn wider_terminals_show_more_of_each_output() {
        assert_eq!(matrix_widths(80, 2), (21, 16));
        assert_eq!(matrix_widths(200, 2), (74, 30));
        assert_eq!(matrix_widths(200, 40), (16, 30));
    }
}
