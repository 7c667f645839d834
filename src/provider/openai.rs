//! The `openai` provider: OpenAI-compatible chat completions (or legacy text completions)
//! over HTTP (OpenAI itself, llama.cpp's `llama-server`, vLLM, Ollama…), with retries and a
//! concurrency limit.

use std::fmt;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Url;
use serde::Deserialize;

use super::limiter::estimate_tokens;
use super::limiter::Limiter;
use super::retry::{run_with_retries_estimated, AttemptFailure, Completion};
use super::transport::{api_key, parse_http_url, Secret, Transport};
use super::{
    price_cost, BoxFuture, Common, Price, Provider, ProviderConfig, ProviderConfigError,
    ProviderError, ProviderRequest, ProviderResponse, RetryPolicy,
};
use crate::registry::Params;

mod embeddings;

/// The API used when `base_url` is not set.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The key variable used for the default API when `api_key_env` is not set.
pub const DEFAULT_OPENAI_KEY_ENV: &str = "OPENAI_API_KEY";
/// Requests in flight at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 4;

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

/// An OpenAI-compatible chat completions endpoint (or, built with
/// [`OpenAiProvider::with_endpoint`], a text completions endpoint).
///
/// The concurrency limit is held here, by a semaphore acquired in
/// [`Provider::complete`] for the whole request (backoff waits included, so a provider
/// that is being rate limited does not start new requests while it waits): callers may
/// issue as many requests as they like. One HTTP client is shared by all requests, so
/// connections are pooled.
pub struct OpenAiProvider {
    name: String,
    model: String,
    endpoint: Endpoint,
    url: Url,
    key: Option<Secret>,
    auth: Option<HeaderValue>,
    transport: Transport,
    policy: RetryPolicy,
    params: Params,
    price: Option<Price>,
    limiter: Limiter,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("name", &self.name)
            .field("model", &self.model)
            .field("url", &self.url.as_str())
            .field("key", &self.key)
            .field("timeout", &self.transport.timeout())
            .field("policy", &self.policy)
            .field("concurrency", &self.limiter.limit())
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// Builds the provider named `name`: checks the model, URL, timeout and limits, and reads
    /// the API key from the environment.
    ///
    /// The key variable is `api_key_env`; for the default OpenAI URL it defaults to
    /// `OPENAI_API_KEY`. A custom `base_url` without `api_key_env` sends no
    /// `Authorization` header (local servers need none).
    pub fn new(name: &str, config: &ProviderConfig) -> Result<Self, ProviderConfigError> {
        Self::with_endpoint(name, config, Endpoint::Chat)
    }

    /// Builds the provider named `name` like [`OpenAiProvider::new`], sending requests to
    /// `endpoint`.
    pub fn with_endpoint(
        name: &str,
        config: &ProviderConfig,
        endpoint: Endpoint,
    ) -> Result<Self, ProviderConfigError> {
        let common = Common::resolve(name, config, DEFAULT_CONCURRENCY)?;
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
        let transport = Transport::new(name, &url, common.timeout, key.iter().cloned().collect())?;

        Ok(OpenAiProvider {
            name: name.to_string(),
            model,
            endpoint,
            url,
            key,
            auth,
            transport,
            policy: common.policy,
            params: config.params.clone(),
            price: common.price,
            limiter: common.limiter(),
        })
    }

    /// Replaces the retry policy (tests use a base of a few milliseconds).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// The request body: `model` and `messages` (or `prompt` for [`Endpoint::Completions`]),
    /// then the provider's default params overlaid by the request's params, as top-level
    /// fields. Params named `model`, `messages` or `prompt` are ignored: those come from the
    /// provider and the prompt.
    fn body(&self, request: &ProviderRequest) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("model".into(), self.model.clone().into());
        match self.endpoint {
            Endpoint::Chat => {
                let messages = request
                    .prompt
                    .to_messages()
                    .into_iter()
                    .map(|m| serde_json::json!({"role": m.role.as_str(), "content": m.content}))
                    .collect();
                body.insert("messages".into(), serde_json::Value::Array(messages));
            }
            Endpoint::Completions => {
                body.insert("prompt".into(), request.prompt.to_text().into());
            }
        }
        for (key, value) in self.params.iter().chain(request.params.iter()) {
            if !matches!(key.as_str(), "model" | "messages" | "prompt") {
                body.insert(key.clone(), value.clone());
            }
        }
        serde_json::Value::Object(body)
    }

    async fn run(&self, request: ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let body = self.body(&request).to_string();
        run_with_retries_estimated(
            &self.limiter,
            &self.policy,
            request.retries.as_ref(),
            estimate_tokens(body.len()),
            || self.attempt(&body),
        )
        .await
    }

    async fn attempt(&self, body: &str) -> Result<Completion, AttemptFailure> {
        let mut request = self
            .transport
            .client()
            .post(self.url.clone())
            .body(body.to_string());
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let (status, bytes) = self.transport.send(request).await?;
        let fatal = |message: &str| AttemptFailure::fatal(message, Some(status.as_u16()));
        let parsed: ChatResponse = self.transport.parse_json(status, &bytes)?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| fatal("response had no choices"))?;
        let output = match self.endpoint {
            Endpoint::Chat => choice.message.and_then(|m| m.content),
            Endpoint::Completions => choice.text,
        }
        .ok_or_else(|| fatal("response had no content"))?;
        let usage = parsed.usage.unwrap_or_default();
        Ok(Completion {
            output,
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
        })
    }
}

impl Provider for OpenAiProvider {
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        Box::pin(self.run(request))
    }

    fn concurrency(&self) -> usize {
        self.limiter.limit()
    }

    fn cost(&self, tokens_in: Option<u64>, tokens_out: Option<u64>) -> Option<f64> {
        price_cost(self.price, tokens_in, tokens_out)
    }

    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>> {
        Box::pin(self.run_embed(texts))
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
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Default, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
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
    use crate::template::message::RenderedPrompt;

    fn config(
        model: Option<&str>,
        base_url: Option<&str>,
        key_env: Option<&str>,
    ) -> ProviderConfig {
        ProviderConfig {
            kind: "openai".into(),
            model: model.map(Into::into),
            base_url: base_url.map(Into::into),
            api_key_env: key_env.map(Into::into),
            ..Default::default()
        }
    }

    fn err(config: &ProviderConfig) -> ProviderConfigError {
        match OpenAiProvider::new("gpt", config) {
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
        let p = OpenAiProvider::new(
            "gpt",
            &config(Some("m"), None, Some("PROMPTEVAL_TEST_DEBUG_KEY")),
        )
        .unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.contains("sk-very-secret-value"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
        assert_eq!(
            p.transport.scrub("bad key sk-very-secret-value given"),
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
        let p = OpenAiProvider::new(
            "local",
            &config(Some("m"), Some("http://127.0.0.1:8080/v1/"), None),
        )
        .unwrap();
        assert!(p.auth.is_none());
        assert_eq!(p.url.as_str(), "http://127.0.0.1:8080/v1/chat/completions");
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
        c.params.insert("temperature".into(), 0.7.into());
        c.params.insert("max_tokens".into(), 5.into());
        let p = OpenAiProvider::new("local", &c).unwrap();
        let mut params = Params::new();
        params.insert("temperature".into(), 0.into());
        params.insert("model".into(), "other".into());
        params.insert("stop".into(), serde_json::json!(["\n"]));
        let body = p.body(&ProviderRequest {
            prompt: RenderedPrompt::Text("hi".into()),
            params,
            vars: Default::default(),
            retries: None,
        });
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
        c.params.insert("max_tokens".into(), 5.into());
        c.params.insert("prompt".into(), "ignored".into());
        let p = OpenAiProvider::with_endpoint("local", &c, Endpoint::Completions).unwrap();
        assert_eq!(p.endpoint(), Endpoint::Completions);
        assert_eq!(p.url.as_str(), "http://127.0.0.1:1/v1/completions");
        let chat = RenderedPrompt::Chat(vec![
            Message {
                role: Role::System,
                content: "Be terse.".into(),
            },
            Message {
                role: Role::User,
                content: "Hi".into(),
            },
        ]);
        let body = p.body(&ProviderRequest {
            prompt: chat.clone(),
            params: Params::new(),
            vars: Default::default(),
            retries: None,
        });
        assert_eq!(
            body,
            serde_json::json!({"model": "m", "prompt": chat.to_text(), "max_tokens": 5})
        );
    }

    #[test]
    fn cost_uses_price() {
        let mut c = config(Some("m"), Some("http://127.0.0.1:1/v1"), None);
        assert_eq!(
            OpenAiProvider::new("p", &c).unwrap().cost(Some(1), Some(1)),
            None
        );
        c.price = Some(Price {
            input: 2.0,
            output: 4.0,
        });
        let p = OpenAiProvider::new("p", &c).unwrap();
        assert_eq!(p.cost(Some(500_000), Some(250_000)), Some(2.0));
        assert_eq!(p.cost(None, Some(1)), None);
    }
}
