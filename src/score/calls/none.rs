//! `no-tool-call`: the answer calls no tool (`not-no-tool-call`: it calls one).

use super::super::check::{Check, Outcome};
use super::super::value::Compiler;
use super::super::{ScoreError, ScoreInput};
use super::common::{called, refuse_value};
use crate::template::TemplateSet;

/// A correct `no-tool-call` assertion, for error hints.
pub(crate) const EXAMPLE: &str = "{type: no-tool-call}";

/// Compiles `no-tool-call` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    refuse_value(c, "use `not-tool-called` to forbid one function", EXAMPLE)?;
    Ok(Box::new(NoToolCall))
}

/// `no-tool-call`.
struct NoToolCall;

impl Check for NoToolCall {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        Ok(Outcome::binary(
            input.tool_calls.is_empty(),
            called(input.tool_calls),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use crate::tools::ToolCall;
    use serde_json::json;

    #[test]
    fn passes_without_calls_and_names_them_otherwise() {
        let r = eval_calls(json!({"type": "no-tool-call"}), &[], None, json!({}));
        assert!(r.pass);
        assert_eq!(r.reason, "no tool calls");
        let calls = [ToolCall::from_raw("1", "f", r#"{"a": 1}"#)];
        let r = eval_calls(json!({"type": "no-tool-call"}), &calls, None, json!({}));
        assert!(!r.pass);
        assert_eq!(r.reason, "called f(a=1)");
        let r = eval_calls(json!({"type": "not-no-tool-call"}), &calls, None, json!({}));
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn text_assertions_still_read_the_text_part() {
        let calls = [ToolCall::from_raw("1", "f", "{}")];
        let mut templates = templates();
        let a = compile_in(
            json!({"type": "contains", "value": "sunny"}),
            "t",
            &mut templates,
        )
        .unwrap();
        let vars = minijinja::Value::from(());
        let input = crate::score::ScoreInput {
            output: "It is sunny",
            vars: &vars,
            latency_ms: 0.0,
            tool_calls: &calls,
            tools: None,
            steps: &[],
        };
        assert!(a.evaluate(&input, &templates).pass);
    }

    #[test]
    fn a_value_is_refused() {
        let err = compile_err(json!({"type": "no-tool-call", "value": "f"}));
        assert!(err.to_string().contains("takes no `value`"), "{err}");
    }
}
