//! The progress bar on stderr: a consumer of run events.

use std::io;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::run::events::{CellStatus, RunEvent, RunSink};

/// Shows cells done, passes, failures and errors, and which provider is backing off.
pub struct Progress {
    bar: ProgressBar,
    passed: u64,
    failed: u64,
    errors: u64,
}

impl Progress {
    /// A bar on stderr, hidden when stderr is not a terminal or `enabled` is false.
    pub fn new(enabled: bool) -> Progress {
        let target = if enabled && console::Term::stderr().is_term() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            bar,
            passed: 0,
            failed: 0,
            errors: 0,
        }
    }

    fn counts(&self) -> String {
        format!(
            "pass {} · fail {} · error {}",
            self.passed, self.failed, self.errors
        )
    }
}

impl RunSink for Progress {
    fn on_event(&mut self, event: &RunEvent<'_>) -> io::Result<()> {
        match event {
            RunEvent::Started { total_cells, .. } => self.bar.set_length(*total_cells as u64),
            RunEvent::CellFinished { cell, .. } => {
                match cell.status() {
                    CellStatus::Pass => self.passed += 1,
                    CellStatus::Fail => self.failed += 1,
                    CellStatus::Error => self.errors += 1,
                }
                self.bar.inc(1);
                self.bar.set_message(self.counts());
            }
            RunEvent::Retrying {
                model,
                attempt,
                reason,
                window,
            } => self.bar.set_message(match window {
                Some((window, limit)) => format!(
                    "{} · {model}: backing off (attempt {attempt}: {reason}), window {window}/{limit}",
                    self.counts()
                ),
                None => format!(
                    "{} · {model}: backing off (attempt {attempt}: {reason})",
                    self.counts()
                ),
            }),
            RunEvent::Interrupted | RunEvent::Finished { .. } => self.bar.finish_and_clear(),
        }
        Ok(())
    }
}
