//! Which part of the project a run covers: evals by name or path, prompt and model
//! overrides, a case pattern, a limit and repeats.

use std::path::PathBuf;

use crate::config::project::Project;
use crate::error::Error;
use crate::registry::PromptRef;

use super::SpecError;

/// Which part of the project to run: from the command line.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Eval names (file stems) or paths; empty = every eval in `evals/`.
    pub evals: Vec<String>,
    /// Prompt references replacing an eval's versions of the same prompt.
    pub prompts: Vec<PromptRef>,
    /// Models replacing every eval's models.
    pub models: Vec<String>,
    /// Only cases whose id matches.
    pub case: Option<regex::Regex>,
    /// Only the first N selected cases of each dataset.
    pub limit: Option<usize>,
    /// Repeats replacing every eval's `repeat`.
    pub repeat: Option<u32>,
}

/// Eval names (file stems) available in the project.
pub fn eval_names(project: &Project) -> Result<Vec<(String, PathBuf)>, Error> {
    let files = project
        .eval_files()
        .map_err(|source| SpecError::ListEvals {
            dir: project.evals_dir(),
            source,
        })?;
    Ok(files
        .into_iter()
        .map(|p| {
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
            (stem.unwrap_or_default(), p)
        })
        .collect())
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
