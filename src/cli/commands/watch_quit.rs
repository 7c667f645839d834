//! How a watch session is asked to end: `q` and Enter on stdin, Ctrl-C or SIGTERM.
//!
//! A line, not a raw key: reading single keys needs the terminal in non-canonical mode,
//! and a terminal left in that mode (by SIGKILL, say) stays broken for the user. A line
//! works the same on a terminal, in tmux, over a pipe and in a test.

use std::io::BufRead;
use std::sync::Arc;

use tokio::sync::watch;

use super::run::stop_requested;

/// Why the session ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum QuitReason {
    /// `q` (or `quit`) and Enter.
    Key,
    /// Ctrl-C or SIGTERM.
    Signal,
}

/// The session's quit request, shared by the wait between iterations and the runs.
#[derive(Clone, Debug)]
pub(super) struct Quit(watch::Receiver<Option<QuitReason>>);

impl Quit {
    /// Starts listening: for the signals on `runtime` (which must keep running: a
    /// multi-thread runtime does without `block_on`), for lines on stdin on a thread of
    /// its own. Stdin at its end (`< /dev/null`) only stops the reading.
    pub(super) fn listen(runtime: &tokio::runtime::Runtime) -> Quit {
        let (tx, rx) = watch::channel(None);
        let tx = Arc::new(tx);
        let signals = {
            // The handlers are installed now, inside the runtime, before any run starts.
            let _inside = runtime.enter();
            stop_requested()
        };
        let on_signal = tx.clone();
        runtime.spawn(async move {
            signals.await;
            on_signal.send_replace(Some(QuitReason::Signal));
        });
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                if is_quit(&line) {
                    tx.send_replace(Some(QuitReason::Key));
                    break;
                }
            }
        });
        Quit(rx)
    }

    /// Why the session was asked to end, if it was.
    pub(super) fn reason(&self) -> Option<QuitReason> {
        *self.0.borrow()
    }

    /// Resolves once the session is asked to end (on any runtime).
    pub(super) async fn requested(mut self) -> QuitReason {
        match self.0.wait_for(Option::is_some).await {
            Ok(reason) => reason.unwrap_or(QuitReason::Signal),
            // The listeners are gone: nothing can ask any more.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Whether a line typed on stdin asks to quit.
fn is_quit(line: &str) -> bool {
    matches!(line.trim().to_ascii_lowercase().as_str(), "q" | "quit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_and_quit_end_the_session_other_lines_do_not() {
        assert!(is_quit("q"));
        assert!(is_quit(" Q \r"));
        assert!(is_quit("quit"));
        assert!(!is_quit(""));
        assert!(!is_quit("qq"));
        assert!(!is_quit("wq"));
    }
}
