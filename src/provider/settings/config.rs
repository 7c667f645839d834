//! A provider's settings, as written under `providers:` in `prompteval.yaml`: the settings
//! every kind shares and those of its kind.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::provider::registry::KindSettings;
use crate::registry::Params;

/// Prices in US dollars per million tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Per million prompt tokens.
    pub input: f64,
    /// Per million completion tokens.
    pub output: f64,
    /// Per million prompt tokens read from the vendor's prompt cache (Anthropic's
    /// `cache_read_input_tokens`); unknown when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// Per million prompt tokens written to the vendor's prompt cache (Anthropic's
    /// `cache_creation_input_tokens`); unknown when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
}

/// A provider's settings: `kind` and its own settings, and the settings every kind shares.
///
/// Written (in `run.json`, in the cache key) as one mapping: `kind`, then every setting
/// that is set, in the order `run.json` has always had them. Read with located errors: a
/// key that is not a setting of the kind is an error naming the kind's keys.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderConfig {
    /// The kind and its own settings.
    pub kind: KindSettings,
    /// The settings every kind shares.
    pub common: CommonSettings,
}

/// The settings every kind takes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommonSettings {
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
    /// A hard limit on requests (attempts, retries included) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// A hard limit on tokens (prompt + completion) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
}

impl CommonSettings {
    /// Shared settings that cannot change an answer, left out of the cache key: limits,
    /// timeouts and prices.
    pub const NOT_IN_KEY: &'static [&'static str] = &[
        "concurrency",
        "timeout",
        "max_retries",
        "price",
        "rpm",
        "tpm",
    ];
}

impl ProviderConfig {
    /// The settings of a provider of `kind` with no shared settings set.
    pub fn new(kind: impl Into<KindSettings>) -> Self {
        ProviderConfig {
            kind: kind.into(),
            common: CommonSettings::default(),
        }
    }

    /// The kind's name as written (`openai`), known to this build or not.
    pub fn kind_name(&self) -> &str {
        self.kind.name()
    }

    /// Makes the kind's file settings absolute with `resolve` (the project does this on
    /// load, since building a provider does not know the root): files always, programs
    /// only when given as a path rather than a bare name looked up on `PATH`.
    pub fn resolve_paths(&mut self, resolve: &dyn Fn(&Path) -> PathBuf) {
        if let Some(kind) = self.kind.as_dyn_mut() {
            kind.resolve_paths(resolve);
        }
    }
}

/// Whether a program setting is a path (resolved against the project) rather than a bare
/// name looked up on `PATH`.
pub fn is_program_path(program: &Path) -> bool {
    program.components().count() > 1 || program.starts_with("~")
}
