//! Rendered prompts as they are sent to a provider: plain text or chat messages.

use serde::{Deserialize, Serialize};

/// Who speaks a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model.
    System,
    /// The user's turn.
    User,
    /// The model's turn (few-shot examples).
    Assistant,
}

impl Role {
    /// The lowercase name used in files and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One rendered chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// The rendered text.
    pub content: String,
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
            RenderedPrompt::Text(text) => vec![Message {
                role: Role::User,
                content: text.clone(),
            }],
            RenderedPrompt::Chat(messages) => messages.clone(),
        }
    }

    /// The prompt as one text: chat messages are joined as `role: content` lines.
    pub fn to_text(&self) -> String {
        match self {
            RenderedPrompt::Text(text) => text.clone(),
            RenderedPrompt::Chat(messages) => messages
                .iter()
                .map(|m| format!("{}: {}", m.role.as_str(), m.content))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}
