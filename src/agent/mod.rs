//! Agents: the tools a model's calls are run with, and the steps of the loop that runs them.

mod exec;
pub mod handler;
pub mod mcp;
mod mock;
pub mod registry;
pub mod step;

pub use handler::{HandlerSet, ToolFailure, ToolHandler};
pub use mock::TOOL_RESULTS;
pub(crate) use mock::{check_row_entry, row_entry};
pub use step::{Step, Stopped, ToolResult};
