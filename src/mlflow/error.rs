//! What can go wrong talking to MLflow; every error names the request.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, ExitClass};
use crate::registry::RegistryError;
use crate::store::StoreError;

/// A failed MLflow operation.
#[derive(Debug, thiserror::Error)]
pub enum MlflowError {
    /// No tracking URI anywhere.
    #[error("no MLflow tracking server configured")]
    NoUri,
    /// A tracking URI that is not `http(s)://…`.
    #[error(
        "unsupported MLflow tracking URI `{uri}`: only http:// and https:// servers are spoken to"
    )]
    BadUri {
        /// As given.
        uri: String,
    },
    /// The server could not be reached (refused, timed out, DNS).
    #[error("could not reach the MLflow server at {uri} ({method} {endpoint})")]
    Unreachable {
        /// The tracking URI.
        uri: String,
        /// `GET`, `POST`, `PUT`.
        method: &'static str,
        /// The REST path.
        endpoint: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("MLflow rejected {method} {endpoint}: HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Rejected {
        /// The tracking URI.
        uri: String,
        /// `GET`, `POST`, `PUT`.
        method: &'static str,
        /// The REST path.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// MLflow's `error_code` (`RESOURCE_DOES_NOT_EXIST`, …).
        code: Option<String>,
        /// MLflow's `message`, or the start of the body.
        message: String,
    },
    /// A version whose template MLflow's `format` could not render as prompteval does.
    #[error("{reference} cannot be pushed: {problem}")]
    NotRenderable {
        /// `name@N`.
        reference: String,
        /// Why.
        problem: String,
    },
    /// A response that is not what the API documents.
    #[error("unexpected response from MLflow to {method} {endpoint}: {problem}")]
    BadResponse {
        /// `GET`, `POST`, `PUT`.
        method: &'static str,
        /// The REST path.
        endpoint: String,
        /// What was wrong.
        problem: String,
    },
    /// A prompt that MLflow cannot hold, found before anything was sent.
    #[error("{reference}: {what} is {len} characters; MLflow holds at most {limit}")]
    TooLong {
        /// `name@N`.
        reference: String,
        /// `template text`, `note`.
        what: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An alias MLflow reserves or cannot hold.
    #[error("alias `{alias}` of prompt `{prompt}` cannot be used in MLflow: {reason}")]
    BadAlias {
        /// The prompt.
        prompt: String,
        /// The alias.
        alias: String,
        /// Why.
        reason: &'static str,
    },
    /// A registered model with the prompt's name that is not a prompt.
    #[error("`{name}` exists in the MLflow model registry but is not a prompt (no `mlflow.prompt.is_prompt` tag)")]
    NotAPrompt {
        /// The name.
        name: String,
    },
    /// Pull of a prompt that is not in MLflow.
    #[error("no prompt `{name}` in MLflow at {uri}")]
    NoSuchPrompt {
        /// The name.
        name: String,
        /// The tracking URI.
        uri: String,
    },
    /// A prompt version in MLflow that prompteval cannot turn into a file.
    #[error("{name} version {version} in MLflow: {problem}")]
    BadPromptVersion {
        /// The prompt.
        name: String,
        /// The MLflow version.
        version: String,
        /// What is wrong.
        problem: String,
    },
    /// The local registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The local run store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A local file for an artifact.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl MlflowError {
    /// Whether the server said the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, MlflowError::Rejected { code: Some(c), .. } if c == "RESOURCE_DOES_NOT_EXIST")
            || matches!(
                self,
                MlflowError::Rejected {
                    status: 404,
                    code: Some(_),
                    ..
                }
            )
    }

    /// Whether the server said the resource exists already.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, MlflowError::Rejected { code: Some(c), .. } if c == "RESOURCE_ALREADY_EXISTS")
    }
}

impl Diagnostic for MlflowError {
    /// 2 when nothing was sent (a limit, an alias, a local file), 3 when the server could
    /// not be reached or refused.
    fn exit_class(&self) -> ExitClass {
        match self {
            MlflowError::NoUri
            | MlflowError::BadUri { .. }
            | MlflowError::TooLong { .. }
            | MlflowError::NotRenderable { .. }
            | MlflowError::BadAlias { .. }
            | MlflowError::NotAPrompt { .. }
            | MlflowError::NoSuchPrompt { .. }
            | MlflowError::Registry(_) => ExitClass::Input,
            _ => ExitClass::Runtime,
        }
    }

    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            MlflowError::NoUri => Some(
                "pass `--mlflow URI`, set MLFLOW_TRACKING_URI, or set `tracking.mlflow` in prompteval.yaml".into(),
            ),
            MlflowError::BadUri { .. } => Some("use the server's address, e.g. `http://127.0.0.1:5000`".into()),
            MlflowError::Unreachable { uri, .. } => Some(format!(
                "is the server running and is {uri} its address? (`mlflow server --host 127.0.0.1 --port 5000` starts one)"
            )),
            MlflowError::Rejected { status: 401 | 403, .. } => Some(
                "set MLFLOW_TRACKING_TOKEN (bearer token) or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD".into(),
            ),
            MlflowError::Rejected { status: 404, code: None, uri, .. } => Some(format!(
                "{uri} does not look like an MLflow server, or it is too old for this API (MLflow 2.x or 3.x is needed)"
            )),
            MlflowError::Rejected { endpoint, .. } if endpoint.contains("mlflow-artifacts") => Some(
                "start the server with artifact serving (`mlflow server --artifacts-destination DIR`, the default in MLflow 2+ unless --no-serve-artifacts)".into(),
            ),
            MlflowError::Rejected { .. } | MlflowError::BadResponse { .. } => None,
            MlflowError::TooLong { what: "note", .. } => Some("shorten the version's note".into()),
            MlflowError::TooLong { .. } => Some(
                "split the template into partials, or keep this prompt out of the push: `prompteval prompt push NAME…` pushes only the named prompts".into(),
            ),
            MlflowError::BadAlias { .. } => Some(
                "rename the alias in prompt.yaml (MLflow reserves `latest` and `v<N>`, and allows letters, digits, `_` and `-`)".into(),
            ),
            MlflowError::NotAPrompt { .. } => Some(
                "rename the prompt, or remove the model of that name from the MLflow registry".into(),
            ),
            MlflowError::NoSuchPrompt { .. } => Some(
                "`prompteval prompt push NAME` registers it; check the name and the server".into(),
            ),
            MlflowError::NotRenderable { .. } => Some(
                "write the text into the version itself (a new version: `prompteval prompt new NAME`), or leave this prompt out: `prompteval prompt push NAME…` pushes only the named prompts".into(),
            ),
            MlflowError::BadPromptVersion { .. } => None,
            MlflowError::Registry(e) => e.hint(),
            MlflowError::Store(e) => e.hint(),
            MlflowError::Read { .. } => None,
        }
    }
}
