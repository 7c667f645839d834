//! `valid-tool-call`: every call names a tool the request offered and its arguments match
//! that tool's JSON Schema (draft 2020-12); the reason lists each violation.

use super::super::check::{Check, Outcome};
use super::super::value::{show, Compiler};
use super::super::{ScoreError, ScoreInput};
use super::common::refuse_value;
use crate::template::TemplateSet;
use crate::tools::show::compact;
use crate::tools::{ToolCall, ToolSet};

/// A correct `valid-tool-call` assertion, for error hints.
pub(crate) const EXAMPLE: &str = "{type: valid-tool-call}";

/// Compiles `valid-tool-call` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    refuse_value(
        c,
        "the calls are checked against the tools the request offered",
        EXAMPLE,
    )?;
    Ok(Box::new(ValidToolCall))
}

/// `valid-tool-call`.
struct ValidToolCall;

/// What is wrong with one call; empty when it is valid.
fn violations(call: &ToolCall, tools: Option<&ToolSet>) -> Vec<String> {
    let shown = compact(call);
    let Some(tool) = tools.and_then(|tools| tools.get(&call.name)) else {
        let declared = match tools.filter(|t| !t.is_empty()) {
            None => "the request offered no tools".to_string(),
            Some(tools) => {
                let names: Vec<&str> = tools.tools.iter().map(|t| t.name.as_str()).collect();
                format!("declared: {}", names.join(", "))
            }
        };
        return vec![format!(
            "{shown}: `{}` is not a declared tool ({declared})",
            call.name
        )];
    };
    let Some(arguments) = &call.arguments else {
        return vec![format!(
            "{shown}: arguments are not JSON ({})",
            show(&call.arguments_raw)
        )];
    };
    let validator = match jsonschema::draft202012::new(&tool.parameters) {
        Ok(validator) => validator,
        Err(err) => {
            return vec![format!(
                "{shown}: the schema of `{}` is invalid: {err}",
                tool.name
            )]
        }
    };
    validator
        .iter_errors(arguments)
        .map(|err| {
            let at = err.instance_path().to_string();
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" at {at}")
            };
            format!("{shown}{at}: {err}")
        })
        .collect()
}

impl Check for ValidToolCall {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        let calls = input.tool_calls;
        if calls.is_empty() {
            return Ok(Outcome::pass("no tool calls to check".to_string()));
        }
        let found: Vec<Vec<String>> = calls.iter().map(|c| violations(c, input.tools)).collect();
        let valid = found.iter().filter(|v| v.is_empty()).count();
        let score = valid as f64 / calls.len() as f64;
        if valid == calls.len() {
            let shown: Vec<String> = calls.iter().map(compact).collect();
            return Ok(Outcome::pass(format!("valid: {}", shown.join(", "))));
        }
        let all: Vec<String> = found.into_iter().flatten().collect();
        Ok(Outcome::scored(false, score, all.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use crate::tools::{ToolCall, ToolDef, ToolSet};
    use serde_json::json;

    fn tools() -> ToolSet {
        ToolSet {
            tools: vec![ToolDef {
                name: "get_weather".into(),
                description: None,
                parameters: json!({
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                    "required": ["city"],
                    "additionalProperties": false
                }),
            }],
            ..Default::default()
        }
    }

    fn check(calls: &[ToolCall], tools: Option<&ToolSet>) -> crate::run::events::AssertionResult {
        eval_calls(json!({"type": "valid-tool-call"}), calls, tools, json!({}))
    }

    #[test]
    fn valid_calls_pass_and_no_calls_pass_vacuously() {
        let ok = [ToolCall::from_raw(
            "1",
            "get_weather",
            r#"{"city": "Rome"}"#,
        )];
        let r = check(&ok, Some(&tools()));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, r#"valid: get_weather(city="Rome")"#);
        let r = check(&[], Some(&tools()));
        assert!(r.pass);
        assert_eq!(r.reason, "no tool calls to check");
    }

    #[test]
    fn each_violation_is_listed_and_the_score_is_the_valid_share() {
        let calls = [
            ToolCall::from_raw("1", "get_weather", r#"{"city": "Rome"}"#),
            ToolCall::from_raw("2", "get_weather", r#"{"days": "two", "zip": 1}"#),
            ToolCall::from_raw("3", "get_time", "{}"),
            ToolCall::from_raw("4", "get_weather", "{\"city\": "),
        ];
        let r = check(&calls, Some(&tools()));
        assert!(!r.pass);
        assert_eq!(r.score, 0.25);
        assert!(
            r.reason
                .contains(r#"get_weather(days="two", zip=1): "city" is a required property"#),
            "{}",
            r.reason
        );
        assert!(
            r.reason.contains(
                r#"get_weather(days="two", zip=1) at /days: "two" is not of type "integer""#
            ),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("zip"), "{}", r.reason);
        assert!(
            r.reason
                .contains("get_time(): `get_time` is not a declared tool (declared: get_weather)"),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("arguments are not JSON"), "{}", r.reason);
        let r = check(&calls[..1], None);
        assert!(
            r.reason.ends_with("(the request offered no tools)"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_value_is_refused() {
        let err = compile_err(json!({"type": "valid-tool-call", "value": "x"}));
        assert!(err.to_string().contains("takes no `value`"), "{err}");
    }
}
