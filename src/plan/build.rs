//! Eval files → a validated [`Plan`]: every eval is built, every provider made, and every
//! problem collected before failing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use crate::config::project::{Project, CONFIG_FILE};
use crate::diagnostic::{Location, Warning};
use crate::plan::PlanError as Error;
use crate::provider::{self, Provider, ProviderConfig};
use crate::registry::{PromptRef, Registry};
use crate::template::TemplateSet;

use super::eval::{EvalContext, Shared};
use super::judges::judge_overrides;
use super::selection::{select_evals, Selection};
use super::{EvalPlan, Plan, SpecError};

/// Builds and validates the plan. Collects every problem it can find before failing.
pub fn plan(
    project: &Project,
    registry: &Registry,
    selection: &Selection,
) -> Result<(Plan, Vec<Warning>), Error> {
    plan_with(project, registry, selection, &provider::build)
}

/// Builds a provider from its name and settings (see [`provider::build`]).
pub type BuildProvider =
    dyn Fn(&str, &ProviderConfig) -> Result<Arc<dyn Provider>, provider::ProviderConfigError>;

/// [`plan`] with providers made by `build` ([`provider::build_offline`] for an offline run).
pub fn plan_with(
    project: &Project,
    registry: &Registry,
    selection: &Selection,
    build: &BuildProvider,
) -> Result<(Plan, Vec<Warning>), Error> {
    let (prompts, case) = selection.parse()?;
    registry.check()?;
    let mut errors = Vec::new();
    let files = select_evals(project, selection)?;
    let mut shared = Shared {
        templates: TemplateSet::new(registry.partials())?,
        compiled: BTreeSet::new(),
        datasets: HashMap::new(),
        warnings: Vec::new(),
        prompt_names_used: BTreeSet::new(),
    };
    let mut providers = BTreeMap::new();
    let mut provider_configs = BTreeMap::new();
    let mut evals = Vec::new();
    let mut notes = Vec::new();

    for (name, path) in files {
        let ctx = EvalContext {
            project,
            registry,
            selection,
            prompts: &prompts,
            case: case.as_ref(),
            name: &name,
            display: project.relative(&path),
        };
        match ctx.build(&path, &mut shared) {
            Ok(Some(eval)) => {
                add_providers(
                    project,
                    build,
                    &eval,
                    &mut providers,
                    &mut provider_configs,
                    &mut errors,
                );
                evals.push(eval);
            }
            Ok(None) => notes.push(format!(
                "skipped eval `{name}`: it uses none of the prompts given with --prompt"
            )),
            Err(mut errs) => errors.append(&mut errs),
        }
    }
    if errors.is_empty() {
        errors.extend(first_unused_prompt(&prompts, &shared.prompt_names_used));
    }
    let mut scoring = crate::score::ScoringSetup::new(project.root.clone());
    if errors.is_empty() {
        errors.extend(judge_overrides(
            registry,
            &evals,
            &mut shared.templates,
            &mut shared.compiled,
            &mut scoring,
        ));
    }
    Error::collect(errors)?;
    Ok((
        Plan {
            evals,
            templates: shared.templates,
            providers,
            provider_configs,
            notes,
            scoring,
        },
        shared.warnings,
    ))
}

/// Makes the provider of every model the eval runs or scores with that has none yet;
/// a provider that cannot be made is an error of the plan.
fn add_providers(
    project: &Project,
    build: &BuildProvider,
    eval: &EvalPlan,
    providers: &mut BTreeMap<String, Arc<dyn Provider>>,
    provider_configs: &mut BTreeMap<String, ProviderConfig>,
    errors: &mut Vec<Error>,
) {
    for model in eval.models.iter().chain(&eval.scorer_models) {
        if providers.contains_key(model) {
            continue;
        }
        let config = resolve_model(project, model).unwrap_or_default();
        match build(model, &config) {
            Ok(p) => {
                providers.insert(model.clone(), p);
                provider_configs.insert(model.clone(), config);
            }
            Err(e) => errors.push(locate_setting(project, model, e).into()),
        }
    }
}

/// Points an error about one provider setting at its line in `prompteval.yaml`.
fn locate_setting(
    project: &Project,
    model: &str,
    mut e: provider::ProviderConfigError,
) -> provider::ProviderConfigError {
    if let (Some(key), None) = (e.key, &e.location) {
        let file = Path::new(CONFIG_FILE);
        // No file (an inline model id) or an unreadable one: the message stands alone.
        if let Ok(text) = std::fs::read_to_string(project.root.join(file)) {
            let path = ["providers", model, key];
            e.location = Some(Box::new(Location::line_of_path(file, &text, &path)));
        }
    }
    e
}

/// The error for the first `--prompt` that no selected eval's file uses.
fn first_unused_prompt(prompts: &[PromptRef], used: &BTreeSet<String>) -> Option<Error> {
    prompts.iter().find(|r| !used.contains(&r.name)).map(|r| {
        SpecError::PromptNotUsed {
            name: r.name.clone(),
        }
        .into()
    })
}

/// The settings a model name stands for: a configured provider or an inline id.
pub fn resolve_model(project: &Project, model: &str) -> Option<ProviderConfig> {
    project
        .config
        .providers
        .get(model)
        .cloned()
        .or_else(|| provider::inline(model))
}
