//! The only place that prints errors and warnings and picks exit codes.

use std::error::Error as StdError;
use std::process::ExitCode;

use console::style;

use crate::diagnostic::Warning;
use crate::error::{Error, ErrorKind};

/// The documented exit statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The run finished and every gate held.
    Success = 0,
    /// The run finished and a quality gate failed.
    GateFailed = 1,
    /// Invalid input or configuration: nothing was sent to any model.
    Input = 2,
    /// The run could not finish.
    Runtime = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Prints warnings to stderr.
pub fn warnings(warnings: &[Warning]) {
    for w in warnings {
        errln!("{} {w}", style("warning:").yellow().bold());
    }
}

/// Prints an error with its cause chain and hint; returns the exit status it maps to.
pub fn error(err: &Error) -> Exit {
    match err {
        Error::Many(errors) => {
            for e in errors {
                print_one(e, e.hint());
            }
            errln!(
                "{} {} problems found; nothing was sent to any model",
                style("error:").red().bold(),
                errors.len()
            );
        }
        e => print_one(e, e.hint()),
    }
    match err.kind() {
        ErrorKind::Input => Exit::Input,
        ErrorKind::Runtime => Exit::Runtime,
    }
}

/// Reports that stdout could not be written (a full disk, say: a closed pipe is no error).
pub fn stdout_failure(err: &std::io::Error) -> Exit {
    errln!(
        "{} failed to write to standard output\n  {} {err}",
        style("error:").red().bold(),
        style("caused by:").dim()
    );
    Exit::Runtime
}

/// Prints any error (not from the library's error type) as a runtime failure.
pub fn other(err: &(dyn StdError + 'static), hint: Option<String>) {
    print_one(err, hint);
}

fn print_one(err: &(dyn StdError + 'static), hint: Option<String>) {
    errln!("{} {err}", style("error:").red().bold());
    let mut source = err.source();
    let mut shown = err.to_string();
    while let Some(cause) = source {
        // Some messages already include their cause; show each text once.
        let text = cause.to_string();
        if !shown.contains(&text) {
            shown.push_str(&text);
            for (i, line) in text.lines().enumerate() {
                if i == 0 {
                    errln!("  {} {line}", style("caused by:").dim());
                } else {
                    errln!("    {line}");
                }
            }
        }
        source = cause.source();
    }
    if let Some(hint) = hint {
        errln!("{} {hint}", style("hint:").cyan().bold());
    }
}
