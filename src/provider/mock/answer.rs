//! The `mock` kind's answers: how one is written (text, or `{text, tool_calls}`, or a list
//! of them, one a step of an agent loop), read from a row or the rendered setting, and the
//! `response:` setting read with its keys checked where they are written.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::provider::settings::de::Reject;
use crate::provider::tool_json::default_id;
use crate::tools::ToolCall;

/// The keys of an answer written as a mapping.
pub(super) const ANSWER_KEYS: &[&str] = &["text", "tool_calls"];
/// The keys of one tool call of an answer.
pub(super) const CALL_KEYS: &[&str] = &["name", "arguments"];
/// How an answer is written, for messages.
pub(super) const ANSWER_SHAPE: &str =
    "text, or a mapping {text: …, tool_calls: [{name: …, arguments: {…}}]}, or a list of those (one a step)";

/// How one step's answer is written, for messages.
const STEP_SHAPE: &str = "text, or a mapping {text: …, tool_calls: [{name: …, arguments: {…}}]}";

/// An answer: its text and tool calls.
#[derive(Debug, PartialEq)]
pub(super) struct Answer {
    /// The text.
    pub(super) text: String,
    /// The tool calls, with ids `call_0`, `call_1`…
    pub(super) tool_calls: Vec<ToolCall>,
}

/// The error for key `key` of `at` (nothing when empty), which takes `valid`.
fn unknown_key(at: &str, key: &str, valid: &[&str]) -> String {
    let near = crate::diagnostic::suggest(key, valid)
        .map(|near| format!(" (did you mean `{near}`?)"))
        .unwrap_or_default();
    let at = if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    };
    format!(
        "{at}unknown key `{key}`{near}. Choose from: {}",
        valid.join(", ")
    )
}

/// Checks the keys of an answer written as `value`, named `at` in messages (nothing when
/// the caller's place names it). Only keys: before rendering, a string may become any
/// value.
pub(super) fn check_keys(value: &Value, at: &str) -> Result<(), String> {
    if let Value::Array(steps) = value {
        return steps
            .iter()
            .enumerate()
            .try_for_each(|(i, step)| check_step_keys(step, &format!("{at}[{i}]")));
    }
    check_step_keys(value, at)
}

/// Checks the keys of one answer (not a list), named `at` in messages.
fn check_step_keys(value: &Value, at: &str) -> Result<(), String> {
    let Value::Object(map) = value else {
        return Ok(());
    };
    if let Some(key) = map.keys().find(|k| !ANSWER_KEYS.contains(&k.as_str())) {
        return Err(unknown_key(at, key, ANSWER_KEYS));
    }
    if let Some(Value::Array(calls)) = map.get("tool_calls") {
        for (i, call) in calls.iter().enumerate() {
            let Value::Object(call) = call else { continue };
            if let Some(key) = call.keys().find(|k| !CALL_KEYS.contains(&k.as_str())) {
                let call_at = match at {
                    "" => format!("tool_calls[{i}]"),
                    at => format!("{at}.tool_calls[{i}]"),
                };
                return Err(unknown_key(&call_at, key, CALL_KEYS));
            }
        }
    }
    Ok(())
}

/// Which answer of `value` (named `at` in messages) answers step `step` (from 0) of a
/// turn: `Some(i)` for item `i` of a list, which holds one answer a step and whose last
/// answers every later step; `None` when `value` is one answer for every step.
pub(super) fn step_index(value: &Value, at: &str, step: usize) -> Result<Option<usize>, String> {
    match value {
        Value::Array(steps) if steps.is_empty() => Err(format!(
            "{at} is an empty list: write one answer a step ({ANSWER_SHAPE})"
        )),
        Value::Array(steps) => Ok(Some(step.min(steps.len() - 1))),
        _ => Ok(None),
    }
}

/// The name of answer `index` (see [`step_index`]) of `at`, for messages: `at[1]`.
pub(super) fn step_name(at: &str, index: Option<usize>) -> String {
    match index {
        Some(i) => format!("{at}[{i}]"),
        None => at.to_string(),
    }
}

/// Reads the answer `value`, named `at` in messages: text (a number or boolean is its
/// text), or a mapping of `text` and `tool_calls`.
pub(super) fn read_answer(value: &Value, at: &str) -> Result<Answer, String> {
    check_step_keys(value, at)?;
    let (text, calls) = match value {
        Value::Object(map) => (map.get("text"), map.get("tool_calls")),
        other => (Some(other), None),
    };
    let text = match text {
        None | Some(Value::Null) if value.is_object() => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(scalar @ (Value::Number(_) | Value::Bool(_))) => scalar.to_string(),
        _ if value.is_object() => return Err(format!("{at}.text must be text")),
        _ => return Err(format!("{at} must be {STEP_SHAPE}")),
    };
    let tool_calls = match calls {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| read_call(item, &format!("{at}.tool_calls[{i}]"), i))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(format!(
                "{at}.tool_calls must be a list of {{name: …, arguments: {{…}}}}"
            ))
        }
    };
    Ok(Answer { text, tool_calls })
}

/// Reads call number `i` of an answer, written as `item` and named `at` in messages.
fn read_call(item: &Value, at: &str, i: usize) -> Result<ToolCall, String> {
    let Value::Object(call) = item else {
        return Err(format!(
            "{at} must be a mapping {{name: …, arguments: {{…}}}}"
        ));
    };
    let name = match call.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
        _ => return Err(format!("{at} needs a `name`: the function called")),
    };
    match call.get("arguments") {
        None | Some(Value::Null) => Ok(ToolCall::from_value(default_id(i), name, json_empty())),
        Some(Value::String(raw)) => Ok(ToolCall::from_raw(default_id(i), name, raw.clone())),
        Some(args @ Value::Object(_)) => {
            Ok(ToolCall::from_value(default_id(i), name, args.clone()))
        }
        Some(_) => Err(format!("{at}.arguments must be a mapping or JSON text")),
    }
}

fn json_empty() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Reads the `response:` setting. An unknown key fails as its value is read, so that the
/// error carries the key's place in the file (the format adds it).
pub(super) fn read_setting<'de, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Option::<Checked>::deserialize(deserializer).map(|v| v.map(|c| c.0))
}

/// A JSON value read with the keys of an answer (or of its parts) checked.
struct Checked(Value);

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Part::Answer.deserialize(deserializer).map(Checked)
    }
}

/// Which part of an answer a value is: what its keys may be.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    /// The setting: an answer, or a list of them.
    Answer,
    /// One answer: `text`, `tool_calls`.
    Step,
    /// The list of calls.
    Calls,
    /// One call: `name`, `arguments`.
    Call,
    /// Anything (text, arguments): not checked.
    Free,
}

impl<'de> DeserializeSeed<'de> for Part {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self {
            Part::Free => Value::deserialize(deserializer),
            _ => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Part {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(ANSWER_SHAPE)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Value, S::Error> {
        let item = match self {
            Part::Answer => Part::Step,
            Part::Calls => Part::Call,
            _ => Part::Free,
        };
        let mut items = Vec::new();
        while let Some(value) = seq.next_element_seed(item)? {
            items.push(value);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Value, M::Error> {
        let valid = match self {
            Part::Answer | Part::Step => ANSWER_KEYS,
            Part::Call => CALL_KEYS,
            Part::Calls | Part::Free => &[],
        };
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let part = match (self, key.as_str()) {
                (Part::Answer | Part::Step, "tool_calls") => Part::Calls,
                (Part::Answer | Part::Step | Part::Call, k) if !valid.contains(&k) => {
                    let message = unknown_key("", &key, valid);
                    return Err(match map.next_value_seed(Reject(message)) {
                        Err(err) => err,
                        Ok(never) => match never {},
                    });
                }
                _ => Part::Free,
            };
            let value = map.next_value_seed(part)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}
