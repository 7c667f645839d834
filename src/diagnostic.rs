//! Source locations and warnings: where in a user's file something is.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in a user's file: path, and the line and column when known (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user would name it (relative to the project root when possible).
    pub file: PathBuf,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
}

impl Location {
    /// A location that names only a file.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// A location that names a file and a line.
    pub fn line(file: impl Into<PathBuf>, line: usize) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: None,
        }
    }

    /// A location that names a file, a line and a column.
    pub fn at(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.file
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// Something worth telling the user that does not stop the work, such as an unknown key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Where the problem is.
    pub location: Location,
    /// What is wrong, as a lowercase sentence fragment.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Which exit status an error maps to (the CLI's table of exit codes is in `cli::Exit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitClass {
    /// Invalid input or configuration: nothing was sent to any model (exit 2).
    Input,
    /// The run could not finish (exit 3).
    Runtime,
}

/// An error as a person reads it: its message and `#[source]` chain (from
/// [`std::error::Error`]), what to do about it, and the exit status it maps to. Every error
/// type the command line can show implements it; `cli::diagnostics` renders any of them
/// the same way, so no call site picks an exit code or a hint by hand.
pub trait Diagnostic: std::error::Error + 'static {
    /// What the user can do about it, as a sentence fragment (`set `model:` …`).
    fn hint(&self) -> Option<String> {
        None
    }

    /// Which exit status it maps to; most errors are found before any model is called.
    fn exit_class(&self) -> ExitClass {
        ExitClass::Input
    }

    /// The separate problems this error collects (each rendered apart), if it is a list.
    fn problems(&self) -> Option<Vec<&dyn Diagnostic>> {
        None
    }
}

/// The name in `valid` closest to `name`, when it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(name, v), *v))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| v)
}
