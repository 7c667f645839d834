//! Standard output and error for every command, where a closed pipe is not a failure.
//!
//! `prompteval validate | head -1` closes the pipe after one line. Rust ignores SIGPIPE, so
//! the next write fails with `BrokenPipe`, and `outln!` would panic on it. Every command
//! writes through [`stdout`] (and [`outln!`]) instead: once the reader is gone, the rest of
//! the output is dropped and the command finishes with its usual exit status, as `rg` does.
//! SIGPIPE's default action is not restored because it would also kill prompteval when an
//! external scorer or an `exec` provider exits before reading its stdin.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Set once a write to stdout met a closed pipe.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Set once a write to stderr met a closed pipe.
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first write to stdout that failed for another reason (a full disk, say).
static STDOUT_FAILURE: Mutex<Option<io::Error>> = Mutex::new(None);

/// Standard output, locked, where a closed pipe swallows the rest of the output.
pub(crate) struct Stdout(io::StdoutLock<'static>);

/// Standard output for one command: lock it once, write with `write!`.
pub(crate) fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        quiet(&STDOUT_CLOSED, buf.len(), || self.0.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        quiet(&STDOUT_CLOSED, (), || self.0.flush())
    }
}

/// Runs one write; a closed pipe (now or earlier) counts as success with `done`.
fn quiet<T>(closed: &AtomicBool, done: T, write: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    if closed.load(Ordering::Relaxed) {
        return Ok(done);
    }
    match write() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            closed.store(true, Ordering::Relaxed);
            Ok(done)
        }
        other => other,
    }
}

/// Writes formatted text to stdout; what [`outln!`] expands to.
pub(crate) fn print(args: fmt::Arguments<'_>) {
    let mut out = stdout();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        let mut failure = STDOUT_FAILURE.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(e);
    }
}

/// Writes formatted text to stderr, dropping it once stderr is a closed pipe.
pub(crate) fn eprint(args: fmt::Arguments<'_>) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    // Nowhere is left to report a failure to write an error message.
    let _ = quiet(&STDERR_CLOSED, (), || err.write_fmt(args));
}

/// The first failure to write stdout other than a closed pipe, taken once.
pub(crate) fn take_failure() -> Option<io::Error> {
    STDOUT_FAILURE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
}

/// `outln!` through [`stdout`]: a closed pipe ends the output quietly.
macro_rules! outln {
    () => {
        $crate::cli::output::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`stdout`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::print(format_args!($($arg)*))
    };
}

/// `errln!` that drops the text once stderr is a closed pipe instead of panicking.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::output::eprint(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_counts_as_written_and_silences_later_writes() {
        let closed = AtomicBool::new(false);
        let first = quiet(&closed, 3, || {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        });
        assert_eq!(first.unwrap(), 3);
        let later = quiet(&closed, 4, || -> io::Result<usize> {
            panic!("no write after the pipe closed")
        });
        assert_eq!(later.unwrap(), 4);
    }

    #[test]
    fn other_write_errors_still_fail() {
        let closed = AtomicBool::new(false);
        let full = quiet(&closed, 3, || {
            Err(io::Error::from(io::ErrorKind::StorageFull))
        });
        assert_eq!(full.unwrap_err().kind(), io::ErrorKind::StorageFull);
        assert!(!closed.load(Ordering::Relaxed));
    }
}
