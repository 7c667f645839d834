//! Tools and tool calls in the JSON shapes the APIs share: OpenAI's function tools and
//! `tool_choice`, calls read in the OpenAI shape or the flat one, and an agent's history
//! (assistant calls, tool results) written in OpenAI's and Ollama's message shapes.

use serde_json::{json, Value};

use crate::template::message::{Message, Role};
use crate::tools::{ToolCall, ToolChoice, ToolSet};

/// The tools of `set` in OpenAI's shape,
/// `[{"type": "function", "function": {"name", "description", "parameters"}}]` (Ollama's
/// `/api/chat` takes the same).
pub(crate) fn openai_tools(set: &ToolSet) -> Value {
    let tools = set
        .tools
        .iter()
        .map(|tool| {
            let mut function = serde_json::Map::new();
            function.insert("name".into(), tool.name.clone().into());
            if let Some(description) = &tool.description {
                function.insert("description".into(), description.clone().into());
            }
            function.insert("parameters".into(), tool.parameters.clone());
            json!({"type": "function", "function": function})
        })
        .collect();
    Value::Array(tools)
}

/// `choice` as OpenAI's `tool_choice`: `"auto"`, `"required"`, `"none"`, or
/// `{"type": "function", "function": {"name": …}}`.
pub(crate) fn openai_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => "auto".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::None => "none".into(),
        ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

/// The tools of a request, when it offers any (a set without tools is no tools: the APIs
/// reject an empty list, and `tool_choice` without tools).
pub(crate) fn offered(set: Option<&ToolSet>) -> Option<&ToolSet> {
    set.filter(|s| !s.is_empty())
}

/// Reads the tool calls in `value`: a list of calls (or one call), each either in
/// OpenAI's shape `{"id", "function": {"name", "arguments"}}` or flat
/// `{"id", "name", "arguments"}`. Arguments may be JSON text (kept raw, parsed when they
/// parse) or a JSON value; absent arguments are `{}`. A call without an id gets `call_N`
/// (N its position from 0). `null` is no calls.
pub(crate) fn read_calls(value: &Value) -> Result<Vec<ToolCall>, String> {
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        other => return Err(format!("tool calls must be a list, not {}", kind_of(other))),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| read_call(i, item))
        .collect()
}

/// Call number `i` (from 0) of a list of calls (see [`read_calls`]).
fn read_call(i: usize, item: &Value) -> Result<ToolCall, String> {
    let Value::Object(call) = item else {
        return Err(format!(
            "tool call {i} must be a mapping, not {}",
            kind_of(item)
        ));
    };
    let id = match call.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => default_id(i),
    };
    // OpenAI nests name and arguments under `function`; the flat shape has them at the top.
    let body = match call.get("function") {
        Some(Value::Object(function)) => function,
        _ => call,
    };
    let name = match body.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
        _ => return Err(format!("tool call {i} has no function name: {item}")),
    };
    Ok(match body.get("arguments") {
        Some(Value::String(raw)) => ToolCall::from_raw(id, name, raw.clone()),
        None | Some(Value::Null) => ToolCall::from_value(id, name, json!({})),
        Some(value) => ToolCall::from_value(id, name, value.clone()),
    })
}

/// The id of call `i` when the API gave none: `call_0`, `call_1`…
pub(crate) fn default_id(i: usize) -> String {
    format!("call_{i}")
}

/// A history in OpenAI's chat shape. A plain message is `{"role", "content"}` (the bytes
/// every request had before agents); an assistant message with calls adds
/// `tool_calls: [{"id", "type": "function", "function": {"name", "arguments"}}]`, its
/// `content` `null` when it has no text; a tool's result is
/// `{"role": "tool", "tool_call_id", "content"}`.
pub(crate) fn openai_messages(messages: &[Message]) -> Value {
    let items = messages
        .iter()
        .map(|m| match (&m.tool_reply, m.tool_calls.is_empty()) {
            (Some(reply), _) if m.role == Role::Tool => json!({
                "role": "tool", "tool_call_id": reply.call_id, "content": m.content,
            }),
            (_, false) => {
                let calls: Vec<Value> = m.tool_calls.iter().map(openai_call).collect();
                let content = (!m.content.is_empty()).then(|| m.content.clone());
                json!({"role": m.role.as_str(), "content": content, "tool_calls": calls})
            }
            _ => plain(m),
        })
        .collect();
    Value::Array(items)
}

/// One call as OpenAI writes it in an assistant message: its arguments as JSON text.
fn openai_call(call: &ToolCall) -> Value {
    json!({
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments_text(call)},
    })
}

/// A history in Ollama's `/api/chat` shape. A plain message is `{"role", "content"}`; an
/// assistant message with calls adds `tool_calls: [{"function": {"name", "arguments"}}]`
/// with the arguments as a JSON object (Ollama has no call ids); a tool's result is
/// `{"role": "tool", "content", "tool_name"}`.
pub(crate) fn ollama_messages(messages: &[Message]) -> Value {
    let items = messages
        .iter()
        .map(|m| match (&m.tool_reply, m.tool_calls.is_empty()) {
            (Some(reply), _) if m.role == Role::Tool => json!({
                "role": "tool", "content": m.content, "tool_name": reply.name,
            }),
            (_, false) => {
                let calls: Vec<Value> = m
                    .tool_calls
                    .iter()
                    .map(|call| {
                        json!({"function": {"name": call.name, "arguments": arguments_object(call)}})
                    })
                    .collect();
                json!({"role": m.role.as_str(), "content": m.content, "tool_calls": calls})
            }
            _ => plain(m),
        })
        .collect();
    Value::Array(items)
}

/// A message as `{"role", "content"}`.
fn plain(m: &Message) -> Value {
    json!({"role": m.role.as_str(), "content": m.content})
}

/// A call's arguments as JSON text, for APIs that take text (OpenAI): as the model wrote
/// them, so a model sees its own words again; the compact JSON when no text was kept.
pub(crate) fn arguments_text(call: &ToolCall) -> String {
    match (&call.arguments, call.arguments_raw.is_empty()) {
        (_, false) => call.arguments_raw.clone(),
        (Some(value), true) => value.to_string(),
        (None, true) => "{}".into(),
    }
}

/// A call's arguments as a JSON object, for APIs that take one (Anthropic's `input`,
/// Ollama's `arguments`). Arguments that did not parse, or are not an object, cannot be
/// written there: they become `{}` (the record keeps what the model wrote).
pub(crate) fn arguments_object(call: &ToolCall) -> Value {
    match &call.arguments {
        Some(value @ Value::Object(_)) => value.clone(),
        _ => json!({}),
    }
}

/// What kind of JSON value `value` is, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolDef;

    fn set() -> ToolSet {
        ToolSet {
            tools: vec![
                ToolDef {
                    name: "get_weather".into(),
                    description: Some("Weather in a city".into()),
                    parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
                },
                ToolDef {
                    name: "now".into(),
                    description: None,
                    parameters: json!({"type": "object", "properties": {}}),
                },
            ],
            choice: None,
            parallel: None,
            servers: Vec::new(),
        }
    }

    #[test]
    fn tools_are_written_in_openai_function_shape() {
        assert_eq!(
            openai_tools(&set()),
            json!([
                {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
                {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}},
            ])
        );
    }

    #[test]
    fn choices_are_written_as_openai_takes_them() {
        assert_eq!(openai_choice(&ToolChoice::Auto), json!("auto"));
        assert_eq!(openai_choice(&ToolChoice::Required), json!("required"));
        assert_eq!(openai_choice(&ToolChoice::None), json!("none"));
        assert_eq!(
            openai_choice(&ToolChoice::Function("now".into())),
            json!({"type": "function", "function": {"name": "now"}})
        );
    }

    #[test]
    fn an_empty_set_offers_nothing() {
        assert!(offered(None).is_none());
        assert!(offered(Some(&ToolSet::default())).is_none());
        assert!(offered(Some(&set())).is_some());
    }

    #[test]
    fn calls_are_read_in_both_shapes_with_text_or_object_arguments() {
        let calls = read_calls(&json!([
            {"id": "a1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}},
            {"name": "now"},
            {"name": "get_weather", "arguments": {"city": "Oslo"}},
            {"function": {"name": "get_weather", "arguments": "{\"city\": \"Ro"}},
        ]))
        .unwrap();
        let ids: Vec<_> = calls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a1", "call_1", "call_2", "call_3"]);
        assert_eq!(calls[0].arguments, Some(json!({"city": "Rome"})));
        assert_eq!(calls[0].arguments_raw, "{\"city\":\"Rome\"}");
        assert_eq!(calls[1].arguments, Some(json!({})));
        assert_eq!(calls[2].arguments_raw, "{\"city\":\"Oslo\"}");
        // Unparseable arguments are kept, not an error.
        assert_eq!(calls[3].arguments, None);
        assert_eq!(calls[3].arguments_raw, "{\"city\": \"Ro");
    }

    #[test]
    fn one_call_null_and_bad_shapes() {
        assert_eq!(read_calls(&json!({"name": "now"})).unwrap().len(), 1);
        assert!(read_calls(&Value::Null).unwrap().is_empty());
        assert_eq!(
            read_calls(&json!("now")).unwrap_err(),
            "tool calls must be a list, not a string"
        );
        assert_eq!(
            read_calls(&json!([3])).unwrap_err(),
            "tool call 0 must be a mapping, not a number"
        );
        assert!(read_calls(&json!([{"arguments": {}}]))
            .unwrap_err()
            .starts_with("tool call 0 has no function name"));
    }

    /// A user question, the assistant's two calls (one with arguments that never parsed),
    /// their results (the second an error), and the final answer.
    fn history() -> Vec<Message> {
        let rome = ToolCall::from_raw("call_1", "get_weather", r#"{"city": "Rome"}"#);
        let broken = ToolCall::from_raw("call_2", "now", "{tz");
        vec![
            Message::new(Role::System, "Use the tools."),
            Message::new(Role::User, "Weather in Rome?"),
            Message::assistant("", vec![rome.clone(), broken.clone()]),
            Message::tool_result(&rome, "18°C, sunny", false),
            Message::tool_result(&broken, "error: bad arguments", true),
            Message::assistant("It is 18°C.", vec![]),
        ]
    }

    #[test]
    fn a_history_in_openai_shape_keeps_the_raw_arguments_and_answers_ids() {
        assert_eq!(
            openai_messages(&history()),
            json!([
                {"role": "system", "content": "Use the tools."},
                {"role": "user", "content": "Weather in Rome?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{tz"}},
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18°C, sunny"},
                {"role": "tool", "tool_call_id": "call_2", "content": "error: bad arguments"},
                {"role": "assistant", "content": "It is 18°C."},
            ])
        );
        // Text beside calls is kept.
        let both = Message::assistant(
            "Checking.",
            vec![ToolCall::from_value("c", "now", json!({}))],
        );
        assert_eq!(openai_messages(&[both])[0]["content"], "Checking.");
    }

    #[test]
    fn a_history_in_ollama_shape_has_object_arguments_and_tool_names() {
        assert_eq!(
            ollama_messages(&history()),
            json!([
                {"role": "system", "content": "Use the tools."},
                {"role": "user", "content": "Weather in Rome?"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
                    {"function": {"name": "now", "arguments": {}}},
                ]},
                {"role": "tool", "content": "18°C, sunny", "tool_name": "get_weather"},
                {"role": "tool", "content": "error: bad arguments", "tool_name": "now"},
                {"role": "assistant", "content": "It is 18°C."},
            ])
        );
    }

    #[test]
    fn plain_messages_keep_their_bytes() {
        let plain = [
            Message::new(Role::User, "Hi"),
            Message::new(Role::Assistant, "Hello"),
        ];
        let expected = r#"[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]"#;
        assert_eq!(openai_messages(&plain).to_string(), expected);
        assert_eq!(ollama_messages(&plain).to_string(), expected);
    }

    #[test]
    fn arguments_as_text_and_as_an_object() {
        let raw = ToolCall::from_raw("a", "f", r#"{"x": 1}"#);
        assert_eq!(arguments_text(&raw), r#"{"x": 1}"#);
        let mut no_raw = ToolCall::from_value("b", "f", json!({"x": 1}));
        no_raw.arguments_raw.clear();
        assert_eq!(arguments_text(&no_raw), r#"{"x":1}"#);
        no_raw.arguments = None;
        assert_eq!(arguments_text(&no_raw), "{}");
        assert_eq!(arguments_object(&raw), json!({"x": 1}));
        assert_eq!(
            arguments_object(&ToolCall::from_raw("c", "f", "[1]")),
            json!({})
        );
    }
}
