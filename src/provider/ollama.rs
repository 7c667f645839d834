//! The `ollama` provider: Ollama's native API, `/api/chat` for chat prompts and
//! `/api/generate` for plain prompts, unstreamed, with its token counts.

use std::sync::Arc;

use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::remote::transport::{parse_http_url, Transport};
use super::remote::{Body, HttpApi, Remote};
use super::tool_json;
use super::{
    required_model, AttemptFailure, Common, CommonSettings, Completion, Provider,
    ProviderConfigError, ProviderKind, ProviderRequest, Subject,
};
use crate::registry::Params;
use crate::template::message::RenderedPrompt;
use crate::tools::{ToolChoice, ToolSet};

/// The server used when `base_url` is not set.
pub const DEFAULT_OLLAMA_BASE_URL: &str = "http://127.0.0.1:11434";
/// Requests in flight at once when `concurrency` is not set (Ollama's own default
/// parallelism is small; more requests would only queue in the server).
const DEFAULT_CONCURRENCY: usize = 2;
/// Request fields that are not model options.
const TOP_LEVEL: &[&str] = &["format", "keep_alive", "raw", "think", "system", "template"];
/// The `mode` values.
const MODES: &[&str] = &["auto", "chat", "generate"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Chat prompts to `/api/chat`, plain prompts to `/api/generate`.
    Auto,
    /// Everything to `/api/chat` (plain text becomes one user message).
    Chat,
    /// Everything to `/api/generate` (chat prompts are flattened to text).
    Generate,
}

/// `kind: ollama`: an Ollama server's native API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OllamaSettings {
    /// The model id (`llama3.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The server's root (`/api` may end it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `auto` (the default), `chat` or `generate`: which endpoint prompts go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
}

impl ProviderKind for OllamaSettings {
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(OllamaProvider::new(name, self, common)?))
    }
}

/// A provider of an Ollama server's native API.
pub type OllamaProvider = Remote<Ollama>;

/// An Ollama server.
///
/// Requests are sent with `stream: false`. Params become `options` (`max_tokens` is sent as
/// `num_predict`; `temperature`, `seed`, `stop`, `top_p` and any other option pass as they
/// are), except `format`, `keep_alive`, `raw`, `think`, `system` and `template`, which are
/// request fields. Tokens are `prompt_eval_count` and `eval_count`; latency is measured by
/// prompteval's own clock, like every provider.
#[derive(Debug)]
pub struct Ollama {
    model: String,
    mode: Mode,
    chat_url: Url,
    generate_url: Url,
    transport: Transport,
}

/// A request body and the endpoint it goes to.
pub struct OllamaBody {
    /// `/api/chat` (else `/api/generate`).
    chat: bool,
    json: String,
}

impl Body for OllamaBody {
    fn size(&self) -> usize {
        self.json.len()
    }
}

impl OllamaProvider {
    /// Builds the provider named `name`: checks the model, URL, mode, timeout and limits.
    pub fn new(
        name: &str,
        config: &OllamaSettings,
        shared: &CommonSettings,
    ) -> Result<Self, ProviderConfigError> {
        let model = config.model.as_deref();
        let who = Subject {
            name,
            kind: "ollama",
            model,
        };
        let common = Common::resolve(who, shared, DEFAULT_CONCURRENCY)?;
        let model = required_model(name, "ollama", model, "llama3.2")?;
        let mode = match config.mode.as_deref().map(str::trim) {
            None | Some("auto") => Mode::Auto,
            Some("chat") => Mode::Chat,
            Some("generate") => Mode::Generate,
            Some(other) => {
                return Err(ProviderConfigError::new(
                    name,
                    format!(
                        "unknown `mode` `{other}` for kind `ollama`. Choose from: {}",
                        MODES.join(", ")
                    ),
                    Some("remove `mode` to send chat prompts to /api/chat and plain prompts to /api/generate".into()),
                ))
            }
        };
        let base = config
            .base_url
            .as_deref()
            .unwrap_or(DEFAULT_OLLAMA_BASE_URL)
            .trim()
            .trim_end_matches('/');
        let base = base.strip_suffix("/api").unwrap_or(base);
        let hint = Some(format!(
            "write the server's root, e.g. `{DEFAULT_OLLAMA_BASE_URL}`"
        ));
        let root = parse_http_url(name, "base_url", base, hint.clone())?;
        let join = |path: &str| {
            Url::parse(&format!("{base}/{path}")).map_err(|err| {
                ProviderConfigError::new(
                    name,
                    format!("invalid `base_url` `{base}`: {err}"),
                    hint.clone(),
                )
            })
        };
        let api = Ollama {
            model,
            mode,
            chat_url: join("api/chat")?,
            generate_url: join("api/generate")?,
            transport: Transport::new(name, &root, common.timeout, Vec::new())?,
        };
        Ok(Remote::with_api(name, api, &common, shared.params.clone()))
    }
}

impl Ollama {
    /// Whether `request` goes to `/api/chat`: in `auto` mode, chat prompts and requests
    /// offering tools (only `/api/chat` takes them) do.
    fn uses_chat(&self, request: &ProviderRequest) -> bool {
        match self.mode {
            Mode::Auto => {
                matches!(request.prompt, RenderedPrompt::Chat(_))
                    || tool_json::offered(request.tools.as_deref()).is_some()
            }
            Mode::Chat => true,
            Mode::Generate => false,
        }
    }

    /// The request body and whether it goes to `/api/chat`.
    fn body_json(&self, request: &ProviderRequest, defaults: &Params) -> (bool, serde_json::Value) {
        let chat = self.uses_chat(request);
        let mut body = serde_json::Map::new();
        body.insert("model".into(), self.model.clone().into());
        if chat {
            let messages = request.prompt.to_messages();
            body.insert("messages".into(), tool_json::ollama_messages(&messages));
            if let Some(tools) = tool_json::offered(request.tools.as_deref()).and_then(tools_json) {
                body.insert("tools".into(), tools);
            }
        } else {
            body.insert("prompt".into(), request.prompt.to_text().into());
        }
        body.insert("stream".into(), false.into());
        let mut options = serde_json::Map::new();
        for (key, value) in defaults.iter().chain(request.params.iter()) {
            match key.as_str() {
                "model" | "messages" | "prompt" | "stream" => {}
                "max_tokens" => {
                    options.insert("num_predict".into(), value.clone());
                }
                "stop" => {
                    let stops = match value {
                        serde_json::Value::String(s) => serde_json::json!([s]),
                        other => other.clone(),
                    };
                    options.insert("stop".into(), stops);
                }
                k if TOP_LEVEL.contains(&k) => {
                    body.insert(key.clone(), value.clone());
                }
                _ => {
                    options.insert(key.clone(), value.clone());
                }
            }
        }
        if !options.is_empty() {
            body.insert("options".into(), serde_json::Value::Object(options));
        }
        (chat, serde_json::Value::Object(body))
    }
}

impl HttpApi for Ollama {
    type Body = OllamaBody;

    fn body(&self, request: &ProviderRequest, defaults: &Params) -> Result<OllamaBody, String> {
        let (chat, json) = self.body_json(request, defaults);
        let sends_tools = tool_json::offered(request.tools.as_deref()).and_then(tools_json);
        if !chat && sends_tools.is_some() {
            return Err(NO_TOOLS_ON_GENERATE.into());
        }
        Ok(OllamaBody {
            chat,
            json: json.to_string(),
        })
    }

    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn request(&self, client: &reqwest::Client, body: &OllamaBody) -> reqwest::RequestBuilder {
        let url = if body.chat {
            &self.chat_url
        } else {
            &self.generate_url
        };
        client.post(url.clone()).body(body.json.clone())
    }

    fn parse(
        &self,
        status: StatusCode,
        bytes: &[u8],
        body: &OllamaBody,
    ) -> Result<Completion, AttemptFailure> {
        let parsed: OllamaResponse = self.transport.parse_json(status, bytes)?;
        if let Some(error) = parsed.error {
            return Err(AttemptFailure::fatal(
                format!("server error: {}", self.transport.scrub(&error)),
                Some(status.as_u16()),
            ));
        }
        let (content, tool_calls) = match parsed.message {
            Some(message) if body.chat => {
                let calls = message.tool_calls.unwrap_or(serde_json::Value::Null);
                let calls = tool_json::read_calls(&calls).map_err(|e| {
                    AttemptFailure::fatal(
                        format!("response had unreadable tool calls: {e}"),
                        Some(status.as_u16()),
                    )
                })?;
                (message.content, calls)
            }
            _ if body.chat => (None, Vec::new()),
            _ => (parsed.response, Vec::new()),
        };
        // An answer that only calls tools may have no text.
        let content = content.or_else(|| (!tool_calls.is_empty()).then(String::new));
        let output = content.ok_or_else(|| {
            AttemptFailure::fatal(
                if body.chat {
                    "response had no `message.content`"
                } else {
                    "response had no `response` text"
                },
                Some(status.as_u16()),
            )
        })?;
        Ok(Completion {
            output,
            tokens_in: parsed.prompt_eval_count,
            tokens_out: parsed.eval_count,
            cache: Default::default(),
            tool_calls,
            finish_reason: parsed.done_reason,
        })
    }
}

#[derive(Deserialize)]
struct OllamaResponse {
    #[serde(default)]
    message: Option<OllamaMessage>,
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct OllamaMessage {
    #[serde(default)]
    content: Option<String>,
    /// `[{"function": {"name", "arguments": {…}}}]`, read by [`tool_json::read_calls`].
    #[serde(default)]
    tool_calls: Option<serde_json::Value>,
}

/// The error of a request offering tools in `mode: generate`.
const NO_TOOLS_ON_GENERATE: &str = "`mode: generate` sends prompts to /api/generate, \
     which takes no tools (this prompt declares some); remove `mode` or set `mode: chat`";

/// The tools `set` sends to `/api/chat` (OpenAI's function shape). The API has no
/// `tool_choice`, so the choice is honoured by what is sent: `none` sends no tools, a
/// function name only that tool, `auto` and `required` every tool (the model may still
/// answer in text). `None` when nothing is sent.
fn tools_json(set: &ToolSet) -> Option<serde_json::Value> {
    match &set.choice {
        Some(ToolChoice::None) => None,
        Some(ToolChoice::Function(name)) => {
            let only = ToolSet {
                tools: set
                    .tools
                    .iter()
                    .filter(|t| &t.name == name)
                    .cloned()
                    .collect(),
                choice: None,
                parallel: None,
                servers: Vec::new(),
            };
            Some(tool_json::openai_tools(&only))
        }
        _ => Some(tool_json::openai_tools(set)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;
    use crate::template::message::{Message, Role};
    use serde_json::json;

    fn config(mode: Option<&str>) -> OllamaSettings {
        OllamaSettings {
            model: Some("llama3.2".into()),
            mode: mode.map(Into::into),
            ..Default::default()
        }
    }

    fn new(config: &OllamaSettings) -> Result<OllamaProvider, ProviderConfigError> {
        OllamaProvider::new("o", config, &CommonSettings::default())
    }

    fn request(prompt: RenderedPrompt, params: Params) -> ProviderRequest {
        ProviderRequest {
            prompt,
            params,
            vars: Default::default(),
            retries: None,
            tools: None,
        }
    }

    fn chat() -> RenderedPrompt {
        RenderedPrompt::Chat(vec![Message::new(Role::User, "Hi")])
    }

    #[test]
    fn plain_prompts_generate_and_chat_prompts_chat() {
        let p = new(&config(None)).unwrap();
        assert_eq!(p.api().chat_url.as_str(), "http://127.0.0.1:11434/api/chat");
        assert_eq!(
            p.api().generate_url.as_str(),
            "http://127.0.0.1:11434/api/generate"
        );
        let mut params = Params::new();
        params.insert("max_tokens".into(), json!(8));
        params.insert("temperature".into(), json!(0));
        params.insert("seed".into(), json!(1));
        params.insert("stop".into(), json!("\n"));
        params.insert("keep_alive".into(), json!("5m"));
        let (is_chat, body) = p.api().body_json(
            &request(RenderedPrompt::Text("Q: 1+1?\nA:".into()), params),
            p.params(),
        );
        assert!(!is_chat);
        assert_eq!(
            body,
            json!({
                "model": "llama3.2",
                "prompt": "Q: 1+1?\nA:",
                "stream": false,
                "keep_alive": "5m",
                "options": {"num_predict": 8, "temperature": 0, "seed": 1, "stop": ["\n"]},
            })
        );
        let (is_chat, body) = p
            .api()
            .body_json(&request(chat(), Params::new()), p.params());
        assert!(is_chat);
        assert_eq!(
            body,
            json!({"model": "llama3.2", "messages": [{"role": "user", "content": "Hi"}], "stream": false})
        );
    }

    #[test]
    fn mode_forces_an_endpoint() {
        let text = request(RenderedPrompt::Text("x".into()), Params::new());
        let p = new(&config(Some("chat"))).unwrap();
        assert!(p.api().uses_chat(&text));
        let p = new(&config(Some("generate"))).unwrap();
        assert!(!p.api().uses_chat(&request(chat(), Params::new())));
        let e = new(&config(Some("stream"))).unwrap_err();
        assert_eq!(
            e.message,
            "unknown `mode` `stream` for kind `ollama`. Choose from: auto, chat, generate"
        );
    }

    fn two_tools(choice: Option<ToolChoice>) -> ToolSet {
        let tool = |name: &str| crate::tools::ToolDef {
            name: name.into(),
            description: None,
            parameters: json!({"type": "object"}),
        };
        ToolSet {
            tools: vec![tool("get_weather"), tool("now")],
            choice,
            parallel: Some(false),
            servers: Vec::new(),
        }
    }

    #[test]
    fn tools_go_to_chat_and_the_choice_is_honoured_by_what_is_sent() {
        let p = new(&config(None)).unwrap();
        let mut r = request(RenderedPrompt::Text("Weather?".into()), Params::new());
        let names = |body: &serde_json::Value| -> Vec<String> {
            body["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["function"]["name"].as_str().unwrap().to_string())
                .collect()
        };
        r.tools = Some(std::sync::Arc::new(two_tools(None)));
        let (is_chat, body) = p.api().body_json(&r, p.params());
        assert!(is_chat, "a plain prompt with tools goes to /api/chat");
        assert_eq!(names(&body), ["get_weather", "now"]);
        assert!(body.get("tool_choice").is_none() && body.get("parallel_tool_calls").is_none());
        r.tools = Some(std::sync::Arc::new(two_tools(Some(ToolChoice::Function(
            "now".into(),
        )))));
        assert_eq!(names(&p.api().body_json(&r, p.params()).1), ["now"]);
        r.tools = Some(std::sync::Arc::new(two_tools(Some(ToolChoice::None))));
        let (is_chat, body) = p.api().body_json(&r, p.params());
        assert!(is_chat && body.get("tools").is_none(), "{body}");
        let generate = new(&config(Some("generate"))).unwrap();
        assert!(generate.api().body(&r, generate.params()).is_ok());
        r.tools = Some(std::sync::Arc::new(two_tools(None)));
        let err = generate.api().body(&r, generate.params()).err().unwrap();
        assert!(err.contains("/api/generate, which takes no tools"), "{err}");
    }

    #[test]
    fn base_url_may_end_in_api() {
        let mut c = config(None);
        c.base_url = Some("http://localhost:9999/api/".into());
        let p = new(&c).unwrap();
        assert_eq!(p.api().chat_url.as_str(), "http://localhost:9999/api/chat");
    }

    #[test]
    fn local_models_have_no_catalog_price() {
        let mut c = config(None);
        c.model = Some("gpt-4o".into());
        assert_eq!(new(&c).unwrap().cost(Some(1), Some(1)), None);
    }
}
