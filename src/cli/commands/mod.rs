//! One small function per subcommand, re-exported for the dispatcher.

mod cache;
mod completions;
mod diff;
mod init;
mod mlflow;
mod prompt;
mod report;
mod run;
mod runs;
mod show;
mod validate;

pub(crate) use cache::cache;
pub(crate) use completions::completions;
pub(crate) use init::init;
pub(crate) use prompt::prompt;
pub(crate) use report::report;
pub(crate) use run::run;
pub(crate) use runs::runs;
pub(crate) use validate::validate;

use super::args::SelectArgs;
use super::diagnostics;
use super::Context;
use crate::config::project::Project;
use crate::error::Error;
use crate::plan::{Selection, SpecError};
use crate::registry::Registry;

/// Loads the project and its registry, printing warnings.
fn load(ctx: &Context) -> Result<(Project, Registry), Error> {
    let (project, warnings) = Project::discover(&ctx.start)?;
    diagnostics::warnings(&warnings);
    let (registry, warnings) = Registry::load(&project.root)?;
    diagnostics::warnings(&warnings);
    Ok((project, registry))
}

impl SelectArgs {
    /// The library's selection, with references and patterns parsed.
    fn to_selection(&self) -> Result<Selection, Error> {
        let mut errors = Vec::new();
        let mut prompts = Vec::new();
        for p in &self.prompts {
            match p.parse() {
                Ok(r) => prompts.push(r),
                Err(source) => errors.push(
                    SpecError::BadReference {
                        location: crate::diagnostic::Location::file("--prompt"),
                        source,
                    }
                    .into(),
                ),
            }
        }
        let case = match self.case.as_deref().map(regex::Regex::new) {
            None => None,
            Some(Ok(re)) => Some(re),
            Some(Err(e)) => {
                errors.push(
                    SpecError::Invalid {
                        location: crate::diagnostic::Location::file("--case"),
                        message: format!("invalid pattern: {e}"),
                    }
                    .into(),
                );
                None
            }
        };
        if self.repeat == Some(0) {
            errors.push(
                SpecError::Invalid {
                    location: crate::diagnostic::Location::file("--repeat"),
                    message: "must be at least 1".into(),
                }
                .into(),
            );
        }
        Error::collect(errors)?;
        Ok(Selection {
            evals: self.evals.clone(),
            prompts,
            models: self.models.clone(),
            case,
            limit: self.limit,
            repeat: self.repeat,
        })
    }
}
