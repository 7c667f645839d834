//! Reading `prompts/` from disk: prompt directories, version files, `prompt.yaml` and
//! partials.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::RegistryError;
use super::model::{
    is_yaml_path, MessageTemplate, Params, Prompt, PromptBody, PromptMeta, PromptVersion, Registry,
};
use super::reference::is_valid_name;
use super::tools::{resolve_version_tools, SharedTools, WrittenTools, TOOLS_DIR};
use crate::diagnostic::{Location, Warning};
use crate::template::message::Role;
use crate::tools::ToolSet;

/// The directory holding the prompts, under the project root.
pub(crate) const PROMPTS_DIR: &str = "prompts";
/// The metadata file of a prompt directory.
pub(crate) const META_FILE: &str = "prompt.yaml";
/// The directory of partial templates, under `prompts/`.
pub(crate) const PARTIALS_DIR: &str = "_partials";
/// Extensions of plain template versions: the whole file is one template.
pub(crate) const TEXT_EXTENSIONS: &[&str] = &["jinja", "txt", "md"];

impl Registry {
    /// Loads `prompts/` and `prompts.lock` under the project `root`. A missing `prompts/`
    /// directory is an empty registry.
    ///
    /// Stray files are warnings; duplicate version numbers, malformed YAML and aliases that
    /// point at missing versions are errors.
    pub fn load(root: &Path) -> Result<(Registry, Vec<Warning>), RegistryError> {
        let mut warnings = Vec::new();
        let mut prompts = BTreeMap::new();
        let mut partials = BTreeMap::new();
        let prompts_rel = PathBuf::from(PROMPTS_DIR);
        let prompts_abs = root.join(PROMPTS_DIR);
        let shared_tools = super::tools::load_shared_tools(root, &mut warnings)?;
        if prompts_abs.is_dir() {
            for entry in sorted_entries(&prompts_abs, &prompts_rel)? {
                let rel = prompts_rel.join(&entry.name);
                if entry.name == PARTIALS_DIR && entry.is_dir {
                    load_partials(&entry.path, &rel, &mut partials)?;
                } else if entry.name == TOOLS_DIR && entry.is_dir {
                    // Read above: versions refer to them.
                } else if !entry.is_dir {
                    warnings.push(warning(
                        &rel,
                        format!(
                            "`{}` is not a prompt directory; ignored (prompts live in prompts/<name>/)",
                            entry.name
                        ),
                    ));
                } else if !is_valid_name(&entry.name) {
                    return Err(RegistryError::InvalidName {
                        name: entry.name,
                        path: rel,
                    });
                } else {
                    let (prompt, w) = load_prompt_dir(root, &entry.name, Some(&shared_tools))?;
                    warnings.extend(w);
                    prompts.insert(entry.name, prompt);
                }
            }
        }
        for prompt in prompts.values() {
            validate_aliases(prompt).map_err(|e| with_alias_line(root, e))?;
        }
        let lock = super::lock::read_lock(root)?;
        let registry = Registry {
            root: root.to_path_buf(),
            prompts,
            partials,
            shared_tools,
            lock,
        };
        Ok((registry, warnings))
    }
}

/// `sha256:<hex>` of `bytes` with every CRLF replaced by LF, so that a checkout on Windows
/// hashes the same as one on Linux.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    let mut start = 0;
    for (i, pair) in bytes.windows(2).enumerate() {
        if pair == b"\r\n" {
            hasher.update(&bytes[start..i]);
            start = i + 1;
        }
    }
    hasher.update(&bytes[start..]);
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// One directory entry, with its name as text.
struct Entry {
    name: String,
    path: PathBuf,
    is_dir: bool,
}

/// The entries of `dir` sorted by name, without hidden ones (`.gitkeep`, `.DS_Store`).
fn sorted_entries(dir: &Path, rel: &Path) -> Result<Vec<Entry>, RegistryError> {
    let read_err = |source| RegistryError::Read {
        path: rel.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        entries.push(Entry {
            is_dir: path.is_dir(),
            name,
            path,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn warning(path: &Path, message: String) -> Warning {
    Warning {
        location: Location::file(path),
        message,
    }
}

/// Reads every file under `_partials/` (recursively) as `_partials/<relative path>`.
fn load_partials(
    dir: &Path,
    rel: &Path,
    partials: &mut BTreeMap<String, String>,
) -> Result<(), RegistryError> {
    for entry in sorted_entries(dir, rel)? {
        let entry_rel = rel.join(&entry.name);
        if entry.is_dir {
            load_partials(&entry.path, &entry_rel, partials)?;
            continue;
        }
        let text = read_text(&entry.path, &entry_rel)?;
        let name = entry_rel
            .strip_prefix(PROMPTS_DIR)
            .unwrap_or(&entry_rel)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        partials.insert(name, text);
    }
    Ok(())
}

/// Reads a UTF-8 text file with CRLF normalised to LF.
fn read_text(path: &Path, rel: &Path) -> Result<String, RegistryError> {
    let bytes = std::fs::read(path).map_err(|source| RegistryError::Read {
        path: rel.to_path_buf(),
        source,
    })?;
    text_of(bytes, rel)
}

/// A file's bytes as text: UTF-8, without a leading byte-order mark (it would be sent to the
/// model as the first character), CRLF normalised to LF.
fn text_of(bytes: Vec<u8>, rel: &Path) -> Result<String, RegistryError> {
    let text = String::from_utf8(bytes).map_err(|_| RegistryError::NotUtf8 {
        path: rel.to_path_buf(),
    })?;
    let text = crate::config::yaml::without_bom(&text);
    Ok(text.replace("\r\n", "\n"))
}

/// What a file name in a prompt directory is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `v<N>.<ext>` with a supported extension.
    Version(u32),
    /// `v<N>.<ext>` with an unsupported extension.
    UnsupportedExtension,
    /// Anything else.
    Other,
}

/// Classifies a file name in a prompt directory.
pub(crate) fn classify(file_name: &str) -> FileKind {
    let Some((stem, ext)) = file_name.split_once('.') else {
        return FileKind::Other;
    };
    let Some(digits) = stem.strip_prefix('v') else {
        return FileKind::Other;
    };
    if digits.is_empty() || digits.starts_with('0') || !digits.chars().all(|c| c.is_ascii_digit()) {
        return FileKind::Other;
    }
    let Ok(n) = digits.parse::<u32>() else {
        return FileKind::Other;
    };
    if TEXT_EXTENSIONS.contains(&ext) || ext == "yaml" || ext == "yml" {
        FileKind::Version(n)
    } else {
        FileKind::UnsupportedExtension
    }
}

/// Loads one prompt directory, without checking its aliases (see [`validate_aliases`]), so
/// that commands that repair a prompt can still read it. Without `shared` tools, the
/// versions' tools are not resolved (left empty): editing commands do not need them.
pub(crate) fn load_prompt_dir(
    root: &Path,
    name: &str,
    shared: Option<&SharedTools>,
) -> Result<(Prompt, Vec<Warning>), RegistryError> {
    let dir = PathBuf::from(PROMPTS_DIR).join(name);
    let mut warnings = Vec::new();
    let mut meta = PromptMeta::default();
    let mut files: BTreeMap<u32, (PathBuf, PathBuf)> = BTreeMap::new();
    for entry in sorted_entries(&root.join(&dir), &dir)? {
        let rel = dir.join(&entry.name);
        if entry.name == META_FILE && !entry.is_dir {
            let text = read_text(&entry.path, &rel)?;
            if !text.trim().is_empty() {
                let (m, w) = crate::config::yaml::parse::<PromptMeta>(&text, &rel)?;
                meta = m;
                warnings.extend(w);
            }
        } else if entry.is_dir && matches!(classify(&entry.name), FileKind::Version(_)) {
            return Err(RegistryError::VersionIsDirectory {
                prompt: name.to_string(),
                path: rel,
            });
        } else if entry.is_dir {
            warnings.push(warning(
                &rel,
                "subdirectory in a prompt directory; ignored".to_string(),
            ));
        } else {
            match classify(&entry.name) {
                FileKind::Version(n) => {
                    if let Some((first, _)) = files.get(&n) {
                        return Err(RegistryError::DuplicateVersion {
                            prompt: name.to_string(),
                            version: n,
                            first: first.clone(),
                            second: rel,
                        });
                    }
                    files.insert(n, (rel, entry.path));
                }
                FileKind::UnsupportedExtension => warnings.push(warning(
                    &rel,
                    format!(
                        "`{}` has an unsupported extension; ignored (use .jinja, .txt, .md or .yaml)",
                        entry.name
                    ),
                )),
                FileKind::Other => warnings.push(warning(
                    &rel,
                    format!(
                        "`{}` is not a version file; ignored (versions are named v<N>.jinja, .txt, .md or .yaml)",
                        entry.name
                    ),
                )),
            }
        }
    }
    let mut versions = BTreeMap::new();
    for (n, (rel, abs)) in files {
        let source = VersionSource {
            rel: &rel,
            abs: &abs,
            shared,
        };
        let version = read_version(name, n, source, &meta, &mut warnings)?;
        versions.insert(n, version);
    }
    if versions.is_empty() {
        warnings.push(warning(
            &dir,
            format!("prompt `{name}` has no versions (no v<N> file)"),
        ));
    }
    for n in meta.notes.keys() {
        if !versions.contains_key(n) {
            warnings.push(warning(
                &dir.join(META_FILE),
                format!("note for version {n}, but {name}@{n} does not exist"),
            ));
        }
    }
    let prompt = Prompt {
        name: name.to_string(),
        dir,
        meta,
        versions,
    };
    Ok((prompt, warnings))
}

/// A YAML version file.
#[derive(Debug, Deserialize)]
struct VersionFile {
    /// Chat messages.
    #[serde(default)]
    messages: Option<Vec<MessageFile>>,
    /// A plain template, as an alternative to `messages`.
    #[serde(default)]
    prompt: Option<String>,
    /// Request parameters.
    #[serde(default)]
    params: Option<Params>,
    /// Why this version exists.
    #[serde(default)]
    note: Option<String>,
    /// Tools: definitions or names of shared ones.
    #[serde(default)]
    tools: Option<Vec<serde_json::Value>>,
    /// `auto`, `required`, `none` or a tool's name.
    #[serde(default)]
    tool_choice: Option<String>,
    /// Whether the model may call several tools at once.
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
}

/// A YAML version as read, before its tools are resolved.
pub(crate) struct ParsedVersion {
    pub(crate) body: PromptBody,
    pub(crate) params: Params,
    pub(crate) note: Option<String>,
    pub(crate) tools: WrittenTools,
}

/// Where a version file is, and the shared tools its `tools` may name (see
/// [`load_prompt_dir`]).
struct VersionSource<'a> {
    rel: &'a Path,
    abs: &'a Path,
    shared: Option<&'a SharedTools>,
}

/// The keys of one message of a YAML version.
const MESSAGE_KEYS: &[&str] = &["role", "content"];

/// A key a YAML version does not take is an error with the likely key, as in eval files:
/// `parms:` would otherwise send the request without its parameters.
fn check_version_keys(text: &str, rel: &Path, ignored: &[String]) -> Result<(), RegistryError> {
    for path in ignored {
        let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
        let valid = if parent.is_empty() {
            super::tools::VERSION_KEYS
        } else if parent.starts_with("messages") {
            MESSAGE_KEYS
        } else {
            &[]
        };
        if !valid.contains(&key) {
            return Err(crate::config::yaml::unknown_key_error(rel, text, path, valid).into());
        }
    }
    Ok(())
}

/// One message of a YAML version.
#[derive(Debug, Deserialize)]
struct MessageFile {
    role: AuthoredRole,
    content: String,
}

/// The roles a version's messages may have: a `tool` message only exists in an agent's
/// history, answering a call, so it is not among them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AuthoredRole {
    System,
    User,
    Assistant,
}

impl From<AuthoredRole> for Role {
    fn from(role: AuthoredRole) -> Role {
        match role {
            AuthoredRole::System => Role::System,
            AuthoredRole::User => Role::User,
            AuthoredRole::Assistant => Role::Assistant,
        }
    }
}

fn read_version(
    name: &str,
    n: u32,
    source: VersionSource<'_>,
    meta: &PromptMeta,
    warnings: &mut Vec<Warning>,
) -> Result<PromptVersion, RegistryError> {
    let (rel, abs) = (source.rel, source.abs);
    let bytes = std::fs::read(abs).map_err(|source| RegistryError::Read {
        path: rel.to_path_buf(),
        source,
    })?;
    let hash = content_hash(&bytes);
    let text = text_of(bytes, rel)?;
    let meta_note = meta.notes.get(&n).cloned();
    let mut tools = (ToolSet::default(), Vec::new());
    let (body, params, note) = if is_yaml_path(rel) {
        let parsed = parse_yaml_version(&text, rel)?;
        let ParsedVersion {
            body, params, note, ..
        } = parsed;
        if let Some(shared) = source.shared.filter(|_| !parsed.tools.is_empty()) {
            tools = resolve_version_tools(&parsed.tools, shared, rel, &text)?;
        }
        if note.is_some() && meta_note.is_some() {
            warnings.push(warning(
                &rel.with_file_name(META_FILE),
                format!(
                    "note for version {n} ignored: {} has its own `note`",
                    rel.display()
                ),
            ));
        }
        (body, params, note.or(meta_note))
    } else {
        (PromptBody::Text(text), Params::new(), meta_note)
    };
    Ok(PromptVersion {
        name: name.to_string(),
        version: n,
        path: rel.to_path_buf(),
        body,
        params,
        note,
        hash,
        tools: Arc::new(tools.0),
        shared_tools: tools.1,
    })
}

/// Parses a YAML version into its body, params, note and tools as written.
pub(crate) fn parse_yaml_version(text: &str, rel: &Path) -> Result<ParsedVersion, RegistryError> {
    let invalid = |problem: &str| RegistryError::InvalidVersion {
        path: rel.to_path_buf(),
        problem: problem.to_string(),
    };
    if text.trim().is_empty() {
        return Err(invalid(
            "empty YAML version: it has neither `messages` nor `prompt`",
        ));
    }
    let (file, ignored) = crate::config::yaml::parse_keys::<VersionFile>(text, rel)?;
    if !ignored.is_empty() {
        // A misspelt tool key has its own wording; every other unknown key is an error too.
        super::tools::check_tool_key_typos(text, rel)?;
    }
    check_version_keys(text, rel, &ignored)?;
    let body = match (file.messages, file.prompt) {
        (Some(_), Some(_)) => return Err(invalid(
            "has both `messages` and `prompt`; a version is either chat messages or one template",
        )),
        (None, None) => return Err(invalid("has neither `messages` nor `prompt`")),
        (Some(messages), None) if messages.is_empty() => {
            return Err(invalid("`messages` is empty"))
        }
        (Some(messages), None) => PromptBody::Chat(
            messages
                .into_iter()
                .map(|m| MessageTemplate {
                    role: m.role.into(),
                    content: m.content,
                })
                .collect(),
        ),
        (None, Some(prompt)) => PromptBody::Text(prompt),
    };
    let params = file.params.unwrap_or_default();
    check_params(&params, rel)?;
    Ok(ParsedVersion {
        body,
        params,
        note: file.note,
        tools: WrittenTools {
            tools: file.tools,
            tool_choice: file.tool_choice,
            parallel_tool_calls: file.parallel_tool_calls,
        },
    })
}

/// Checks the types of the parameters every provider understands; others pass through.
fn check_params(params: &Params, rel: &Path) -> Result<(), RegistryError> {
    use serde_json::Value;
    for (key, value) in params {
        let expected = match key.as_str() {
            "temperature" | "top_p" | "presence_penalty" | "frequency_penalty"
                if !value.is_number() =>
            {
                "a number"
            }
            "max_tokens" | "seed" | "top_k" if !value.is_u64() => "a non-negative integer",
            "stop" => match value {
                Value::String(_) => continue,
                Value::Array(items) if items.iter().all(Value::is_string) => continue,
                _ => "a string or a list of strings",
            },
            _ => continue,
        };
        return Err(RegistryError::InvalidVersion {
            path: rel.to_path_buf(),
            problem: format!("`params.{key}` must be {expected}, found `{value}`"),
        });
    }
    Ok(())
}

/// Checks that every alias of `prompt.yaml` is a valid name and points at a version.
pub(crate) fn validate_aliases(prompt: &Prompt) -> Result<(), RegistryError> {
    let file = prompt.meta_path();
    for (alias, &version) in &prompt.meta.aliases {
        check_alias_name(alias, &file)?;
        if !prompt.versions.contains_key(&version) {
            return Err(RegistryError::DanglingAlias {
                file,
                line: None,
                prompt: prompt.name.clone(),
                alias: alias.clone(),
                version,
                available: prompt.versions.keys().copied().collect(),
            });
        }
    }
    Ok(())
}

/// `error` of [`validate_aliases`] with its alias's line of `prompt.yaml`.
fn with_alias_line(root: &Path, error: RegistryError) -> RegistryError {
    match error {
        RegistryError::DanglingAlias {
            file,
            line: None,
            prompt,
            alias,
            version,
            available,
        } => {
            let text = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
            let text = crate::config::yaml::without_bom(&text);
            let line = crate::config::locate::key_line(text, &format!("aliases.{alias}"))
                .and_then(|l| u32::try_from(l).ok());
            RegistryError::DanglingAlias {
                file,
                line,
                prompt,
                alias,
                version,
                available,
            }
        }
        other => other,
    }
}

/// Checks that `alias` can be used after `@` without meaning something else.
pub(crate) fn check_alias_name(alias: &str, file: &Path) -> Result<(), RegistryError> {
    let reason = if !is_valid_name(alias) {
        "aliases may use letters, digits, `-` and `_` only"
    } else if alias == "latest" {
        "`latest` always means the highest version"
    } else if alias.chars().all(|c| c.is_ascii_digit()) {
        "a number would read as a version"
    } else {
        return Ok(());
    };
    Err(RegistryError::InvalidAlias {
        file: file.to_path_buf(),
        alias: alias.to_string(),
        reason,
    })
}
