//! The table of provider kinds: one line per kind with its settings type, name and traits;
//! building a provider from its settings, and inline model ids.

use std::sync::Arc;

use super::anthropic::AnthropicSettings;
use super::echo::EchoSettings;
use super::exec::ExecSettings;
use super::http::HttpSettings;
use super::kind::{provider_kinds, DynKind, Inline, KindInfo};
use super::llamacpp::LlamaCppSettings;
use super::mock::MockSettings;
use super::ollama::OllamaSettings;
use super::openai::OpenAiSettings;
use super::settings::de::fields_of;
use super::{Provider, ProviderConfig, ProviderConfigError};

// To add a kind, write its file (a settings type implementing `ProviderKind`, and the
// provider it builds) and add its line here; `docs/providers.md` says more.
provider_kinds! {
    Echo(EchoSettings) { name: "echo", priced: false, pure: true, row_vars: false, inline: Inline::Bare },
    OpenAi(OpenAiSettings) { name: "openai", priced: true, pure: false, row_vars: false, inline: Inline::Model },
    LlamaCpp(LlamaCppSettings) { name: "llamacpp", priced: false, pure: false, row_vars: false, inline: Inline::Bare },
    Anthropic(AnthropicSettings) { name: "anthropic", priced: true, pure: false, row_vars: false, inline: Inline::Model },
    Ollama(OllamaSettings) { name: "ollama", priced: false, pure: false, row_vars: false, inline: Inline::Model },
    Http(HttpSettings) { name: "http", priced: true, pure: false, row_vars: true, inline: Inline::No },
    Exec(ExecSettings) { name: "exec", priced: false, pure: false, row_vars: true, inline: Inline::No },
    Mock(MockSettings) { name: "mock", priced: false, pure: true, row_vars: true, inline: Inline::Bare },
}

impl Default for KindSettings {
    /// No kind at all (`kind` is empty), which building reports as an unknown kind.
    fn default() -> Self {
        KindSettings::Unknown(String::new())
    }
}

/// The entry of kind `name`, when this build knows it.
pub fn find(name: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.name == name)
}

/// The kind names, comma-separated, for "Choose from" lists.
pub fn kind_names() -> String {
    KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// The inline model ids, comma-separated for hints: the bare names, then the `NAME:MODEL`
/// forms (`echo, llamacpp, openai:MODEL, …`).
pub fn inline_forms() -> String {
    let bare = KINDS.iter().filter(|k| k.inline == Inline::Bare);
    let model = KINDS.iter().filter(|k| k.inline == Inline::Model);
    bare.chain(model)
        .filter_map(KindInfo::inline_form)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kinds that take setting `key` as one of their own.
pub(crate) fn kinds_taking(key: &str) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| settings_fields(k.name).is_some_and(|fields| fields.contains(&key)))
        .map(|k| k.name)
        .collect()
}

/// Builds a provider from its settings; checks everything it can without a request
/// (known kind, API key variable set, valid URL and timeout).
///
/// Environment variables are read here, once: the API key named by `api_key_env`, and
/// [`super::RETRY_BASE_ENV`] (a whole number of milliseconds replacing the 500ms backoff
/// base, for tests that must not wait).
pub fn build(
    name: &str,
    config: &ProviderConfig,
) -> Result<Arc<dyn Provider>, ProviderConfigError> {
    match config.kind.as_dyn() {
        Some(kind) => kind.build(name, &config.common),
        None => Err(ProviderConfigError::new(
            name,
            format!(
                "unknown provider kind `{}`{}. Choose from: {}",
                config.kind_name(),
                likely_kind(config.kind_name()),
                kind_names()
            ),
            Some("set `kind:` to one of the kinds above".into()),
        )),
    }
}

/// " (did you mean `openai`?)" for a misspelt kind, else nothing.
fn likely_kind(name: &str) -> String {
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    crate::diagnostic::suggest(name, &names)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// The settings an inline model id stands for (see [`inline_forms`]): a bare kind name
/// (`echo`, `llamacpp`: the default local model) or `NAME:MODEL` (`openai:gpt-4o-mini`).
pub fn inline(id: &str) -> Option<ProviderConfig> {
    let settings = match id.split_once(':') {
        None => {
            find(id).filter(|k| k.inline == Inline::Bare)?;
            serde_json::json!({"kind": id})
        }
        Some((name, model)) => {
            find(name).filter(|k| k.inline == Inline::Model)?;
            if model.trim().is_empty() {
                return None;
            }
            serde_json::json!({"kind": name, "model": model})
        }
    };
    // An inline id is short for the settings it names, read like any other.
    serde_json::from_value(settings).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;

    fn config(yaml: &str) -> ProviderConfig {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn build_err(config: &ProviderConfig) -> ProviderConfigError {
        match build("p", config) {
            Ok(_) => panic!("expected an error"),
            Err(err) => err,
        }
    }

    #[test]
    fn unknown_kind_lists_choices() {
        let err = build_err(&config("{kind: vertex, model: gemini}"));
        assert_eq!(
            err.to_string(),
            "provider `p`: unknown provider kind `vertex`. Choose from: echo, openai, llamacpp, anthropic, ollama, http, exec, mock"
        );
        assert!(err.hint().is_some());
        let err = build_err(&ProviderConfig::default());
        assert!(
            err.message.starts_with("unknown provider kind ``."),
            "{err}"
        );
    }

    #[test]
    fn hint_lists_are_what_users_saw() {
        assert_eq!(
            kind_names(),
            "echo, openai, llamacpp, anthropic, ollama, http, exec, mock"
        );
        assert_eq!(
            inline_forms(),
            "echo, llamacpp, mock, openai:MODEL, anthropic:MODEL, ollama:MODEL"
        );
    }

    #[test]
    fn traits_are_the_kinds_of_before() {
        let with = |pick: fn(&KindInfo) -> bool| {
            KINDS
                .iter()
                .filter(|k| pick(k))
                .map(|k| k.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(with(|k| k.priced), ["openai", "anthropic", "http"]);
        assert_eq!(with(|k| k.pure), ["echo", "mock"]);
        assert_eq!(with(|k| k.row_vars), ["http", "exec", "mock"]);
    }

    #[test]
    fn every_kind_names_itself() {
        for info in KINDS {
            let parsed = config(&format!("kind: {}", info.name));
            assert_eq!(parsed.kind.info(), Some(info));
            assert_eq!(parsed.kind_name(), info.name);
            assert!(settings_fields(info.name).is_some());
        }
    }

    #[test]
    fn bad_timeout_is_rejected() {
        let err = build_err(&config("{kind: echo, timeout: soon}"));
        assert!(err.message.starts_with("invalid `timeout` `soon`"), "{err}");
        let err = build_err(&config("{kind: echo, timeout: 0s}"));
        assert!(err.message.contains("longer than zero"));
        assert!(build("p", &config("{kind: echo, timeout: 250ms}")).is_ok());
    }

    #[test]
    fn zero_concurrency_is_rejected() {
        let err = build_err(&config("{kind: echo, concurrency: 0}"));
        assert!(err.message.contains("at least 1"));
    }

    #[test]
    fn defaults_for_concurrency() {
        assert_eq!(build("e", &config("kind: echo")).unwrap().concurrency(), 64);
        let openai = "{kind: openai, model: m, base_url: 'http://127.0.0.1:9/v1'";
        let c = config(&format!("{openai}}}"));
        assert_eq!(build("o", &c).unwrap().concurrency(), 4);
        let c = config(&format!("{openai}, concurrency: 9}}"));
        assert_eq!(build("o", &c).unwrap().concurrency(), 9);
    }

    #[test]
    fn negative_price_is_rejected() {
        let err = build_err(&config("{kind: echo, price: {input: -1, output: 0}}"));
        assert!(err.message.contains("price.input"));
    }

    #[test]
    fn inline_ids() {
        assert_eq!(inline("echo"), Some(config("kind: echo")));
        assert_eq!(inline("mock"), Some(config("kind: mock")));
        assert_eq!(inline("llamacpp"), Some(config("kind: llamacpp")));
        assert_eq!(
            inline("openai:gpt-4o-mini"),
            Some(config("{kind: openai, model: gpt-4o-mini}"))
        );
        assert_eq!(inline("openai:"), None);
        assert_eq!(inline("gpt-4o"), None);
        assert_eq!(
            inline("anthropic:claude-3-5-haiku-latest"),
            Some(config("{kind: anthropic, model: claude-3-5-haiku-latest}"))
        );
        assert_eq!(
            inline("ollama:llama3.2"),
            Some(config("{kind: ollama, model: llama3.2}"))
        );
        assert_eq!(inline("vertex:gemini"), None);
        assert_eq!(inline("ollama:"), None);
        assert_eq!(inline("Echo"), None);
        assert_eq!(inline("http"), None);
        assert_eq!(inline("echo:x"), None);
    }
}
