//! Helpers shared by the integration tests.

pub mod llama;
pub mod mcp;
pub mod project;
pub mod report_fixture;
pub mod retries;
pub mod scripted;
