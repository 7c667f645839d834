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
use crate::plan::PlanError as Error;
use crate::plan::Selection;
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
    /// The library's selection: the flags as given (the plan parses them).
    fn to_selection(&self) -> Selection {
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
