//! `transform`: a minijinja expression over the output, scored instead of the output.

use std::collections::BTreeSet;

use super::value::Compiler;
use super::ScoreError;
use crate::diagnostic::Location;
use crate::template::{is_template, TemplateError, TemplateErrorKind, TemplateSet};

/// The variable a transform sees the model's output as.
pub const OUTPUT_VARIABLE: &str = "output";

/// What an expression is wrapped in, up to the expression.
const WRAPPER_HEAD: &str = "{% set __transformed = (";

/// A syntax error in a wrapped expression, shown on the expression as written rather
/// than on the wrapper (for one-line expressions, where the column maps back).
fn unwrap_error(err: TemplateError, source: &str) -> TemplateError {
    let TemplateErrorKind::Syntax {
        location,
        part,
        template_line,
        message,
        source_line,
        ..
    } = err.kind()
    else {
        return err;
    };
    if source.contains('\n') {
        return err;
    }
    // The marker line is `     | ` then one space per character before the error, then `^`s.
    let marker = source_line
        .as_deref()
        .and_then(|s| s.lines().nth(1))
        .and_then(|m| m.split_once("| ").map(|(_, m)| m));
    let head = WRAPPER_HEAD.chars().count();
    let length = source.chars().count();
    let snippet = match marker {
        Some(marker) => {
            let start = marker.chars().take_while(|c| *c == ' ').count();
            let width = marker.chars().filter(|c| *c == '^').count().max(1);
            let column = start.saturating_sub(head).min(length);
            let width = width.min(length.saturating_sub(column)).max(1);
            format!(
                "   1 | {source}\n     | {}{}",
                " ".repeat(column),
                "^".repeat(width)
            )
        }
        None => format!("   1 | {source}"),
    };
    TemplateErrorKind::Syntax {
        location: location.clone(),
        reference: "expression".to_string(),
        part: part.clone(),
        template_line: *template_line,
        message: message.clone(),
        source_line: Some(snippet),
    }
    .into()
}

/// A compiled `transform`.
///
/// An expression (`output | trim | lower`) is wrapped into an inline template once, at plan
/// time; a source with template syntax (`{{ output[:10] }}`) is used as a template. A
/// string result is scored as is; any other value (`output | fromjson`) as its JSON text.
///
/// ```
/// use prompteval::diagnostic::Location;
/// use prompteval::score::Transform;
/// use prompteval::template::TemplateSet;
///
/// let mut templates = TemplateSet::new(&Default::default()).unwrap();
/// let origin = Location::line("evals/e.yaml", 4);
/// let t = Transform::compile("(output | fromjson).answer | lower", "e#transform", &origin, &mut templates).unwrap();
/// let vars = minijinja::Value::from(());
/// assert_eq!(t.apply(r#"{"answer": "YES"}"#, &vars, &templates).unwrap(), "yes");
/// ```
#[derive(Debug)]
pub struct Transform {
    name: String,
    /// Whether the result carries the `s`/`j` marker of the expression wrapper.
    wrapped: bool,
    variables: BTreeSet<String>,
}

impl Transform {
    /// Compiles `source` into `templates` under `name`; `origin` is where it was written.
    pub fn compile(
        source: &str,
        name: &str,
        origin: &Location,
        templates: &mut TemplateSet,
    ) -> Result<Transform, TemplateError> {
        let wrapped = !is_template(source);
        let template = if wrapped {
            // `s` or `j` says whether the value was a string or is JSON text.
            format!(
                "{WRAPPER_HEAD}{source}) %}}{{% if __transformed is string %}}s{{{{ __transformed }}}}{{% else %}}j{{{{ __transformed | tojson }}}}{{% endif %}}"
            )
        } else {
            source.to_string()
        };
        templates
            .add_inline(name, &template, origin)
            .map_err(|err| {
                if wrapped {
                    unwrap_error(err, source)
                } else {
                    err
                }
            })?;
        let mut variables = templates.inline_variables(name);
        variables.remove(OUTPUT_VARIABLE);
        variables.remove("__transformed");
        Ok(Transform {
            name: name.to_string(),
            wrapped,
            variables,
        })
    }

    /// The row variables the transform reads (not `output`).
    pub fn variables(&self) -> &BTreeSet<String> {
        &self.variables
    }

    /// The transformed output. `Err` is the whole failure reason
    /// (`could not apply transform: …`).
    pub fn apply(
        &self,
        output: &str,
        vars: &minijinja::Value,
        templates: &TemplateSet,
    ) -> Result<String, String> {
        let context = minijinja::context! { output => output, ..vars.clone() };
        let rendered = templates
            .render_inline(&self.name, &context)
            .map_err(|err| {
                let message = match err.kind() {
                    TemplateErrorKind::Render { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                format!("could not apply transform: {message}")
            })?;
        if !self.wrapped {
            return Ok(rendered);
        }
        match rendered.split_at_checked(1) {
            Some(("s", text)) => Ok(text.to_string()),
            // minijinja's `tojson` escapes `<`, `>`, `&` and `'` for HTML; written again by
            // serde_json the text reads as the model would have written it.
            Some(("j", json)) => Ok(serde_json::from_str::<serde_json::Value>(json)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| json.to_string())),
            _ => Err(format!(
                "could not apply transform: unexpected result {rendered:?}"
            )),
        }
    }
}

/// Compiles an assertion's `transform`, adding the row variables it reads to the
/// assertion's.
pub(crate) fn compile_for(source: &str, c: &mut Compiler<'_>) -> Result<Transform, ScoreError> {
    let name = format!("{}#transform", c.id);
    let transform = Transform::compile(source, &name, c.origin, c.templates).map_err(|source| {
        ScoreError::Transform {
            origin: c.origin.clone(),
            kind: Some(c.spec.kind.clone()),
            source: Box::new(source),
        }
    })?;
    c.variables.extend(transform.variables.iter().cloned());
    Ok(transform)
}

/// Compiles an eval's own `transform` (applied to the output before every assertion).
pub fn compile_eval(
    source: &str,
    eval: &str,
    origin: &Location,
    templates: &mut TemplateSet,
) -> Result<Transform, ScoreError> {
    Transform::compile(source, &format!("{eval}#transform"), origin, templates).map_err(|source| {
        ScoreError::Transform {
            origin: origin.clone(),
            kind: None,
            source: Box::new(source),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::templates;
    use super::*;
    use crate::diagnostic::Diagnostic;
    use serde_json::json;

    fn apply(source: &str, output: &str, vars: serde_json::Value) -> Result<String, String> {
        let mut templates = templates();
        let origin = Location::line("evals/e.yaml", 3);
        let t = Transform::compile(source, "t#transform", &origin, &mut templates)
            .expect("transform compiles");
        t.apply(output, &minijinja::Value::from_serialize(vars), &templates)
    }

    #[test]
    fn string_results_are_kept_as_is() {
        assert_eq!(
            apply("output | trim | lower", "  Hi There\n", json!({})).unwrap(),
            "hi there"
        );
        assert_eq!(apply("output[:3]", "abcdef", json!({})).unwrap(), "abc");
    }

    #[test]
    fn other_values_become_json_text_without_html_escapes() {
        let out = apply(
            "output | fromjson",
            r#"{"a": "<b> & 'c'", "n": [1, 2]}"#,
            json!({}),
        )
        .unwrap();
        assert_eq!(out, r#"{"a":"<b> & 'c'","n":[1,2]}"#);
        assert_eq!(apply("output | length", "abc", json!({})).unwrap(), "3");
        assert_eq!(apply("none", "abc", json!({})).unwrap(), "null");
    }

    #[test]
    fn templates_are_rendered_as_templates() {
        assert_eq!(
            apply("{{ output | upper }}!", "ok", json!({})).unwrap(),
            "OK!"
        );
    }

    #[test]
    fn output_shadows_a_row_variable_of_the_same_name() {
        assert_eq!(
            apply(
                "output ~ '/' ~ city",
                "model",
                json!({"output": "row", "city": "Paris"})
            )
            .unwrap(),
            "model/Paris"
        );
    }

    #[test]
    fn failures_are_reasons() {
        let err = apply("output | fromjson", "not json", json!({})).unwrap_err();
        assert!(err.starts_with("could not apply transform: "), "{err}");
        assert!(err.contains("not JSON"), "{err}");
        let err = apply("output ~ missing", "x", json!({})).unwrap_err();
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn variables_exclude_output() {
        let mut templates = templates();
        let origin = Location::line("evals/e.yaml", 3);
        let t = Transform::compile("output | replace(a, b)", "t", &origin, &mut templates).unwrap();
        assert_eq!(t.variables().iter().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn syntax_errors_say_where() {
        let mut templates = templates();
        let origin = Location::line("evals/e.yaml", 3);
        let err = compile_eval("output |", "e", &origin, &mut templates).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("evals/e.yaml:3: invalid `transform`"),
            "{err}"
        );
        let hint = err.hint().unwrap();
        assert!(
            hint.starts_with("   1 | output |\n     |         ^"),
            "the snippet shows the expression, not the wrapper:\n{hint}"
        );
    }
}
