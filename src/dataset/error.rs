//! Why a dataset file cannot be read, with the file and line.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Location};

/// A dataset file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file does not exist.
    #[error("dataset {} not found", path.display())]
    Missing {
        /// The file, as given.
        path: PathBuf,
        /// The project root it was resolved against.
        root: PathBuf,
        /// The file it likely means (`datasets/people.csv` for `datasets/peple.csv`).
        near: Option<PathBuf>,
    },
    /// The file exists but could not be read.
    #[error("failed to read dataset {}", path.display())]
    Read {
        /// The file, as given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The extension is not one of [`EXTENSIONS`].
    #[error(
        "{}: unsupported dataset format {}. Choose from: .csv, .jsonl, .json, .yaml, .yml",
        path.display(),
        extension.as_deref().map(|e| format!("`.{e}`")).unwrap_or_else(|| "(no extension)".to_string())
    )]
    UnsupportedFormat {
        /// The file, as given.
        path: PathBuf,
        /// Its extension, if it has one.
        extension: Option<String>,
    },
    /// The text is not valid CSV, JSON or YAML, or has the wrong shape.
    #[error("{location}: {message}")]
    Parse {
        /// Where the problem is.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A CSV row with more or fewer fields than the header.
    #[error("{location}: row has {found} fields, expected {expected} (one per header column)")]
    FieldCount {
        /// The row.
        location: Location,
        /// Columns in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// Two rows share an id.
    #[error("{location}: duplicate id `{id}` (also used on line {first_line})")]
    DuplicateId {
        /// The second row with the id.
        location: Location,
        /// The id.
        id: String,
        /// The line of the first row with the id.
        first_line: usize,
    },
    /// A row's `id` is empty.
    #[error("{location}: row has an empty `id`")]
    EmptyId {
        /// The row.
        location: Location,
    },
    /// A row's `assert` is not an assertion or a list of them.
    #[error("{location}: invalid `assert`: {message}")]
    Assert {
        /// The row.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A row's `threshold` is not a number between 0 and 1.
    #[error("{location}: invalid `threshold`: {message}")]
    Threshold {
        /// The row.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A row's `tools` is not a list of tool definitions or names.
    #[error("{location}: invalid `tools`: {message}")]
    Tools {
        /// The row.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A YAML dataset that is not YAML, or not a list of mappings.
    #[error(transparent)]
    Yaml(Box<crate::config::yaml::YamlError>),
    /// A row's `messages`, `turns` or `simulated_user` is not of the shape a conversation
    /// takes.
    #[error("{location}: {message}")]
    Conversation {
        /// The row.
        location: Location,
        /// The case, the key down to the entry (`turns[2]`) and what is wrong with it.
        message: String,
    },
    /// A row read again from the file is not the row the load checked: the file changed
    /// (or could no longer be read) while prompteval was using it.
    #[error("dataset {} changed after it was checked", path.display())]
    Changed {
        /// The file, as given.
        path: PathBuf,
    },
    /// The file holds no rows.
    #[error("{}: dataset has no rows", path.display())]
    Empty {
        /// The file, as given.
        path: PathBuf,
    },
}

impl DatasetError {
    /// Where the problem is.
    pub fn location(&self) -> Location {
        match self {
            DatasetError::Missing { path, .. }
            | DatasetError::Read { path, .. }
            | DatasetError::UnsupportedFormat { path, .. }
            | DatasetError::Changed { path }
            | DatasetError::Empty { path } => Location::file(path),
            DatasetError::Parse { location, .. }
            | DatasetError::FieldCount { location, .. }
            | DatasetError::DuplicateId { location, .. }
            | DatasetError::EmptyId { location }
            | DatasetError::Assert { location, .. }
            | DatasetError::Threshold { location, .. }
            | DatasetError::Tools { location, .. }
            | DatasetError::Conversation { location, .. } => location.clone(),
            DatasetError::Yaml(err) => err.location(),
        }
    }
}

impl Diagnostic for DatasetError {
    /// What the user can do about it, when there is something to say.
    fn hint(&self) -> Option<String> {
        match self {
            DatasetError::Yaml(err) => err.hint(),
            DatasetError::Missing {
                near: Some(near), ..
            } => Some(format!("did you mean `{}`?", near.display())),
            DatasetError::Missing { root, .. } => Some(format!(
                "dataset paths are relative to the project root ({})",
                root.display()
            )),
            DatasetError::UnsupportedFormat { .. } => Some(
                "save the rows as CSV (header row + rows), JSONL (one object per line), a JSON array of objects or a YAML list of mappings"
                    .to_string(),
            ),
            DatasetError::FieldCount { .. } => Some(
                "quote fields that contain commas or line breaks: \"a, b\"".to_string(),
            ),
            DatasetError::DuplicateId { .. } => Some(
                "give every row a unique `id`, or drop the `id` column to number rows"
                    .to_string(),
            ),
            DatasetError::EmptyId { .. } => Some(
                "fill in the `id`, or drop the `id` column to number rows".to_string(),
            ),
            DatasetError::Assert { .. } => Some(
                "write `assert` as a mapping or a list of them, e.g. assert: [{type: contains, value: Paris}]"
                    .to_string(),
            ),
            DatasetError::Threshold { .. } => Some(
                "a row's `threshold` is the weighted score (0 to 1) its case needs to pass, e.g. {\"input\": \"…\", \"threshold\": 0.5}"
                    .to_string(),
            ),
            DatasetError::Tools { .. } => Some(
                "a row's `tools` is a list of tool definitions ({name, description, parameters}) or names of prompts/_tools/ files, offered besides the version's tools"
                    .to_string(),
            ),
            DatasetError::Conversation { .. } => Some(
                "a conversation row holds `messages: [{role, content}]` (the history so far), `turns: [\"user message\", {user: …, assert: […]}]` or `simulated_user: {provider, persona, stop, max_turns}` (see docs/agents.md)"
                    .to_string(),
            ),
            DatasetError::Empty { path } => Some(
                if path.extension().is_some_and(|e| e == "csv") {
                    "add rows below the header line".to_string()
                } else {
                    "add at least one row".to_string()
                },
            ),
            DatasetError::Changed { .. } => Some(
                "a dataset of more than 8,192 rows is read again as the run goes: leave the file as it is until the run ends (an editor that saves a new file in its place is fine), then run again"
                    .to_string(),
            ),
            DatasetError::Read { .. } | DatasetError::Parse { .. } => None,
        }
    }

    fn exit_class(&self) -> crate::diagnostic::ExitClass {
        match self {
            DatasetError::Changed { .. } => crate::diagnostic::ExitClass::Runtime,
            _ => crate::diagnostic::ExitClass::Input,
        }
    }
}
