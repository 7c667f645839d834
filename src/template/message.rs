//! Rendered prompts as they are sent to a provider: plain text or chat messages.

use serde::{Deserialize, Serialize};

use crate::tools::ToolCall;

/// Who speaks a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The user's turn.
    User,
    /// The model's turn (few-shot examples, and earlier steps of an agent loop).
    Assistant,
    /// A tool's result, answering one call of the assistant message before it (agent loops).
    Tool,
}

impl Role {
    /// The lowercase name used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    /// The role when a prompt may be written with it: a `tool` message only exists in an
    /// agent's history, answering a call, so versions cannot hold one.
    pub fn authored(self) -> Option<Role> {
        (self != Role::Tool).then_some(self)
    }
}

/// One rendered chat message.
///
/// Prompts render `role` and `content` only; an agent loop adds the assistant's calls and
/// the tools' results to the history. Both are left out of the JSON when empty, so a plain
/// message serialises (and keys the response cache) as it did before agents existed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// The rendered text (a tool's result for [`Role::Tool`]; may be empty for an assistant
    /// message that only calls tools).
    pub content: String,
    /// The calls an assistant message made, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Which call a [`Role::Tool`] message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_reply: Option<ToolReply>,
}

/// What a tool message answers: the call's id and function, and whether the result is an
/// error (a handler that failed, timed out, or does not know the tool).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolReply {
    /// The id of the call answered ([`ToolCall::id`]).
    pub call_id: String,
    /// The function called.
    pub name: String,
    /// Whether the result reports an error rather than the tool's answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

impl Message {
    /// A plain message: `role` says `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_reply: None,
        }
    }

    /// The assistant's answer of one step: its text and the calls it made.
    pub fn assistant(content: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        Message {
            tool_calls,
            ..Message::new(Role::Assistant, content)
        }
    }

    /// A tool's result for `call`; `is_error` when the handler failed.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>, is_error: bool) -> Self {
        Message {
            tool_reply: Some(ToolReply {
                call_id: call.id.clone(),
                name: call.name.clone(),
                is_error,
            }),
            ..Message::new(Role::Tool, content)
        }
    }
}

/// A prompt after rendering with one dataset row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderedPrompt {
    /// A completion-style prompt (one template file).
    Text(String),
    /// Chat messages (a YAML version with `messages`).
    Chat(Vec<Message>),
}

impl RenderedPrompt {
    /// The prompt as chat messages: plain text becomes one user message.
    pub fn to_messages(&self) -> Vec<Message> {
        match self {
            RenderedPrompt::Text(text) => vec![Message::new(Role::User, text.clone())],
            RenderedPrompt::Chat(messages) => messages.clone(),
        }
    }

    /// The prompt as one text: chat messages are joined as `role: content` lines (an
    /// assistant's calls follow its text as `→ call` lines).
    pub fn to_text(&self) -> String {
        match self {
            RenderedPrompt::Text(text) => text.clone(),
            RenderedPrompt::Chat(messages) => messages
                .iter()
                .map(message_line)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}
/// One message as a `role: content` line; the calls of an assistant message follow as
/// `→ call` lines, so a text rendering of an agent's history still shows what it did.
fn message_line(m: &Message) -> String {
    let mut line = format!("{}: {}", m.role.as_str(), m.content);
    for call in &m.tool_calls {
        line.push_str("\n→ ");
        line.push_str(&crate::tools::show::compact(call));
    }
    line
}
