//! `--changed-since REV`: which evals must run because something they use changed since REV.

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::git::{self, GitError};
use crate::config::project::{Project, ProjectConfig, CONFIG_FILE};
use crate::config::yaml;
use crate::diagnostic::Diagnostic;
use crate::plan::Plan;
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
    let root = &project.root;
    let files: BTreeSet<String> = git::changed_files(root, rev)
        .map_err(wrap)?
        .into_iter()
        .collect();
    let rel =
        |path: &Path| -> String { project.relative(path).to_string_lossy().replace('\\', "/") };

    // Partials that changed, and (to a fixed point) partials that include a changed one.
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
            break;
        }
    }

    let old_config: Option<Result<ProjectConfig, ()>> = files
        .contains(CONFIG_FILE)
        .then(|| {
            let text = git::show_file(root, rev, CONFIG_FILE).map_err(wrap)?;
            Ok(match text {
                None => Ok(ProjectConfig::default()),
                Some(text) => quick_yaml::<ProjectConfig>(&text).ok_or(()),
            })
        })
        .transpose()?;
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);

    let mut out = Vec::new();
    for eval in &plan.evals {
        let mut reasons = Vec::new();
        let eval_file = rel(&eval.path);
        if files.contains(&eval_file) {
            reasons.push(format!("{eval_file} changed"));
        }
        let dataset = rel(&eval.dataset.path);
        if files.contains(&dataset) {
            reasons.push(format!("{dataset} changed"));
        }
        for prompt in &eval.prompts {
            let version = &prompt.version;
            let file = rel(&version.path);
            if files.contains(&file) {
                reasons.push(format!("{} ({file}) changed", version.reference()));
            }
            if let Ok(text) = std::fs::read_to_string(&version.path) {
                for partial in partials.iter().filter(|p| text.contains(p.as_str())) {
                    reasons.push(format!(
                        "{} includes prompts/{partial}, which changed",
                        version.reference()
                    ));
                }
            }
            // An alias that now points elsewhere changes what the eval runs.
            if let Some((name, alias)) = prompt.requested.split_once('@') {
                if alias.parse::<u32>().is_err() {
                    if let Some(meta) = registry.get(name).map(|p| p.meta_path()) {
                        let meta_rel = rel(&meta);
                        if files.contains(&meta_rel) {
                            let old = old_alias(root, rev, &meta_rel, alias).map_err(wrap)?;
                            if old != Some(version.version) {
                                reasons.push(match old {
                                    Some(n) => format!(
                                        "alias {name}@{alias} moved from {n} to {}",
                                        version.version
                                    ),
                                    None => format!(
                                        "alias {name}@{alias} is new (now {})",
                                        version.version
                                    ),
                                });
                            }
                        }
                    }
                }
            }
        }
        if let Some(old) = &old_config {
            for model in &eval.models {
                let now = project.config.providers.get(model);
                match old {
                    Err(()) => {
                        reasons.push(format!(
                            "{CONFIG_FILE} changed and its version at {rev} does not parse"
                        ));
                        break;
                    }
                    Ok(old) => {
                        let then = old.providers.get(model).cloned().map(|mut p| {
                            crate::config::project::resolve_provider_paths(
                                &mut p,
                                root,
                                home.as_deref(),
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
        reasons.dedup();
        out.push(EvalChange {
            eval: eval.name.clone(),
            reasons,
        });
    }
    Ok(out)
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
