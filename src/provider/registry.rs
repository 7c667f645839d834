//! The provider kinds this build knows, how settings become a provider, and inline model
//! ids.

use std::sync::Arc;

use super::{
    AnthropicProvider, EchoProvider, ExecProvider, HttpProvider, LlamaCppProvider, OllamaProvider,
    OpenAiProvider, Provider, ProviderConfig, ProviderConfigError,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Price;

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
}
