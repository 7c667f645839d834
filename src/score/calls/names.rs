//! A list of function names as an assertion's `value`: written out, a row variable, or a
//! template (a JSON list or comma-separated names).

use serde_json::Value as Json;

use super::super::json_expect::Expected;
use super::super::value::{describe, Compiler, Text};
use super::super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

/// Function names, as `tool-sequence` and `tool-call-f1` read them.
#[derive(Debug)]
pub(super) enum Names {
    /// A list in the eval file; each item may be a template.
    List(Vec<Text>),
    /// One string: a row variable (its list, or its text) or a template's text.
    One(Expected),
}

impl Names {
    /// Reads the spec's `value`; absent → the entry's default variable (`expected_tools`).
    pub(super) fn compile(
        c: &mut Compiler<'_>,
        example: &'static str,
    ) -> Result<Names, ScoreError> {
        let value = match c.spec.value.clone() {
            None => return Ok(Names::One(Expected::Var(c.default_variable(example)?))),
            Some(value) => value,
        };
        match &value {
            Json::String(_) => Ok(Names::One(Expected::compile(c, &value)?)),
            Json::Array(items) => {
                let mut texts = Vec::with_capacity(items.len());
                for (idx, item) in items.iter().enumerate() {
                    let Json::String(name) = item else {
                        return Err(c.invalid(
                            format!(
                                "`value[{idx}]` must be a function name, found {}",
                                describe(item)
                            ),
                            example,
                        ));
                    };
                    texts.push(c.text(name)?);
                }
                Ok(Names::List(texts))
            }
            other => Err(c.invalid(
                format!(
                    "`value` must be a list of function names, found {}",
                    describe(other)
                ),
                example,
            )),
        }
    }

    /// The names for one row. `Err` is the whole failure reason.
    pub(super) fn resolve(
        &self,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
    ) -> Result<Vec<String>, String> {
        match self {
            Names::List(texts) => texts
                .iter()
                .map(|text| text.resolve(input, templates).map(|t| t.trim().to_string()))
                .collect(),
            Names::One(expected) => from_json(&*expected.resolve(input, templates)?),
        }
    }
}

/// A list of names (strings, or mappings with a `name`), or a text: a JSON list, or names
/// separated by commas (a CSV column), none when empty.
fn from_json(value: &Json) -> Result<Vec<String>, String> {
    match value {
        Json::Array(items) => items.iter().map(name_of).collect(),
        Json::String(text) if text.trim_start().starts_with('[') => {
            match serde_json::from_str::<Json>(text) {
                Ok(parsed @ Json::Array(_)) => from_json(&parsed),
                _ => Err(format!(
                    "could not read {text:?} as a list of function names"
                )),
            }
        }
        Json::String(text) => Ok(text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect()),
        Json::Null => Ok(Vec::new()),
        other => Err(format!(
            "the expected names must be a list of function names, found {}",
            describe(other)
        )),
    }
}

fn name_of(item: &Json) -> Result<String, String> {
    match item {
        Json::String(name) => Ok(name.trim().to_string()),
        Json::Object(map) => match map.get("name") {
            Some(Json::String(name)) => Ok(name.clone()),
            _ => Err(format!("{} is not a function name", describe(item))),
        },
        other => Err(format!("{} is not a function name", describe(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_come_from_lists_json_text_and_comma_separated_text() {
        assert_eq!(from_json(&json!(["a", "b"])).unwrap(), ["a", "b"]);
        assert_eq!(from_json(&json!([{"name": "a"}])).unwrap(), ["a"]);
        assert_eq!(from_json(&json!("[\"a\", \"b\"]")).unwrap(), ["a", "b"]);
        assert_eq!(from_json(&json!("a, b,")).unwrap(), ["a", "b"]);
        assert!(from_json(&json!("")).unwrap().is_empty());
        assert!(from_json(&json!(null)).unwrap().is_empty());
        assert!(from_json(&json!(3)).is_err());
        assert!(from_json(&json!([1])).is_err());
        assert!(from_json(&json!("[oops")).is_err());
    }
}
