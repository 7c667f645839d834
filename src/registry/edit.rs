//! Changing the registry on disk: new versions, aliases, and the atomic writes they use.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::error::RegistryError;
use super::load::{
    check_alias_name, load_prompt_dir, parse_yaml_version, META_FILE, PARTIALS_DIR, PROMPTS_DIR,
};
use super::model::{is_yaml_path, Prompt, Registry};
use super::reference::is_valid_name;
use super::resolve::suggest;

/// The first version of a new prompt.
const STARTER_TEMPLATE: &str = "\
{#- A new prompt. Every {{ variable }} comes from a dataset column; a missing one is an error. -#}
Answer the question in one sentence.

Question: {{ question }}
Answer:
";

impl Registry {
    /// Creates the next version of prompt `name` and returns its path, relative to `root`.
    ///
    /// When the prompt exists, its latest version file is copied to `v<N+1>` with the same
    /// extension. The new version gets `note` (or none: the old note described the old
    /// version): YAML versions hold it in their `note` key, plain templates in the `notes`
    /// of `prompt.yaml`. When the prompt does not exist, `prompts/<name>/prompt.yaml` and a
    /// starter `v1.jinja` are created.
    pub fn new_version(
        root: &Path,
        name: &str,
        note: Option<&str>,
    ) -> Result<PathBuf, RegistryError> {
        Registry::new_version_from(root, name, None, note)
    }

    /// Like [`Registry::new_version`], but the new version is a copy of version `from`
    /// (`prompt new NAME --from NAME@2`) rather than of the latest one; it is still numbered
    /// after the latest.
    pub fn new_version_from(
        root: &Path,
        name: &str,
        from: Option<u32>,
        note: Option<&str>,
    ) -> Result<PathBuf, RegistryError> {
        let (dir, existing) = prompt_dir(root, name)?;
        let latest = existing.as_ref().and_then(|p| p.latest());
        let copied = match from {
            None => latest,
            Some(n) => Some(version_to_copy(name, existing.as_ref(), n)?),
        };
        let (path, contents, plain_note_version) = match (latest, copied) {
            (Some(latest), Some(copied)) => {
                let n =
                    latest
                        .version
                        .checked_add(1)
                        .ok_or_else(|| RegistryError::InvalidVersion {
                            path: latest.path.clone(),
                            problem: "no version number left after this one".into(),
                        })?;
                let ext = copied
                    .path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("jinja");
                let path = dir.join(format!("v{n}.{ext}"));
                let text = std::fs::read_to_string(root.join(&copied.path)).map_err(|source| {
                    RegistryError::Read {
                        path: copied.path.clone(),
                        source,
                    }
                })?;
                if is_yaml_path(&copied.path) {
                    (path.clone(), set_yaml_note(&text, note, &path)?, None)
                } else {
                    (path, text, Some(n))
                }
            }
            _ => (dir.join("v1.jinja"), STARTER_TEMPLATE.to_string(), Some(1)),
        };
        write_new(root, &path, contents.as_bytes())?;

        let meta_path = dir.join(META_FILE);
        let mut meta = existing.map(|p| p.meta).unwrap_or_default();
        let meta_exists = root.join(&meta_path).exists();
        if let (Some(n), Some(note)) = (plain_note_version, note) {
            meta.notes.insert(n, note.to_string());
            if meta_exists {
                write_meta(root, &meta_path, &meta)?;
            }
        }
        if !meta_exists {
            let mut text = format!(
                "# {name}: what this prompt is for. Aliases map names to versions (`production: 1`).\n\
                 description: TODO say what this prompt is for\n"
            );
            if !meta.notes.is_empty() {
                let notes = serde_yaml::to_string(&serde_yaml::Mapping::from_iter([(
                    "notes".into(),
                    serde_yaml::to_value(&meta.notes)
                        .map_err(|e| yaml_write_error(&meta_path, e))?,
                )]))
                .map_err(|e| yaml_write_error(&meta_path, e))?;
                text.push_str(&notes);
            }
            write_atomic(root, &meta_path, text.as_bytes())?;
        }
        Ok(path)
    }

    /// Points `alias` of prompt `name` at `version` and returns the version it pointed at
    /// before, if any.
    ///
    /// `prompt.yaml` is edited in place, so its comments, key order and layout survive; only
    /// when its `aliases` are written in a style that cannot be edited line by line (a flow
    /// mapping, quoted keys) is the file rewritten from its parsed form.
    pub fn set_alias(
        root: &Path,
        name: &str,
        alias: &str,
        version: u32,
    ) -> Result<Option<u32>, RegistryError> {
        let prompt = load_existing_prompt(root, name)?;
        let meta_path = prompt.meta_path();
        check_alias_name(alias, &meta_path)?;
        if !prompt.versions.contains_key(&version) {
            return Err(RegistryError::UnknownVersion {
                prompt: name.to_string(),
                version,
                available: prompt.versions.keys().copied().collect(),
            });
        }
        let mut meta = prompt.meta;
        let before = meta.aliases.insert(alias.to_string(), version);
        let text = std::fs::read_to_string(root.join(&meta_path)).unwrap_or_default();
        let edited = super::meta_text::set_alias(&text, alias, version);
        write_meta_edit(root, &meta_path, &meta, edited)?;
        Ok(before)
    }

    /// Removes `alias` from prompt `name`, returning the version it pointed at.
    ///
    /// Like [`Registry::set_alias`], this edits `prompt.yaml` in place.
    pub fn remove_alias(root: &Path, name: &str, alias: &str) -> Result<u32, RegistryError> {
        let prompt = load_existing_prompt(root, name)?;
        let meta_path = prompt.meta_path();
        let mut meta = prompt.meta;
        let Some(version) = meta.aliases.remove(alias) else {
            return Err(RegistryError::UnknownAlias {
                prompt: name.to_string(),
                alias: alias.to_string(),
                file: meta_path,
                aliases: meta.aliases.keys().cloned().collect(),
            });
        };
        let text = std::fs::read_to_string(root.join(&meta_path)).unwrap_or_default();
        let edited = super::meta_text::remove_alias(&text, alias);
        write_meta_edit(root, &meta_path, &meta, edited)?;
        Ok(version)
    }
}

/// Writes the in-place edit of `prompt.yaml` when it parses back to `meta`, else `meta`
/// rewritten from its parsed form (which loses comments, but never loses data).
fn write_meta_edit(
    root: &Path,
    meta_path: &Path,
    meta: &super::model::PromptMeta,
    edited: Option<String>,
) -> Result<(), RegistryError> {
    let faithful = edited.filter(|text| {
        crate::config::yaml::parse::<super::model::PromptMeta>(text, meta_path)
            .is_ok_and(|(parsed, _)| &parsed == meta)
    });
    match faithful {
        Some(text) => write_atomic(root, meta_path, text.as_bytes()),
        None => write_meta(root, meta_path, meta),
    }
}

/// Version `n` of prompt `name` (which may not exist yet), to copy into a new version.
fn version_to_copy<'p>(
    name: &str,
    prompt: Option<&'p Prompt>,
    n: u32,
) -> Result<&'p super::model::PromptVersion, RegistryError> {
    prompt
        .and_then(|p| p.versions.get(&n))
        .ok_or_else(|| RegistryError::UnknownVersion {
            prompt: name.to_string(),
            version: n,
            available: prompt
                .map(|p| p.versions.keys().copied().collect())
                .unwrap_or_default(),
        })
}

/// Loads one prompt directory for editing, or says which prompts exist.
fn load_existing_prompt(root: &Path, name: &str) -> Result<super::model::Prompt, RegistryError> {
    let dir = PathBuf::from(PROMPTS_DIR).join(name);
    if !is_valid_name(name) || !root.join(&dir).is_dir() || is_reserved(name) {
        let known = prompt_names(root);
        return Err(RegistryError::UnknownPrompt {
            suggestion: suggest(name, &known),
            name: name.to_string(),
            known,
        });
    }
    Ok(load_prompt_dir(root, name, None)?.0)
}

/// Whether `name` is a directory of `prompts/` that is no prompt (`_partials`, `_tools`).
fn is_reserved(name: &str) -> bool {
    name == PARTIALS_DIR || name == super::tools::TOOLS_DIR
}

/// The names of the prompt directories under `root/prompts`, without loading them.
fn prompt_names(root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(PROMPTS_DIR)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_valid_name(n) && !is_reserved(n))
        .collect();
    names.sort();
    names
}

fn yaml_write_error(path: &Path, err: serde_yaml::Error) -> RegistryError {
    RegistryError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(err),
    }
}

fn write_meta(
    root: &Path,
    meta_path: &Path,
    meta: &super::model::PromptMeta,
) -> Result<(), RegistryError> {
    let text = serde_yaml::to_string(meta).map_err(|e| yaml_write_error(meta_path, e))?;
    write_atomic(root, meta_path, text.as_bytes())
}

/// The YAML version `text` with its top-level `note` replaced by `note` (or removed).
///
/// Edits the text so that comments and layout survive; falls back to a parse and rewrite
/// when the document is not in block style.
fn set_yaml_note(text: &str, note: Option<&str>, path: &Path) -> Result<String, RegistryError> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_note = false;
    for line in text.split_inclusive('\n') {
        if in_note && (line.starts_with([' ', '\t']) || line.trim().is_empty()) {
            continue;
        }
        in_note = line.starts_with("note:");
        if !in_note {
            out.push_str(line);
        }
    }
    if let Some(note) = note {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        let value = serde_yaml::to_string(note).map_err(|e| yaml_write_error(path, e))?;
        out.push_str("note: ");
        out.push_str(&value);
    }
    let wanted = note.map(str::to_string);
    match parse_yaml_version(&out, path) {
        Ok(parsed) if parsed.note == wanted => Ok(out),
        _ => {
            let mut value: serde_yaml::Value =
                serde_yaml::from_str(text).map_err(|e| yaml_write_error(path, e))?;
            if let Some(map) = value.as_mapping_mut() {
                match note {
                    Some(note) => {
                        map.insert("note".into(), note.into());
                    }
                    None => {
                        map.remove("note");
                    }
                }
            }
            serde_yaml::to_string(&value).map_err(|e| yaml_write_error(path, e))
        }
    }
}

/// Writes a file that must not exist yet.
fn write_new(root: &Path, rel: &Path, contents: &[u8]) -> Result<(), RegistryError> {
    let write_err = |source| RegistryError::Write {
        path: rel.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(root.join(rel))
        .map_err(write_err)?;
    file.write_all(contents).map_err(write_err)
}

/// Replaces `root/rel` with `contents` through a temporary file and a rename, so that a
/// reader never sees half a file.
pub(crate) fn write_atomic(root: &Path, rel: &Path, contents: &[u8]) -> Result<(), RegistryError> {
    let target = root.join(rel);
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let write_err = |source| RegistryError::Write {
        path: rel.to_path_buf(),
        source,
    };
    let result = std::fs::write(&tmp, contents).and_then(|()| std::fs::rename(&tmp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

/// The directory of prompt `name` (relative to `root`), created when
/// missing, and the prompt already there, if any. Refuses names that cannot be prompts.
fn prompt_dir(root: &Path, name: &str) -> Result<(PathBuf, Option<Prompt>), RegistryError> {
    let dir = PathBuf::from(PROMPTS_DIR).join(name);
    if !is_valid_name(name) || is_reserved(name) {
        return Err(RegistryError::InvalidName {
            name: name.to_string(),
            path: dir,
        });
    }
    let dir_abs = root.join(&dir);
    let existing = if dir_abs.is_dir() {
        Some(load_prompt_dir(root, name, None)?.0)
    } else {
        std::fs::create_dir_all(&dir_abs).map_err(|source| RegistryError::Write {
            path: dir.clone(),
            source,
        })?;
        None
    };
    Ok((dir, existing))
}

impl Registry {
    /// Adds the next version of prompt `name` with `contents` as its file (`v<N>.<ext>`,
    /// `ext` one of `jinja`, `txt`, `md`, `yaml`), creating the prompt directory and its
    /// `prompt.yaml` when missing; returns the new file (relative to `root`) and `N`.
    ///
    /// `note` is kept in `prompt.yaml`'s `notes` for plain templates; YAML versions hold
    /// their note in the file. Used by imports (`prompt pull`), which bring their own text.
    pub fn add_version(
        root: &Path,
        name: &str,
        ext: &str,
        contents: &str,
        note: Option<&str>,
    ) -> Result<(PathBuf, u32), RegistryError> {
        let (dir, existing) = prompt_dir(root, name)?;
        let n = match existing.as_ref().and_then(|p| p.latest()) {
            Some(latest) => {
                latest
                    .version
                    .checked_add(1)
                    .ok_or_else(|| RegistryError::InvalidVersion {
                        path: latest.path.clone(),
                        problem: "no version number left after this one".into(),
                    })?
            }
            None => 1,
        };
        let path = dir.join(format!("v{n}.{ext}"));
        write_new(root, &path, contents.as_bytes())?;
        let meta_path = dir.join(META_FILE);
        let mut meta = existing.map(|p| p.meta).unwrap_or_default();
        let plain = !is_yaml_path(&path);
        if let (true, Some(note)) = (plain, note) {
            meta.notes.insert(n, note.to_string());
            write_meta(root, &meta_path, &meta)?;
        } else if !root.join(&meta_path).exists() {
            write_meta(root, &meta_path, &meta)?;
        }
        Ok((path, n))
    }
}
