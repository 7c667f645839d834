//! The only place that prints errors and warnings and picks exit codes.

use std::error::Error as StdError;
use std::process::ExitCode;

use console::style;

use crate::diagnostic::{Diagnostic, ExitClass, Warning};

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

/// Prints an error — each of its problems, with its cause chain and hint — and returns the
/// exit status it maps to. The one place an error becomes text and an exit code.
pub fn report(err: &dyn Diagnostic) -> Exit {
    match err.problems() {
        Some(problems) => {
            for p in &problems {
                print_one(*p, p.hint());
            }
            errln!(
                "{} {} problems found; nothing was sent to any model",
                style("error:").red().bold(),
                problems.len()
            );
        }
        None => print_one(err, err.hint()),
    }
    exit_status(err)
}

/// The exit status an error maps to: its own class, or runtime when any of its problems
/// is a runtime failure.
fn exit_status(err: &dyn Diagnostic) -> Exit {
    let runtime = err.exit_class() == ExitClass::Runtime
        || err
            .problems()
            .is_some_and(|ps| ps.iter().any(|p| p.exit_class() == ExitClass::Runtime));
    if runtime {
        Exit::Runtime
    } else {
        Exit::Input
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

/// Prints an error from outside the library (the async runtime could not start, say): a
/// runtime failure, with no hint.
pub fn unexpected(err: &(dyn StdError + 'static)) -> Exit {
    print_one(err, None);
    Exit::Runtime
}

/// Prints an error whose exit status the caller does not take (the run's own verdict
/// stands after a report that could not be printed, say).
pub fn print(err: &dyn Diagnostic) {
    print_one(err, err.hint());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn the_exit_status_is_the_errors_own_class() {
        let missing = StoreError::NotFound {
            id: "x".into(),
            dir: "runs".into(),
        };
        assert_eq!(exit_status(&missing), Exit::Input);
        let unreadable = StoreError::Io {
            action: "read",
            path: "runs/x/run.json".into(),
            source: std::io::Error::other("disk"),
        };
        assert_eq!(exit_status(&unreadable), Exit::Runtime);
    }
}
