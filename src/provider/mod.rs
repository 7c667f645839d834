//! Providers: the models prompts are sent to, one file per kind (see
//! `docs/providers.md`).

mod anthropic;
pub mod cache;
mod common;
mod echo;
mod error;
mod exec;
mod http;
mod kind;
pub mod llamacpp;
mod mock;
mod ollama;
mod openai;
pub mod prices;
mod registry;
mod remote;
mod request;
mod settings;
mod tool_json;

pub use anthropic::{
    Anthropic, AnthropicProvider, AnthropicSettings, ANTHROPIC_VERSION, DEFAULT_ANTHROPIC_BASE_URL,
    DEFAULT_ANTHROPIC_KEY_ENV, DEFAULT_ANTHROPIC_MAX_TOKENS,
};
pub use cache::{
    build_offline, wrap_providers, CacheCounters, CachedProvider, UnavailableProvider,
};
pub(crate) use common::{missing, price_cost, price_cost_cached, required_model, Common, Subject};
pub use common::{DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT};
pub use echo::{EchoProvider, EchoSettings};
pub use error::{ProviderConfigError, ProviderError};
pub use exec::{Command, ExecProvider, ExecSettings};
pub use http::{HttpEndpoint, HttpProvider, HttpSettings, ResponsePath};
pub use kind::{Inline, KindInfo, ProviderKind};
pub use llamacpp::{LlamaCppProvider, LlamaCppSettings};
pub use mock::{MockProvider, MockSettings, MOCK_RESPONSE_VAR};
pub use ollama::{Ollama, OllamaProvider, OllamaSettings, DEFAULT_OLLAMA_BASE_URL};
pub use openai::{
    Endpoint, OpenAi, OpenAiProvider, OpenAiSettings, DEFAULT_OPENAI_BASE_URL,
    DEFAULT_OPENAI_KEY_ENV,
};
pub use registry::{build, find, inline, inline_forms, kind_names, KindSettings, KINDS};
pub use remote::limiter::{Limiter, RateLimits, WindowState};
pub use remote::retry::{
    parse_retry_after, run_with_retries, run_with_retries_estimated, AttemptFailure, Completion,
    FailureClass, RetryPolicy, MAX_RETRY_AFTER, RETRY_BASE_DEFAULT, RETRY_BASE_ENV, RETRY_CAP,
};
pub use remote::{limiter, transport, Remote};
pub use request::{
    BoxFuture, CacheTokens, Provider, ProviderRequest, ProviderResponse, RetryNotice,
};
pub use settings::{is_program_path, CommonSettings, Price, ProviderConfig};
