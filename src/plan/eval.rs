//! One eval file → an [`EvalPlan`]: its prompts, models, gate, assertions, dataset rows and
//! scorer models, each checked, with every problem collected.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::project::Project;
use crate::config::yaml;
use crate::dataset::Dataset;
use crate::diagnostic::{Location, Warning};
use crate::gate::GateConfig;
use crate::plan::PlanError as Error;
use crate::provider::ProviderConfig;
use crate::registry::{Params, PromptRef, Registry};
use crate::score::{Assertion, ProviderRole, Transform};
use crate::template::TemplateSet;

use super::eval_file::{assertion_origin, EvalFile};
use super::selection::Selection;
use super::{resolve_model, EvalPlan, PlannedPrompt, Rows, SpecError};

/// What the evals of one plan share: compiled templates, loaded datasets, warnings.
pub(super) struct Shared {
    /// Every prompt version and assertion value compiled so far.
    pub(super) templates: TemplateSet,
    /// References of the prompt versions already in `templates`.
    pub(super) compiled: BTreeSet<String>,
    /// Datasets by path as written, each loaded once.
    pub(super) datasets: HashMap<PathBuf, Arc<Dataset>>,
    /// Warnings of every file read.
    pub(super) warnings: Vec<Warning>,
    /// Prompt names the evals' files use (before `--prompt` replaced them).
    pub(super) prompt_names_used: BTreeSet<String>,
    /// The tool handlers built so far.
    pub(super) handlers: super::handlers::Cache,
}

/// The eval being planned: where it is and what the run selected.
pub(super) struct EvalContext<'a> {
    pub(super) project: &'a Project,
    pub(super) registry: &'a Registry,
    pub(super) selection: &'a Selection,
    /// `selection.prompts`, parsed.
    pub(super) prompts: &'a [PromptRef],
    /// `selection.case`, compiled.
    pub(super) case: Option<&'a regex::Regex>,
    pub(super) name: &'a str,
    /// The eval file as the user would name it.
    pub(super) display: PathBuf,
}

/// One eval file being checked: its text (for locations) and the problems found so far.
pub(super) struct Builder<'c, 'a> {
    pub(super) ctx: &'c EvalContext<'a>,
    pub(super) text: String,
    pub(super) errors: Vec<Error>,
}

/// The assertions of the eval file, each with the label that names it in errors.
pub(super) type Labelled = Vec<(String, Assertion)>;

impl EvalContext<'_> {
    /// Builds the eval in `path`: `Ok(None)` when `--prompt` leaves it nothing to run.
    pub(super) fn build(
        &self,
        path: &Path,
        shared: &mut Shared,
    ) -> Result<Option<EvalPlan>, Vec<Error>> {
        let mut text = std::fs::read_to_string(path).map_err(|source| {
            vec![Error::Yaml(yaml::YamlError::Read {
                path: self.display.clone(),
                source,
            })]
        })?;
        // Without it, key lines found in `text` would be off on the first line.
        text = yaml::without_bom(&text).to_string();
        let (file, mut warns): (EvalFile, _) =
            yaml::parse(&text, &self.display).map_err(|e| vec![e.into()])?;
        shared.warnings.append(&mut warns);
        let mut b = Builder {
            ctx: self,
            text,
            errors: Vec::new(),
        };
        let Some(prompts) = b.prompts(&file, shared) else {
            return Ok(None);
        };
        let (models, model_configs) = b.models(&file);
        let repeat = b.repeat(&file);
        let gate = b.gate(&file, &prompts);
        let assertions = b.assertions(&file, &mut shared.templates);
        let transform = b.transform(&file, &mut shared.templates);
        let Some(dataset) = b.dataset(&file, shared) else {
            return Err(b.errors);
        };
        let rows = b.rows(&file, &dataset);
        let row_assertions = b.row_assertions(&rows, &dataset, &mut shared.templates);
        let row_tools = super::tools::row_tools(&prompts, &rows, &dataset, self.registry)
            .unwrap_or_else(|errors| {
                errors.into_iter().for_each(|e| b.push(e));
                Vec::new()
            });
        shared
            .warnings
            .extend(super::tools::expected_tools_warnings(
                &prompts, &rows, &row_tools, &dataset,
            ));
        let agent = super::handlers::plan(
            &super::handlers::EvalHandlers {
                written: &file.tool_handlers,
                servers: &file.mcp_servers,
                max_steps: file.max_steps,
                display: &self.display,
                text: &b.text,
                prompts: &prompts,
                rows: &rows,
                row_tools: &row_tools,
                dataset: &dataset,
            },
            (self.project, self.registry),
            &mut shared.handlers,
        );
        shared.warnings.extend(agent.warnings);
        agent.errors.into_iter().for_each(|e| b.push(e));
        let cells_per_case = prompts.len() * models.len();
        let (grader, embedder, mut scorer_models) = b.scorer_models(
            &file,
            &assertions,
            (&rows, &row_assertions),
            &dataset,
            cells_per_case,
        );
        let inputs = super::conversation::Inputs {
            project: self.project,
            registry: self.registry,
            name: self.name,
            display: &self.display,
            text: &b.text,
            simulated_user: file.simulated_user.as_ref(),
            dataset: &dataset,
            rows: &rows,
            assertions: &assertions,
            row_assertions: &row_assertions,
        };
        let conversations = match super::conversation::plan(&inputs, shared) {
            Ok(planned) => {
                // The simulated users' providers are built and checked with the scorers'.
                for user in planned.user_models {
                    if !models.contains(&user) && !scorer_models.contains(&user) {
                        scorer_models.push(user);
                    }
                }
                planned.conversations
            }
            Err(errors) => {
                errors.into_iter().for_each(|e| b.push(e));
                Vec::new()
            }
        };
        let templates = &shared.templates;
        b.check_variables(
            &prompts,
            &assertions,
            transform.as_ref(),
            &dataset,
            &rows,
            templates,
        );
        b.check_row_variables(&rows, &row_assertions, &dataset, templates);
        if b.errors.is_empty() {
            b.check_render(&prompts, &rows, &dataset, templates);
        }
        if !b.errors.is_empty() {
            return Err(b.errors);
        }
        let plan = EvalPlan {
            name: self.name.to_string(),
            path: self.display.clone(),
            description: file.description,
            dataset,
            params: params(&prompts, &model_configs),
            rows,
            prompts,
            models,
            assertions: assertions.into_iter().map(|(_, a)| a).collect(),
            row_assertions,
            conversations,
            row_tools,
            repeat,
            threshold: file.threshold,
            transform,
            gate,
            grader,
            embedder,
            scorer_models,
            handlers: agent.handlers,
            max_steps: agent.max_steps,
        };
        // Needs each cell's tools, which only the finished plan knows.
        let (errors, mut warnings) = super::tool_checks::check(&plan, &b.text);
        shared.warnings.append(&mut warnings);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Some(plan))
    }
}

impl Builder<'_, '_> {
    pub(super) fn loc(&self, key: &str) -> Location {
        Location::line_of_key(&self.ctx.display, &self.text, key)
    }

    pub(super) fn push(&mut self, error: impl Into<Error>) {
        self.errors.push(error.into());
    }

    fn invalid(&mut self, location: Location, message: String) {
        self.push(SpecError::Invalid { location, message });
    }

    /// The prompts as written, or replaced by `--prompt` for the prompt names this eval
    /// uses; `None` when `--prompt` names none of them.
    fn prompts(&mut self, file: &EvalFile, shared: &mut Shared) -> Option<Vec<PlannedPrompt>> {
        let mut written = Vec::new();
        for (i, raw) in file.prompts.iter().enumerate() {
            match raw.parse::<PromptRef>() {
                Ok(r) => written.push((raw.clone(), r)),
                Err(source) => {
                    let location = self.loc(&format!("prompts[{i}]"));
                    self.push(SpecError::BadReference { location, source });
                }
            }
        }
        let used: BTreeSet<String> = written.iter().map(|(_, r)| r.name.clone()).collect();
        shared.prompt_names_used.extend(used.iter().cloned());
        let selected = self.ctx.prompts;
        let refs: Vec<(String, PromptRef)> = if selected.is_empty() {
            written
        } else {
            let chosen: Vec<_> = selected
                .iter()
                .filter(|r| used.contains(&r.name))
                .map(|r| (r.to_string(), r.clone()))
                .collect();
            if chosen.is_empty() {
                return None;
            }
            chosen
        };
        let mut prompts: Vec<PlannedPrompt> = Vec::new();
        for (requested, r) in refs {
            let version = match self.ctx.registry.resolve(&r) {
                Ok(version) => version,
                Err(source) => {
                    let location = self.reference_location(file, &requested);
                    self.push(SpecError::Unresolved {
                        location,
                        reference: requested,
                        source,
                    });
                    continue;
                }
            };
            if let Some(first) = prompts
                .iter()
                .find(|p| p.version.reference() == version.reference())
            {
                shared
                    .warnings
                    .push(self.same_version(file, &requested, first, version));
                continue;
            }
            if shared.compiled.insert(version.reference()) {
                if let Err(e) = shared.templates.add_prompt(version) {
                    self.push(e);
                    continue;
                }
                shared.warnings.extend(empty_template(version));
            }
            prompts.push(PlannedPrompt {
                requested,
                version: Arc::new(version.clone()),
            });
        }
        if file.prompts.is_empty() {
            self.push(SpecError::Empty {
                location: Location::file(&self.ctx.display),
                what: "prompts",
            });
        }
        Some(prompts)
    }

    /// Where prompt reference `requested` is written: its item under `prompts:`, or
    /// `--prompt` when that replaced them.
    fn reference_location(&self, file: &EvalFile, requested: &str) -> Location {
        match file.prompts.iter().position(|p| p == requested) {
            Some(i) if self.ctx.prompts.is_empty() => self.loc(&format!("prompts[{i}]")),
            _ => Location::file("--prompt"),
        }
    }

    /// The warning for a prompt that resolves to the version an earlier one did
    /// (`qa@latest` and `qa@production` both `qa@3`): they run as one row.
    fn same_version(
        &self,
        file: &EvalFile,
        requested: &str,
        first: &PlannedPrompt,
        version: &crate::registry::PromptVersion,
    ) -> Warning {
        Warning {
            location: self.reference_location(file, requested),
            message: format!(
                "`{requested}` resolves to {}, as `{}` does: they run once, as one row",
                version.reference(),
                first.requested
            ),
        }
    }

    /// The models (`--model`, else the eval's, else the project's defaults) and their
    /// settings.
    fn models(&mut self, file: &EvalFile) -> (Vec<String>, Vec<ProviderConfig>) {
        let ctx = self.ctx;
        let models: Vec<String> = if !ctx.selection.models.is_empty() {
            ctx.selection.models.clone()
        } else if !file.models.is_empty() {
            file.models.clone()
        } else {
            ctx.project.config.defaults.models.clone()
        };
        if models.is_empty() {
            self.push(SpecError::Empty {
                location: Location::file(&ctx.display),
                what: "models",
            });
        }
        let mut configs = Vec::new();
        for (i, model) in models.iter().enumerate() {
            match resolve_model(ctx.project, model) {
                Some(c) => configs.push(c),
                None => {
                    let location = if ctx.selection.models.is_empty() {
                        self.loc(&format!("models[{i}]"))
                    } else {
                        Location::file("--model")
                    };
                    self.push(SpecError::UnknownModel {
                        location,
                        model: model.clone(),
                        configured: ctx.project.config.providers.keys().cloned().collect(),
                    });
                }
            }
        }
        (models, configs)
    }

    /// The repeats per case; also checks the eval's case `threshold`.
    fn repeat(&mut self, file: &EvalFile) -> u32 {
        let repeat = self.ctx.selection.repeat.or(file.repeat).unwrap_or(1);
        if repeat == 0 {
            let location = self.loc("repeat");
            self.invalid(location, "`repeat` must be at least 1".into());
        }
        if let Some(t) = file.threshold {
            if !(0.0..=1.0).contains(&t) {
                let location = self.loc("threshold");
                self.invalid(
                    location,
                    format!("`threshold` must be between 0 and 1, got {t}"),
                );
            }
        }
        repeat
    }

    /// The gate, with `gate.prompts` resolved to the versions this eval runs.
    fn gate(&mut self, file: &EvalFile, prompts: &[PlannedPrompt]) -> GateConfig {
        let mut gate = file.gate.clone().unwrap_or_default();
        if !self.ctx.selection.prompts.is_empty() {
            gate.prompts = self.gated_when_replaced(file, &gate.prompts, prompts);
        }
        let mut gated = Vec::new();
        for (i, wanted) in gate.prompts.iter().enumerate() {
            let found = prompts.iter().find(|p| {
                p.requested == *wanted
                    || p.version.reference() == *wanted
                    || wanted
                        .parse::<PromptRef>()
                        .ok()
                        .and_then(|r| self.ctx.registry.resolve(&r).ok())
                        .is_some_and(|v| v.reference() == p.version.reference())
            });
            match found {
                Some(p) => gated.push(p.version.reference()),
                None => {
                    let location = self.loc(&format!("gate.prompts[{i}]"));
                    let names: Vec<&str> = prompts.iter().map(|p| p.requested.as_str()).collect();
                    self.invalid(
                        location,
                        format!(
                            "`gate.prompts` names `{wanted}`, which is not one of this eval's prompts ({})",
                            names.join(", ")
                        ),
                    );
                }
            }
        }
        gate.prompts = gated;
        for (key, v) in [
            ("min_pass_rate", gate.min_pass_rate),
            ("min_score", gate.min_score),
        ] {
            if let Some(v) = v.filter(|v| !(0.0..=1.0).contains(v)) {
                let location = self.loc(&format!("gate.{key}"));
                self.invalid(
                    location,
                    format!("`gate.{key}` must be between 0 and 1, got {v}"),
                );
            }
        }
        gate
    }

    /// The `gate.prompts` of an eval whose versions `--prompt` replaced: a version the
    /// eval runs but does not gate (its production, run for comparison) stays ungated when
    /// `--prompt` names it again, and every other version `--prompt` gives is gated. With
    /// no `gate.prompts`, or nothing left to gate, every row is (an empty list).
    fn gated_when_replaced(
        &self,
        file: &EvalFile,
        named: &[String],
        prompts: &[PlannedPrompt],
    ) -> Vec<String> {
        let resolve = |raw: &String| {
            let r = raw.parse::<PromptRef>().ok()?;
            Some(self.ctx.registry.resolve(&r).ok()?.reference())
        };
        let gated: BTreeSet<String> = named.iter().filter_map(resolve).collect();
        if gated.is_empty() {
            return Vec::new();
        }
        let left_out: BTreeSet<String> = file
            .prompts
            .iter()
            .filter_map(resolve)
            .filter(|r| !gated.contains(r))
            .collect();
        prompts
            .iter()
            .filter(|p| !left_out.contains(&p.version.reference()))
            .map(|p| p.requested.clone())
            .collect()
    }

    /// The eval's assertions, compiled.
    fn assertions(&mut self, file: &EvalFile, templates: &mut TemplateSet) -> Labelled {
        let mut assertions = Vec::new();
        let display = self.ctx.display.clone();
        for (i, spec) in file.assertions.iter().enumerate() {
            let origin = assertion_origin(&self.text, &display, i)
                .unwrap_or_else(|| self.loc(&format!("assert[{i}].type")));
            let id = format!("{}#assert{i}", self.ctx.name);
            match self.compile(spec, &id, &origin, templates) {
                Ok(a) => {
                    let label = format!("{} assert[{i}] ({})", display.display(), spec.kind);
                    assertions.push((label, a));
                }
                Err(e) => self.push(e),
            }
        }
        assertions
    }

    /// One assertion compiled, with the program of an `external` one found.
    fn compile(
        &self,
        spec: &crate::score::AssertionSpec,
        id: &str,
        origin: &Location,
        templates: &mut TemplateSet,
    ) -> Result<Assertion, crate::score::ScoreError> {
        let a = Assertion::compile(spec, id, origin, templates)?;
        crate::score::check_external_command(spec, origin, &self.ctx.project.root)?;
        Ok(a)
    }

    /// The eval's `transform`, compiled.
    fn transform(&mut self, file: &EvalFile, templates: &mut TemplateSet) -> Option<Transform> {
        let source = file.transform.as_ref()?;
        let location = self.loc("transform");
        match crate::score::compile_eval_transform(source, self.ctx.name, &location, templates) {
            Ok(t) => Some(t),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    /// Each selected row's own assertions, compiled.
    fn row_assertions(
        &mut self,
        rows: &Rows,
        dataset: &Dataset,
        templates: &mut TemplateSet,
    ) -> Vec<Vec<Assertion>> {
        // No row has assertions of its own (the common case): nothing per row is kept,
        // and a large dataset is not read again for them.
        if dataset.plain() {
            return Vec::new();
        }
        let mut all = Vec::with_capacity(rows.len());
        for row in rows.iter() {
            let row = match row {
                Ok(row) => row,
                Err(source) => {
                    self.push(source);
                    return Vec::new();
                }
            };
            let mut compiled = Vec::new();
            for (k, spec) in row.asserts().iter().enumerate() {
                let origin = Location::line(&dataset.path, row.line);
                let id = format!("{}#row{}#{k}", self.ctx.name, row.line);
                match self.compile(spec, &id, &origin, templates) {
                    Ok(a) => compiled.push(a),
                    Err(e) => self.push(e),
                }
            }
            all.push(compiled);
        }
        if all.iter().all(Vec::is_empty) {
            all = Vec::new();
        }
        all
    }

    /// Scorers that call a model: the eval's grader and embedder, and the providers every
    /// assertion needs, each of which must exist. Group scorers need two cells per case.
    fn scorer_models(
        &mut self,
        file: &EvalFile,
        assertions: &Labelled,
        (rows, row_assertions): (&Rows, &[Vec<Assertion>]),
        dataset: &Dataset,
        cells_per_case: usize,
    ) -> (Option<String>, Option<String>, Vec<String>) {
        let defaults = &self.ctx.project.config.defaults;
        let grader = file.grader.clone().or_else(|| defaults.grader.clone());
        let embedder = file.embedder.clone().or_else(|| defaults.embedder.clone());
        let mut scorer_models = Vec::new();
        let mut reported = BTreeSet::new();
        let display = &self.ctx.display;
        let text = &self.text;
        let eval_asserts = assertions.iter().enumerate().map(|(i, (_, a))| {
            let origin = assertion_origin(text, display, i)
                .unwrap_or_else(|| Location::line_of_key(display, text, "assert"));
            (origin, a)
        });
        let row_asserts =
            super::eval_rows::row_assertion_origins(rows, row_assertions, &dataset.path);
        let mut errors = Vec::new();
        for (origin, a) in eval_asserts.chain(row_asserts) {
            if a.is_group() && cells_per_case < 2 && reported.insert("group") {
                errors.push(SpecError::Invalid {
                    location: origin.clone(),
                    message: format!(
                        "`{}` compares the outputs of each case across prompts and models, but this eval runs one prompt with one model",
                        a.spec().kind
                    ),
                });
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
                    let kind = a.spec().kind.clone();
                    errors.push(SpecError::NoScorerModel {
                        location: origin,
                        kind,
                        key,
                    });
                }
                continue;
            };
            if resolve_model(self.ctx.project, &name).is_some() {
                if !scorer_models.contains(&name) {
                    scorer_models.push(name);
                }
            } else if reported.insert(key) {
                let location = if written.is_some() {
                    origin
                } else if in_file {
                    Location::line_of_key(display, text, key)
                } else {
                    Location::file(crate::config::project::CONFIG_FILE)
                };
                let configured = self.ctx.project.config.providers.keys().cloned().collect();
                errors.push(SpecError::UnknownScorerModel {
                    location,
                    key,
                    name,
                    configured,
                });
            }
        }
        for e in errors {
            self.push(e);
        }
        (grader, embedder, scorer_models)
    }
}

/// Request params per prompt × model: the provider's defaults overlaid by the version's.
fn params(prompts: &[PlannedPrompt], model_configs: &[ProviderConfig]) -> Vec<Vec<Params>> {
    prompts
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
        .collect()
}

/// The warning for a version whose template(s) hold nothing but white space: the model
/// would be sent an empty prompt.
fn empty_template(version: &crate::registry::PromptVersion) -> Option<Warning> {
    let empty = match &version.body {
        crate::registry::PromptBody::Text(text) => text.trim().is_empty(),
        crate::registry::PromptBody::Chat(messages) => {
            messages.iter().all(|m| m.content.trim().is_empty())
        }
    };
    empty.then(|| Warning {
        location: Location::file(&version.path),
        message: format!(
            "{} is empty: the model is sent an empty prompt",
            version.reference()
        ),
    })
}
