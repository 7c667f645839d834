//! A provider's settings, as written under `providers:` in `prompteval.yaml`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::registry::Params;

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
