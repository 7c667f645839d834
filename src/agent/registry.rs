//! The table of tool handler kinds: one line per kind with its name, its keys, how it is
//! built from an entry of `tool_handlers:`, and an example.
//!
//! To add a kind, write `src/agent/NAME.rs` with a `pub(crate) const KIND: HandlerKind`
//! (its name, the keys it takes besides `kind`, its build function and an example entry)
//! and a [`ToolHandler`] it builds; then add `mod NAME;` to `src/agent/mod.rs` and
//! `&super::NAME::KIND,` to [`KINDS`] below. The list of kinds in errors, the did-you-mean
//! for a misspelt `kind` and `docs/agents.md`'s table (a unit test holds them together)
//! follow from the table. A build function reads its keys with [`read_settings`], which
//! refuses unknown keys with a did-you-mean; the plan places every error at its key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::ToolHandler;
use crate::diagnostic::Location;
use crate::template::TemplateError;

/// One kind of handler.
pub struct HandlerKind {
    /// The name written as `kind:`.
    pub name: &'static str,
    /// The keys an entry of this kind takes besides `kind`.
    pub keys: &'static [&'static str],
    /// Builds a handler from an entry.
    pub build: fn(&HandlerSpec<'_>) -> Result<Built, BuildError>,
    /// A correct entry, for hints (`{kind: mock, result: "18°C"}`).
    pub example: &'static str,
}

/// The kinds this build knows, in the order errors list them.
pub const KINDS: &[&HandlerKind] = &[
    &super::mock::KIND,
    &super::exec::KIND,
    &super::mcp::kind::KIND,
];

/// One entry of `tool_handlers:` to build, and what it may refer to.
pub struct HandlerSpec<'a> {
    /// The entry's key path (`tool_handlers.get_weather`), naming its templates in errors.
    pub label: &'a str,
    /// The entry's keys besides `kind`, as written.
    pub settings: &'a serde_json::Map<String, serde_json::Value>,
    /// The project root, against which relative program paths are resolved.
    pub root: &'a Path,
    /// The registry's partials, which a template may include.
    pub partials: &'a BTreeMap<String, String>,
    /// Where a key of the entry is written (`result` → `evals/weather.yaml:9`).
    pub locate: &'a dyn Fn(&str) -> Location,
}

/// A built handler, with what the plan checks about it against the dataset.
#[derive(Clone)]
pub struct Built {
    /// The handler.
    pub handler: Arc<dyn ToolHandler>,
    /// The row variables it reads (a template's), each with the key that reads it: a row
    /// lacking one is a plan error.
    pub reads: Vec<(String, BTreeSet<String>)>,
    /// How it uses a row's `tool_results`.
    pub row_results: RowResults,
}

/// How a handler uses the `tool_results` of a dataset row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowResults {
    /// Not at all: an entry for its tool is ignored (the plan warns).
    Ignored,
    /// A row's entry for the tool answers the call in place of the handler's own result.
    Override,
    /// Only a row's entry answers: a row without one gets an error result.
    Required,
}

/// An entry that cannot be built.
#[derive(Debug)]
pub enum BuildError {
    /// A key is missing, unknown or has a bad value.
    Settings {
        /// The key under the entry (`timeout`, `command[0]`); `None` for the entry itself.
        key: Option<String>,
        /// What is wrong, as a lowercase fragment.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
    /// A template does not compile (it says where it is).
    Template(TemplateError),
}

impl BuildError {
    /// A problem with `key` (or the entry, for `None`).
    pub fn settings(key: Option<&str>, message: impl Into<String>, hint: Option<String>) -> Self {
        BuildError::Settings {
            key: key.map(str::to_string),
            message: message.into(),
            hint,
        }
    }
}

/// The kind named `name`, when this build knows it.
pub fn find(name: &str) -> Option<&'static HandlerKind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// The kind names, comma-separated, for "Choose from" lists.
pub fn kind_names() -> String {
    KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

/// " (did you mean `mock`?)" for a misspelt kind, else nothing.
pub fn likely_kind(name: &str) -> String {
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    crate::diagnostic::suggest(name, &names)
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// Reads an entry's keys into a kind's settings type (`deny_unknown_fields`): an unknown
/// key is an error naming the likely key and the valid ones, a bad value one naming its
/// key path.
pub fn read_settings<T: DeserializeOwned>(
    settings: &serde_json::Map<String, serde_json::Value>,
) -> Result<T, BuildError> {
    let value = serde_json::Value::Object(settings.clone());
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let parent = (path != "." && !path.is_empty()).then_some(path);
        let message = err.inner().to_string();
        if let Some((key, wording)) = crate::config::yaml::unknown_key(&message) {
            let key = match parent {
                Some(p) if p != key && !p.ends_with(&format!(".{key}")) => format!("{p}.{key}"),
                Some(p) => p,
                None => key,
            };
            return BuildError::settings(Some(&key), wording, None);
        }
        BuildError::Settings {
            key: parent,
            message,
            hint: None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_listed_in_table_order() {
        assert_eq!(kind_names(), "mock, exec, mcp");
        assert!(find("mock").is_some() && find("exec").is_some() && find("mcp").is_some());
        assert_eq!(likely_kind("mokc"), " (did you mean `mock`?)");
        assert_eq!(likely_kind("zzz"), "");
    }

    #[test]
    fn every_kind_refuses_an_unknown_key_naming_its_own() {
        for kind in KINDS {
            let mut settings = serde_json::Map::new();
            settings.insert("surely_not_a_key".into(), "x".into());
            let spec = HandlerSpec {
                label: "tool_handlers.t",
                settings: &settings,
                root: Path::new("."),
                partials: &BTreeMap::new(),
                locate: &|_| Location::file("e.yaml"),
            };
            match (kind.build)(&spec) {
                Err(BuildError::Settings { key, message, .. }) => {
                    assert_eq!(key.as_deref(), Some("surely_not_a_key"), "{}", kind.name);
                    for valid in kind.keys {
                        assert!(message.contains(valid), "{}: {message}", kind.name);
                    }
                }
                Err(other) => panic!("{}: {other:?}", kind.name),
                Ok(_) => panic!("{}: built", kind.name),
            }
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            command: Vec<String>,
        }
        let settings = serde_json::json!({"command": ["a", 3]});
        let err = read_settings::<S>(settings.as_object().unwrap()).unwrap_err();
        match err {
            BuildError::Settings { key, message, .. } => {
                assert_eq!(key.as_deref(), Some("command[1]"));
                assert!(message.contains("expected a string"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
