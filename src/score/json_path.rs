//! `json-path`: an RFC 9535 JSONPath over the output's JSON selects the expected value.

use serde_json::Value as Json;
use serde_json_path::JsonPath;

use super::check::{Check, Outcome};
use super::json::parse_output;
use super::json_expect::{matches, short, Expected};
use super::value::Compiler;
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

/// A correct `json-path` assertion, for error hints.
pub(crate) const EXAMPLE: &str = "{type: json-path, path: \"$.answer.city\", value: Paris}";

/// Compiles `json-path` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let Some(source) = c.spec.path.clone() else {
        return Err(c.invalid(
            "needs a `path`: a JSONPath such as `$.answer.city`",
            EXAMPLE,
        ));
    };
    let path = JsonPath::parse(&source)
        .map_err(|err| c.invalid(format!("invalid JSONPath {source:?}: {err}"), EXAMPLE))?;
    let expected = match c.spec.value.clone() {
        None => None,
        Some(value) => Some(Expected::compile(c, &value)?),
    };
    Ok(Box::new(JsonPathCheck {
        source,
        path,
        expected,
    }))
}

/// `json-path`.
struct JsonPathCheck {
    source: String,
    path: JsonPath,
    expected: Option<Expected>,
}

impl Check for JsonPathCheck {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let expected = match &self.expected {
            Some(expected) => Some(expected.resolve(input, templates)?),
            None => None,
        };
        let value = match parse_output(input.output) {
            Ok(value) => value,
            Err(reason) => return Ok(Outcome::fail(reason)),
        };
        Ok(select(
            &self.source,
            &self.path,
            &value,
            expected.as_deref(),
            "the output",
        ))
    }
}

/// Whether `path` selects `expected` in `doc` (or, without one, anything), as an outcome
/// whose reason names the path; `place` is what `doc` is, for the reason (`the output`).
pub(super) fn select(
    path: &str,
    compiled: &JsonPath,
    doc: &Json,
    expected: Option<&Json>,
    place: &str,
) -> Outcome {
    let nodes = compiled.query(doc).all();
    let selected = match nodes.as_slice() {
        [] => {
            let wanted = expected
                .map(|e| format!(" (expected {})", short(e)))
                .unwrap_or_default();
            return Outcome::fail(format!("{path} selects nothing in {place}{wanted}"))
                .when_negated(format!("{path} selects nothing in {place}"));
        }
        [one] => (*one).clone(),
        many => Json::Array(many.iter().map(|n| (*n).clone()).collect()),
    };
    let verb = if nodes.len() == 1 { "is" } else { "selects" };
    let Some(expected) = expected else {
        return Outcome::pass(format!("{path} {verb} {}", short(&selected)));
    };
    // One node is compared as itself; when it is not equal (or there are several),
    // the list of nodes is compared, so `$.items[*]` can equal `[1, 2]`.
    let equal = matches(&selected, expected)
        || (nodes.len() == 1 && matches(&Json::Array(vec![selected.clone()]), expected));
    if equal {
        Outcome::pass(format!("{path} {verb} {}", short(&selected)))
    } else {
        Outcome::fail(format!(
            "{path} {verb} {}, expected {}",
            short(&selected),
            short(expected)
        ))
        .when_negated(format!(
            "{path} {verb} {}, not {}",
            short(&selected),
            short(expected)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::diagnostic::Diagnostic;
    use serde_json::json;

    const DOC: &str =
        r#"{"answer": {"city": "Paris", "population": 2.1e6, "tags": ["a", "b"]}, "n": 3}"#;

    fn path(p: &str, value: Option<serde_json::Value>) -> serde_json::Value {
        let mut spec = json!({"type": "json-path", "path": p});
        if let Some(v) = value {
            spec["value"] = v;
        }
        spec
    }

    #[test]
    fn equality_at_a_path() {
        let r = eval(path("$.answer.city", Some(json!("Paris"))), DOC, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, r#"$.answer.city is "Paris""#);
        let r = eval(path("$.n", Some(json!(3.0))), DOC, json!({}));
        assert!(r.pass, "{}", r.reason);
        let r = eval(path("$.answer.city", Some(json!("Lyon"))), DOC, json!({}));
        assert!(!r.pass);
        assert_eq!(r.reason, r#"$.answer.city is "Paris", expected "Lyon""#);
    }

    #[test]
    fn values_may_be_row_variables_and_templates() {
        let r = eval(
            path("$.answer.city", Some(json!("{{ expected }}"))),
            DOC,
            json!({"expected": "Paris"}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(path("$.n", Some(json!("{{ n }}"))), DOC, json!({"n": 3}));
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            path("$.n", Some(json!("{{ n + 1 }}"))),
            DOC,
            json!({"n": 2}),
        );
        assert!(r.pass, "templated text that parses as JSON: {}", r.reason);
        let r = eval(
            path("$.answer", Some(json!("{{ expected }}"))),
            DOC,
            json!({"expected": {"tags": ["a", "b"], "population": 2100000, "city": "Paris"}}),
        );
        assert!(
            r.pass,
            "an object-valued variable stays an object: {}",
            r.reason
        );
        let r = eval(path("$.n", Some(json!("{{ expected }}"))), DOC, json!({}));
        assert!(!r.pass);
        assert!(
            r.reason.contains("undefined variable `expected`"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn several_nodes_compare_as_a_list() {
        let r = eval(
            path("$.answer.tags[*]", Some(json!(["a", "b"]))),
            DOC,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, r#"$.answer.tags[*] selects ["a","b"]"#);
        let r = eval(
            path("$.answer.tags", Some(json!(["a", "b"]))),
            DOC,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(path("$..city", Some(json!(["Paris"]))), DOC, json!({}));
        assert!(r.pass, "one node against a one-item list: {}", r.reason);
    }

    #[test]
    fn without_value_the_path_must_select_something() {
        let r = eval(path("$.answer.city", None), DOC, json!({}));
        assert!(r.pass, "{}", r.reason);
        let r = eval(path("$.answer.country", None), DOC, json!({}));
        assert!(!r.pass);
        assert_eq!(r.reason, "$.answer.country selects nothing in the output");
        let r = eval(path("$.x", Some(json!(1))), DOC, json!({}));
        assert_eq!(r.reason, "$.x selects nothing in the output (expected 1)");
    }

    #[test]
    fn negation_and_bad_output() {
        let mut spec = path("$.n", Some(json!(4)));
        spec["type"] = json!("not-json-path");
        let r = eval(spec, DOC, json!({}));
        assert!(r.pass);
        assert_eq!(r.reason, "$.n is 3, not 4");
        let r = eval(
            path("$.n", Some(json!(3))),
            "```json\n{\"n\": 3}\n```",
            json!({}),
        );
        assert!(r.pass, "fences are stripped: {}", r.reason);
        let r = eval(path("$.n", None), "not json", json!({}));
        assert!(r.reason.starts_with("output is not JSON"), "{}", r.reason);
    }

    #[test]
    fn bad_shapes_are_compile_errors() {
        let err = compile_err(json!({"type": "json-path", "value": 1}));
        assert!(err.to_string().contains("needs a `path`"), "{err}");
        assert!(err.hint().unwrap().contains("path: \"$.answer.city\""));
        let err = compile_err(json!({"type": "json-path", "path": "$.a[", "value": 1}));
        assert!(
            err.to_string()
                .starts_with("evals/e.yaml:7: `json-path` assertion: invalid JSONPath \"$.a[\""),
            "{err}"
        );
        let err = compile_err(json!({"type": "json-path", "path": "$.a", "threshold": 1}));
        assert!(err.to_string().contains("takes no `threshold`"), "{err}");
    }
}
