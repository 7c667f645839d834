//! Providers: the models prompts are sent to, one file per kind (see
//! `docs/providers.md`).

mod anthropic;
pub mod cache;
mod common;
mod config;
mod echo;
mod error;
mod exec;
mod http;
pub mod llamacpp;
mod ollama;
mod openai;
pub mod prices;
mod registry;
mod remote;
mod request;

pub use anthropic::{
    AnthropicProvider, ANTHROPIC_VERSION, DEFAULT_ANTHROPIC_BASE_URL, DEFAULT_ANTHROPIC_KEY_ENV,
    DEFAULT_ANTHROPIC_MAX_TOKENS,
};
pub use cache::{
    build_offline, wrap_providers, CacheCounters, CachedProvider, UnavailableProvider,
};
pub(crate) use common::{missing, price_cost, required_model, Common};
pub use common::{DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT};
pub use config::{Price, ProviderConfig};
pub use echo::EchoProvider;
pub use error::{ProviderConfigError, ProviderError};
pub use exec::ExecProvider;
pub use http::{HttpProvider, ResponsePath};
pub use llamacpp::LlamaCppProvider;
pub use ollama::{OllamaProvider, DEFAULT_OLLAMA_BASE_URL};
pub use openai::{Endpoint, OpenAiProvider, DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_KEY_ENV};
pub use registry::{build, inline, KINDS};
pub use remote::limiter::{Limiter, RateLimits, WindowState};
pub use remote::retry::{
    parse_retry_after, run_with_retries, run_with_retries_estimated, AttemptFailure, Completion,
    FailureClass, RetryPolicy, MAX_RETRY_AFTER, RETRY_BASE_DEFAULT, RETRY_BASE_ENV, RETRY_CAP,
};
pub use remote::{limiter, transport, Remote};
pub use request::{BoxFuture, Provider, ProviderRequest, ProviderResponse, RetryNotice};
