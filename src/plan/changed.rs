//! `--changed-since REV`: which evals must run because something they use changed since REV.

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::git::{self, GitError};
use crate::config::project::{Project, ProjectConfig, CONFIG_FILE};
use crate::config::yaml;
use crate::diagnostic::Diagnostic;
use crate::plan::{EvalPlan, Plan, PlannedPrompt};
use crate::registry::Registry;

/// Why `--changed-since` could not decide.
#[derive(Debug, thiserror::Error)]
#[error("cannot tell what changed since `{rev}`")]
pub struct ChangedError {
    /// The revision.
    pub rev: String,
    /// What git said.
    #[source]
    pub source: GitError,
}

impl Diagnostic for ChangedError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        self.source.hint()
    }
}

/// One eval and why it must run (empty: it did not change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalChange {
    /// The eval's name.
    pub eval: String,
    /// One phrase per change (`prompts/greet/v2.jinja changed`), in a stable order.
    pub reasons: Vec<String>,
}

impl EvalChange {
    /// Whether the eval must run.
    pub fn changed(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// Every planned eval with its changes since `rev`, in plan order. A partial counts as
/// changed when its file changed or when it includes (at any depth) a partial that did;
/// the reason names the partial the version includes directly.
pub fn changed_evals(
    project: &Project,
    registry: &Registry,
    plan: &Plan,
    rev: &str,
) -> Result<Vec<EvalChange>, ChangedError> {
    let wrap = |source| ChangedError {
        rev: rev.to_string(),
        source,
    };
    let files: BTreeSet<String> = git::changed_files(&project.root, rev)
        .map_err(wrap)?
        .into_iter()
        .collect();
    let partials = changed_partials(registry, &files);
    let old_config = old_config(&project.root, rev, &files).map_err(wrap)?;
    let since = Since {
        project,
        registry,
        rev,
        files,
        partials,
        old_config,
        home: std::env::var_os("HOME").map(std::path::PathBuf::from),
    };
    plan.evals
        .iter()
        .map(|eval| since.eval_change(eval).map_err(wrap))
        .collect()
}

/// Partials that changed, and (to a fixed point) partials that include a changed one.
pub(crate) fn changed_partials(registry: &Registry, files: &BTreeSet<String>) -> BTreeSet<String> {
    let mut partials: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix("prompts/"))
        .filter(|f| f.starts_with("_partials/"))
        .map(str::to_string)
        .collect();
    loop {
        let before = partials.len();
        for (name, text) in registry.partials() {
            if !partials.contains(name) && partials.iter().any(|p| text.contains(p.as_str())) {
                partials.insert(name.clone());
            }
        }
        if partials.len() == before {
            return partials;
        }
    }
}

/// The project config at `rev` when it changed since (`Err(())`: it does not parse
/// there; a missing file reads as the defaults).
fn old_config(
    root: &Path,
    rev: &str,
    files: &BTreeSet<String>,
) -> Result<Option<Result<ProjectConfig, ()>>, GitError> {
    files
        .contains(CONFIG_FILE)
        .then(|| {
            let text = git::show_file(root, rev, CONFIG_FILE)?;
            Ok(match text {
                None => Ok(ProjectConfig::default()),
                Some(text) => quick_yaml::<ProjectConfig>(&text).ok_or(()),
            })
        })
        .transpose()
}

/// What changed since `rev`, read once for every eval of the plan.
struct Since<'a> {
    project: &'a Project,
    registry: &'a Registry,
    rev: &'a str,
    /// The changed files, relative to the project root with `/` separators.
    files: BTreeSet<String>,
    /// The changed partials, from [`changed_partials`].
    partials: BTreeSet<String>,
    /// The project config at `rev`, from [`old_config`].
    old_config: Option<Result<ProjectConfig, ()>>,
    home: Option<std::path::PathBuf>,
}

impl Since<'_> {
    /// The path as git names it.
    fn rel(&self, path: &Path) -> String {
        self.project
            .relative(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// The eval with every reason it must run.
    fn eval_change(&self, eval: &EvalPlan) -> Result<EvalChange, GitError> {
        let mut reasons = Vec::new();
        let eval_file = self.rel(&eval.path);
        if self.files.contains(&eval_file) {
            reasons.push(format!("{eval_file} changed"));
        }
        let dataset = self.rel(&eval.dataset.path);
        if self.files.contains(&dataset) {
            reasons.push(format!("{dataset} changed"));
        }
        for prompt in &eval.prompts {
            self.prompt_reasons(prompt, &mut reasons)?;
        }
        self.row_tool_reasons(eval, &mut reasons);
        self.provider_reasons(eval, &mut reasons);
        reasons.dedup();
        Ok(EvalChange {
            eval: eval.name.clone(),
            reasons,
        })
    }

    /// Adds why the prompt changed: its file, a partial it includes, or its alias.
    fn prompt_reasons(
        &self,
        prompt: &PlannedPrompt,
        reasons: &mut Vec<String>,
    ) -> Result<(), GitError> {
        let version = &prompt.version;
        let file = self.rel(&version.path);
        if self.files.contains(&file) {
            reasons.push(format!("{} ({file}) changed", version.reference()));
        }
        if let Ok(text) = std::fs::read_to_string(&version.path) {
            for partial in self.partials.iter().filter(|p| text.contains(p.as_str())) {
                reasons.push(format!(
                    "{} includes prompts/{partial}, which changed",
                    version.reference()
                ));
            }
        }
        for name in &version.shared_tools {
            if let Some(file) = self.changed_shared_tool(name) {
                let reference = version.reference();
                reasons.push(format!(
                    "{reference} uses the shared tool {file}, which changed"
                ));
            }
        }
        reasons.extend(self.alias_reason(prompt)?);
        Ok(())
    }

    /// The file of shared tool `name` (`prompts/_tools/x.yaml`) when it changed.
    fn changed_shared_tool(&self, name: &str) -> Option<String> {
        let tool = self.registry.shared_tools().get(name)?;
        let file = tool.path.to_string_lossy().replace('\\', "/");
        self.files.contains(&file).then_some(file)
    }

    /// Adds a reason for each changed shared tool that rows of the eval add by name.
    fn row_tool_reasons(&self, eval: &EvalPlan, reasons: &mut Vec<String>) {
        if eval.dataset.plain() {
            return;
        }
        // The plan read every row already; a row that cannot be read now adds no reason.
        let mut failed = None;
        let names: BTreeSet<String> = eval
            .rows
            .readable(&mut failed)
            .flat_map(|r| {
                let names: Vec<String> = r
                    .tools()
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_string)
                    .collect();
                names
            })
            .collect();
        for name in names {
            if let Some(file) = self.changed_shared_tool(&name) {
                reasons.push(format!(
                    "rows of {} use the shared tool {file}, which changed",
                    self.rel(&eval.dataset.path)
                ));
            }
        }
    }

    /// Why the prompt's alias changed, if it was requested by one that now points
    /// elsewhere: that changes what the eval runs.
    fn alias_reason(&self, prompt: &PlannedPrompt) -> Result<Option<String>, GitError> {
        let Some((name, alias)) = prompt.requested.split_once('@') else {
            return Ok(None);
        };
        if alias.parse::<u32>().is_ok() {
            return Ok(None);
        }
        let Some(meta) = self.registry.get(name).map(|p| p.meta_path()) else {
            return Ok(None);
        };
        let meta_rel = self.rel(&meta);
        if !self.files.contains(&meta_rel) {
            return Ok(None);
        }
        let now = prompt.version.version;
        Ok(
            match old_alias(&self.project.root, self.rev, &meta_rel, alias)? {
                Some(n) if n == now => None,
                Some(n) => Some(format!("alias {name}@{alias} moved from {n} to {now}")),
                None => Some(format!("alias {name}@{alias} is new (now {now})")),
            },
        )
    }

    /// Adds a reason for each model of the eval whose provider settings changed.
    fn provider_reasons(&self, eval: &EvalPlan, reasons: &mut Vec<String>) {
        let Some(old) = &self.old_config else {
            return;
        };
        for model in &eval.models {
            let now = self.project.config.providers.get(model);
            match old {
                Err(()) => {
                    reasons.push(format!(
                        "{CONFIG_FILE} changed and its version at {} does not parse",
                        self.rev
                    ));
                    break;
                }
                Ok(old) => {
                    let then = old.providers.get(model).cloned().map(|mut p| {
                        crate::config::project::resolve_provider_paths(
                            &mut p,
                            &self.project.root,
                            self.home.as_deref(),
                        );
                        p
                    });
                    if now != then.as_ref() {
                        reasons.push(format!(
                            "settings of provider `{model}` in {CONFIG_FILE} changed"
                        ));
                    }
                }
            }
        }
    }
}

/// An old file from git, parsed when it is YAML of the expected shape; a BOM is ignored,
/// and a text nested too deep to parse quickly counts as unreadable.
fn quick_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    let text = yaml::without_bom(text);
    if crate::config::depth::flow_too_deep(text).is_some() {
        return None;
    }
    serde_yaml::from_str(text).ok()
}

/// The version an alias pointed at in `prompt.yaml` at `rev`.
fn old_alias(root: &Path, rev: &str, meta: &str, alias: &str) -> Result<Option<u32>, GitError> {
    let Some(text) = git::show_file(root, rev, meta)? else {
        return Ok(None);
    };
    let value: serde_yaml::Value = quick_yaml(&text).unwrap_or_default();
    Ok(value
        .get("aliases")
        .and_then(|a| a.get(alias))
        .and_then(serde_yaml::Value::as_u64)
        .and_then(|n| u32::try_from(n).ok()))
}

/// Keeps only the evals named in `keep`, and only the providers they use (so that no
/// local model server starts for a skipped eval).
pub fn restrict(plan: &mut Plan, keep: &[String]) {
    plan.evals.retain(|e| keep.contains(&e.name));
    let used: BTreeSet<String> = plan
        .evals
        .iter()
        .flat_map(|e| e.models.iter().cloned())
        .collect();
    plan.providers.retain(|name, _| used.contains(name));
    plan.provider_configs.retain(|name, _| used.contains(name));
}
