//! The `openai` provider: OpenAI-compatible chat completions (or legacy text completions)
//! over HTTP (OpenAI itself, llama.cpp's `llama-server`, vLLM, Ollama…), with retries and a
//! concurrency limit.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::retry::{parse_retry_after, parse_retry_after_ms, MAX_RETRY_AFTER};
use super::{
    price_cost, BoxFuture, Common, Price, Provider, ProviderConfig, ProviderConfigError,
    ProviderError, ProviderRequest, ProviderResponse, RetryNotice, RetryPolicy,
};
use crate::registry::Params;

mod embeddings;

/// The API used when `base_url` is not set.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The key variable used for the default API when `api_key_env` is not set.
pub const DEFAULT_OPENAI_KEY_ENV: &str = "OPENAI_API_KEY";
/// Requests in flight at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 4;
/// How much of an error body goes into a message.
const MAX_DETAIL_CHARS: usize = 200;

/// Which OpenAI-compatible endpoint requests go to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST {base_url}/chat/completions` with `messages`; the output is
    /// `choices[0].message.content`.
    #[default]
    Chat,
    /// `POST {base_url}/completions` with a plain `prompt` (a chat prompt is sent as
    /// [`crate::message::RenderedPrompt::to_text`]); the output is `choices[0].text`.
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

/// An API key. It is read once, when the provider is built, and never printed: its
/// `Debug` is `***`, and error bodies that echo it are scrubbed.
#[derive(Clone)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
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
    key: Option<ApiKey>,
    auth: Option<HeaderValue>,
    client: reqwest::Client,
    timeout: Duration,
    policy: RetryPolicy,
    params: Params,
    price: Option<Price>,
    limit: Arc<Semaphore>,
    concurrency: usize,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("name", &self.name)
            .field("model", &self.model)
            .field("url", &self.url.as_str())
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
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
        let key_env = match &config.api_key_env {
            Some(var) => Some(var.as_str()),
            None if base_text == DEFAULT_OPENAI_BASE_URL => Some(DEFAULT_OPENAI_KEY_ENV),
            None => None,
        };
        let key = key_env.map(|var| read_key(name, var)).transpose()?;
        let auth = match (&key, key_env) {
            (Some(key), Some(var)) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.0)).map_err(|_| {
                    ProviderConfigError::new(
                        name,
                        format!("the API key in environment variable `{var}` contains characters not allowed in an HTTP header"),
                        Some(format!("check the value of {var} for stray quotes or line breaks")),
                    )
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            _ => None,
        };

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut builder = reqwest::Client::builder()
            .timeout(common.timeout)
            .default_headers(headers)
            .user_agent(concat!("prompteval/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&url) {
            // A server on this machine is never reached through an HTTP proxy from the environment.
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|err| {
            ProviderConfigError::new(
                name,
                format!("cannot create the HTTP client: {}", root_cause(&err)),
                None,
            )
        })?;

        Ok(OpenAiProvider {
            name: name.to_string(),
            model,
            endpoint,
            url,
            key,
            auth,
            client,
            timeout: common.timeout,
            policy: common.policy,
            params: config.params.clone(),
            price: common.price,
            limit: Arc::new(Semaphore::new(common.concurrency)),
            concurrency: common.concurrency,
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
        let _permit = self.limit.acquire().await.map_err(|_| ProviderError {
            message: "provider is shut down".into(),
            status: None,
            attempts: 0,
        })?;
        let start = Instant::now();
        let body = self.body(&request).to_string();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let failure = match self.attempt(&body).await {
                Ok(done) => {
                    return Ok(ProviderResponse {
                        output: done.output,
                        tokens_in: done.tokens_in,
                        tokens_out: done.tokens_out,
                        latency_ms: start.elapsed().as_secs_f64() * 1000.0,
                        attempts: attempt,
                    })
                }
                Err(failure) => failure,
            };
            if !failure.retryable || attempt > self.policy.max_retries {
                return Err(self.give_up(failure.message, failure.status, attempt));
            }
            let wait = match failure.retry_after {
                Some(wait) if wait > MAX_RETRY_AFTER => {
                    let message = format!(
                        "{}: server asked to wait {} before retrying, more than the {} limit",
                        failure.message,
                        humantime::format_duration(round_secs(wait)),
                        humantime::format_duration(MAX_RETRY_AFTER),
                    );
                    return Err(self.give_up(message, failure.status, attempt));
                }
                Some(wait) => wait,
                None => self.policy.backoff(attempt),
            };
            if let Some(tx) = &request.retries {
                // Nobody listening is fine.
                let _ = tx.send(RetryNotice {
                    attempt,
                    reason: failure.message.clone(),
                    wait,
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn give_up(&self, message: String, status: Option<u16>, attempts: u32) -> ProviderError {
        let plural = if attempts == 1 { "" } else { "s" };
        ProviderError {
            message: format!("{message} (after {attempts} attempt{plural})"),
            status,
            attempts,
        }
    }

    async fn attempt(&self, body: &str) -> Result<Completion, Failure> {
        let mut request = self.client.post(self.url.clone()).body(body.to_string());
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let response = request.send().await.map_err(|err| self.transport(&err))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|err| self.transport(&err))?;
        if !status.is_success() {
            let mut message = status_line(status);
            if let Some(detail) = error_detail(&bytes) {
                message = format!("{message}: {}", self.scrub(&detail));
            }
            return Err(Failure {
                message,
                status: Some(status.as_u16()),
                retryable: is_retryable(status),
                retry_after,
            });
        }
        // A 200 with a body we cannot read is the server's bug; retrying would usually get
        // the same answer and cost money, so it fails at once.
        let fatal = |message: String| Failure {
            message,
            status: Some(status.as_u16()),
            retryable: false,
            retry_after: None,
        };
        let parsed: ChatResponse = serde_json::from_slice(&bytes).map_err(|err| {
            fatal(format!(
                "malformed response: {}",
                one_line(&err.to_string())
            ))
        })?;
        let choice = parsed
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| fatal("response had no choices".into()))?;
        let output = match self.endpoint {
            Endpoint::Chat => choice.message.and_then(|m| m.content),
            Endpoint::Completions => choice.text,
        }
        .ok_or_else(|| fatal("response had no content".into()))?;
        let usage = parsed.usage.unwrap_or_default();
        Ok(Completion {
            output,
            tokens_in: usage.prompt_tokens,
            tokens_out: usage.completion_tokens,
        })
    }

    /// A failure to send or receive: timeouts and connection errors are worth retrying.
    fn transport(&self, err: &reqwest::Error) -> Failure {
        let message = if err.is_timeout() {
            format!(
                "request timed out after {}",
                humantime::format_duration(self.timeout)
            )
        } else if err.is_connect() {
            format!("connection failed: {}", self.scrub(&root_cause(err)))
        } else {
            format!("request failed: {}", self.scrub(&root_cause(err)))
        };
        Failure {
            message,
            status: None,
            retryable: true,
            retry_after: None,
        }
    }

    /// Removes the API key from text a server sent back.
    fn scrub(&self, text: &str) -> String {
        match &self.key {
            Some(key) if !key.0.is_empty() => text.replace(&key.0, "***"),
            _ => text.to_string(),
        }
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
        self.concurrency
    }

    fn cost(&self, tokens_in: Option<u64>, tokens_out: Option<u64>) -> Option<f64> {
        price_cost(self.price, tokens_in, tokens_out)
    }

    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>> {
        Box::pin(self.run_embed(texts))
    }
}

/// A successful attempt.
struct Completion {
    output: String,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
}

/// A failed attempt.
struct Failure {
    message: String,
    status: Option<u16>,
    retryable: bool,
    retry_after: Option<Duration>,
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
    let base = Url::parse(text).map_err(|err| {
        ProviderConfigError::new(
            name,
            format!("invalid `base_url` `{text}`: {err}"),
            hint.clone(),
        )
    })?;
    if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
        return Err(ProviderConfigError::new(
            name,
            format!("invalid `base_url` `{text}`: expected an http:// or https:// URL"),
            hint,
        ));
    }
    Url::parse(&format!("{text}/{}", endpoint.path())).map_err(|err| {
        ProviderConfigError::new(name, format!("invalid `base_url` `{text}`: {err}"), hint)
    })
}

fn read_key(name: &str, var: &str) -> Result<ApiKey, ProviderConfigError> {
    let hint = Some(format!("export {var}=..."));
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Ok(ApiKey(value.trim().to_string())),
        Ok(_) => Err(ProviderConfigError::new(
            name,
            format!("environment variable `{var}` (the API key) is empty"),
            hint,
        )),
        Err(std::env::VarError::NotPresent) => Err(ProviderConfigError::new(
            name,
            format!("environment variable `{var}` (the API key) is not set"),
            hint,
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(ProviderConfigError::new(
            name,
            format!("environment variable `{var}` (the API key) is not valid UTF-8"),
            hint,
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// 429 and the 5xx statuses that mean "try again later" (529: overloaded).
fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504 | 529)
}

fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// The wait a server asked for: `retry-after-ms` (OpenAI) or `Retry-After`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    header("retry-after-ms")
        .and_then(parse_retry_after_ms)
        .or_else(|| header("retry-after").and_then(|v| parse_retry_after(v, SystemTime::now())))
}

/// The server's explanation of an error: `error.message` (OpenAI), `error` or `message`
/// when the body is JSON, else the body itself; one line, truncated.
fn error_detail(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => {
            let found = json
                .pointer("/error/message")
                .or_else(|| json.get("error"))
                .or_else(|| json.get("message"))
                .or_else(|| json.get("detail"));
            match found {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => json.to_string(),
            }
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let text = one_line(&text);
    if text.is_empty() {
        return None;
    }
    Some(truncate(&text, MAX_DETAIL_CHARS))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The innermost cause of an error, which says what happened without reqwest's URL
/// preamble ("error sending request for url …").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    one_line(&cause.to_string())
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::RenderedPrompt;

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
            p.scrub("bad key sk-very-secret-value given"),
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
        use crate::message::{Message, Role};
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
            retries: None,
        });
        assert_eq!(
            body,
            serde_json::json!({"model": "m", "prompt": chat.to_text(), "max_tokens": 5})
        );
    }

    #[test]
    fn error_details() {
        assert_eq!(
            error_detail(br#"{"error": {"message": "Incorrect API key provided", "type": "x"}}"#)
                .as_deref(),
            Some("Incorrect API key provided")
        );
        assert_eq!(
            error_detail(br#"{"error": "model not loaded"}"#).as_deref(),
            Some("model not loaded")
        );
        assert_eq!(error_detail(b"  \n").as_deref(), None);
        assert_eq!(
            error_detail(b"<html>\n<body>Bad\nGateway</body></html>").as_deref(),
            Some("<html> <body>Bad Gateway</body></html>")
        );
        let long = "x".repeat(1000);
        let detail = error_detail(long.as_bytes()).unwrap();
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
    }

    #[test]
    fn retryable_statuses() {
        for code in [429, 500, 502, 503, 504, 529] {
            assert!(is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 401, 403, 404, 422, 501] {
            assert!(!is_retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        assert_eq!(
            status_line(StatusCode::UNAUTHORIZED),
            "HTTP 401 Unauthorized"
        );
        assert_eq!(status_line(StatusCode::from_u16(529).unwrap()), "HTTP 529");
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
