//! `tool-args`: a JSONPath over one call's arguments selects the expected value (the first
//! call, or with `call: NAME` the first call to NAME).

use serde_json_path::JsonPath;

use super::super::check::{Check, Outcome};
use super::super::json_expect::Expected;
use super::super::json_path::select;
use super::super::value::{show, Compiler, Text};
use super::super::{ScoreError, ScoreInput};
use super::common::called;
use crate::template::TemplateSet;
use crate::tools::show::compact;

/// A correct `tool-args` assertion, for error hints.
pub(crate) const EXAMPLE: &str =
    "{type: tool-args, call: get_weather, path: \"$.city\", value: \"{{ city }}\"}";

/// Compiles `tool-args` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let Some(source) = c.spec.path.clone() else {
        return Err(c.invalid(
            "needs a `path`: a JSONPath over the call's arguments such as `$.city`",
            EXAMPLE,
        ));
    };
    let path = JsonPath::parse(&source)
        .map_err(|err| c.invalid(format!("invalid JSONPath {source:?}: {err}"), EXAMPLE))?;
    let expected = match c.spec.value.clone() {
        None => None,
        Some(value) => Some(Expected::compile(c, &value)?),
    };
    let call = match c.spec.call.clone() {
        None => None,
        Some(name) => Some(c.text(&name)?),
    };
    Ok(Box::new(ToolArgs {
        source,
        path,
        expected,
        call,
    }))
}

/// `tool-args`.
struct ToolArgs {
    source: String,
    path: JsonPath,
    expected: Option<Expected>,
    call: Option<Text>,
}

impl Check for ToolArgs {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let expected = match &self.expected {
            Some(expected) => Some(expected.resolve(input, templates)?),
            None => None,
        };
        let (call, wanted) = match &self.call {
            None => (input.tool_calls.first(), None),
            Some(name) => {
                let name = name.resolve(input, templates)?.trim().to_string();
                let call = input.tool_calls.iter().find(|call| call.name == name);
                (call, Some(name))
            }
        };
        let Some(call) = call else {
            return Ok(Outcome::fail(match wanted {
                None => "no tool calls".to_string(),
                Some(name) => format!("no call to {name} ({})", called(input.tool_calls)),
            }));
        };
        let shown = compact(call);
        let Some(arguments) = &call.arguments else {
            return Ok(Outcome::fail(format!(
                "{shown}: arguments are not JSON ({})",
                show(&call.arguments_raw)
            )));
        };
        let outcome = select(
            &self.source,
            &self.path,
            arguments,
            expected.as_deref(),
            "the arguments",
        );
        Ok(Outcome {
            reason: format!("{shown}: {}", outcome.reason),
            negated_reason: outcome.negated_reason.map(|r| format!("{shown}: {r}")),
            ..outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use crate::tools::ToolCall;
    use serde_json::json;

    fn calls() -> Vec<ToolCall> {
        vec![
            ToolCall::from_raw("1", "find_order", r#"{"order_id": 1042}"#),
            ToolCall::from_raw("2", "get_weather", r#"{"city": "Rome", "days": 3}"#),
        ]
    }

    fn spec(path: &str, value: serde_json::Value, call: Option<&str>) -> serde_json::Value {
        let mut spec = json!({"type": "tool-args", "path": path, "value": value});
        if let Some(call) = call {
            spec["call"] = json!(call);
        }
        spec
    }

    #[test]
    fn the_first_call_or_the_named_one_is_read() {
        let r = eval_calls(
            spec("$.order_id", json!(1042.0), None),
            &calls(),
            None,
            json!({}),
        );
        assert!(r.pass, "numbers by value: {}", r.reason);
        assert_eq!(r.reason, "find_order(order_id=1042): $.order_id is 1042");
        let r = eval_calls(
            spec("$.city", json!("{{ city }}"), Some("get_weather")),
            &calls(),
            None,
            json!({"city": "Rome"}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval_calls(
            spec("$.city", json!("Oslo"), Some("get_weather")),
            &calls(),
            None,
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            r#"get_weather(city="Rome", days=3): $.city is "Rome", expected "Oslo""#
        );
        let r = eval_calls(
            spec("$.days", json!("{{ n }}"), Some("get_weather")),
            &calls(),
            None,
            json!({"n": "3"}),
        );
        assert!(
            r.pass,
            "templated text that parses as a number: {}",
            r.reason
        );
    }

    #[test]
    fn a_missing_call_or_path_fails_and_says_so() {
        let r = eval_calls(
            spec("$.city", json!("Rome"), Some("get_time")),
            &calls(),
            None,
            json!({}),
        );
        assert!(!r.pass);
        assert!(
            r.reason
                .starts_with("no call to get_time (called find_order("),
            "{}",
            r.reason
        );
        let r = eval_calls(spec("$.city", json!("Rome"), None), &[], None, json!({}));
        assert_eq!(r.reason, "no tool calls");
        let r = eval_calls(
            json!({"type": "tool-args", "path": "$.zip", "call": "get_weather"}),
            &calls(),
            None,
            json!({}),
        );
        assert!(!r.pass);
        assert!(
            r.reason.ends_with("$.zip selects nothing in the arguments"),
            "{}",
            r.reason
        );
        let broken = [ToolCall::from_raw("1", "f", "{oops")];
        let r = eval_calls(spec("$.a", json!(1), None), &broken, None, json!({}));
        assert_eq!(r.reason, r#"f({oops): arguments are not JSON ("{oops")"#);
    }

    #[test]
    fn negation_reads_right() {
        let mut s = spec("$.city", json!("Oslo"), Some("get_weather"));
        s["type"] = json!("not-tool-args");
        let r = eval_calls(s, &calls(), None, json!({}));
        assert!(r.pass);
        assert_eq!(
            r.reason,
            r#"get_weather(city="Rome", days=3): $.city is "Rome", not "Oslo""#
        );
    }

    #[test]
    fn bad_shapes_are_compile_errors() {
        let err = compile_err(json!({"type": "tool-args", "value": 1}));
        assert!(err.to_string().contains("needs a `path`"), "{err}");
        let err = compile_err(json!({"type": "tool-args", "path": "$["}));
        assert!(err.to_string().contains("invalid JSONPath"), "{err}");
        let err = compile_err(json!({"type": "json-path", "path": "$.a", "call": "f"}));
        assert!(
            err.to_string()
                .contains("takes no `call` (only `tool-args` reads it)"),
            "{err}"
        );
        let err = compile_err(json!({"type": "tool-args", "path": "$.a", "args": {}}));
        assert!(err.to_string().contains("takes no `args`"), "{err}");
    }
}
