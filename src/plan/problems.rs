//! Everything found wrong while loading and planning a project, one or many at a time.

use crate::config::project::ProjectError;
use crate::config::yaml::YamlError;
use crate::dataset::DatasetError;
use crate::diagnostic::Diagnostic;
use crate::provider::ProviderConfigError;
use crate::registry::RegistryError;
use crate::score::ScoreError;
use crate::template::TemplateError;

use super::SpecError;

/// Everything that can be wrong with a project, found while loading and planning it —
/// before any model is called (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
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
    /// Several problems, all found before anything ran.
    #[error("{} problems found", .0.len())]
    Many(Vec<PlanError>),
}

impl From<SpecError> for PlanError {
    fn from(e: SpecError) -> PlanError {
        PlanError::Spec(Box::new(e))
    }
}

impl Diagnostic for PlanError {
    fn hint(&self) -> Option<String> {
        match self {
            PlanError::Project(e) => e.hint(),
            PlanError::Yaml(e) => e.hint(),
            PlanError::Registry(e) => e.hint(),
            PlanError::Template(e) => e.hint(),
            PlanError::Dataset(e) => e.hint(),
            PlanError::Score(e) => e.hint(),
            PlanError::ProviderConfig(e) => e.hint(),
            PlanError::Spec(e) => e.hint(),
            PlanError::Many(_) => None,
        }
    }

    fn problems(&self) -> Option<Vec<&dyn Diagnostic>> {
        match self {
            PlanError::Many(errors) => Some(errors.iter().map(|e| e as &dyn Diagnostic).collect()),
            _ => None,
        }
    }
}

impl PlanError {
    /// Folds a list of errors into one: none → `Ok`, one → itself, more → [`PlanError::Many`].
    pub fn collect(mut errors: Vec<PlanError>) -> Result<(), PlanError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(PlanError::Many(errors)),
        }
    }
}
