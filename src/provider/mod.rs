//! Providers: the models prompts are sent to. One file per kind; retries, timeouts and
//! concurrency limits live at this edge. Providers never read templates or datasets.
//!
//! Layers of a remote provider: [`transport`] (HTTP client, secrets, one attempt and the
//! classification of its failure), [`run_with_retries`] (the one retry loop), and
//! [`limiter`] (requests in flight). A provider file only builds its request body and reads
//! its response shape.
//!
//! How a remote provider behaves (see [`OpenAiProvider`]):
//! - **Concurrency** is enforced inside the provider by a semaphore held for the whole
//!   request, retries and backoff included; [`Provider::concurrency`] reports the limit so
//!   a scheduler can size its own queue, but it need not enforce it.
//! - **Retries**: 429, 500, 502, 503, 504, 529, connection errors and timeouts are retried
//!   up to `max_retries` times, waiting a random time between zero and
//!   `base × 2^(attempt-1)` (base 500ms, cap 30s; [`RETRY_BASE_ENV`] overrides the base), or
//!   what the server's `Retry-After` (seconds or HTTP date; OpenAI's `retry-after-ms` first)
//!   asks, up to [`MAX_RETRY_AFTER`]: a longer request fails at once with a message saying
//!   so. Other 4xx, malformed 200 bodies and responses without content fail at once.
//! - **Secrets**: the API key is read once in [`build`], never shown by `Debug`, and
//!   scrubbed from error bodies that echo it. Errors name the variable, never its value.
//!
//! Local providers ([`LlamaCppProvider`]) manage a server process: [`Provider::start`]
//! starts it once per run, and dropping the last provider using it stops it.

mod anthropic;
pub mod cache;
mod cached;
mod echo;
mod exec;
mod http;
pub mod limiter;
pub mod llamacpp;
mod ollama;
mod openai;
pub mod prices;
mod retry;
pub mod transport;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::registry::Params;
use crate::template::message::RenderedPrompt;

pub use anthropic::{
    AnthropicProvider, ANTHROPIC_VERSION, DEFAULT_ANTHROPIC_BASE_URL, DEFAULT_ANTHROPIC_KEY_ENV,
    DEFAULT_ANTHROPIC_MAX_TOKENS,
};
pub use cached::{
    build_offline, wrap_providers, CacheCounters, CachedProvider, UnavailableProvider,
};
pub use echo::EchoProvider;
pub use exec::ExecProvider;
pub use http::{HttpProvider, ResponsePath};
pub use limiter::{Limiter, RateLimits, WindowState};
pub use llamacpp::LlamaCppProvider;
pub use ollama::{OllamaProvider, DEFAULT_OLLAMA_BASE_URL};
pub use openai::{Endpoint, OpenAiProvider, DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_KEY_ENV};
pub use retry::{
    parse_retry_after, run_with_retries, run_with_retries_estimated, AttemptFailure, Completion,
    FailureClass, RetryPolicy, MAX_RETRY_AFTER, RETRY_BASE_DEFAULT, RETRY_BASE_ENV, RETRY_CAP,
};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The provider kinds this build knows.
pub const KINDS: &[&str] = &[
    "echo",
    "openai",
    "llamacpp",
    "anthropic",
    "ollama",
    "http",
    "exec",
];

/// Prices in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Per million prompt tokens.
    pub input: f64,
    /// Per million completion tokens.
    pub output: f64,
}

/// A provider's settings, as written under `providers:` in `prompteval.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// One of [`KINDS`].
    pub kind: String,
    /// The model id sent to the API (`gpt-4o-mini`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API base URL, up to and including `/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The name of the environment variable holding the API key (never the key itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Requests in flight at once for this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Per-request timeout, e.g. `30s` or `2m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Retries after the first attempt on 429, 5xx and connection errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Default request parameters; a version's `params` override them.
    #[serde(default, skip_serializing_if = "Params::is_empty")]
    pub params: Params,
    /// Price per million tokens. Without it the built-in catalog (`data/prices.yaml`) is
    /// consulted by kind and model; a model it does not know has an unknown cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// `llamacpp`: the GGUF model file. Relative paths and `~/` are resolved against the
    /// project root when the project is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<PathBuf>,
    /// `llamacpp`: the `llama-server` binary (a path, or a name looked up on `PATH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<PathBuf>,
    /// `llamacpp`: `completion` (plain prompt, the default) or `chat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `llamacpp`: the server's context size in tokens, shared by its slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctx_size: Option<u32>,
    /// `llamacpp`: the server's parallel slots (also the provider's default concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<usize>,
    /// `llamacpp`: CPU threads the server uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// `llamacpp`: how long the server may take to load the model, e.g. `120s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_timeout: Option<String>,
    /// A hard limit on requests (attempts, retries included) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// A hard limit on tokens (prompt + completion) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// `http`: the endpoint's full URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `http`: the HTTP method (`POST`, the default, `PUT` or `GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `http`: request headers; values may name environment variables as `${VAR}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// `http`: the request body, a JSON value whose strings are templates rendered with
    /// `prompt`, `messages` and the row's variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// `http`: where the output is in the response: a JSON pointer (`/choices/0/text`) or
    /// a path (`choices[0].text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `http`: where the prompt token count is in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<String>,
    /// `http`: where the completion token count is in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<String>,
    /// `exec`: the program and its arguments, run once per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// `llamacpp`: start the server with `--embeddings` so that it serves
    /// `/v1/embeddings` (for the `similar` assertion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<bool>,
}

/// A provider that cannot be built from its settings (exit 2: nothing was sent).
#[derive(Debug, thiserror::Error)]
#[error("provider `{provider}`: {message}")]
pub struct ProviderConfigError {
    /// The provider's name.
    pub provider: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

/// A request that failed for good (after retries).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The one-line message stored in the cell's `error` field.
    pub message: String,
    /// The last HTTP status, when there was one.
    pub status: Option<u16>,
    /// How many attempts were made.
    pub attempts: u32,
}

/// A provider waiting before it retries.
#[derive(Clone, Debug)]
pub struct RetryNotice {
    /// The attempt that failed, from 1.
    pub attempt: u32,
    /// Why (`429 Too Many Requests`, `connection refused`, …).
    pub reason: String,
    /// How long it waits.
    pub wait: Duration,
    /// The provider's concurrency window after an overload refusal (429, 529) cut it;
    /// `None` for other failures, which leave the window alone.
    pub window: Option<limiter::WindowState>,
}

/// One request to a provider.
#[derive(Clone, Debug)]
pub struct ProviderRequest {
    /// The rendered prompt.
    pub prompt: RenderedPrompt,
    /// Request parameters (provider defaults overlaid by the version's params).
    pub params: Params,
    /// The dataset row's variables: the `http` provider's body template and the `exec`
    /// provider's stdin see them; the other kinds ignore them.
    pub vars: Arc<serde_json::Map<String, serde_json::Value>>,
    /// Where to report retries, if anyone listens.
    pub retries: Option<tokio::sync::mpsc::UnboundedSender<RetryNotice>>,
}

/// A successful response.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderResponse {
    /// The generated text.
    pub output: String,
    /// Prompt tokens, when reported.
    pub tokens_in: Option<u64>,
    /// Completion tokens, when reported.
    pub tokens_out: Option<u64>,
    /// Wall time over all attempts, in milliseconds.
    pub latency_ms: f64,
    /// Attempts made (1 when the first succeeded; 0 when served from the response cache).
    pub attempts: u32,
    /// Whether the response cache served it ([`CachedProvider`] sets it; no request was
    /// made).
    pub cached: bool,
}

/// A model endpoint.
pub trait Provider: Send + Sync {
    /// Sends one request, retrying as configured.
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>>;

    /// Sends the `repeat`-th repetition (from 0) of a request. Providers ignore `repeat`
    /// (the default calls [`Provider::complete`]); the response cache keys on it, so that
    /// repeats of a cell are separate samples rather than one answer served again.
    fn complete_repeat(
        &self,
        request: ProviderRequest,
        repeat: u32,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        let _ = repeat;
        self.complete(request)
    }

    /// How many requests may be in flight at once.
    fn concurrency(&self) -> usize;

    /// Cost of a response in US dollars, when the price is known.
    fn cost(&self, tokens_in: Option<u64>, tokens_out: Option<u64>) -> Option<f64>;

    /// Gets ready for requests: a local provider starts (or joins) its server here. A run
    /// calls it once per provider before the first request; [`build`] and validation never
    /// do. Remote providers have nothing to start.
    ///
    /// Await it on the thread that drives the run (the `block_on` thread): a server's
    /// `PR_SET_PDEATHSIG` is tied to the thread that spawned it.
    fn start(&self) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Embeds `texts`, one vector per text in order (the `similar` assertion). Providers
    /// without an embeddings endpoint keep this default, which fails; wrappers forward it.
    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>> {
        let _ = texts;
        Box::pin(std::future::ready(Err(ProviderError {
            message: "this provider does not serve embeddings (use a provider of kind `openai`, or `llamacpp` with `embeddings: true`)".into(),
            status: None,
            attempts: 0,
        })))
    }
}

impl ProviderConfigError {
    /// Creates an error for provider `provider`.
    pub fn new(provider: &str, message: impl Into<String>, hint: Option<String>) -> Self {
        ProviderConfigError {
            provider: provider.to_string(),
            message: message.into(),
            hint,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

impl ProviderError {
    /// What the user can do about it, judged from the last HTTP status.
    pub fn hint(&self) -> Option<String> {
        match self.status? {
            401 | 403 => Some("check the API key in the provider's `api_key_env` variable".into()),
            404 => Some("check the provider's `model` and `base_url`".into()),
            429 => Some("lower the provider's `concurrency` or raise `max_retries`".into()),
            _ => None,
        }
    }
}

/// The timeout used when a provider sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The retry count used when a provider sets none.
pub const DEFAULT_MAX_RETRIES: u32 = 3;

/// Builds a provider from its settings; checks everything it can without a request
/// (known kind, API key variable set, valid URL and timeout).
///
/// Environment variables are read here, once: the API key named by `api_key_env`, and
/// [`RETRY_BASE_ENV`] (a whole number of milliseconds replacing the 500ms backoff base,
/// for tests that must not wait).
pub fn build(
    name: &str,
    config: &ProviderConfig,
) -> Result<Arc<dyn Provider>, ProviderConfigError> {
    match config.kind.as_str() {
        "echo" => Ok(Arc::new(EchoProvider::new(name, config)?)),
        "openai" => Ok(Arc::new(OpenAiProvider::new(name, config)?)),
        "llamacpp" => Ok(Arc::new(LlamaCppProvider::new(name, config)?)),
        "anthropic" => Ok(Arc::new(AnthropicProvider::new(name, config)?)),
        "ollama" => Ok(Arc::new(OllamaProvider::new(name, config)?)),
        "http" => Ok(Arc::new(HttpProvider::new(name, config)?)),
        "exec" => Ok(Arc::new(ExecProvider::new(name, config)?)),
        other => Err(ProviderConfigError::new(
            name,
            format!(
                "unknown provider kind `{other}`. Choose from: {}",
                KINDS.join(", ")
            ),
            Some("set `kind:` to one of the kinds above".into()),
        )),
    }
}

/// The settings an inline model id stands for: `echo`, `llamacpp` (the default local
/// model), `openai:MODEL`, `anthropic:MODEL` or `ollama:MODEL`.
pub fn inline(id: &str) -> Option<ProviderConfig> {
    if id == "echo" || id == "llamacpp" {
        return Some(ProviderConfig {
            kind: id.into(),
            ..ProviderConfig::default()
        });
    }
    let (kind, model) = id.split_once(':')?;
    if !matches!(kind, "openai" | "anthropic" | "ollama") || model.trim().is_empty() {
        return None;
    }
    Some(ProviderConfig {
        kind: kind.into(),
        model: Some(model.to_string()),
        ..ProviderConfig::default()
    })
}

/// The settings every kind shares, checked and with defaults applied.
#[derive(Clone, Debug)]
pub(crate) struct Common {
    pub(crate) timeout: Duration,
    pub(crate) concurrency: usize,
    pub(crate) policy: RetryPolicy,
    pub(crate) price: Option<Price>,
    pub(crate) rates: RateLimits,
}

impl Common {
    /// Checks the shared settings of provider `name`.
    pub(crate) fn resolve(
        name: &str,
        config: &ProviderConfig,
        default_concurrency: usize,
    ) -> Result<Self, ProviderConfigError> {
        let timeout = match &config.timeout {
            None => DEFAULT_TIMEOUT,
            Some(text) => parse_timeout(name, text)?,
        };
        let concurrency = config.concurrency.unwrap_or(default_concurrency);
        if concurrency == 0 {
            return Err(ProviderConfigError::new(
                name,
                "`concurrency` must be at least 1",
                Some(format!(
                    "remove `concurrency` to use the default of {default_concurrency}"
                )),
            ));
        }
        if let Some(price) = config.price {
            for (key, value) in [("input", price.input), ("output", price.output)] {
                if !value.is_finite() || value < 0.0 {
                    return Err(ProviderConfigError::new(
                        name,
                        format!("`price.{key}` must be a number of dollars per million tokens, not {value}"),
                        Some("write e.g. `price: {input: 0.15, output: 0.6}`".into()),
                    ));
                }
            }
        }
        for (key, value) in [("rpm", config.rpm), ("tpm", config.tpm)] {
            if value == Some(0) {
                return Err(ProviderConfigError::new(
                    name,
                    format!("`{key}` must be at least 1"),
                    Some(format!("remove `{key}` for no limit")),
                ));
            }
        }
        let base = retry::base_from_env().map_err(|message| {
            ProviderConfigError::new(
                name,
                message,
                Some(format!("unset {RETRY_BASE_ENV} or set it to e.g. 10")),
            )
        })?;
        Ok(Common {
            timeout,
            concurrency,
            policy: RetryPolicy {
                max_retries: config.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
                base: base.unwrap_or(RETRY_BASE_DEFAULT),
                cap: RETRY_CAP,
            },
            price: config.price.or_else(|| {
                config
                    .model
                    .as_deref()
                    .and_then(|model| prices::lookup(&config.kind, model))
            }),
            rates: RateLimits {
                rpm: config.rpm,
                tpm: config.tpm,
            },
        })
    }

    /// A limiter with this provider's concurrency and rates.
    pub(crate) fn limiter(&self) -> Limiter {
        Limiter::with_rates(self.concurrency, self.rates)
    }
}

/// The trimmed `model` setting, or an error saying kind `kind` needs one (`example` is a
/// model id to suggest).
pub(crate) fn required_model(
    name: &str,
    config: &ProviderConfig,
    example: &str,
) -> Result<String, ProviderConfigError> {
    match config.model.as_deref().map(str::trim) {
        Some(model) if !model.is_empty() => Ok(model.to_string()),
        _ => Err(ProviderConfigError::new(
            name,
            format!("`model` is required for kind `{}`", config.kind),
            Some(format!(
                "set `model:` to the model id, e.g. `model: {example}`"
            )),
        )),
    }
}

/// An error for setting `key` being required by kind `kind`.
pub(crate) fn missing(name: &str, kind: &str, key: &str, example: &str) -> ProviderConfigError {
    ProviderConfigError::new(
        name,
        format!("`{key}` is required for kind `{kind}`"),
        Some(format!("add e.g. `{key}: {example}`")),
    )
}

fn parse_timeout(name: &str, text: &str) -> Result<Duration, ProviderConfigError> {
    let hint = Some("write a duration such as `30s`, `500ms` or `2m`".to_string());
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err(ProviderConfigError::new(
            name,
            "`timeout` must be longer than zero",
            hint,
        )),
        Ok(d) => Ok(d),
        Err(err) => Err(ProviderConfigError::new(
            name,
            format!("invalid `timeout` `{text}`: {err}"),
            hint,
        )),
    }
}

/// Cost in dollars from per-million prices; unknown when a price or a count is missing.
pub(crate) fn price_cost(
    price: Option<Price>,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
) -> Option<f64> {
    let price = price?;
    Some(tokens_in? as f64 * price.input / 1e6 + tokens_out? as f64 * price.output / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kind: &str) -> ProviderConfig {
        ProviderConfig {
            kind: kind.into(),
            ..ProviderConfig::default()
        }
    }

    fn build_err(config: &ProviderConfig) -> ProviderConfigError {
        match build("p", config) {
            Ok(_) => panic!("expected an error"),
            Err(err) => err,
        }
    }

    #[test]
    fn unknown_kind_lists_choices() {
        let err = build_err(&config("vertex"));
        assert_eq!(
            err.to_string(),
            "provider `p`: unknown provider kind `vertex`. Choose from: echo, openai, llamacpp, anthropic, ollama, http, exec"
        );
        assert!(err.hint().is_some());
    }

    #[test]
    fn bad_timeout_is_rejected() {
        let mut c = config("echo");
        c.timeout = Some("soon".into());
        let err = build_err(&c);
        assert!(err.message.starts_with("invalid `timeout` `soon`"), "{err}");
        c.timeout = Some("0s".into());
        assert!(build_err(&c).message.contains("longer than zero"));
        c.timeout = Some("250ms".into());
        assert!(build("p", &c).is_ok());
    }

    #[test]
    fn zero_concurrency_is_rejected() {
        let mut c = config("echo");
        c.concurrency = Some(0);
        assert!(build_err(&c).message.contains("at least 1"));
    }

    #[test]
    fn defaults_for_concurrency() {
        assert_eq!(build("e", &config("echo")).unwrap().concurrency(), 64);
        let mut c = config("openai");
        c.model = Some("m".into());
        c.base_url = Some("http://127.0.0.1:9/v1".into());
        assert_eq!(build("o", &c).unwrap().concurrency(), 4);
        c.concurrency = Some(9);
        assert_eq!(build("o", &c).unwrap().concurrency(), 9);
    }

    #[test]
    fn negative_price_is_rejected() {
        let mut c = config("echo");
        c.price = Some(Price {
            input: -1.0,
            output: 0.0,
        });
        assert!(build_err(&c).message.contains("price.input"));
    }

    #[test]
    fn inline_ids() {
        assert_eq!(inline("echo"), Some(config("echo")));
        assert_eq!(inline("llamacpp"), Some(config("llamacpp")));
        let c = inline("openai:gpt-4o-mini").unwrap();
        assert_eq!(c.kind, "openai");
        assert_eq!(c.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(c.base_url, None);
        assert_eq!(inline("openai:"), None);
        assert_eq!(inline("gpt-4o"), None);
        let c = inline("anthropic:claude-3-5-haiku-latest").unwrap();
        assert_eq!(c.kind, "anthropic");
        assert_eq!(inline("ollama:llama3.2").unwrap().kind, "ollama");
        assert_eq!(inline("vertex:gemini"), None);
        assert_eq!(inline("ollama:"), None);
        assert_eq!(inline("Echo"), None);
    }

    #[test]
    fn cost_needs_price_and_both_counts() {
        let price = Some(Price {
            input: 0.15,
            output: 0.6,
        });
        let cost = price_cost(price, Some(1_000_000), Some(500_000)).unwrap();
        assert!((cost - 0.45).abs() < 1e-12, "{cost}");
        assert_eq!(price_cost(price, None, Some(1)), None);
        assert_eq!(price_cost(price, Some(1), None), None);
        assert_eq!(price_cost(None, Some(1), Some(1)), None);
    }

    #[test]
    fn provider_error_hints_follow_status() {
        let err = |status| ProviderError {
            message: String::new(),
            status,
            attempts: 1,
        };
        assert!(err(Some(401)).hint().unwrap().contains("API key"));
        assert!(err(Some(429)).hint().unwrap().contains("concurrency"));
        assert_eq!(err(Some(500)).hint(), None);
        assert_eq!(err(None).hint(), None);
    }
}
