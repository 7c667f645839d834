//! The `openai` provider: OpenAI-compatible chat completions (or legacy text completions)
//! over HTTP (OpenAI itself, llama.cpp's `llama-server`, vLLM, Ollama…), with retries and a
//! concurrency limit.

use std::sync::Arc;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::remote::transport::{api_key, parse_http_url, Transport};
use super::remote::{HttpApi, Remote, Retries};
use super::tool_json;
use super::{
    AttemptFailure, BoxFuture, Common, CommonSettings, Completion, Provider, ProviderConfigError,
    ProviderError, ProviderKind, ProviderRequest, Subject,
};
use crate::registry::Params;
use crate::tools::ToolSet;

mod embeddings;

/// The API used when `base_url` is not set.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The key variable used for the default API when `api_key_env` is not set.
pub const DEFAULT_OPENAI_KEY_ENV: &str = "OPENAI_API_KEY";
/// Requests in flight at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 4;

/// `kind: openai`: an OpenAI-compatible API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenAiSettings {
    /// The model id sent to the API (`gpt-4o-mini`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API base URL, up to and including `/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The name of the environment variable holding the API key (never the key itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
}

impl ProviderKind for OpenAiSettings {
    const NOT_IN_KEY: &'static [&'static str] = &["api_key_env"];

    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(OpenAiProvider::new(name, self, common)?))
    }
}

/// Which OpenAI-compatible endpoint requests go to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST {base_url}/chat/completions` with `messages`; the output is
    /// `choices[0].message.content`.
    #[default]
    Chat,
    /// `POST {base_url}/completions` with a plain `prompt` (a chat prompt is sent as
    /// [`crate::template::message::RenderedPrompt::to_text`]); the output is `choices[0].text`.
    Completions,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat/completions",
            Endpoint::Completions => "completions",
        }
    }
}

/// A provider of OpenAI-compatible chat (or text) completions.
pub type OpenAiProvider = Remote<OpenAi>;

/// An OpenAI-compatible chat completions endpoint (or, built with
/// [`OpenAiProvider::with_endpoint`], a text completions endpoint). One HTTP client is
/// shared by all requests, so connections are pooled.
#[derive(Debug)]
pub struct OpenAi {
    model: String,
    endpoint: Endpoint,
    url: Url,
    auth: Option<HeaderValue>,
    transport: Transport,
}

impl OpenAiProvider {
    /// Builds the provider named `name`: checks the model, URL, timeout and limits, and reads
    /// the API key from the environment.
    ///
    /// The key variable is `api_key_env`; for the default OpenAI URL it defaults to
    /// `OPENAI_API_KEY`. A custom `base_url` without `api_key_env` sends no
    /// `Authorization` header (local servers need none).
    pub fn new(
        name: &str,
        config: &OpenAiSettings,
        common: &CommonSettings,
    ) -> Result<Self, ProviderConfigError> {
        Self::with_endpoint(name, config, common, Endpoint::Chat)
    }

    /// Builds the provider named `name` like [`OpenAiProvider::new`], sending requests to
    /// `endpoint`.
    pub fn with_endpoint(
        name: &str,
        config: &OpenAiSettings,
        shared: &CommonSettings,
        endpoint: Endpoint,
    ) -> Result<Self, ProviderConfigError> {
        let who = Subject {
            name,
            kind: "openai",
            model: config.model.as_deref(),
        };
        let common = Common::resolve(who, shared, DEFAULT_CONCURRENCY)?;
        let model = match config.model.as_deref().map(str::trim) {
            Some(model) if !model.is_empty() => model.to_string(),
            _ => {
                return Err(ProviderConfigError::new(
                    name,
                    "`model` is required for kind `openai`",
                    Some(
                        "set `model:` to the model id, e.g. `model: gpt-4o-mini`, \
                         or use the inline id `openai:gpt-4o-mini`"
                            .into(),
                    ),
                ))
            }
        };
        let base_text = config
            .base_url
            .as_deref()
            .unwrap_or(DEFAULT_OPENAI_BASE_URL)
            .trim()
            .trim_end_matches('/');
        let url = parse_base_url(name, base_text, endpoint)?;
        let default_var = (base_text == DEFAULT_OPENAI_BASE_URL).then_some(DEFAULT_OPENAI_KEY_ENV);
        let (key, auth) = api_key(name, config.api_key_env.as_deref(), default_var, "Bearer ")?;
        let transport = Transport::new(name, &url, common.timeout, key.into_iter().collect())?;
        let api = OpenAi {
            model,
            endpoint,
            url,
            auth,
            transport,
        };
        Ok(Remote::with_api(name, api, &common, shared.params.clone()))
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> Endpoint {
        self.api().endpoint
    }
}

impl OpenAi {
    /// A POST of `body` to `url`, with the API key.
    fn post(&self, client: &reqwest::Client, url: &Url, body: &str) -> reqwest::RequestBuilder {
        let request = client.post(url.clone()).body(body.to_string());
        match &self.auth {
            Some(auth) => request.header(AUTHORIZATION, auth.clone()),
            None => request,
        }
    }
}

impl HttpApi for OpenAi {
    type Body = String;

    /// The request body: `model` and `messages` (or `prompt` for [`Endpoint::Completions`]),
    /// then the provider's default params overlaid by the request's params, as top-level
    /// fields. Params named `model`, `messages` or `prompt` are ignored: those come from the
    /// provider and the prompt.
    ///
    /// Tools the request offers are sent as `tools` in OpenAI's function shape, with
    /// `tool_choice` and `parallel_tool_calls` when the set gives them (they win over params
    /// of those names). The text completions endpoint has no tools: a request offering
    /// some fails before it is sent.
    fn body(&self, request: &ProviderRequest, defaults: &Params) -> Result<String, String> {
        let mut body = serde_json::Map::new();
        body.insert("model".into(), self.model.clone().into());
        match self.endpoint {
            Endpoint::Chat => {
                let messages = request.prompt.to_messages();
                body.insert("messages".into(), tool_json::openai_messages(&messages));
            }
            Endpoint::Completions => {
                body.insert("prompt".into(), request.prompt.to_text().into());
            }
        }
        for (key, value) in defaults.iter().chain(request.params.iter()) {
            if !matches!(key.as_str(), "model" | "messages" | "prompt") {
                body.insert(key.clone(), value.clone());
            }
        }
        if let Some(set) = tool_json::offered(request.tools.as_deref()) {
            if self.endpoint == Endpoint::Completions {
                return Err(NO_TOOLS_ON_COMPLETIONS.into());
            }
            insert_tools(&mut body, set);
        }
        Ok(serde_json::Value::Object(body).to_string())
    }

    fn transport(&self) -> &Transport {
        &self.transport
    }

    fn request(&self, client: &reqwest::Client, body: &String) -> reqwest::RequestBuilder {
        self.post(client, &self.url, body)
    }

    fn parse(
        &self,
        status: StatusCode,
        bytes: &[u8],
        _body: &String,
    ) -> Result<Completion, AttemptFailure> {
        let fatal = |message: &str| AttemptFailure::fatal(message, Some(status.as_u16()));
        let parsed: ChatResponse = self.transport.parse_json(status, bytes)?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| fatal("response had no choices"))?;
        let (content, tool_calls) = match self.endpoint {
            Endpoint::Chat => match choice.message {
                Some(message) => {
                    let calls = message.tool_calls.unwrap_or(serde_json::Value::Null);
                    let calls = tool_json::read_calls(&calls)
                        .map_err(|e| fatal(&format!("response had unreadable tool calls: {e}")))?;
                    (message.content, calls)
                }
                None => (None, Vec::new()),
            },
            Endpoint::Completions => (choice.text, Vec::new()),
        };
        // An answer that only calls tools has `content: null`: its text is empty.
        let output = match content {
            Some(text) => text,
            None if !tool_calls.is_empty() => String::new(),
            None => return Err(fatal("response had no content")),
        };
        let usage = parsed.usage.unwrap_or_default();
        Ok(Completion {
            output,
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
            cache: Default::default(),
            tool_calls,
            finish_reason: choice.finish_reason,
        })
    }

    fn embed<'a>(
        &'a self,
        retries: Retries<'a>,
        texts: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ProviderError>> {
        Box::pin(self.run_embed(retries, texts))
    }
}

#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ChoiceMessage>,
    /// Text completions answer here instead of in `message`.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    /// Read by [`tool_json::read_calls`], which says what is wrong with a bad one.
    #[serde(default)]
    tool_calls: Option<serde_json::Value>,
}

#[derive(Default, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// The error of a request offering tools to the text completions endpoint.
const NO_TOOLS_ON_COMPLETIONS: &str = "the text completions endpoint cannot send tools \
     (this prompt declares some); use the chat endpoint (for `llamacpp`, `mode: chat`)";

/// Adds the tools of `set` to a chat completions body: `tools`, and `tool_choice` and
/// `parallel_tool_calls` when the set gives them.
fn insert_tools(body: &mut serde_json::Map<String, serde_json::Value>, set: &ToolSet) {
    body.insert("tools".into(), tool_json::openai_tools(set));
    if let Some(choice) = &set.choice {
        body.insert("tool_choice".into(), tool_json::openai_choice(choice));
    }
    if let Some(parallel) = set.parallel {
        body.insert("parallel_tool_calls".into(), parallel.into());
    }
}

fn parse_base_url(name: &str, text: &str, endpoint: Endpoint) -> Result<Url, ProviderConfigError> {
    let hint = Some(format!(
        "write the API root up to and including `/v1`, e.g. `{DEFAULT_OPENAI_BASE_URL}` or `http://127.0.0.1:8080/v1`"
    ));
    parse_http_url(name, "base_url", text, hint.clone())?;
    Url::parse(&format!("{text}/{}", endpoint.path())).map_err(|err| {
        ProviderConfigError::new(name, format!("invalid `base_url` `{text}`: {err}"), hint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::provider::{KindSettings, Price, ProviderConfig};
    use crate::template::message::RenderedPrompt;

    /// The body `p` sends for `request`, parsed.
    fn body(p: &OpenAiProvider, request: &ProviderRequest) -> serde_json::Value {
        serde_json::from_str(&p.api().body(request, p.params()).unwrap()).unwrap()
    }

    fn config(
        model: Option<&str>,
        base_url: Option<&str>,
        key_env: Option<&str>,
    ) -> ProviderConfig {
        ProviderConfig::new(OpenAiSettings {
            model: model.map(Into::into),
            base_url: base_url.map(Into::into),
            api_key_env: key_env.map(Into::into),
        })
    }

    fn with_endpoint(
        name: &str,
        config: &ProviderConfig,
        endpoint: Endpoint,
    ) -> Result<OpenAiProvider, ProviderConfigError> {
        let KindSettings::OpenAi(settings) = &config.kind else {
            panic!("not openai: {config:?}");
        };
        OpenAiProvider::with_endpoint(name, settings, &config.common, endpoint)
    }

    fn new(name: &str, config: &ProviderConfig) -> Result<OpenAiProvider, ProviderConfigError> {
        with_endpoint(name, config, Endpoint::Chat)
    }

    fn err(config: &ProviderConfig) -> ProviderConfigError {
        match new("gpt", config) {
            Ok(p) => panic!("expected an error, built {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn model_is_required() {
        let e = err(&config(None, Some("http://127.0.0.1:1/v1"), None));
        assert!(e.message.contains("`model` is required"), "{e}");
        assert!(e.hint().unwrap().contains("openai:gpt-4o-mini"));
    }

    #[test]
    fn missing_key_names_the_variable() {
        let e = err(&config(
            Some("m"),
            None,
            Some("PROMPTEVAL_TEST_SURELY_UNSET_KEY"),
        ));
        assert_eq!(
            e.to_string(),
            "provider `gpt`: environment variable `PROMPTEVAL_TEST_SURELY_UNSET_KEY` (the API key) is not set"
        );
        assert_eq!(
            e.hint().as_deref(),
            Some("export PROMPTEVAL_TEST_SURELY_UNSET_KEY=...")
        );
    }

    #[test]
    fn default_url_requires_openai_api_key() {
        if std::env::var_os(DEFAULT_OPENAI_KEY_ENV).is_some() {
            return;
        }
        let e = err(&crate::provider::inline("openai:gpt-4o-mini").unwrap());
        assert!(e.message.contains("`OPENAI_API_KEY`"), "{e}");
        assert_eq!(e.hint().as_deref(), Some("export OPENAI_API_KEY=..."));
    }

    #[test]
    fn empty_key_is_rejected_without_showing_values() {
        std::env::set_var("PROMPTEVAL_TEST_EMPTY_KEY", "   ");
        let e = err(&config(Some("m"), None, Some("PROMPTEVAL_TEST_EMPTY_KEY")));
        assert!(e.message.contains("`PROMPTEVAL_TEST_EMPTY_KEY`"));
        assert!(e.message.contains("is empty"));
    }

    #[test]
    fn key_never_in_debug() {
        std::env::set_var("PROMPTEVAL_TEST_DEBUG_KEY", "sk-very-secret-value");
        let p = new(
            "gpt",
            &config(Some("m"), None, Some("PROMPTEVAL_TEST_DEBUG_KEY")),
        )
        .unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.contains("sk-very-secret-value"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
        assert_eq!(
            p.api()
                .transport
                .scrub("bad key sk-very-secret-value given"),
            "bad key *** given"
        );
    }

    #[test]
    fn bad_key_characters_do_not_leak() {
        std::env::set_var("PROMPTEVAL_TEST_NEWLINE_KEY", "sk-a\u{7}b");
        let e = err(&config(
            Some("m"),
            None,
            Some("PROMPTEVAL_TEST_NEWLINE_KEY"),
        ));
        assert!(e.message.contains("PROMPTEVAL_TEST_NEWLINE_KEY"));
        assert!(!e.message.contains("sk-a"));
    }

    #[test]
    fn custom_url_without_key_var_sends_no_auth() {
        let p = new(
            "local",
            &config(Some("m"), Some("http://127.0.0.1:8080/v1/"), None),
        )
        .unwrap();
        assert!(p.api().auth.is_none());
        assert_eq!(
            p.api().url.as_str(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
    }

    #[test]
    fn bad_base_url() {
        let e = err(&config(Some("m"), Some("not a url"), None));
        assert!(
            e.message.starts_with("invalid `base_url` `not a url`"),
            "{e}"
        );
        let e = err(&config(Some("m"), Some("ftp://example.com/v1"), None));
        assert!(e.message.contains("http://"), "{e}");
    }

    #[test]
    fn body_merges_params_over_defaults() {
        let mut c = config(Some("m"), Some("http://127.0.0.1:1/v1"), None);
        c.common.params.insert("temperature".into(), 0.7.into());
        c.common.params.insert("max_tokens".into(), 5.into());
        let p = new("local", &c).unwrap();
        let mut params = Params::new();
        params.insert("temperature".into(), 0.into());
        params.insert("model".into(), "other".into());
        params.insert("stop".into(), serde_json::json!(["\n"]));
        let body = body(
            &p,
            &ProviderRequest {
                prompt: RenderedPrompt::Text("hi".into()),
                params,
                vars: Default::default(),
                retries: None,
                tools: None,
            },
        );
        assert_eq!(
            body,
            serde_json::json!({
                "model": "m",
                "messages": [{"role": "user", "content": "hi"}],
                "temperature": 0,
                "max_tokens": 5,
                "stop": ["\n"],
            })
        );
    }

    #[test]
    fn completions_endpoint_sends_a_plain_prompt() {
        use crate::template::message::{Message, Role};
        let mut c = config(Some("m"), Some("http://127.0.0.1:1/v1"), None);
        c.common.params.insert("max_tokens".into(), 5.into());
        c.common.params.insert("prompt".into(), "ignored".into());
        let p = with_endpoint("local", &c, Endpoint::Completions).unwrap();
        assert_eq!(p.endpoint(), Endpoint::Completions);
        assert_eq!(p.api().url.as_str(), "http://127.0.0.1:1/v1/completions");
        let chat = RenderedPrompt::Chat(vec![
            Message::new(Role::System, "Be terse."),
            Message::new(Role::User, "Hi"),
        ]);
        let body = body(
            &p,
            &ProviderRequest {
                prompt: chat.clone(),
                params: Params::new(),
                vars: Default::default(),
                retries: None,
                tools: None,
            },
        );
        assert_eq!(
            body,
            serde_json::json!({"model": "m", "prompt": chat.to_text(), "max_tokens": 5})
        );
    }

    fn tool_set() -> crate::tools::ToolSet {
        crate::tools::ToolSet {
            tools: vec![crate::tools::ToolDef {
                name: "get_weather".into(),
                description: Some("Weather in a city".into()),
                parameters: serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            }],
            choice: Some(crate::tools::ToolChoice::Function("get_weather".into())),
            parallel: Some(false),
            servers: Vec::new(),
        }
    }

    fn with_tools(set: crate::tools::ToolSet) -> ProviderRequest {
        ProviderRequest {
            prompt: RenderedPrompt::Text("Weather in Rome?".into()),
            params: Params::new(),
            vars: Default::default(),
            retries: None,
            tools: Some(std::sync::Arc::new(set)),
        }
    }

    #[test]
    fn tools_choice_and_parallel_are_sent_in_openai_shape() {
        let p = new("o", &config(Some("m"), Some("http://127.0.0.1:1/v1"), None)).unwrap();
        let sent = body(&p, &with_tools(tool_set()));
        assert_eq!(
            sent["tools"],
            serde_json::json!([{"type": "function", "function": {
                "name": "get_weather", "description": "Weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
        );
        assert_eq!(
            sent["tool_choice"],
            serde_json::json!({"type": "function", "function": {"name": "get_weather"}})
        );
        assert_eq!(sent["parallel_tool_calls"], false);
        // A set without a choice or parallel setting sends neither; an empty set, nothing.
        let mut plain = tool_set();
        plain.choice = None;
        plain.parallel = None;
        let sent = body(&p, &with_tools(plain));
        assert!(sent.get("tool_choice").is_none() && sent.get("parallel_tool_calls").is_none());
        let sent = body(&p, &with_tools(Default::default()));
        assert!(sent.get("tools").is_none(), "{sent}");
    }

    #[test]
    fn tools_on_the_completions_endpoint_fail_before_sending() {
        let c = config(Some("m"), Some("http://127.0.0.1:1/v1"), None);
        let p = with_endpoint("local", &c, Endpoint::Completions).unwrap();
        let err = p
            .api()
            .body(&with_tools(tool_set()), p.params())
            .unwrap_err();
        assert!(err.contains("cannot send tools"), "{err}");
        assert!(err.contains("`mode: chat`"), "{err}");
    }

    fn parse(p: &OpenAiProvider, json: serde_json::Value) -> Result<Completion, AttemptFailure> {
        p.api()
            .parse(StatusCode::OK, json.to_string().as_bytes(), &String::new())
    }

    #[test]
    fn tool_calls_are_read_with_null_content_and_finish_reason() {
        let p = new("o", &config(Some("m"), Some("http://127.0.0.1:1/v1"), None)).unwrap();
        let done = parse(
            &p,
            serde_json::json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}},
                    {"id": "call_def", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": "}},
                ]}}]}),
        )
        .unwrap();
        assert_eq!(done.output, "");
        assert_eq!(done.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(done.tool_calls.len(), 2);
        assert_eq!(done.tool_calls[0].id, "call_abc");
        assert_eq!(
            done.tool_calls[0].arguments,
            Some(serde_json::json!({"city": "Rome"}))
        );
        // Unparseable arguments are kept raw: the assertions report them.
        assert_eq!(done.tool_calls[1].arguments, None);
        assert_eq!(done.tool_calls[1].arguments_raw, "{\"city\": ");
        let text = parse(
            &p,
            serde_json::json!({"choices": [{"finish_reason": "stop", "message": {"content": "Sunny."}}]}),
        )
        .unwrap();
        assert_eq!((text.output.as_str(), text.tool_calls.len()), ("Sunny.", 0));
        assert_eq!(text.finish_reason.as_deref(), Some("stop"));
        let empty = parse(
            &p,
            serde_json::json!({"choices": [{"message": {"content": null}}]}),
        );
        assert_eq!(empty.unwrap_err().message, "response had no content");
        let bad = parse(
            &p,
            serde_json::json!({"choices": [{"message": {"tool_calls": [{"function": {}}]}}]}),
        );
        assert!(bad
            .unwrap_err()
            .message
            .starts_with("response had unreadable tool calls: tool call 0 has no function name"));
    }

    #[test]
    fn cost_uses_price() {
        let mut c = config(Some("m"), Some("http://127.0.0.1:1/v1"), None);
        assert_eq!(new("p", &c).unwrap().cost(Some(1), Some(1)), None);
        c.common.price = Some(Price {
            input: 2.0,
            output: 4.0,
            ..Default::default()
        });
        let p = new("p", &c).unwrap();
        assert_eq!(p.cost(Some(500_000), Some(250_000)), Some(2.0));
        assert_eq!(p.cost(None, Some(1)), None);
    }
}
