//! Problems with eval files and the selection, found while planning.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Location};

/// A problem with an eval file or the selection, found while planning.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// An eval named on the command line does not exist.
    #[error("no eval named `{name}`")]
    EvalNotFound {
        /// As given.
        name: String,
        /// The evals that exist.
        available: Vec<String>,
    },
    /// A prompt reference that does not parse.
    #[error("{location}: {source}")]
    BadReference {
        /// Where it is written.
        location: Location,
        /// Why it does not parse.
        #[source]
        source: crate::registry::ParseRefError,
    },
    /// A prompt reference that does not resolve.
    #[error("{location}: cannot resolve prompt `{reference}`")]
    Unresolved {
        /// Where it is written.
        location: Location,
        /// As written.
        reference: String,
        /// Why.
        #[source]
        source: crate::registry::RegistryError,
    },
    /// A model that is neither configured nor an inline id.
    #[error("{location}: unknown model `{model}`")]
    UnknownModel {
        /// Where it is written.
        location: Location,
        /// As written.
        model: String,
        /// Configured provider names.
        configured: Vec<String>,
    },
    /// An eval without prompts or models.
    #[error("{location}: no {what} to run")]
    Empty {
        /// The eval file.
        location: Location,
        /// `prompts` or `models`.
        what: &'static str,
    },
    /// A template reads a variable the dataset does not have.
    #[error(
        "{reference} uses variable `{variable}`, but {} has no such {}",
        row.as_ref().map(|(id, line)| format!("{}:{line} (case {id})", dataset.display())).unwrap_or_else(|| dataset.display().to_string()),
        if row.is_some() { "key" } else { "column" }
    )]
    MissingVariable {
        /// `sentiment@2`, or `evals/x.yaml assert[1]`.
        reference: String,
        /// The variable.
        variable: String,
        /// The dataset file.
        dataset: PathBuf,
        /// The columns it has.
        columns: Vec<String>,
        /// The row lacking it (id, line), when only some rows lack it.
        row: Option<(String, usize)>,
    },
    /// A prompt that does not render with a row (an unknown filter, a missing attribute).
    #[error("{reference} does not render with {}:{line} (case {case})", dataset.display())]
    RenderFailed {
        /// `sentiment@2`.
        reference: String,
        /// The dataset file.
        dataset: PathBuf,
        /// The case id.
        case: String,
        /// The row's line.
        line: usize,
        /// Why.
        #[source]
        source: crate::template::TemplateError,
    },
    /// A bad value in an eval file.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A tool handler (`tool_handlers:`), `max_steps` or a row's `tool_results` that
    /// cannot be used.
    #[error("{location}: at `{key}`: {message}")]
    Handler {
        /// Where.
        location: Location,
        /// The key path (`tool_handlers.get_weather.timeout`).
        key: String,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// A conversation that cannot be played: a `simulated_user` without a provider or
    /// persona, a `turn:` no case plays, …
    #[error("{location}: {message}")]
    Conversation {
        /// Where it is written (the eval's key, or the dataset row).
        location: Location,
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// A dataset row's `tools` cannot be added to a version's tools.
    #[error("{location}: case {case}, with {reference}: {problem}")]
    RowTools {
        /// The row.
        location: Location,
        /// The case id.
        case: String,
        /// The prompt version whose tools the row's join.
        reference: String,
        /// What is wrong.
        problem: Box<crate::tools::ToolProblem>,
    },
    /// A scorer names a grader or embedder that is not a provider.
    #[error("{location}: unknown {key} `{name}`")]
    UnknownScorerModel {
        /// Where it is named.
        location: Location,
        /// `grader` or `embedder`.
        key: &'static str,
        /// As written.
        name: String,
        /// Configured provider names.
        configured: Vec<String>,
    },
    /// A scorer that calls a model, with no such model configured.
    #[error("{location}: `{kind}` assertion needs a {key}, and none is configured")]
    NoScorerModel {
        /// Where the assertion is written.
        location: Location,
        /// The assertion type.
        kind: String,
        /// `grader` or `embedder`.
        key: &'static str,
    },
    /// `--case` matched nothing, or every case was filtered out.
    #[error("{location}: no cases selected from {dataset}")]
    NoCases {
        /// The eval file.
        location: Location,
        /// The dataset.
        dataset: String,
    },
    /// The eval's dataset is not there, cannot be read or has no known format.
    #[error("{location}: cannot load dataset `{path}`")]
    Dataset {
        /// Where `dataset:` is written.
        location: Location,
        /// As written.
        path: String,
        /// Why.
        #[source]
        source: crate::dataset::DatasetError,
    },
    /// A provider that cannot be made from its settings.
    #[error("{location}: {error}")]
    Provider {
        /// Where its settings are (or where the eval names an inline id).
        location: Location,
        /// What is wrong with them.
        error: crate::provider::ProviderConfigError,
    },
    /// A `--prompt` that no eval uses.
    #[error("no selected eval uses prompt `{name}`")]
    PromptNotUsed {
        /// The prompt name.
        name: String,
    },
    /// Two eval files with one name (`x.yaml` and `x.yml`), which would both run as `x`.
    #[error("two eval files are named `{name}`: {} and {}", first.display(), second.display())]
    DuplicateEvalName {
        /// The name (the file stem).
        name: String,
        /// One file, relative to the project root.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// An eval file could not be listed or read.
    #[error("failed to list eval files in {}", dir.display())]
    ListEvals {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The model a misspelt `model` likely means: a configured provider or inline kind
/// (`ecko` → `echo`), or an OpenAI or Anthropic model id without its prefix
/// (`gpt-4o-mini` → `openai:gpt-4o-mini`).
fn model_suggestion(model: &str, configured: &[String]) -> Option<String> {
    if model.starts_with("gpt-") || model.starts_with("o1") || model.starts_with("o3") {
        return Some(format!("openai:{model}"));
    }
    if model.starts_with("claude-") {
        return Some(format!("anthropic:{model}"));
    }
    let mut names: Vec<&str> = configured.iter().map(String::as_str).collect();
    names.extend(["echo", "llamacpp", "mock"]);
    crate::diagnostic::suggest(model, &names).map(str::to_string)
}

/// `did you mean `name`? the dataset has columns name, language, id; …`: the columns the
/// row has, the likely one first.
fn missing_variable_hint(variable: &str, columns: &[String], one_row: bool) -> String {
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let near = crate::diagnostic::suggest(variable, &names)
        .map(|near| format!("did you mean `{near}`? "))
        .unwrap_or_default();
    let (has, add) = match one_row {
        true => ("that row has", "key to every row"),
        false => ("the dataset has columns", "column"),
    };
    format!(
        "{near}{has} {}; add the {add} or change the template",
        crate::diagnostic::closest_first(variable, &names).join(", ")
    )
}

impl Diagnostic for SpecError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            SpecError::EvalNotFound { available, .. } if available.is_empty() => Some(
                "there are no eval files in evals/; `prompteval init` creates an example".into(),
            ),
            SpecError::EvalNotFound { available, .. } => {
                Some(format!("choose from: {}", available.join(", ")))
            }
            SpecError::BadReference { .. } => None,
            SpecError::Unresolved { source, .. } => source.hint(),
            SpecError::UnknownModel {
                model, configured, ..
            } => Some(format!(
                "{}use a provider from prompteval.yaml ({}) or an inline id: {}",
                model_suggestion(model, configured)
                    .map(|close| format!("did you mean `{close}`? Else "))
                    .unwrap_or_default(),
                if configured.is_empty() {
                    "none configured".to_string()
                } else {
                    configured.join(", ")
                },
                crate::provider::inline_forms()
            )),
            SpecError::Empty { what, .. } => Some(format!("list at least one under `{what}:`")),
            SpecError::MissingVariable {
                variable,
                columns,
                row,
                ..
            } => Some(missing_variable_hint(variable, columns, row.is_some())),
            SpecError::RenderFailed { source, .. } => source.hint(),
            SpecError::Invalid { .. } => None,
            SpecError::Handler { hint, .. } => hint.clone(),
            SpecError::Conversation { hint, .. } => Some(hint.clone()),
            SpecError::RowTools { problem, .. } => problem.hint(),
            SpecError::UnknownScorerModel { configured, .. } => Some(format!(
                "choose from the providers in prompteval.yaml ({}) or an inline id: {}",
                if configured.is_empty() {
                    "none configured".to_string()
                } else {
                    configured.join(", ")
                },
                crate::provider::inline_forms()
            )),
            SpecError::NoScorerModel { key, .. } => Some(format!(
                "set `{key}: <provider>` in the eval file, under `defaults:` in prompteval.yaml, or on the assertion"
            )),
            SpecError::Dataset { source, .. } => source.hint(),
            SpecError::Provider { error, .. } => error.hint(),
            SpecError::NoCases { .. } => Some("check --case and --limit".into()),
            SpecError::PromptNotUsed { .. } => Some(
                "`--prompt` replaces the versions of a prompt that an eval already uses".into(),
            ),
            SpecError::ListEvals { .. } => None,
            SpecError::DuplicateEvalName { .. } => {
                Some("rename or remove one of them: an eval is named by its file's stem".into())
            }
        }
    }
}
