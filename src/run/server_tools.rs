//! The tools MCP servers list (`tools: [{mcp: NAME}]`): asked once per run, after the
//! handlers have started and before any cell is sent, and put into the plan's tool sets.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::agent::{HandlerSet, ToolFailure, ToolHandler};
use crate::diagnostic::Location;
use crate::plan::{EvalPlan, Plan};
use crate::run::session::SessionError;
use crate::tools::listed::ListedProblem;
use crate::tools::{ToolDef, ToolSet};

/// Why the servers' tools could not be put into the plan; no cell has run.
#[derive(Debug)]
pub(crate) enum ListError {
    /// A server could not list its tools (it did not start, `tools/list` failed).
    Failed {
        /// The server's name.
        server: String,
        /// Where it is written.
        location: Location,
        /// Why.
        failure: ToolFailure,
    },
    /// The list does not fit a set that offers it (no tools, a name twice, …).
    Problem {
        /// The `{mcp: NAME}` entry (or the dataset row that adds tools).
        location: Location,
        /// The version (`clock@1`), and the case for a row's own set.
        reference: String,
        /// What is wrong.
        problem: Box<ListedProblem>,
    },
}

impl ListError {
    /// The run's error, the failed run recorded in `dir`.
    pub(crate) fn into_error(self, dir: std::path::PathBuf) -> SessionError {
        match self {
            ListError::Failed {
                server,
                location,
                failure,
            } => SessionError::ServerList {
                location: Box::new(location),
                server,
                dir,
                source: failure,
            },
            ListError::Problem {
                location,
                reference,
                problem,
            } => SessionError::ServerTools {
                location: Box::new(location),
                reference,
                problem,
                dir,
            },
        }
    }
}

/// Lists the tools of every server a version offers, once per server, and resolves every
/// tool set of the plan that offers them; each listed tool a set offers is then answered
/// by its server, unless a `tool_handlers:` entry answers it.
pub(crate) async fn list_server_tools(plan: &mut Plan) -> Result<(), ListError> {
    let mut lists: HashMap<usize, Arc<Vec<ToolDef>>> = HashMap::new();
    for handlers in plan.evals.iter().filter_map(|e| e.handlers.as_deref()) {
        for (server, handler) in &handlers.servers {
            let id = id_of(handler);
            if lists.contains_key(&id) {
                continue;
            }
            let listed = handler.list_tools().await.map_err(|failure| {
                let location = handlers.server_origins.get(server).cloned();
                ListError::Failed {
                    server: server.clone(),
                    location: location.unwrap_or_else(|| Location::file("mcp_servers")),
                    failure,
                }
            })?;
            lists.insert(id, Arc::new(listed));
        }
    }
    for eval in &mut plan.evals {
        let Some(handlers) = eval.handlers.clone() else {
            continue;
        };
        if handlers.servers.is_empty() {
            continue;
        }
        let listed = |name: &str| {
            let handler = handlers.servers.get(name)?;
            lists.get(&id_of(handler)).map(|l| l.as_slice())
        };
        let offered = resolve_eval(eval, &listed).map_err(|e| with_stderr(e, &handlers))?;
        check_offered(eval, &handlers, &offered)?;
        eval.handlers = Some(Arc::new(with_servers(&handlers, &offered, &listed)));
    }
    Ok(())
}

/// Resolves the sets of `eval`'s versions and of its rows that add tools; returns the
/// names of every tool they offer.
fn resolve_eval<'a>(
    eval: &mut EvalPlan,
    listed: &impl Fn(&str) -> Option<&'a [ToolDef]>,
) -> Result<BTreeSet<String>, ListError> {
    let mut offered = BTreeSet::new();
    for p in &mut eval.prompts {
        if p.version.tools.servers.is_empty() {
            continue;
        }
        let resolved = p
            .version
            .tools
            .with_listed(listed)
            .map_err(|(line, problem)| {
                let path = &p.version.path;
                ListError::Problem {
                    location: line
                        .map_or_else(|| Location::file(path), |l| Location::line(path, l)),
                    reference: p.version.reference(),
                    problem: Box::new(problem),
                }
            })?;
        offered.extend(resolved.tools.iter().map(|t| t.name.clone()));
        let mut version = (*p.version).clone();
        version.tools = Arc::new(resolved);
        p.version = Arc::new(version);
    }
    for (r, sets) in eval.row_tools.iter_mut().enumerate() {
        let Some(sets) = sets else { continue };
        for (i, set) in sets.iter_mut().enumerate() {
            if set.servers.is_empty() {
                continue;
            }
            let resolved: ToolSet = set.with_listed(listed).map_err(|(_, problem)| {
                // Read at the plan already; should it fail now, the message lacks the case.
                let (line, case) = eval
                    .rows
                    .row(r)
                    .map_or((0, String::new()), |row| (row.line, row.id.clone()));
                ListError::Problem {
                    location: Location::line(&eval.dataset.path, line),
                    reference: format!("{}, case {case}", eval.prompts[i].version.reference()),
                    problem: Box::new(problem),
                }
            })?;
            offered.extend(resolved.tools.iter().map(|t| t.name.clone()));
            *set = Arc::new(resolved);
        }
    }
    Ok(offered)
}

/// `error` with the end of the server's stderr, when it is that the server lists no tools
/// (what it wrote may say why: a missing option, a failed login).
fn with_stderr(mut error: ListError, handlers: &HandlerSet) -> ListError {
    if let ListError::Problem { problem, .. } = &mut error {
        if let ListedProblem::NoTools { server, stderr } = problem.as_mut() {
            if let Some(handler) = handlers.servers.get(server) {
                *stderr = handler.stderr_tail();
            }
        }
    }
    error
}

/// Fails on a `tool_handlers:` entry for a tool no set of `eval` offers: the plan let it
/// through because a server might have listed it.
fn check_offered(
    eval: &EvalPlan,
    handlers: &HandlerSet,
    offered: &BTreeSet<String>,
) -> Result<(), ListError> {
    let mut all: BTreeSet<&str> = offered.iter().map(String::as_str).collect();
    for p in &eval.prompts {
        all.extend(p.version.tools.tools.iter().map(|t| t.name.as_str()));
    }
    for set in eval.row_tools.iter().flatten().flatten() {
        all.extend(set.tools.iter().map(|t| t.name.as_str()));
    }
    let Some(tool) = handlers.by_tool.keys().find(|t| !all.contains(t.as_str())) else {
        return Ok(());
    };
    let names: Vec<&str> = all.iter().copied().collect();
    Err(ListError::Problem {
        location: handlers
            .origins
            .get(tool)
            .cloned()
            .unwrap_or_else(|| Location::file(&eval.path)),
        reference: eval.name.clone(),
        problem: Box::new(ListedProblem::NotOffered {
            tool: tool.clone(),
            suggestion: crate::diagnostic::suggest(tool, &names).map(str::to_string),
            offered: names.iter().map(|n| n.to_string()).collect(),
        }),
    })
}

/// `handlers` with each offered tool a server lists answered by that server, unless
/// `tool_handlers:` already answers it.
fn with_servers<'a>(
    handlers: &HandlerSet,
    offered: &BTreeSet<String>,
    listed: &impl Fn(&str) -> Option<&'a [ToolDef]>,
) -> HandlerSet {
    let mut set = handlers.clone();
    for (server, handler) in &handlers.servers {
        for tool in listed(server).unwrap_or_default() {
            if !offered.contains(&tool.name) || set.by_tool.contains_key(&tool.name) {
                continue;
            }
            set.by_tool.insert(tool.name.clone(), handler.clone());
            if let Some(origin) = handlers.server_origins.get(server) {
                set.origins.insert(tool.name.clone(), origin.clone());
            }
        }
    }
    set
}

/// One handler's identity: servers written alike share one handler and list once.
fn id_of(handler: &Arc<dyn ToolHandler>) -> usize {
    Arc::as_ptr(handler).cast::<()>() as usize
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::provider::BoxFuture;
    use crate::tools::ToolCall;

    /// A server that lists `tools` and counts how often it was asked.
    struct Lists {
        tools: Vec<ToolDef>,
        asked: AtomicUsize,
    }

    impl ToolHandler for Lists {
        fn call<'a>(
            &'a self,
            _call: &'a ToolCall,
            _vars: &'a serde_json::Map<String, serde_json::Value>,
        ) -> BoxFuture<'a, Result<String, ToolFailure>> {
            Box::pin(std::future::ready(Ok("listed".into())))
        }

        fn list_tools(&self) -> BoxFuture<'_, Result<Vec<ToolDef>, ToolFailure>> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Box::pin(std::future::ready(Ok(self.tools.clone())))
        }
    }

    fn tool(name: &str) -> ToolDef {
        ToolDef {
            name: name.into(),
            description: None,
            parameters: json!({"type": "object", "properties": {}}),
        }
    }

    /// A plan of two evals over a version offering `{mcp: time}` after its tool `note`
    /// (a row of the first adds `extra`), `handlers` the first eval's `tool_handlers:`.
    fn plan(handlers: &str) -> Plan {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| crate::test_files::write(dir.path(), path, text);
        write(
            "prompteval.yaml",
            "mcp_servers:\n  time: {command: mcp-server-time}\n",
        );
        write(
            "prompts/w/v1.yaml",
            "messages:\n  - {role: user, content: hi}\ntools:\n  - name: note\n  - {mcp: time}\n",
        );
        write(
            "datasets/d.jsonl",
            "{\"id\": \"x\"}\n{\"id\": \"y\", \"tools\": [{\"name\": \"extra\"}]}\n",
        );
        let head = "prompts: [w@1]\nmodels: [echo]\ndataset: datasets/d.jsonl\n";
        write("evals/a.yaml", &format!("{head}{handlers}"));
        write("evals/b.yaml", head);
        crate::test_files::plan(dir.path())
    }

    /// Puts `server` in place of the planned `time` server of every eval.
    fn serve(plan: &mut Plan, server: &Arc<Lists>) {
        for eval in &mut plan.evals {
            let mut set = (**eval.handlers.as_ref().unwrap()).clone();
            let server: Arc<dyn ToolHandler> = server.clone();
            set.servers.insert("time".into(), server);
            eval.handlers = Some(Arc::new(set));
        }
    }

    fn names(set: &ToolSet) -> Vec<&str> {
        set.tools.iter().map(|t| t.name.as_str()).collect()
    }

    #[tokio::test]
    async fn listed_once_and_resolved_into_every_set_and_handler() {
        let mut plan = plan("tool_handlers:\n  convert: {kind: mock, result: pinned}\n");
        let server = Arc::new(Lists {
            tools: vec![tool("now"), tool("convert")],
            asked: AtomicUsize::new(0),
        });
        serve(&mut plan, &server);
        list_server_tools(&mut plan).await.unwrap();
        assert_eq!(
            server.asked.load(Ordering::SeqCst),
            1,
            "one server, one list"
        );
        let a = &plan.evals[0];
        assert_eq!(names(a.tool_set(0, 0).unwrap()), ["note", "now", "convert"]);
        assert_eq!(
            names(a.tool_set(0, 1).unwrap()),
            ["note", "now", "convert", "extra"]
        );
        assert!(a.tool_set(0, 0).unwrap().servers.is_empty());
        let handlers = a.handlers.as_ref().unwrap();
        let by = |t: &str| Arc::as_ptr(&handlers.by_tool[t]).cast::<()>();
        assert_eq!(by("now"), Arc::as_ptr(&server).cast::<()>());
        assert_ne!(by("convert"), by("now"), "the eval's own handler wins");
        assert!(!handlers.by_tool.contains_key("note"));
    }

    #[tokio::test]
    async fn a_handler_for_a_tool_nobody_offers_is_found_once_listed() {
        let mut plan = plan("tool_handlers:\n  noow: {kind: mock, result: x}\n");
        let server = Arc::new(Lists {
            tools: vec![tool("now")],
            asked: AtomicUsize::new(0),
        });
        serve(&mut plan, &server);
        let Err(ListError::Problem {
            location,
            reference,
            problem,
        }) = list_server_tools(&mut plan).await
        else {
            panic!("no problem found")
        };
        assert_eq!(location.to_string(), "evals/a.yaml:5");
        assert_eq!(reference, "a");
        assert_eq!(
            problem.to_string(),
            "a handler for `noow`, which neither a version's tools nor the servers' lists offer (did you mean `now`?). Offered: extra, note, now"
        );
    }
}
