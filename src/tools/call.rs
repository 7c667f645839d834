//! One call a model made: the function's name and its arguments, raw and parsed.

use serde::{Deserialize, Serialize};

/// A tool call from a model's answer, in one shape for every provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id as the API gave it (`call_…`, `toolu_…`); made up when it gave none.
    #[serde(default)]
    pub id: String,
    /// The function called.
    pub name: String,
    /// The arguments parsed as JSON; `None` when `arguments_raw` is not valid JSON (the
    /// assertions report it; it is not a provider error).
    #[serde(default)]
    pub arguments: Option<serde_json::Value>,
    /// The arguments exactly as the model wrote them.
    #[serde(default)]
    pub arguments_raw: String,
}

impl ToolCall {
    /// A call whose arguments arrive as JSON text (OpenAI, llama-server): parsed here,
    /// kept raw as well.
    pub fn from_raw(
        id: impl Into<String>,
        name: impl Into<String>,
        raw: impl Into<String>,
    ) -> Self {
        let raw = raw.into();
        let arguments = serde_json::from_str(&raw).ok();
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
            arguments_raw: raw,
        }
    }

    /// A call whose arguments arrive as a JSON value (Anthropic, Ollama); the raw text is
    /// its compact serialisation.
    pub fn from_value(
        id: impl Into<String>,
        name: impl Into<String>,
        value: serde_json::Value,
    ) -> Self {
        let raw = value.to_string();
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: Some(value),
            arguments_raw: raw,
        }
    }
}

/// Whether two answers made the same calls: the same functions with the same arguments
/// (parsed, else as written), in the same order. Ids are left out: APIs make them up anew
/// on every request.
pub fn same_calls(a: &[ToolCall], b: &[ToolCall]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name
                && match (&x.arguments, &y.arguments) {
                    (Some(p), Some(q)) => p == q,
                    _ => x.arguments_raw == y.arguments_raw,
                }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_calls_ignore_ids_and_key_order_but_not_arguments() {
        let a = [ToolCall::from_raw("call_1", "f", r#"{"x": 1, "y": 2}"#)];
        let b = [ToolCall::from_raw("call_2", "f", r#"{"y": 2, "x": 1}"#)];
        assert!(same_calls(&a, &b));
        let c = [ToolCall::from_raw("call_3", "f", r#"{"x": 2, "y": 2}"#)];
        assert!(!same_calls(&a, &c));
        let d = [ToolCall::from_raw("call_4", "g", r#"{"x": 1, "y": 2}"#)];
        assert!(!same_calls(&a, &d));
        assert!(!same_calls(&a, &[]));
        assert!(same_calls(&[], &[]));
        let broken = [ToolCall::from_raw("1", "f", "{oops")];
        assert!(!same_calls(&broken, &a));
        assert!(same_calls(
            &broken,
            &[ToolCall::from_raw("2", "f", "{oops")]
        ));
    }

    #[test]
    fn unparseable_arguments_are_kept_raw_and_not_parsed() {
        let call = ToolCall::from_raw("c1", "get_weather", "{\"city\": \"Rome\"");
        assert_eq!(call.arguments, None);
        assert_eq!(call.arguments_raw, "{\"city\": \"Rome\"");
        let ok = ToolCall::from_raw("c2", "get_weather", "{\"city\": \"Rome\"}");
        assert_eq!(ok.arguments, Some(serde_json::json!({"city": "Rome"})));
    }
}
