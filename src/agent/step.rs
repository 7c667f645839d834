//! One step of an agent loop as the run record keeps it: what the model answered, the
//! calls it made and what the tools returned.

use serde::{Deserialize, Serialize};

use crate::tools::ToolCall;

/// One model call of an agent loop and the tool results that answered it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The conversation turn this step belongs to, from 0 (always 0 outside `turns:`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub turn: u32,
    /// The user message that opened the turn, on the first step of each turn of a scripted
    /// or simulated conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The first 16 hex digits of the SHA-256 of the messages sent (canonical JSON): two
    /// runs whose steps have the same digest asked the model the same thing.
    pub messages_digest: String,
    /// The model's text.
    pub output: String,
    /// The calls the model made, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The result of each call, in the calls' order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_results: Vec<ToolResult>,
    /// The model's latency for this step, in milliseconds (see
    /// [`ProviderResponse::latency_ms`](crate::provider::ProviderResponse::latency_ms)).
    pub latency_ms: f64,
    /// Prompt tokens, when reported.
    pub tokens_in: Option<u64>,
    /// Completion tokens, when reported.
    pub tokens_out: Option<u64>,
    /// Cost in US dollars, when the price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Whether the response cache answered this step.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// Why the model stopped, as the API said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// What a tool returned for one call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The id of the call answered.
    pub call_id: String,
    /// The function called.
    pub name: String,
    /// The result as the model was given it (for an error, the error's text).
    pub content: String,
    /// Whether the handler failed (timed out, crashed, does not know the tool): the model
    /// was told so, as real agent runtimes do.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
    /// The handler's wall time, in milliseconds.
    pub latency_ms: f64,
}

/// Why an agent loop ended before the model answered without calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// The eval's `max_steps` model calls were made and the last still called tools.
    MaxSteps,
}

impl Stopped {
    /// The name written in records and reports (`max_steps`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stopped::MaxSteps => "max_steps",
        }
    }
}

/// Every call of a trajectory, in order; `last` (the cell's final calls) when there are
/// no steps, so single-call cells and agent cells are read alike.
pub fn all_calls<'a>(steps: &'a [Step], last: &'a [ToolCall]) -> Vec<&'a ToolCall> {
    if steps.is_empty() {
        last.iter().collect()
    } else {
        steps.iter().flat_map(|s| &s.tool_calls).collect()
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
