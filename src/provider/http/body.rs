//! The `http` kind's request body: the `body:` setting with its strings compiled as
//! templates, rendered with the prompt and the row.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};

use crate::provider::remote::messages_json;
use crate::provider::{ProviderConfigError, ProviderRequest};

/// The body value with its string leaves compiled as templates.
pub(super) struct BodyTemplate {
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
    pub(super) fn compile(
        provider: &str,
        value: &serde_json::Value,
    ) -> Result<Self, ProviderConfigError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut leaves = BTreeMap::new();
        let mut strings = Vec::new();
        collect_strings(value, String::new(), &mut strings);
        for (pointer, source) in strings {
            let name = format!("body{pointer}");
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|err| {
                    ProviderConfigError::new(
                        provider,
                        format!(
                            "invalid template in `body{}`: {}",
                            pointer.replace('/', "."),
                            err.detail().unwrap_or(&err.to_string())
                        ),
                        Some(
                            "body strings are minijinja templates, e.g. `\"{{ prompt }}\"`".into(),
                        ),
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
            env,
            value: value.clone(),
            leaves,
        })
    }

    pub(super) fn render(&self, context: &minijinja::Value) -> Result<serde_json::Value, String> {
        let mut value = self.value.clone();
        for (pointer, leaf) in &self.leaves {
            let template = self
                .env
                .get_template(&leaf.name)
                .map_err(|e| e.to_string())?;
            let rendered = template.render(context).map_err(|err| {
                format!(
                    "cannot render `body{}`: {}",
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
        Ok(value)
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
    let messages = messages_json(request);
    let prompt = request.prompt.to_text();
    let vars = serde_json::Value::Object((*request.vars).clone());
    let value = match template {
        None => serde_json::json!({"prompt": prompt, "messages": messages, "vars": vars}),
        Some(template) => {
            let mut context = (*request.vars).clone();
            context.insert("vars".into(), vars);
            context.insert("prompt".into(), prompt.into());
            context.insert("messages".into(), messages);
            template.render(&minijinja::Value::from_serialize(&context))?
        }
    };
    Ok(value.to_string())
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
