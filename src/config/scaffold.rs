//! `prompteval init`: a small working project — config, one prompt with two versions, a
//! dataset and an eval that runs offline on the echo model.

use crate::diagnostic::Diagnostic;
use std::path::{Path, PathBuf};

/// The project could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// A file is already there; nothing was overwritten.
    #[error("{} already exists", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("failed to write {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Diagnostic for ScaffoldError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            ScaffoldError::Exists { .. } => {
                Some("`prompteval init` never overwrites files; pick an empty directory".into())
            }
            ScaffoldError::Io { .. } => None,
        }
    }
}

const FILES: &[(&str, &str)] = &[
    (
        "prompteval.yaml",
        "# Named providers (models) and run defaults.\nproviders:\n  echo:\n    kind: echo   # returns the rendered prompt: offline and free\n  # gpt-mini:\n  #   kind: openai\n  #   model: gpt-4o-mini\n  #   api_key_env: OPENAI_API_KEY\ndefaults:\n  concurrency: 8\n",
    ),
    (
        "prompts/greeting/prompt.yaml",
        "description: Greet a user in their language.\ntags: [example]\n# production is what ships; candidate is the version being tried.\naliases:\n  production: 1\n  candidate: 2\n",
    ),
    (
        "prompts/greeting/v1.jinja",
        "{#- v1 never says which language to use, so the language assertion fails. -#}\nSay hello to {{ name }}.\n",
    ),
    (
        "prompts/greeting/v2.yaml",
        "note: answer in the user's language\nparams:\n  temperature: 0\nmessages:\n  - role: system\n    content: You greet people warmly, in their own language.\n  - role: user\n    content: \"Say hello to {{ name }} in {{ language }}.\"\n",
    ),
    (
        "datasets/people.csv",
        "id,name,language\nada,Ada,English\nbruno,Bruno,Portuguese\nchiara,Chiara,Italian\n",
    ),
    (
        "evals/greeting.yaml",
        "description: Does the prompt name the person and the language?\n# On echo the \"answer\" is the rendered prompt itself: v1 (production) leaves the\n# language out and fails; v2 (candidate) names it and passes.\nprompts: [greeting@production, greeting@candidate]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ name }}\"\n  - type: contains\n    value: \"{{ language }}\"\ngate:\n  min_pass_rate: 0.9\n  prompts: [greeting@candidate]   # production runs for comparison only\n",
    ),
];

/// Creates the example project in `dir`; refuses to overwrite any file.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>, ScaffoldError> {
    for (rel, _) in FILES {
        let path = dir.join(rel);
        if path.exists() {
            return Err(ScaffoldError::Exists { path });
        }
    }
    let mut created = Vec::new();
    for (rel, content) in FILES {
        let path = dir.join(rel);
        let io = |source| ScaffoldError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, content).map_err(io)?;
        created.push(path);
    }
    Ok(created)
}
