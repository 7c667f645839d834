//! The tools MCP servers list (`tools: [{mcp: NAME}]`): asked once per run, after the
//! handlers have started and before any cell is sent, and put into the plan's tool sets.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::agent::{HandlerSet, ToolFailure, ToolHandler};
use crate::diagnostic::Location;
use crate::plan::{EvalPlan, Plan};
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
        let offered = resolve_eval(eval, &listed)?;
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
                let row = &eval.rows[r];
                ListError::Problem {
                    location: Location::line(&eval.dataset.path, row.line),
                    reference: format!("{}, case {}", eval.prompts[i].version.reference(), row.id),
                    problem: Box::new(problem),
                }
            })?;
            offered.extend(resolved.tools.iter().map(|t| t.name.clone()));
            *set = Arc::new(resolved);
        }
    }
    Ok(offered)
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
