//! Template errors: located (file, line, prompt@version), with the source line marked.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Location};

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
    /// Rendering took more than [`FUEL`](crate::template::FUEL) steps: a loop too long to be
    /// meant, which would otherwise hang planning.
    #[error("{location}: cannot render {reference}{}: it ran out of fuel (more than {} steps)", part_text(part.as_deref(), *template_line), super::set::FUEL)]
    OutOfFuel {
        /// Where the template is (a partial, when it ran out inside one).
        location: Location,
        /// What was being rendered: `sentiment@2` or an inline name.
        reference: String,
        /// The part of a YAML version (`messages[1].content`, `prompt`), if any.
        part: Option<String>,
        /// The line inside that part's template, when the file line is not known.
        template_line: Option<usize>,
        /// The line it was running when the fuel ran out, marked.
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

    /// The file and line (when known) of the problem.
    pub fn location(&self) -> Option<&Location> {
        self.0.location()
    }
}

impl Diagnostic for TemplateError {
    /// What the user can do about it, when there is something to say. For syntax and
    /// render errors this starts with the offending source line and a `^` marker.
    fn hint(&self) -> Option<String> {
        self.0.hint()
    }
}

impl TemplateErrorKind {
    /// See [`TemplateError::location`].
    pub fn location(&self) -> Option<&Location> {
        match self {
            TemplateErrorKind::Syntax { location, .. }
            | TemplateErrorKind::UnknownPartial { location, .. }
            | TemplateErrorKind::Render { location, .. }
            | TemplateErrorKind::OutOfFuel { location, .. }
            | TemplateErrorKind::MissingVariables { location, .. } => Some(location),
            TemplateErrorKind::NotCompiled { .. } => None,
        }
    }
}

impl Diagnostic for TemplateErrorKind {
    /// See [`TemplateError::hint`].
    fn hint(&self) -> Option<String> {
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
            TemplateErrorKind::OutOfFuel { source_line, .. } => Some(with_snippet(
                source_line,
                "a render may take at most that many steps: look for a loop over a very long `range(…)`, nested loops, or a macro that calls itself",
            )),
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
}

fn with_snippet(snippet: &Option<String>, advice: &str) -> String {
    match snippet {
        Some(snippet) => format!("{snippet}\n{advice}"),
        None => advice.to_string(),
    }
}

/// Where a compiled template came from, to turn minijinja errors into located ones.
#[derive(Clone, Debug)]
pub(super) struct Origin {
    /// `sentiment@2`, `_partials/x.jinja` or the inline name.
    pub(super) reference: String,
    /// The file.
    pub(super) file: PathBuf,
    /// For a YAML version: `messages[i].content` or `prompt`; the template's lines are not
    /// the file's lines then.
    pub(super) part: Option<String>,
    /// For an inline template: where it was written (its lines are not the file's lines).
    pub(super) inline: Option<Location>,
}

impl Origin {
    /// The location of template line `line`, and the line again when it cannot be given as
    /// a file line.
    pub(super) fn locate(&self, line: Option<usize>) -> (Location, Option<usize>) {
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

/// minijinja's description of an error, without the template name and line it appends.
pub(super) fn describe(err: &minijinja::Error) -> String {
    match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    }
}

pub(super) fn syntax_error(err: &minijinja::Error, source: &str, origin: &Origin) -> TemplateError {
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

/// The source line with a `^` marker, drawn as every excerpt is ([`crate::diagnostic::snippet`]).
pub(super) use crate::diagnostic::snippet;
