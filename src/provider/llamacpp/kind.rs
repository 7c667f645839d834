//! `kind: llamacpp`: the settings of a local model, and the provider they build.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::provider::LlamaCppProvider;
use crate::provider::{
    is_program_path, CommonSettings, Provider, ProviderConfigError, ProviderKind,
};

/// `kind: llamacpp`: a GGUF model served by a `llama-server` prompteval starts, or an
/// already running server given by `base_url`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LlamaCppSettings {
    /// The model id sent to the server (default: the model file's stem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A running server's API base URL, up to and including `/v1`; nothing is managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The name of the environment variable holding a running server's API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The GGUF model file. Relative paths and `~/` are resolved against the project root
    /// when the project is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<PathBuf>,
    /// The `llama-server` binary (a path, or a name looked up on `PATH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<PathBuf>,
    /// `completion` (plain prompt, the default) or `chat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// A Jinja chat template file for `mode: chat` (`--chat-template-file`), used instead
    /// of the model's own, e.g. one that supports tools. Relative paths and `~/` are
    /// resolved against the project root when the project is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template_file: Option<PathBuf>,
    /// The server's context size in tokens, shared by its slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctx_size: Option<u32>,
    /// The server's parallel slots (also the provider's default concurrency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<usize>,
    /// CPU threads the server uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// How long the server may take to load the model, e.g. `120s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_timeout: Option<String>,
    /// Start the server with `--embeddings` so that it serves `/v1/embeddings` (for the
    /// `similar` assertion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<bool>,
    /// How the server pools token embeddings into one (`--pooling`): `mean` (the default
    /// with `embeddings: true`), `cls` or `last`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooling: Option<String>,
}

impl ProviderKind for LlamaCppSettings {
    /// The key and the server process's settings cannot change an answer.
    const NOT_IN_KEY: &'static [&'static str] = &[
        "api_key_env",
        "binary",
        "parallel",
        "threads",
        "startup_timeout",
        "ctx_size",
    ];

    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(LlamaCppProvider::new(name, self, common)?))
    }

    fn resolve_paths(&mut self, resolve: &dyn Fn(&Path) -> PathBuf) {
        if let Some(model) = &self.model_path {
            self.model_path = Some(resolve(model));
        }
        if let Some(template) = &self.chat_template_file {
            self.chat_template_file = Some(resolve(template));
        }
        if let Some(binary) = &self.binary {
            if is_program_path(binary) {
                self.binary = Some(resolve(binary));
            }
        }
    }
}
