//! Everything that can be wrong with the registry on disk, with what to do about it.

use std::fmt;
use std::path::PathBuf;

use crate::config::yaml::YamlError;
use crate::diagnostic::{Diagnostic, Location};
use crate::tools::ToolProblem;

/// Everything that can be wrong with the registry on disk.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A file or directory could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file or directory, relative to the project root.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file, relative to the project root.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A YAML file (`prompt.yaml`, a YAML version, `prompts.lock`) is malformed.
    #[error(transparent)]
    Yaml(#[from] YamlError),
    /// A version file is not UTF-8 text.
    #[error("{}: not valid UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// A directory under `prompts/`, or a name given to a command, is not a valid name.
    #[error("invalid prompt name `{name}` ({}): names may use letters, digits, `-` and `_` only", path.display())]
    InvalidName {
        /// The name.
        name: String,
        /// The directory it came from (or would go to).
        path: PathBuf,
    },
    /// Two files define the same version number.
    #[error("{prompt}@{version} is defined twice: {} and {}", first.display(), second.display())]
    DuplicateVersion {
        /// The prompt.
        prompt: String,
        /// The version number.
        version: u32,
        /// One file.
        first: PathBuf,
        /// The other file.
        second: PathBuf,
    },
    /// A directory in a prompt directory is named like a version file (`v3.yaml/`).
    #[error("{}: named like a version of `{prompt}`, but it is a directory", path.display())]
    VersionIsDirectory {
        /// The prompt.
        prompt: String,
        /// The directory.
        path: PathBuf,
    },
    /// A YAML version has neither `messages` nor `prompt`, or both.
    #[error("{}: {problem}", path.display())]
    InvalidVersion {
        /// The version file.
        path: PathBuf,
        /// What is wrong, e.g. "has neither `messages` nor `prompt`".
        problem: String,
    },
    /// A tool of a version or a shared tool definition is wrong.
    #[error("{location}: {problem}")]
    Tool {
        /// Where: the version file and the line of the tool.
        location: Location,
        /// What is wrong.
        problem: Box<ToolProblem>,
    },
    /// No prompt has this name.
    #[error("unknown prompt `{name}`{}", known_list(known))]
    UnknownPrompt {
        /// The name asked for.
        name: String,
        /// Every prompt there is.
        known: Vec<String>,
        /// A known name close to the one asked for.
        suggestion: Option<String>,
    },
    /// The prompt exists, but not this version.
    #[error(
        "{prompt}@{version} does not exist; available versions: {}",
        version_list(available)
    )]
    UnknownVersion {
        /// The prompt.
        prompt: String,
        /// The version asked for.
        version: u32,
        /// The versions there are.
        available: Vec<u32>,
    },
    /// The prompt has no versions at all.
    #[error("prompt `{prompt}` has no versions ({} holds no v<N> file)", dir.display())]
    NoVersions {
        /// The prompt.
        prompt: String,
        /// Its directory.
        dir: PathBuf,
    },
    /// `prompt.yaml` defines no such alias.
    #[error("prompt `{prompt}` has no alias `{alias}` in {}; {}", file.display(), alias_list(aliases))]
    UnknownAlias {
        /// The prompt.
        prompt: String,
        /// The alias asked for.
        alias: String,
        /// Its `prompt.yaml`.
        file: PathBuf,
        /// The aliases there are.
        aliases: Vec<String>,
    },
    /// An alias in `prompt.yaml` points at a version that does not exist.
    #[error("{}{}: alias `{alias}` points to {prompt}@{version}, which does not exist; available versions: {}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), version_list(available))]
    DanglingAlias {
        /// `prompt.yaml`.
        file: PathBuf,
        /// The line of the alias in it, when known (`u32` keeps the error small).
        line: Option<u32>,
        /// The prompt.
        prompt: String,
        /// The alias.
        alias: String,
        /// The version it names.
        version: u32,
        /// The versions there are.
        available: Vec<u32>,
    },
    /// An alias name is not allowed.
    #[error("{}: invalid alias name `{alias}`: {reason}", file.display())]
    InvalidAlias {
        /// `prompt.yaml`.
        file: PathBuf,
        /// The alias.
        alias: String,
        /// Why it is not allowed.
        reason: &'static str,
    },
    /// `prompts.lock` has a format version this build does not understand.
    #[error("{}: unsupported lock file version {found} (this prompteval reads versions 1 to {expected})", path.display())]
    LockVersion {
        /// The lock file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build writes.
        expected: u32,
    },
    /// Locked (released) versions changed or disappeared.
    #[error("{}", violations_message(violations))]
    LockViolated {
        /// Every violation, in prompt and version order.
        violations: Vec<LockViolation>,
    },
}

/// One locked version that no longer matches `prompts.lock`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockViolation {
    /// The file's content changed.
    Changed {
        /// `name@N`.
        reference: String,
        /// The prompt's name.
        prompt: String,
        /// The version file.
        path: PathBuf,
        /// The hash in the lock file.
        locked: String,
        /// The hash of the file now.
        actual: String,
    },
    /// A partial the version includes changed or is gone.
    PartialChanged {
        /// `name@N`.
        reference: String,
        /// The prompt's name.
        prompt: String,
        /// The partial, as included: `_partials/rules.jinja`.
        partial: String,
        /// Whether the partial file is gone.
        deleted: bool,
    },
    /// A shared tool the version references changed or is gone.
    ToolChanged {
        /// `name@N`.
        reference: String,
        /// The prompt's name.
        prompt: String,
        /// The tool's file under `prompts/`: `_tools/get_weather.yaml`.
        tool: String,
        /// Whether the file is gone.
        deleted: bool,
    },
    /// The file is gone.
    Missing {
        /// `name@N`.
        reference: String,
        /// The prompt's name.
        prompt: String,
    },
}

impl fmt::Display for LockViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockViolation::Changed {
                reference, path, ..
            } => write!(f, "locked version {reference} changed ({})", path.display()),
            LockViolation::PartialChanged {
                reference,
                partial,
                deleted,
                ..
            } => write!(
                f,
                "locked version {reference} includes prompts/{partial}, which {}",
                if *deleted { "was deleted" } else { "changed" }
            ),
            LockViolation::ToolChanged {
                reference,
                tool,
                deleted,
                ..
            } => write!(
                f,
                "locked version {reference} uses the shared tool prompts/{tool}, which {}",
                if *deleted { "was deleted" } else { "changed" }
            ),
            LockViolation::Missing { reference, .. } => {
                write!(f, "locked version {reference} was deleted")
            }
        }
    }
}

fn violations_message(violations: &[LockViolation]) -> String {
    let list = violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    format!("{list}; released versions are immutable")
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "; there are no prompts under prompts/".to_string()
    } else {
        format!(". Choose from: {}", known.join(", "))
    }
}

fn version_list(available: &[u32]) -> String {
    if available.is_empty() {
        "none".to_string()
    } else {
        available
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn alias_list(aliases: &[String]) -> String {
    if aliases.is_empty() {
        "it defines no aliases".to_string()
    } else {
        format!("defined aliases: {}", aliases.join(", "))
    }
}

impl Diagnostic for RegistryError {
    /// What the user can do about it, when there is something to say.
    fn hint(&self) -> Option<String> {
        match self {
            RegistryError::UnknownPrompt {
                suggestion: Some(s),
                ..
            } => Some(format!("did you mean `{s}`?")),
            RegistryError::UnknownPrompt { name, .. } => Some(format!(
                "create it with `prompteval prompt new {name}`"
            )),
            RegistryError::NoVersions { prompt, .. } => Some(format!(
                "create a first version with `prompteval prompt new {prompt}`"
            )),
            RegistryError::UnknownVersion { prompt, .. } => Some(format!(
                "use `{prompt}` for the latest version, or `prompteval prompt list` to see versions"
            )),
            RegistryError::UnknownAlias {
                prompt,
                alias,
                aliases,
                ..
            } => Some(match super::resolve::suggest(alias, aliases) {
                Some(close) => format!("did you mean `{prompt}@{close}`?"),
                None => {
                    format!("define it with `prompteval prompt alias {prompt} {alias} <version>`")
                }
            }),
            RegistryError::DanglingAlias { prompt, alias, .. } => Some(format!(
                "point it at an existing version: `prompteval prompt alias {prompt} {alias} <version>`"
            )),
            RegistryError::VersionIsDirectory { .. } => Some(
                "a version is one file (v<N>.jinja, .txt, .md or .yaml): move the file out of the directory, or rename the directory".into(),
            ),
            RegistryError::DuplicateVersion { .. } => {
                Some("keep one file per version number: rename or delete one of them".into())
            }
            RegistryError::InvalidVersion { .. } => Some(
                "a YAML version needs `messages: [{role, content}]` (roles: system, user, assistant) or `prompt: \"...\"`".into(),
            ),
            RegistryError::InvalidName { .. } => {
                Some("rename the directory using letters, digits, `-` and `_`".into())
            }
            RegistryError::InvalidAlias { .. } => Some(
                "aliases use letters, digits, `-` and `_`, are not plain numbers and not `latest`".into(),
            ),
            RegistryError::LockViolated { violations } => {
                let first = violations.first()?;
                Some(match first {
                    LockViolation::Changed { prompt, path, .. } => format!(
                        "restore the file (`git checkout -- {}`) and put your edit in a new version: `prompteval prompt new {prompt}`",
                        path.display()
                    ),
                    LockViolation::PartialChanged {
                        prompt, partial, ..
                    } => format!(
                        "restore the partial (`git checkout -- prompts/{partial}`); to change it, copy it to a new partial and include that from a new version: `prompteval prompt new {prompt}`"
                    ),
                    LockViolation::ToolChanged { prompt, tool, .. } => format!(
                        "restore the tool (`git checkout -- prompts/{tool}`); to change it, copy it to a new file under prompts/_tools/ and reference that from a new version: `prompteval prompt new {prompt}`"
                    ),
                    LockViolation::Missing { prompt, .. } => format!(
                        "restore the deleted file from version control (`git checkout -- prompts/{prompt}`); released versions must stay"
                    ),
                })
            }
            RegistryError::LockVersion { .. } => {
                Some("upgrade prompteval, or regenerate the lock with `prompteval prompt lock`".into())
            }
            RegistryError::Tool { problem, .. } => problem.hint(),
            RegistryError::Yaml(err) => err.hint(),
            RegistryError::Read { .. }
            | RegistryError::Write { .. }
            | RegistryError::NotUtf8 { .. } => None,
        }
    }
}
