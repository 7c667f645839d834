//! Providers: the models prompts are sent to. One file per kind; retries, timeouts and
//! concurrency limits live at this edge. Providers never read templates or datasets.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::message::RenderedPrompt;
use crate::registry::Params;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The provider kinds this build knows.
pub const KINDS: &[&str] = &["echo", "openai"];

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
    /// `echo` or `openai`.
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
    /// Price per million tokens; without it cost is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
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
}

/// One request to a provider.
#[derive(Clone, Debug)]
pub struct ProviderRequest {
    /// The rendered prompt.
    pub prompt: RenderedPrompt,
    /// Request parameters (provider defaults overlaid by the version's params).
    pub params: Params,
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
    /// Attempts made (1 when the first succeeded).
    pub attempts: u32,
}

/// A model endpoint.
pub trait Provider: Send + Sync {
    /// Sends one request, retrying as configured.
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>>;

    /// How many requests may be in flight at once.
    fn concurrency(&self) -> usize;

    /// Cost of a response in US dollars, when the price is known.
    fn cost(&self, tokens_in: Option<u64>, tokens_out: Option<u64>) -> Option<f64>;
}

/// Builds a provider from its settings; checks everything it can without a request
/// (known kind, API key variable set, valid URL and timeout).
pub fn build(
    name: &str,
    config: &ProviderConfig,
) -> Result<Arc<dyn Provider>, ProviderConfigError> {
    let _ = (name, config);
    todo!()
}

/// The settings an inline model id stands for: `echo`, or `openai:MODEL`.
pub fn inline(id: &str) -> Option<ProviderConfig> {
    let _ = id;
    todo!()
}
