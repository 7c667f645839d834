//! Typed YAML loading with the error context people need: the file, the line and column,
//! the key path of a bad value or unknown key, and the likely key for a typo.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::diagnostic::{Diagnostic, Location, Warning};

/// A YAML file that could not be read into the expected shape.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// The file could not be read.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid YAML, or a value has the wrong type.
    #[error("{location}: {}{message}", key_path.as_deref().map(|p| format!("at `{p}`: ")).unwrap_or_default())]
    Invalid {
        /// Where the problem is.
        location: Location,
        /// The key path of the offending value (`models[1].kind`), when known.
        key_path: Option<String>,
        /// What is wrong.
        message: String,
        /// The offending line of the file, with a `^` marker under the key or value.
        source_line: Option<String>,
    },
}

impl Diagnostic for YamlError {
    /// The offending line, with a `^` under the key or value.
    fn hint(&self) -> Option<String> {
        match self {
            YamlError::Invalid { source_line, .. } => source_line.clone(),
            YamlError::Read { .. } => None,
        }
    }
}

impl YamlError {
    /// The error with the line it points at drawn from `text`, the file it was found in.
    fn with_source(self, text: &str) -> Self {
        match self {
            YamlError::Invalid {
                location,
                key_path,
                message,
                source_line: None,
            } => YamlError::Invalid {
                source_line: location
                    .line
                    .and_then(|line| crate::diagnostic::snippet_at(text, line, location.column)),
                location,
                key_path,
                message,
            },
            other => other,
        }
    }

    /// Where the problem is, when known.
    pub fn location(&self) -> Location {
        match self {
            YamlError::Read { path, .. } => Location::file(path),
            YamlError::Invalid { location, .. } => location.clone(),
        }
    }
}

/// Reads `path` and deserializes it; `display` is the name used in messages.
pub fn read<T: DeserializeOwned>(
    path: &Path,
    display: &Path,
) -> Result<(T, Vec<Warning>), YamlError> {
    let text = std::fs::read_to_string(path).map_err(|source| YamlError::Read {
        path: display.to_path_buf(),
        source,
    })?;
    parse(&text, display)
}

/// `text` without a leading UTF-8 byte-order mark, which some Windows editors write and
/// which would otherwise become part of the first key or the first line of a template.
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Deserializes YAML `text`; `file` names the source in errors and warnings.
///
/// A key the type does not take (`deny_unknown_fields`) is an error naming the likely key
/// and the valid ones; one that a type without it ignores becomes a [`Warning`]. A leading
/// byte-order mark is ignored.
pub fn parse<T: DeserializeOwned>(text: &str, file: &Path) -> Result<(T, Vec<Warning>), YamlError> {
    let text = without_bom(text);
    let (value, unknown) = parse_keys(text, file)?;
    let warnings = unknown
        .into_iter()
        .map(|key| Warning {
            location: Location::line_of_key(file, text, &key),
            message: format!("unknown key `{}` ignored", tidy_key_path(&key)),
        })
        .collect();
    Ok((value, warnings))
}

/// [`parse`], with the key paths the type ignored (`messages.0.nmae`) instead of warnings,
/// for callers that decide which of them are errors.
pub fn parse_keys<T: DeserializeOwned>(
    text: &str,
    file: &Path,
) -> Result<(T, Vec<String>), YamlError> {
    let text = without_bom(text);
    if let Some((line, column)) = super::depth::flow_too_deep(text) {
        return Err(YamlError::Invalid {
            location: Location::at(file, line, column),
            key_path: None,
            message: super::depth::too_deep_message(),
            source_line: None,
        });
    }
    let mut unknown = Vec::new();
    let de = serde_yaml::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(de, &mut track);
    let result: Result<T, _> =
        serde_ignored::deserialize(de, |path| unknown.push(path.to_string()));
    match result {
        Ok(value) => Ok((value, unknown)),
        Err(err) => Err(invalid(&err, &track.path().to_string(), file, text).with_source(text)),
    }
}

/// The error for YAML that did not deserialize, with its key path shown once and in the
/// house wording.
fn invalid(err: &serde_yaml::Error, path: &str, file: &Path, text: &str) -> YamlError {
    let key_path = (path != "." && !path.is_empty()).then(|| path.to_string());
    let location = match err.location() {
        Some(loc) => Location::at(file, loc.line(), loc.column()),
        None => Location::file(file),
    };
    let mut message = strip_location(&err.to_string());
    if super::depth::is_recursion_limit(&message) {
        // The key path would be `[0][0][0]…`, a hundred times.
        return YamlError::Invalid {
            location,
            key_path: None,
            message: super::depth::too_deep_message(),
            source_line: None,
        };
    }
    // serde_yaml puts the key path in front of its message; it is shown once, apart.
    if let Some(rest) = key_path
        .as_deref()
        .and_then(|p| message.strip_prefix(&format!("{p}: ")))
    {
        message = rest.to_string();
    }
    if let Some(duplicate) = duplicate_key(&message, &location, text, key_path.as_deref()) {
        return duplicate;
    }
    if let Some((key, wording)) = unknown_key(&message) {
        // The tracked path ends with the key; serde_yaml's prefix is its parent.
        let key_path = match key_path {
            Some(p) if p == key || p.ends_with(&format!(".{key}")) => p,
            Some(parent) => format!("{parent}.{key}"),
            None => key,
        };
        return YamlError::Invalid {
            location,
            key_path: Some(key_path),
            message: wording,
            source_line: None,
        };
    }
    YamlError::Invalid {
        location,
        key_path,
        message: plain_type_names(&message),
        source_line: None,
    }
}

/// Serde's "duplicate field `k`" is placed at the start of the mapping (`1:1` for a key on
/// line 5); this error is at the second `k:` and names the line of the first.
fn duplicate_key(
    message: &str,
    location: &Location,
    text: &str,
    parent: Option<&str>,
) -> Option<YamlError> {
    let rest = message.strip_prefix("duplicate field `")?;
    let key = rest.split_once('`')?.0;
    let start = (location.line?, location.column?);
    let first = super::locate::nth_key_in_mapping(text, start, key, 1)?;
    let second = super::locate::nth_key_in_mapping(text, start, key, 2)?;
    let key_path = match parent {
        Some(p) if p != key && !p.ends_with(&format!(".{key}")) => format!("{p}.{key}"),
        Some(p) => p.to_string(),
        None => key.to_string(),
    };
    Some(YamlError::Invalid {
        location: Location::line(location.file.clone(), second),
        key_path: Some(key_path),
        message: format!("duplicate key `{key}` (first on line {first}): keep one of them"),
        source_line: None,
    })
}

/// Serde's "unknown field `k`, expected one of `a`, `b`" as the key and the house wording:
/// "unknown key `k` (did you mean `a`?). Choose from: a, b".
pub(crate) fn unknown_key(message: &str) -> Option<(String, String)> {
    let rest = &message[message.find("unknown field `")?..];
    let rest = rest.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest
        .strip_prefix(", expected ")
        .map(|e| e.strip_prefix("one of ").unwrap_or(e))
        .unwrap_or("");
    let valid: Vec<&str> = expected
        .split(['`', ','])
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "or")
        .collect();
    Some((key.to_string(), unknown_key_wording(key, &valid)))
}

/// "unknown key `k` (did you mean `a`?). Choose from: a, b".
fn unknown_key_wording(key: &str, valid: &[&str]) -> String {
    let wording = match crate::diagnostic::suggest(key, valid) {
        Some(near) => format!("unknown key `{key}` (did you mean `{near}`?)"),
        None => format!("unknown key `{key}`"),
    };
    if valid.is_empty() {
        wording
    } else {
        format!("{wording}. Choose from: {}", valid.join(", "))
    }
}

/// The error for key path `key_path` (as [`parse_keys`] gives it) of a type that ignores
/// unknown keys, where the caller knows that the last key is not one of `valid`.
pub fn unknown_key_error(file: &Path, text: &str, key_path: &str, valid: &[&str]) -> YamlError {
    let key = key_path.rsplit('.').next().unwrap_or(key_path);
    YamlError::Invalid {
        location: Location::line_of_key(file, without_bom(text), key_path),
        key_path: Some(tidy_key_path(key_path)),
        message: unknown_key_wording(key, valid),
        source_line: None,
    }
    .with_source(without_bom(text))
}

/// serde_ignored's `messages.?.0.nmae` as users read key paths elsewhere:
/// `messages[0].nmae`.
fn tidy_key_path(key_path: &str) -> String {
    let mut out = String::new();
    for part in key_path.split('.').filter(|p| *p != "?") {
        if !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// Serde names Rust types (`expected struct EvalFile`); users wrote a YAML mapping.
fn plain_type_names(message: &str) -> String {
    match message.find("struct ") {
        Some(idx) => {
            let rest = &message[idx + "struct ".len()..];
            let end = rest
                .find(|c: char| !c.is_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            format!("{}a mapping (key: value){}", &message[..idx], &rest[end..])
        }
        None => message.to_string(),
    }
}

/// serde_yaml appends " at line L column C" to messages; the location is shown separately.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(idx) => message[..idx].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        count: u32,
    }

    #[test]
    fn unknown_key_is_a_warning_with_line() {
        let (_, warnings): (Doc, _) =
            parse("name: a\ncount: 2\ncolour: red\n", Path::new("x.yaml")).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].to_string(),
            "x.yaml:3: unknown key `colour` ignored"
        );
    }

    #[test]
    fn unknown_key_of_a_strict_type_was_ignored_and_is_an_error_with_the_likely_key() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Strict {
            #[allow(dead_code)]
            #[serde(rename = "assert", default)]
            assertions: Vec<Doc>,
        }
        let err = parse::<Strict>("asserts: []\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.yaml:1:1: at `asserts`: unknown key `asserts` (did you mean `assert`?). Choose from: assert"
        );
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Inner {
            #[allow(dead_code)]
            value: Option<u32>,
            #[allow(dead_code)]
            weight: Option<u32>,
        }
        #[derive(Debug, Deserialize)]
        struct Outer {
            #[allow(dead_code)]
            assert: Vec<Inner>,
        }
        let err = parse::<Outer>(
            "assert:\n  - weight: 1\n    valeu: 2\n",
            Path::new("x.yaml"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.yaml:3:5: at `assert[0].valeu`: unknown key `valeu` (did you mean `value`?). Choose from: value, weight"
        );
    }

    #[test]
    fn wrong_type_names_key_path_and_line() {
        let err = parse::<Doc>("name: a\ncount: many\n", Path::new("x.yaml")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.yaml:2:"), "{text}");
        assert!(text.contains("at `count`"), "{text}");
    }

    #[test]
    fn messages_name_yaml_shapes_not_rust_types_and_the_path_once() {
        let err = parse::<Doc>("- a\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.yaml:1:1: invalid type: sequence, expected a mapping (key: value)"
        );
        #[derive(Debug, Deserialize)]
        struct Outer {
            #[allow(dead_code)]
            inner: Doc,
        }
        let err =
            parse::<Outer>("inner:\n  name: a\n  count: [1]\n", Path::new("x.yaml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.yaml:3:10: at `inner.count`: invalid type: sequence, expected u32"
        );
    }

    #[test]
    fn utf8_bom_before_the_first_key_is_not_part_of_it() {
        let (_, warnings): (Doc, _) =
            parse("\u{feff}name: a\ncount: 2\n", Path::new("x.yaml")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let (_, warnings): (Doc, _) =
            parse("\u{feff}---\nname: a\ncount: 2\n", Path::new("x.yaml")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn malformed_yaml_has_line_and_column() {
        let err = parse::<Doc>("name: [a\ncount: 2\n", Path::new("x.yaml")).unwrap_err();
        assert!(err.to_string().starts_with("x.yaml:"), "{err}");
        assert!(err.location().line.is_some());
    }
}
