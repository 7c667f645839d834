//! Tool definitions as written (the bare OpenAI function or its `{type: function, function}`
//! wrapper, or the name of a shared definition), checked key by key, and the set a version
//! or a row resolves them into.

use serde_json::{Map, Value as Json};

use super::def::{ToolChoice, ToolDef, ToolSet};
use crate::diagnostic::suggest;

/// The keys of a bare tool definition.
pub const TOOL_KEYS: &[&str] = &["name", "description", "parameters"];
/// The keys of the OpenAI wrapper `{type: function, function: {…}}`.
pub const WRAPPER_KEYS: &[&str] = &["type", "function"];
/// The words `tool_choice` takes besides a function name.
pub const CHOICE_WORDS: &[&str] = &["auto", "required", "none"];

/// One item of a `tools:` list.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolEntry {
    /// The name of a shared definition, `prompts/_tools/NAME.yaml`.
    Shared(String),
    /// A definition written in place.
    Inline(ToolDef),
    /// `{mcp: NAME}`: the tools an MCP server lists at run time (see [`super::listed`]).
    Server(super::def::ServerTools),
}

/// What is wrong with a tool definition, a `tools:` list or a `tool_choice`; the caller
/// knows the file and line and shows them in front.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ToolProblem {
    /// A key the definition does not take.
    #[error("unknown key `{key}` in {at}{}{}. Choose from: {}", in_tool(tool), near(suggestion), valid.join(", "))]
    UnknownKey {
        /// `tools[1]` or `tools[1].function`.
        at: String,
        /// The tool's name, when known.
        tool: Option<String>,
        /// The key as written.
        key: String,
        /// The likely key.
        suggestion: Option<&'static str>,
        /// The keys it takes.
        valid: &'static [&'static str],
    },
    /// A value of the wrong shape (`name` missing or not text, `parameters` not a mapping).
    #[error("{at}{}: {message}", in_tool(tool))]
    Shape {
        /// `tools[1]`, `tools[1].parameters`.
        at: String,
        /// The tool's name, when known.
        tool: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// `parameters` is not a valid JSON Schema (draft 2020-12).
    #[error("tool `{tool}`: `parameters` is not a valid JSON Schema (draft 2020-12): {message}")]
    InvalidSchema {
        /// The tool.
        tool: String,
        /// What the schema compiler said.
        message: String,
    },
    /// Two tools of one set have the same name.
    #[error("tool `{name}` is declared twice{}", from_row(row))]
    Duplicate {
        /// The name.
        name: String,
        /// The dataset row that added the second one, as `case ID`.
        row: Option<String>,
    },
    /// A name that is no file under `prompts/_tools/`.
    #[error(
        "no shared tool `{name}`: prompts/_tools/{name}.yaml does not exist{}",
        known_list(known)
    )]
    MissingShared {
        /// The name as written.
        name: String,
        /// The shared tools there are.
        known: Vec<String>,
        /// The likely one.
        suggestion: Option<String>,
    },
    /// `tool_choice` names a function the version does not declare.
    #[error(
        "`tool_choice` is `{name}`, which is neither auto, required, none nor a declared tool{}",
        declared_list(declared)
    )]
    UnknownChoice {
        /// The name as written.
        name: String,
        /// The tools the version declares.
        declared: Vec<String>,
        /// The likely one.
        suggestion: Option<String>,
    },
}

fn near(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

fn in_tool(tool: &Option<String>) -> String {
    match tool {
        Some(t) => format!(" (tool `{t}`)"),
        None => String::new(),
    }
}

fn from_row(row: &Option<String>) -> String {
    match row {
        Some(r) => format!(": {r} adds a tool of the same name as one of the version's"),
        None => String::new(),
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "; there are no shared tools".to_string()
    } else {
        format!(". Shared tools: {}", known.join(", "))
    }
}

fn declared_list(declared: &[String]) -> String {
    if declared.is_empty() {
        "; the version declares no tools".to_string()
    } else {
        format!(". Declared: {}", declared.join(", "))
    }
}

impl ToolProblem {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ToolProblem::UnknownKey { .. } | ToolProblem::Shape { .. } => Some(
                "a tool is `{name, description, parameters}` (parameters: a JSON Schema object), or the OpenAI form `{type: function, function: {…}}`, or the name of a file in prompts/_tools/".into(),
            ),
            ToolProblem::InvalidSchema { .. } => Some(
                "`parameters` is a JSON Schema object, e.g. `{type: object, properties: {city: {type: string}}, required: [city]}`".into(),
            ),
            ToolProblem::Duplicate { row: Some(_), .. } => {
                Some("give the row's tool another name, or leave it out of the row: the version already offers it".into())
            }
            ToolProblem::Duplicate { row: None, .. } => {
                Some("tool names must be unique within a version; rename or remove one".into())
            }
            ToolProblem::MissingShared { suggestion: Some(s), .. } => {
                Some(format!("did you mean `{s}`?"))
            }
            ToolProblem::MissingShared { name, .. } => Some(format!(
                "create prompts/_tools/{name}.yaml with `name`, `description` and `parameters`, or define the tool inline"
            )),
            ToolProblem::UnknownChoice { suggestion: Some(s), .. } => {
                Some(format!("did you mean `{s}`?"))
            }
            ToolProblem::UnknownChoice { .. } => Some(
                "`tool_choice` is auto, required, none or the name of one of the version's tools".into(),
            ),
        }
    }
}

/// Reads item `at` (`tools[2]`) of a `tools:` list: a name, a bare definition or the
/// OpenAI wrapper. Inline definitions are checked completely, schema included.
pub fn parse_entry(value: &Json, at: &str) -> Result<ToolEntry, ToolProblem> {
    match value {
        Json::String(name) => Ok(ToolEntry::Shared(name.clone())),
        Json::Object(map) if map.contains_key("mcp") => {
            super::listed::parse_server(map, at).map(ToolEntry::Server)
        }
        Json::Object(map) => parse_definition(map, at).map(ToolEntry::Inline),
        other => Err(ToolProblem::Shape {
            at: at.to_string(),
            tool: None,
            message: format!(
                "expected a tool (a mapping with `name`) or the name of a shared tool, found {}",
                describe(other)
            ),
        }),
    }
}

/// Reads a definition (bare or wrapped) from a mapping and checks it.
pub fn parse_definition(map: &Map<String, Json>, at: &str) -> Result<ToolDef, ToolProblem> {
    let looks_wrapped = map.contains_key("function") || map.contains_key("type");
    if !looks_wrapped {
        return parse_bare(map, at);
    }
    let name = map
        .get("function")
        .and_then(|f| f.get("name"))
        .and_then(Json::as_str)
        .map(str::to_string);
    check_keys(map, WRAPPER_KEYS, at, &name)?;
    let shape = |message: String| ToolProblem::Shape {
        at: at.to_string(),
        tool: name.clone(),
        message,
    };
    match map.get("type") {
        Some(Json::String(t)) if t == "function" => {}
        Some(other) => {
            return Err(shape(format!(
                "`type` must be `function`, found {}",
                describe(other)
            )))
        }
        None => return Err(shape("the OpenAI form needs `type: function`".into())),
    }
    match map.get("function") {
        Some(Json::Object(inner)) => parse_bare(inner, &format!("{at}.function")),
        Some(other) => Err(shape(format!(
            "`function` must be a mapping with `name`, found {}",
            describe(other)
        ))),
        None => Err(shape(
            "the OpenAI form needs `function: {name, description, parameters}`".into(),
        )),
    }
}

/// Reads `{name, description, parameters}`.
fn parse_bare(map: &Map<String, Json>, at: &str) -> Result<ToolDef, ToolProblem> {
    let name = map.get("name").and_then(Json::as_str).map(str::to_string);
    check_keys(map, TOOL_KEYS, at, &name)?;
    let shape = |key: &str, message: String| ToolProblem::Shape {
        at: format!("{at}.{key}"),
        tool: name.clone(),
        message,
    };
    let name = match map.get("name") {
        Some(Json::String(n)) if is_valid_tool_name(n) => n.clone(),
        Some(Json::String(n)) => {
            return Err(shape(
                "name",
                format!(
                    "`{n}` is not a valid function name: use 1 to 64 letters, digits, `_` and `-`"
                ),
            ))
        }
        Some(other) => {
            return Err(shape(
                "name",
                format!("must be text, found {}", describe(other)),
            ))
        }
        None => {
            return Err(ToolProblem::Shape {
                at: at.to_string(),
                tool: None,
                message: "a tool needs a `name`".into(),
            })
        }
    };
    let description = match map.get("description") {
        None | Some(Json::Null) => None,
        Some(Json::String(d)) => Some(d.clone()),
        Some(other) => {
            return Err(shape(
                "description",
                format!("must be text, found {}", describe(other)),
            ))
        }
    };
    let parameters = match map.get("parameters") {
        None | Some(Json::Null) => serde_json::json!({"type": "object", "properties": {}}),
        Some(p @ Json::Object(_)) => p.clone(),
        Some(other) => {
            return Err(shape(
                "parameters",
                format!(
                    "must be a JSON Schema object (a mapping), found {}",
                    describe(other)
                ),
            ))
        }
    };
    check_schema(&name, &parameters)?;
    Ok(ToolDef {
        name,
        description,
        parameters,
    })
}

/// Fails on the first key of `map` that is not in `valid`, with the likely one.
pub(super) fn check_keys(
    map: &Map<String, Json>,
    valid: &'static [&'static str],
    at: &str,
    tool: &Option<String>,
) -> Result<(), ToolProblem> {
    match map.keys().find(|k| !valid.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(ToolProblem::UnknownKey {
            at: at.to_string(),
            tool: tool.clone(),
            key: key.clone(),
            suggestion: suggest(key, valid),
            valid,
        }),
    }
}

/// Whether `name` is a function name every API takes: 1 to 64 of `[A-Za-z0-9_-]`.
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Compiles `parameters` as a draft 2020-12 schema; the APIs also want an object schema.
pub(super) fn check_schema(tool: &str, parameters: &Json) -> Result<(), ToolProblem> {
    let invalid = |message: String| ToolProblem::InvalidSchema {
        tool: tool.to_string(),
        message,
    };
    match parameters.get("type") {
        None => {}
        Some(Json::String(t)) if t == "object" => {}
        Some(other) => {
            return Err(invalid(format!(
                "the arguments' schema must have `type: object`, found {other}"
            )))
        }
    }
    jsonschema::draft202012::new(parameters)
        .map(drop)
        .map_err(|err| {
            let at = err.instance_path().to_string();
            if at.is_empty() {
                invalid(err.to_string())
            } else {
                invalid(format!("at `{at}`: {err}"))
            }
        })
}

/// Reads `tool_choice` as written.
pub fn parse_choice(written: &str) -> ToolChoice {
    match written {
        "auto" => ToolChoice::Auto,
        "required" => ToolChoice::Required,
        "none" => ToolChoice::None,
        name => ToolChoice::Function(name.to_string()),
    }
}

/// Checks that a `tool_choice` naming a function names one of `set`'s tools.
pub fn check_choice(set: &ToolSet) -> Result<(), ToolProblem> {
    let Some(ToolChoice::Function(name)) = &set.choice else {
        return Ok(());
    };
    if set.get(name).is_some() {
        return Ok(());
    }
    let declared: Vec<String> = set.tools.iter().map(|t| t.name.clone()).collect();
    let mut candidates: Vec<&str> = declared.iter().map(String::as_str).collect();
    candidates.extend(CHOICE_WORDS);
    Err(ToolProblem::UnknownChoice {
        name: name.clone(),
        suggestion: suggest(name, &candidates).map(str::to_string),
        declared,
    })
}

/// Appends `tool` to `set`, failing when the set already has one of that name; `row` names
/// the dataset row that adds it, if one does.
pub fn add_tool(set: &mut ToolSet, tool: ToolDef, row: Option<&str>) -> Result<(), ToolProblem> {
    if set.get(&tool.name).is_some() {
        return Err(ToolProblem::Duplicate {
            name: tool.name,
            row: row.map(str::to_string),
        });
    }
    set.tools.push(tool);
    Ok(())
}

/// The problem for a shared tool `name` that does not exist, with the likely one of `known`.
pub fn missing_shared(name: &str, known: Vec<String>) -> ToolProblem {
    let candidates: Vec<&str> = known.iter().map(String::as_str).collect();
    ToolProblem::MissingShared {
        name: name.to_string(),
        suggestion: suggest(name, &candidates).map(str::to_string),
        known,
    }
}

/// A JSON value's kind, for messages.
pub(super) fn describe(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("`{b}`"),
        Json::Number(n) => format!("`{n}`"),
        Json::String(s) => format!("the text `{s}`"),
        Json::Array(_) => "a list".into(),
        Json::Object(_) => "a mapping".into(),
    }
}

/// The 1-based line of item `i` of the top-level `key:` list in a YAML `text`: the line of
/// its `- ` in block style, the `key:` line itself in flow style (`tools: [a, b]`); `None`
/// when the key is not at the top level.
pub fn list_item_line(text: &str, key: &str, i: usize) -> Option<usize> {
    let mut key_line = None;
    let mut seen = 0;
    let mut item_indent = None;
    let prefix = format!("{key}:");
    for (n, line) in text.lines().enumerate() {
        let top = !line.starts_with([' ', '\t', '-', '#']) && !line.trim().is_empty();
        if top {
            if key_line.is_some() {
                break;
            }
            if line.starts_with(&prefix) {
                key_line = Some(n + 1);
                if line[prefix.len()..].trim_start().starts_with('[') {
                    return key_line;
                }
            }
            continue;
        }
        if key_line.is_none() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if line.trim_start().starts_with('-') && item_indent.is_none_or(|w| w == indent) {
            item_indent = Some(indent);
            if seen == i {
                return Some(n + 1);
            }
            seen += 1;
        }
    }
    key_line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(value: Json) -> Result<ToolEntry, ToolProblem> {
        parse_entry(&value, "tools[0]")
    }

    fn weather() -> Json {
        json!({"name": "get_weather", "description": "Weather in a city.",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
    }

    #[test]
    fn bare_and_wrapped_definitions_read_the_same() {
        let bare = entry(weather()).unwrap();
        let wrapped = entry(json!({"type": "function", "function": weather()})).unwrap();
        assert_eq!(bare, wrapped);
        let ToolEntry::Inline(def) = bare else {
            panic!("inline expected")
        };
        assert_eq!(def.name, "get_weather");
        assert_eq!(def.parameters["required"][0], "city");
        assert_eq!(
            entry(json!("get_time")).unwrap(),
            ToolEntry::Shared("get_time".into())
        );
    }

    #[test]
    fn an_unknown_key_names_the_likely_one() {
        let mut tool = weather();
        tool["paramters"] = tool["parameters"].take();
        tool.as_object_mut().unwrap().shift_remove("parameters");
        let err = entry(tool).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown key `paramters` in tools[0] (tool `get_weather`) (did you mean `parameters`?). Choose from: name, description, parameters"
        );
        let err =
            entry(json!({"type": "function", "function": weather(), "strict": true})).unwrap_err();
        assert!(
            err.to_string().contains("unknown key `strict` in tools[0]"),
            "{err}"
        );
        let mut inner = weather();
        inner["descripton"] = json!("x");
        let err = entry(json!({"type": "function", "function": inner})).unwrap_err();
        assert!(
            err.to_string().contains("unknown key `descripton` in tools[0].function (tool `get_weather`) (did you mean `description`?)"),
            "{err}"
        );
    }

    #[test]
    fn an_invalid_schema_is_refused() {
        let mut tool = weather();
        tool["parameters"]["properties"]["city"]["type"] = json!("strin");
        let err = entry(tool).unwrap_err();
        assert!(
            matches!(&err, ToolProblem::InvalidSchema { tool, .. } if tool == "get_weather"),
            "{err:?}"
        );
        let mut tool = weather();
        tool["parameters"] = json!({"type": "string"});
        assert!(matches!(
            entry(tool).unwrap_err(),
            ToolProblem::InvalidSchema { .. }
        ));
        let mut tool = weather();
        tool["parameters"] = json!("object");
        assert!(entry(tool)
            .unwrap_err()
            .to_string()
            .contains("must be a JSON Schema object"));
    }

    #[test]
    fn shapes_are_checked() {
        assert!(entry(json!(3))
            .unwrap_err()
            .to_string()
            .contains("found `3`"));
        assert!(entry(json!({"description": "x"}))
            .unwrap_err()
            .to_string()
            .contains("needs a `name`"));
        assert!(entry(json!({"name": "get weather"}))
            .unwrap_err()
            .to_string()
            .contains("not a valid function name"));
        assert!(entry(json!({"type": "tool", "function": weather()}))
            .unwrap_err()
            .to_string()
            .contains("`type` must be `function`"));
        let ToolEntry::Inline(def) = entry(json!({"name": "now"})).unwrap() else {
            panic!()
        };
        assert_eq!(def.parameters["type"], "object");
    }

    #[test]
    fn choice_must_name_a_declared_tool() {
        let ToolEntry::Inline(def) = entry(weather()).unwrap() else {
            panic!()
        };
        let mut set = ToolSet {
            tools: vec![def.clone()],
            choice: Some(parse_choice("get_wether")),
            parallel: None,
            servers: Vec::new(),
        };
        let err = check_choice(&set).unwrap_err();
        assert_eq!(err.hint().unwrap(), "did you mean `get_weather`?");
        set.choice = Some(parse_choice("required"));
        assert!(check_choice(&set).is_ok());
        set.choice = Some(parse_choice("get_weather"));
        assert!(check_choice(&set).is_ok());
        let err = add_tool(&mut set, def, Some("case rome")).unwrap_err();
        assert!(err.to_string().contains("case rome adds a tool"), "{err}");
    }

    #[test]
    fn finds_the_line_of_a_list_item() {
        let text = "messages:\n  - role: user\n    content: hi\ntools:\n  - get_time\n  - name: b\n    parameters:\n      - x\ntool_choice: auto\n";
        assert_eq!(list_item_line(text, "tools", 0), Some(5));
        assert_eq!(list_item_line(text, "tools", 1), Some(6));
        assert_eq!(list_item_line(text, "tools", 2), Some(4));
        assert_eq!(list_item_line("tools: [a, b]\n", "tools", 1), Some(1));
        assert_eq!(list_item_line("prompt: x\n", "tools", 0), None);
    }
}
