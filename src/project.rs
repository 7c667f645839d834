//! The project: finds its root, reads `prompteval.yaml`, and resolves settings once
//! (flags > environment > file > defaults).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostic::Warning;
use crate::provider::ProviderConfig;
use crate::yaml::{self, YamlError};

/// The project configuration file name.
pub const CONFIG_FILE: &str = "prompteval.yaml";

/// Defaults that apply to every run of the project.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Defaults {
    /// Cells in flight at once across all providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Models used by evals that name none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
}

/// `prompteval.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectConfig {
    /// Named providers (models).
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Defaults for runs.
    #[serde(default)]
    pub defaults: Defaults,
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

impl ProjectError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            ProjectError::NotFound { .. } => Some(
                "run `prompteval init` to create a project here, or pass `-C DIR` to point at one"
                    .into(),
            ),
            ProjectError::Config(_) => Some(format!("fix {CONFIG_FILE} and run again")),
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
            if dir.join(CONFIG_FILE).is_file() {
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
        let (config, warnings): (ProjectConfig, _) = if path.is_file() {
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

    /// Every eval file under `evals/` (`*.yaml`, `*.yml`), sorted.
    pub fn eval_files(&self) -> std::io::Result<Vec<PathBuf>> {
        let dir = self.evals_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yaml") | Some("yml")
                    )
            })
            .collect();
        files.sort();
        Ok(files)
    }
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
        assert_eq!(project.config.providers["fast"].kind, "echo");
    }

    #[test]
    fn no_project_is_an_error_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = Project::discover(dir.path()).unwrap_err();
        assert!(err.hint().unwrap().contains("prompteval init"));
    }

    #[test]
    fn unknown_key_in_config_warns() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "providers:\n  fast:\n    kind: echo\n    modle: x\n",
        )
        .unwrap();
        let (_, warnings) = Project::load(dir.path()).unwrap();
        assert_eq!(
            warnings[0].to_string(),
            "prompteval.yaml:4: unknown key `providers.fast.modle` ignored"
        );
    }
}
