//! The project: finds its root, reads `prompteval.yaml`, and resolves settings once
//! (flags > environment > file > defaults).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::yaml::{self, YamlError};
use crate::diagnostic::{Diagnostic, Warning};
use crate::provider::ProviderConfig;

/// The project configuration file name.
pub const CONFIG_FILE: &str = "prompteval.yaml";

/// Defaults that apply to every run of the project.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Cells in flight at once across all providers; at least 1 (0 is an error, not 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<std::num::NonZeroUsize>,
    /// Models used by evals that name none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// The judge of model-graded assertions in evals that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader: Option<String>,
    /// The embeddings provider of `similar` assertions in evals that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<String>,
}

/// Where runs and prompts are shared with a team (`tracking:` in `prompteval.yaml`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingConfig {
    /// The MLflow tracking server (`http://mlflow.internal:5000`); `--mlflow` and
    /// `MLFLOW_TRACKING_URI` take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow: Option<String>,
    /// One MLflow experiment for every eval, instead of one per eval named after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
}

/// `prompteval.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Named providers (models).
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Defaults for runs.
    #[serde(default)]
    pub defaults: Defaults,
    /// The response cache (`ttl`, `dir`, `enabled`, `always`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub cache: crate::provider::cache::CacheConfig,
    /// Team tracking (MLflow).
    #[serde(default, skip_serializing_if = "is_default")]
    pub tracking: TrackingConfig,
    /// Tool handlers for every eval, by tool name, as written (an eval's own entry for a
    /// tool wins); checked by the plan of each eval that declares the tool.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub tool_handlers: serde_json::Map<String, serde_json::Value>,
    /// Named MCP servers for every eval (an eval's own entry of a name wins), as written;
    /// checked by the plan of each eval that uses one (`plan/mcp_servers.rs`).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub mcp_servers: serde_json::Map<String, serde_json::Value>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The project could not be found or its configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No project root above the starting directory.
    #[error("no prompteval project found in {} or any parent directory", start.display())]
    NotFound {
        /// Where the search started.
        start: PathBuf,
    },
    /// `prompteval.yaml` is malformed.
    #[error("invalid project configuration")]
    Config(#[source] YamlError),
    /// A provider name that cannot be used in references.
    #[error("{file}: provider name `{name}` may use letters, digits, `-`, `_` and `.` only")]
    BadProviderName {
        /// The config file.
        file: String,
        /// The name.
        name: String,
    },
}

impl Diagnostic for ProjectError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            ProjectError::NotFound { .. } => Some(
                "run `prompteval init` to create a project here, or pass `-C DIR` to point at one"
                    .into(),
            ),
            ProjectError::Config(err) => Some(match err.hint() {
                Some(line) => format!("{line}\nfix {CONFIG_FILE} and run again"),
                None => format!("fix {CONFIG_FILE} and run again"),
            }),
            ProjectError::BadProviderName { .. } => None,
        }
    }
}

/// A loaded project.
#[derive(Clone, Debug)]
pub struct Project {
    /// The root directory (holds `prompteval.yaml`, `prompts/`, `evals/`).
    pub root: PathBuf,
    /// The configuration (default when there is no `prompteval.yaml`).
    pub config: ProjectConfig,
}

impl Project {
    /// Finds the project root at or above `start`: the first directory holding
    /// `prompteval.yaml`, or else `prompts/` or `evals/`.
    pub fn discover(start: &Path) -> Result<(Project, Vec<Warning>), ProjectError> {
        let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
        let mut fallback = None;
        for dir in start.ancestors() {
            // Anything by that name (a directory, a broken link) is the root, and an error.
            if dir.join(CONFIG_FILE).symlink_metadata().is_ok() {
                return Project::load(dir);
            }
            if fallback.is_none() && (dir.join("prompts").is_dir() || dir.join("evals").is_dir()) {
                fallback = Some(dir.to_path_buf());
            }
        }
        match fallback {
            Some(root) => Ok((
                Project {
                    root,
                    config: ProjectConfig::default(),
                },
                Vec::new(),
            )),
            None => Err(ProjectError::NotFound { start }),
        }
    }

    /// Loads the project rooted at `root`.
    pub fn load(root: &Path) -> Result<(Project, Vec<Warning>), ProjectError> {
        let path = root.join(CONFIG_FILE);
        // A directory or a broken link by that name is not "no config": reading it fails.
        let (mut config, warnings): (ProjectConfig, _) = if path.symlink_metadata().is_ok() {
            yaml::read(&path, Path::new(CONFIG_FILE)).map_err(ProjectError::Config)?
        } else {
            (ProjectConfig::default(), Vec::new())
        };
        for name in config.providers.keys() {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                return Err(ProjectError::BadProviderName {
                    file: CONFIG_FILE.into(),
                    name: name.clone(),
                });
            }
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        for provider in config.providers.values_mut() {
            resolve_provider_paths(provider, root, home.as_deref());
        }
        Ok((
            Project {
                root: root.to_path_buf(),
                config,
            },
            warnings,
        ))
    }

    /// The directory of eval files.
    pub fn evals_dir(&self) -> PathBuf {
        self.root.join("evals")
    }

    /// The store directory (`.prompteval/`).
    pub fn store_dir(&self) -> PathBuf {
        self.root.join(".prompteval")
    }

    /// A path relative to the root, for messages; absolute if outside the root.
    pub fn relative(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }

    /// Every eval file under `evals/` (`*.yaml`, `*.yml`), sorted. A link to nothing or a
    /// link loop by such a name is an error, not a file that is not there.
    pub fn eval_files(&self) -> std::io::Result<Vec<PathBuf>> {
        let dir = self.evals_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let yaml = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml") | Some("yml")
            );
            if !yaml {
                continue;
            }
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => files.push(path),
                Ok(_) => {}
                Err(e) => return Err(unreadable_link(&self.root, &path, e)),
            }
        }
        files.sort();
        Ok(files)
    }
}

/// The error for eval file `path` whose link leads nowhere (`e` from following it).
fn unreadable_link(root: &Path, path: &Path, e: std::io::Error) -> std::io::Error {
    let shown = path.strip_prefix(root).unwrap_or(path).display();
    let target = std::fs::read_link(path)
        .map(|t| format!(" -> {}", t.display()))
        .unwrap_or_default();
    let what = if e.kind() == std::io::ErrorKind::NotFound {
        "is a symbolic link to a file that does not exist".to_string()
    } else {
        format!("cannot be followed ({e})")
    };
    std::io::Error::new(e.kind(), format!("{shown}{target} {what}"))
}

/// Makes a provider's file settings absolute, since building a provider does not know the
/// root (see [`ProviderConfig::resolve_paths`] and [`resolve_user_path`]).
pub fn resolve_provider_paths(provider: &mut ProviderConfig, root: &Path, home: Option<&Path>) {
    provider.resolve_paths(&|path| resolve_user_path(path, root, home));
}

/// A path from the user's config: `~/x` is under `home` (kept as written when there is no
/// home), a relative path is under `root`, an absolute path stays.
pub fn resolve_user_path(path: &Path, root: &Path, home: Option<&Path>) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~") {
        if let Some(home) = home {
            return home.join(rest);
        }
        return path.to_path_buf();
    }
    root.join(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_root_from_a_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "providers:\n  fast: {kind: echo}\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("evals/sub")).unwrap();
        let (project, warnings) = Project::discover(&dir.path().join("evals/sub")).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(project.root, dir.path());
        assert_eq!(project.config.providers["fast"].kind_name(), "echo");
    }

    #[test]
    fn no_project_is_an_error_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = Project::discover(dir.path()).unwrap_err();
        assert!(err.hint().unwrap().contains("prompteval init"));
    }

    #[test]
    fn user_paths() {
        let root = Path::new("/proj");
        let home = Some(Path::new("/home/u"));
        let r = |p: &str| resolve_user_path(Path::new(p), root, home);
        assert_eq!(r("models/m.gguf"), PathBuf::from("/proj/models/m.gguf"));
        assert_eq!(r("./m.gguf"), PathBuf::from("/proj/./m.gguf"));
        assert_eq!(r("/abs/m.gguf"), PathBuf::from("/abs/m.gguf"));
        assert_eq!(r("~/m.gguf"), PathBuf::from("/home/u/m.gguf"));
        assert_eq!(r("~"), PathBuf::from("/home/u"));
        assert_eq!(r("~x/m.gguf"), PathBuf::from("/proj/~x/m.gguf"));
        assert_eq!(
            resolve_user_path(Path::new("~/m"), root, None),
            PathBuf::from("~/m")
        );
    }

    #[test]
    fn provider_paths_are_resolved_on_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "providers:\n  local:\n    kind: llamacpp\n    model_path: models/m.gguf\n    binary: bin/llama-server\n  path:\n    kind: llamacpp\n    binary: llama-server\n",
        )
        .unwrap();
        let (project, _) = Project::load(dir.path()).unwrap();
        let llamacpp = |name: &str| match &project.config.providers[name].kind {
            crate::provider::KindSettings::LlamaCpp(settings) => settings.clone(),
            other => panic!("{other:?}"),
        };
        let local = llamacpp("local");
        assert_eq!(local.model_path, Some(dir.path().join("models/m.gguf")));
        assert_eq!(local.binary, Some(dir.path().join("bin/llama-server")));
        let path = llamacpp("path");
        assert_eq!(path.binary, Some(PathBuf::from("llama-server")));
        assert_eq!(path.model_path, None);
    }

    #[test]
    fn unknown_key_in_config_outside_providers_was_only_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "providers:\n  fast:\n    kind: echo\ndefaults:\n  concurency: 4\n",
        )
        .unwrap();
        let err = Project::load(dir.path()).unwrap_err();
        assert_eq!(
            std::error::Error::source(&err).unwrap().to_string(),
            "prompteval.yaml:5:3: at `defaults.concurency`: unknown key `concurency` (did you mean `concurrency`?). Choose from: concurrency, models, grader, embedder"
        );
    }

    #[test]
    fn a_key_the_providers_kind_does_not_take_is_an_error_at_that_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "providers:\n  fast:\n    kind: openai\n    modle: x\n",
        )
        .unwrap();
        let err = Project::load(dir.path()).unwrap_err();
        let ProjectError::Config(err) = err else {
            panic!("{err}");
        };
        assert_eq!(
            err.to_string(),
            "prompteval.yaml:4:12: at `providers.fast.modle`: unknown key `modle` for kind `openai` (did you mean `model`?). Choose from: model, base_url, api_key_env, concurrency, timeout, max_retries, params, price, rpm, tpm"
        );
    }

    #[test]
    fn a_prompteval_yaml_that_is_a_directory_was_no_config_at_all() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(CONFIG_FILE)).unwrap();
        std::fs::create_dir_all(dir.path().join("evals")).unwrap();
        let err = Project::load(dir.path()).unwrap_err();
        assert!(
            matches!(err, ProjectError::Config(YamlError::Read { .. })),
            "{err}"
        );
        let err = Project::discover(&dir.path().join("evals")).unwrap_err();
        assert!(matches!(err, ProjectError::Config(_)), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_broken_link_or_link_loop_in_evals_was_silently_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let evals = dir.path().join("evals");
        std::fs::create_dir_all(&evals).unwrap();
        std::fs::write(evals.join("ok.yaml"), "dataset: d.csv\n").unwrap();
        let project = Project {
            root: dir.path().to_path_buf(),
            config: ProjectConfig::default(),
        };
        assert_eq!(project.eval_files().unwrap(), vec![evals.join("ok.yaml")]);
        std::os::unix::fs::symlink("gone.yaml", evals.join("b.yaml")).unwrap();
        let err = project.eval_files().unwrap_err();
        assert_eq!(
            err.to_string(),
            "evals/b.yaml -> gone.yaml is a symbolic link to a file that does not exist"
        );
        std::fs::remove_file(evals.join("b.yaml")).unwrap();
        std::os::unix::fs::symlink("l2.yml", evals.join("l1.yml")).unwrap();
        std::os::unix::fs::symlink("l1.yml", evals.join("l2.yml")).unwrap();
        let err = project.eval_files().unwrap_err().to_string();
        assert!(err.contains(" cannot be followed ("), "{err}");
    }
}
