//! Which part of the project a run covers: evals, prompt and model overrides, cases, repeats.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::project::Project;
use crate::diagnostic::Location;
use crate::plan::PlanError as Error;
use crate::registry::PromptRef;

use super::SpecError;

/// Which part of the project to run, as given on the command line.
///
/// The same value travels from the flags to the plan and into a run's `plan.json`, which
/// `--resume` reads back: it keeps the text as given (the plan parses it), and its
/// serialized form is that file's `selection` (do not rename or reorder fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Eval names (file stems) or paths; empty = every eval in `evals/`.
    #[serde(default)]
    pub evals: Vec<String>,
    /// Prompt references (`--prompt`) replacing an eval's versions of the same prompt.
    #[serde(default)]
    pub prompts: Vec<String>,
    /// Models (`--model`) replacing every eval's models.
    #[serde(default)]
    pub models: Vec<String>,
    /// Only cases whose id matches this regular expression (`--case`).
    #[serde(default)]
    pub case: Option<String>,
    /// Only the first N selected cases of each dataset (`--limit`).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Repeats replacing every eval's `repeat` (`--repeat`).
    #[serde(default)]
    pub repeat: Option<u32>,
}

impl Selection {
    /// The prompt references and the case pattern, parsed; every problem with them (and a
    /// `--repeat` of 0) is reported at once.
    pub(super) fn parse(&self) -> Result<(Vec<PromptRef>, Option<regex::Regex>), Error> {
        let mut errors = Vec::new();
        let mut prompts = Vec::new();
        for p in &self.prompts {
            match p.parse() {
                Ok(r) => prompts.push(r),
                Err(source) => errors.push(
                    SpecError::BadReference {
                        location: Location::file("--prompt"),
                        source,
                    }
                    .into(),
                ),
            }
        }
        let case = match self.case.as_deref().map(regex::Regex::new) {
            None => None,
            Some(Ok(re)) => Some(re),
            Some(Err(e)) => {
                errors.push(
                    SpecError::Invalid {
                        location: Location::file("--case"),
                        message: format!("invalid pattern: {e}"),
                    }
                    .into(),
                );
                None
            }
        };
        if self.repeat == Some(0) {
            errors.push(
                SpecError::Invalid {
                    location: Location::file("--repeat"),
                    message: "must be at least 1".into(),
                }
                .into(),
            );
        }
        Error::collect(errors)?;
        Ok((prompts, case))
    }
}

/// Eval names (file stems) available in the project.
pub fn eval_names(project: &Project) -> Result<Vec<(String, PathBuf)>, Error> {
    let files = project
        .eval_files()
        .map_err(|source| SpecError::ListEvals {
            dir: project.evals_dir(),
            source,
        })?;
    let mut names: Vec<(String, PathBuf)> = Vec::with_capacity(files.len());
    for path in files {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        let stem = stem.unwrap_or_default();
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == stem) {
            let rel = |p: &Path| p.strip_prefix(&project.root).unwrap_or(p).to_path_buf();
            return Err(SpecError::DuplicateEvalName {
                name: stem,
                first: rel(first),
                second: rel(&path),
            }
            .into());
        }
        names.push((stem, path));
    }
    Ok(names)
}

/// The eval files `selection` names, or every eval when it names none.
pub(super) fn select_evals(
    project: &Project,
    selection: &Selection,
) -> Result<Vec<(String, PathBuf)>, Error> {
    let available = eval_names(project)?;
    if selection.evals.is_empty() {
        if available.is_empty() {
            return Err(SpecError::EvalNotFound {
                name: "*".into(),
                available: vec![],
            }
            .into());
        }
        return Ok(available);
    }
    let mut out = Vec::new();
    for wanted in &selection.evals {
        let as_path = project.root.join(wanted);
        if wanted.ends_with(".yaml") || wanted.ends_with(".yml") || wanted.contains('/') {
            let cwd_path = PathBuf::from(wanted);
            let path = if cwd_path.is_file() {
                cwd_path
            } else {
                as_path
            };
            if path.is_file() {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((stem, std::path::absolute(&path).unwrap_or(path)));
                continue;
            }
        }
        match available.iter().find(|(n, _)| n == wanted) {
            Some(found) => out.push(found.clone()),
            None => {
                return Err(SpecError::EvalNotFound {
                    name: wanted.clone(),
                    available: available.iter().map(|(n, _)| n.clone()).collect(),
                }
                .into())
            }
        }
    }
    Ok(out)
}
