//! `tool-called`: the answer calls the function `value`, optionally with `args:` (exactly,
//! or with `match: partial` as a subset); `not-tool-called` for a call that must not happen.

use serde_json::Value as Json;

use super::super::check::{Check, Outcome};
use super::super::value::{describe, show, Compiler, Text};
use super::super::{ScoreError, ScoreInput};
use super::common::called;
use super::expect::ArgsMatch;
use crate::template::TemplateSet;
use crate::tools::show::compact;

/// A correct `tool-called` assertion, for error hints.
pub(crate) const EXAMPLE: &str =
    "{type: tool-called, value: get_weather, args: {city: \"{{ city }}\"}, match: partial}";

/// Compiles `tool-called` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let name = c.text_value(EXAMPLE)?;
    let partial = match c.spec.match_mode.as_deref() {
        None | Some("exact") => false,
        Some("partial") => true,
        Some(other) => {
            return Err(c.invalid(
                format!(
                    "`match` must be `exact` or `partial`, found {}",
                    show(other)
                ),
                EXAMPLE,
            ))
        }
    };
    let args = match c.spec.args.clone() {
        None if c.spec.match_mode.is_some() => {
            return Err(c.invalid("`match` needs `args`: the arguments to match", EXAMPLE))
        }
        None => None,
        Some(Json::Object(map)) => Some(ArgsMatch::compile(c, &map, partial)?),
        Some(other) => {
            return Err(c.invalid(
                format!(
                    "`args` must be a mapping of argument names to values, found {}",
                    describe(&other)
                ),
                EXAMPLE,
            ))
        }
    };
    Ok(Box::new(ToolCalled { name, args }))
}

/// `tool-called`.
struct ToolCalled {
    name: Text,
    args: Option<ArgsMatch>,
}

impl Check for ToolCalled {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let name = self.name.resolve(input, templates)?;
        let name = name.trim();
        let mut named = input.tool_calls.iter().filter(|call| call.name == name);
        let Some(first) = named.next() else {
            return Ok(
                Outcome::fail(format!("no call to {name} ({})", called(input.tool_calls)))
                    .when_negated(format!("no call to {name}")),
            );
        };
        let Some(args) = &self.args else {
            return Ok(Outcome::pass(format!("called {}", compact(first))));
        };
        let mut difference = None;
        for call in std::iter::once(first).chain(named) {
            match args.differs(call, input, templates)? {
                None => return Ok(Outcome::pass(format!("called {}", compact(call)))),
                Some(found) => {
                    difference.get_or_insert_with(|| format!("{}: {found}", compact(call)));
                }
            }
        }
        Ok(Outcome::fail(difference.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testing::*;
    use crate::diagnostic::Diagnostic;
    use crate::tools::ToolCall;
    use serde_json::json;

    fn weather(raw: &str) -> ToolCall {
        ToolCall::from_raw("c1", "get_weather", raw)
    }

    #[test]
    fn a_call_by_name_passes_and_a_missing_one_names_what_was_called() {
        let calls = [weather(r#"{"city": "Rome"}"#)];
        let r = eval_calls(
            json!({"type": "tool-called", "value": "get_weather"}),
            &calls,
            None,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, r#"called get_weather(city="Rome")"#);
        let r = eval_calls(
            json!({"type": "tool-called", "value": "get_time"}),
            &calls,
            None,
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(r.score, 0.0);
        assert_eq!(
            r.reason,
            r#"no call to get_time (called get_weather(city="Rome"))"#
        );
        let r = eval_calls(
            json!({"type": "tool-called", "value": "get_time"}),
            &[],
            None,
            json!({}),
        );
        assert_eq!(r.reason, "no call to get_time (no tool calls)");
    }

    #[test]
    fn exact_args_must_match_every_key_and_name_the_differing_one() {
        let spec = |args: serde_json::Value| json!({"type": "tool-called", "value": "get_weather", "args": args});
        let calls = [weather(r#"{"city": "Paris", "days": 3}"#)];
        let r = eval_calls(
            spec(json!({"city": "Paris", "days": 3.0})),
            &calls,
            None,
            json!({}),
        );
        assert!(r.pass, "numbers by value: {}", r.reason);
        let r = eval_calls(
            spec(json!({"city": "Rome", "days": 3})),
            &calls,
            None,
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            r#"get_weather(city="Paris", days=3): `city` is "Paris", expected "Rome""#
        );
        let r = eval_calls(spec(json!({"city": "Paris"})), &calls, None, json!({}));
        assert!(!r.pass);
        assert!(
            r.reason.ends_with("unexpected argument `days` = 3"),
            "{}",
            r.reason
        );
        let r = eval_calls(
            spec(json!({"city": "Paris", "days": 3, "units": "C"})),
            &calls,
            None,
            json!({}),
        );
        assert!(r.reason.ends_with("`units` is missing"), "{}", r.reason);
    }

    #[test]
    fn partial_args_are_a_subset_at_every_level() {
        let calls = [weather(
            r#"{"place": {"city": "Rome", "zip": "00100"}, "days": 3}"#,
        )];
        let spec = json!({"type": "tool-called", "value": "get_weather", "match": "partial",
            "args": {"place": {"city": "Rome"}}});
        let r = eval_calls(spec, &calls, None, json!({}));
        assert!(r.pass, "{}", r.reason);
        let spec = json!({"type": "tool-called", "value": "get_weather", "match": "partial",
            "args": {"place": {"city": "Milan"}}});
        let r = eval_calls(spec, &calls, None, json!({}));
        assert!(
            r.reason
                .ends_with(r#"`place.city` is "Rome", expected "Milan""#),
            "{}",
            r.reason
        );
    }

    #[test]
    fn args_may_be_templates_over_the_row_and_schema_fragments() {
        let calls = [weather(r#"{"city": "Rome", "days": 5}"#)];
        let spec = json!({"type": "tool-called", "value": "{{ tool }}",
            "args": {"city": "{{ city }}", "days": {"schema": {"type": "integer", "minimum": 1, "maximum": 7}}}});
        let row = json!({"tool": "get_weather", "city": "Rome"});
        let r = eval_calls(spec.clone(), &calls, None, row);
        assert!(r.pass, "{}", r.reason);
        let r = eval_calls(
            spec.clone(),
            &[weather(r#"{"city": "Rome", "days": 9}"#)],
            None,
            json!({"tool": "get_weather", "city": "Rome"}),
        );
        assert!(!r.pass);
        assert!(
            r.reason
                .contains("`days` is 9, which does not match its schema"),
            "{}",
            r.reason
        );
        let r = eval_calls(spec, &calls, None, json!({"tool": "get_weather"}));
        assert!(!r.pass);
        assert!(
            r.reason.contains("undefined variable `city`"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn any_matching_call_of_the_name_passes() {
        let calls = [
            weather(r#"{"city": "Oslo"}"#),
            weather(r#"{"city": "Rome"}"#),
        ];
        let spec = json!({"type": "tool-called", "value": "get_weather", "args": {"city": "Rome"}});
        let r = eval_calls(spec, &calls, None, json!({}));
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, r#"called get_weather(city="Rome")"#);
    }

    #[test]
    fn unparseable_arguments_are_a_difference_not_an_error() {
        let calls = [weather(r#"{"city": "Rome""#)];
        let spec = json!({"type": "tool-called", "value": "get_weather", "args": {"city": "Rome"}});
        let r = eval_calls(spec, &calls, None, json!({}));
        assert!(!r.pass);
        assert!(r.reason.contains("arguments are not JSON"), "{}", r.reason);
    }

    #[test]
    fn not_tool_called_forbids_the_call() {
        let refund = [ToolCall::from_raw("c", "issue_refund", r#"{"amount": 5}"#)];
        let r = eval_calls(
            json!({"type": "not-tool-called", "value": "issue_refund"}),
            &refund,
            None,
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(r.reason, "called issue_refund(amount=5) (not-tool-called)");
        let r = eval_calls(
            json!({"type": "not-tool-called", "value": "issue_refund"}),
            &[],
            None,
            json!({}),
        );
        assert!(r.pass);
        assert_eq!(r.score, 1.0);
        assert_eq!(r.reason, "no call to issue_refund");
    }

    #[test]
    fn works_in_an_assert_set_with_weight_and_metric() {
        let calls = [weather(r#"{"city": "Rome"}"#)];
        let spec = json!({"type": "assert-set", "weight": 2, "metric": "routing", "assert": [
            {"type": "tool-called", "value": "get_weather", "args": {"city": "Rome"}},
            {"type": "not-tool-called", "value": "issue_refund"},
            {"type": "no-tool-call", "weight": 0},
        ]});
        let r = eval_calls(spec, &calls, None, json!({}));
        assert!(r.pass, "the weight-0 member does not decide: {}", r.reason);
        assert_eq!(r.score, 1.0);
        assert_eq!((r.weight, r.metric.as_deref()), (2.0, Some("routing")));
    }

    #[test]
    fn bad_shapes_are_compile_errors_with_the_valid_choices() {
        let err = compile_err(json!({"type": "tool-called"}));
        assert!(err.to_string().contains("needs a `value`"), "{err}");
        let err = compile_err(json!({"type": "tool-called", "value": "f", "args": [1]}));
        assert!(
            err.to_string().contains("`args` must be a mapping"),
            "{err}"
        );
        let err =
            compile_err(json!({"type": "tool-called", "value": "f", "args": {}, "match": "fuzzy"}));
        assert!(
            err.to_string()
                .contains("`match` must be `exact` or `partial`, found \"fuzzy\""),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("match: partial"));
        let err = compile_err(json!({"type": "tool-called", "value": "f", "match": "partial"}));
        assert!(err.to_string().contains("`match` needs `args`"), "{err}");
        let err = compile_err(
            json!({"type": "tool-called", "value": "f", "args": {"a": {"schema": {"type": 3}}}}),
        );
        assert!(
            err.to_string().contains("invalid JSON schema: in `args.a`"),
            "{err}"
        );
        let err = compile_err(json!({"type": "tool-called", "value": "f", "mode": "exact"}));
        assert!(
            err.to_string()
                .contains("takes no `mode` (only `tool-sequence` reads it)"),
            "{err}"
        );
        let err = compile_err(json!({"type": "contains", "value": "f", "args": {}}));
        assert!(
            err.to_string()
                .contains("takes no `args` (only `tool-called` reads it)"),
            "{err}"
        );
    }
}
