//! An eval's `tool_handlers:` (over the project's) and `max_steps:` → its
//! [`HandlerSet`], checked against the tools its prompts declare and against its dataset.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::agent::registry::{self, BuildError, Built, HandlerSpec, RowResults};
use crate::agent::{HandlerSet, TOOL_RESULTS};
use crate::config::project::{Project, CONFIG_FILE};
use crate::dataset::{Dataset, Row};
use crate::diagnostic::{Location, Warning};
use crate::plan::PlanError as Error;
use crate::registry::Registry;

use super::tools::RowTools;
use super::types::DEFAULT_MAX_STEPS;
use super::{PlannedPrompt, SpecError};

/// The key of handlers in eval files and `prompteval.yaml`.
const KEY: &str = "tool_handlers";

/// Handlers built so far in this plan, by kind and settings: entries written alike (an
/// eval's and the project's, or two tools served by one server) share one handler, which
/// a run starts once.
#[derive(Default)]
pub(super) struct Cache {
    built: HashMap<String, Built>,
    /// `prompteval.yaml` as text, read the first time a project handler is placed.
    project_text: Option<String>,
}

/// What one eval brings to its handlers.
pub(super) struct EvalHandlers<'a> {
    /// `tool_handlers:` of the eval file, as written.
    pub(super) written: &'a serde_json::Map<String, Value>,
    /// `max_steps:` of the eval file.
    pub(super) max_steps: Option<u32>,
    /// The eval file as the user names it, and its text (for locations).
    pub(super) display: &'a Path,
    pub(super) text: &'a str,
    /// The eval's prompts, selected rows, their tools and the dataset.
    pub(super) prompts: &'a [PlannedPrompt],
    pub(super) rows: &'a super::Rows,
    pub(super) row_tools: &'a RowTools,
    pub(super) dataset: &'a Dataset,
}

/// An eval's handlers and `max_steps`, with what is wrong with them.
pub(super) struct Planned {
    /// `None` when no tool the eval declares has a handler.
    pub(super) handlers: Option<Arc<HandlerSet>>,
    /// The most model calls of one loop.
    pub(super) max_steps: u32,
    pub(super) errors: Vec<Error>,
    pub(super) warnings: Vec<Warning>,
}

/// Where an entry is written: the file, its text and the key path of the entry.
struct Origin<'a> {
    file: &'a Path,
    text: &'a str,
    key: String,
}

impl Origin<'_> {
    /// The line of `sub` under the entry (the entry's own line for `None`).
    fn at(&self, sub: Option<&str>) -> Location {
        let path = match sub {
            Some(sub) => format!("{}.{sub}", self.key),
            None => self.key.clone(),
        };
        Location::line_of_key(self.file, self.text, &path)
    }
}

/// Plans the handlers of one eval: the eval's entries, then the project's for the
/// declared tools the eval leaves out; every entry is built (or taken from `cache`) and
/// checked.
pub(super) fn plan(
    eval: &EvalHandlers<'_>,
    (project, registry): (&Project, &Registry),
    cache: &mut Cache,
) -> Planned {
    let mut out = Planned {
        handlers: None,
        max_steps: eval.max_steps.unwrap_or(DEFAULT_MAX_STEPS),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let eval_loc = |key: &str| Location::line_of_key(eval.display, eval.text, key);
    if eval.max_steps == Some(0) {
        out.errors.push(invalid(
            eval_loc("max_steps"),
            "max_steps",
            "`max_steps` must be at least 1 (one model call)",
            None,
        ));
    }
    let declared = declared_tools(eval.prompts, eval.row_tools);
    let mut set = HandlerSet::default();
    let mut used: Vec<(String, Built)> = Vec::new();
    for (tool, entry) in eval.written {
        let origin = Origin {
            file: eval.display,
            text: eval.text,
            key: format!("{KEY}.{tool}"),
        };
        if !declared.contains(tool.as_str()) {
            out.errors.push(undeclared(tool, &declared, &origin));
            continue;
        }
        add(
            &mut set,
            &mut used,
            &mut out,
            tool,
            entry,
            &origin,
            (project, registry, cache),
        );
    }
    let project_entries = &project.config.tool_handlers;
    let left: Vec<&str> = declared
        .iter()
        .copied()
        .filter(|t| !eval.written.contains_key(*t) && project_entries.contains_key(*t))
        .collect();
    if !left.is_empty() {
        let text = cache
            .project_text
            .get_or_insert_with(|| {
                std::fs::read_to_string(project.root.join(CONFIG_FILE)).unwrap_or_default()
            })
            .clone();
        for tool in left {
            let origin = Origin {
                file: Path::new(CONFIG_FILE),
                text: &text,
                key: format!("{KEY}.{tool}"),
            };
            let entry = &project_entries[tool];
            add(
                &mut set,
                &mut used,
                &mut out,
                tool,
                entry,
                &origin,
                (project, registry, cache),
            );
        }
    }
    if set.is_empty() {
        if eval.max_steps.is_some() {
            out.warnings.push(Warning {
                location: eval_loc("max_steps"),
                message: format!(
                    "`max_steps` has no effect: no tool of this eval has a handler under `{KEY}:`"
                ),
            });
        }
        return out;
    }
    out.warnings.extend(unhandled(&declared, &set, eval));
    check_rows(eval, &used, &declared, &mut out);
    out.handlers = Some(Arc::new(set));
    out
}

/// Builds (or reuses) the handler of `entry` for `tool` and adds it to `set`.
fn add(
    set: &mut HandlerSet,
    used: &mut Vec<(String, Built)>,
    out: &mut Planned,
    tool: &str,
    entry: &Value,
    origin: &Origin<'_>,
    (project, registry, cache): (&Project, &Registry, &mut Cache),
) {
    match build(entry, origin, project, registry, cache) {
        Ok(built) => {
            set.by_tool.insert(tool.to_string(), built.handler.clone());
            set.origins.insert(tool.to_string(), origin.at(None));
            used.push((tool.to_string(), built));
        }
        Err(e) => out.errors.push(e),
    }
}

/// The handler of one entry: `kind` picks the kind, the other keys are its settings.
fn build(
    entry: &Value,
    origin: &Origin<'_>,
    project: &Project,
    registry: &Registry,
    cache: &mut Cache,
) -> Result<Built, Error> {
    let example = registry::KINDS[0].example;
    let Some(map) = entry.as_object() else {
        return Err(invalid(
            origin.at(None),
            &origin.key,
            "a handler must be a mapping with `kind:`",
            Some(format!("write e.g. `{example}`")),
        ));
    };
    let kind_key = format!("{}.kind", origin.key);
    let kind = match map.get("kind") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(_) | None => {
            return Err(invalid(
                origin.at(map.contains_key("kind").then_some("kind")),
                &kind_key,
                &format!(
                    "a handler needs `kind:` naming one of: {}",
                    registry::kind_names()
                ),
                Some(format!("write e.g. `{example}`")),
            ))
        }
    };
    let Some(info) = registry::find(kind) else {
        return Err(invalid(
            origin.at(Some("kind")),
            &kind_key,
            &format!(
                "unknown handler kind `{kind}`{}. Choose from: {}",
                registry::likely_kind(kind),
                registry::kind_names()
            ),
            None,
        ));
    };
    let mut settings = map.clone();
    settings.shift_remove("kind");
    let key = format!("{kind}\u{0}{}", Value::Object(settings.clone()));
    if let Some(built) = cache.built.get(&key) {
        return Ok(built.clone());
    }
    let locate = |sub: &str| origin.at(Some(sub));
    let spec = HandlerSpec {
        label: &origin.key,
        settings: &settings,
        root: &project.root,
        partials: registry.partials(),
        locate: &locate,
    };
    let built = (info.build)(&spec).map_err(|e| match e {
        BuildError::Template(e) => Error::Template(e),
        BuildError::Settings { key, message, hint } => {
            let at = key
                .as_deref()
                .map(|k| k.split(['.', '[']).next().unwrap_or(k));
            let path = match &key {
                Some(k) => format!("{}.{k}", origin.key),
                None => origin.key.clone(),
            };
            let hint = hint.or_else(|| Some(format!("a `{kind}` handler: `{}`", info.example)));
            invalid(origin.at(at), &path, &message, hint)
        }
    })?;
    cache.built.insert(key, built.clone());
    Ok(built)
}

/// The tools any prompt of the eval declares, for any of its rows.
fn declared_tools<'a>(prompts: &'a [PlannedPrompt], row_tools: &'a RowTools) -> BTreeSet<&'a str> {
    let versions = prompts.iter().flat_map(|p| &p.version.tools.tools);
    let rows = row_tools.iter().flatten().flatten().flat_map(|s| &s.tools);
    versions.chain(rows).map(|t| t.name.as_str()).collect()
}

/// The error for a handler of a tool no prompt of the eval declares.
fn undeclared(tool: &str, declared: &BTreeSet<&str>, origin: &Origin<'_>) -> Error {
    let names: Vec<&str> = declared.iter().copied().collect();
    let near = crate::diagnostic::suggest(tool, &names)
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    let hint = if names.is_empty() {
        "no prompt of this eval declares tools: add them to a version's `tools:`, or remove the handler".to_string()
    } else {
        format!(
            "the tools its prompts declare: {}; remove the handler or declare the tool in a version's `tools:`",
            names.join(", ")
        )
    };
    invalid(
        origin.at(None),
        &origin.key,
        &format!("a handler for `{tool}`, which no prompt of this eval declares{near}"),
        Some(hint),
    )
}

/// Warnings for declared tools without a handler: the loop answers their calls with an
/// `unknown tool` error result.
fn unhandled(declared: &BTreeSet<&str>, set: &HandlerSet, eval: &EvalHandlers<'_>) -> Vec<Warning> {
    let location = Location::line_of_key(eval.display, eval.text, KEY);
    declared
        .iter()
        .filter(|t| set.get(t).is_none())
        .map(|tool| {
            let by: Vec<String> = eval
                .prompts
                .iter()
                .filter(|p| p.version.tools.get(tool).is_some())
                .map(|p| p.version.reference())
                .collect();
            let by = if by.is_empty() {
                "a row's `tools`".to_string()
            } else {
                by.join(", ")
            };
            Warning {
                location: location.clone(),
                message: format!(
                    "tool `{tool}` (declared by {by}) has no handler under `{KEY}:`: a call to it gets an `unknown tool` error result"
                ),
            }
        })
        .collect()
}

/// The dataset against the handlers: variables the handlers' templates read, and each
/// row's `tool_results`.
fn check_rows(
    eval: &EvalHandlers<'_>,
    used: &[(String, Built)],
    declared: &BTreeSet<&str>,
    out: &mut Planned,
) {
    let dataset = eval.dataset;
    let columns: BTreeSet<&str> = dataset.columns.iter().map(String::as_str).collect();
    let mut reported = BTreeSet::new();
    for (_, built) in used {
        for (label, vars) in &built.reads {
            for var in vars {
                let lacking = eval.rows.iter().find(|r| !r.vars.contains_key(var));
                if lacking.is_none() || !reported.insert((label.clone(), var.clone())) {
                    continue;
                }
                let row = lacking.filter(|_| columns.contains(var.as_str()));
                out.errors.push(Error::from(SpecError::MissingVariable {
                    reference: format!("{} {label}", eval.display.display()),
                    variable: var.clone(),
                    dataset: dataset.path.clone(),
                    columns: match row {
                        Some(row) => row.vars.keys().cloned().collect(),
                        None => dataset.columns.clone(),
                    },
                    row: row.map(|r| (r.id.clone(), r.line)),
                }));
            }
        }
    }
    let kinds: BTreeMap<&str, RowResults> = used
        .iter()
        .map(|(t, b)| (t.as_str(), b.row_results))
        .collect();
    for row in eval.rows.iter() {
        check_row(row, &dataset.path, &kinds, declared, out);
    }
    for (tool, built) in used {
        if built.row_results == RowResults::Required {
            out.warnings.extend(rows_without(tool, eval));
        }
    }
}

/// One row's `tool_results`: a mapping of tool name → entry, each well formed.
fn check_row(
    row: &Row,
    dataset: &PathBuf,
    kinds: &BTreeMap<&str, RowResults>,
    declared: &BTreeSet<&str>,
    out: &mut Planned,
) {
    let Some(results) = row.vars.get(TOOL_RESULTS) else {
        return;
    };
    let location = Location::line(dataset, row.line);
    let case = &row.id;
    let Some(results) = results.as_object() else {
        out.errors.push(invalid(
            location,
            TOOL_RESULTS,
            &format!("case {case}: `{TOOL_RESULTS}` must be a mapping of tool name → result"),
            Some(format!("e.g. `{TOOL_RESULTS}: {{get_weather: \"18°C\"}}` (in a JSONL, JSON or YAML dataset)")),
        ));
        return;
    };
    for (tool, entry) in results {
        if let Err(problem) = crate::agent::check_row_entry(entry) {
            out.errors.push(invalid(
                location.clone(),
                &format!("{TOOL_RESULTS}.{tool}"),
                &format!("case {case}: {problem}"),
                None,
            ));
        }
        let message = match kinds.get(tool.as_str()) {
            Some(RowResults::Ignored) => format!(
                "case {case}: `{TOOL_RESULTS}.{tool}` is ignored: the handler of `{tool}` is not a `mock`"
            ),
            Some(_) => continue,
            None if declared.contains(tool.as_str()) => format!(
                "case {case}: `{TOOL_RESULTS}.{tool}` is ignored: `{tool}` has no handler under `{KEY}:`"
            ),
            None => {
                let names: Vec<&str> = declared.iter().copied().collect();
                let near = crate::diagnostic::suggest(tool, &names)
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                format!("case {case}: `{TOOL_RESULTS}` names `{tool}`, which no prompt of the eval declares{near}")
            }
        };
        out.warnings.push(Warning {
            location: location.clone(),
            message,
        });
    }
}

/// The warning for rows with no entry for a tool whose `mock` has no result of its own.
fn rows_without(tool: &str, eval: &EvalHandlers<'_>) -> Option<Warning> {
    let lacking: Vec<&Row> = eval
        .rows
        .iter()
        .filter(|r| crate::agent::row_entry(&r.vars, tool).is_none())
        .collect();
    let first = lacking.first()?;
    let mut ids: Vec<&str> = lacking.iter().take(3).map(|r| r.id.as_str()).collect();
    if lacking.len() > 3 {
        ids.push("…");
    }
    let (noun, verb) = if lacking.len() == 1 {
        ("case", "has")
    } else {
        ("cases", "have")
    };
    Some(Warning {
        location: Location::line(&eval.dataset.path, first.line),
        message: format!(
            "{noun} {} {verb} no `{TOOL_RESULTS}.{tool}` and the `mock` handler of `{tool}` has no `result`: a call to it gets an error result",
            ids.join(", "),
        ),
    })
}

/// A located problem with a handler.
fn invalid(location: Location, key: &str, message: &str, hint: Option<String>) -> Error {
    Error::from(SpecError::Handler {
        location,
        key: key.to_string(),
        message: message.to_string(),
        hint,
    })
}
