//! The `mock` handler: answers a call with a static result, a template over the call's
//! arguments and the row, or the row's own entry in `tool_results`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::registry::{read_settings, BuildError, Built, HandlerKind, HandlerSpec, RowResults};
use super::{ToolFailure, ToolHandler};
use crate::provider::BoxFuture;
use crate::template::{is_template, TemplateErrorKind, TemplateSet};
use crate::tools::ToolCall;

/// `kind: mock`.
pub(crate) const KIND: HandlerKind = HandlerKind {
    name: "mock",
    keys: &["result", "error"],
    build,
    example: "{kind: mock, result: \"{{ args.city }}: 18°C, sunny\"}",
};

/// The row variable holding each case's own results, by tool name.
pub const TOOL_RESULTS: &str = "tool_results";

/// The variables a template reads besides the row's.
const CALL_VARIABLES: [&str; 2] = ["args", "tool"];

/// A mock entry as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MockSettings {
    /// The result: text (a template when it holds `{{`, `{%` or `{#`), or any other value,
    /// given to the model as JSON.
    #[serde(default)]
    result: Option<Value>,
    /// An error result instead (a template too), to see how the model copes with a
    /// failing tool.
    #[serde(default)]
    error: Option<String>,
}

/// What the handler answers with when the row has no entry of its own.
#[derive(Debug)]
enum Own {
    /// A result.
    Result(Text),
    /// An error result.
    Error(Text),
}

/// Text given as written, or a template rendered per call.
#[derive(Debug)]
enum Text {
    /// As written.
    Static(String),
    /// The name of a template of the handler's set.
    Template(String),
}

/// Answers calls from its entry and the row.
pub(crate) struct MockHandler {
    own: Option<Own>,
    templates: TemplateSet,
}

fn build(spec: &HandlerSpec<'_>) -> Result<Built, BuildError> {
    let settings: MockSettings = read_settings(spec.settings)?;
    let mut templates = TemplateSet::new(spec.partials).map_err(BuildError::Template)?;
    let mut reads = Vec::new();
    let mut text = |key: &str, source: String| -> Result<Text, BuildError> {
        if !is_template(&source) {
            return Ok(Text::Static(source));
        }
        let name = format!("{}.{key}", spec.label);
        templates
            .add_inline(&name, &source, &(spec.locate)(key))
            .map_err(BuildError::Template)?;
        let mut vars = templates.inline_variables(&name);
        vars.retain(|v| !CALL_VARIABLES.contains(&v.as_str()));
        reads.push((name.clone(), vars));
        Ok(Text::Template(name))
    };
    let own = match (settings.result, settings.error) {
        (Some(_), Some(_)) => {
            return Err(BuildError::settings(
                Some("error"),
                "`result` and `error` exclude each other",
                Some("keep `result` for an answer, or `error` for a failing tool".into()),
            ))
        }
        (Some(Value::String(s)), None) => Some(Own::Result(text("result", s)?)),
        (Some(value), None) => Some(Own::Result(Text::Static(value.to_string()))),
        (None, Some(e)) => Some(Own::Error(text("error", e)?)),
        (None, None) => None,
    };
    let row_results = if own.is_some() {
        RowResults::Override
    } else {
        RowResults::Required
    };
    Ok(Built {
        handler: Arc::new(MockHandler { own, templates }),
        reads: reads.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        row_results,
    })
}

impl ToolHandler for MockHandler {
    fn call<'a>(
        &'a self,
        call: &'a ToolCall,
        vars: &'a serde_json::Map<String, Value>,
    ) -> BoxFuture<'a, Result<String, ToolFailure>> {
        Box::pin(std::future::ready(self.answer(call, vars)))
    }
}

impl MockHandler {
    /// The row's entry for the call's tool, else the handler's own answer.
    fn answer(
        &self,
        call: &ToolCall,
        vars: &serde_json::Map<String, Value>,
    ) -> Result<String, ToolFailure> {
        if let Some(entry) = row_entry(vars, &call.name) {
            return row_answer(entry, call);
        }
        match &self.own {
            Some(Own::Result(text)) => self.text(text, call, vars),
            Some(Own::Error(text)) => Err(ToolFailure::new(self.text(text, call, vars)?)),
            None => Err(ToolFailure::new(format!(
                "no result for `{}`: this case has no `{TOOL_RESULTS}.{}`",
                call.name, call.name
            ))),
        }
    }

    /// `text` for one call: as written, or rendered over the row, `args` and `tool`.
    fn text(
        &self,
        text: &Text,
        call: &ToolCall,
        vars: &serde_json::Map<String, Value>,
    ) -> Result<String, ToolFailure> {
        let name = match text {
            Text::Static(s) => return Ok(s.clone()),
            Text::Template(name) => name,
        };
        let Some(args) = &call.arguments else {
            return Err(ToolFailure::new(format!(
                "the arguments are not valid JSON: {}",
                call.arguments_raw
            )));
        };
        let mut context = vars.clone();
        context.insert("args".into(), args.clone());
        context.insert("tool".into(), Value::String(call.name.clone()));
        let context = minijinja::Value::from_serialize(&context);
        self.templates
            .render_inline(name, &context)
            .map_err(|err| match err.kind() {
                TemplateErrorKind::Render { message, .. } => {
                    ToolFailure::new(format!("cannot render the mock result: {message}"))
                }
                _ => ToolFailure::new(format!("cannot render the mock result: {err}")),
            })
    }
}

/// The row's `tool_results` entry for `tool`, if it has one.
pub(crate) fn row_entry<'a>(
    vars: &'a serde_json::Map<String, Value>,
    tool: &str,
) -> Option<&'a Value> {
    vars.get(TOOL_RESULTS)?.as_object()?.get(tool)
}

/// The answer a row's entry gives `call`: text as written; a list of cases, the first whose
/// `args` the call's arguments contain; any other value as JSON.
fn row_answer(entry: &Value, call: &ToolCall) -> Result<String, ToolFailure> {
    let Value::Array(cases) = entry else {
        return Ok(json_text(entry));
    };
    let empty = serde_json::Map::new();
    let arguments = call
        .arguments
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for case in cases {
        let Some(case) = case.as_object() else {
            continue;
        };
        let wanted = case
            .get("args")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let matches = wanted
            .iter()
            .all(|(k, v)| arguments.get(k).is_some_and(|a| same_value(a, v)));
        if !matches {
            continue;
        }
        if let Some(error) = case.get("error") {
            return Err(ToolFailure::new(json_text(error)));
        }
        return Ok(case.get("result").map(json_text).unwrap_or_default());
    }
    Err(ToolFailure::new(format!(
        "no case of this row's `{TOOL_RESULTS}.{}` matches the arguments {}",
        call.name, call.arguments_raw
    )))
}

/// Checks a row's entry for one tool; the problem, as a fragment, when it is malformed.
pub(crate) fn check_row_entry(entry: &Value) -> Result<(), String> {
    let Value::Array(cases) = entry else {
        return Ok(());
    };
    let keys = ["args", "result", "error"];
    for (i, case) in cases.iter().enumerate() {
        let Some(case) = case.as_object() else {
            return Err(format!(
                "case [{i}] must be a mapping like {{args: {{city: Rome}}, result: \"18°C\"}}"
            ));
        };
        if let Some(key) = case.keys().find(|k| !keys.contains(&k.as_str())) {
            let near = crate::diagnostic::suggest(key, &keys)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "case [{i}] has unknown key `{key}`{near}. Choose from: args, result, error"
            ));
        }
        if case.get("args").is_some_and(|a| !a.is_object()) {
            return Err(format!(
                "case [{i}]: `args` must be a mapping of argument values"
            ));
        }
        match (case.contains_key("result"), case.contains_key("error")) {
            (true, true) => {
                return Err(format!(
                    "case [{i}]: `result` and `error` exclude each other"
                ))
            }
            (false, false) => return Err(format!("case [{i}] needs `result` or `error`")),
            _ => {}
        }
    }
    Ok(())
}

/// A string as itself, anything else as compact JSON.
fn json_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether an argument equals a case's value: numbers by value (`1` and `1.0`), the rest
/// as JSON.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| same_value(a, b)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::diagnostic::Location;
    use serde_json::json;

    fn built(settings: Value) -> Result<Built, BuildError> {
        let partials = BTreeMap::new();
        let spec = HandlerSpec {
            label: "tool_handlers.get_weather",
            settings: settings.as_object().unwrap(),
            root: std::path::Path::new("."),
            partials: &partials,
            locate: &|key| Location::line("evals/w.yaml", if key == "result" { 7 } else { 8 }),
        };
        build(&spec)
    }

    fn handler(settings: Value) -> Arc<dyn ToolHandler> {
        match built(settings) {
            Ok(b) => b.handler,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn call(args: Value) -> ToolCall {
        ToolCall::from_value("c1", "get_weather", args)
    }

    fn vars(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    async fn answer(h: &Arc<dyn ToolHandler>, c: &ToolCall, v: Value) -> Result<String, String> {
        h.call(c, &vars(v)).await.map_err(|f| f.message)
    }

    #[tokio::test]
    async fn static_and_json_results() {
        let h = handler(json!({"result": "18°C, sunny"}));
        let rome = call(json!({"city": "Rome"}));
        assert_eq!(answer(&h, &rome, json!({})).await.unwrap(), "18°C, sunny");
        let h = handler(json!({"result": {"temp": 18, "sky": "sunny"}}));
        assert_eq!(
            answer(&h, &rome, json!({})).await.unwrap(),
            r#"{"temp":18,"sky":"sunny"}"#
        );
    }

    #[tokio::test]
    async fn templates_read_the_arguments_and_the_row() {
        let b = built(json!({"result": "{{ args.city }}: 18°C, {{ sky }} ({{ tool }})"})).unwrap();
        assert_eq!(b.reads.len(), 1);
        assert_eq!(b.reads[0].1, BTreeSet::from(["sky".to_string()]));
        assert_eq!(b.row_results, RowResults::Override);
        let rome = call(json!({"city": "Rome"}));
        let got = answer(&b.handler, &rome, json!({"sky": "sunny"})).await;
        assert_eq!(got.unwrap(), "Rome: 18°C, sunny (get_weather)");
        // An argument the model left out is an error result, not a crash.
        let nothing = call(json!({}));
        let err = answer(&b.handler, &nothing, json!({"sky": "x"}))
            .await
            .unwrap_err();
        assert!(err.starts_with("cannot render the mock result: "), "{err}");
        assert!(err.contains("city"), "{err}");
        let raw = ToolCall::from_raw("c", "get_weather", "{city");
        let err = answer(&b.handler, &raw, json!({"sky": "x"}))
            .await
            .unwrap_err();
        assert_eq!(err, "the arguments are not valid JSON: {city");
    }

    #[tokio::test]
    async fn error_results() {
        let h = handler(json!({"error": "service unavailable for {{ args.city }}"}));
        let rome = call(json!({"city": "Rome"}));
        let err = answer(&h, &rome, json!({})).await.unwrap_err();
        assert_eq!(err, "service unavailable for Rome");
    }

    #[test]
    fn bad_entries() {
        let err = built(json!({"result": "a", "error": "b"})).err().unwrap();
        assert!(matches!(err, BuildError::Settings { key: Some(k), .. } if k == "error"));
        let err = built(json!({"reslt": "a"})).err().unwrap();
        match err {
            BuildError::Settings { key, message, .. } => {
                assert_eq!(key.as_deref(), Some("reslt"));
                assert_eq!(
                    message,
                    "unknown key `reslt` (did you mean `result`?). Choose from: result, error"
                );
            }
            other => panic!("{other:?}"),
        }
        match built(json!({"result": "{{ args.city "})).err().unwrap() {
            BuildError::Template(e) => {
                let text = e.to_string();
                assert!(text.starts_with("evals/w.yaml:7: "), "{text}");
                assert!(text.contains("tool_handlers.get_weather.result"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn row_entries_win_and_may_depend_on_the_arguments() {
        let b = built(json!({})).unwrap();
        assert_eq!(b.row_results, RowResults::Required);
        let h = b.handler;
        let rome = call(json!({"city": "Rome", "unit": "c"}));
        let paris = call(json!({"city": "Paris"}));
        let err = answer(&h, &rome, json!({})).await.unwrap_err();
        assert_eq!(
            err,
            "no result for `get_weather`: this case has no `tool_results.get_weather`"
        );
        let row = json!({"tool_results": {"get_weather": "22°C"}});
        assert_eq!(answer(&h, &rome, row).await.unwrap(), "22°C");
        let table = json!({"tool_results": {"get_weather": [
            {"args": {"city": "Rome"}, "result": "18°C"},
            {"args": {"city": "Oslo"}, "error": "station offline"},
            {"args": {"city": "Lima", "days": 2}, "result": {"t": [1, 2]}},
        ]}});
        assert_eq!(answer(&h, &rome, table.clone()).await.unwrap(), "18°C");
        let oslo = call(json!({"city": "Oslo"}));
        assert_eq!(
            answer(&h, &oslo, table.clone()).await.unwrap_err(),
            "station offline"
        );
        let lima = call(json!({"city": "Lima", "days": 2.0}));
        assert_eq!(
            answer(&h, &lima, table.clone()).await.unwrap(),
            r#"{"t":[1,2]}"#
        );
        let err = answer(&h, &paris, table).await.unwrap_err();
        assert_eq!(
            err,
            r#"no case of this row's `tool_results.get_weather` matches the arguments {"city":"Paris"}"#
        );
        // A case without `args` matches any call: a fallback after the specific ones.
        let fallback = json!({"tool_results": {"get_weather": [
            {"args": {"city": "Rome"}, "result": "18°C"}, {"result": "no data"},
        ]}});
        assert_eq!(answer(&h, &paris, fallback).await.unwrap(), "no data");
        // The row's entry wins over the handler's own result; other tools are unaffected.
        let h = handler(json!({"result": "default"}));
        let row = json!({"tool_results": {"get_weather": "row's", "other": "x"}});
        assert_eq!(answer(&h, &rome, row).await.unwrap(), "row's");
        let row = json!({"tool_results": {"other": "x"}});
        assert_eq!(answer(&h, &rome, row).await.unwrap(), "default");
    }

    #[test]
    fn row_entries_are_checked() {
        assert!(check_row_entry(&json!("x")).is_ok());
        assert!(check_row_entry(&json!({"a": 1})).is_ok());
        assert!(
            check_row_entry(&json!([{"args": {"a": 1}, "result": "x"}, {"error": "e"}])).is_ok()
        );
        let e = check_row_entry(&json!([{"args": {}, "reslt": "x"}])).unwrap_err();
        assert_eq!(
            e,
            "case [0] has unknown key `reslt` (did you mean `result`?). Choose from: args, result, error"
        );
        let e = check_row_entry(&json!(["x"])).unwrap_err();
        assert!(e.starts_with("case [0] must be a mapping"), "{e}");
        let e = check_row_entry(&json!([{"args": "Rome", "result": 1}])).unwrap_err();
        assert!(e.contains("`args` must be a mapping"), "{e}");
        let e = check_row_entry(&json!([{"args": {}}])).unwrap_err();
        assert_eq!(e, "case [0] needs `result` or `error`");
    }
}
