//! Assertion values (literal, row variable or template) and the `Compiler` that reads specs.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::registry::AssertionType;
use super::{AssertionSpec, ScoreError, ScoreInput};
use crate::diagnostic::Location;
use crate::template::{is_template, TemplateSet};

/// A text value of an assertion.
#[derive(Debug)]
pub(crate) enum Text {
    /// No template syntax: used as is.
    Literal(String),
    /// Exactly `{{ name }}`: the row variable's text, without going through the engine.
    Var(String),
    /// Any other template, compiled into the [`TemplateSet`] under this name.
    Template(String),
}

impl Text {
    /// The value for one row. `Err` is the whole failure reason
    /// (`could not render value: …`).
    pub(crate) fn resolve<'a>(
        &'a self,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
    ) -> Result<Cow<'a, str>, String> {
        match self {
            Text::Literal(text) => Ok(Cow::Borrowed(text)),
            Text::Var(name) => {
                let value = input.vars.get_attr(name).map_err(render_error)?;
                if value.is_undefined() {
                    Err(format!(
                        "could not render value: undefined variable `{name}`"
                    ))
                } else if let Some(text) = value.as_str() {
                    Ok(Cow::Owned(text.to_owned()))
                } else {
                    Ok(Cow::Owned(value.to_string()))
                }
            }
            Text::Template(name) => templates
                .render_inline(name, input.vars)
                .map(Cow::Owned)
                .map_err(render_error),
        }
    }

    /// The text when it is known at compile time.
    pub(crate) fn literal(&self) -> Option<&str> {
        match self {
            Text::Literal(text) => Some(text),
            _ => None,
        }
    }
}

fn render_error(err: impl std::fmt::Display) -> String {
    format!("could not render value: {err}")
}

/// `{{ name }}` with nothing else → `name`, when `name` is a plain identifier.
fn plain_variable(source: &str) -> Option<&str> {
    let inner = source.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let mut chars = inner.chars();
    let first = chars.next()?;
    let is_ident = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let literal = matches!(inner, "true" | "false" | "none" | "True" | "False" | "None");
    (is_ident && !literal).then_some(inner)
}

/// Reads one spec into checks: knows the assertion's type (as written), its origin, and
/// where value templates go.
pub(crate) struct Compiler<'a> {
    pub(crate) spec: &'a AssertionSpec,
    /// The registry entry of the spec's type.
    pub(crate) kind: &'static AssertionType,
    pub(crate) id: &'a str,
    pub(crate) origin: &'a Location,
    pub(crate) templates: &'a mut TemplateSet,
    /// Row variables read directly (`{{ name }}` values).
    pub(crate) variables: BTreeSet<String>,
    /// Names of the inline templates compiled for this assertion.
    pub(crate) template_names: Vec<String>,
    next_template: usize,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(
        spec: &'a AssertionSpec,
        kind: &'static AssertionType,
        id: &'a str,
        origin: &'a Location,
        templates: &'a mut TemplateSet,
    ) -> Self {
        Compiler {
            spec,
            kind,
            id,
            origin,
            templates,
            variables: BTreeSet::new(),
            template_names: Vec::new(),
            next_template: 0,
        }
    }

    /// An [`ScoreError::InvalidValue`] for this assertion.
    pub(crate) fn invalid(&self, message: impl Into<String>, example: &'static str) -> ScoreError {
        ScoreError::InvalidValue {
            origin: self.origin.clone(),
            kind: self.spec.kind.clone(),
            message: message.into(),
            example,
        }
    }

    /// Turns a source string into a [`Text`], compiling it when it is a template.
    pub(crate) fn text(&mut self, source: &str) -> Result<Text, ScoreError> {
        if !is_template(source) {
            return Ok(Text::Literal(source.to_owned()));
        }
        if let Some(name) = plain_variable(source) {
            self.variables.insert(name.to_owned());
            return Ok(Text::Var(name.to_owned()));
        }
        let name = format!("{}#{}", self.id, self.next_template);
        self.next_template += 1;
        self.templates
            .add_inline(&name, source, self.origin)
            .map_err(|source| ScoreError::Template {
                origin: self.origin.clone(),
                kind: self.spec.kind.clone(),
                source: Box::new(source),
            })?;
        self.template_names.push(name.clone());
        Ok(Text::Template(name))
    }

    /// The row variable an absent `value` stands for (`expected`, `expected_tools`),
    /// recorded as read; an error when the type has no default value.
    pub(crate) fn default_variable(&mut self, example: &'static str) -> Result<String, ScoreError> {
        let Some(name) = self.kind.value_default else {
            return Err(self.invalid("needs a `value`", example));
        };
        self.variables.insert(name.to_owned());
        Ok(name.to_owned())
    }

    /// The `value` as one text; absent → `{{ expected }}` for the types that default it.
    pub(crate) fn text_value(&mut self, example: &'static str) -> Result<Text, ScoreError> {
        match &self.spec.value {
            None => Ok(Text::Var(self.default_variable(example)?)),
            Some(value) => match scalar_text(value) {
                Some(text) => self.text(&text),
                None => Err(self.invalid(
                    format!("`value` must be a string, found {}", describe(value)),
                    example,
                )),
            },
        }
    }

    /// The `value` as a non-empty list of texts.
    pub(crate) fn text_list(&mut self, example: &'static str) -> Result<Vec<Text>, ScoreError> {
        let items = match &self.spec.value {
            None => return Err(self.invalid("needs a `value`: a list of strings", example)),
            Some(Json::Array(items)) if items.is_empty() => {
                return Err(self.invalid("`value` must list at least one string", example))
            }
            Some(Json::Array(items)) => items,
            Some(other) => {
                return Err(self.invalid(
                    format!(
                        "`value` must be a list of strings, found {}",
                        describe(other)
                    ),
                    example,
                ))
            }
        };
        let mut texts = Vec::with_capacity(items.len());
        for (idx, item) in items.iter().enumerate() {
            match scalar_text(item) {
                Some(text) => texts.push(self.text(&text)?),
                None => {
                    return Err(self.invalid(
                        format!("`value[{idx}]` must be a string, found {}", describe(item)),
                        example,
                    ))
                }
            }
        }
        Ok(texts)
    }

    /// The spec's `threshold`, which must be in `[0, 1]`; `None` when absent.
    pub(crate) fn unit_threshold(&self, example: &'static str) -> Result<Option<f64>, ScoreError> {
        match self.spec.threshold {
            Some(t) if !(0.0..=1.0).contains(&t) => Err(self.invalid(
                format!("`threshold` must be between 0 and 1, found {t}"),
                example,
            )),
            t => Ok(t),
        }
    }

    /// The `value` as a count (a non-negative integer).
    pub(crate) fn count_value(&self, example: &'static str) -> Result<usize, ScoreError> {
        match &self.spec.value {
            None => Err(self.invalid("needs a `value`: a number of characters", example)),
            Some(value) => count(value).ok_or_else(|| {
                self.invalid(
                    format!(
                        "`value` must be a non-negative whole number, found {}",
                        describe(value)
                    ),
                    example,
                )
            }),
        }
    }
}

/// A non-negative whole number.
pub(crate) fn count(value: &Json) -> Option<usize> {
    if let Some(n) = value.as_u64() {
        return usize::try_from(n).ok();
    }
    let f = value.as_f64()?;
    (f >= 0.0 && f.fract() == 0.0 && f <= usize::MAX as f64).then_some(f as usize)
}

/// Strings, numbers and booleans as text; anything else has no text.
fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What kind of JSON value this is, for messages.
pub(crate) fn describe(value: &Json) -> String {
    match value {
        Json::Null => "null".to_string(),
        Json::Bool(b) => format!("a boolean ({b})"),
        Json::Number(n) => format!("a number ({n})"),
        Json::String(s) => format!("a string ({})", show(s)),
        Json::Array(_) => "a list".to_string(),
        Json::Object(_) => "a mapping".to_string(),
    }
}

/// Longest text shown in a reason, in characters.
const SHOW_MAX: usize = 80;

/// `text` quoted for a reason: escaped onto one line, cut at 80 characters with `…`.
pub(crate) fn show(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(SHOW_MAX) + 4);
    out.push('"');
    let mut chars = text.chars();
    for c in chars.by_ref().take(SHOW_MAX) {
        out.extend(c.escape_debug());
    }
    if chars.next().is_some() {
        out.push('…');
    }
    out.push('"');
    out
}

/// Several texts for a reason: `"a", "b"`, at most five, then `and N more`.
pub(crate) fn show_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    let mut out = items
        .iter()
        .take(5)
        .map(|s| show(s))
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > 5 {
        out.push_str(&format!(" and {} more", items.len() - 5));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_variables_are_recognised() {
        assert_eq!(plain_variable("{{ expected }}"), Some("expected"));
        assert_eq!(plain_variable("{{x_1}}"), Some("x_1"));
        assert_eq!(plain_variable("{{ expected | lower }}"), None);
        assert_eq!(plain_variable("{{ a.b }}"), None);
        assert_eq!(plain_variable("{{ true }}"), None);
        assert_eq!(plain_variable(" {{ x }}"), None);
        assert_eq!(plain_variable("{{ x }} and {{ y }}"), None);
    }

    #[test]
    fn show_escapes_and_truncates() {
        assert_eq!(show("a\nb"), r#""a\nb""#);
        let long = "x".repeat(100);
        let shown = show(&long);
        assert_eq!(shown.chars().count(), 80 + 3);
        assert!(shown.ends_with("…\""));
        assert_eq!(show(&"y".repeat(80)).chars().count(), 82);
    }

    #[test]
    fn show_list_caps_items() {
        assert_eq!(show_list(["a", "b"]), r#""a", "b""#);
        let many = ["1", "2", "3", "4", "5", "6", "7"];
        assert!(show_list(many).ends_with("\"5\" and 2 more"));
    }

    #[test]
    fn counts_accept_whole_floats_only() {
        assert_eq!(count(&serde_json::json!(40)), Some(40));
        assert_eq!(count(&serde_json::json!(40.0)), Some(40));
        assert_eq!(count(&serde_json::json!(4.5)), None);
        assert_eq!(count(&serde_json::json!(-1)), None);
        assert_eq!(count(&serde_json::json!("40")), None);
    }
}
