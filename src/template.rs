//! The template engine: minijinja with strict undefined, no file-system or environment
//! access, prompt versions and partials compiled once, and the variable check against
//! dataset columns.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Location;
use crate::message::RenderedPrompt;
use crate::registry::PromptVersion;

/// A template that cannot be compiled or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// Placeholder until the engine is implemented.
    #[error("{0}")]
    Other(String),
}

impl TemplateError {
    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        None
    }
}

/// Compiled templates: prompt versions, partials and inline templates (assertion values).
pub struct TemplateSet {
    env: minijinja::Environment<'static>,
}

impl TemplateSet {
    /// A set holding the given partials (`_partials/x.jinja` → source).
    pub fn new(partials: &BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let _ = partials;
        Ok(TemplateSet {
            env: minijinja::Environment::new(),
        })
    }

    /// Compiles every template of a version. Syntax errors name the file, the line and
    /// show the source line.
    pub fn add_prompt(&mut self, version: &PromptVersion) -> Result<(), TemplateError> {
        let _ = (version, &self.env);
        todo!()
    }

    /// The top-level variables a version reads (through partials too).
    pub fn prompt_variables(&self, version: &PromptVersion) -> BTreeSet<String> {
        let _ = version;
        todo!()
    }

    /// Renders a version with one row's variables.
    pub fn render_prompt(
        &self,
        version: &PromptVersion,
        vars: &minijinja::Value,
    ) -> Result<RenderedPrompt, TemplateError> {
        let _ = (version, vars);
        todo!()
    }

    /// Compiles an inline template (an assertion value) under a unique `name`; `origin`
    /// says where it was written.
    pub fn add_inline(
        &mut self,
        name: &str,
        source: &str,
        origin: &Location,
    ) -> Result<(), TemplateError> {
        let _ = (name, source, origin);
        todo!()
    }

    /// The top-level variables an inline template reads.
    pub fn inline_variables(&self, name: &str) -> BTreeSet<String> {
        let _ = name;
        todo!()
    }

    /// Renders an inline template.
    pub fn render_inline(
        &self,
        name: &str,
        vars: &minijinja::Value,
    ) -> Result<String, TemplateError> {
        let _ = (name, vars);
        todo!()
    }
}

/// Whether `source` contains template syntax at all (`{{`, `{%` or `{#`).
pub fn is_template(source: &str) -> bool {
    source.contains("{{") || source.contains("{%") || source.contains("{#")
}
