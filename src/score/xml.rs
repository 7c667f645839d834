//! `is-xml`: the output is well-formed XML, with a given root element when `value` names one.

use super::check::{Check, Outcome};
use super::json::strip_fence;
use super::value::{show, Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

pub(crate) const EXAMPLE: &str = "{type: is-xml, value: answer}";

/// Compiles `is-xml` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let root = match c.spec.value {
        None => None,
        Some(_) => Some(c.text_value(EXAMPLE)?),
    };
    Ok(Box::new(IsXml { root }))
}

/// `is-xml`.
struct IsXml {
    root: Option<Text>,
}

impl Check for IsXml {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let root = match &self.root {
            Some(root) => Some(root.resolve(input, templates)?),
            None => None,
        };
        let document = match roxmltree::Document::parse(strip_fence(input.output)) {
            Ok(document) => document,
            Err(err) => {
                return Ok(Outcome::fail(format!(
                    "output is not well-formed XML: {err}"
                )))
            }
        };
        let name = document.root_element().tag_name().name();
        Ok(match root {
            None => Outcome::pass(format!("output is well-formed XML (root <{name}>)")),
            Some(wanted) if wanted.trim() == name => {
                Outcome::pass(format!("output is well-formed XML with root <{name}>"))
            }
            Some(wanted) => Outcome::fail(format!(
                "output is well-formed XML, but its root is <{name}>, not {}",
                show(wanted.trim())
            ))
            .when_negated(format!("the XML root is <{name}>")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use serde_json::json;

    #[test]
    fn well_formed_documents_pass() {
        let r = eval(
            json!({"type": "is-xml"}),
            "```xml\n<?xml version=\"1.0\"?>\n<a x=\"1\"><b/>text</a>\n```",
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        assert_eq!(r.reason, "output is well-formed XML (root <a>)");
    }

    #[test]
    fn malformed_documents_fail_with_the_parser_position() {
        let r = eval(json!({"type": "is-xml"}), "<a><b></a>", json!({}));
        assert!(!r.pass);
        assert!(
            r.reason.starts_with("output is not well-formed XML: "),
            "{}",
            r.reason
        );
        assert!(r.reason.contains("1:"), "{}", r.reason);
        let r = eval(json!({"type": "is-xml"}), "plain text", json!({}));
        assert!(!r.pass);
        let r = eval(json!({"type": "not-is-xml"}), "plain text", json!({}));
        assert!(r.pass);
    }

    #[test]
    fn root_name_is_checked() {
        let r = eval(
            json!({"type": "is-xml", "value": "answer"}),
            "<answer/>",
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "is-xml", "value": "{{ root }}"}),
            "<reply/>",
            json!({"root": "answer"}),
        );
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            r#"output is well-formed XML, but its root is <reply>, not "answer""#
        );
        let err = compile_err(json!({"type": "is-xml", "value": ["a"]}));
        assert!(err.to_string().contains("must be a string"), "{err}");
    }
}
