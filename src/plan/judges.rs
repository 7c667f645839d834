//! Judge prompts from the registry that replace the built-in ones.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::diagnostic::Location;
use crate::plan::PlanError as Error;
use crate::registry::Registry;
use crate::template::TemplateSet;

use super::{EvalPlan, SpecError};

/// Judge prompts from the registry: for each model-graded type the evals use, the latest
/// version of the prompt `judge-<type>` replaces the built-in one. Its variables must be
/// among those the judge provides.
pub(super) fn judge_overrides(
    registry: &Registry,
    evals: &[EvalPlan],
    templates: &mut TemplateSet,
    compiled: &mut BTreeSet<String>,
    scoring: &mut crate::score::ScoringSetup,
) -> Vec<Error> {
    let mut errors = Vec::new();
    let used: BTreeSet<&str> = evals
        .iter()
        .flat_map(|e| e.assertions.iter().chain(e.row_assertions.iter().flatten()))
        .map(|a| a.spec().kind.trim_start_matches("not-"))
        .filter(|k| crate::score::is_judge(k))
        .collect();
    for kind in used {
        let name = crate::score::judge_prompt_name(kind);
        let Some(version) = registry.get(&name).and_then(|p| p.latest()) else {
            continue;
        };
        if compiled.insert(version.reference()) {
            if let Err(e) = templates.add_prompt(version) {
                errors.push(e.into());
                continue;
            }
        }
        let allowed = crate::score::judge_variables(kind);
        for var in templates.prompt_variables(version) {
            if !allowed.contains(&var.as_str()) {
                errors.push(
                    SpecError::Invalid {
                        location: Location::file(&version.path),
                        message: format!(
                            "judge prompt {} uses variable `{var}`; `{kind}` judge prompts receive: {}",
                            version.reference(),
                            allowed.join(", ")
                        ),
                    }
                    .into(),
                );
            }
        }
        scoring
            .judge_prompts
            .insert(kind.to_string(), Arc::new(version.clone()));
    }
    errors
}
