//! The `mcp` entry of the handler table: builds an [`McpHandler`] from a `tool_handlers:`
//! entry.

use std::sync::Arc;

use super::settings::{McpSettings, MCP_KEYS};
use super::McpHandler;
use crate::agent::registry::{
    read_settings, BuildError, Built, HandlerKind, HandlerSpec, RowResults,
};

/// `kind: mcp`.
pub(crate) const KIND: HandlerKind = HandlerKind {
    name: "mcp",
    keys: MCP_KEYS,
    build,
    example: "{kind: mcp, command: uvx, args: [mcp-server-time]}",
};

fn build(spec: &HandlerSpec<'_>) -> Result<Built, BuildError> {
    let settings: McpSettings = read_settings(spec.settings)?;
    let name = spec.label.rsplit('.').next().unwrap_or(spec.label);
    let config = settings
        .check(name, spec.root)
        .map_err(|e| BuildError::settings(e.key, e.message, e.hint))?;
    Ok(Built {
        handler: Arc::new(McpHandler::new(config)),
        reads: Vec::new(),
        row_results: RowResults::Override,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::diagnostic::Location;

    fn build_json(json: serde_json::Value) -> Result<Built, BuildError> {
        let settings = json.as_object().unwrap().clone();
        let spec = HandlerSpec {
            label: "tool_handlers.time",
            settings: &settings,
            root: Path::new("/project"),
            partials: &BTreeMap::new(),
            locate: &|_| Location::file("e.yaml"),
        };
        build(&spec)
    }

    #[test]
    fn an_entry_builds_a_handler_that_starts_nothing_yet() {
        let built = build_json(serde_json::json!({"command": "mcp-server-time"})).unwrap();
        assert!(built.reads.is_empty());
        assert!(crate::agent::registry::find("mcp").is_some());
    }

    #[test]
    fn a_bad_entry_names_its_key() {
        let err = build_json(serde_json::json!({"url": "ftp://x"}))
            .err()
            .unwrap();
        match err {
            BuildError::Settings { key, message, hint } => {
                assert_eq!(key.as_deref(), Some("url"));
                assert_eq!(message, "`url` `ftp://x` is not an http:// or https:// URL");
                assert!(hint.is_some());
            }
            other => panic!("{other:?}"),
        }
    }
}
