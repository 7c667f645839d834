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

use super::mcp_servers::{self, Servers};
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
    /// `mcp_servers:` of the eval file, as written.
    pub(super) servers: &'a serde_json::Map<String, Value>,
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
pub(super) struct Origin<'a> {
    pub(super) file: &'a Path,
    pub(super) text: &'a str,
    pub(super) key: String,
}

impl Origin<'_> {
    /// The line of `sub` under the entry (the entry's own line for `None`).
    pub(super) fn at(&self, sub: Option<&str>) -> Location {
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
    let servers = Servers::new(eval.servers, (eval.display, eval.text), project);
    let offered = mcp_servers::offered(eval.prompts);
    // A server lists its tools when the run starts it: a handler or a row's result for a
    // tool no version writes out may be for one of them.
    let listing = !offered.is_empty();
    let mut set = HandlerSet::default();
    let mut used: Vec<(String, Built)> = Vec::new();
    for (tool, entry) in eval.written {
        let origin = Origin {
            file: eval.display,
            text: eval.text,
            key: format!("{KEY}.{tool}"),
        };
        if !declared.contains(tool.as_str()) && !listing {
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
            (project, registry, cache, &servers),
        );
    }
    let context = (project, registry, &mut *cache, &servers);
    add_project_entries(eval, &declared, (&mut set, &mut used, &mut out), context);
    plan_servers(
        &servers,
        &offered,
        &mut set,
        &mut out,
        (project, registry, cache),
    );
    // A set left empty by broken entries is still checked against the rows, so that
    // every mistake shows at once.
    if set.is_empty() && out.errors.is_empty() {
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
    check_rows(eval, &used, (&declared, listing), &mut out);
    if !set.is_empty() {
        out.warnings.extend(unhandled(&declared, &set, eval));
        out.handlers = Some(Arc::new(set));
    }
    out
}

/// Adds the project's entries for the declared tools the eval gives no entry of its own.
fn add_project_entries(
    eval: &EvalHandlers<'_>,
    declared: &BTreeSet<&str>,
    (set, used, out): (&mut HandlerSet, &mut Vec<(String, Built)>, &mut Planned),
    (project, registry, cache, servers): (&Project, &Registry, &mut Cache, &Servers<'_>),
) {
    let project_entries = &project.config.tool_handlers;
    let left: Vec<&str> = declared
        .iter()
        .copied()
        .filter(|t| !eval.written.contains_key(*t) && project_entries.contains_key(*t))
        .collect();
    if left.is_empty() {
        return;
    }
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
            set,
            used,
            out,
            tool,
            entry,
            &origin,
            (project, registry, cache, servers),
        );
    }
}

/// Builds (or reuses) the handler of `entry` for `tool` and adds it to `set`; an entry
/// `{kind: mcp, server: NAME}` is the server's.
fn add(
    set: &mut HandlerSet,
    used: &mut Vec<(String, Built)>,
    out: &mut Planned,
    tool: &str,
    entry: &Value,
    origin: &Origin<'_>,
    (project, registry, cache, servers): (&Project, &Registry, &mut Cache, &Servers<'_>),
) {
    let named = match mcp_servers::named_by(entry, origin) {
        Ok(named) => named,
        Err(e) => return out.errors.push(e),
    };
    let resolved = match &named {
        None => None,
        Some(name) => match servers.entry(name) {
            Some(Ok(resolved)) => Some(resolved),
            Some(Err(e)) => return out.errors.push(e),
            None => {
                let key = format!("{}.server", origin.key);
                let who = format!("`{}`", origin.key);
                let at = origin.at(Some("server"));
                return out.errors.push(servers.unknown(name, at, &key, &who));
            }
        },
    };
    let (entry, origin) = match &resolved {
        Some((entry, origin)) => (entry, origin),
        None => (entry, origin),
    };
    match build(entry, origin, project, registry, cache) {
        Ok(built) => {
            set.by_tool.insert(tool.to_string(), built.handler.clone());
            set.origins.insert(tool.to_string(), origin.at(None));
            used.push((tool.to_string(), built));
        }
        Err(e) => out.errors.push(e),
    }
}

/// The handlers of the servers the eval's versions offer the tools of (and a check of
/// every server the eval file declares), in `set.servers`.
fn plan_servers(
    servers: &Servers<'_>,
    offered: &[(String, String, Location)],
    set: &mut HandlerSet,
    out: &mut Planned,
    (project, registry, cache): (&Project, &Registry, &mut Cache),
) {
    let mut checked: BTreeSet<&str> = BTreeSet::new();
    for (name, reference, location) in offered {
        checked.insert(name);
        let key = format!("tools: [{{mcp: {name}}}]");
        match servers.entry(name) {
            None => {
                let who = format!("{reference} (`{key}`)");
                let err = servers.unknown(name, location.clone(), "tools", &who);
                out.errors.push(err);
            }
            Some(Err(e)) => out.errors.push(e),
            Some(Ok((entry, origin))) => match build(&entry, &origin, project, registry, cache) {
                Ok(built) => {
                    set.servers.insert(name.clone(), built.handler);
                    set.server_origins.insert(name.clone(), origin.at(None));
                }
                Err(e) => out.errors.push(e),
            },
        }
    }
    for name in servers.own().filter(|n| !checked.contains(n)) {
        match servers.entry(name) {
            Some(Ok((entry, origin))) => {
                if let Err(e) = build(&entry, &origin, project, registry, cache) {
                    out.errors.push(e);
                }
            }
            Some(Err(e)) => out.errors.push(e),
            None => {}
        }
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
            let hint = hint.or_else(|| Some(format!("for example `{}`", info.example)));
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
    (declared, listing): (&BTreeSet<&str>, bool),
    out: &mut Planned,
) {
    let dataset = eval.dataset;
    let columns: BTreeSet<&str> = dataset.columns.iter().map(String::as_str).collect();
    let mut reported = BTreeSet::new();
    let mut failed = None;
    for (_, built) in used {
        for (label, vars) in &built.reads {
            for var in vars {
                let lacking = eval
                    .rows
                    .readable(&mut failed)
                    .find(|r| !r.vars.contains_key(var));
                if lacking.is_none() || !reported.insert((label.clone(), var.clone())) {
                    continue;
                }
                let row = lacking.filter(|_| columns.contains(var.as_str()));
                out.errors.push(Error::from(SpecError::MissingVariable {
                    reference: format!("{} {label}", eval.display.display()),
                    variable: var.clone(),
                    dataset: dataset.path.clone(),
                    columns: match row {
                        Some(ref row) => row.vars.keys().cloned().collect(),
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
    for row in eval.rows.readable(&mut failed) {
        check_row(&row, &dataset.path, &kinds, (declared, listing), out);
    }
    for (tool, built) in used {
        if built.row_results == RowResults::Required {
            out.warnings.extend(rows_without(tool, eval, &mut failed));
        }
    }
    out.errors.extend(failed.map(Error::from));
}

/// One row's `tool_results`: a mapping of tool name → entry, each well formed.
fn check_row(
    row: &Row,
    dataset: &PathBuf,
    kinds: &BTreeMap<&str, RowResults>,
    (declared, listing): (&BTreeSet<&str>, bool),
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
            // It may be a tool a server lists.
            None if listing => continue,
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
fn rows_without(
    tool: &str,
    eval: &EvalHandlers<'_>,
    failed: &mut Option<crate::dataset::DatasetError>,
) -> Option<Warning> {
    let lacking: Vec<Arc<Row>> = eval
        .rows
        .readable(failed)
        .filter(|r| {
            r.vars
                .get(TOOL_RESULTS)
                .is_none_or(|v| v.get(tool).is_none())
        })
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
pub(super) fn invalid(location: Location, key: &str, message: &str, hint: Option<String>) -> Error {
    Error::from(SpecError::Handler {
        location,
        key: key.to_string(),
        message: message.to_string(),
        hint,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::project::Project;
    use crate::diagnostic::Warning;
    use crate::plan::{plan, Plan, PlanError, Selection};
    use crate::registry::Registry;

    const VERSION: &str = "messages:\n  - role: user\n    content: \"{{ city }}?\"\ntools:\n  - name: get_weather\n  - name: get_time\n";

    /// Plans a project of two evals over one tool-calling version, with `config` as
    /// `prompteval.yaml` and `a`, `b` as the evals' extra keys.
    fn planned(config: &str, a: &str, b: &str) -> Result<(Plan, Vec<Warning>), PlanError> {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| crate::test_files::write(dir.path(), path, text);
        write("prompteval.yaml", config);
        write("prompts/w/v1.yaml", VERSION);
        write(
            "datasets/c.jsonl",
            "{\"id\": \"rome\", \"city\": \"Rome\"}\n{\"id\": \"oslo\", \"city\": \"Oslo\", \"tool_results\": {\"get_time\": \"noon\"}}\n",
        );
        let eval = "prompts: [w@1]\nmodels: [echo]\ndataset: datasets/c.jsonl\n";
        write("evals/a.yaml", &format!("{eval}{a}"));
        write("evals/b.yaml", &format!("{eval}{b}"));
        let project = Project::discover(dir.path()).unwrap().0;
        let registry = Registry::load(&project.root).unwrap().0;
        plan(&project, &registry, &Selection::default())
    }

    fn messages(warnings: &[Warning]) -> Vec<String> {
        warnings.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn the_evals_entry_wins_and_entries_written_alike_share_one_handler() {
        let config = "tool_handlers:\n  get_weather: {kind: mock, result: sunny}\n  get_time: {kind: mock}\n";
        let a = "tool_handlers:\n  get_weather: {kind: mock, result: rainy}\n";
        let (plan, warnings) = planned(config, a, "max_steps: 2\n").unwrap();
        let (ha, hb) = (
            plan.evals[0].handlers.as_ref().unwrap(),
            plan.evals[1].handlers.as_ref().unwrap(),
        );
        assert_eq!(plan.evals[0].max_steps, 8);
        assert_eq!(plan.evals[1].max_steps, 2);
        let same = |x: &str| std::sync::Arc::ptr_eq(ha.get(x).unwrap(), hb.get(x).unwrap());
        assert!(
            !same("get_weather"),
            "the eval's own entry replaces the project's"
        );
        assert!(same("get_time"), "the project's entry is built once");
        assert_eq!(ha.origins["get_weather"].to_string(), "evals/a.yaml:5");
        assert_eq!(ha.origins["get_time"].to_string(), "prompteval.yaml:3");
        // Rome has no `tool_results.get_time`, and `get_time`'s mock no `result`.
        let text = messages(&warnings).join("\n");
        assert!(
            text.contains("datasets/c.jsonl:1: case rome has no `tool_results.get_time`"),
            "{text}"
        );
    }

    #[test]
    fn evals_without_handlers_are_left_as_they_were() {
        let (plan, warnings) = planned("", "", "max_steps: 3\n").unwrap();
        assert!(plan.evals.iter().all(|e| e.handlers.is_none()));
        assert_eq!(
            messages(&warnings),
            ["evals/b.yaml:4: `max_steps` has no effect: no tool of this eval has a handler under `tool_handlers:`"]
        );
    }

    #[test]
    fn a_template_reading_a_missing_column_stops_the_plan() {
        let a =
            "tool_handlers:\n  get_weather: {kind: mock, result: \"{{ args.city }} {{ sky }}\"}\n";
        let err = planned("", a, "").err().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("evals/a.yaml tool_handlers.get_weather.result uses variable `sky`"),
            "{text}"
        );
    }

    #[test]
    fn an_entry_that_is_not_a_mapping_or_has_no_kind() {
        let a = "tool_handlers:\n  get_weather: sunny\n  get_time: {result: x}\n";
        let err = planned("", a, "").err().unwrap();
        let PlanError::Many(errors) = err else {
            panic!("{err}")
        };
        let texts: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            texts,
            [
                "evals/a.yaml:5: at `tool_handlers.get_weather`: a handler must be a mapping with `kind:`",
                "evals/a.yaml:6: at `tool_handlers.get_time.kind`: a handler needs `kind:` naming one of: mock, exec, mcp",
            ]
        );
    }
}
