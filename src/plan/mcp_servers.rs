//! An eval's `mcp_servers:` over the project's: named MCP servers, which a version offers
//! as `tools: [{mcp: NAME}]` and a `tool_handlers:` entry names as `{kind: mcp, server:
//! NAME}`, each checked as an `mcp` handler is.

use std::path::Path;

use serde_json::{Map, Value};

use crate::agent::mcp::settings::MCP_KEYS;
use crate::config::project::{Project, CONFIG_FILE};
use crate::diagnostic::Location;
use crate::plan::PlanError as Error;

use super::handlers::{invalid, Origin};
use super::PlannedPrompt;

/// The key of named servers in eval files and `prompteval.yaml`.
pub(super) const KEY: &str = "mcp_servers";

/// The servers one eval may name: its own entries, then the project's.
pub(super) struct Servers<'a> {
    eval: &'a Map<String, Value>,
    eval_file: &'a Path,
    eval_text: &'a str,
    project: &'a Map<String, Value>,
    /// `prompteval.yaml` as text, read when the project declares servers.
    project_text: String,
}

impl<'a> Servers<'a> {
    /// The servers of the eval file `eval_file` (its `mcp_servers:` as written, and its
    /// text), over the project's.
    pub(super) fn new(
        eval: &'a Map<String, Value>,
        (eval_file, eval_text): (&'a Path, &'a str),
        project: &'a Project,
    ) -> Servers<'a> {
        let declared = &project.config.mcp_servers;
        let project_text = match declared.is_empty() {
            true => String::new(),
            false => std::fs::read_to_string(project.root.join(CONFIG_FILE)).unwrap_or_default(),
        };
        Servers {
            eval,
            eval_file,
            eval_text,
            project: declared,
            project_text,
        }
    }

    /// Every name the eval may use, sorted.
    pub(super) fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .eval
            .keys()
            .chain(self.project.keys())
            .map(String::as_str)
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The names the eval file itself declares.
    pub(super) fn own(&self) -> impl Iterator<Item = &str> {
        self.eval.keys().map(String::as_str)
    }

    /// Server `name` as a handler entry (`kind: mcp` and its settings) and where it is
    /// written; `None` when neither the eval nor the project declares it. An entry that is
    /// not a mapping, or sets `kind`, is an error at the entry.
    pub(super) fn entry(&self, name: &str) -> Option<Result<(Value, Origin<'_>), Error>> {
        let (written, file, text) = match self.eval.get(name) {
            Some(entry) => (entry, self.eval_file, self.eval_text),
            None => (
                self.project.get(name)?,
                Path::new(CONFIG_FILE),
                self.project_text.as_str(),
            ),
        };
        let origin = Origin {
            file,
            text,
            key: format!("{KEY}.{name}"),
        };
        let example = "{command: mcp-server-time, args: [--local-timezone, UTC]}";
        let Some(map) = written.as_object() else {
            return Some(Err(invalid(
                origin.at(None),
                &origin.key,
                "a server must be a mapping with `command:` or `url:`",
                Some(format!("write e.g. `{name}: {example}`")),
            )));
        };
        let keys: Vec<&str> = MCP_KEYS
            .iter()
            .copied()
            .filter(|k| *k != "server")
            .collect();
        if let Some(key) = map
            .keys()
            .find(|k| !keys.contains(&k.as_str()) && !matches!(k.as_str(), "kind" | "server"))
        {
            let near = crate::diagnostic::suggest(key, &keys)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Some(Err(invalid(
                origin.at(Some(key)),
                &format!("{}.{key}", origin.key),
                &format!(
                    "unknown key `{key}`{near}. Choose from: {}",
                    keys.join(", ")
                ),
                Some(format!("e.g. `{name}: {example}`")),
            )));
        }
        for (key, why) in [("kind", "it is an MCP server"), ("server", "it is one")] {
            if map.contains_key(key) {
                return Some(Err(invalid(
                    origin.at(Some(key)),
                    &format!("{}.{key}", origin.key),
                    &format!("a server under `{KEY}:` takes no `{key}`: {why}"),
                    Some(format!("remove `{key}`; e.g. `{name}: {example}`")),
                )));
            }
        }
        let mut entry = Map::new();
        entry.insert("kind".into(), "mcp".into());
        entry.extend(map.clone());
        Some(Ok((Value::Object(entry), origin)))
    }

    /// The error for a server `name` that neither the eval nor the project declares,
    /// named `at` `key` by `who` (a handler entry, `w@1`).
    pub(super) fn unknown(&self, name: &str, at: Location, key: &str, who: &str) -> Error {
        let names = self.names();
        let near = crate::diagnostic::suggest(name, &names)
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        let hint = match names.is_empty() {
            true => format!(
                "declare it under `{KEY}:` in the eval file or in {CONFIG_FILE}, e.g. `{KEY}: {{{name}: {{command: mcp-server-time}}}}`"
            ),
            false => format!("the servers declared: {}", names.join(", ")),
        };
        invalid(
            at,
            key,
            &format!("{who} names MCP server `{name}`, which is not declared under `{KEY}:`{near}"),
            Some(hint),
        )
    }
}

/// The servers the versions of `prompts` offer the tools of, each with the first version
/// that does and the line of its entry: `(server, reference, location)`.
pub(super) fn offered(prompts: &[PlannedPrompt]) -> Vec<(String, String, Location)> {
    let mut out: Vec<(String, String, Location)> = Vec::new();
    for p in prompts {
        for entry in &p.version.tools.servers {
            if out.iter().any(|(s, ..)| *s == entry.server) {
                continue;
            }
            let location = match entry.line {
                Some(line) => Location::line(&p.version.path, line),
                None => Location::file(&p.version.path),
            };
            out.push((entry.server.clone(), p.version.reference(), location));
        }
    }
    out
}

/// The server a `{kind: mcp, server: NAME}` handler entry names, when it names one; an
/// entry that gives settings of its own besides is an error.
pub(super) fn named_by(entry: &Value, origin: &Origin<'_>) -> Result<Option<String>, Error> {
    let Some(map) = entry.as_object() else {
        return Ok(None);
    };
    if map.get("kind").and_then(Value::as_str) != Some("mcp") {
        return Ok(None);
    }
    let Some(server) = map.get("server") else {
        return Ok(None);
    };
    let Some(name) = server.as_str().filter(|s| !s.trim().is_empty()) else {
        return Err(invalid(
            origin.at(Some("server")),
            &format!("{}.server", origin.key),
            &format!("`server` must name a server of `{KEY}:`"),
            None,
        ));
    };
    if let Some(other) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "kind" | "server"))
    {
        return Err(invalid(
            origin.at(Some(other)),
            &format!("{}.{other}", origin.key),
            &format!("an entry with `server: {name}` takes no `{other}`: the settings are the server's, under `{KEY}.{name}`"),
            Some(format!("move `{other}` to `{KEY}.{name}`, or drop `server` and give the settings here")),
        ));
    }
    Ok(Some(name.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::config::project::Project;
    use crate::diagnostic::Warning;
    use crate::plan::{plan, Plan, PlanError, Selection};
    use crate::registry::Registry;

    /// Plans one eval (`eval` its extra keys) over a version whose `tools` are `tools`, with
    /// `config` as `prompteval.yaml`.
    fn planned(config: &str, tools: &str, eval: &str) -> Result<(Plan, Vec<Warning>), PlanError> {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| crate::test_files::write(dir.path(), path, text);
        write("prompteval.yaml", config);
        write(
            "prompts/clock/v1.yaml",
            &format!(
                "messages:\n  - role: user\n    content: \"{{{{ city }}}}?\"\ntools:\n{tools}"
            ),
        );
        write(
            "datasets/c.jsonl",
            "{\"id\": \"rome\", \"city\": \"Rome\"}\n",
        );
        let head = "prompts: [clock@1]\nmodels: [echo]\ndataset: datasets/c.jsonl\n";
        write("evals/e.yaml", &format!("{head}{eval}"));
        let project = Project::discover(dir.path()).unwrap().0;
        let registry = Registry::load(&project.root).unwrap().0;
        plan(&project, &registry, &Selection::default())
    }

    fn errors(err: PlanError) -> Vec<String> {
        match err {
            PlanError::Many(errors) => errors.iter().map(|e| e.to_string()).collect(),
            one => vec![one.to_string()],
        }
    }

    const TIME: &str =
        "mcp_servers:\n  time: {command: mcp-server-time, args: [--local-timezone, UTC]}\n";

    #[test]
    fn a_version_offers_a_named_servers_tools_and_a_handler_may_name_it() {
        let tools = "  - {mcp: time, only: [get_current_time]}\n  - name: note\n";
        let eval = "tool_handlers:\n  note: {kind: mcp, server: time}\n";
        let (plan, _) = planned(TIME, tools, eval).unwrap();
        let handlers = plan.evals[0].handlers.as_ref().unwrap();
        let server = &handlers.servers["time"];
        assert!(
            Arc::ptr_eq(server, &handlers.by_tool["note"]),
            "one server, one handler"
        );
        assert_eq!(
            handlers.server_origins["time"].to_string(),
            "prompteval.yaml:2"
        );
        let version = &plan.evals[0].prompts[0].version;
        assert_eq!(version.tools.server_names(), ["time"]);
        assert_eq!(version.tools.servers[0].at, 0);
        assert_eq!(version.tools.servers[0].line, Some(5));
        assert!(plan.evals[0].lists_tools());
    }

    #[test]
    fn the_evals_server_wins_over_the_projects() {
        let eval = "mcp_servers:\n  time: {url: 'http://127.0.0.1:9/mcp'}\n";
        let (plan, _) = planned(TIME, "  - {mcp: time}\n", eval).unwrap();
        let origins = &plan.evals[0].handlers.as_ref().unwrap().server_origins;
        assert_eq!(origins["time"].to_string(), "evals/e.yaml:5");
    }

    #[test]
    fn an_unknown_server_is_an_error_with_did_you_mean() {
        let err = planned(TIME, "  - {mcp: tiem}\n", "").err().unwrap();
        assert_eq!(
            errors(err),
            ["prompts/clock/v1.yaml:5: at `tools`: clock@1 (`tools: [{mcp: tiem}]`) names MCP server `tiem`, which is not declared under `mcp_servers:` (did you mean `time`?)"]
        );
        let eval = "tool_handlers:\n  f: {kind: mcp, server: tmie}\n";
        let err = planned(TIME, "  - {mcp: time}\n  - name: f\n", eval)
            .err()
            .unwrap();
        assert_eq!(
            errors(err),
            ["evals/e.yaml:5: at `tool_handlers.f.server`: `tool_handlers.f` names MCP server `tmie`, which is not declared under `mcp_servers:` (did you mean `time`?)"]
        );
        let none = planned("", "  - {mcp: time}\n", "").err().unwrap();
        assert!(errors(none)[0].contains("not declared under `mcp_servers:`"));
    }

    #[test]
    fn servers_are_checked_key_by_key() {
        let eval =
            "mcp_servers:\n  time: {comand: mcp-server-time}\n  other: {kind: mcp, command: x}\n  third: {server: time}\n";
        let err = planned("", "  - {mcp: time}\n", eval).err().unwrap();
        let texts = errors(err);
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert_eq!(
            texts[2],
            "evals/e.yaml:7: at `mcp_servers.third.server`: a server under `mcp_servers:` takes no `server`: it is one"
        );
        assert_eq!(
            texts[0],
            "evals/e.yaml:5: at `mcp_servers.time.comand`: unknown key `comand` (did you mean `command`?). Choose from: command, args, env, url, timeout, startup_timeout"
        );
        assert_eq!(
            texts[1],
            "evals/e.yaml:6: at `mcp_servers.other.kind`: a server under `mcp_servers:` takes no `kind`: it is an MCP server"
        );
        let eval = "tool_handlers:\n  f: {kind: mcp, server: time, timeout: 5s}\n";
        let err = planned(TIME, "  - name: f\n", eval).err().unwrap();
        assert!(
            errors(err)[0].contains("an entry with `server: time` takes no `timeout`"),
            "the settings are the server's"
        );
    }

    #[test]
    fn a_handler_for_a_tool_the_server_may_list_is_not_an_error_at_plan_time() {
        let eval = "tool_handlers:\n  get_current_time: {kind: mock, result: noon}\n";
        let (plan, _) = planned(TIME, "  - {mcp: time}\n", eval).unwrap();
        let handlers = plan.evals[0].handlers.as_ref().unwrap();
        assert!(handlers.by_tool.contains_key("get_current_time"));
    }
}
