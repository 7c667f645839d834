//! The errors of compiling an assertion, each naming where the assertion was written.

use crate::diagnostic::{Diagnostic, Location};
use crate::template::TemplateError;

/// An assertion that cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// The type is not one of [`kinds`](super::kinds).
    #[error(
        "{origin}: unknown assertion type `{kind}`. Choose from: {}",
        super::registry::choices()
    )]
    UnknownKind {
        /// Where the assertion was written.
        origin: Location,
        /// The type as written.
        kind: String,
        /// The closest known type, when one is close.
        suggestion: Option<String>,
    },
    /// A type that has no `not-` form was negated.
    #[error("{origin}: assertion type `{kind}` cannot be negated")]
    NotNegatable {
        /// Where the assertion was written.
        origin: Location,
        /// The type as written (`not-latency`).
        kind: String,
        /// What to write instead, from the type's registry entry.
        hint: &'static str,
    },
    /// The `value`, `threshold` or `weight` has the wrong shape for the type.
    #[error("{origin}: `{kind}` assertion: {message}")]
    InvalidValue {
        /// Where the assertion was written.
        origin: Location,
        /// The type as written.
        kind: String,
        /// What is wrong.
        message: String,
        /// A correct example of this type, in eval-file YAML.
        example: &'static str,
    },
    /// The regex does not compile.
    #[error("{origin}: `{kind}` assertion: invalid regex {pattern:?}")]
    InvalidRegex {
        /// Where the assertion was written.
        origin: Location,
        /// The type as written.
        kind: String,
        /// The pattern.
        pattern: String,
        /// Why it does not compile.
        #[source]
        source: Box<regex::Error>,
    },
    /// The JSON schema is not a valid draft 2020-12 schema.
    #[error("{origin}: `{kind}` assertion: invalid JSON schema: {message}")]
    InvalidSchema {
        /// Where the assertion was written.
        origin: Location,
        /// The type as written.
        kind: String,
        /// What the schema compiler said.
        message: String,
    },
    /// A `transform` expression does not compile.
    #[error(
        "{origin}: {}invalid `transform`",
        kind.as_ref().map(|k| format!("`{k}` assertion: ")).unwrap_or_default()
    )]
    Transform {
        /// Where the assertion (or eval) was written.
        origin: Location,
        /// The assertion type as written; `None` for an eval's own `transform`.
        kind: Option<String>,
        /// The template error.
        #[source]
        source: Box<TemplateError>,
    },
    /// A value template does not compile.
    #[error("{origin}: `{kind}` assertion: invalid value template")]
    Template {
        /// Where the assertion was written.
        origin: Location,
        /// The type as written.
        kind: String,
        /// The template error.
        #[source]
        source: Box<TemplateError>,
    },
}

impl ScoreError {
    /// Where the assertion was written.
    pub fn origin(&self) -> &Location {
        match self {
            ScoreError::UnknownKind { origin, .. }
            | ScoreError::NotNegatable { origin, .. }
            | ScoreError::InvalidValue { origin, .. }
            | ScoreError::InvalidRegex { origin, .. }
            | ScoreError::InvalidSchema { origin, .. }
            | ScoreError::Template { origin, .. }
            | ScoreError::Transform { origin, .. } => origin,
        }
    }
}

impl Diagnostic for ScoreError {
    /// What the user can do about it, when there is something to say.
    fn hint(&self) -> Option<String> {
        match self {
            ScoreError::UnknownKind { suggestion, .. } => {
                suggestion.as_ref().map(|s| format!("did you mean `{s}`?"))
            }
            ScoreError::NotNegatable { hint, .. } => Some(hint.to_string()),
            ScoreError::InvalidValue { example, .. } => Some(format!("for example: {example}")),
            ScoreError::InvalidRegex { .. } => Some(
                "regexes use Rust syntax (https://docs.rs/regex); escape literal characters such as `.` or `(` with a backslash"
                    .to_string(),
            ),
            ScoreError::InvalidSchema { .. } => Some(
                "`value` must be a JSON schema (draft 2020-12), e.g. {type: json-schema, value: {type: object, required: [answer]}}"
                    .to_string(),
            ),
            ScoreError::Template { source, .. } => source.hint(),
            ScoreError::Transform { source, .. } => Some(source.hint().unwrap_or_else(|| {
                "`transform` is a minijinja expression over `output` and the row's variables, e.g. `output | trim | lower` or `(output | fromjson).answer`".to_string()
            })),
        }
    }
}
