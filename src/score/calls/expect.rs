//! The `args:` of `tool-called`: values (literal or templated) and `{schema: …}` fragments,
//! matched against one call's arguments exactly or as a subset.

use serde_json::{Map, Value as Json};

use super::super::json_expect::{matches, short, Expected};
use super::super::value::Compiler;
use super::super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;
use crate::tools::ToolCall;

/// What one argument (or the whole arguments object) must be.
#[derive(Debug)]
enum Node {
    /// A value, compared as `json-path` compares: numbers by value, keys in any order,
    /// templated text that parses as JSON matches that JSON.
    Value(Expected),
    /// `{schema: …}`: a JSON-Schema fragment (draft 2020-12) the argument must match.
    Schema(Box<jsonschema::Validator>),
    /// A mapping: each key's node; with `match: exact`, no other key.
    Object(Vec<(String, Node)>),
}

/// The compiled `args:`.
#[derive(Debug)]
pub(super) struct ArgsMatch {
    root: Vec<(String, Node)>,
    partial: bool,
}

/// Whether a mapping in `args:` is a schema fragment: exactly one key, `schema`. (A
/// literal mapping of that shape is written `{schema: {const: {schema: …}}}`.)
fn is_schema(map: &Map<String, Json>) -> bool {
    map.len() == 1 && map.contains_key("schema")
}

impl ArgsMatch {
    /// Compiles `args` (a mapping), its templates into `c`.
    pub(super) fn compile(
        c: &mut Compiler<'_>,
        args: &Map<String, Json>,
        partial: bool,
    ) -> Result<ArgsMatch, ScoreError> {
        Ok(ArgsMatch {
            root: fields(c, args, "")?,
            partial,
        })
    }

    /// The first way `call` differs from the expected arguments, naming the argument;
    /// `None` when it matches. `Err` is a value that could not be rendered.
    pub(super) fn differs(
        &self,
        call: &ToolCall,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
    ) -> Result<Option<String>, String> {
        let Some(arguments) = &call.arguments else {
            return Ok(Some(format!(
                "arguments are not JSON ({})",
                super::super::value::show(&call.arguments_raw)
            )));
        };
        let Json::Object(map) = arguments else {
            return Ok(Some(format!(
                "arguments are {}, not a mapping",
                short(arguments)
            )));
        };
        let matcher = Matcher {
            partial: self.partial,
            input,
            templates,
        };
        matcher.object(&self.root, map, "")
    }
}

fn fields(
    c: &mut Compiler<'_>,
    map: &Map<String, Json>,
    at: &str,
) -> Result<Vec<(String, Node)>, ScoreError> {
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        out.push((key.clone(), node(c, value, &join(at, key))?));
    }
    Ok(out)
}

fn node(c: &mut Compiler<'_>, value: &Json, at: &str) -> Result<Node, ScoreError> {
    match value {
        Json::Object(map) if is_schema(map) => {
            let schema = &map["schema"];
            jsonschema::draft202012::new(schema)
                .map(|v| Node::Schema(Box::new(v)))
                .map_err(|err| ScoreError::InvalidSchema {
                    origin: c.origin.clone(),
                    kind: c.spec.kind.clone(),
                    message: format!("in `args.{at}`: {err}"),
                })
        }
        Json::Object(map) => Ok(Node::Object(fields(c, map, at)?)),
        other => Ok(Node::Value(Expected::compile(c, other)?)),
    }
}

/// `a.b` from `a` and `b`; `b` at the top.
fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// Matching one row's call.
struct Matcher<'a, 'b> {
    partial: bool,
    input: &'a ScoreInput<'b>,
    templates: &'a TemplateSet,
}

impl Matcher<'_, '_> {
    fn object(
        &self,
        fields: &[(String, Node)],
        actual: &Map<String, Json>,
        at: &str,
    ) -> Result<Option<String>, String> {
        for (key, node) in fields {
            let here = join(at, key);
            let difference = match actual.get(key) {
                None => Some(format!("`{here}` is missing")),
                Some(value) => self.node(node, value, &here)?,
            };
            if difference.is_some() {
                return Ok(difference);
            }
        }
        if self.partial {
            return Ok(None);
        }
        Ok(actual
            .iter()
            .find(|(key, _)| !fields.iter().any(|(k, _)| k == *key))
            .map(|(key, value)| {
                format!("unexpected argument `{}` = {}", join(at, key), short(value))
            }))
    }

    fn node(&self, node: &Node, actual: &Json, at: &str) -> Result<Option<String>, String> {
        match node {
            Node::Value(expected) => {
                let expected = expected.resolve(self.input, self.templates)?;
                Ok((!matches(actual, &expected))
                    .then(|| format!("`{at}` is {}, expected {}", short(actual), short(&expected))))
            }
            Node::Schema(validator) => Ok(validator.iter_errors(actual).next().map(|err| {
                format!(
                    "`{at}` is {}, which does not match its schema: {err}",
                    short(actual)
                )
            })),
            Node::Object(fields) => match actual {
                Json::Object(map) => self.object(fields, map, at),
                other => Ok(Some(format!(
                    "`{at}` is {}, expected a mapping",
                    short(other)
                ))),
            },
        }
    }
}
