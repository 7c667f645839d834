//! The `mcp` tool handler: one MCP client session per run, over a stdio server it starts
//! or a streamable HTTP endpoint; `tools/list` gives the tools, `tools/call` runs a call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult, ClientInfo, Implementation};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::Value as Json;

use super::server::{ServerProcess, StderrTail};
use super::settings::{Endpoint, McpConfig};
use crate::agent::{ToolFailure, ToolHandler};
use crate::provider::BoxFuture;
use crate::tools::{ToolCall, ToolDef};

/// A connected server: the MCP session and, for a stdio server, its process.
struct Session {
    service: RunningService<RoleClient, ClientInfo>,
    /// `None` for a server reached by URL.
    process: Option<Mutex<ServerProcess>>,
    /// The server's stderr (empty for a server reached by URL).
    stderr: StderrTail,
}

/// An MCP server as a tool handler. [`ToolHandler::start`] connects (starting a stdio
/// server); the server stops when the handler is dropped or [`McpHandler::stop`] is called.
pub struct McpHandler {
    config: McpConfig,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
}

impl McpHandler {
    /// A handler for the checked `config`; nothing starts until [`ToolHandler::start`].
    pub fn new(config: McpConfig) -> McpHandler {
        McpHandler {
            config,
            session: tokio::sync::Mutex::new(None),
        }
    }

    /// The handler's name in `tool_handlers:`.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The process id of the running stdio server, if one runs.
    pub async fn server_pid(&self) -> Option<u32> {
        let session = self.session.lock().await.clone()?;
        let process = session.process.as_ref()?;
        let pid = process.lock().unwrap_or_else(|e| e.into_inner()).id();
        Some(pid)
    }

    /// Ends the session and kills a stdio server (a later call starts it again).
    pub async fn stop(&self) {
        let session = self.session.lock().await.take();
        if let Some(session) = session.and_then(|s| Arc::try_unwrap(s).ok()) {
            let _ = session.service.cancel().await;
        }
    }

    /// The connected session, connecting first when there is none.
    async fn session(&self) -> Result<Arc<Session>, ToolFailure> {
        let mut slot = self.session.lock().await;
        if let Some(session) = slot.as_ref() {
            return Ok(session.clone());
        }
        let limit = self.config.startup_timeout;
        let session = match tokio::time::timeout(limit, self.connect()).await {
            Ok(connected) => Arc::new(connected?),
            Err(_) => {
                return Err(self.failure(format!(
                    "did not start and initialize within {} (startup_timeout)",
                    humantime::format_duration(limit)
                )))
            }
        };
        *slot = Some(session.clone());
        Ok(session)
    }

    async fn connect(&self) -> Result<Session, ToolFailure> {
        match &self.config.endpoint {
            Endpoint::Stdio { program, args, env } => {
                let (process, pipes) = ServerProcess::spawn(program, args, env).map_err(|e| {
                    self.failure(format!("cannot start `{}`: {e}", program.display()))
                })?;
                let stderr = process.stderr.clone();
                let process = Mutex::new(process);
                match client_info().serve(pipes).await {
                    Ok(service) => Ok(Session {
                        service,
                        process: Some(process),
                        stderr,
                    }),
                    Err(err) => {
                        let exited = wait_exit(&process).await;
                        stderr.settle().await;
                        let program = program.display();
                        let why = match exited {
                            Some(status) => {
                                format!("`{program}` exited before it initialized ({status})")
                            }
                            None => format!("`{program}` did not initialize: {err}"),
                        };
                        Err(self.failure(format!("{why}{}", stderr.suffix())))
                    }
                }
            }
            Endpoint::Http { url } => {
                let client = http_client(url).map_err(|e| self.failure(e))?;
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                let transport = StreamableHttpClientTransport::with_client(client, config);
                let service = client_info()
                    .serve(transport)
                    .await
                    .map_err(|err| self.failure(format!("{url} did not initialize: {err}")))?;
                Ok(Session {
                    service,
                    process: None,
                    stderr: StderrTail::default(),
                })
            }
        }
    }

    /// A failure naming the handler.
    fn failure(&self, message: String) -> ToolFailure {
        ToolFailure::new(format!("mcp server `{}`: {message}", self.config.name))
    }

    /// The failure of a request that got no result: a JSON-RPC error is the server's
    /// answer (given as it is); a closed channel means the server has gone.
    fn request_failure(&self, err: ServiceError, session: &Session) -> ToolFailure {
        match err {
            ServiceError::McpError(data) => ToolFailure::new(data.message.to_string()),
            other => self.failure(format!("{other}{}", session.stderr.suffix())),
        }
    }

    async fn run_call(&self, call: &ToolCall) -> Result<String, ToolFailure> {
        let arguments = arguments_of(call)?;
        let session = self.session().await?;
        let params = CallToolRequestParams {
            meta: None,
            name: call.name.clone().into(),
            arguments,
            task: None,
        };
        let limit = self.config.timeout;
        let asked = session.service.peer().call_tool(params);
        match tokio::time::timeout(limit, asked).await {
            Err(_) => Err(ToolFailure::new(format!(
                "timed out after {}",
                humantime::format_duration(limit)
            ))),
            Ok(Err(err)) => Err(self.request_failure(err, &session)),
            Ok(Ok(result)) => {
                let text = result_text(&result);
                if result.is_error == Some(true) {
                    Err(ToolFailure::new(text))
                } else {
                    Ok(text)
                }
            }
        }
    }

    async fn listed(&self) -> Result<Vec<ToolDef>, ToolFailure> {
        let session = self.session().await?;
        let limit = self.config.timeout;
        let tools = match tokio::time::timeout(limit, session.service.peer().list_all_tools()).await
        {
            Err(_) => {
                let took = humantime::format_duration(limit);
                return Err(self.failure(format!("tools/list timed out after {took}")));
            }
            Ok(listed) => listed.map_err(|e| self.request_failure(e, &session))?,
        };
        Ok(tools
            .into_iter()
            .map(|tool| ToolDef {
                name: tool.name.to_string(),
                description: tool.description.map(|d| d.to_string()),
                parameters: Json::Object((*tool.input_schema).clone()),
            })
            .collect())
    }
}

impl ToolHandler for McpHandler {
    fn files(&self) -> Vec<std::path::PathBuf> {
        match &self.config.endpoint {
            Endpoint::Stdio { program, args, .. } => {
                let argv: Vec<String> = std::iter::once(program.display().to_string())
                    .chain(args.iter().cloned())
                    .collect();
                crate::piped::command_files(&argv)
            }
            Endpoint::Http { .. } => Vec::new(),
        }
    }

    fn call<'a>(
        &'a self,
        call: &'a ToolCall,
        _vars: &'a serde_json::Map<String, Json>,
    ) -> BoxFuture<'a, Result<String, ToolFailure>> {
        Box::pin(self.run_call(call))
    }

    fn start(&self) -> BoxFuture<'_, Result<(), ToolFailure>> {
        Box::pin(async move { self.session().await.map(|_| ()) })
    }

    fn list_tools(&self) -> BoxFuture<'_, Result<Vec<ToolDef>, ToolFailure>> {
        Box::pin(self.listed())
    }

    fn stderr_tail(&self) -> String {
        let session = self.session.try_lock().ok().and_then(|s| s.clone());
        session.map(|s| s.stderr.suffix()).unwrap_or_default()
    }
}

/// Who prompteval says it is in `initialize`.
fn client_info() -> ClientInfo {
    ClientInfo {
        meta: None,
        protocol_version: Default::default(),
        capabilities: Default::default(),
        client_info: Implementation {
            name: "prompteval".into(),
            title: None,
            version: env!("CARGO_PKG_VERSION").into(),
            description: None,
            icons: None,
            website_url: None,
        },
    }
}

/// The HTTP client of a streamable HTTP server; a loopback server is reached without a
/// proxy, as the providers do.
fn http_client(url: &str) -> Result<reqwest::Client, String> {
    let mut builder =
        reqwest::Client::builder().user_agent(concat!("prompteval/", env!("CARGO_PKG_VERSION")));
    let loopback = reqwest::Url::parse(url)
        .map_err(|e| format!("`url` `{url}` is not a URL: {e}"))?
        .host_str()
        .is_some_and(|h| h == "localhost" || h == "[::1]" || h.starts_with("127."));
    if loopback {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| format!("cannot create the HTTP client: {e}"))
}

/// The exit status, when the server ends within half a second of a failed handshake.
async fn wait_exit(process: &Mutex<ServerProcess>) -> Option<std::process::ExitStatus> {
    for _ in 0..20 {
        let status = process.lock().unwrap_or_else(|e| e.into_inner()).exited();
        if status.is_some() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

/// The call's arguments as the JSON object `tools/call` takes.
fn arguments_of(call: &ToolCall) -> Result<Option<serde_json::Map<String, Json>>, ToolFailure> {
    match &call.arguments {
        Some(Json::Object(map)) => Ok(Some(map.clone())),
        Some(Json::Null) => Ok(None),
        None if call.arguments_raw.trim().is_empty() => Ok(None),
        None => Err(ToolFailure::new(format!(
            "the arguments are not valid JSON: {}",
            call.arguments_raw
        ))),
        Some(other) => Err(ToolFailure::new(format!(
            "the arguments must be a JSON object, not {other}"
        ))),
    }
}

/// The text given to the model for a result: its text blocks joined by newlines, other
/// blocks as a short mark (`[image image/png]`), or the structured content as JSON when
/// there are no blocks.
pub(crate) fn result_text(result: &CallToolResult) -> String {
    let blocks: Vec<String> = result
        .content
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .map(|block| block_text(&block))
        .collect();
    if blocks.is_empty() {
        if let Some(structured) = &result.structured_content {
            return structured.to_string();
        }
    }
    blocks.join("\n")
}

fn block_text(block: &Json) -> String {
    let field = |v: &Json, key: &str| v.get(key).and_then(Json::as_str).map(str::to_string);
    let kind = field(block, "type").unwrap_or_default();
    match kind.as_str() {
        "text" => field(block, "text").unwrap_or_default(),
        "resource" => {
            let resource = block.get("resource").cloned().unwrap_or_default();
            field(&resource, "text")
                .or_else(|| field(&resource, "uri").map(|uri| format!("[resource {uri}]")))
                .unwrap_or_else(|| "[resource]".into())
        }
        "resource_link" => format!("[resource {}]", field(block, "uri").unwrap_or_default()),
        other => match field(block, "mimeType") {
            Some(mime) => format!("[{other} {mime}]"),
            None => format!("[{other}]"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(json: Json) -> CallToolResult {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_result_is_its_text_blocks_and_marks_for_the_rest() {
        let r = result(serde_json::json!({"content": [
            {"type": "text", "text": "18°C"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "resource", "resource": {"uri": "file:///a", "text": "inside"}},
            {"type": "resource", "resource": {"uri": "file:///b", "blob": "AA"}},
        ]}));
        assert_eq!(
            result_text(&r),
            "18°C\n[image image/png]\ninside\n[resource file:///b]"
        );
        let structured = result(serde_json::json!({"content": [], "structuredContent": {"t": 1}}));
        assert_eq!(result_text(&structured), r#"{"t":1}"#);
    }

    #[test]
    fn arguments_must_be_a_json_object() {
        let ok = ToolCall::from_raw("c", "f", r#"{"a": 1}"#);
        assert_eq!(arguments_of(&ok).unwrap().unwrap()["a"], 1);
        assert_eq!(
            arguments_of(&ToolCall::from_raw("c", "f", "")).unwrap(),
            None
        );
        let bad = arguments_of(&ToolCall::from_raw("c", "f", "{a")).unwrap_err();
        assert_eq!(bad.message, "the arguments are not valid JSON: {a");
        let list = arguments_of(&ToolCall::from_raw("c", "f", "[1]")).unwrap_err();
        assert_eq!(list.message, "the arguments must be a JSON object, not [1]");
    }
}
