//! Agents: the tools a model's calls are run with, and the steps of the loop that runs them.

pub mod handler;
pub mod mcp;
pub mod step;

pub use handler::{HandlerSet, ToolFailure, ToolHandler};
pub use step::{Step, Stopped, ToolResult};
