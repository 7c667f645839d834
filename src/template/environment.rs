//! The template engine: minijinja with strict undefined, no file-system or environment
//! access, prompt versions and partials compiled once, and the variable check against
//! dataset columns.
//!
//! Choices that shape every prompt:
//! - Undefined variables are errors (`UndefinedBehavior::Strict`), also in `{% if %}`;
//!   `{{ x | default("") }}` and `{% if x is defined %}` are the ways to make one optional.
//! - Nothing is escaped: prompts are plain text, not HTML.
//! - Text is kept as written (no `trim_blocks`/`lstrip_blocks`), except that a single
//!   trailing newline is removed: most editors end every file with one, and it should not
//!   end up in the prompt.
//! - Only partials (`_partials/x.jinja`, given by the registry) can be included; there is
//!   no loader, so templates never read files.
//! - Variable values are data: a dataset value containing `{{ x }}` is printed as it is,
//!   never rendered.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use regex::Regex;

use crate::diagnostic::Location;
use crate::registry::{PromptBody, PromptVersion};
use crate::template::message::{Message, RenderedPrompt};

/// A template that cannot be compiled or rendered. Boxed so that results stay small on the
/// hot render path; [`TemplateError::kind`] tells what happened.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct TemplateError(Box<TemplateErrorKind>);

impl From<TemplateErrorKind> for TemplateError {
    fn from(kind: TemplateErrorKind) -> Self {
        TemplateError(Box::new(kind))
    }
}

/// What went wrong with a template, with where and what to show.
#[derive(Debug, thiserror::Error)]
pub enum TemplateErrorKind {
    /// The template does not parse.
    #[error("{location}: invalid template {reference}{}: {message}", part_text(part.as_deref(), *template_line))]
    Syntax {
        /// Where: the version file (with the line for plain templates), the partial, or
        /// where an inline template was written.
        location: Location,
        /// What was being compiled: `sentiment@2`, `_partials/x.jinja` or an inline name.
        reference: String,
        /// The part of a YAML version (`messages[1].content`, `prompt`), if any.
        part: Option<String>,
        /// The line inside that part's template, when the file line is not known.
        template_line: Option<usize>,
        /// What is wrong.
        message: String,
        /// The offending source line, with a `^` marker line under it when the span is known.
        source_line: Option<String>,
    },
    /// A template includes something that is not a partial.
    #[error(
        "{location}: {reference} includes unknown partial `{name}`; {}",
        partial_list(available)
    )]
    UnknownPartial {
        /// The file that has the include.
        location: Location,
        /// The version (or partial) with the include.
        reference: String,
        /// The name it includes.
        name: String,
        /// The partials there are.
        available: Vec<String>,
    },
    /// Rendering failed, for instance on an undefined variable.
    #[error("{location}: cannot render {reference}{}: {message}", part_text(part.as_deref(), *template_line))]
    Render {
        /// Where the failing expression is (a partial, when it failed inside one).
        location: Location,
        /// What was being rendered: `sentiment@2` or an inline name.
        reference: String,
        /// The part of a YAML version (`messages[1].content`, `prompt`), if any.
        part: Option<String>,
        /// The line inside that part's template, when the file line is not known.
        template_line: Option<usize>,
        /// What went wrong: `undefined variable \`x\``, ….
        message: String,
        /// The undefined variable, when that is the problem.
        variable: Option<String>,
        /// The offending source line, with a `^` marker line under it when the span is known.
        source_line: Option<String>,
    },
    /// A version reads variables that the dataset does not have.
    #[error("{location}: {reference} uses {} that the dataset does not have: {}", plural(missing.len(), "variable"), missing.join(", "))]
    MissingVariables {
        /// The version file.
        location: Location,
        /// The version.
        reference: String,
        /// The variables that are missing.
        missing: Vec<String>,
        /// What the dataset has.
        available: Vec<String>,
    },
    /// A template was rendered that was never compiled into this set (a caller bug).
    #[error("template `{name}` was not compiled; compile it with add_prompt or add_inline first")]
    NotCompiled {
        /// The template name.
        name: String,
    },
}

fn part_text(part: Option<&str>, line: Option<usize>) -> String {
    match (part, line) {
        (Some(part), Some(line)) => format!(" ({part}, line {line})"),
        (Some(part), None) => format!(" ({part})"),
        (None, _) => String::new(),
    }
}

fn partial_list(available: &[String]) -> String {
    if available.is_empty() {
        "there are no partials (put them in prompts/_partials/)".to_string()
    } else {
        format!("available partials: {}", available.join(", "))
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

impl TemplateError {
    /// What happened.
    pub fn kind(&self) -> &TemplateErrorKind {
        &self.0
    }

    /// What the user can do about it, when there is something to say. For syntax and
    /// render errors this starts with the offending source line and a `^` marker.
    pub fn hint(&self) -> Option<String> {
        self.0.hint()
    }

    /// The file and line (when known) of the problem.
    pub fn location(&self) -> Option<&Location> {
        self.0.location()
    }
}

impl TemplateErrorKind {
    /// See [`TemplateError::hint`].
    pub fn hint(&self) -> Option<String> {
        match self {
            TemplateErrorKind::Syntax { source_line, .. } => Some(with_snippet(
                source_line,
                "fix the template syntax (minijinja, like Jinja2: `{{ var }}`, `{% if %}…{% endif %}`)",
            )),
            TemplateErrorKind::Render {
                variable: Some(var),
                source_line,
                ..
            } => Some(with_snippet(
                source_line,
                &format!(
                    "`{var}` must be a dataset column; to make it optional write `{{{{ {var} | default(\"\") }}}}`"
                ),
            )),
            TemplateErrorKind::Render { source_line, .. } => source_line.clone(),
            TemplateErrorKind::UnknownPartial { .. } => Some(
                "partials live in prompts/_partials/ and are included by that name: `{% include \"_partials/header.jinja\" %}`".into(),
            ),
            TemplateErrorKind::MissingVariables { available, .. } => Some(format!(
                "the dataset's columns are: {}; rename a column or the variable, or give it a default with `| default(\"\")`",
                if available.is_empty() { "(none)".to_string() } else { available.join(", ") }
            )),
            TemplateErrorKind::NotCompiled { .. } => None,
        }
    }

    /// See [`TemplateError::location`].
    pub fn location(&self) -> Option<&Location> {
        match self {
            TemplateErrorKind::Syntax { location, .. }
            | TemplateErrorKind::UnknownPartial { location, .. }
            | TemplateErrorKind::Render { location, .. }
            | TemplateErrorKind::MissingVariables { location, .. } => Some(location),
            TemplateErrorKind::NotCompiled { .. } => None,
        }
    }
}

fn with_snippet(snippet: &Option<String>, advice: &str) -> String {
    match snippet {
        Some(snippet) => format!("{snippet}\n{advice}"),
        None => advice.to_string(),
    }
}

/// Where a compiled template came from, to turn minijinja errors into located ones.
#[derive(Clone, Debug)]
struct Origin {
    /// `sentiment@2`, `_partials/x.jinja` or the inline name.
    reference: String,
    /// The file.
    file: PathBuf,
    /// For a YAML version: `messages[i].content` or `prompt`; the template's lines are not
    /// the file's lines then.
    part: Option<String>,
    /// For an inline template: where it was written (its lines are not the file's lines).
    inline: Option<Location>,
}

impl Origin {
    /// The location of template line `line`, and the line again when it cannot be given as
    /// a file line.
    fn locate(&self, line: Option<usize>) -> (Location, Option<usize>) {
        if let Some(origin) = &self.inline {
            return (origin.clone(), line.filter(|&l| l > 1));
        }
        match (&self.part, line) {
            (None, Some(line)) => (Location::line(&self.file, line), None),
            (None, None) => (Location::file(&self.file), None),
            (Some(_), line) => (Location::file(&self.file), line),
        }
    }
}

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
        for var in template.undeclared_variables(false) {
            if !bound_above.contains(&var) && !self.globals.contains(&var) {
                vars.insert(var);
            }
        }
        let source = template.source();
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
                    out.push(Message {
                        role: m.role,
                        content,
                    });
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

/// minijinja's description of an error, without the template name and line it appends.
fn describe(err: &minijinja::Error) -> String {
    match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    }
}

fn syntax_error(err: &minijinja::Error, source: &str, origin: &Origin) -> TemplateError {
    let (location, template_line) = origin.locate(err.line());
    TemplateErrorKind::Syntax {
        location,
        reference: origin.reference.clone(),
        part: origin.part.clone(),
        template_line,
        message: describe(err),
        source_line: snippet(source, err.line(), err.range()),
    }
    .into()
}

/// The source line `line` (1-based) with its number, and a `^` marker under `range` (byte
/// offsets into `source`) when the range is on that line.
fn snippet(
    source: &str,
    line: Option<usize>,
    range: Option<std::ops::Range<usize>>,
) -> Option<String> {
    let line = line?;
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let gutter = format!("{line:>4} | ");
    let mut out = format!("{gutter}{text}");
    if let Some(range) = range {
        let line_start: usize = source
            .split_inclusive('\n')
            .take(line - 1)
            .map(str::len)
            .sum();
        if range.start >= line_start && range.start <= line_start + text.len() {
            let start = source
                .get(line_start..range.start)
                .map_or(0, |s| s.chars().count());
            let end = range.end.min(line_start + text.len()).max(range.start);
            let width = source
                .get(range.start..end)
                .map_or(1, |s| s.chars().count())
                .max(1);
            out.push('\n');
            out.push_str(&" ".repeat(gutter.len() - 2));
            out.push_str("| ");
            out.push_str(&" ".repeat(start));
            out.push_str(&"^".repeat(width));
        }
    }
    Some(out)
}

static INCLUDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\{%[-+]?\s*(?:include|import|from|extends)\s+(?:"([^"]*)"|'([^']*)')"#)
        .unwrap_or_else(|err| unreachable!("static regex: {err}"))
});

static BINDING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%[-+]?\s*(?:for\s+([\w\s,()]+?)\s+in\b|set\s+(\w+)|with\s+(\w+)\s*=)")
        .unwrap_or_else(|err| unreachable!("static regex: {err}"))
});

/// The literal names in `include`/`import`/`from`/`extends` tags of `source`, with the line
/// each is on.
fn include_names(source: &str) -> Vec<(String, usize)> {
    INCLUDE
        .captures_iter(source)
        .filter_map(|c| {
            let m = c.get(1).or_else(|| c.get(2))?;
            let line = source[..m.start()].matches('\n').count() + 1;
            Some((m.as_str().to_string(), line))
        })
        .collect()
}

/// Names that `source` binds with `for`, `set` or `with`.
fn bound_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for c in BINDING.captures_iter(source) {
        if let Some(targets) = c.get(1) {
            names.extend(
                targets
                    .as_str()
                    .split(|ch: char| ch == ',' || ch == '(' || ch == ')' || ch.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        if let Some(name) = c.get(2).or_else(|| c.get(3)) {
            names.push(name.as_str().to_string());
        }
    }
    names
}

/// The `fromjson` filter: parses a JSON string (`output | fromjson`), so that a
/// transform can reach into a model's JSON answer.
fn fromjson(text: &str) -> Result<minijinja::Value, minijinja::Error> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(minijinja::Value::from_serialize)
        .map_err(|err| {
            minijinja::Error::new(ErrorKind::InvalidOperation, format!("not JSON: {err}"))
        })
}

/// Whether `source` contains template syntax at all (`{{`, `{%` or `{#`).
pub fn is_template(source: &str) -> bool {
    source.contains("{{") || source.contains("{%") || source.contains("{#")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::registry::{MessageTemplate, Params};
    use crate::template::message::Role;

    fn text_version(name: &str, n: u32, source: &str) -> PromptVersion {
        PromptVersion {
            name: name.into(),
            version: n,
            path: PathBuf::from(format!("prompts/{name}/v{n}.jinja")),
            body: PromptBody::Text(source.into()),
            params: Params::new(),
            note: None,
            hash: String::new(),
        }
    }

    fn chat_version(name: &str, n: u32, messages: &[(Role, &str)]) -> PromptVersion {
        PromptVersion {
            name: name.into(),
            version: n,
            path: PathBuf::from(format!("prompts/{name}/v{n}.yaml")),
            body: PromptBody::Chat(
                messages
                    .iter()
                    .map(|(role, content)| MessageTemplate {
                        role: *role,
                        content: (*content).into(),
                    })
                    .collect(),
            ),
            params: Params::new(),
            note: None,
            hash: String::new(),
        }
    }

    fn partials(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn set_with(version: &PromptVersion) -> TemplateSet {
        let mut set = TemplateSet::new(&BTreeMap::new()).unwrap();
        set.add_prompt(version).unwrap();
        set
    }

    fn vars(pairs: &[(&str, &str)]) -> minijinja::Value {
        minijinja::Value::from_serialize(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn renders_text_and_drops_one_trailing_newline() {
        let v = text_version("qa", 1, "Q: {{ q }}\nA:\n");
        let set = set_with(&v);
        let out = set.render_prompt(&v, &vars(&[("q", "why?")])).unwrap();
        assert_eq!(out, RenderedPrompt::Text("Q: why?\nA:".into()));
        let v2 = text_version("qa", 2, "Q: {{ q }}\n\n");
        let set = set_with(&v2);
        let out = set.render_prompt(&v2, &vars(&[("q", "x")])).unwrap();
        assert_eq!(out, RenderedPrompt::Text("Q: x\n".into()));
    }

    #[test]
    fn nothing_is_escaped() {
        let v = text_version("qa", 1, "{{ q }}");
        let set = set_with(&v);
        let out = set
            .render_prompt(&v, &vars(&[("q", "<b>&\"'</b>")]))
            .unwrap();
        assert_eq!(out, RenderedPrompt::Text("<b>&\"'</b>".into()));
    }

    #[test]
    fn dataset_values_are_data_never_templates() {
        let v = text_version("qa", 1, "Review: {{ review }}");
        let set = set_with(&v);
        let row = vars(&[
            ("review", "{{ secret }} {% if true %}x{% endif %}"),
            ("secret", "no"),
        ]);
        let out = set.render_prompt(&v, &row).unwrap();
        assert_eq!(
            out,
            RenderedPrompt::Text("Review: {{ secret }} {% if true %}x{% endif %}".into())
        );
    }

    #[test]
    fn renders_chat_messages() {
        let v = chat_version(
            "s",
            2,
            &[
                (Role::System, "Be brief."),
                (Role::User, "Review: {{ review }}\n"),
            ],
        );
        let set = set_with(&v);
        let out = set
            .render_prompt(&v, &vars(&[("review", "great")]))
            .unwrap();
        assert_eq!(
            out,
            RenderedPrompt::Chat(vec![
                Message {
                    role: Role::System,
                    content: "Be brief.".into()
                },
                Message {
                    role: Role::User,
                    content: "Review: great".into()
                },
            ])
        );
        assert_eq!(
            set.prompt_variables(&v),
            BTreeSet::from(["review".to_string()])
        );
    }

    #[test]
    fn undefined_variable_is_named_with_location_and_source_line() {
        let v = text_version("qa", 1, "Intro\nQ: {{ question }}\n");
        let set = set_with(&v);
        let err = set.render_prompt(&v, &vars(&[("q", "x")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prompts/qa/v1.jinja:2: cannot render qa@1: undefined variable `question`"
        );
        assert_eq!(
            err.hint().unwrap(),
            "   2 | Q: {{ question }}\n     |       ^^^^^^^^\n`question` must be a dataset column; to make it optional write `{{ question | default(\"\") }}`"
        );
    }

    #[test]
    fn undefined_attribute_root_and_if_are_errors_too() {
        let v = text_version("qa", 1, "{% if flag %}x{% endif %}");
        let set = set_with(&v);
        let err = set.render_prompt(&v, &vars(&[])).unwrap_err();
        assert!(
            err.to_string().contains("undefined variable `flag`"),
            "{err}"
        );

        let v = text_version("qa", 2, "{{ user.name | upper }}");
        let set = set_with(&v);
        let err = set.render_prompt(&v, &vars(&[])).unwrap_err();
        assert!(
            err.to_string().contains("undefined variable `user`"),
            "{err}"
        );

        let v = text_version("qa", 3, "{{ missing | default('none') }}");
        let set = set_with(&v);
        let out = set.render_prompt(&v, &vars(&[])).unwrap();
        assert_eq!(out, RenderedPrompt::Text("none".into()));
    }

    #[test]
    fn missing_attribute_is_an_undefined_value_not_a_variable() {
        let v = text_version("qa", 1, "{{ row.text }}");
        let set = set_with(&v);
        let row = minijinja::Value::from_serialize(serde_json::json!({"row": {"id": 1}}));
        let err = set.render_prompt(&v, &row).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prompts/qa/v1.jinja:1: cannot render qa@1: undefined value `row.text`"
        );
        let TemplateErrorKind::Render { variable, .. } = err.kind() else {
            panic!("{err:?}")
        };
        assert_eq!(*variable, None);
    }

    #[test]
    fn syntax_error_has_file_line_and_marked_source() {
        let v = text_version("qa", 1, "Intro\nQ: {{ question }\n");
        let mut set = TemplateSet::new(&BTreeMap::new()).unwrap();
        let err = set.add_prompt(&v).unwrap_err();
        let TemplateErrorKind::Syntax {
            location,
            source_line,
            ..
        } = err.kind()
        else {
            panic!("{err:?}")
        };
        assert_eq!(location.to_string(), "prompts/qa/v1.jinja:2");
        let source_line = source_line.as_deref().unwrap();
        assert!(
            source_line.starts_with("   2 | Q: {{ question }\n     | "),
            "{source_line}"
        );
        assert!(source_line.contains('^'), "{source_line}");
        assert!(
            err.to_string()
                .starts_with("prompts/qa/v1.jinja:2: invalid template qa@1: syntax error"),
            "{err}"
        );
    }

    #[test]
    fn syntax_error_in_a_chat_message_names_the_message() {
        let v = chat_version(
            "s",
            2,
            &[(Role::System, "ok"), (Role::User, "a\n{% if x %}")],
        );
        let mut set = TemplateSet::new(&BTreeMap::new()).unwrap();
        let err = set.add_prompt(&v).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("prompts/s/v2.yaml: invalid template s@2 (messages[1].content, line "),
            "{err}"
        );
    }

    #[test]
    fn syntax_error_in_a_partial_names_the_partial_file() {
        let err = TemplateSet::new(&partials(&[("_partials/x.jinja", "{% for %}")]))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("prompts/_partials/x.jinja:1: invalid template _partials/x.jinja:"),
            "{err}"
        );
    }

    #[test]
    fn partials_are_included_and_their_variables_counted() {
        let p = partials(&[
            (
                "_partials/header.jinja",
                "You help {{ user }}.\n{% include \"_partials/inner.jinja\" %}",
            ),
            ("_partials/inner.jinja", "Tone: {{ tone }}"),
            (
                "_partials/example.jinja",
                "- {{ ex.input }} => {{ ex.output }} ({{ task }})",
            ),
        ]);
        let mut set = TemplateSet::new(&p).unwrap();
        let v = text_version(
            "s",
            1,
            "{% include \"_partials/header.jinja\" %}\n{% for ex in examples %}{% include '_partials/example.jinja' %}\n{% endfor %}{{ review }}",
        );
        set.add_prompt(&v).unwrap();
        let names: Vec<String> = set.prompt_variables(&v).into_iter().collect();
        assert_eq!(names, ["examples", "review", "task", "tone", "user"]);

        let row = minijinja::Value::from_serialize(serde_json::json!({
            "user": "Ann", "tone": "calm", "task": "t", "review": "ok",
            "examples": [{"input": "a", "output": "b"}],
        }));
        let out = set.render_prompt(&v, &row).unwrap();
        assert_eq!(
            out,
            RenderedPrompt::Text("You help Ann.\nTone: calm\n- a => b (t)\nok".into())
        );
    }

    #[test]
    fn undefined_inside_a_partial_points_at_the_partial() {
        let p = partials(&[("_partials/h.jinja", "Hi {{ who }}")]);
        let mut set = TemplateSet::new(&p).unwrap();
        let v = text_version("s", 3, "{% include \"_partials/h.jinja\" %}");
        set.add_prompt(&v).unwrap();
        let err = set.render_prompt(&v, &vars(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prompts/_partials/h.jinja:1: cannot render s@3: undefined variable `who`"
        );
    }

    #[test]
    fn including_an_unknown_partial_is_a_compile_error() {
        let p = partials(&[("_partials/h.jinja", "Hi")]);
        let mut set = TemplateSet::new(&p).unwrap();
        let v = text_version("s", 1, "a\n{% include \"_partials/nope.jinja\" %}");
        let err = set.add_prompt(&v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prompts/s/v1.jinja:2: s@1 includes unknown partial `_partials/nope.jinja`; available partials: _partials/h.jinja"
        );
    }

    #[test]
    fn globals_and_locals_are_not_variables() {
        let v = text_version(
            "s",
            1,
            "{% set ns = namespace(n=0) %}{% for i in range(3) %}{{ loop.index }}{{ i }}{% endfor %}{{ items | tojson }}",
        );
        let set = set_with(&v);
        let names: Vec<String> = set.prompt_variables(&v).into_iter().collect();
        assert_eq!(names, ["items"]);
    }

    #[test]
    fn check_variables_lists_every_missing_one() {
        let v = text_version("s", 1, "{{ a }} {{ b }} {{ c }}");
        let set = set_with(&v);
        let columns = BTreeSet::from(["a".to_string(), "z".to_string()]);
        let err = set.check_variables(&v, &columns).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prompts/s/v1.jinja: s@1 uses variables that the dataset does not have: b, c"
        );
        assert!(err
            .hint()
            .unwrap()
            .starts_with("the dataset's columns are: a, z;"));
    }

    #[test]
    fn inline_templates_compile_once_and_render() {
        let mut set = TemplateSet::new(&BTreeMap::new()).unwrap();
        let origin = Location::line("evals/s.yaml", 9);
        set.add_inline("assert-0", "{{ expected | lower }}", &origin)
            .unwrap();
        assert_eq!(
            set.inline_variables("assert-0"),
            BTreeSet::from(["expected".to_string()])
        );
        assert_eq!(
            set.render_inline("assert-0", &vars(&[("expected", "POS")]))
                .unwrap(),
            "pos"
        );
        let err = set.render_inline("assert-0", &vars(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "evals/s.yaml:9: cannot render assert-0: undefined variable `expected`"
        );
        let err = set.add_inline("assert-1", "{{ x", &origin).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("evals/s.yaml:9: invalid template assert-1:"),
            "{err}"
        );
        let err = set.render_inline("nope", &vars(&[])).unwrap_err();
        assert!(matches!(err.kind(), TemplateErrorKind::NotCompiled { .. }));
    }

    #[test]
    fn many_renders_reuse_compiled_templates() {
        let v = chat_version(
            "s",
            1,
            &[(Role::System, "Be brief."), (Role::User, "{{ q }}")],
        );
        let mut set = set_with(&v);
        set.add_inline("a", "{{ q }}!", &Location::file("e.yaml"))
            .unwrap();
        let row = vars(&[("q", "hi")]);
        for _ in 0..10_000 {
            set.render_prompt(&v, &row).unwrap();
            set.render_inline("a", &row).unwrap();
        }
    }

    #[test]
    fn renders_a_loaded_registry_with_partials() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("prompts/_partials/rules.jinja", "Answer with one word.\n");
        write(
            "prompts/s/v1.yaml",
            "messages:\n  - role: system\n    content: |\n      {% include \"_partials/rules.jinja\" %}\n  - role: user\n    content: \"{{ review }}\"\n",
        );
        let (registry, _) = crate::registry::Registry::load(dir.path()).unwrap();
        let mut set = TemplateSet::new(registry.partials()).unwrap();
        let v = registry.resolve(&"s".parse().unwrap()).unwrap();
        set.add_prompt(v).unwrap();
        let out = set.render_prompt(v, &vars(&[("review", "meh")])).unwrap();
        assert_eq!(
            out.to_messages(),
            [
                Message {
                    role: Role::System,
                    content: "Answer with one word.".into()
                },
                Message {
                    role: Role::User,
                    content: "meh".into()
                },
            ]
        );
        let err = set.render_prompt(v, &vars(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "prompts/s/v1.yaml: cannot render s@1 (messages[1].content, line 1): undefined variable `review`"
        );
    }

    #[test]
    fn finds_include_names_and_bindings() {
        let src = "{% include 'a' %}\n{%- include \"b\" ignore missing %}{% from \"c\" import m %}";
        assert_eq!(
            include_names(src),
            [
                ("a".to_string(), 1),
                ("b".to_string(), 2),
                ("c".to_string(), 2)
            ]
        );
        let mut bound =
            bound_names("{% for k, v in d %}{% set x = 1 %}{% with y = 2 %}{% endwith %}");
        bound.sort();
        assert_eq!(bound, ["k", "v", "x", "y"]);
    }
}
