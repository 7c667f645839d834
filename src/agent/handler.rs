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

    /// Gets ready before the first call (an MCP server starts here). A run calls it once
    /// per handler, on the thread that drives the run; the default has nothing to start.
    fn start(&self) -> BoxFuture<'_, Result<(), ToolFailure>> {
        Box::pin(std::future::ready(Ok(())))
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
}

impl HandlerSet {
    /// The handler of `tool`, when the eval gives one.
    pub fn get(&self, tool: &str) -> Option<&Arc<dyn ToolHandler>> {
        self.by_tool.get(tool)
    }

    /// Whether no tool has a handler.
    pub fn is_empty(&self) -> bool {
        self.by_tool.is_empty()
    }
}

impl std::fmt::Debug for HandlerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_tool.keys()).finish()
    }
}
