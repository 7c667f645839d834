//! JSON assertions: `is-json` (the output parses as JSON) and `json-schema` (it matches a
//! draft 2020-12 schema given inline as `value`, compiled once).
//!
//! The output is trimmed, and a surrounding Markdown code fence (```` ```json … ``` ````) is
//! removed first, since models often wrap JSON in one. Schemas are never templates.

use serde_json::Value as Json;

use super::check::{Check, Outcome};
use super::value::{describe, Compiler};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

const EX_IS_JSON: &str = "{type: is-json}";
const EX_SCHEMA: &str = "{type: json-schema, value: {type: object, required: [answer]}}";

/// Compiles `is-json` or `json-schema` (`not-` already removed).
pub(crate) fn compile(base: &str, c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    if base == "is-json" {
        c.no_threshold(EX_IS_JSON)?;
        if c.spec.value.is_some() {
            return Err(c.invalid(
                "takes no `value` (use `json-schema` to check the shape)",
                EX_IS_JSON,
            ));
        }
        return Ok(Box::new(IsJson));
    }
    c.no_threshold(EX_SCHEMA)?;
    let schema = match &c.spec.value {
        None => return Err(c.invalid("needs a `value`: the schema", EX_SCHEMA)),
        Some(schema @ (Json::Object(_) | Json::Bool(_))) => schema,
        Some(other) => {
            return Err(c.invalid(
                format!(
                    "`value` must be a schema (a mapping), found {}",
                    describe(other)
                ),
                EX_SCHEMA,
            ))
        }
    };
    let validator =
        jsonschema::draft202012::new(schema).map_err(|err| ScoreError::InvalidSchema {
            origin: c.origin.clone(),
            kind: c.spec.kind.clone(),
            message: err.to_string(),
        })?;
    Ok(Box::new(Schema { validator }))
}

/// The output without surrounding whitespace and Markdown code fence.
pub(crate) fn strip_fence(output: &str) -> &str {
    let text = output.trim();
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let Some(body) = rest.strip_suffix("```") else {
        return text;
    };
    // The opening fence's line may name a language (```json).
    match body.find('\n') {
        Some(newline) => body[newline + 1..].trim(),
        None => body.trim(),
    }
}

/// Why the output is not JSON, from serde_json's error.
fn not_json(err: &serde_json::Error) -> String {
    format!("output is not JSON: {err}")
}

/// `is-json`.
struct IsJson;

impl Check for IsJson {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        Ok(
            match serde_json::from_str::<serde::de::IgnoredAny>(strip_fence(input.output)) {
                Ok(_) => Outcome::pass("output is valid JSON".to_string()),
                Err(err) => Outcome::fail(not_json(&err)),
            },
        )
    }
}

/// `json-schema`.
struct Schema {
    validator: jsonschema::Validator,
}

impl Check for Schema {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        let value: Json = match serde_json::from_str(strip_fence(input.output)) {
            Ok(value) => value,
            Err(err) => return Ok(Outcome::fail(not_json(&err))),
        };
        let mut errors = self.validator.iter_errors(&value);
        let Some(first) = errors.next() else {
            return Ok(Outcome::pass("output matches the schema".to_string()));
        };
        let more = errors.count();
        let path = first.instance_path().to_string();
        let at = if path.is_empty() {
            String::new()
        } else {
            format!(" at {path}")
        };
        let more = match more {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        Ok(Outcome::fail(format!(
            "output does not match the schema{at}: {first}{more}"
        ))
        .when_negated("output does not match the schema".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::ScoreError;
    use super::strip_fence;
    use serde_json::json;

    #[test]
    fn fences_are_stripped() {
        assert_eq!(strip_fence(" {\"a\": 1} "), "{\"a\": 1}");
        assert_eq!(strip_fence("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(strip_fence("```\n[1]\n```\n"), "[1]");
        assert_eq!(strip_fence("```[1]```"), "[1]");
        assert_eq!(strip_fence("```json\n[1]"), "```json\n[1]");
    }

    #[test]
    fn is_json() {
        let r = eval(
            json!({"type": "is-json"}),
            "```json\n{\"a\": [1, 2]}\n```",
            json!({}),
        );
        assert!(r.pass);
        assert_eq!(r.reason, "output is valid JSON");
        let r = eval(json!({"type": "is-json"}), "{\"a\": }", json!({}));
        assert!(!r.pass);
        assert!(
            r.reason
                .starts_with("output is not JSON: expected value at line 1"),
            "{}",
            r.reason
        );
        let r = eval(json!({"type": "not-is-json"}), "plain words", json!({}));
        assert!(r.pass);
        let r = eval(json!({"type": "not-is-json"}), "[]", json!({}));
        assert!(!r.pass);
        assert_eq!(r.reason, "output is valid JSON (not-is-json)");
    }

    #[test]
    fn is_json_takes_no_value() {
        let err = compile_err(json!({"type": "is-json", "value": {"type": "object"}}));
        assert!(err.to_string().contains("use `json-schema`"), "{err}");
    }

    fn schema() -> serde_json::Value {
        json!({
            "type": "json-schema",
            "value": {
                "type": "object",
                "properties": {"answer": {"type": "string"}, "n": {"minimum": 5}},
                "required": ["answer"]
            }
        })
    }

    #[test]
    fn json_schema_pass_and_fail() {
        let r = eval(schema(), r#"{"answer": "yes", "n": 6}"#, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "output matches the schema");
        let r = eval(schema(), r#"{"answer": "yes", "n": 1}"#, json!({}));
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            "output does not match the schema at /n: 1 is less than the minimum of 5"
        );
        let r = eval(schema(), r#"{"n": 1}"#, json!({}));
        assert!(r.reason.ends_with("(and 1 more)"), "{}", r.reason);
        let r = eval(schema(), "not json", json!({}));
        assert!(!r.pass);
        assert!(r.reason.starts_with("output is not JSON"), "{}", r.reason);
    }

    #[test]
    fn not_json_schema() {
        let mut spec = schema();
        spec["type"] = json!("not-json-schema");
        let r = eval(spec.clone(), r#"{"n": 1}"#, json!({}));
        assert!(r.pass);
        assert_eq!(r.reason, "output does not match the schema");
        let r = eval(spec, r#"{"answer": "x"}"#, json!({}));
        assert!(!r.pass);
        assert_eq!(r.reason, "output matches the schema (not-json-schema)");
    }

    #[test]
    fn invalid_schema_is_a_compile_error() {
        let err = compile_err(json!({"type": "json-schema", "value": {"type": "strnig"}}));
        assert!(matches!(err, ScoreError::InvalidSchema { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("evals/e.yaml:7: `json-schema` assertion: invalid JSON schema: "),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("json-schema"));
        let err = compile_err(json!({"type": "json-schema", "value": "object"}));
        assert!(
            err.to_string().contains("must be a schema (a mapping)"),
            "{err}"
        );
        let err = compile_err(json!({"type": "json-schema"}));
        assert!(err.to_string().contains("needs a `value`"), "{err}");
    }
}
