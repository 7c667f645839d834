//! The compiled templates of a plan: prompt versions, partials and inline templates,
//! their variables, and rendering with strict undefined.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use crate::diagnostic::Location;
use crate::registry::{PromptBody, PromptVersion};
use crate::template::message::{Message, RenderedPrompt};

use super::error::{describe, snippet, syntax_error, Origin, TemplateErrorKind};
use super::scan::{bound_names, fromjson, include_names, optional_names};
use super::TemplateError;

/// The most steps (minijinja's fuel: roughly one per instruction) one render may take.
/// A prompt over a long list takes thousands; ten million is a few seconds of work, so a
/// loop of 10¹⁰ iterations stops planning with an error instead of hanging it.
pub const FUEL: u64 = 10_000_000;

/// Compiled templates: prompt versions, partials and inline templates (assertion values).
pub struct TemplateSet {
    env: Environment<'static>,
    origins: HashMap<String, Origin>,
    partial_names: BTreeSet<String>,
    globals: BTreeSet<String>,
}

/// The template name of a plain version (`sentiment@2`) or chat message `i`
/// (`sentiment@2#1`).
pub fn template_name(version: &PromptVersion, message: Option<usize>) -> String {
    match message {
        None => version.reference(),
        Some(i) => format!("{}@{}#{i}", version.name, version.version),
    }
}

impl TemplateSet {
    /// A set holding the given partials (`_partials/x.jinja` → source).
    ///
    /// A partial with a syntax error is an error naming `prompts/_partials/x.jinja`.
    pub fn new(partials: &BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_keep_trailing_newline(false);
        env.set_debug(true);
        env.set_fuel(Some(FUEL));
        env.add_filter("fromjson", fromjson);
        let globals = env.globals().map(|(name, _)| name.to_string()).collect();
        let mut set = TemplateSet {
            env,
            origins: HashMap::new(),
            partial_names: partials.keys().cloned().collect(),
            globals,
        };
        for (name, source) in partials {
            let origin = Origin {
                reference: name.clone(),
                file: Path::new("prompts").join(name),
                part: None,
                inline: None,
            };
            set.compile(name.clone(), source.clone(), origin)?;
        }
        // Partials may include partials: check once all are known.
        for name in partials.keys() {
            set.check_includes(name)?;
        }
        Ok(set)
    }

    fn compile(
        &mut self,
        name: String,
        source: String,
        origin: Origin,
    ) -> Result<(), TemplateError> {
        if let Err(err) = self.env.add_template_owned(name.clone(), source.clone()) {
            return Err(syntax_error(&err, &source, &origin));
        }
        self.origins.insert(name, origin);
        Ok(())
    }

    /// The template names of a version: one for a plain template, one per chat message.
    fn names_of(version: &PromptVersion) -> Vec<String> {
        match &version.body {
            PromptBody::Text(_) => vec![template_name(version, None)],
            PromptBody::Chat(messages) => (0..messages.len())
                .map(|i| template_name(version, Some(i)))
                .collect(),
        }
    }

    /// Compiles every template of a version. Syntax errors name the file, the line and
    /// show the source line; including anything but a partial is an error.
    pub fn add_prompt(&mut self, version: &PromptVersion) -> Result<(), TemplateError> {
        let yaml = version.is_yaml();
        let origin = |part: Option<String>| Origin {
            reference: version.reference(),
            file: version.path.clone(),
            part,
            inline: None,
        };
        let names = Self::names_of(version);
        match &version.body {
            PromptBody::Text(source) => {
                let part = yaml.then(|| "prompt".to_string());
                self.compile(names[0].clone(), source.clone(), origin(part))?;
            }
            PromptBody::Chat(messages) => {
                for (i, (m, name)) in messages.iter().zip(&names).enumerate() {
                    let part = Some(format!("messages[{i}].content"));
                    self.compile(name.clone(), m.content.clone(), origin(part))?;
                }
            }
        }
        for name in &names {
            self.check_includes(name)?;
        }
        Ok(())
    }

    /// Fails when template `name` includes something that is not a partial.
    fn check_includes(&self, name: &str) -> Result<(), TemplateError> {
        let Ok(template) = self.env.get_template(name) else {
            return Ok(());
        };
        for (included, line) in include_names(template.source()) {
            if !self.partial_names.contains(&included) {
                let Some(origin) = self.origins.get(name) else {
                    return Ok(());
                };
                let (location, _) = origin.locate(Some(line));
                return Err(TemplateErrorKind::UnknownPartial {
                    location,
                    reference: origin.reference.clone(),
                    name: included,
                    available: self.partial_names.iter().cloned().collect(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// The top-level variables a version reads, through partials too.
    ///
    /// A partial's variables count unless the including template binds them itself
    /// (`{% for x in … %}`, `{% set x = … %}`, `{% with x = … %}`); this is a textual
    /// check, so it can only err on the side of reporting a variable that rendering would
    /// then report too. Globals such as `range` and `namespace` are not variables.
    ///
    /// A variable the template tests (`{% if hint is defined %}`, `hint is not none`) or
    /// defaults (`{{ hint | default("") }}`) is optional and not listed: a row may lack it.
    pub fn prompt_variables(&self, version: &PromptVersion) -> BTreeSet<String> {
        let mut vars = BTreeSet::new();
        for name in Self::names_of(version) {
            self.collect_variables(&name, &BTreeSet::new(), &mut vars, &mut Vec::new());
        }
        vars
    }

    fn collect_variables(
        &self,
        name: &str,
        bound_above: &BTreeSet<String>,
        vars: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) {
        let Ok(template) = self.env.get_template(name) else {
            return;
        };
        if stack.iter().any(|n| n == name) {
            return;
        }
        stack.push(name.to_string());
        let source = template.source();
        let optional = optional_names(source);
        for var in template.undeclared_variables(false) {
            if !bound_above.contains(&var)
                && !self.globals.contains(&var)
                && !optional.contains(&var)
            {
                vars.insert(var);
            }
        }
        let mut bound = bound_above.clone();
        bound.extend(bound_names(source));
        for (included, _) in include_names(source) {
            self.collect_variables(&included, &bound, vars, stack);
        }
        stack.pop();
    }

    /// Fails when the version reads variables that are not in `columns`, listing all of
    /// them (and the columns there are).
    pub fn check_variables(
        &self,
        version: &PromptVersion,
        columns: &BTreeSet<String>,
    ) -> Result<(), TemplateError> {
        let missing: Vec<String> = self
            .prompt_variables(version)
            .into_iter()
            .filter(|v| !columns.contains(v))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(TemplateErrorKind::MissingVariables {
            location: Location::file(&version.path),
            reference: version.reference(),
            missing,
            available: columns.iter().cloned().collect(),
        }
        .into())
    }

    /// Renders a version with one row's variables.
    pub fn render_prompt(
        &self,
        version: &PromptVersion,
        vars: &minijinja::Value,
    ) -> Result<RenderedPrompt, TemplateError> {
        match &version.body {
            PromptBody::Text(_) => self
                .render_named(&template_name(version, None), vars)
                .map(RenderedPrompt::Text),
            PromptBody::Chat(messages) => {
                let mut out = Vec::with_capacity(messages.len());
                for (i, m) in messages.iter().enumerate() {
                    let content = self.render_named(&template_name(version, Some(i)), vars)?;
                    out.push(Message::new(m.role, content));
                }
                Ok(RenderedPrompt::Chat(out))
            }
        }
    }

    /// Compiles an inline template (an assertion value) under a unique `name`; `origin`
    /// says where it was written.
    pub fn add_inline(
        &mut self,
        name: &str,
        source: &str,
        origin: &Location,
    ) -> Result<(), TemplateError> {
        let origin = Origin {
            reference: name.to_string(),
            file: origin.file.clone(),
            part: None,
            inline: Some(origin.clone()),
        };
        self.compile(name.to_string(), source.to_string(), origin)?;
        self.check_includes(name)
    }

    /// The top-level variables an inline template reads.
    pub fn inline_variables(&self, name: &str) -> BTreeSet<String> {
        let mut vars = BTreeSet::new();
        self.collect_variables(name, &BTreeSet::new(), &mut vars, &mut Vec::new());
        vars
    }

    /// Renders an inline template.
    pub fn render_inline(
        &self,
        name: &str,
        vars: &minijinja::Value,
    ) -> Result<String, TemplateError> {
        self.render_named(name, vars)
    }

    fn render_named(&self, name: &str, vars: &minijinja::Value) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|_| TemplateErrorKind::NotCompiled {
                name: name.to_string(),
            })?;
        template
            .render(vars)
            .map_err(|err| self.render_error(name, vars, &err))
    }

    fn render_error(
        &self,
        rendered: &str,
        vars: &minijinja::Value,
        err: &minijinja::Error,
    ) -> TemplateError {
        let Some(top) = self.origins.get(rendered) else {
            return TemplateErrorKind::NotCompiled {
                name: rendered.to_string(),
            }
            .into();
        };
        // An error inside an included partial arrives wrapped ("could not render include");
        // the innermost error has the partial's name, line and span.
        let mut err = err;
        while let Some(inner) =
            std::error::Error::source(err).and_then(|s| s.downcast_ref::<minijinja::Error>())
        {
            err = inner;
        }
        let failing_name = err.name().filter(|n| self.origins.contains_key(*n));
        let failing = failing_name
            .and_then(|n| self.origins.get(n))
            .unwrap_or(top);
        let (location, template_line) = failing.locate(err.line());
        let source = err.template_source();
        if err.kind() == ErrorKind::OutOfFuel {
            return TemplateErrorKind::OutOfFuel {
                location,
                reference: top.reference.clone(),
                part: failing.part.clone(),
                template_line,
                source_line: source.and_then(|src| snippet(src, err.line(), err.range())),
            }
            .into();
        }
        let expr = match (source, err.range()) {
            (Some(src), Some(range)) => src.get(range).map(str::trim),
            _ => None,
        };
        let source_line = source.and_then(|src| snippet(src, err.line(), err.range()));
        let variable = match err.kind() {
            ErrorKind::UndefinedError => {
                let line_text = source
                    .zip(err.line())
                    .and_then(|(src, line)| src.lines().nth(line.saturating_sub(1)));
                self.missing_variable(failing_name.unwrap_or(rendered), vars, expr, line_text)
            }
            _ => None,
        };
        let message = match (&variable, expr) {
            (Some(var), _) => format!("undefined variable `{var}`"),
            (None, Some(expr)) if err.kind() == ErrorKind::UndefinedError => {
                format!("undefined value `{expr}`")
            }
            _ => describe(err),
        };
        TemplateErrorKind::Render {
            location,
            reference: top.reference.clone(),
            part: failing.part.clone(),
            template_line,
            message,
            variable,
            source_line,
        }
        .into()
    }

    /// The top-level variable of template `name` that `vars` lacks and that the failing
    /// expression (or else its line) mentions; `None` when the undefined value is not a
    /// missing variable (a missing attribute, say).
    fn missing_variable(
        &self,
        name: &str,
        vars: &minijinja::Value,
        expr: Option<&str>,
        line: Option<&str>,
    ) -> Option<String> {
        let template = self.env.get_template(name).ok()?;
        let missing: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !self.globals.contains(v))
            .filter(|v| {
                vars.get_item(&minijinja::Value::from(v.as_str()))
                    .map_or(true, |value| value.is_undefined())
            })
            .collect();
        let mentions = |text: &str, var: &str| {
            text.match_indices(var).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + var.len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !word(before) && !word(after) && before != Some('.')
            })
        };
        for text in [expr, line].into_iter().flatten() {
            if let Some(var) = missing.iter().find(|v| mentions(text, v)) {
                return Some(var.clone());
            }
        }
        (missing.len() == 1).then(|| missing[0].clone())
    }
}
