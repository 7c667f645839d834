//! JSON assertions: `is-json`, `json-schema` and `contains-json`.

use serde_json::Value as Json;

use super::check::{Check, Outcome};
use super::value::{describe, Compiler};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

pub(crate) const EX_IS_JSON: &str = "{type: is-json, value: {type: object, required: [answer]}}";
pub(crate) const EX_SCHEMA: &str = "{type: json-schema, value: {type: object, required: [answer]}}";
pub(crate) const EX_CONTAINS: &str =
    "{type: contains-json, value: {type: object, required: [answer]}}";

/// Compiles `is-json`: with a `value`, the output must also match that schema.
pub(crate) fn is_json(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    Ok(match optional_schema(c, EX_IS_JSON)? {
        None => Box::new(IsJson),
        Some(validator) => Box::new(Schema { validator }),
    })
}

/// Compiles `json-schema`: the schema is required.
pub(crate) fn json_schema(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    match optional_schema(c, EX_SCHEMA)? {
        None => Err(c.invalid("needs a `value`: the schema", EX_SCHEMA)),
        Some(validator) => Ok(Box::new(Schema { validator })),
    }
}

/// Compiles `contains-json`.
pub(crate) fn contains_json(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let validator = optional_schema(c, EX_CONTAINS)?;
    Ok(Box::new(ContainsJson { validator }))
}

/// The schema given as `value`, if any.
fn optional_schema(
    c: &Compiler<'_>,
    example: &'static str,
) -> Result<Option<jsonschema::Validator>, ScoreError> {
    match &c.spec.value {
        None => Ok(None),
        Some(schema) => schema_validator(c, schema, example).map(Some),
    }
}

/// Compiles a schema given as `value` (draft 2020-12).
fn schema_validator(
    c: &Compiler<'_>,
    schema: &Json,
    example: &'static str,
) -> Result<jsonschema::Validator, ScoreError> {
    if !matches!(schema, Json::Object(_) | Json::Bool(_)) {
        return Err(c.invalid(
            format!(
                "`value` must be a schema (a mapping), found {}",
                describe(schema)
            ),
            example,
        ));
    }
    jsonschema::draft202012::new(schema).map_err(|err| ScoreError::InvalidSchema {
        origin: c.origin.clone(),
        kind: c.spec.kind.clone(),
        message: err.to_string(),
    })
}

/// The output as JSON (after [`strip_fence`]); `Err` is a failure reason.
pub(crate) fn parse_output(output: &str) -> Result<Json, String> {
    serde_json::from_str(strip_fence(output)).map_err(|err| not_json(&err))
}

/// The first schema violation of `value`, as a reason; `None` when it matches.
fn violation(validator: &jsonschema::Validator, value: &Json) -> Option<String> {
    let mut errors = validator.iter_errors(value);
    let first = errors.next()?;
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
    Some(format!("does not match the schema{at}: {first}{more}"))
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
        let value = match parse_output(input.output) {
            Ok(value) => value,
            Err(reason) => return Ok(Outcome::fail(reason)),
        };
        Ok(match violation(&self.validator, &value) {
            None => Outcome::pass("output matches the schema".to_string()),
            Some(why) => Outcome::fail(format!("output {why}"))
                .when_negated("output does not match the schema".to_string()),
        })
    }
}

/// `contains-json`.
struct ContainsJson {
    validator: Option<jsonschema::Validator>,
}

impl Check for ContainsJson {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        let found = find_json(input.output);
        let Some(first) = found.first() else {
            return Ok(Outcome::fail(
                "output contains no JSON object or array".to_string(),
            ));
        };
        let Some(validator) = &self.validator else {
            return Ok(
                Outcome::pass(format!("output contains JSON {}", first.place()))
                    .with_detail(first.detail()),
            );
        };
        if let Some(ok) = found
            .iter()
            .find(|f| violation(validator, &f.value).is_none())
        {
            return Ok(Outcome::pass(format!(
                "output contains JSON {} that matches the schema",
                ok.place()
            ))
            .with_detail(ok.detail()));
        }
        let why = violation(validator, &first.value).unwrap_or_default();
        let others = match found.len() {
            1 => String::new(),
            2 => " (nor does the 1 other JSON value found)".to_string(),
            n => format!(" (nor do the {} other JSON values found)", n - 1),
        };
        Ok(
            Outcome::fail(format!("the JSON {} {why}{others}", first.place()))
                .when_negated("output contains no JSON that matches the schema".to_string())
                .with_detail(first.detail()),
        )
    }
}

/// A JSON value found inside a text, and where it starts.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) value: Json,
    /// 1-based line and column (in characters) of its first character.
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Found {
    /// `object at line 3, column 1`.
    fn place(&self) -> String {
        let what = if self.value.is_array() {
            "array"
        } else {
            "object"
        };
        format!("{what} at line {}, column {}", self.line, self.column)
    }

    fn detail(&self) -> Json {
        serde_json::json!({"json": self.value, "line": self.line, "column": self.column})
    }
}

/// Most JSON values looked for in one output; a guard against pathological text.
const MAX_FOUND: usize = 64;

/// Every JSON object or array in `text`, outermost first and in order: each `{` or `[`
/// where a complete JSON value starts. The text inside a value found is not searched
/// again, so nested objects are not reported twice.
pub(crate) fn find_json(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut from = 0;
    while from < text.len() && found.len() < MAX_FOUND {
        let Some(offset) = text[from..].find(['{', '[']) else {
            break;
        };
        let start = from + offset;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Json>();
        match stream.next() {
            Some(Ok(value)) => {
                let before = &text[..start];
                let line = before.matches('\n').count() + 1;
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = text[line_start..start].chars().count() + 1;
                found.push(Found {
                    value,
                    line,
                    column,
                });
                from = start + stream.byte_offset();
            }
            _ => from = start + 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::ScoreError;
    use super::{find_json, strip_fence};
    use crate::diagnostic::Diagnostic;
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
    fn is_json_with_a_schema_validates() {
        let spec = json!({"type": "is-json", "value": {"type": "object", "required": ["a"]}});
        let r = eval(spec.clone(), "```json\n{\"a\": 1}\n```", json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "output matches the schema");
        let r = eval(spec.clone(), "{\"b\": 1}", json!({}));
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            "output does not match the schema: \"a\" is a required property"
        );
        let r = eval(spec, "nope", json!({}));
        assert!(r.reason.starts_with("output is not JSON"), "{}", r.reason);
        let err = compile_err(json!({"type": "is-json", "value": "object"}));
        assert!(err.to_string().contains("must be a schema"), "{err}");
        assert!(err.hint().unwrap().contains("is-json"));
    }

    #[test]
    fn find_json_in_prose_and_fences() {
        let text = "Sure! Here it is:\n```json\n{\"a\": {\"b\": [1, 2]}}\n```\nand [3] too.";
        let found = find_json(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].value, json!({"a": {"b": [1, 2]}}));
        assert_eq!((found[0].line, found[0].column), (3, 1));
        assert_eq!(found[1].value, json!([3]));
        assert_eq!((found[1].line, found[1].column), (5, 5));
        assert!(find_json("no json {here} or [there").is_empty());
        assert!(find_json("").is_empty());
        let found = find_json("é {\"x\": 1}");
        assert_eq!(found[0].column, 3);
    }

    #[test]
    fn contains_json_finds_the_first_value() {
        let r = eval(
            json!({"type": "contains-json"}),
            "The answer is {\"city\": \"Paris\"}.",
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "output contains JSON object at line 1, column 15");
        assert_eq!(r.detail.unwrap()["json"], json!({"city": "Paris"}));
        let r = eval(
            json!({"type": "contains-json"}),
            "no JSON {here}",
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(r.reason, "output contains no JSON object or array");
        let r = eval(json!({"type": "not-contains-json"}), "plain", json!({}));
        assert!(r.pass);
    }

    #[test]
    fn contains_json_with_a_schema_takes_the_first_match() {
        let spec =
            json!({"type": "contains-json", "value": {"type": "object", "required": ["city"]}});
        let r = eval(spec.clone(), "See [1].\n{\"city\": \"Paris\"}", json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(
            r.reason,
            "output contains JSON object at line 2, column 1 that matches the schema"
        );
        let r = eval(spec.clone(), "{\"town\": 1} and [2]", json!({}));
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            "the JSON object at line 1, column 1 does not match the schema: \"city\" is a required property (nor does the 1 other JSON value found)"
        );
        let mut negated = spec;
        negated["type"] = json!("not-contains-json");
        let r = eval(negated, "{\"town\": 1}", json!({}));
        assert!(r.pass);
        assert_eq!(r.reason, "output contains no JSON that matches the schema");
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
