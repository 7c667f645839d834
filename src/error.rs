//! The crate's top-level error: every layer's error, sorted into the two kinds the command
//! line maps to exit codes.

use crate::config::project::ProjectError;
use crate::config::yaml::YamlError;
use crate::dataset::DatasetError;
use crate::plan::SpecError;
use crate::provider::ProviderConfigError;
use crate::registry::RegistryError;
use crate::score::ScoreError;
use crate::store::StoreError;
use crate::template::TemplateError;

/// Which exit status an error maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Invalid input or configuration: nothing was sent to any model (exit 2).
    Input,
    /// The run could not finish (exit 3).
    Runtime,
}

/// Any error the library reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project or its configuration.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// A YAML file.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// The prompt registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A template.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A dataset.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// An assertion.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// A provider's settings.
    #[error(transparent)]
    ProviderConfig(#[from] ProviderConfigError),
    /// An eval file or the plan (boxed: it carries the most context).
    #[error(transparent)]
    Spec(Box<SpecError>),
    /// The run store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Several problems, all found before anything ran.
    #[error("{} problems found", .0.len())]
    Many(Vec<Error>),
}

impl From<SpecError> for Error {
    fn from(e: SpecError) -> Error {
        Error::Spec(Box::new(e))
    }
}

impl Error {
    /// Which exit status this error maps to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Store(StoreError::NotFound { .. }) => ErrorKind::Input,
            Error::Store(_) => ErrorKind::Runtime,
            Error::Many(errors) if errors.iter().any(|e| e.kind() == ErrorKind::Runtime) => {
                ErrorKind::Runtime
            }
            _ => ErrorKind::Input,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Project(e) => e.hint(),
            Error::Yaml(_) => None,
            Error::Registry(e) => e.hint(),
            Error::Template(e) => e.hint(),
            Error::Dataset(e) => e.hint(),
            Error::Score(e) => e.hint(),
            Error::ProviderConfig(e) => e.hint.clone(),
            Error::Spec(e) => e.hint(),
            Error::Store(e) => e.hint(),
            Error::Many(_) => None,
        }
    }

    /// Folds a list of errors into one: none → `Ok`, one → itself, more → [`Error::Many`].
    pub fn collect(mut errors: Vec<Error>) -> Result<(), Error> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }
}
