//! The `anthropic` provider: Anthropic's Messages API (`POST {base}/v1/messages`), with its
//! system prompt, required `max_tokens`, usage and error shapes.

use std::sync::Arc;

use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::remote::transport::{api_key, error_detail, parse_http_url, Transport};
use super::remote::{HttpApi, Remote};
use super::tool_json;
use super::{
    required_model, AttemptFailure, CacheTokens, Common, CommonSettings, Completion, FailureClass,
    Provider, ProviderConfigError, ProviderKind, ProviderRequest, Subject,
};
use crate::registry::Params;
use crate::tools::{ToolCall, ToolChoice, ToolSet};
use turns::split_messages;

mod turns;

/// The API used when `base_url` is not set.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The key variable used for the default API when `api_key_env` is not set.
pub const DEFAULT_ANTHROPIC_KEY_ENV: &str = "ANTHROPIC_API_KEY";
/// The `anthropic-version` header sent with every request.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// `max_tokens` when neither the provider nor the version sets it (the API requires one).
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u64 = 1024;
/// Requests in flight at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 4;

/// `kind: anthropic`: Anthropic's Messages API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AnthropicSettings {
    /// The model id sent to the API (`claude-3-5-haiku-latest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API root (`/v1/messages` is added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The name of the environment variable holding the API key (never the key itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
}

impl ProviderKind for AnthropicSettings {
    const NOT_IN_KEY: &'static [&'static str] = &["api_key_env"];

    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(AnthropicProvider::new(name, self, common)?))
    }
}

/// A provider of Anthropic's Messages API.
pub type AnthropicProvider = Remote<Anthropic>;

/// Anthropic's Messages API.
///
/// The request maps the rendered prompt the way the API expects: system messages go to the
/// top-level `system` field (several are joined with a blank line), the rest become
/// `messages` with consecutive same-role turns merged (the API wants them alternating), and
/// a plain-text prompt is one user message. An agent's history has its calls as `tool_use`
/// blocks and the tools' results as `tool_result` blocks of the next user turn. `max_tokens` comes from the params or defaults
/// to [`DEFAULT_ANTHROPIC_MAX_TOKENS`]; `stop` is sent as `stop_sequences`; `seed`, which
/// the API does not accept, is dropped; other params are passed through. Tools are sent
/// with `input_schema` and the choice mapped to the API's (see `choice_json`); the answer's
/// `text` blocks are the output and its `tool_use` blocks the tool calls.
#[derive(Debug)]
pub struct Anthropic {
    model: String,
    url: Url,
    auth: Option<HeaderValue>,
    transport: Transport,
}

impl AnthropicProvider {
    /// Builds the provider named `name`: checks the model, URL, timeout and limits, and reads
    /// the API key.
    ///
    /// The key variable is `api_key_env`; for the default URL it defaults to
    /// `ANTHROPIC_API_KEY`. A custom `base_url` without `api_key_env` sends no key (a local
    /// proxy that adds its own).
    pub fn new(
        name: &str,
        config: &AnthropicSettings,
        shared: &CommonSettings,
    ) -> Result<Self, ProviderConfigError> {
        let model = config.model.as_deref();
        let who = Subject {
            name,
            kind: "anthropic",
            model,
        };
        let common = Common::resolve(who, shared, DEFAULT_CONCURRENCY)?;
        let model = required_model(name, "anthropic", model, "claude-3-5-haiku-latest")?;
        let base_text = config
            .base_url
            .as_deref()
            .unwrap_or(DEFAULT_ANTHROPIC_BASE_URL)
            .trim()
            .trim_end_matches('/');
        let hint = Some(format!(
            "write the API root, e.g. `{DEFAULT_ANTHROPIC_BASE_URL}` (`/v1/messages` is added)"
        ));
        parse_http_url(name, "base_url", base_text, hint.clone())?;
        let path = if base_text.ends_with("/v1") {
            "messages"
        } else {
            "v1/messages"
        };
        let url = Url::parse(&format!("{base_text}/{path}")).map_err(|err| {
            ProviderConfigError::new(
                name,
                format!("invalid `base_url` `{base_text}`: {err}"),
                hint,
            )
        })?;
        let default_var =
            (base_text == DEFAULT_ANTHROPIC_BASE_URL).then_some(DEFAULT_ANTHROPIC_KEY_ENV);
        let (key, auth) = api_key(name, config.api_key_env.as_deref(), default_var, "")?;
        let transport = Transport::new(name, &url, common.timeout, key.into_iter().collect())?;
        let api = Anthropic {
            model,
            url,
            auth,
            transport,
        };
        Ok(Remote::with_api(name, api, &common, shared.params.clone()))
    }
}

impl Anthropic {
    /// The request body as a JSON value (see [`Anthropic`]).
    fn body_json(&self, request: &ProviderRequest, defaults: &Params) -> serde_json::Value {
        let (system, messages) = split_messages(request.prompt.to_messages());
        let mut body = serde_json::Map::new();
        body.insert("model".into(), self.model.clone().into());
        body.insert("max_tokens".into(), DEFAULT_ANTHROPIC_MAX_TOKENS.into());
        if let Some(system) = system {
            body.insert("system".into(), system.into());
        }
        let messages = messages.iter().map(turns::Turn::to_json).collect();
        body.insert("messages".into(), serde_json::Value::Array(messages));
        for (key, value) in defaults.iter().chain(request.params.iter()) {
            match key.as_str() {
                "model" | "messages" | "system" | "prompt" | "seed" => {}
                "stop" => {
                    let stops = match value {
                        serde_json::Value::String(s) => serde_json::json!([s]),
                        other => other.clone(),
                    };
                    body.insert("stop_sequences".into(), stops);
                }
                _ => {
                    body.insert(key.clone(), value.clone());
                }
            }
        }
        if let Some(set) = tool_json::offered(request.tools.as_deref()) {
            body.insert("tools".into(), tools_json(set));
            if let Some(choice) = choice_json(set) {
                body.insert("tool_choice".into(), choice);
            }
        }
        serde_json::Value::Object(body)
    }
}

/// The tools of `set` as the Messages API takes them: `[{"name", "description",
/// "input_schema"}]`.
fn tools_json(set: &ToolSet) -> serde_json::Value {
    let tools = set
        .tools
        .iter()
        .map(|tool| {
            let mut out = serde_json::Map::new();
            out.insert("name".into(), tool.name.clone().into());
            if let Some(description) = &tool.description {
                out.insert("description".into(), description.clone().into());
            }
            out.insert("input_schema".into(), tool.parameters.clone());
            serde_json::Value::Object(out)
        })
        .collect();
    serde_json::Value::Array(tools)
}

/// The set's `tool_choice` as the Messages API takes it: `auto` → `{"type": "auto"}`,
/// `required` → `{"type": "any"}`, `none` → `{"type": "none"}`, a function →
/// `{"type": "tool", "name": …}`; `parallel: false` adds `disable_parallel_tool_use`
/// (to `auto` when no choice is set). `None` when the set says neither.
fn choice_json(set: &ToolSet) -> Option<serde_json::Value> {
    let mut choice = match &set.choice {
        None if set.parallel == Some(false) => serde_json::json!({"type": "auto"}),
        None => return None,
        Some(ToolChoice::Auto) => serde_json::json!({"type": "auto"}),
        Some(ToolChoice::Required) => serde_json::json!({"type": "any"}),
        // `none` takes no parallel setting: no call at all is made.
        Some(ToolChoice::None) => return Some(serde_json::json!({"type": "none"})),
        Some(ToolChoice::Function(name)) => serde_json::json!({"type": "tool", "name": name}),
    };
    if set.parallel == Some(false) {
        choice["disable_parallel_tool_use"] = true.into();
    }
    Some(choice)
}

impl HttpApi for Anthropic {
    type Body = String;

    fn body(&self, request: &ProviderRequest, defaults: &Params) -> Result<String, String> {
        Ok(self.body_json(request, defaults).to_string())
    }

    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn request(&self, client: &reqwest::Client, body: &String) -> reqwest::RequestBuilder {
        let request = client
            .post(self.url.clone())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .body(body.clone());
        match &self.auth {
            Some(auth) => request.header("x-api-key", auth.clone()),
            None => request,
        }
    }

    fn classify(status: u16, body: &[u8]) -> Option<FailureClass> {
        classify_error(status, body)
    }

    fn parse(
        &self,
        status: StatusCode,
        bytes: &[u8],
        _body: &String,
    ) -> Result<Completion, AttemptFailure> {
        let parsed: MessagesResponse = self.transport.parse_json(status, bytes)?;
        if parsed.kind.as_deref() == Some("error") {
            // An error shape with a success status: classify it like any other.
            let class = classify_error(status.as_u16(), bytes).unwrap_or(FailureClass::Fatal);
            let detail = error_detail(bytes).unwrap_or_default();
            return Err(AttemptFailure {
                message: format!("error response: {}", self.transport.scrub(&detail)),
                status: Some(status.as_u16()),
                class,
                retry_after: None,
            });
        }
        let mut texts: Vec<String> = Vec::new();
        let mut tool_calls = Vec::new();
        for block in parsed.content {
            match block.kind.as_str() {
                "text" => texts.extend(block.text),
                "tool_use" => {
                    let Some(name) = block.name.filter(|n| !n.trim().is_empty()) else {
                        return Err(AttemptFailure::fatal(
                            "response had a `tool_use` block without a name",
                            Some(status.as_u16()),
                        ));
                    };
                    tool_calls.push(ToolCall::from_value(
                        block
                            .id
                            .unwrap_or_else(|| tool_json::default_id(tool_calls.len())),
                        name,
                        block.input.unwrap_or_else(|| serde_json::json!({})),
                    ));
                }
                _ => {}
            }
        }
        if texts.is_empty() && tool_calls.is_empty() {
            return Err(AttemptFailure::fatal(
                "response had no text content",
                Some(status.as_u16()),
            ));
        }
        let usage = parsed.usage.unwrap_or_default();
        // `input_tokens` leaves out what the prompt cache read or wrote: count those too.
        let cache = CacheTokens {
            read: usage.cache_read_input_tokens.unwrap_or(0),
            write: usage.cache_creation_input_tokens.unwrap_or(0),
        };
        Ok(Completion {
            output: texts.concat(),
            tokens_in: usage.input_tokens.map(|n| n + cache.read + cache.write),
            tokens_out: usage.output_tokens,
            cache,
            tool_calls,
            finish_reason: parsed.stop_reason,
        })
    }
}

/// The class of an Anthropic error body (`{"type":"error","error":{"type":…}}`):
/// `overloaded_error` and `rate_limit_error` are overload, `api_error` is transient, request
/// and auth errors are fatal; any other body keeps the status's class.
fn classify_error(_status: u16, body: &[u8]) -> Option<FailureClass> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    match json.pointer("/error/type")?.as_str()? {
        "overloaded_error" | "rate_limit_error" => Some(FailureClass::Overloaded),
        "api_error" | "timeout_error" => Some(FailureClass::Transient),
        "invalid_request_error"
        | "authentication_error"
        | "permission_error"
        | "not_found_error"
        | "request_too_large"
        | "billing_error" => Some(FailureClass::Fatal),
        _ => None,
    }
}

#[derive(Deserialize)]
struct MessagesResponse {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    content: Vec<ContentBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
}

/// A `text` block (`text`) or a `tool_use` block (`id`, `name`, `input`).
#[derive(Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<serde_json::Value>,
}

#[derive(Default, Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Provider;
    use crate::template::message::{Message, RenderedPrompt, Role};
    use serde_json::json;

    fn new(base_url: Option<&str>) -> Result<AnthropicProvider, ProviderConfigError> {
        let settings = AnthropicSettings {
            model: Some("claude-3-5-haiku-20241022".into()),
            base_url: base_url.map(Into::into),
            ..Default::default()
        };
        AnthropicProvider::new("claude", &settings, &CommonSettings::default())
    }

    fn msg(role: Role, content: &str) -> Message {
        Message::new(role, content)
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

    #[test]
    fn body_has_default_max_tokens_and_maps_params() {
        let p = new(Some("http://127.0.0.1:1")).unwrap();
        assert_eq!(p.api().url.as_str(), "http://127.0.0.1:1/v1/messages");
        let mut params = Params::new();
        params.insert("temperature".into(), json!(0));
        params.insert("stop".into(), json!("\n"));
        params.insert("seed".into(), json!(7));
        let body = p.api().body_json(
            &request(
                RenderedPrompt::Chat(vec![msg(Role::System, "S"), msg(Role::User, "U")]),
                params,
            ),
            p.params(),
        );
        assert_eq!(
            body,
            json!({
                "model": "claude-3-5-haiku-20241022",
                "max_tokens": 1024,
                "system": "S",
                "messages": [{"role": "user", "content": "U"}],
                "temperature": 0,
                "stop_sequences": ["\n"],
            })
        );
        let mut params = Params::new();
        params.insert("max_tokens".into(), json!(5));
        let body = p.api().body_json(
            &request(RenderedPrompt::Text("hi".into()), params),
            p.params(),
        );
        assert_eq!(body["max_tokens"], json!(5));
        assert!(body.get("system").is_none());
    }

    #[test]
    fn tool_choice_maps_to_the_messages_api() {
        let choice = |choice: Option<ToolChoice>, parallel: Option<bool>| {
            choice_json(&ToolSet {
                tools: Vec::new(),
                choice,
                parallel,
                servers: Vec::new(),
            })
        };
        assert_eq!(choice(None, None), None);
        assert_eq!(choice(None, Some(true)), None);
        assert_eq!(
            choice(None, Some(false)),
            Some(json!({"type": "auto", "disable_parallel_tool_use": true}))
        );
        assert_eq!(
            choice(Some(ToolChoice::Auto), None),
            Some(json!({"type": "auto"}))
        );
        assert_eq!(
            choice(Some(ToolChoice::Required), Some(false)),
            Some(json!({"type": "any", "disable_parallel_tool_use": true}))
        );
        assert_eq!(
            choice(Some(ToolChoice::None), Some(false)),
            Some(json!({"type": "none"}))
        );
        assert_eq!(
            choice(Some(ToolChoice::Function("get_weather".into())), None),
            Some(json!({"type": "tool", "name": "get_weather"}))
        );
    }

    #[test]
    fn tool_use_blocks_are_calls_and_a_nameless_one_is_an_error() {
        let p = new(Some("http://127.0.0.1:1")).unwrap();
        let parse = |content: serde_json::Value| {
            let body = json!({"type": "message", "content": content, "stop_reason": "tool_use"});
            p.api()
                .parse(StatusCode::OK, body.to_string().as_bytes(), &String::new())
        };
        let done = parse(json!([{"type": "tool_use", "name": "now"}])).unwrap();
        assert_eq!(done.output, "");
        assert_eq!(done.tool_calls[0].id, "call_0");
        assert_eq!(done.tool_calls[0].arguments, Some(json!({})));
        assert_eq!(done.finish_reason.as_deref(), Some("tool_use"));
        let err = parse(json!([{"type": "tool_use", "id": "toolu_1", "input": {}}])).unwrap_err();
        assert_eq!(
            err.message,
            "response had a `tool_use` block without a name"
        );
    }

    #[test]
    fn base_url_ending_in_v1_is_accepted() {
        let p = new(Some("http://127.0.0.1:1/v1/")).unwrap();
        assert_eq!(p.api().url.as_str(), "http://127.0.0.1:1/v1/messages");
    }

    #[test]
    fn default_url_requires_the_key() {
        if std::env::var_os(DEFAULT_ANTHROPIC_KEY_ENV).is_some() {
            return;
        }
        let e = new(None).unwrap_err();
        assert!(e.message.contains("`ANTHROPIC_API_KEY`"), "{e}");
    }

    #[test]
    fn catalog_price_applies_to_dated_ids() {
        let p = new(Some("http://127.0.0.1:1")).unwrap();
        let cost = p.cost(Some(1_000_000), Some(1_000_000)).unwrap();
        assert!((cost - 4.8).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn error_types_are_classified() {
        let body =
            |t: &str| format!(r#"{{"type":"error","error":{{"type":"{t}","message":"m"}}}}"#);
        let class = |t: &str| classify_error(500, body(t).as_bytes());
        assert_eq!(class("overloaded_error"), Some(FailureClass::Overloaded));
        assert_eq!(class("rate_limit_error"), Some(FailureClass::Overloaded));
        assert_eq!(class("api_error"), Some(FailureClass::Transient));
        assert_eq!(class("invalid_request_error"), Some(FailureClass::Fatal));
        assert_eq!(class("something_new"), None);
        assert_eq!(classify_error(502, b"<html>bad gateway</html>"), None);
    }
}
