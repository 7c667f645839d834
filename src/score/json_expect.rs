//! Expected JSON values of `json-path` and `json-diff`, and the comparisons they share.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::value::{Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

/// An expected JSON value.
#[derive(Debug)]
pub(crate) enum Expected {
    /// Written in the eval file.
    Literal(Json),
    /// Exactly `{{ name }}`: the row variable's JSON value.
    Var(String),
    /// Any other template: the rendered text, as a JSON string.
    Template(Text),
}

impl Expected {
    /// Reads a spec's `value` (strings may be templates).
    pub(crate) fn compile(c: &mut Compiler<'_>, value: &Json) -> Result<Expected, ScoreError> {
        let Json::String(source) = value else {
            return Ok(Expected::Literal(value.clone()));
        };
        Ok(match c.text(source)? {
            Text::Literal(text) => Expected::Literal(Json::String(text)),
            Text::Var(name) => Expected::Var(name),
            template @ Text::Template(_) => Expected::Template(template),
        })
    }

    /// The value for one row. `Err` is the whole failure reason.
    pub(crate) fn resolve<'a>(
        &'a self,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
    ) -> Result<Cow<'a, Json>, String> {
        match self {
            Expected::Literal(value) => Ok(Cow::Borrowed(value)),
            Expected::Var(name) => {
                let value = input
                    .vars
                    .get_attr(name)
                    .map_err(|err| format!("could not render value: {err}"))?;
                if value.is_undefined() {
                    return Err(format!(
                        "could not render value: undefined variable `{name}`"
                    ));
                }
                serde_json::to_value(&value)
                    .map(Cow::Owned)
                    .map_err(|err| format!("could not read variable `{name}` as JSON: {err}"))
            }
            Expected::Template(text) => text
                .resolve(input, templates)
                .map(|text| Cow::Owned(Json::String(text.into_owned()))),
        }
    }
}

/// JSON equality where numbers compare by value (`1 == 1.0`) and key order does not count.
pub(crate) fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// [`same`], or, when `expected` is text and `actual` is not, `expected` parsed as JSON is
/// [`same`] as `actual`: a templated `"{{ n }}"` that renders `3` matches the number 3.
pub(crate) fn matches(actual: &Json, expected: &Json) -> bool {
    if same(actual, expected) {
        return true;
    }
    match (actual, expected) {
        (Json::String(_), _) => false,
        (_, Json::String(text)) => {
            serde_json::from_str::<Json>(text.trim()).is_ok_and(|parsed| same(actual, &parsed))
        }
        _ => false,
    }
}

/// Longest JSON text shown in a reason, in characters.
const SHORT_MAX: usize = 80;

/// Compact JSON text for a reason, cut at 80 characters with `…`.
pub(crate) fn short(value: &Json) -> String {
    let text = value.to_string();
    match text.char_indices().nth(SHORT_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value_and_keys_in_any_order() {
        assert!(same(&json!(1), &json!(1.0)));
        assert!(!same(&json!(1), &json!(2)));
        assert!(same(
            &json!({"a": 1, "b": [1, 2]}),
            &json!({"b": [1.0, 2], "a": 1})
        ));
        assert!(!same(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!same(&json!([1, 2]), &json!([2, 1])));
        assert!(!same(&json!("1"), &json!(1)));
    }

    #[test]
    fn text_matches_parsed() {
        assert!(matches(&json!(3), &json!("3")));
        assert!(matches(&json!([1, 2]), &json!("[1, 2]")));
        assert!(matches(&json!(true), &json!("true")));
        assert!(!matches(&json!("3"), &json!(3)));
        assert!(!matches(&json!(3), &json!("three")));
    }

    #[test]
    fn short_cuts_long_values() {
        assert_eq!(short(&json!({"a": 1})), r#"{"a":1}"#);
        let long = short(&json!("x".repeat(200)));
        assert_eq!(long.chars().count(), 81);
        assert!(long.ends_with('…'));
    }
}
