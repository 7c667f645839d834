//! `prompteval validate`: every check a run makes, without calling a model.

use super::{load, Context};
use crate::cli::args::SelectArgs;
use crate::cli::diagnostics::{self, Exit};
use crate::plan;

/// Plans the selected evals and reports what would run.
pub(crate) fn validate(ctx: &Context, args: SelectArgs) -> Exit {
    let result = load(ctx).and_then(|(project, registry)| {
        let (plan, mut warnings) = plan::plan(&project, &registry, &args.to_selection())?;
        warnings.extend(plan::unused_provider_warnings(&project, &plan));
        Ok((plan, warnings))
    });
    match result {
        Ok((plan, warnings)) => {
            diagnostics::warnings(&warnings);
            for note in &plan.notes {
                errln!("note: {note}");
            }
            for eval in &plan.evals {
                outln!(
                    "ok  {}: {} prompts × {} models × {} cases × {} repeats = {} cells",
                    eval.name,
                    eval.prompts.len(),
                    eval.models.len(),
                    eval.rows.len(),
                    eval.repeat,
                    eval.cells()
                );
            }
            outln!(
                "{} cells in all; nothing was sent to any model",
                plan.total_cells()
            );
            Exit::Success
        }
        Err(e) => diagnostics::report(&e),
    }
}
