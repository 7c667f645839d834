//! Eval files → a validated [`Plan`]. Everything that can be wrong with the user's files is
//! found here, before the first model call: lock violations, bad references, missing
//! datasets, template errors, variables a dataset lacks, bad assertions, unknown models.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::config::project::Project;
use crate::config::yaml;
use crate::dataset::{self, Dataset, Row};
use crate::diagnostic::{Location, Warning};
use crate::error::Error;
use crate::gate::GateConfig;
use crate::provider::{self, Provider, ProviderConfig};
use crate::registry::{Params, PromptRef, PromptVersion, Registry};
use crate::score::{Assertion, AssertionSpec, ProviderRole, Transform};
use crate::template::TemplateSet;

use super::selection::{select_evals, Selection};

/// An eval file as written.
#[derive(Debug, Deserialize)]
struct EvalFile {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    prompts: Vec<String>,
    #[serde(default)]
    models: Vec<String>,
    dataset: String,
    #[serde(default)]
    repeat: Option<u32>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    transform: Option<String>,
    #[serde(default, rename = "assert")]
    assertions: Vec<AssertionSpec>,
    #[serde(default)]
    gate: Option<GateConfig>,
    #[serde(default)]
    grader: Option<String>,
    #[serde(default)]
    embedder: Option<String>,
}

/// A problem with an eval file or the selection, found while planning.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// An eval named on the command line does not exist.
    #[error("no eval named `{name}`")]
    EvalNotFound {
        /// As given.
        name: String,
        /// The evals that exist.
        available: Vec<String>,
    },
    /// A prompt reference that does not parse.
    #[error("{location}: {source}")]
    BadReference {
        /// Where it is written.
        location: Location,
        /// Why it does not parse.
        #[source]
        source: crate::registry::ParseRefError,
    },
    /// A prompt reference that does not resolve.
    #[error("{location}: cannot resolve prompt `{reference}`")]
    Unresolved {
        /// Where it is written.
        location: Location,
        /// As written.
        reference: String,
        /// Why.
        #[source]
        source: crate::registry::RegistryError,
    },
    /// A model that is neither configured nor an inline id.
    #[error("{location}: unknown model `{model}`")]
    UnknownModel {
        /// Where it is written.
        location: Location,
        /// As written.
        model: String,
        /// Configured provider names.
        configured: Vec<String>,
    },
    /// An eval without prompts or models.
    #[error("{location}: no {what} to run")]
    Empty {
        /// The eval file.
        location: Location,
        /// `prompts` or `models`.
        what: &'static str,
    },
    /// A template reads a variable the dataset does not have.
    #[error(
        "{reference} uses variable `{variable}`, but {} has no such {}",
        row.as_ref().map(|(id, line)| format!("{}:{line} (case {id})", dataset.display())).unwrap_or_else(|| dataset.display().to_string()),
        if row.is_some() { "key" } else { "column" }
    )]
    MissingVariable {
        /// `sentiment@2`, or `evals/x.yaml assert[1]`.
        reference: String,
        /// The variable.
        variable: String,
        /// The dataset file.
        dataset: PathBuf,
        /// The columns it has.
        columns: Vec<String>,
        /// The row lacking it (id, line), when only some rows lack it.
        row: Option<(String, usize)>,
    },
    /// A prompt that does not render with a row (an unknown filter, a missing attribute).
    #[error("{reference} does not render with {}:{line} (case {case})", dataset.display())]
    RenderFailed {
        /// `sentiment@2`.
        reference: String,
        /// The dataset file.
        dataset: PathBuf,
        /// The case id.
        case: String,
        /// The row's line.
        line: usize,
        /// Why.
        #[source]
        source: crate::template::TemplateError,
    },
    /// A bad value in an eval file.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// A scorer names a grader or embedder that is not a provider.
    #[error("{location}: unknown {key} `{name}`")]
    UnknownScorerModel {
        /// Where it is named.
        location: Location,
        /// `grader` or `embedder`.
        key: &'static str,
        /// As written.
        name: String,
        /// Configured provider names.
        configured: Vec<String>,
    },
    /// A scorer that calls a model, with no such model configured.
    #[error("{location}: `{kind}` assertion needs a {key}, and none is configured")]
    NoScorerModel {
        /// Where the assertion is written.
        location: Location,
        /// The assertion type.
        kind: String,
        /// `grader` or `embedder`.
        key: &'static str,
    },
    /// `--case` matched nothing, or every case was filtered out.
    #[error("{location}: no cases selected from {dataset}")]
    NoCases {
        /// The eval file.
        location: Location,
        /// The dataset.
        dataset: String,
    },
    /// A `--prompt` that no eval uses.
    #[error("no selected eval uses prompt `{name}`")]
    PromptNotUsed {
        /// The prompt name.
        name: String,
    },
    /// An eval file could not be listed or read.
    #[error("failed to list eval files in {}", dir.display())]
    ListEvals {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl SpecError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            SpecError::EvalNotFound { available, .. } if available.is_empty() => Some(
                "there are no eval files in evals/; `prompteval init` creates an example".into(),
            ),
            SpecError::EvalNotFound { available, .. } => {
                Some(format!("choose from: {}", available.join(", ")))
            }
            SpecError::BadReference { .. } => None,
            SpecError::Unresolved { source, .. } => source.hint(),
            SpecError::UnknownModel { configured, .. } => Some(format!(
                "use a provider from prompteval.yaml ({}) or an inline id: {}",
                if configured.is_empty() {
                    "none configured".to_string()
                } else {
                    configured.join(", ")
                },
                provider::inline_forms()
            )),
            SpecError::Empty { what, .. } => Some(format!("list at least one under `{what}:`")),
            SpecError::MissingVariable { columns, row, .. } => Some(format!(
                "{} {}; add the {} or change the template",
                if row.is_some() {
                    "that row has"
                } else {
                    "the dataset has columns"
                },
                columns.join(", "),
                if row.is_some() {
                    "key to every row"
                } else {
                    "column"
                }
            )),
            SpecError::RenderFailed { source, .. } => source.hint(),
            SpecError::Invalid { .. } => None,
            SpecError::UnknownScorerModel { configured, .. } => Some(format!(
                "choose from the providers in prompteval.yaml ({}) or an inline id: {}",
                if configured.is_empty() {
                    "none configured".to_string()
                } else {
                    configured.join(", ")
                },
                provider::inline_forms()
            )),
            SpecError::NoScorerModel { key, .. } => Some(format!(
                "set `{key}: <provider>` in the eval file, under `defaults:` in prompteval.yaml, or on the assertion"
            )),
            SpecError::NoCases { .. } => Some("check --case and --limit".into()),
            SpecError::PromptNotUsed { .. } => Some(
                "`--prompt` replaces the versions of a prompt that an eval already uses".into(),
            ),
            SpecError::ListEvals { .. } => None,
        }
    }
}

/// A prompt version in a plan.
#[derive(Clone, Debug)]
pub struct PlannedPrompt {
    /// As written in the eval or on the command line.
    pub requested: String,
    /// The resolved version.
    pub version: Arc<PromptVersion>,
}

/// One eval, ready to run.
pub struct EvalPlan {
    /// The eval's name (file stem).
    pub name: String,
    /// The eval file, relative to the root.
    pub path: PathBuf,
    /// Its description.
    pub description: Option<String>,
    /// The dataset (all rows).
    pub dataset: Arc<Dataset>,
    /// The selected rows.
    pub rows: Vec<Row>,
    /// The prompt versions.
    pub prompts: Vec<PlannedPrompt>,
    /// The model (provider) names.
    pub models: Vec<String>,
    /// Request params per prompt × model: provider defaults overlaid by the version's.
    pub params: Vec<Vec<Params>>,
    /// Assertions of the eval.
    pub assertions: Vec<Assertion>,
    /// Extra assertions per selected row (same index as `rows`).
    pub row_assertions: Vec<Vec<Assertion>>,
    /// Repeats per case.
    pub repeat: u32,
    /// Case threshold on the weighted score, if any (a row's own `threshold` wins).
    pub threshold: Option<f64>,
    /// The eval's `transform`, applied to every output before its assertions.
    pub transform: Option<Transform>,
    /// The gate thresholds.
    pub gate: GateConfig,
    /// The judge of model-graded assertions that name none (eval, else project default).
    pub grader: Option<String>,
    /// The embeddings provider of `similar` assertions that name none.
    pub embedder: Option<String>,
    /// Providers the scorers call (graders, embedders), besides `models`.
    pub scorer_models: Vec<String>,
}

impl EvalPlan {
    /// Cells in this eval.
    pub fn cells(&self) -> usize {
        self.rows.len() * self.prompts.len() * self.models.len() * self.repeat as usize
    }
}

/// Everything a run needs, validated.
pub struct Plan {
    /// The evals.
    pub evals: Vec<EvalPlan>,
    /// Compiled templates of every prompt version and assertion value.
    pub templates: TemplateSet,
    /// The providers used, by name.
    pub providers: BTreeMap<String, Arc<dyn Provider>>,
    /// Their settings, for the run record.
    pub provider_configs: BTreeMap<String, ProviderConfig>,
    /// Notes about what was skipped (`--prompt` filtering).
    pub notes: Vec<String>,
    /// Run-wide scoring settings: project root, judge prompt overrides, external scorers.
    pub scoring: crate::score::ScoringSetup,
}

impl Plan {
    /// Cells in the whole plan.
    pub fn total_cells(&self) -> usize {
        self.evals.iter().map(EvalPlan::cells).sum()
    }
}

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
    registry.check()?;
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let files = select_evals(project, selection)?;

    let mut templates = TemplateSet::new(registry.partials())?;
    let mut compiled: BTreeSet<String> = BTreeSet::new();
    let mut datasets: HashMap<PathBuf, Arc<Dataset>> = HashMap::new();
    let mut providers = BTreeMap::new();
    let mut provider_configs = BTreeMap::new();
    let mut evals = Vec::new();
    let mut prompt_names_used = BTreeSet::new();
    let mut notes = Vec::new();

    for (name, path) in files {
        let ctx = EvalContext {
            project,
            registry,
            selection,
            name: &name,
            display: project.relative(&path),
        };
        match ctx.build(
            &path,
            &mut templates,
            &mut compiled,
            &mut datasets,
            &mut warnings,
            &mut prompt_names_used,
        ) {
            Ok(Some(eval)) => {
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
                        Err(e) => errors.push(e.into()),
                    }
                }
                evals.push(eval);
            }
            Ok(None) => notes.push(format!(
                "skipped eval `{name}`: it uses none of the prompts given with --prompt"
            )),
            Err(mut errs) => errors.append(&mut errs),
        }
    }
    for r in &selection.prompts {
        if !prompt_names_used.contains(&r.name) && errors.is_empty() {
            errors.push(
                SpecError::PromptNotUsed {
                    name: r.name.clone(),
                }
                .into(),
            );
        }
    }
    let mut scoring = crate::score::ScoringSetup::new(project.root.clone());
    if errors.is_empty() {
        errors.extend(judge_overrides(
            registry,
            &evals,
            &mut templates,
            &mut compiled,
            &mut scoring,
        ));
    }
    Error::collect(errors)?;
    Ok((
        Plan {
            evals,
            templates,
            providers,
            provider_configs,
            notes,
            scoring,
        },
        warnings,
    ))
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

struct EvalContext<'a> {
    project: &'a Project,
    registry: &'a Registry,
    selection: &'a Selection,
    name: &'a str,
    display: PathBuf,
}

impl EvalContext<'_> {
    fn loc(&self, text: &str, key: &str) -> Location {
        Location::line_of_key(&self.display, text, key)
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        path: &Path,
        templates: &mut TemplateSet,
        compiled: &mut BTreeSet<String>,
        datasets: &mut HashMap<PathBuf, Arc<Dataset>>,
        warnings: &mut Vec<Warning>,
        prompt_names_used: &mut BTreeSet<String>,
    ) -> Result<Option<EvalPlan>, Vec<Error>> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            vec![Error::Yaml(yaml::YamlError::Read {
                path: self.display.clone(),
                source,
            })]
        })?;
        let (file, mut warns): (EvalFile, _) =
            yaml::parse(&text, &self.display).map_err(|e| vec![e.into()])?;
        warnings.append(&mut warns);
        let mut errors: Vec<Error> = Vec::new();

        // Prompts: as written, or replaced by --prompt for the prompt names this eval uses.
        let mut written = Vec::new();
        for (i, raw) in file.prompts.iter().enumerate() {
            match raw.parse::<PromptRef>() {
                Ok(r) => written.push((raw.clone(), r)),
                Err(source) => errors.push(
                    SpecError::BadReference {
                        location: self.loc(&text, &format!("prompts[{i}]")),
                        source,
                    }
                    .into(),
                ),
            }
        }
        let used: BTreeSet<String> = written.iter().map(|(_, r)| r.name.clone()).collect();
        prompt_names_used.extend(used.iter().cloned());
        let refs: Vec<(String, PromptRef)> = if self.selection.prompts.is_empty() {
            written
        } else {
            let chosen: Vec<_> = self
                .selection
                .prompts
                .iter()
                .filter(|r| used.contains(&r.name))
                .map(|r| (r.to_string(), r.clone()))
                .collect();
            if chosen.is_empty() {
                return Ok(None);
            }
            chosen
        };
        let mut prompts: Vec<PlannedPrompt> = Vec::new();
        for (requested, r) in refs {
            match self.registry.resolve(&r) {
                Ok(version) => {
                    if prompts
                        .iter()
                        .any(|p| p.version.reference() == version.reference())
                    {
                        continue;
                    }
                    if compiled.insert(version.reference()) {
                        if let Err(e) = templates.add_prompt(version) {
                            errors.push(e.into());
                            continue;
                        }
                    }
                    prompts.push(PlannedPrompt {
                        requested,
                        version: Arc::new(version.clone()),
                    });
                }
                Err(source) => errors.push(
                    SpecError::Unresolved {
                        location: self.loc(&text, "prompts"),
                        reference: requested,
                        source,
                    }
                    .into(),
                ),
            }
        }
        if file.prompts.is_empty() {
            errors.push(
                SpecError::Empty {
                    location: Location::file(&self.display),
                    what: "prompts",
                }
                .into(),
            );
        }

        // Models.
        let models: Vec<String> = if !self.selection.models.is_empty() {
            self.selection.models.clone()
        } else if !file.models.is_empty() {
            file.models.clone()
        } else {
            self.project.config.defaults.models.clone()
        };
        if models.is_empty() {
            errors.push(
                SpecError::Empty {
                    location: Location::file(&self.display),
                    what: "models",
                }
                .into(),
            );
        }
        let mut model_configs = Vec::new();
        for (i, model) in models.iter().enumerate() {
            match resolve_model(self.project, model) {
                Some(c) => model_configs.push(c),
                None => errors.push(
                    SpecError::UnknownModel {
                        location: if self.selection.models.is_empty() {
                            self.loc(&text, &format!("models[{i}]"))
                        } else {
                            Location::file("--model")
                        },
                        model: model.clone(),
                        configured: self.project.config.providers.keys().cloned().collect(),
                    }
                    .into(),
                ),
            }
        }

        let repeat = self.selection.repeat.or(file.repeat).unwrap_or(1);
        if repeat == 0 {
            errors.push(
                SpecError::Invalid {
                    location: self.loc(&text, "repeat"),
                    message: "`repeat` must be at least 1".into(),
                }
                .into(),
            );
        }
        if let Some(t) = file.threshold {
            if !(0.0..=1.0).contains(&t) {
                errors.push(
                    SpecError::Invalid {
                        location: self.loc(&text, "threshold"),
                        message: format!("`threshold` must be between 0 and 1, got {t}"),
                    }
                    .into(),
                );
            }
        }
        let mut gate = file.gate.clone().unwrap_or_default();
        if !self.selection.prompts.is_empty() {
            // --prompt replaced the eval's versions: hold every prompt run to the gate.
            gate.prompts.clear();
        }
        let mut gated = Vec::new();
        for (i, wanted) in gate.prompts.iter().enumerate() {
            let found = prompts.iter().find(|p| {
                p.requested == *wanted
                    || p.version.reference() == *wanted
                    || wanted
                        .parse::<PromptRef>()
                        .ok()
                        .and_then(|r| self.registry.resolve(&r).ok())
                        .is_some_and(|v| v.reference() == p.version.reference())
            });
            match found {
                Some(p) => gated.push(p.version.reference()),
                None => errors.push(
                    SpecError::Invalid {
                        location: self.loc(&text, &format!("gate.prompts[{i}]")),
                        message: format!(
                            "`gate.prompts` names `{wanted}`, which is not one of this eval's prompts ({})",
                            prompts.iter().map(|p| p.requested.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    }
                    .into(),
                ),
            }
        }
        gate.prompts = gated;
        for (key, v) in [
            ("min_pass_rate", gate.min_pass_rate),
            ("min_score", gate.min_score),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    errors.push(
                        SpecError::Invalid {
                            location: self.loc(&text, key),
                            message: format!("`gate.{key}` must be between 0 and 1, got {v}"),
                        }
                        .into(),
                    );
                }
            }
        }

        // Assertions.
        let mut assertions = Vec::new();
        for (i, spec) in file.assertions.iter().enumerate() {
            let origin = self.loc(&text, &format!("assert[{i}].type"));
            let origin = assertion_origin(&text, &self.display, i).unwrap_or(origin);
            match Assertion::compile(
                spec,
                &format!("{}#assert{i}", self.name),
                &origin,
                templates,
            ) {
                Ok(a) => assertions.push((
                    format!("{} assert[{i}] ({})", self.display.display(), spec.kind),
                    a,
                )),
                Err(e) => errors.push(e.into()),
            }
        }

        let transform = match &file.transform {
            Some(source) => match crate::score::compile_eval_transform(
                source,
                self.name,
                &self.loc(&text, "transform"),
                templates,
            ) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(e.into());
                    None
                }
            },
            None => None,
        };

        // Dataset.
        let dataset_path = PathBuf::from(&file.dataset);
        let dataset = match datasets.get(&dataset_path) {
            Some(d) => Some(d.clone()),
            None => match dataset::load(&self.project.root, &dataset_path) {
                Ok((d, mut w)) => {
                    warnings.append(&mut w);
                    let d = Arc::new(d);
                    datasets.insert(dataset_path.clone(), d.clone());
                    Some(d)
                }
                Err(e) => {
                    errors.push(e.into());
                    None
                }
            },
        };

        let Some(dataset) = dataset else {
            return Err(errors);
        };
        let rows: Vec<Row> = dataset
            .rows
            .iter()
            .filter(|r| {
                self.selection
                    .case
                    .as_ref()
                    .is_none_or(|re| re.is_match(&r.id))
            })
            .take(self.selection.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        if rows.is_empty() {
            errors.push(
                SpecError::NoCases {
                    location: Location::file(&self.display),
                    dataset: file.dataset.clone(),
                }
                .into(),
            );
        }

        let mut row_assertions = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut compiled_row = Vec::new();
            for (k, spec) in row.asserts.iter().enumerate() {
                let origin = Location::line(&dataset.path, row.line);
                let id = format!("{}#row{}#{k}", self.name, row.line);
                match Assertion::compile(spec, &id, &origin, templates) {
                    Ok(a) => compiled_row.push(a),
                    Err(e) => errors.push(e.into()),
                }
            }
            row_assertions.push(compiled_row);
        }

        // Scorers that call a model: graders and embedders must be providers.
        let defaults = &self.project.config.defaults;
        let grader = file.grader.clone().or_else(|| defaults.grader.clone());
        let embedder = file.embedder.clone().or_else(|| defaults.embedder.clone());
        let mut scorer_models = Vec::new();
        let mut reported = BTreeSet::new();
        let eval_asserts = assertions.iter().enumerate().map(|(i, (_, a))| {
            let origin = assertion_origin(&text, &self.display, i)
                .unwrap_or_else(|| self.loc(&text, "assert"));
            (origin, a)
        });
        let data_path = &dataset.path;
        let row_asserts = rows.iter().zip(&row_assertions).flat_map(|(row, list)| {
            list.iter()
                .map(move |a| (Location::line(data_path, row.line), a))
        });
        for (origin, a) in eval_asserts.chain(row_asserts) {
            if a.is_group() && prompts.len() * models.len() < 2 && reported.insert("group") {
                errors.push(
                    SpecError::Invalid {
                        location: origin.clone(),
                        message: format!(
                            "`{}` compares the outputs of each case across prompts and models, but this eval runs one prompt with one model",
                            a.spec().kind
                        ),
                    }
                    .into(),
                );
            }
            let Some((role, written)) = a.provider_role() else {
                continue;
            };
            let (key, default, in_file) = match role {
                ProviderRole::Grader => ("grader", &grader, file.grader.is_some()),
                ProviderRole::Embedder => ("embedder", &embedder, file.embedder.is_some()),
            };
            let Some(name) = written.map(str::to_string).or_else(|| default.clone()) else {
                if reported.insert(key) {
                    errors.push(
                        SpecError::NoScorerModel {
                            location: origin,
                            kind: a.spec().kind.clone(),
                            key,
                        }
                        .into(),
                    );
                }
                continue;
            };
            if resolve_model(self.project, &name).is_some() {
                if !scorer_models.contains(&name) {
                    scorer_models.push(name);
                }
            } else if reported.insert(key) {
                let location = if written.is_some() {
                    origin
                } else if in_file {
                    self.loc(&text, key)
                } else {
                    Location::file(crate::config::project::CONFIG_FILE)
                };
                errors.push(
                    SpecError::UnknownScorerModel {
                        location,
                        key,
                        name,
                        configured: self.project.config.providers.keys().cloned().collect(),
                    }
                    .into(),
                );
            }
        }

        // Variables: every template must find its variables in every selected row.
        let mut needs: Vec<(String, BTreeSet<String>)> = prompts
            .iter()
            .map(|p| {
                (
                    p.version.reference(),
                    templates.prompt_variables(&p.version),
                )
            })
            .collect();
        for (label, a) in &assertions {
            needs.push((label.clone(), a.variables(templates)));
        }
        if let Some(t) = &transform {
            let label = format!("{} transform", self.display.display());
            needs.push((label, t.variables().clone()));
        }
        let column_set: BTreeSet<&str> = dataset.columns.iter().map(String::as_str).collect();
        for (reference, vars) in &needs {
            for var in vars {
                if !column_set.contains(var.as_str()) {
                    errors.push(
                        SpecError::MissingVariable {
                            reference: reference.clone(),
                            variable: var.clone(),
                            dataset: dataset.path.clone(),
                            columns: dataset.columns.clone(),
                            row: None,
                        }
                        .into(),
                    );
                } else if let Some(row) = rows.iter().find(|r| !r.vars.contains_key(var)) {
                    errors.push(
                        SpecError::MissingVariable {
                            reference: reference.clone(),
                            variable: var.clone(),
                            dataset: dataset.path.clone(),
                            columns: row.vars.keys().cloned().collect(),
                            row: Some((row.id.clone(), row.line)),
                        }
                        .into(),
                    );
                }
            }
        }
        for (row, row_asserts) in rows.iter().zip(&row_assertions) {
            for a in row_asserts {
                for var in a.variables(templates) {
                    if !row.vars.contains_key(&var) {
                        errors.push(
                            SpecError::MissingVariable {
                                reference: format!("assertion of case {}", row.id),
                                variable: var,
                                dataset: dataset.path.clone(),
                                columns: row.vars.keys().cloned().collect(),
                                row: Some((row.id.clone(), row.line)),
                            }
                            .into(),
                        );
                    }
                }
            }
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        // Render every prompt with every row once: what static checks cannot see (an
        // unknown filter, a missing nested key) stops here, before any model call.
        for p in &prompts {
            if let Some((row, source)) = rows.iter().find_map(|row| {
                templates
                    .render_prompt(&p.version, &row.context)
                    .err()
                    .map(|e| (row, e))
            }) {
                errors.push(
                    SpecError::RenderFailed {
                        reference: p.version.reference(),
                        dataset: dataset.path.clone(),
                        case: row.id.clone(),
                        line: row.line,
                        source,
                    }
                    .into(),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let params = prompts
            .iter()
            .map(|p| {
                model_configs
                    .iter()
                    .map(|c| {
                        let mut merged = c.common.params.clone();
                        for (k, v) in &p.version.params {
                            merged.insert(k.clone(), v.clone());
                        }
                        merged
                    })
                    .collect()
            })
            .collect();
        Ok(Some(EvalPlan {
            name: self.name.to_string(),
            path: self.display.clone(),
            description: file.description,
            dataset,
            rows,
            prompts,
            models,
            params,
            assertions: assertions.into_iter().map(|(_, a)| a).collect(),
            row_assertions,
            repeat,
            threshold: file.threshold,
            transform,
            gate,
            grader,
            embedder,
            scorer_models,
        }))
    }
}

/// Judge prompts from the registry: for each model-graded type the evals use, the latest
/// version of the prompt `judge-<type>` replaces the built-in one. Its variables must be
/// among those the judge provides.
fn judge_overrides(
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
        .filter(|k| crate::score::JUDGE_KINDS.contains(k))
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

/// The line of the `i`-th item under the top-level `assert:` key, best effort.
fn assertion_origin(text: &str, file: &Path, i: usize) -> Option<Location> {
    let mut in_assert = false;
    let mut seen = 0;
    let mut item_indent = None;
    for (n, line) in text.lines().enumerate() {
        if !line.starts_with(' ') && !line.starts_with('-') && !line.trim().is_empty() {
            in_assert = line.starts_with("assert:");
            continue;
        }
        if !in_assert {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if line.trim_start().starts_with("- ") && item_indent.is_none_or(|w| w == indent) {
            item_indent = Some(indent);
            if seen == i {
                return Some(Location::line(file, n + 1));
            }
            seen += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_of_an_assertion() {
        let text = "prompts: [a]\nassert:\n  - type: equals\n    value: x\n  - type: regex\n    value: '['\ngate: {}\n";
        let loc = assertion_origin(text, Path::new("e.yaml"), 1).unwrap();
        assert_eq!(loc.to_string(), "e.yaml:5");
        assert!(assertion_origin(text, Path::new("e.yaml"), 2).is_none());
    }
}
