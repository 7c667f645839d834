//! What the tool-call assertions say about the calls they saw.

use crate::tools::{show, ToolCall};

/// The calls for a reason: `no tool calls`, or `called a(x=1), b()`.
pub(super) fn called(calls: &[ToolCall]) -> String {
    if calls.is_empty() {
        return "no tool calls".to_string();
    }
    let shown: Vec<String> = calls.iter().map(show::compact).collect();
    format!("called {}", shown.join(", "))
}

/// Names for a reason: `[a, b]`.
pub(super) fn names<S: AsRef<str>>(names: &[S]) -> String {
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    format!("[{}]", names.join(", "))
}

/// The names of the calls, in order.
pub(super) fn call_names(calls: &[ToolCall]) -> Vec<&str> {
    calls.iter().map(|call| call.name.as_str()).collect()
}

/// `value` is refused by the types that take none.
pub(super) fn refuse_value(
    c: &crate::score::value::Compiler<'_>,
    what: &str,
    example: &'static str,
) -> Result<(), crate::score::ScoreError> {
    match c.spec.value {
        Some(_) => Err(c.invalid(format!("takes no `value` ({what})"), example)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_names_read_as_lists() {
        assert_eq!(called(&[]), "no tool calls");
        let calls = [
            ToolCall::from_raw("1", "a", r#"{"x": 1}"#),
            ToolCall::from_raw("2", "b", "{}"),
        ];
        assert_eq!(called(&calls), "called a(x=1), b()");
        assert_eq!(names(&call_names(&calls)), "[a, b]");
        assert_eq!(names::<&str>(&[]), "[]");
    }
}
