//! One request to a model and its answer, and the [`Provider`] trait that serves them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::remote::limiter;
use super::ProviderError;
use crate::registry::Params;
use crate::template::message::RenderedPrompt;
use crate::tools::{ToolCall, ToolSet};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
    /// The tools offered to the model, when the version (or the row) declares any.
    pub tools: Option<Arc<ToolSet>>,
}

/// Prompt tokens the vendor's prompt cache served or stored (Anthropic's
/// `cache_read_input_tokens`, `cache_creation_input_tokens`): part of `tokens_in`, priced
/// apart by [`Price::cache_read`](super::Price::cache_read) and `cache_write`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheTokens {
    /// Prompt tokens read from the cache.
    #[serde(default)]
    pub read: u64,
    /// Prompt tokens written to the cache.
    #[serde(default)]
    pub write: u64,
}

impl CacheTokens {
    /// Whether no prompt token went through the cache.
    pub fn is_zero(&self) -> bool {
        self.read == 0 && self.write == 0
    }
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
    /// Time of the attempt that succeeded, in milliseconds: from sending the request (once
    /// the provider's limiter admitted it) to the end of the answer. Waits for a slot and
    /// failed attempts are not in it.
    pub latency_ms: f64,
    /// Time spent waiting for the provider's limiter (a concurrency slot, the rate limits)
    /// before the first attempt, in milliseconds; `None` when there is no limiter (the
    /// cache answered, a local kind).
    pub queue_ms: Option<f64>,
    /// The part of `tokens_in` that went through the vendor's prompt cache.
    pub cache: CacheTokens,
    /// Attempts made (1 when the first succeeded; 0 when served from the response cache).
    pub attempts: u32,
    /// Whether the response cache served it ([`super::CachedProvider`] sets it; no request was
    /// made).
    pub cached: bool,
    /// The tool calls in the answer, in order (empty for a text answer).
    pub tool_calls: Vec<ToolCall>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, …), as the API said it.
    pub finish_reason: Option<String>,
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

    /// Cost of a response whose `tokens_in` include `cache` prompt-cache tokens. The
    /// default knows no cache price: unknown when any token went through the cache.
    fn cost_cached(
        &self,
        tokens_in: Option<u64>,
        tokens_out: Option<u64>,
        cache: CacheTokens,
    ) -> Option<f64> {
        if cache.is_zero() {
            self.cost(tokens_in, tokens_out)
        } else {
            None
        }
    }

    /// Gets ready for requests: a local provider starts (or joins) its server here. A run
    /// calls it once per provider before the first request; [`super::build`] and validation never
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
        Box::pin(std::future::ready(Err(no_embeddings())))
    }
}

/// The error of a provider asked for embeddings it cannot make.
pub(crate) fn no_embeddings() -> ProviderError {
    ProviderError {
        message: "this provider does not serve embeddings (use a provider of kind `openai`, or `llamacpp` with `embeddings: true`)".into(),
        status: None,
        attempts: 0,
    }
}
