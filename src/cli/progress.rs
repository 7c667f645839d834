//! Live progress on stderr, a consumer of run events: a bar that ticks on a terminal, or
//! a plain line every few seconds for CI logs.

use std::collections::BTreeMap;
use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::run::events::{CellStatus, InFlight, RunEvent, RunSink};

/// How the bar redraws itself between events, so the spinner and clock move while every
/// request is still waiting for its answer.
const TICK: Duration = Duration::from_millis(100);

/// How often the plain progress prints a line, unless `PROMPTEVAL_PROGRESS_INTERVAL_MS`
/// says otherwise (tests use a short one).
const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar redrawn in place: for a terminal.
    Bar,
    /// One line every few seconds: for CI logs.
    Plain,
    /// Nothing.
    Off,
}

impl ProgressMode {
    /// Off when `--no-progress` was given, else [`ProgressMode::auto`]: for the commands
    /// (`watch`, `rescore`) that have no `--progress` choice.
    pub fn unless(no_progress: bool) -> ProgressMode {
        if no_progress {
            ProgressMode::Off
        } else {
            ProgressMode::auto()
        }
    }

    /// The mode `auto` stands for: plain under CI (`CI` set and not `false`/`0`), a bar on
    /// a terminal, else nothing.
    pub fn auto() -> ProgressMode {
        let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
        if ci {
            ProgressMode::Plain
        } else if console::Term::stderr().is_term() {
            ProgressMode::Bar
        } else {
            ProgressMode::Off
        }
    }
}

/// What one provider is doing, as far as the events say.
#[derive(Debug, Default)]
struct ProviderState {
    /// The concurrency window and its limit, after a refusal for load cut it.
    window: Option<(usize, usize)>,
    /// The last retry's attempt and reason, until a cell of this provider finishes.
    backing_off: Option<(u32, String)>,
}

/// Counts shared between the sink and the thread that draws.
#[derive(Debug)]
struct State {
    started: Instant,
    total: usize,
    passed: usize,
    failed: usize,
    errors: usize,
    in_flight: InFlight,
    providers: BTreeMap<String, ProviderState>,
}

impl State {
    fn done(&self) -> usize {
        self.passed + self.failed + self.errors
    }

    /// `12/40 cells · 4 in flight · 2.3 cells/s · ETA 13s · pass 10 · fail 1 · error 1`,
    /// then each provider that is backing off or has a cut window.
    fn line(&self, elapsed: Duration) -> String {
        let done = self.done();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let eta = if done == 0 || rate <= 0.0 {
            "ETA –".to_string()
        } else {
            let left = self.total.saturating_sub(done) as f64 / rate;
            format!("ETA {}", clock(Duration::from_secs_f64(left)))
        };
        let mut line = format!(
            "{done}/{} cells · {} in flight · {rate:.1} cells/s · {eta} · pass {} · fail {} · error {}",
            self.total,
            self.in_flight.get(),
            self.passed,
            self.failed,
            self.errors
        );
        for (model, state) in &self.providers {
            let mut parts = Vec::new();
            if let Some((window, limit)) = state.window {
                parts.push(format!("window {window}/{limit}"));
            }
            if let Some((attempt, reason)) = &state.backing_off {
                parts.push(format!("backing off (attempt {attempt}: {reason})"));
            }
            if !parts.is_empty() {
                line.push_str(&format!(" · {model}: {}", parts.join(", ")));
            }
        }
        line
    }
}

/// `42s`, `3m07s` or `1h02m`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The plain printer's thread and the channel that stops it.
struct Plain {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

/// Shows cells done, in flight, rate, ETA, passes, failures, errors and which provider is
/// backing off.
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    plain: Option<Plain>,
    state: Arc<Mutex<State>>,
    /// Whether each retry also gets a line of its own (`-v`).
    log_retries: bool,
}

impl Progress {
    /// Progress in `mode`; it starts drawing when the run starts.
    pub fn new(mode: ProgressMode) -> Progress {
        Progress {
            mode,
            bar: None,
            plain: None,
            state: Arc::new(Mutex::new(State {
                started: Instant::now(),
                total: 0,
                passed: 0,
                failed: 0,
                errors: 0,
                in_flight: InFlight::default(),
                providers: BTreeMap::new(),
            })),
            log_retries: false,
        }
    }

    /// Also prints a line for every retry, above the bar (`-v`).
    pub fn log_retries(mut self, on: bool) -> Progress {
        self.log_retries = on;
        self
    }

    fn log_retry(&self, model: &str, attempt: u32, reason: &str) {
        let line = format!("{model}: retrying after attempt {attempt}: {reason}");
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ => errln!("{line}"),
        }
    }

    fn with_state(&self, f: impl FnOnce(&mut State)) {
        if let Ok(mut state) = self.state.lock() {
            f(&mut state);
        }
    }

    fn start(&mut self) {
        match self.mode {
            ProgressMode::Bar => self.bar = Some(self.start_bar()),
            ProgressMode::Plain => self.plain = Some(self.start_plain()),
            ProgressMode::Off => {}
        }
    }

    /// A bar whose status is read from the shared state at every tick.
    fn start_bar(&self) -> ProgressBar {
        let total = self.state.lock().map(|s| s.total).unwrap_or(0);
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let state = self.state.clone();
        let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:20} {status}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "status",
                move |progress: &ProgressState, w: &mut dyn std::fmt::Write| {
                    if let Ok(state) = state.lock() {
                        let _ = w.write_str(&state.line(progress.elapsed()));
                    }
                },
            );
        bar.set_style(style);
        bar.enable_steady_tick(TICK);
        bar
    }

    /// A thread that prints the status line every interval until stopped.
    fn start_plain(&self) -> Plain {
        let interval = std::env::var("PROMPTEVAL_PROGRESS_INTERVAL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(PLAIN_INTERVAL, Duration::from_millis);
        let (stop, stopped) = mpsc::channel::<()>();
        let state = self.state.clone();
        let thread = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                if let Ok(state) = state.lock() {
                    let line = state.line(state.started.elapsed());
                    errln!("progress: [{}] {line}", clock(state.started.elapsed()));
                }
            }
        });
        Plain { stop, thread }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some(plain) = self.plain.take() {
            let _ = plain.stop.send(());
            let _ = plain.thread.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

impl RunSink for Progress {
    fn on_event(&mut self, event: &RunEvent<'_>) -> io::Result<()> {
        match event {
            RunEvent::Started {
                total_cells,
                in_flight,
                ..
            } => {
                self.with_state(|s| {
                    s.total = *total_cells;
                    s.in_flight = (*in_flight).clone();
                    s.started = Instant::now();
                });
                self.start();
            }
            RunEvent::CellFinished { cell, .. } => {
                self.with_state(|s| {
                    match cell.status() {
                        CellStatus::Pass => s.passed += 1,
                        CellStatus::Fail => s.failed += 1,
                        CellStatus::Error => s.errors += 1,
                    }
                    if let Some(p) = s.providers.get_mut(&cell.model) {
                        p.backing_off = None;
                    }
                });
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            RunEvent::Retrying {
                model,
                attempt,
                reason,
                window,
            } => {
                self.with_state(|s| {
                    let p = s.providers.entry((*model).to_string()).or_default();
                    p.backing_off = Some((*attempt, (*reason).to_string()));
                    if window.is_some() {
                        p.window = *window;
                    }
                });
                if self.log_retries {
                    self.log_retry(model, *attempt, reason);
                }
            }
            RunEvent::Interrupted | RunEvent::Finished { .. } => self.finish(),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            started: Instant::now(),
            total: 40,
            passed: 10,
            failed: 1,
            errors: 1,
            in_flight: InFlight::default(),
            providers: BTreeMap::new(),
        }
    }

    #[test]
    fn the_line_shows_counts_in_flight_rate_and_eta() {
        let s = state();
        let _a = s.in_flight.enter();
        let _b = s.in_flight.enter();
        assert_eq!(
            s.line(Duration::from_secs(6)),
            "12/40 cells · 2 in flight · 2.0 cells/s · ETA 14s · pass 10 · fail 1 · error 1"
        );
    }

    #[test]
    fn before_any_cell_the_eta_is_unknown_and_a_backing_off_provider_is_named() {
        let mut s = state();
        (s.passed, s.failed, s.errors) = (0, 0, 0);
        s.providers.insert(
            "local".into(),
            ProviderState {
                window: Some((2, 4)),
                backing_off: Some((1, "HTTP 429".into())),
            },
        );
        let line = s.line(Duration::from_secs(3));
        assert!(
            line.contains("0/40 cells · 0 in flight · 0.0 cells/s · ETA –"),
            "{line}"
        );
        assert!(
            line.ends_with("local: window 2/4, backing off (attempt 1: HTTP 429)"),
            "{line}"
        );
    }

    #[test]
    fn clocks_read_as_seconds_minutes_or_hours() {
        assert_eq!(clock(Duration::from_secs(42)), "42s");
        assert_eq!(clock(Duration::from_secs(187)), "3m07s");
        assert_eq!(clock(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn a_guard_counts_a_cell_until_dropped() {
        let gauge = InFlight::default();
        let guard = gauge.enter();
        assert_eq!(gauge.get(), 1);
        drop(guard);
        assert_eq!(gauge.get(), 0);
    }
}
