//! An eval file as written, and where its keys are.

use std::path::Path;

use serde::Deserialize;

use crate::diagnostic::Location;
use crate::gate::GateConfig;
use crate::score::AssertionSpec;

/// An eval file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EvalFile {
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) prompts: Vec<String>,
    #[serde(default)]
    pub(super) models: Vec<String>,
    pub(super) dataset: String,
    #[serde(default)]
    pub(super) repeat: Option<u32>,
    #[serde(default)]
    pub(super) threshold: Option<f64>,
    #[serde(default)]
    pub(super) transform: Option<String>,
    #[serde(default, rename = "assert")]
    pub(super) assertions: Vec<AssertionSpec>,
    #[serde(default)]
    pub(super) gate: Option<GateConfig>,
    #[serde(default)]
    pub(super) grader: Option<String>,
    #[serde(default)]
    pub(super) embedder: Option<String>,
    /// Who runs the model's tool calls, by tool name, as written (`plan/handlers.rs`).
    #[serde(default)]
    pub(super) tool_handlers: serde_json::Map<String, serde_json::Value>,
    /// Named MCP servers, as written (`plan/mcp_servers.rs`).
    #[serde(default)]
    pub(super) mcp_servers: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub(super) max_steps: Option<u32>,
    /// Who plays the user of every case that scripts no `turns:` (see `docs/agents.md`).
    #[serde(default)]
    pub(super) simulated_user: Option<crate::dataset::SimulatedUserSpec>,
}

/// The line of the `i`-th item under the top-level `assert:` key.
pub(super) fn assertion_origin(text: &str, file: &Path, i: usize) -> Option<Location> {
    crate::config::locate::key_line(text, &format!("assert[{i}]")).map(|n| Location::line(file, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_of_an_assertion() {
        let text = "prompts: [a]\nassert:\n  - type: equals\n    value: x\n  - type: regex\n    value: '['\ngate: {}\n";
        let loc = assertion_origin(text, Path::new("e.yaml"), 1).unwrap();
        assert_eq!(loc.to_string(), "e.yaml:5");
        assert!(assertion_origin(text, Path::new("e.yaml"), 2).is_none());
    }
}
