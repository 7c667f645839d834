//! The agent loop of one cell: ask the model, run its tool calls with the eval's handlers,
//! give it the results, and ask again until it answers without calls or `max_steps` is
//! reached.

use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

use crate::agent::{HandlerSet, Step, Stopped, ToolResult};
use crate::provider::{Provider, ProviderError, ProviderRequest, ProviderResponse, RetryNotice};
use crate::registry::Params;
use crate::template::message::{Message, RenderedPrompt};
use crate::tools::{ToolCall, ToolSet};

/// What every model call of one cell's loop shares.
pub(crate) struct AgentCall<'a> {
    /// The model.
    pub provider: &'a dyn Provider,
    /// The request parameters of the cell's prompt and model.
    pub params: &'a Params,
    /// The row's variables (handlers and the `http`/`exec` providers read them).
    pub vars: &'a Arc<serde_json::Map<String, serde_json::Value>>,
    /// The tools offered at every step.
    pub tools: Option<Arc<ToolSet>>,
    /// Who runs the calls.
    pub handlers: &'a HandlerSet,
    /// The most model calls of one turn.
    pub max_steps: u32,
    /// The cell's repeat index (the response cache keys on it).
    pub repeat: u32,
    /// Where retries are reported.
    pub retries: Option<UnboundedSender<RetryNotice>>,
}

/// A turn that ended: its steps, the last answer, and why it stopped early, if it did.
pub(crate) struct Turn {
    /// Every model call of the turn, with the tool results that answered it.
    pub steps: Vec<Step>,
    /// The last model answer (its text is the turn's reply).
    pub last: ProviderResponse,
    /// `Some` when the loop hit `max_steps` with calls still unanswered.
    pub stopped: Option<Stopped>,
}

/// A model call that failed after its retries, with the steps made before it.
pub(crate) struct TurnError {
    /// The provider's error.
    pub error: ProviderError,
    /// The steps that succeeded before the failing call.
    pub steps: Vec<Step>,
}

impl AgentCall<'_> {
    /// Runs one turn of the loop on `history`, appending each assistant message and tool
    /// result to it; `turn` numbers the steps (0 outside conversations).
    pub(crate) async fn run_turn(
        &self,
        history: &mut Vec<Message>,
        turn: u32,
    ) -> Result<Turn, TurnError> {
        let mut steps: Vec<Step> = Vec::new();
        loop {
            let digest = messages_digest(history);
            let request = ProviderRequest {
                prompt: RenderedPrompt::Chat(history.clone()),
                params: self.params.clone(),
                vars: self.vars.clone(),
                retries: self.retries.clone(),
                tools: self.tools.clone(),
            };
            let response = match self.provider.complete_repeat(request, self.repeat).await {
                Ok(response) => response,
                Err(error) => return Err(TurnError { error, steps }),
            };
            let mut step = self.step_of(&response, digest, turn);
            history.push(Message::assistant(
                response.output.clone(),
                response.tool_calls.clone(),
            ));
            let done = response.tool_calls.is_empty();
            if done || steps.len() as u32 + 1 >= self.max_steps {
                steps.push(step);
                let stopped = (!done).then_some(Stopped::MaxSteps);
                return Ok(Turn {
                    steps,
                    last: response,
                    stopped,
                });
            }
            step.tool_results = self.run_calls(&response.tool_calls).await;
            for (call, result) in response.tool_calls.iter().zip(&step.tool_results) {
                history.push(Message::tool_result(
                    call,
                    result.content.clone(),
                    result.is_error,
                ));
            }
            steps.push(step);
        }
    }

    /// The record of one model call (its tool results are added once they ran).
    fn step_of(&self, response: &ProviderResponse, digest: String, turn: u32) -> Step {
        Step {
            turn,
            user: None,
            messages_digest: digest,
            output: response.output.clone(),
            tool_calls: response.tool_calls.clone(),
            tool_results: Vec::new(),
            latency_ms: response.latency_ms,
            tokens_in: response.tokens_in,
            tokens_out: response.tokens_out,
            cost_usd: self.provider.cost_cached(
                response.tokens_in,
                response.tokens_out,
                response.cache,
            ),
            cached: response.cached,
            finish_reason: response.finish_reason.clone(),
        }
    }

    /// Runs the calls of one answer, returning their results in the calls' order.
    async fn run_calls(&self, calls: &[ToolCall]) -> Vec<ToolResult> {
        let mut results = Vec::with_capacity(calls.len());
        for call in calls {
            results.push(self.run_call(call).await);
        }
        results
    }

    /// Runs one call with its tool's handler; a failure (or a tool without a handler)
    /// becomes an error result for the model.
    async fn run_call(&self, call: &ToolCall) -> ToolResult {
        let started = Instant::now();
        let outcome = match self.handlers.get(&call.name) {
            Some(handler) => handler.call(call, self.vars).await,
            None => Err(crate::agent::ToolFailure::new(format!(
                "unknown tool `{}`: no handler serves it",
                call.name
            ))),
        };
        let (content, is_error) = match outcome {
            Ok(content) => (content, false),
            Err(failure) => (format!("error: {}", failure.message), true),
        };
        ToolResult {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content,
            is_error,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

/// The first 16 hex digits of the SHA-256 of the messages' JSON.
pub(crate) fn messages_digest(messages: &[Message]) -> String {
    let json = serde_json::to_vec(messages).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..8])
}
