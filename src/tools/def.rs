//! A tool definition in the OpenAI function shape, the `tool_choice`, and the set a
//! request carries.

use serde::{Deserialize, Serialize};

/// One function a model may call: its name, what it does, and its arguments' JSON Schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    /// The function's name, unique within a request.
    pub name: String,
    /// What the function does, for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The arguments' JSON Schema (an object schema); `{"type": "object"}` when absent.
    #[serde(default = "empty_object_schema")]
    pub parameters: serde_json::Value,
}

fn empty_object_schema() -> serde_json::Value {
    serde_json::json!({"type": "object", "properties": {}})
}

/// Which tools the model may or must call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoice {
    /// The model decides (the APIs' default).
    Auto,
    /// The model must call some tool.
    Required,
    /// The model must not call any tool.
    None,
    /// The model must call this function.
    #[serde(untagged)]
    Function(String),
}

/// The tools a request offers and how the model may use them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolSet {
    /// The declared functions, in order.
    pub tools: Vec<ToolDef>,
    /// `tool_choice`, when the version sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<ToolChoice>,
    /// `parallel_tool_calls`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<bool>,
    /// The tools MCP servers list, written `{mcp: NAME}`: resolved into `tools` when the
    /// run has started the servers ([`ToolSet::with_listed`]); empty in every set a
    /// provider is sent, so a request's cache key follows the tools the server really lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<ServerTools>,
}

/// A `{mcp: NAME}` entry of a `tools:` list: the tools the server `NAME` lists at run time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTools {
    /// The server's name under `mcp_servers:`.
    pub server: String,
    /// `only:` — the listed tools to offer, in the server's order; `None` offers them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// How many tools of the set come before the entry: the listed tools go there, so the
    /// request offers the tools in the order written.
    pub at: usize,
    /// The entry's line in the version file, for errors found once the server has listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl ToolSet {
    /// Whether the set offers no tool (written or to be listed by a server).
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.servers.is_empty()
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_choice_reads_the_three_words_and_a_function_name() {
        let read = |s: &str| serde_json::from_str::<ToolChoice>(s).unwrap();
        assert_eq!(read("\"auto\""), ToolChoice::Auto);
        assert_eq!(read("\"required\""), ToolChoice::Required);
        assert_eq!(read("\"none\""), ToolChoice::None);
        assert_eq!(
            read("\"get_weather\""),
            ToolChoice::Function("get_weather".into())
        );
    }

    #[test]
    fn a_tool_without_parameters_gets_an_empty_object_schema() {
        let tool: ToolDef = serde_json::from_str(r#"{"name": "now"}"#).unwrap();
        assert_eq!(tool.parameters["type"], "object");
    }
}
