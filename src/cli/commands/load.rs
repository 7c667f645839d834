//! What several commands share: loading the project and its registry, the selection.

use crate::cli::args::SelectArgs;
use crate::cli::diagnostics;
use crate::cli::Context;
use crate::config::project::Project;
use crate::plan::PlanError as Error;
use crate::plan::Selection;
use crate::registry::Registry;

/// Loads the project and its registry, printing warnings.
pub(super) fn load(ctx: &Context) -> Result<(Project, Registry), Error> {
    let (project, warnings) = Project::discover(&ctx.start)?;
    diagnostics::warnings(&warnings);
    let (registry, warnings) = Registry::load(&project.root)?;
    diagnostics::warnings(&warnings);
    Ok((project, registry))
}

impl SelectArgs {
    /// The library's selection: the flags as given (the plan parses them).
    pub(super) fn to_selection(&self) -> Selection {
        Selection {
            evals: self.evals.clone(),
            prompts: self.prompts.clone(),
            models: self.models.clone(),
            case: self.case.clone(),
            limit: self.limit,
            repeat: self.repeat,
        }
    }
}
