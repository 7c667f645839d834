//! Tool calls written compactly on one line (`get_weather(city="Rome")`), for reasons and
//! reports.

use super::ToolCall;

/// Longest argument text shown for one call, in characters.
const ARGS_MAX: usize = 120;

/// One call as `name(key=value, …)`: each argument's value is its compact JSON text, in
/// the order the model wrote them. Arguments that are not a JSON object are shown as the
/// model wrote them; the argument text is cut at 120 characters with `…`.
///
/// ```
/// use prompteval::tools::{show, ToolCall};
///
/// let call = ToolCall::from_raw("c1", "get_weather", r#"{"city": "Rome", "days": 3}"#);
/// assert_eq!(show::compact(&call), r#"get_weather(city="Rome", days=3)"#);
/// ```
pub fn compact(call: &ToolCall) -> String {
    let args = match &call.arguments {
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => call.arguments_raw.replace('\n', " "),
    };
    format!("{}({})", call.name, cut(&args))
}

/// Every call, each after an arrow: `→ get_weather(city="Rome") → get_time()`; empty when
/// there are none.
pub fn arrows(calls: &[ToolCall]) -> String {
    calls
        .iter()
        .map(|call| format!("→ {}", compact(call)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The calls and then the text, as a cell shows its answer: `→ f(a=1) It's sunny`.
pub fn with_text(calls: &[ToolCall], text: &str) -> String {
    match (calls.is_empty(), text.trim().is_empty()) {
        (true, _) => text.to_string(),
        (false, true) => arrows(calls),
        (false, false) => format!("{} {text}", arrows(calls)),
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(ARGS_MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_read_as_function_calls_in_argument_order() {
        let call = ToolCall::from_raw("c", "book", r#"{"to": "Rome", "from": "Oslo", "n": 2}"#);
        assert_eq!(compact(&call), r#"book(to="Rome", from="Oslo", n=2)"#);
        let bare = ToolCall::from_raw("c", "now", "{}");
        assert_eq!(compact(&bare), "now()");
        let broken = ToolCall::from_raw("c", "f", "{\"a\": ");
        assert_eq!(compact(&broken), "f({\"a\": )");
        let long = ToolCall::from_value("c", "f", serde_json::json!({"q": "x".repeat(300)}));
        assert!(compact(&long).ends_with("…)"), "{}", compact(&long));
    }

    #[test]
    fn arrows_come_before_the_text() {
        let calls = [
            ToolCall::from_raw("1", "a", r#"{"x": 1}"#),
            ToolCall::from_raw("2", "b", "{}"),
        ];
        assert_eq!(arrows(&calls), "→ a(x=1) → b()");
        assert_eq!(with_text(&calls, "done"), "→ a(x=1) → b() done");
        assert_eq!(with_text(&calls, "  "), "→ a(x=1) → b()");
        assert_eq!(with_text(&[], "done"), "done");
    }
}
