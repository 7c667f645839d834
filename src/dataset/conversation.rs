//! A row's conversation as written: a fixed history (`messages:`), the user messages played
//! in order (`turns:`) with their own expectations, and a `simulated_user:` override.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::diagnostic::{Location, Warning};
use crate::score::AssertionSpec;
use crate::template::message::{Message, Role};

use super::load::describe;
use super::DatasetError;

/// The keys of a row that make it a conversation; they are not template variables.
pub(super) const KEYS: [&str; 3] = ["messages", "turns", "simulated_user"];

/// What a row says about its conversation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conversation {
    /// The history that comes before the conversation's own turns (`messages:`), inserted
    /// into the version's messages before its last user message.
    pub messages: Vec<Message>,
    /// The user messages played in order (`turns:`).
    pub turns: Vec<ScriptedTurn>,
    /// The row's `simulated_user:` keys, overriding the eval's key by key.
    pub simulated_user: Option<SimulatedUserSpec>,
}

/// One entry of `turns:`: what the user says, and what the model's reply must satisfy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScriptedTurn {
    /// The user's message, sent as written (dataset values are never templates).
    pub user: String,
    /// Assertions on this turn's reply (`assert:` of the entry).
    pub asserts: Vec<AssertionSpec>,
}

/// `simulated_user:` as written in an eval or a row: every key is optional here, the plan
/// merges the row's over the eval's and says which required one is missing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedUserSpec {
    /// The provider that plays the user (a configured name or an inline id).
    #[serde(default)]
    pub provider: Option<String>,
    /// The persona prompt, a registry reference (`customer@1`), rendered with the row.
    #[serde(default)]
    pub persona: Option<String>,
    /// What the simulated user says to end the conversation (default [`DEFAULT_STOP`]).
    #[serde(default)]
    pub stop: Option<String>,
    /// The most user messages it sends (default [`DEFAULT_MAX_TURNS`]).
    #[serde(default)]
    pub max_turns: Option<u32>,
}

/// The stop marker when `simulated_user:` names none.
pub const DEFAULT_STOP: &str = "<END>";

/// The most turns a simulated user plays when `simulated_user:` does not say.
pub const DEFAULT_MAX_TURNS: u32 = 5;

impl SimulatedUserSpec {
    /// This spec with `over`'s keys (a row's) replacing its own where `over` has them.
    pub fn overlaid(&self, over: &SimulatedUserSpec) -> SimulatedUserSpec {
        SimulatedUserSpec {
            provider: over.provider.clone().or_else(|| self.provider.clone()),
            persona: over.persona.clone().or_else(|| self.persona.clone()),
            stop: over.stop.clone().or_else(|| self.stop.clone()),
            max_turns: over.max_turns.or(self.max_turns),
        }
    }
}

/// Takes a row's conversation keys out of `vars`; `None` when it has none.
pub(super) fn take(vars: &mut Map<String, Json>) -> Option<Map<String, Json>> {
    let mut taken = Map::new();
    for key in KEYS {
        if let Some(value) = vars.shift_remove(key) {
            taken.insert(key.to_string(), value);
        }
    }
    (!taken.is_empty()).then_some(taken)
}

/// Parses the conversation keys [`take`] removed from the row of case `case`.
pub(super) fn parse(
    mut keys: Map<String, Json>,
    location: &Location,
    case: &str,
    warnings: &mut Vec<Warning>,
) -> Result<Conversation, DatasetError> {
    let error = |key: &str, message: String| DatasetError::Conversation {
        location: location.clone(),
        message: format!("case `{case}`: invalid `{key}`: {message}"),
    };
    let messages = match keys.shift_remove("messages") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, m)| message(m).map_err(|e| error(&format!("messages[{i}]"), e)))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(error(
                "messages",
                format!(
                    "expected a list of {{role, content}} messages, found {}",
                    describe(&other)
                ),
            ))
        }
    };
    let turns = match keys.shift_remove("turns") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(items)) => {
            let mut turns = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let key = format!("turns[{i}]");
                turns.push(turn(item, location, warnings).map_err(|e| error(&key, e))?);
            }
            turns
        }
        Some(other) => {
            return Err(error(
                "turns",
                format!(
                    "expected a list of user messages, found {}",
                    describe(&other)
                ),
            ))
        }
    };
    let simulated_user = match keys.shift_remove("simulated_user") {
        None | Some(Json::Null) => None,
        Some(value) => Some(simulated_user(value).map_err(|e| error("simulated_user", e))?),
    };
    if simulated_user.is_some() && !turns.is_empty() {
        return Err(error(
            "simulated_user",
            "a row plays either scripted `turns` or a `simulated_user`, not both".to_string(),
        ));
    }
    Ok(Conversation {
        messages,
        turns,
        simulated_user,
    })
}

/// One message of `messages:`: `{role, content}`, the role `system`, `user` or `assistant`.
fn message(value: &Json) -> Result<Message, String> {
    let Json::Object(map) = value else {
        return Err(format!(
            "is {}, expected a mapping with `role` and `content`",
            describe(value)
        ));
    };
    if let Some(key) = map.keys().find(|k| *k != "role" && *k != "content") {
        return Err(unknown(key, &["role", "content"]));
    }
    let role = match map.get("role").and_then(Json::as_str) {
        Some("system") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some(other) => {
            return Err(format!(
                "unknown role `{other}`. Choose from: system, user, assistant"
            ))
        }
        None => return Err("needs a `role` (system, user or assistant)".to_string()),
    };
    match map.get("content") {
        Some(Json::String(content)) => Ok(Message::new(role, content.clone())),
        Some(other) => Err(format!(
            "`content` must be a string, found {}",
            describe(other)
        )),
        None => Err("needs a `content` string".to_string()),
    }
}

/// One entry of `turns:`: a string, or `{user, assert}`.
fn turn(
    value: Json,
    location: &Location,
    warnings: &mut Vec<Warning>,
) -> Result<ScriptedTurn, String> {
    let mut map = match value {
        Json::String(user) => {
            return Ok(ScriptedTurn {
                user,
                asserts: Vec::new(),
            })
        }
        Json::Object(map) => map,
        other => {
            return Err(format!(
                "is {}, expected a user message (a string) or a mapping {{user: …, assert: […]}}",
                describe(&other)
            ))
        }
    };
    if let Some(key) = map.keys().find(|k| *k != "user" && *k != "assert") {
        return Err(unknown(key, &["user", "assert"]));
    }
    let user = match map.shift_remove("user") {
        Some(Json::String(user)) => user,
        Some(other) => {
            return Err(format!(
                "`user` must be a string, found {}",
                describe(&other)
            ))
        }
        None => return Err("needs a `user` message".to_string()),
    };
    let asserts = match map.shift_remove("assert") {
        None => Vec::new(),
        Some(value) => match super::row::parse_asserts(value, location, warnings) {
            Ok(asserts) => asserts,
            Err(DatasetError::Assert { message, .. }) => return Err(message),
            Err(other) => return Err(other.to_string()),
        },
    };
    Ok(ScriptedTurn { user, asserts })
}

/// A row's `simulated_user:` mapping.
fn simulated_user(value: Json) -> Result<SimulatedUserSpec, String> {
    if !value.is_object() {
        return Err(format!(
            "is {}, expected a mapping with `provider`, `persona`, `stop` or `max_turns`",
            describe(&value)
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        match crate::config::yaml::unknown_key(&message) {
            Some((_, wording)) => wording,
            None => message,
        }
    })
}

/// "unknown key `k` (did you mean `a`?). Choose from: a, b".
fn unknown(key: &str, valid: &[&str]) -> String {
    let near = crate::diagnostic::suggest(key, valid)
        .map(|near| format!(" (did you mean `{near}`?)"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}`{near}. Choose from: {}",
        valid.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(value: Json) -> Result<Conversation, String> {
        let mut vars = value.as_object().unwrap().clone();
        let keys = take(&mut vars).unwrap();
        let location = Location::line("datasets/chat.jsonl", 3);
        parse(keys, &location, "greet", &mut Vec::new()).map_err(|e| e.to_string())
    }

    #[test]
    fn turns_are_strings_or_user_with_assert() {
        let c = parsed(json!({"turns": ["hi", {"user": "and?", "assert": [{"type": "contains", "value": "x"}]}]}))
            .unwrap();
        assert_eq!(c.turns.len(), 2);
        assert_eq!(c.turns[0].user, "hi");
        assert!(c.turns[0].asserts.is_empty());
        assert_eq!(c.turns[1].asserts[0].kind, "contains");
    }

    #[test]
    fn a_turn_of_the_wrong_shape_names_file_line_case_and_entry() {
        let err = parsed(json!({"turns": ["hi", 3]})).unwrap_err();
        assert_eq!(
            err,
            "datasets/chat.jsonl:3: case `greet`: invalid `turns[1]`: is a number, expected a user message (a string) or a mapping {user: …, assert: […]}"
        );
        let err = parsed(json!({"turns": [{"usr": "hi"}]})).unwrap_err();
        assert!(
            err.ends_with("invalid `turns[0]`: unknown key `usr` (did you mean `user`?). Choose from: user, assert"),
            "{err}"
        );
        let err = parsed(json!({"turns": "hi"})).unwrap_err();
        assert!(
            err.ends_with("invalid `turns`: expected a list of user messages, found a string"),
            "{err}"
        );
        let err =
            parsed(json!({"turns": [{"user": "a", "assert": [{"type": "contains", "vaule": 1}]}]}))
                .unwrap_err();
        assert!(
            err.contains("invalid `turns[0]`: at `assert[0].vaule`: unknown key"),
            "{err}"
        );
    }

    #[test]
    fn messages_are_role_and_content() {
        let c = parsed(json!({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}))
            .unwrap();
        assert_eq!(
            c.messages,
            [
                Message::new(Role::User, "a"),
                Message::new(Role::Assistant, "b")
            ]
        );
        let err = parsed(json!({"messages": [{"role": "tool", "content": "a"}]})).unwrap_err();
        assert!(
            err.ends_with(
                "invalid `messages[0]`: unknown role `tool`. Choose from: system, user, assistant"
            ),
            "{err}"
        );
        let err = parsed(json!({"messages": [{"role": "user", "text": "a"}]})).unwrap_err();
        assert!(err.contains("unknown key `text`"), "{err}");
    }

    #[test]
    fn simulated_user_keys_are_checked_and_overlaid() {
        let c = parsed(json!({"simulated_user": {"persona": "angry@1"}})).unwrap();
        let eval = SimulatedUserSpec {
            provider: Some("local".into()),
            persona: Some("calm@1".into()),
            ..Default::default()
        };
        let merged = eval.overlaid(c.simulated_user.as_ref().unwrap());
        assert_eq!(merged.provider.as_deref(), Some("local"));
        assert_eq!(merged.persona.as_deref(), Some("angry@1"));
        let err = parsed(json!({"simulated_user": {"max_turn": 2}})).unwrap_err();
        assert!(
            err.contains("unknown key `max_turn` (did you mean `max_turns`?)"),
            "{err}"
        );
        let err = parsed(json!({"simulated_user": {}, "turns": ["a"]})).unwrap_err();
        assert!(err.contains("not both"), "{err}");
    }
}
