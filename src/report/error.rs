//! What can go wrong while writing a report: [`ReportError`].

use crate::diagnostic::{Diagnostic, ExitClass};
use std::io;
use std::path::{Path, PathBuf};

/// A report that could not be chosen or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The output file's extension names no known format.
    #[error("{}", unknown_format(path, extension.as_deref()))]
    UnknownFormat {
        /// The output file as given.
        path: PathBuf,
        /// Its extension (lowercase), if it has one.
        extension: Option<String>,
    },
    /// Writing the report failed (disk full, closed pipe…).
    #[error("failed to write the {format} report")]
    Write {
        /// The report format (`json`, `matrix`, …).
        format: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Reading the run's results failed (`results.jsonl` unreadable or damaged).
    #[error("failed to read the run's results for the {format} report")]
    ReadResults {
        /// The report format being written.
        format: &'static str,
        /// The I/O or parse error.
        #[source]
        source: io::Error,
    },
}

impl Diagnostic for ReportError {
    /// A format that does not exist is input; a report that cannot be written or read is
    /// a failure of the command.
    fn exit_class(&self) -> ExitClass {
        match self {
            ReportError::UnknownFormat { .. } => ExitClass::Input,
            ReportError::Write { .. } | ReportError::ReadResults { .. } => ExitClass::Runtime,
        }
    }

    /// What the user should do about it.
    fn hint(&self) -> Option<String> {
        match self {
            ReportError::UnknownFormat { path, .. } => {
                let stem = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .filter(|s| !s.is_empty())
                    .unwrap_or("run");
                Some(format!(
                    "name the output file after the format you want, e.g. `--output {stem}.json` or `--output {stem}.md`"
                ))
            }
            ReportError::Write { source, .. } => write_hint(source.kind()).map(str::to_string),
            ReportError::ReadResults { .. } => Some(
                "the run's results.jsonl may be damaged or still being written; re-run the eval or check the file"
                    .to_string(),
            ),
        }
    }
}

/// What to do about a failed write; the kind decides, so a closed pipe is not blamed on a
/// missing directory.
fn write_hint(kind: io::ErrorKind) -> Option<&'static str> {
    match kind {
        io::ErrorKind::NotFound => Some("check that the output directory exists"),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            Some("check that the output file is writable")
        }
        io::ErrorKind::StorageFull => Some("free some disk space and write the report again"),
        io::ErrorKind::BrokenPipe => {
            Some("the program reading the report exited before the end of it")
        }
        _ => None,
    }
}

fn unknown_format(path: &Path, extension: Option<&str>) -> String {
    let choices = super::registry::choices();
    match extension {
        Some(ext) => format!(
            "unknown report format `.{ext}` for `{}`. Choose from: {choices}",
            path.display()
        ),
        None => format!(
            "report file `{}` has no extension. Choose from: {choices}",
            path.display()
        ),
    }
}

/// Inside a writer: whether the results could not be read or the output not written.
///
/// `?` on an [`io::Error`] means a write failed; reads are wrapped with [`Failure::Read`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// Reading the results failed.
    Read(io::Error),
    /// Writing the report failed.
    Write(io::Error),
}

impl Failure {
    /// The public error, naming the report format.
    pub(crate) fn into_report(self, format: &'static str) -> ReportError {
        match self {
            Failure::Read(source) => ReportError::ReadResults { format, source },
            Failure::Write(source) => ReportError::Write { format, source },
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Write(e)
    }
}

impl From<::csv::Error> for Failure {
    fn from(e: ::csv::Error) -> Self {
        match e.into_kind() {
            ::csv::ErrorKind::Io(e) => Failure::Write(e),
            other => Failure::Write(io::Error::other(format!("{other:?}"))),
        }
    }
}

/// Runs a writer body and names the format in its error.
pub(crate) fn named<T>(
    format: &'static str,
    body: impl FnOnce() -> Result<T, Failure>,
) -> Result<T, ReportError> {
    body().map_err(|f| f.into_report(format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_not_blamed_on_a_missing_output_directory() {
        let err = ReportError::Write {
            format: "matrix",
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        };
        let hint = err.hint().unwrap();
        assert!(!hint.contains("directory"), "{hint}");
        assert!(hint.contains("exited before the end"), "{hint}");
    }
}
