//! `{mcp: NAME}` in a `tools:` list: the entry as written, and the set it resolves into
//! once the server has listed its tools (`tools/list`) at the start of a run.

use serde_json::{Map, Value as Json};

use super::def::{ServerTools, ToolDef, ToolSet};
use super::load::{check_choice, check_keys, check_schema, describe, is_valid_tool_name};
use super::ToolProblem;
use crate::diagnostic::suggest;

/// The keys of a `{mcp: NAME}` entry.
pub const SERVER_KEYS: &[&str] = &["mcp", "only"];

/// Reads item `at` (`tools[2]`) written `{mcp: NAME, only: [..]}`; where it goes in the
/// set and its line are the caller's to fill in.
pub fn parse_server(map: &Map<String, Json>, at: &str) -> Result<ServerTools, ToolProblem> {
    check_keys(map, SERVER_KEYS, at, &None)?;
    let shape = |key: &str, message: String| ToolProblem::Shape {
        at: format!("{at}.{key}"),
        tool: None,
        message,
    };
    let server = match map.get("mcp") {
        Some(Json::String(name)) if !name.trim().is_empty() => name.trim().to_string(),
        other => {
            return Err(shape(
                "mcp",
                format!(
                    "must name a server of `mcp_servers:`, found {}",
                    describe(other.unwrap_or(&Json::Null))
                ),
            ))
        }
    };
    let only = match map.get("only") {
        None | Some(Json::Null) => None,
        Some(Json::Array(items)) if !items.is_empty() => {
            let mut names: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(name) if !names.iter().any(|n| n == name) => names.push(name.into()),
                    Some(name) => {
                        return Err(shape("only", format!("names `{name}` twice")));
                    }
                    None => {
                        return Err(shape(
                            "only",
                            format!("must list tool names, found {}", describe(item)),
                        ))
                    }
                }
            }
            Some(names)
        }
        Some(other) => {
            return Err(shape(
                "only",
                format!(
                    "must be a non-empty list of the server's tool names, found {}",
                    describe(other)
                ),
            ))
        }
    };
    Ok(ServerTools {
        server,
        only,
        at: 0,
        line: None,
    })
}

/// What is wrong with the tools a server lists, for the set that offers them.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ListedProblem {
    /// The server's `tools/list` is empty.
    #[error("MCP server `{server}` lists no tools{stderr}")]
    NoTools {
        /// The server.
        server: String,
        /// The end of its stderr (`; its stderr ends: …`), which may say why; empty when
        /// it wrote none.
        stderr: String,
    },
    /// A listed tool's name is not one the model APIs take.
    #[error("MCP server `{server}` lists `{name}`, which is not a valid function name (1 to 64 letters, digits, `_` and `-`)")]
    BadName {
        /// The server.
        server: String,
        /// The name as listed.
        name: String,
    },
    /// A listed tool's `inputSchema` does not compile.
    #[error("MCP server `{server}` lists `{tool}`, whose inputSchema is not a valid JSON Schema (draft 2020-12): {message}")]
    BadSchema {
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// What the schema compiler said.
        message: String,
    },
    /// A listed tool has the name of another tool of the set.
    #[error("MCP server `{server}` lists `{name}`, and {other} has the same name")]
    Duplicate {
        /// The server.
        server: String,
        /// The name.
        name: String,
        /// Who else offers it (`a tool written under \`tools:\``).
        other: String,
    },
    /// `only` names a tool the server does not list.
    #[error("`only` names `{name}`, which MCP server `{server}` does not list{}. It lists: {}", near(suggestion), listed.join(", "))]
    NotListed {
        /// The server.
        server: String,
        /// The name as written.
        name: String,
        /// The likely one.
        suggestion: Option<String>,
        /// What the server lists.
        listed: Vec<String>,
    },
    /// `tool_choice` names a tool that neither the written tools nor the server's are.
    #[error(transparent)]
    Choice(ToolProblem),
    /// A `tool_handlers:` entry for a tool that no set of the eval offers, once the
    /// servers have listed theirs.
    #[error("a handler for `{tool}`, which neither a version's tools nor the servers' lists offer{}. Offered: {}", near(suggestion), offered.join(", "))]
    NotOffered {
        /// The handler's tool.
        tool: String,
        /// The likely one.
        suggestion: Option<String>,
        /// Every tool the eval's sets offer.
        offered: Vec<String>,
    },
}

fn near(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

impl ListedProblem {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            ListedProblem::NoTools { server, .. } => format!(
                "check the server's `args` under `mcp_servers.{server}` (some servers list tools only when told which to enable), or write the tools under `tools:` instead of `{{mcp: {server}}}`"
            ),
            ListedProblem::BadName { server, .. } | ListedProblem::BadSchema { server, .. } => {
                format!("leave the tool out with `{{mcp: {server}, only: [..]}}`, or fix the server")
            }
            ListedProblem::Duplicate { server, .. } => format!(
                "rename or remove the written tool, or leave the server's out with `{{mcp: {server}, only: [..]}}`; a model cannot tell two tools of one name apart"
            ),
            ListedProblem::NotListed { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            ListedProblem::NotListed { .. } => {
                "list only names the server lists (`prompteval` shows them in this error)".into()
            }
            ListedProblem::Choice(problem) => return problem.hint(),
            ListedProblem::NotOffered { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            ListedProblem::NotOffered { .. } => {
                "remove the handler, or offer the tool in a version's `tools:`".into()
            }
        })
    }
}

impl ToolSet {
    /// The tools MCP servers list at run time that this set offers (`{mcp: NAME}`), by
    /// server, in the order written.
    pub fn server_names(&self) -> Vec<&str> {
        self.servers.iter().map(|s| s.server.as_str()).collect()
    }

    /// This set with the tools each server lists (`listed(NAME)`) in place of its
    /// `{mcp: NAME}` entries, each checked as a written tool is (a function name, a
    /// schema that compiles, no name twice), then `tool_choice` against the whole set.
    /// The problem comes with the line of the entry at fault, when known.
    pub fn with_listed<'a>(
        &self,
        listed: impl Fn(&str) -> Option<&'a [ToolDef]>,
    ) -> Result<ToolSet, (Option<usize>, ListedProblem)> {
        let mut tools: Vec<(ToolDef, Option<&ServerTools>)> = Vec::new();
        let mut servers: Vec<&ServerTools> = self.servers.iter().collect();
        servers.sort_by_key(|s| s.at);
        let mut next = servers.into_iter().peekable();
        for i in 0..=self.tools.len() {
            while let Some(entry) = next.next_if(|s| s.at <= i) {
                let offered = offered(entry, listed(&entry.server).unwrap_or_default())
                    .map_err(|p| (entry.line, p))?;
                tools.extend(offered.into_iter().map(|t| (t, Some(entry))));
            }
            if let Some(tool) = self.tools.get(i) {
                tools.push((tool.clone(), None));
            }
        }
        for (i, (tool, from)) in tools.iter().enumerate() {
            let Some(entry) = from else { continue };
            if let Some((_, other)) = tools.iter().enumerate().find_map(|(j, (t, o))| {
                (j != i && t.name == tool.name && (o.is_none() || j < i)).then_some((t, o))
            }) {
                let other = match other {
                    None => "a tool written under `tools:`".to_string(),
                    Some(o) => format!("a tool MCP server `{}` lists", o.server),
                };
                let problem = ListedProblem::Duplicate {
                    server: entry.server.clone(),
                    name: tool.name.clone(),
                    other,
                };
                return Err((entry.line, problem));
            }
        }
        let set = ToolSet {
            tools: tools.into_iter().map(|(t, _)| t).collect(),
            choice: self.choice.clone(),
            parallel: self.parallel,
            servers: Vec::new(),
        };
        check_choice(&set).map_err(|p| (None, ListedProblem::Choice(p)))?;
        Ok(set)
    }
}

/// The listed tools the entry offers (all, or those of `only` in the server's order),
/// each checked.
fn offered(entry: &ServerTools, listed: &[ToolDef]) -> Result<Vec<ToolDef>, ListedProblem> {
    let server = || entry.server.clone();
    if listed.is_empty() {
        return Err(ListedProblem::NoTools {
            server: server(),
            stderr: String::new(),
        });
    }
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    if let Some(only) = &entry.only {
        if let Some(missing) = only.iter().find(|n| !names.contains(&n.as_str())) {
            return Err(ListedProblem::NotListed {
                server: server(),
                name: missing.clone(),
                suggestion: suggest(missing, &names).map(str::to_string),
                listed: names.iter().map(|n| n.to_string()).collect(),
            });
        }
    }
    let chosen = listed.iter().filter(|t| {
        entry
            .only
            .as_ref()
            .is_none_or(|only| only.contains(&t.name))
    });
    let mut out = Vec::new();
    for tool in chosen {
        if !is_valid_tool_name(&tool.name) {
            return Err(ListedProblem::BadName {
                server: server(),
                name: tool.name.clone(),
            });
        }
        if let Err(ToolProblem::InvalidSchema { message, .. }) =
            check_schema(&tool.name, &tool.parameters)
        {
            return Err(ListedProblem::BadSchema {
                server: server(),
                tool: tool.name.clone(),
                message,
            });
        }
        out.push(tool.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::load::{parse_choice, parse_entry};
    use crate::tools::ToolEntry;
    use serde_json::json;

    fn tool(name: &str) -> ToolDef {
        ToolDef {
            name: name.into(),
            description: Some(format!("{name}.")),
            parameters: json!({"type": "object", "properties": {"tz": {"type": "string"}}}),
        }
    }

    fn entry(json: Json) -> Result<ServerTools, ToolProblem> {
        match parse_entry(&json, "tools[1]")? {
            ToolEntry::Server(s) => Ok(s),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_mcp_entry_names_a_server_and_optionally_a_subset() {
        let e = entry(json!({"mcp": "time"})).unwrap();
        assert_eq!((e.server.as_str(), e.only), ("time", None));
        let e = entry(json!({"mcp": "time", "only": ["get_current_time"]})).unwrap();
        assert_eq!(e.only.unwrap(), ["get_current_time"]);
        let err = |j: Json| entry(j).unwrap_err().to_string();
        assert_eq!(
            err(json!({"mcp": "time", "ony": []})),
            "unknown key `ony` in tools[1] (did you mean `only`?). Choose from: mcp, only"
        );
        assert_eq!(
            err(json!({"mcp": 3})),
            "tools[1].mcp: must name a server of `mcp_servers:`, found `3`"
        );
        assert!(err(json!({"mcp": "t", "only": []})).contains("non-empty list"));
        assert!(err(json!({"mcp": "t", "only": ["a", "a"]})).contains("names `a` twice"));
    }

    fn set(written: &[&str], servers: &[(&str, usize, Option<Vec<&str>>)]) -> ToolSet {
        ToolSet {
            tools: written.iter().map(|n| tool(n)).collect(),
            servers: servers
                .iter()
                .map(|(s, at, only)| ServerTools {
                    server: s.to_string(),
                    only: only
                        .as_ref()
                        .map(|o| o.iter().map(|n| n.to_string()).collect()),
                    at: *at,
                    line: Some(4 + at),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn names(set: &ToolSet) -> Vec<&str> {
        set.tools.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn listed_tools_go_where_the_entry_is_written() {
        let time = [tool("get_current_time"), tool("convert_time")];
        let listed = |s: &str| (s == "time").then_some(&time[..]);
        let resolved = set(&["a", "b"], &[("time", 1, None)])
            .with_listed(listed)
            .unwrap();
        assert_eq!(
            names(&resolved),
            ["a", "get_current_time", "convert_time", "b"]
        );
        assert!(resolved.servers.is_empty());
        let only = set(&["a"], &[("time", 1, Some(vec!["convert_time"]))])
            .with_listed(listed)
            .unwrap();
        assert_eq!(names(&only), ["a", "convert_time"]);
    }

    #[test]
    fn listed_tools_are_checked_like_written_ones() {
        let time = [tool("get_current_time")];
        let listed = |_: &str| Some(&time[..]);
        let (line, dup) = set(&["get_current_time"], &[("time", 0, None)])
            .with_listed(listed)
            .unwrap_err();
        assert_eq!(line, Some(4));
        assert_eq!(
            dup.to_string(),
            "MCP server `time` lists `get_current_time`, and a tool written under `tools:` has the same name"
        );
        let (_, twice) = set(&[], &[("time", 0, None), ("clock", 0, None)])
            .with_listed(listed)
            .unwrap_err();
        assert!(
            twice.to_string().contains("a tool MCP server `time` lists"),
            "{twice}"
        );
        let (_, missing) = set(&[], &[("time", 0, Some(vec!["get_curent_time"]))])
            .with_listed(listed)
            .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "`only` names `get_curent_time`, which MCP server `time` does not list (did you mean `get_current_time`?). It lists: get_current_time"
        );
        let (_, none) = set(&[], &[("time", 0, None)])
            .with_listed(|_| Some(&[]))
            .unwrap_err();
        assert_eq!(none.to_string(), "MCP server `time` lists no tools");
        assert!(none.hint().unwrap().contains("mcp_servers.time"));
        let bad = [ToolDef {
            parameters: json!({"type": "object", "properties": {"x": {"type": 5}}}),
            ..tool("f")
        }];
        let (_, schema) = set(&[], &[("s", 0, None)])
            .with_listed(|_| Some(&bad[..]))
            .unwrap_err();
        assert!(
            schema.to_string().starts_with(
                "MCP server `s` lists `f`, whose inputSchema is not a valid JSON Schema"
            ),
            "{schema}"
        );
        let odd = [tool("a.b")];
        let (_, name) = set(&[], &[("s", 0, None)])
            .with_listed(|_| Some(&odd[..]))
            .unwrap_err();
        assert!(matches!(name, ListedProblem::BadName { .. }));
    }

    #[test]
    fn tool_choice_may_name_a_listed_tool() {
        let time = [tool("get_current_time")];
        let mut written = set(&[], &[("time", 0, None)]);
        written.choice = Some(parse_choice("get_current_time"));
        assert!(written.with_listed(|_| Some(&time[..])).is_ok());
        written.choice = Some(parse_choice("get_time"));
        let (_, problem) = written.with_listed(|_| Some(&time[..])).unwrap_err();
        assert!(matches!(problem, ListedProblem::Choice(_)), "{problem}");
    }
}
