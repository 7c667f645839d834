//! The simulated user: its persona, then the conversation with the roles swapped, asked of
//! its own provider for the next user message; its usage is kept apart from the model's.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use super::super::cell::CellId;
use crate::dataset::Row;
use crate::plan::{Plan, SimulatedUser};
use crate::provider::{ProviderRequest, RetryNotice};
use crate::registry::Params;
use crate::template::message::{Message, RenderedPrompt, Role};

/// What the simulated user of one cell cost, apart from the model (like the `grader_*`
/// fields of a cell), and how it ended the conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserUsage {
    /// The provider that played the user.
    pub provider: String,
    /// Its calls (one per user message, and the one that said the stop marker).
    pub calls: u32,
    /// Prompt tokens reported, when every call reported them.
    pub tokens_in: Option<u64>,
    /// Completion tokens reported, when every call reported them.
    pub tokens_out: Option<u64>,
    /// Cost in US dollars, when every call's price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Its latency summed over its calls, in milliseconds.
    pub latency_ms: f64,
    /// Whether the response cache answered every call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// How the conversation ended, when the simulated user ended it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ended>,
}

/// How a simulated user's conversation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ended {
    /// It said its stop marker.
    Stop,
    /// It had sent `max_turns` messages.
    MaxTurns,
}

/// One cell's simulated user being played.
pub(crate) struct Player<'a> {
    plan: &'a Plan,
    id: CellId,
    row: &'a Row,
    user: &'a SimulatedUser,
    retries: Option<UnboundedSender<RetryNotice>>,
    /// Its usage so far.
    pub(crate) usage: UserUsage,
}

impl<'a> Player<'a> {
    /// The simulated user `user` of cell `id`, before its first call.
    pub(crate) fn new(
        plan: &'a Plan,
        (id, row): (CellId, &'a Row),
        user: &'a SimulatedUser,
        retries: Option<UnboundedSender<RetryNotice>>,
    ) -> Self {
        Player {
            plan,
            id,
            row,
            user,
            retries,
            usage: UserUsage {
                provider: user.provider.clone(),
                cached: true,
                tokens_in: Some(0),
                tokens_out: Some(0),
                cost_usd: Some(0.0),
                ..UserUsage::default()
            },
        }
    }

    /// The most user messages it sends.
    pub(crate) fn max_turns(&self) -> u32 {
        self.user.max_turns
    }

    /// The next user message given the conversation so far; `None` once it says its stop
    /// marker.
    pub(crate) async fn next(&mut self, history: &[Message]) -> Result<Option<String>, String> {
        let row = self.row;
        let name = &self.user.provider;
        let Some(provider) = self.plan.providers.get(name) else {
            return Err(format!(
                "the simulated user's provider `{name}` was not built"
            ));
        };
        let persona = self
            .plan
            .templates
            .render_prompt(&self.user.persona, &self.user.context(&row.context()))
            .map_err(|e| {
                format!(
                    "could not render persona {}: {e}",
                    self.user.persona.reference()
                )
            })?;
        let request = ProviderRequest {
            prompt: RenderedPrompt::Chat(seen_by_user(persona, history)),
            params: self.params(),
            vars: row.vars_map(),
            retries: self.retries.clone(),
            tools: None,
        };
        let response = provider
            .complete_repeat(request, self.id.repeat)
            .await
            .map_err(|e| format!("simulated user ({name}): {}", e.message))?;
        let usage = &mut self.usage;
        usage.calls += 1;
        usage.latency_ms += response.latency_ms;
        usage.cached &= response.cached;
        usage.tokens_in = usage.tokens_in.zip(response.tokens_in).map(|(a, b)| a + b);
        usage.tokens_out = usage
            .tokens_out
            .zip(response.tokens_out)
            .map(|(a, b)| a + b);
        let cost = provider.cost_cached(response.tokens_in, response.tokens_out, response.cache);
        usage.cost_usd = usage.cost_usd.zip(cost).map(|(a, b)| a + b);
        if response.output.contains(&self.user.stop) {
            usage.ended = Some(Ended::Stop);
            return Ok(None);
        }
        Ok(Some(response.output.trim().to_string()))
    }

    /// The simulated user's request parameters: its provider's defaults overlaid by the
    /// persona version's.
    fn params(&self) -> Params {
        let mut params = self
            .plan
            .provider_configs
            .get(&self.user.provider)
            .map(|c| c.common.params.clone())
            .unwrap_or_default();
        for (k, v) in &self.user.persona.params {
            params.insert(k.clone(), v.clone());
        }
        params
    }
}

/// What the simulated user is sent: its persona (a text persona is a system message), then
/// the conversation with the roles swapped — the model's replies are its user messages and
/// its own messages are the assistant's. The version's system messages, tool calls and tool
/// results are the model's business and are left out.
pub(crate) fn seen_by_user(persona: RenderedPrompt, history: &[Message]) -> Vec<Message> {
    let mut messages = match persona {
        RenderedPrompt::Text(text) => vec![Message::new(Role::System, text)],
        RenderedPrompt::Chat(messages) => messages,
    };
    for m in history {
        let role = match m.role {
            Role::User => Role::Assistant,
            Role::Assistant => Role::User,
            Role::System | Role::Tool => continue,
        };
        if !m.content.trim().is_empty() {
            messages.push(Message::new(role, m.content.clone()));
        }
    }
    messages
}
