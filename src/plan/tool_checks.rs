//! Plan-time checks of the tool-call assertions: a warning when the eval offers no tools,
//! an error for `args:` that no tool the eval offers could ever take.

use crate::diagnostic::{Location, Warning};
use crate::score::{uses_tool_calls, AssertionSpec};
use crate::template::is_template;
use crate::tools::ToolDef;

use super::eval_file::assertion_origin;
use super::{EvalPlan, PlanError as Error, SpecError};

/// The problems of `plan`'s tool-call assertions; `text` is the eval file's text (for the
/// lines of its assertions).
pub(super) fn check(plan: &EvalPlan, text: &str) -> (Vec<Error>, Vec<Warning>) {
    let mut errors = Vec::new();
    let offers_tools = plan.declares_tools() || plan.rows_bring_tools();
    let mut first_use: Option<(Location, String)> = None;
    for (spec, origin, row) in specs(plan, text) {
        if !uses_tool_calls(&spec.kind) {
            continue;
        }
        first_use.get_or_insert_with(|| (origin.clone(), spec.kind.clone()));
        if !offers_tools {
            continue;
        }
        let Some((name, keys)) = expected_call(spec) else {
            continue;
        };
        let offered = offered(plan, row, name);
        if offered.is_empty() && plan.lists_tools() {
            // The function may be one an MCP server lists when the run starts it.
            continue;
        }
        if let Some(message) = never_matches(&spec.kind, name, &keys, &offered, plan, row) {
            errors.push(Error::from(SpecError::Invalid {
                location: origin,
                message,
            }));
        }
    }
    let warnings = match first_use {
        Some((location, kind)) if !offers_tools => vec![Warning {
            location,
            message: format!(
                "`{kind}` looks at tool calls, but no prompt version of this eval declares `tools:` and no row brings any, so the model is offered none"
            ),
        }],
        _ => Vec::new(),
    };
    (errors, warnings)
}

/// Every assertion spec of the eval (assert-set members too) with its origin and, for a
/// row's own, the row's index.
fn specs<'a>(plan: &'a EvalPlan, text: &str) -> Vec<(&'a AssertionSpec, Location, Option<usize>)> {
    let mut out = Vec::new();
    for (i, a) in plan.assertions.iter().enumerate() {
        let origin =
            assertion_origin(text, &plan.path, i).unwrap_or_else(|| Location::file(&plan.path));
        flatten(a.spec(), &origin, None, &mut out);
    }
    for (r, list) in plan.row_assertions.iter().enumerate() {
        let Ok(row) = plan.rows.row(r) else {
            continue;
        };
        let origin = Location::line(&plan.dataset.path, row.line);
        for a in list {
            flatten(a.spec(), &origin, Some(r), &mut out);
        }
    }
    out
}

fn flatten<'a>(
    spec: &'a AssertionSpec,
    origin: &Location,
    row: Option<usize>,
    out: &mut Vec<(&'a AssertionSpec, Location, Option<usize>)>,
) {
    out.push((spec, origin.clone(), row));
    for member in spec.assert.iter().flatten() {
        flatten(member, origin, row, out);
    }
}

/// The function a `tool-called` (with its `args` keys) or a `tool-args` with `call:`
/// expects, when it is written out rather than templated.
fn expected_call(spec: &AssertionSpec) -> Option<(&str, Vec<&str>)> {
    let base = spec.kind.strip_prefix("not-").unwrap_or(&spec.kind);
    let name = match base {
        "tool-called" if spec.args.is_some() => spec.value.as_ref()?.as_str()?,
        "tool-args" => spec.call.as_deref()?,
        _ => return None,
    };
    if is_template(name) {
        return None;
    }
    let keys = match &spec.args {
        Some(serde_json::Value::Object(map)) => map.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    Some((name.trim(), keys))
}

/// The tools named `name` that the cells of the assertion offer: every cell of the eval,
/// or the row's cells for a row's own assertion.
fn offered<'a>(plan: &'a EvalPlan, row: Option<usize>, name: &str) -> Vec<&'a ToolDef> {
    let rows: Vec<usize> = match row {
        Some(r) => vec![r],
        None => (0..plan.rows.len()).collect(),
    };
    let mut found: Vec<&ToolDef> = Vec::new();
    for p in 0..plan.prompts.len() {
        for &r in &rows {
            if let Some(tool) = plan.tool_set(p, r).and_then(|set| set.get(name)) {
                if !found.contains(&tool) {
                    found.push(tool);
                }
            }
        }
    }
    found
}

/// Why the expected call can never match any offered tool: the function is not offered,
/// or an argument is one that every offered schema of it refuses.
fn never_matches(
    kind: &str,
    name: &str,
    keys: &[&str],
    offered: &[&ToolDef],
    plan: &EvalPlan,
    row: Option<usize>,
) -> Option<String> {
    if offered.is_empty() {
        let declared = declared_names(plan, row);
        return Some(format!(
            "`{kind}` expects a call to `{name}`, which no tool offered to this eval declares ({}); the assertion can never match",
            if declared.is_empty() { "none is offered".to_string() } else { format!("offered: {}", declared.join(", ")) }
        ));
    }
    let refused = keys
        .iter()
        .find(|key| offered.iter().all(|tool| refuses(&tool.parameters, key)))?;
    let properties = offered[0]
        .parameters
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|p| p.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    Some(format!(
        "`{kind}` expects `args.{refused}`, but the parameters of `{name}` have no `{refused}` and allow no other (additionalProperties: false; properties: {properties}); the assertion can never match"
    ))
}

/// Whether an object schema refuses the key: it lists `properties` without it, matches
/// none of its `patternProperties` keys by name, and sets `additionalProperties: false`.
fn refuses(schema: &serde_json::Value, key: &str) -> bool {
    let closed = schema.get("additionalProperties") == Some(&serde_json::Value::Bool(false));
    let listed = schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .is_some_and(|p| p.contains_key(key));
    let patterned = schema.get("patternProperties").is_some();
    closed && !listed && !patterned
}

/// The names of the tools the assertion's cells offer, sorted.
fn declared_names(plan: &EvalPlan, row: Option<usize>) -> Vec<String> {
    let rows: Vec<usize> = match row {
        Some(r) => vec![r],
        None => (0..plan.rows.len()).collect(),
    };
    let mut names = std::collections::BTreeSet::new();
    for p in 0..plan.prompts.len() {
        for &r in &rows {
            if let Some(set) = plan.tool_set(p, r) {
                names.extend(set.tools.iter().map(|t| t.name.clone()));
            }
        }
    }
    names.into_iter().collect()
}
