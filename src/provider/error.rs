//! The two provider errors: settings that cannot build a provider, and a request that
//! failed for good.

use crate::diagnostic::{Diagnostic, ExitClass, Location};

/// A provider that cannot be built from its settings (exit 2: nothing was sent).
#[derive(Debug, thiserror::Error)]
#[error("{}provider `{provider}`: {message}", .location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
pub struct ProviderConfigError {
    /// The provider's name.
    pub provider: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The setting at fault, when the error is about one: the plan looks up its line.
    pub key: Option<&'static str>,
    /// Where the setting is written, once the plan has found it (boxed: the error rides
    /// in every plan error, which must stay small).
    pub location: Option<Box<Location>>,
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

impl ProviderConfigError {
    /// Creates an error for provider `provider`.
    pub fn new(provider: &str, message: impl Into<String>, hint: Option<String>) -> Self {
        ProviderConfigError {
            provider: provider.to_string(),
            message: message.into(),
            hint,
            key: None,
            location: None,
        }
    }

    /// The error, marked as being about setting `key` (see [`ProviderConfigError::key`]).
    pub fn for_key(mut self, key: &'static str) -> Self {
        self.key = Some(key);
        self
    }
}

impl Diagnostic for ProviderConfigError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

impl Diagnostic for ProviderError {
    /// A request that failed after retries: the run could not finish.
    fn exit_class(&self) -> ExitClass {
        ExitClass::Runtime
    }

    /// What the user can do about it, judged from the last HTTP status.
    fn hint(&self) -> Option<String> {
        match self.status? {
            401 | 403 => Some("check the API key in the provider's `api_key_env` variable".into()),
            404 => Some("check the provider's `model` and `base_url`".into()),
            429 => Some("lower the provider's `concurrency` or raise `max_retries`".into()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_located_config_error_starts_with_its_place() {
        let e = ProviderConfigError::new("local", "bad", None).for_key("mode");
        assert_eq!(
            (e.key, e.to_string().as_str()),
            (Some("mode"), "provider `local`: bad")
        );
        let e = ProviderConfigError {
            location: Some(Box::new(Location::line("prompteval.yaml", 4))),
            ..e
        };
        assert_eq!(e.to_string(), "prompteval.yaml:4: provider `local`: bad");
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
