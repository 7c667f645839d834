//! Eval files → a validated [`Plan`]: every eval is built, every provider made, and every
//! problem collected before failing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use crate::config::project::Project;
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
    let (prompts, mut errors) = resolvable(registry, prompts);
    let files = select_evals(project, selection)?;
    let mut shared = Shared {
        templates: TemplateSet::new(registry.partials())?,
        compiled: BTreeSet::new(),
        datasets: HashMap::new(),
        warnings: Vec::new(),
        prompt_names_used: BTreeSet::new(),
        handlers: Default::default(),
    };
    let mut providers = Providers::default();
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
                providers.add(project, build, &eval, &mut errors);
                evals.push(eval);
            }
            Ok(None) => notes.push(format!(
                "skipped eval `{name}`: it uses none of the prompts given with --prompt"
            )),
            Err(mut errs) => errors.append(&mut errs),
        }
    }
    errors.extend(providers.unknown_kinds(project));
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
            providers: providers.built,
            provider_configs: providers.configs,
            notes,
            scoring,
        },
        shared.warnings,
    ))
}

/// The providers made so far, and the names that could not be made (each reported once,
/// however many evals use it).
#[derive(Default)]
struct Providers {
    built: BTreeMap<String, Arc<dyn Provider>>,
    configs: BTreeMap<String, ProviderConfig>,
    failed: BTreeSet<String>,
}

impl Providers {
    /// Makes the provider of every model the eval runs or scores with that has none yet;
    /// a provider that cannot be made is an error of the plan, located where it is set.
    fn add(
        &mut self,
        project: &Project,
        build: &BuildProvider,
        eval: &EvalPlan,
        errors: &mut Vec<Error>,
    ) {
        for model in eval.models.iter().chain(&eval.scorer_models) {
            if self.built.contains_key(model) || self.failed.contains(model) {
                continue;
            }
            let config = resolve_model(project, model).unwrap_or_default();
            match build(model, &config) {
                Ok(p) => {
                    self.built.insert(model.clone(), p);
                    self.configs.insert(model.clone(), config);
                }
                Err(error) => {
                    self.failed.insert(model.clone());
                    let location = provider_location(project, model, &error, eval);
                    errors.push(SpecError::Provider { location, error }.into());
                }
            }
        }
    }
}

impl Providers {
    /// A configured provider of a kind this build does not know is an error even when no
    /// selected eval uses it: it is a typo in `prompteval.yaml`, as an unknown key is.
    fn unknown_kinds(&self, project: &Project) -> Vec<Error> {
        let unused = project.config.providers.iter().filter(|(name, config)| {
            !self.built.contains_key(*name)
                && !self.failed.contains(*name)
                && config.kind.as_dyn().is_none()
        });
        unused
            .filter_map(|(name, config)| provider::build(name, config).err())
            .map(|error| {
                let location = config_location(project, &error.provider, &error);
                SpecError::Provider { location, error }.into()
            })
            .collect()
    }
}

/// Warnings for the providers of `prompteval.yaml` that no planned eval uses and that
/// cannot be built (an `http` provider without `output`, an `exec` program that is not
/// there, an API key variable that is not set): `validate` checks every provider, but only
/// the ones a run uses can stop it. Unknown kinds are errors of the plan already.
pub fn unused_provider_warnings(project: &Project, plan: &Plan) -> Vec<Warning> {
    let unused = project.config.providers.iter().filter(|(name, config)| {
        !plan.providers.contains_key(*name) && config.kind.as_dyn().is_some()
    });
    unused
        .filter_map(|(name, config)| provider::build(name, config).err())
        .map(|error| Warning {
            location: config_location(project, &error.provider, &error),
            message: format!("{error} (no selected eval uses it)"),
        })
        .collect()
}

/// Where the setting a provider error is about is written: in `prompteval.yaml` for a
/// configured provider, else where the eval names the inline id (`openai:gpt-4o`).
fn provider_location(
    project: &Project,
    model: &str,
    error: &provider::ProviderConfigError,
    eval: &EvalPlan,
) -> Location {
    if project.config.providers.contains_key(model) {
        return config_location(project, model, error);
    }
    let text = std::fs::read_to_string(project.root.join(&eval.path)).unwrap_or_default();
    let text = crate::config::yaml::without_bom(&text);
    match eval.models.iter().position(|m| m == model) {
        Some(i) => Location::line_of_key(&eval.path, text, &format!("models[{i}]")),
        None => Location::file(&eval.path),
    }
}

/// Where in `prompteval.yaml` the setting of provider `name` that `error` is about is
/// written: the key the error marks, else the key its message names (`timeout` in "invalid `timeout` `fast`"), else the
/// provider's own line.
fn config_location(
    project: &Project,
    name: &str,
    error: &provider::ProviderConfigError,
) -> Location {
    use crate::config::locate::key_line;
    use crate::config::project::CONFIG_FILE;
    let message = &error.message;
    let text = std::fs::read_to_string(project.root.join(CONFIG_FILE)).unwrap_or_default();
    let text = crate::config::yaml::without_bom(&text);
    // Setting names are the backticked words of the message; `kind` is not quoted there.
    let named = message.split('`').skip(1).step_by(2);
    let kind = message
        .starts_with("unknown provider kind")
        .then_some("kind");
    // The setting the provider marked (`ProviderConfigError::key`) comes first.
    error
        .key
        .into_iter()
        .chain(named)
        .chain(kind)
        .find_map(|key| key_line(text, &format!("providers.{name}.{key}")))
        .map(|line| Location::line(CONFIG_FILE, line))
        .unwrap_or_else(|| {
            Location::line_of_key(Path::new(CONFIG_FILE), text, &format!("providers.{name}"))
        })
}

/// The `--prompt` references that resolve, and an error for each one that does not:
/// reported once, against the command line, however many evals use the prompt.
fn resolvable(registry: &Registry, prompts: Vec<PromptRef>) -> (Vec<PromptRef>, Vec<Error>) {
    let mut errors = Vec::new();
    let mut ok = Vec::new();
    for r in prompts {
        match registry.resolve(&r) {
            Ok(_) => ok.push(r),
            Err(source) => errors.push(
                SpecError::Unresolved {
                    location: Location::file("--prompt"),
                    reference: r.to_string(),
                    source,
                }
                .into(),
            ),
        }
    }
    (ok, errors)
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
