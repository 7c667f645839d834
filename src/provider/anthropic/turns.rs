//! A chat history as the Messages API takes it: system messages lifted out, the turns
//! alternating, an assistant's calls as `tool_use` blocks and tools' results as
//! `tool_result` blocks of a user turn.

use serde_json::{json, Value};

use crate::provider::tool_json;
use crate::template::message::{Message, Role};

/// One turn of the API's `messages`: who speaks and what, in order.
#[derive(Debug, PartialEq)]
pub(super) struct Turn {
    /// `user` or `assistant` (a tool's result is part of a user turn).
    pub(super) role: Role,
    /// The turn's text and blocks, in the order of the messages merged into it.
    pub(super) parts: Vec<Part>,
}

/// A piece of a turn.
#[derive(Debug, PartialEq)]
pub(super) enum Part {
    /// A message's text.
    Text(String),
    /// A `tool_use` or `tool_result` block.
    Block(Value),
}

/// Splits chat messages into the `system` text (all system messages, joined by a blank
/// line) and the turns, consecutive same-role messages merged into one turn (the API wants
/// them alternating). A tool's result joins the user turn after the assistant's calls, so
/// that the results of one step are one user message, as the API requires.
pub(super) fn split_messages(messages: Vec<Message>) -> (Option<String>, Vec<Turn>) {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    for m in messages {
        if m.role == Role::System {
            system.push(m.content);
            continue;
        }
        let (role, parts) = parts_of(m);
        match turns.last_mut() {
            Some(last) if last.role == role => last.parts.extend(parts),
            _ => turns.push(Turn { role, parts }),
        }
    }
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    (system, turns)
}

/// The role a message speaks in for the API, and its parts.
fn parts_of(m: Message) -> (Role, Vec<Part>) {
    match (m.role, &m.tool_reply) {
        (Role::Tool, Some(reply)) => {
            let mut block = json!({
                "type": "tool_result", "tool_use_id": reply.call_id, "content": m.content,
            });
            if reply.is_error {
                block["is_error"] = true.into();
            }
            (Role::User, vec![Part::Block(block)])
        }
        // A tool message answering nothing cannot be a `tool_result`: the user says it.
        (Role::Tool, None) => (Role::User, vec![Part::Text(m.content)]),
        (role, _) => {
            let mut parts = vec![Part::Text(m.content)];
            parts.extend(m.tool_calls.iter().map(|call| {
                Part::Block(json!({
                    "type": "tool_use", "id": call.id, "name": call.name,
                    "input": tool_json::arguments_object(call),
                }))
            }));
            (role, parts)
        }
    }
}

impl Turn {
    /// The turn as the API takes it: its texts joined by a blank line when it is only text
    /// (the bytes of every request before agents), else a list of content blocks, where
    /// empty texts are left out (the API refuses an empty `text` block).
    pub(super) fn to_json(&self) -> Value {
        let texts: Option<Vec<&str>> = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(text) => Some(text.as_str()),
                Part::Block(_) => None,
            })
            .collect();
        let content = match texts {
            Some(texts) => Value::String(texts.join("\n\n")),
            None => self
                .parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text(text) if text.trim().is_empty() => None,
                    Part::Text(text) => Some(json!({"type": "text", "text": text})),
                    Part::Block(block) => Some(block.clone()),
                })
                .collect(),
        };
        json!({"role": self.role.as_str(), "content": content})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolCall;

    fn msg(role: Role, content: &str) -> Message {
        Message::new(role, content)
    }

    fn text(role: Role, content: &str) -> Turn {
        Turn {
            role,
            parts: vec![Part::Text(content.into())],
        }
    }

    fn json_of(turns: &[Turn]) -> Vec<Value> {
        turns.iter().map(Turn::to_json).collect()
    }

    #[test]
    fn system_messages_are_lifted_and_same_roles_merged() {
        let (system, turns) = split_messages(vec![
            msg(Role::System, "Be terse."),
            msg(Role::User, "Hi"),
            msg(Role::System, "Answer in French."),
            msg(Role::User, "Capital of France?"),
            msg(Role::Assistant, "Paris"),
            msg(Role::Assistant, "!"),
            msg(Role::User, "Spain?"),
        ]);
        assert_eq!(system.as_deref(), Some("Be terse.\n\nAnswer in French."));
        assert_eq!(
            json_of(&turns),
            vec![
                json!({"role": "user", "content": "Hi\n\nCapital of France?"}),
                json!({"role": "assistant", "content": "Paris\n\n!"}),
                json!({"role": "user", "content": "Spain?"}),
            ]
        );
        let (system, turns) = split_messages(vec![msg(Role::User, "x")]);
        assert_eq!(system, None);
        assert_eq!(turns, vec![text(Role::User, "x")]);
    }

    #[test]
    fn calls_are_tool_use_blocks_and_one_steps_results_one_user_turn() {
        let rome = ToolCall::from_raw("toolu_1", "get_weather", r#"{"city":"Rome"}"#);
        let broken = ToolCall::from_raw("toolu_2", "get_time", "{tz");
        let (_, turns) = split_messages(vec![
            msg(Role::User, "Weather and time in Rome?"),
            Message::assistant("", vec![rome.clone(), broken.clone()]),
            Message::tool_result(&rome, "18°C, sunny", false),
            Message::tool_result(&broken, "error: bad arguments", true),
            msg(Role::User, "And tomorrow?"),
            Message::assistant("Let me check.", vec![rome.clone()]),
        ]);
        assert_eq!(
            json_of(&turns),
            vec![
                json!({"role": "user", "content": "Weather and time in Rome?"}),
                json!({"role": "assistant", "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Rome"}},
                    // Arguments that never parsed cannot be an `input` object.
                    {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
                ]}),
                json!({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C, sunny"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "error: bad arguments", "is_error": true},
                    {"type": "text", "text": "And tomorrow?"},
                ]}),
                json!({"role": "assistant", "content": [
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Rome"}},
                ]}),
            ]
        );
    }
}
