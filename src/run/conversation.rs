//! A conversation's cell: the version's messages with the row's history, then each user
//! message (scripted, or said by a simulated user) answered by the model and its tool loop;
//! the replies are scored per turn (`conversation/score.rs`).

mod score;
mod user;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use super::agent::{AgentCall, TurnError};
use super::cell::{sum_steps, CellId};
use super::events::CellResult;
use crate::agent::{HandlerSet, Step, Stopped};
use crate::dataset::Row;
use crate::plan::{Plan, PlannedConversation};
use crate::provider::{Provider, RetryNotice};
use crate::template::message::{Message, RenderedPrompt, Role};
use crate::tools::ToolSet;

pub(crate) use score::score_conversation;
pub use user::{Ended, UserUsage};

/// What a conversation's cell is played with, besides the plan.
pub(crate) struct Setup<'a> {
    /// The cell's row.
    pub row: &'a Row,
    /// The model.
    pub provider: &'a dyn Provider,
    /// The version rendered with the row.
    pub rendered: RenderedPrompt,
    /// The tools offered at every step.
    pub tools: Option<Arc<ToolSet>>,
    /// Where retries are reported.
    pub retries: Option<UnboundedSender<RetryNotice>>,
}

/// Plays the conversation of cell `id` and scores it into `result`.
pub(crate) async fn run_conversation(
    plan: &Plan,
    id: CellId,
    conversation: &PlannedConversation,
    setup: Setup<'_>,
    mut result: CellResult,
) -> CellResult {
    let eval = &plan.evals[id.eval];
    let row = setup.row;
    let prompt_text = setup.rendered.to_text();
    let no_handlers = HandlerSet::default();
    let vars = row.vars_map();
    let call = AgentCall {
        provider: setup.provider,
        params: &eval.params[id.prompt][id.model],
        vars: &vars,
        tools: setup.tools,
        handlers: eval.handlers.as_deref().unwrap_or(&no_handlers),
        // Without handlers a turn is one model call, whatever it answers.
        max_steps: if eval.handlers.is_some() {
            eval.max_steps
        } else {
            1
        },
        repeat: id.repeat,
        retries: setup.retries.clone(),
    };
    let mut player = Player {
        call,
        runs_tools: eval.handlers.is_some(),
        history: opening(setup.rendered.to_messages(), &conversation.messages),
        steps: Vec::new(),
        stopped: None,
    };
    let started = Instant::now();
    let played = match &conversation.simulated {
        None => player.scripted(conversation).await,
        Some(simulated) => {
            let mut user = user::Player::new(plan, (id, row), simulated, setup.retries);
            let played = player.simulated(&mut user).await;
            result.simulated_user = Some(user.usage);
            played
        }
    };
    sum_steps(&player.steps, &mut result);
    result.stopped = player.stopped;
    result.steps = player.steps;
    match played {
        Err(message) => {
            // An error cell's latency is the wall time of the whole conversation.
            result.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            result.error = Some(message);
        }
        Ok(()) if result.steps.is_empty() => {
            result.error = Some(
                "the conversation has no turn: the simulated user ended it before the model spoke"
                    .to_string(),
            );
        }
        Ok(()) => {
            score_conversation(plan, (id, row), conversation, &prompt_text, &mut result).await
        }
    }
    result
}

/// The history a conversation starts from: the version's messages with the row's fixed
/// history inserted before the version's last user message (the question the version
/// asks comes after the conversation so far), or after them when the version ends
/// otherwise.
pub(crate) fn opening(mut version: Vec<Message>, history: &[Message]) -> Vec<Message> {
    let at = match version.last() {
        Some(last) if last.role == Role::User => version.len() - 1,
        _ => version.len(),
    };
    version.splice(at..at, history.iter().cloned());
    version
}

/// The model's side of a conversation being played: its history and its steps so far.
struct Player<'a> {
    call: AgentCall<'a>,
    /// Whether the eval's handlers run the model's calls (else a turn is one call).
    runs_tools: bool,
    history: Vec<Message>,
    steps: Vec<Step>,
    stopped: Option<Stopped>,
}

impl Player<'_> {
    /// Turn 0 when the opening ends with a user message, then every scripted turn.
    async fn scripted(&mut self, conversation: &PlannedConversation) -> Result<(), String> {
        self.opening_turn().await?;
        for (t, turn) in conversation.turns.iter().enumerate() {
            if self.stopped.is_some() {
                break;
            }
            self.say(t as u32 + 1, turn.user.clone()).await?;
        }
        Ok(())
    }

    /// Turn 0 when the opening ends with a user message, then the simulated user's
    /// messages until it says its stop marker or has sent `max_turns`.
    async fn simulated(&mut self, user: &mut user::Player<'_>) -> Result<(), String> {
        self.opening_turn().await?;
        for turn in 1..=user.max_turns() {
            if self.stopped.is_some() {
                break;
            }
            match user.next(&self.history).await? {
                Some(text) => self.say(turn, text).await?,
                None => return Ok(()),
            }
        }
        user.usage.ended = Some(Ended::MaxTurns);
        Ok(())
    }

    /// The reply to the version's own last user message, as turn 0.
    async fn opening_turn(&mut self) -> Result<(), String> {
        match self.history.last() {
            Some(last) if last.role == Role::User => {
                let text = last.content.clone();
                self.turn(0, text).await
            }
            _ => Ok(()),
        }
    }

    /// The user says `text`; the model answers it as turn `turn`.
    async fn say(&mut self, turn: u32, text: String) -> Result<(), String> {
        self.history.push(Message::new(Role::User, text.clone()));
        self.turn(turn, text).await
    }

    /// Runs turn `turn` (whose user message is last in the history); a turn that hit
    /// `max_steps` ends the conversation.
    async fn turn(&mut self, turn: u32, user: String) -> Result<(), String> {
        let outcome = self.call.run_turn(&mut self.history, turn).await;
        let (mut steps, failed) = match outcome {
            Ok(done) => {
                if self.runs_tools {
                    self.stopped = done.stopped;
                } else if let Some(last) = self.history.last_mut() {
                    // No handler will answer these calls: the next request must not
                    // hold calls without results, which the APIs refuse.
                    last.tool_calls.clear();
                }
                (done.steps, None)
            }
            Err(TurnError { error, steps }) => (steps, Some(error.message)),
        };
        if let Some(first) = steps.first_mut() {
            first.user = Some(user);
        }
        self.steps.append(&mut steps);
        match failed {
            Some(message) => Err(format!("turn {turn}: {message}")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
