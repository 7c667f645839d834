//! The tools of the registry: shared definitions under `prompts/_tools/`, and a YAML
//! version's `tools`, `tool_choice` and `parallel_tool_calls` resolved into its
//! [`ToolSet`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::error::RegistryError;
use super::load::{content_hash, PROMPTS_DIR};
use crate::diagnostic::{Location, Warning};
use crate::tools::load::{self as tool_load, ToolEntry};
use crate::tools::{ToolDef, ToolProblem, ToolSet};

/// The directory of shared tool definitions, under `prompts/`.
pub(crate) const TOOLS_DIR: &str = "_tools";

/// One shared definition, `prompts/_tools/NAME.yaml`.
#[derive(Clone, Debug)]
pub struct SharedTool {
    /// The file, relative to the project root.
    pub path: PathBuf,
    /// The definition; its name is the file's stem.
    pub def: ToolDef,
    /// `sha256:<hex>` of the file (CRLF normalised), recorded in the lock of every version
    /// that references it.
    pub hash: String,
}

/// Shared tools by name.
pub type SharedTools = BTreeMap<String, SharedTool>;

/// The tool keys of a YAML version as written.
#[derive(Clone, Debug, Default)]
pub(crate) struct WrittenTools {
    pub(crate) tools: Option<Vec<Json>>,
    pub(crate) tool_choice: Option<String>,
    pub(crate) parallel_tool_calls: Option<bool>,
}

impl WrittenTools {
    /// Whether the version sets none of the tool keys.
    pub(crate) fn is_empty(&self) -> bool {
        self.tools.is_none() && self.tool_choice.is_none() && self.parallel_tool_calls.is_none()
    }
}

fn tool_error(location: Location, problem: ToolProblem) -> RegistryError {
    RegistryError::Tool {
        location,
        problem: Box::new(problem),
    }
}

/// The top-level keys of a YAML version.
pub(crate) const VERSION_KEYS: &[&str] = &[
    "messages",
    "prompt",
    "params",
    "note",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
];

/// Fails on a top-level key of a YAML version that looks like a misspelt tool key, in the
/// tools' own wording (`load.rs` then refuses every other unknown key): `tool_choise:
/// required` ignored would silently run a different request.
pub(crate) fn check_tool_key_typos(text: &str, rel: &Path) -> Result<(), RegistryError> {
    let Ok(serde_yaml::Value::Mapping(map)) = serde_yaml::from_str(text) else {
        return Ok(());
    };
    let tool_keys = &VERSION_KEYS[4..];
    for key in map.keys().filter_map(serde_yaml::Value::as_str) {
        if VERSION_KEYS.contains(&key) {
            continue;
        }
        if let Some(near) = crate::diagnostic::suggest(key, tool_keys) {
            let problem = ToolProblem::UnknownKey {
                at: "the version".into(),
                tool: None,
                key: key.to_string(),
                suggestion: Some(near),
                valid: VERSION_KEYS,
            };
            return Err(tool_error(Location::line_of_key(rel, text, key), problem));
        }
    }
    Ok(())
}

/// Reads every `*.yaml`/`*.yml` file of `prompts/_tools/` (not recursively) as one tool,
/// named by its stem. Other files are warnings.
pub(crate) fn load_shared_tools(
    root: &Path,
    warnings: &mut Vec<Warning>,
) -> Result<SharedTools, RegistryError> {
    let rel_dir = PathBuf::from(PROMPTS_DIR).join(TOOLS_DIR);
    let dir = root.join(&rel_dir);
    let mut tools = SharedTools::new();
    if !dir.is_dir() {
        return Ok(tools);
    }
    let read_err = |source| RegistryError::Read {
        path: rel_dir.clone(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(read_err)? {
        let name = entry.map_err(read_err)?.file_name();
        names.push(name.to_string_lossy().into_owned());
    }
    names.sort();
    for file in names.into_iter().filter(|n| !n.starts_with('.')) {
        let rel = rel_dir.join(&file);
        let stem = match file.rsplit_once('.') {
            Some((stem, "yaml" | "yml")) if !dir.join(&file).is_dir() => stem.to_string(),
            _ => {
                warnings.push(Warning {
                    location: Location::file(&rel),
                    message: format!(
                        "`{file}` is not a tool definition; ignored (shared tools are prompts/_tools/<name>.yaml)"
                    ),
                });
                continue;
            }
        };
        let tool = read_shared_tool(&dir.join(&file), &rel, &stem, warnings)?;
        tools.insert(stem, tool);
    }
    Ok(tools)
}

/// Reads one shared definition: a bare or wrapped tool whose `name`, when given, is the
/// file's stem.
fn read_shared_tool(
    abs: &Path,
    rel: &Path,
    stem: &str,
    warnings: &mut Vec<Warning>,
) -> Result<SharedTool, RegistryError> {
    let bytes = std::fs::read(abs).map_err(|source| RegistryError::Read {
        path: rel.to_path_buf(),
        source,
    })?;
    let hash = content_hash(&bytes);
    let text = String::from_utf8(bytes).map_err(|_| RegistryError::NotUtf8 {
        path: rel.to_path_buf(),
    })?;
    let (value, w) = crate::config::yaml::parse::<Json>(&text, rel)?;
    warnings.extend(w);
    let location = Location::line(rel, 1);
    let mut map = match value {
        Json::Object(map) => map,
        other => {
            let problem = ToolProblem::Shape {
                at: "the file".into(),
                tool: Some(stem.to_string()),
                message: format!("expected one tool (a mapping with `name`, `description`, `parameters`), found {}", kind(&other)),
            };
            return Err(tool_error(location, problem));
        }
    };
    let wrapped = map.contains_key("function");
    let named = if wrapped {
        map.get_mut("function").and_then(Json::as_object_mut)
    } else {
        Some(&mut map)
    };
    if let Some(inner) = named {
        match inner.get("name").and_then(Json::as_str) {
            None if !inner.contains_key("name") => {
                inner.insert("name".into(), Json::String(stem.to_string()));
            }
            Some(n) if n != stem => {
                let problem = ToolProblem::Shape {
                    at: "name".into(),
                    tool: Some(n.to_string()),
                    message: format!(
                        "a shared tool is named by its file: `name` must be `{stem}` (or left out)"
                    ),
                };
                let location = Location::line_of_key(rel, &text, "name");
                return Err(tool_error(location, problem));
            }
            _ => {}
        }
    }
    let def = tool_load::parse_definition(&map, stem).map_err(|p| tool_error(location, p))?;
    Ok(SharedTool {
        path: rel.to_path_buf(),
        def,
        hash,
    })
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Array(_) => "a list",
        Json::String(_) => "text",
        Json::Null => "nothing",
        _ => "a single value",
    }
}

/// A version's tools resolved: its [`ToolSet`] and the shared tools it references.
pub(crate) fn resolve_version_tools(
    written: &WrittenTools,
    shared: &SharedTools,
    rel: &Path,
    text: &str,
) -> Result<(ToolSet, Vec<String>), RegistryError> {
    let mut set = ToolSet::default();
    let mut referenced = Vec::new();
    for (i, value) in written.tools.iter().flatten().enumerate() {
        let location = match tool_load::list_item_line(text, "tools", i) {
            Some(line) => Location::line(rel, line),
            None => Location::file(rel),
        };
        let at = format!("tools[{i}]");
        let def = match tool_load::parse_entry(value, &at) {
            Ok(ToolEntry::Inline(def)) => def,
            Ok(ToolEntry::Server(mut entry)) => {
                // Listed when the run starts the server (`tools::listed`).
                entry.at = set.tools.len();
                entry.line = location.line;
                set.servers.push(entry);
                continue;
            }
            Ok(ToolEntry::Shared(name)) => match shared.get(&name) {
                Some(tool) => {
                    referenced.push(name);
                    tool.def.clone()
                }
                None => {
                    let problem =
                        tool_load::missing_shared(&name, shared.keys().cloned().collect());
                    return Err(tool_error(location, problem));
                }
            },
            Err(problem) => return Err(tool_error(location, problem)),
        };
        tool_load::add_tool(&mut set, def, None).map_err(|p| tool_error(location, p))?;
    }
    set.choice = written.tool_choice.as_deref().map(tool_load::parse_choice);
    set.parallel = written.parallel_tool_calls;
    // A `tool_choice` may name a tool a server lists: checked once it has listed.
    let checked = match set.servers.is_empty() {
        true => tool_load::check_choice(&set),
        false => Ok(()),
    };
    if let Err(problem) = checked {
        let location = Location::line_of_key(rel, text, "tool_choice");
        return Err(tool_error(location, problem));
    }
    Ok((set, referenced))
}

/// Resolves one row's `tools` (names of shared tools or definitions) onto `base`, the
/// version's set: a name the version already has is an error naming the row.
pub fn with_row_tools(
    base: &ToolSet,
    row_tools: &[Json],
    row: &str,
    shared: &SharedTools,
) -> Result<ToolSet, ToolProblem> {
    let mut set = base.clone();
    for (i, value) in row_tools.iter().enumerate() {
        let def = match tool_load::parse_entry(value, &format!("tools[{i}]"))? {
            ToolEntry::Inline(def) => def,
            ToolEntry::Server(entry) => {
                return Err(ToolProblem::Shape {
                    at: format!("tools[{i}]"),
                    tool: None,
                    message: format!(
                        "a row cannot add the tools of MCP server `{}`: write `{{mcp: {}}}` in the version's `tools:`",
                        entry.server, entry.server
                    ),
                })
            }
            ToolEntry::Shared(name) => match shared.get(&name) {
                Some(tool) => tool.def.clone(),
                None => {
                    return Err(tool_load::missing_shared(
                        &name,
                        shared.keys().cloned().collect(),
                    ))
                }
            },
        };
        tool_load::add_tool(&mut set, def, Some(row))?;
    }
    Ok(set)
}

/// The stable text of a tool set that `prompt show` prints and diffs compare: the tools as
/// YAML (a changed description or schema shows line by line), then `tool_choice` and
/// `parallel_tool_calls` when set; empty for an empty set.
pub fn tools_text(set: &ToolSet) -> String {
    let mut out = String::new();
    if !set.servers.is_empty() {
        out.push_str(&with_servers_text(set));
    } else if !set.tools.is_empty() {
        out.push_str(&serde_yaml::to_string(&set.tools).unwrap_or_default());
    }
    if let Some(choice) = &set.choice {
        let word = match choice {
            crate::tools::ToolChoice::Auto => "auto",
            crate::tools::ToolChoice::Required => "required",
            crate::tools::ToolChoice::None => "none",
            crate::tools::ToolChoice::Function(name) => name,
        };
        out.push_str(&format!("tool_choice: {word}\n"));
    }
    if let Some(parallel) = set.parallel {
        out.push_str(&format!("parallel_tool_calls: {parallel}\n"));
    }
    out
}

/// The tools of a set that offers servers' tools, in the order written: each `{mcp: NAME}`
/// entry says that the server lists them when a run starts it.
fn with_servers_text(set: &ToolSet) -> String {
    let mut out = String::new();
    for i in 0..=set.tools.len() {
        for entry in set.servers.iter().filter(|s| s.at == i) {
            out.push_str(&format!(
                "- mcp: {}  # the tools this MCP server lists, asked when a run starts it\n",
                entry.server
            ));
            if let Some(only) = &entry.only {
                out.push_str(&format!("  only: [{}]\n", only.join(", ")));
            }
        }
        if let Some(tool) = set.tools.get(i) {
            out.push_str(&serde_yaml::to_string(std::slice::from_ref(tool)).unwrap_or_default());
        }
    }
    out
}

/// The shared tools `names` with their hashes, for the lock (`_tools/x.yaml` → hash);
/// names that are not shared tools are left out.
pub(crate) fn shared_hashes(names: &[String], shared: &SharedTools) -> BTreeMap<String, String> {
    names
        .iter()
        .filter_map(|n| {
            let tool = shared.get(n)?;
            Some((tool.lock_key(), tool.hash.clone()))
        })
        .collect()
}

impl SharedTool {
    /// The file under `prompts/`, as the lock records it: `_tools/NAME.yaml`.
    pub(crate) fn lock_key(&self) -> String {
        let rel = self.path.strip_prefix(PROMPTS_DIR).unwrap_or(&self.path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::registry::Registry;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    fn load_err(files: &[(&str, &str)]) -> RegistryError {
        Registry::load(project(files).path()).unwrap_err()
    }

    const WEATHER: &str = "\
description: Weather in a city.
parameters:
  type: object
  properties:
    city: {type: string}
  required: [city]
";

    fn version(tools: &str) -> String {
        format!("messages:\n  - role: user\n    content: hi\n{tools}")
    }

    #[test]
    fn a_version_resolves_inline_and_shared_tools_in_order() {
        let v1 = version("tools:\n  - name: now\n  - get_weather\ntool_choice: get_weather\n");
        let dir = project(&[
            ("prompts/_tools/get_weather.yaml", WEATHER),
            ("prompts/_tools/notes.txt", "x"),
            ("prompts/w/v1.yaml", &v1),
        ]);
        let (registry, warnings) = Registry::load(dir.path()).unwrap();
        let v = registry.get("w").unwrap().latest().unwrap();
        let names: Vec<&str> = v.tools.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["now", "get_weather"]);
        assert_eq!(v.shared_tools, ["get_weather"]);
        assert_eq!(
            v.tools.choice,
            Some(crate::tools::ToolChoice::Function("get_weather".into()))
        );
        assert!(registry.get("_tools").is_none(), "_tools is not a prompt");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].message.contains("notes.txt"), "{warnings:?}");
    }

    #[test]
    fn tool_errors_name_the_file_and_line() {
        let v1 = version("tools:\n  - name: now\n  - get_wether\n");
        let err = load_err(&[
            ("prompts/_tools/get_weather.yaml", WEATHER),
            ("prompts/w/v1.yaml", &v1),
        ]);
        assert_eq!(
            err.to_string(),
            "prompts/w/v1.yaml:6: no shared tool `get_wether`: prompts/_tools/get_wether.yaml does not exist. Shared tools: get_weather"
        );
        assert_eq!(err.hint().unwrap(), "did you mean `get_weather`?");
        assert_eq!(err.exit_class(), crate::diagnostic::ExitClass::Input);

        let v1 = version("tools:\n  - name: now\n  - name: now\n");
        let err = load_err(&[("prompts/w/v1.yaml", &v1)]);
        assert_eq!(
            err.to_string(),
            "prompts/w/v1.yaml:6: tool `now` is declared twice"
        );

        let v1 = version("tools:\n  - name: now\n    parameters: {type: object, properties: {a: {type: strin}}}\n");
        let err = load_err(&[("prompts/w/v1.yaml", &v1)]);
        assert!(
            err.to_string().starts_with("prompts/w/v1.yaml:5: tool `now`: `parameters` is not a valid JSON Schema (draft 2020-12)"),
            "{err}"
        );

        let v1 = version("tools:\n  - name: get_time\ntool_choice: get_tme\n");
        let err = load_err(&[("prompts/w/v1.yaml", &v1)]);
        assert!(
            err.to_string()
                .starts_with("prompts/w/v1.yaml:6: `tool_choice` is `get_tme`"),
            "{err}"
        );
        assert_eq!(err.hint().unwrap(), "did you mean `get_time`?");

        let v1 = version("tools:\n  - name: now\ntool_choise: required\n");
        let err = load_err(&[("prompts/w/v1.yaml", &v1)]);
        assert_eq!(
            err.to_string(),
            "prompts/w/v1.yaml:6: unknown key `tool_choise` in the version (did you mean `tool_choice`?). Choose from: messages, prompt, params, note, tools, tool_choice, parallel_tool_calls"
        );
        // Issue 13.13: other unknown keys are errors too (they were warnings).
        let err = load_err(&[("prompts/w/v1.yaml", &version("colour: red\n"))]);
        assert!(
            err.to_string()
                .starts_with("prompts/w/v1.yaml:4: at `colour`: unknown key `colour`"),
            "{err}"
        );

        let v1 = version("tools:\n  - name: now\n    desc: x\n");
        let err = load_err(&[("prompts/w/v1.yaml", &v1)]);
        assert!(
            err.to_string().contains("unknown key `desc` in tools[0]"),
            "{err}"
        );
    }

    #[test]
    fn a_shared_tool_is_named_by_its_file() {
        let err = load_err(&[(
            "prompts/_tools/get_weather.yaml",
            "name: weather\nparameters: {type: object}\n",
        )]);
        assert!(
            err.to_string()
                .starts_with("prompts/_tools/get_weather.yaml:1: name (tool `weather`): a shared tool is named by its file"),
            "{err}"
        );
        let wrapped = "type: function\nfunction:\n  description: d\n";
        let dir = project(&[
            ("prompts/_tools/now.yaml", wrapped),
            ("prompts/w/v1.yaml", &version("tools: [now]\n")),
        ]);
        let (registry, _) = Registry::load(dir.path()).unwrap();
        let v = registry.get("w").unwrap().latest().unwrap();
        assert_eq!(v.tools.tools[0].name, "now");
        assert_eq!(v.tools.tools[0].description.as_deref(), Some("d"));
    }

    #[test]
    fn an_mcp_entry_is_kept_where_written_and_its_tool_choice_checked_once_listed() {
        let v1 = version(
            "tools:\n  - name: now\n  - {mcp: time, only: [get_current_time]}\n  - name: later\ntool_choice: get_current_time\n",
        );
        let dir = project(&[("prompts/w/v1.yaml", &v1)]);
        let (registry, _) = Registry::load(dir.path()).unwrap();
        let v = registry.get("w").unwrap().latest().unwrap();
        let names: Vec<&str> = v.tools.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["now", "later"]);
        let entry = &v.tools.servers[0];
        assert_eq!(
            (entry.server.as_str(), entry.at, entry.line),
            ("time", 1, Some(6))
        );
        assert_eq!(
            entry.only.as_deref(),
            Some(&["get_current_time".to_string()][..])
        );
        let text = tools_text(&v.tools);
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{text}"));
        assert!(
            at("- name: now") < at("- mcp: time  #") && at("- mcp: time") < at("- name: later")
        );
        assert!(text.contains("  only: [get_current_time]\n"), "{text}");
        let listed = [ToolDef {
            name: "get_current_time".into(),
            description: None,
            parameters: serde_json::json!({"type": "object"}),
        }];
        let resolved = v.tools.with_listed(|_| Some(&listed[..])).unwrap();
        let names: Vec<&str> = resolved.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["now", "get_current_time", "later"]);
    }

    #[test]
    fn a_row_cannot_add_a_servers_tools() {
        let row = [serde_json::json!({"mcp": "time"})];
        let err =
            with_row_tools(&ToolSet::default(), &row, "case a", &SharedTools::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tools[0]: a row cannot add the tools of MCP server `time`: write `{mcp: time}` in the version's `tools:`"
        );
    }
}
