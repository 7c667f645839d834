//! The `mcp` tool handler: tools served by an MCP server, over stdio or streamable HTTP.

mod client;
pub(crate) mod kind;
mod server;
pub mod settings;

pub use client::McpHandler;
pub use settings::{Endpoint, McpConfig, McpConfigError, McpSettings};
