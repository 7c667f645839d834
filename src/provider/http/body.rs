//! The `http` kind's request body: the `body:` setting with its strings compiled as
//! templates, rendered with the prompt and the row (the `mock` kind's `response:` too).

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};

use crate::provider::remote::messages_json;
use crate::provider::tool_json;
use crate::provider::{ProviderConfigError, ProviderRequest};

/// A JSON value (the `body:` setting) with its string leaves compiled as templates.
pub(in crate::provider) struct BodyTemplate {
    /// The setting's name, for messages (`body`, `response`).
    root: &'static str,
    env: Environment<'static>,
    value: serde_json::Value,
    /// Template name for each string leaf, by its JSON pointer.
    leaves: BTreeMap<String, Leaf>,
}

struct Leaf {
    name: String,
    /// The string is one `{{ … | tojson }}`: insert the parsed JSON, not a string.
    json: bool,
}

impl BodyTemplate {
    /// Compiles the `body:` setting of provider `provider`.
    pub(super) fn compile(
        provider: &str,
        value: &serde_json::Value,
    ) -> Result<Self, ProviderConfigError> {
        Self::compile_setting(provider, "body", value)
    }

    /// Compiles the strings of setting `root` (whose value is `value`) of provider
    /// `provider`; errors name the leaf (`root.a.0`).
    pub(in crate::provider) fn compile_setting(
        provider: &str,
        root: &'static str,
        value: &serde_json::Value,
    ) -> Result<Self, ProviderConfigError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut leaves = BTreeMap::new();
        let mut strings = Vec::new();
        collect_strings(value, String::new(), &mut strings);
        for (pointer, source) in strings {
            let name = format!("{root}{pointer}");
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|err| {
                    ProviderConfigError::new(
                        provider,
                        format!(
                            "invalid template in `{root}{}`: {}",
                            pointer.replace('/', "."),
                            err.detail().unwrap_or(&err.to_string())
                        ),
                        Some(format!(
                            "{root} strings are minijinja templates, e.g. `\"{{{{ prompt }}}}\"`"
                        )),
                    )
                })?;
            leaves.insert(
                pointer,
                Leaf {
                    name,
                    json: is_single_tojson(&source),
                },
            );
        }
        Ok(BodyTemplate {
            root,
            env,
            value: value.clone(),
            leaves,
        })
    }

    /// The value as written, its strings not rendered.
    pub(in crate::provider) fn value(&self) -> &serde_json::Value {
        &self.value
    }

    /// The value with every string rendered with `context` (see [`context`]).
    pub(in crate::provider) fn render(
        &self,
        context: &minijinja::Value,
    ) -> Result<serde_json::Value, String> {
        self.render_part(context, "")
    }

    /// The part of the value at JSON pointer `at` (`""` for all of it, `/1` for the second
    /// item of a list) with its strings rendered with `context`; the strings elsewhere are
    /// not rendered, so they may use variables this context lacks.
    pub(in crate::provider) fn render_part(
        &self,
        context: &minijinja::Value,
        at: &str,
    ) -> Result<serde_json::Value, String> {
        let mut value = self.value.clone();
        let inside = |pointer: &str| {
            at.is_empty()
                || pointer == at
                || pointer
                    .strip_prefix(at)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        for (pointer, leaf) in self.leaves.iter().filter(|(p, _)| inside(p)) {
            let template = self
                .env
                .get_template(&leaf.name)
                .map_err(|e| e.to_string())?;
            let rendered = template.render(context).map_err(|err| {
                format!(
                    "cannot render `{}{}`: {}",
                    self.root,
                    pointer.replace('/', "."),
                    err.detail()
                        .map(str::to_string)
                        .unwrap_or_else(|| err.to_string())
                )
            })?;
            let new = if leaf.json {
                serde_json::from_str(&rendered).unwrap_or(serde_json::Value::String(rendered))
            } else {
                serde_json::Value::String(rendered)
            };
            if let Some(slot) = value.pointer_mut(pointer) {
                *slot = new;
            }
        }
        Ok(value
            .pointer(at)
            .cloned()
            .unwrap_or(serde_json::Value::Null))
    }
}

fn collect_strings(value: &serde_json::Value, at: String, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::String(s) => out.push((at, s.clone())),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_strings(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                collect_strings(v, format!("{at}/{escaped}"), out);
            }
        }
        _ => {}
    }
}

fn is_single_tojson(source: &str) -> bool {
    let s = source.trim();
    let Some(inner) = s.strip_prefix("{{").and_then(|s| s.strip_suffix("}}")) else {
        return false;
    };
    !inner.contains("{{") && !inner.contains("}}") && inner.trim_end().ends_with("tojson")
}

/// The body of `request`: `template` rendered with `prompt`, `messages`, `vars` and each of
/// the row's variables, or `{"prompt": …, "messages": …, "vars": …}` without a template.
pub(super) fn render(
    template: Option<&BodyTemplate>,
    request: &ProviderRequest,
) -> Result<String, String> {
    let value = match template {
        None => {
            let mut body = serde_json::json!({
                "prompt": request.prompt.to_text(),
                "messages": messages_json(request),
                "vars": serde_json::Value::Object((*request.vars).clone()),
            });
            // Only a request offering tools says so, so that other bodies keep their bytes.
            if let Some(set) = tool_json::offered(request.tools.as_deref()) {
                body["tools"] = tool_json::openai_tools(set);
                if let Some(choice) = &set.choice {
                    body["tool_choice"] = tool_json::openai_choice(choice);
                }
            }
            body
        }
        Some(template) => template.render(&context(request))?,
    };
    Ok(value.to_string())
}

/// What templates over a request see: the row's variables by name, then `vars` (the row),
/// `prompt` (as text), `messages` (`[{role, content}]`, with an agent's `tool_calls` and
/// `tool_reply` where a message has them), `tools` (OpenAI's function shape,
/// `[]` when none) and `tool_choice` (OpenAI's, `none` when unset).
pub(in crate::provider) fn context(request: &ProviderRequest) -> minijinja::Value {
    minijinja::Value::from_serialize(context_map(request))
}

/// The variables of [`context`], for a kind that adds its own.
pub(in crate::provider) fn context_map(
    request: &ProviderRequest,
) -> serde_json::Map<String, serde_json::Value> {
    let mut context = (*request.vars).clone();
    let set = tool_json::offered(request.tools.as_deref());
    let tools = set.map_or(serde_json::json!([]), tool_json::openai_tools);
    let choice = set
        .and_then(|s| s.choice.as_ref())
        .map_or(serde_json::Value::Null, tool_json::openai_choice);
    context.insert(
        "vars".into(),
        serde_json::Value::Object((*request.vars).clone()),
    );
    context.insert("prompt".into(), request.prompt.to_text().into());
    context.insert("messages".into(), messages_json(request));
    context.insert("tools".into(), tools);
    context.insert("tool_choice".into(), choice);
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_tojson_detection() {
        assert!(is_single_tojson("{{ messages | tojson }}"));
        assert!(is_single_tojson(" {{ vars|tojson }} "));
        assert!(!is_single_tojson("x {{ vars | tojson }}"));
        assert!(!is_single_tojson("{{ a | tojson }}{{ b | tojson }}"));
        assert!(!is_single_tojson("{{ prompt }}"));
    }
}
