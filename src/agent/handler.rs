//! The [`ToolHandler`] trait that runs a model's tool calls, and the [`HandlerSet`] of an
//! eval: which handler answers which tool.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::provider::BoxFuture;
use crate::tools::{ToolCall, ToolDef};

/// A call the handler could not answer: returned to the model as an error result and
/// recorded, not a provider error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolFailure {
    /// What went wrong, for the model and for the report (`timed out after 10s`,
    /// `exit status 1: …stderr tail`, `unknown tool `foo``).
    pub message: String,
}

impl ToolFailure {
    /// A failure saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ToolFailure {
            message: message.into(),
        }
    }
}

/// Runs the calls of one or more tools: a static or templated mock, a command, an MCP
/// server.
pub trait ToolHandler: Send + Sync {
    /// Runs `call` for the case whose row variables are `vars`, returning the result text
    /// given to the model.
    fn call<'a>(
        &'a self,
        call: &'a ToolCall,
        vars: &'a serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'a, Result<String, ToolFailure>>;

    /// The files it runs (an `exec` handler's script), as written, relative to the project
    /// root: a watch session re-runs the eval when one changes. The default runs none.
    fn files(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    /// Gets ready before the first call (an MCP server starts here). A run calls it once
    /// per handler, on the thread that drives the run; the default has nothing to start.
    fn start(&self) -> BoxFuture<'_, Result<(), ToolFailure>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// The end of what the handler's server wrote on its stderr, as `; its stderr ends: …`
    /// for a message about it; empty when it wrote nothing or runs no process.
    fn stderr_tail(&self) -> String {
        String::new()
    }

    /// The tools this handler serves, as it describes them (an MCP server's `tools/list`);
    /// empty for handlers that take their definitions from the prompt.
    fn list_tools(&self) -> BoxFuture<'_, Result<Vec<ToolDef>, ToolFailure>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
}

/// Which handler answers each tool of an eval, by tool name.
#[derive(Clone, Default)]
pub struct HandlerSet {
    /// Tool name → its handler (one handler may serve several tools).
    pub by_tool: BTreeMap<String, Arc<dyn ToolHandler>>,
    /// Tool name → where its handler is written (`evals/weather.yaml:9`), for the errors
    /// of a handler that cannot start.
    pub origins: BTreeMap<String, crate::diagnostic::Location>,
    /// Server name → the handler of the MCP server whose listed tools a version offers
    /// (`tools: [{mcp: NAME}]`): the run adds each listed tool to `by_tool` once the
    /// server has listed them, unless an entry of `tool_handlers:` answers it.
    pub servers: BTreeMap<String, Arc<dyn ToolHandler>>,
    /// Server name → where it is written (`evals/clock.yaml:4`).
    pub server_origins: BTreeMap<String, crate::diagnostic::Location>,
}

impl HandlerSet {
    /// The handler of `tool`, when the eval gives one.
    pub fn get(&self, tool: &str) -> Option<&Arc<dyn ToolHandler>> {
        self.by_tool.get(tool)
    }

    /// The files its handlers run ([`ToolHandler::files`]).
    pub fn files(&self) -> Vec<std::path::PathBuf> {
        let servers = self.servers.values();
        self.by_tool
            .values()
            .chain(servers)
            .flat_map(|h| h.files())
            .collect()
    }

    /// Whether no tool has a handler and no server lists tools.
    pub fn is_empty(&self) -> bool {
        self.by_tool.is_empty() && self.servers.is_empty()
    }
}

impl std::fmt::Debug for HandlerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let servers = self.servers.keys().map(|s| format!("mcp:{s}"));
        let tools = self.by_tool.keys().cloned();
        f.debug_set().entries(tools.chain(servers)).finish()
    }
}
