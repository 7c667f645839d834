//! Test helpers shared by the family files: compile a spec written as JSON and evaluate it.

use std::collections::BTreeMap;

use super::{Assertion, ScoreError, ScoreInput};
use crate::diagnostic::Location;
use crate::run::events::AssertionResult;
use crate::template::TemplateSet;
use crate::tools::{ToolCall, ToolSet};

/// An empty template set.
pub(crate) fn templates() -> TemplateSet {
    TemplateSet::new(&BTreeMap::new()).expect("empty template set")
}

/// The origin every test assertion claims.
pub(crate) fn origin() -> Location {
    Location::line("evals/e.yaml", 7)
}

/// Compiles `spec` into `templates`.
pub(crate) fn compile_in(
    spec: serde_json::Value,
    id: &str,
    templates: &mut TemplateSet,
) -> Result<Assertion, ScoreError> {
    let spec = serde_json::from_value(spec).expect("test spec");
    Assertion::compile(&spec, id, &origin(), templates)
}

/// The compile error of `spec`.
pub(crate) fn compile_err(spec: serde_json::Value) -> ScoreError {
    match compile_in(spec, "t", &mut templates()) {
        Ok(a) => panic!("expected a compile error for {:?}", a.spec()),
        Err(err) => err,
    }
}

/// Compiles `spec` and evaluates it on `output` with row `vars`.
pub(crate) fn eval(
    spec: serde_json::Value,
    output: &str,
    vars: serde_json::Value,
) -> AssertionResult {
    eval_latency(spec, output, vars, 0.0)
}

/// [`eval`] with a latency.
pub(crate) fn eval_latency(
    spec: serde_json::Value,
    output: &str,
    vars: serde_json::Value,
    latency_ms: f64,
) -> AssertionResult {
    let mut templates = templates();
    let assertion = compile_in(spec, "t", &mut templates).expect("spec compiles");
    let vars = minijinja::Value::from_serialize(vars);
    let input = ScoreInput {
        output,
        vars: &vars,
        latency_ms,
        tool_calls: &[],
        tools: None,
    };
    assertion.evaluate(&input, &templates)
}

/// Compiles `spec` and evaluates it on an answer of `calls` (and no text) to a request
/// offering `tools`, with row `vars`.
pub(crate) fn eval_calls(
    spec: serde_json::Value,
    calls: &[ToolCall],
    tools: Option<&ToolSet>,
    vars: serde_json::Value,
) -> AssertionResult {
    let mut templates = templates();
    let assertion = compile_in(spec, "t", &mut templates).expect("spec compiles");
    let vars = minijinja::Value::from_serialize(vars);
    let input = ScoreInput {
        output: "",
        vars: &vars,
        latency_ms: 0.0,
        tool_calls: calls,
        tools,
    };
    assertion.evaluate(&input, &templates)
}
