//! The registry's data: prompts, their versions, `prompt.yaml` metadata and lock states.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::template::message::Role;
use crate::tools::ToolSet;

/// Sampling and request parameters of a version (`temperature`, `max_tokens`, `stop`, …),
/// passed through to providers as they are.
pub type Params = serde_json::Map<String, serde_json::Value>;

/// One message template of a chat version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTemplate {
    /// Who speaks.
    pub role: Role,
    /// The template source.
    pub content: String,
}

/// The template(s) of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptBody {
    /// A plain template file (`.jinja`, `.txt`, `.md`), or a YAML version with `prompt:`.
    Text(String),
    /// A YAML version with `messages`.
    Chat(Vec<MessageTemplate>),
}

/// One numbered version of a prompt.
#[derive(Clone, Debug)]
pub struct PromptVersion {
    /// The prompt's name (its directory).
    pub name: String,
    /// The version number (from the file name `vN.ext`).
    pub version: u32,
    /// The version file, relative to the project root.
    pub path: PathBuf,
    /// The template(s).
    pub body: PromptBody,
    /// Request parameters from a YAML version.
    pub params: Params,
    /// Why this version exists.
    pub note: Option<String>,
    /// `sha256:<hex>` of the file's bytes with CRLF normalised to LF.
    pub hash: String,
    /// The tools it offers (inline and shared, in the order written), its `tool_choice` and
    /// `parallel_tool_calls`; empty when it declares none.
    pub tools: Arc<ToolSet>,
    /// The shared tools (`prompts/_tools/NAME.yaml`) among them, by name.
    pub shared_tools: Vec<String>,
}

impl PromptVersion {
    /// The canonical reference, `name@N`.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Whether the version file is YAML (chat messages or `prompt:` with params) rather
    /// than a plain template.
    pub fn is_yaml(&self) -> bool {
        is_yaml_path(&self.path)
    }
}

/// Whether a version file name has a YAML extension.
pub(crate) fn is_yaml_path(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// The contents of `prompt.yaml`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptMeta {
    /// What the prompt is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Alias → version number (`production: 2`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, u32>,
    /// Notes for versions whose file cannot hold one (plain templates): version → note.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<u32, String>,
}

/// A prompt: a directory under `prompts/` with its versions.
#[derive(Clone, Debug)]
pub struct Prompt {
    /// The name (directory name).
    pub name: String,
    /// The directory, relative to the project root.
    pub dir: PathBuf,
    /// `prompt.yaml`.
    pub meta: PromptMeta,
    /// Versions by number.
    pub versions: BTreeMap<u32, PromptVersion>,
}

impl Prompt {
    /// The version with the highest number, if there is any.
    pub fn latest(&self) -> Option<&PromptVersion> {
        self.versions.values().next_back()
    }

    /// The aliases that point at version `n`, in name order.
    pub fn aliases_for(&self, n: u32) -> Vec<&str> {
        self.meta
            .aliases
            .iter()
            .filter(|(_, v)| **v == n)
            .map(|(a, _)| a.as_str())
            .collect()
    }

    /// `prompt.yaml` of this prompt, relative to the project root.
    pub fn meta_path(&self) -> PathBuf {
        self.dir.join(super::load::META_FILE)
    }
}

/// The state of a version with respect to `prompts.lock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockState {
    /// Locked and unchanged.
    Locked,
    /// Not in the lock file yet: a draft that may still change.
    Draft,
    /// Locked, but the file changed since.
    Changed {
        /// The hash in the lock file.
        locked: String,
    },
}

/// All prompts of a project.
#[derive(Clone, Debug)]
pub struct Registry {
    pub(super) root: PathBuf,
    pub(super) prompts: BTreeMap<String, Prompt>,
    pub(super) partials: BTreeMap<String, String>,
    pub(super) shared_tools: super::tools::SharedTools,
    pub(super) lock: super::lock::LockMap,
}

impl Registry {
    /// The project root this registry was loaded from.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// All prompts by name.
    pub fn prompts(&self) -> impl Iterator<Item = &Prompt> {
        self.prompts.values()
    }

    /// A prompt by name.
    pub fn get(&self, name: &str) -> Option<&Prompt> {
        self.prompts.get(name)
    }

    /// Partials: name as used in `{% include %}` (`_partials/x.jinja`) → source.
    pub fn partials(&self) -> &BTreeMap<String, String> {
        &self.partials
    }

    /// Shared tool definitions (`prompts/_tools/NAME.yaml`) by name.
    pub fn shared_tools(&self) -> &super::tools::SharedTools {
        &self.shared_tools
    }
}
