//! The contract between the runner and everything that watches it: [`RunEvent`] and the
//! per-cell [`CellResult`] that the store, the progress bar and the reporters consume.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The outcome of one assertion on one output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssertionResult {
    /// The assertion type as written in the eval (`contains`, `not-regex`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it held.
    pub pass: bool,
    /// A score in `[0, 1]`.
    pub score: f64,
    /// Why it passed or failed, for a person.
    pub reason: String,
    /// The metric name the score is reported under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The weight of this assertion in the case score.
    #[serde(default = "one")]
    pub weight: f64,
    /// Scorer-specific data kept with the result: a judge's raw reply, a metric's
    /// sufficient statistics for corpus-level aggregation, an external scorer's metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// Whether the scorer itself failed (a judge reply that could not be parsed, an
    /// external scorer that crashed): the assertion fails, but not because of the output.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scorer_error: bool,
}

fn one() -> f64 {
    1.0
}

/// The outcome of one cell: one case × prompt × model × repeat.
///
/// This is a line of `results.jsonl` and an entry of the run record's `results`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// The eval's name.
    pub eval: String,
    /// The prompt reference as resolved, e.g. `sentiment@2`.
    pub prompt: String,
    /// The model (provider) name.
    pub model: String,
    /// The dataset case id.
    pub case_id: String,
    /// The repeat index, from 0.
    #[serde(default)]
    pub repeat: u32,
    /// The row's variables.
    pub vars: Arc<serde_json::Map<String, serde_json::Value>>,
    /// The model's output, when there is one.
    pub output: Option<String>,
    /// The tool calls in the model's answer, beside the text (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<crate::tools::ToolCall>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, …), when the API said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Every model call of an agent loop or conversation, in order (absent for a cell that
    /// made one call and ran no tools). `output`, `tool_calls` and `finish_reason` are the
    /// last step's; latency, tokens and cost are summed across the steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<crate::agent::Step>,
    /// Why the loop ended before the model answered without calls (`max_steps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<crate::agent::Stopped>,
    /// The simulated user's calls in a conversation it played, apart from the model's
    /// figures (as the `grader_*` fields are), and how it ended the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated_user: Option<crate::run::conversation::UserUsage>,
    /// What went wrong when there is no scored output (provider or render error).
    pub error: Option<String>,
    /// Time of the request's successful attempt, in milliseconds: from sending it (once the
    /// provider's limiter admitted it) to the end of the answer; for an error cell, the
    /// wall time of the whole request.
    pub latency_ms: f64,
    /// Time the request waited for the provider's limiter (concurrency, rate limits)
    /// before it was sent, in milliseconds; absent in older records and for cached or
    /// unlimited providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ms: Option<f64>,
    /// Prompt tokens, when the provider reports them.
    pub tokens_in: Option<u64>,
    /// Completion tokens, when the provider reports them.
    pub tokens_out: Option<u64>,
    /// Cost in US dollars, when the price is known.
    pub cost_usd: Option<f64>,
    /// Whether the response came from the cache.
    #[serde(default)]
    pub cached: bool,
    /// Whether the case passed (false when `error` is set).
    pub pass: bool,
    /// The weighted case score in `[0, 1]`.
    pub score: f64,
    /// Each assertion's outcome.
    pub assertions: Vec<AssertionResult>,
    /// Prompt tokens of the scorers' model calls (judges), apart from the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader_tokens_in: Option<u64>,
    /// Completion tokens of the scorers' model calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader_tokens_out: Option<u64>,
    /// Cost of the scorers' model calls in US dollars, when every price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader_cost_usd: Option<f64>,
}

impl CellResult {
    /// Whether an assertion's scorer failed (see [`AssertionResult::scorer_error`]).
    pub fn has_scorer_error(&self) -> bool {
        self.assertions.iter().any(|a| a.scorer_error)
    }

    /// The status of the cell for tables.
    pub fn status(&self) -> CellStatus {
        if self.error.is_some() {
            CellStatus::Error
        } else if self.pass {
            CellStatus::Pass
        } else {
            CellStatus::Fail
        }
    }
}

/// Pass, fail or error: the three ways a cell ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    /// The provider failed or the prompt could not be rendered.
    Error,
    /// An assertion failed.
    Fail,
    /// Every assertion held.
    Pass,
}

impl CellStatus {
    /// `PASS`, `FAIL` or `ERROR`.
    pub fn label(self) -> &'static str {
        match self {
            CellStatus::Pass => "PASS",
            CellStatus::Fail => "FAIL",
            CellStatus::Error => "ERROR",
        }
    }
}

/// Something that happened during a run, in the order it happened.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// The run has started and will execute `total_cells` cells.
    Started {
        /// The run id.
        run_id: &'a str,
        /// How many cells the plan holds.
        total_cells: usize,
        /// How many cells are being worked on right now, updated by the runner's tasks: a
        /// sink that ticks on its own (the progress bar) reads it between events.
        in_flight: &'a InFlight,
    },
    /// A provider is waiting before retrying a request.
    Retrying {
        /// The model (provider) name.
        model: &'a str,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// Why it is retrying.
        reason: &'a str,
        /// The provider's concurrency window and its limit, when a refusal for load (429,
        /// 529) cut the window.
        window: Option<(usize, usize)>,
    },
    /// A cell finished (scored, failed or errored).
    CellFinished {
        /// The result.
        cell: &'a CellResult,
        /// The result as one line of JSON (no newline), serialized by the task that
        /// finished the cell, off the thread that handles events.
        line: &'a str,
    },
    /// The run was interrupted (Ctrl-C); no further cells will finish.
    Interrupted,
    /// The run is over; `completed` cells finished.
    Finished {
        /// How many cells finished.
        completed: usize,
    },
}

/// A count of the cells in flight, shared between the runner's tasks and the sinks.
#[derive(Clone, Debug, Default)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// How many cells are in flight now.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts a cell in until the returned guard is dropped (also when its task is aborted).
    pub fn enter(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(self.0.clone())
    }
}

/// One cell counted in [`InFlight`] while it lives.
#[derive(Debug)]
pub struct InFlightGuard(Arc<AtomicUsize>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Anything that consumes run events: the store, the progress bar, a summary.
pub trait RunSink {
    /// Handles one event. Errors stop the run (the store failing to write, say).
    fn on_event(&mut self, event: &RunEvent<'_>) -> std::io::Result<()>;

    /// Called after each batch of events (the cells that finished together), before the
    /// runner waits again: a sink that buffers writes them out here.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
