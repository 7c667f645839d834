//! The template text MLflow holds for a version, written so that MLflow's own
//! `PromptVersion.format` renders what prompteval sends, and `params` as MLflow's
//! `model_config`.
//!
//! MLflow formats a template one of two ways (`mlflow/entities/model_registry/
//! prompt_version.py`, 3.17): text holding a `{% … %}` tag (any message, for chat) is
//! rendered with Jinja2, which drops one trailing newline as prompteval does; any other text
//! only has its plain `{{ variable }}`s replaced, keeping everything else — the trailing
//! newline prompteval drops, and expressions such as `{{ x | upper }}` — as written.
//! Jinja2 there has no loader, so `{% include %}` cannot be rendered at all.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::error::MlflowError;
use crate::registry::Params;

/// How deep partials may include partials while they are inlined.
const MAX_INCLUDE_DEPTH: usize = 16;

/// `{% include "name" %}` with a literal name, its whitespace-control marks captured.
static INCLUDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\{%(-?)\s*include\s+(?:"([^"]+)"|'([^']+)')\s*(-?)%\}"#).expect("valid")
});
/// Tags that need a template loader, left after the literal includes are inlined.
static LOADER_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%[-+]?\s*(include|import|extends|from)\b").expect("valid"));
/// Every `{{ … }}` expression.
static EXPRESSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\{\{-?(.*?)-?\}\}").expect("valid"));
/// What MLflow's double-brace format replaces (`PROMPT_TEMPLATE_VARIABLE_PATTERN`).
static PLAIN_VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*\s*$").expect("valid")
});

/// Whether MLflow renders `text` with Jinja2 (its `_is_jinja2_template`).
pub(crate) fn is_jinja(text: &str) -> bool {
    text.contains("{%") && text.contains("%}")
}

/// Whether MLflow's double-brace format renders `text` as prompteval does: every
/// `{{ … }}` a plain variable, and no comment.
fn plain_only(text: &str) -> bool {
    !text.contains("{#")
        && EXPRESSION.captures_iter(text).all(|c| {
            !c[0].starts_with("{{-") && !c[0].ends_with("-}}") && PLAIN_VARIABLE.is_match(&c[1])
        })
}

/// `text` without one trailing newline: what prompteval renders of it.
fn rendered_end(text: &str) -> &str {
    text.strip_suffix('\n').unwrap_or(text)
}

/// `text` with every `{% include "…" %}` replaced by the partial's text (without the one
/// trailing newline prompteval drops from it too) inside an `{% if true %}` that keeps the
/// include's whitespace control; any other tag that needs a loader is refused.
fn inline_partials(
    text: &str,
    partials: &BTreeMap<String, String>,
    reference: &str,
    depth: usize,
) -> Result<String, MlflowError> {
    let refuse = |problem: String| MlflowError::NotRenderable {
        reference: reference.to_string(),
        problem,
    };
    if depth > MAX_INCLUDE_DEPTH {
        return Err(refuse(format!(
            "partials include each other more than {MAX_INCLUDE_DEPTH} deep"
        )));
    }
    let mut out = String::new();
    let mut last = 0;
    for c in INCLUDE.captures_iter(text) {
        let whole = c.get(0).expect("a match");
        let name = c.get(2).or_else(|| c.get(3)).expect("a name").as_str();
        let Some(source) = partials.get(name) else {
            return Err(refuse(format!(
                "it includes `{name}`, which is not a partial"
            )));
        };
        let inner = inline_partials(rendered_end(source), partials, reference, depth + 1)?;
        out.push_str(&text[last..whole.start()]);
        out.push_str(&format!(
            "{{%{} if true %}}{inner}{{% endif {}%}}",
            &c[1], &c[4]
        ));
        last = whole.end();
    }
    out.push_str(&text[last..]);
    if let Some(m) = LOADER_TAG.find(&out) {
        return Err(refuse(format!(
            "`{}` needs a template loader, which MLflow's `format` does not have (only `{{% include \"_partials/…\" %}}` with a literal name is inlined)",
            m.as_str()
        )));
    }
    Ok(out)
}

/// The text of a plain-template version as MLflow must hold it.
pub(crate) fn text_for_mlflow(
    text: &str,
    partials: &BTreeMap<String, String>,
    reference: &str,
) -> Result<String, MlflowError> {
    let text = inline_partials(text, partials, reference, 0)?;
    Ok(if is_jinja(&text) {
        text
    } else if plain_only(&text) {
        rendered_end(&text).to_string()
    } else {
        // An expression the double-brace format would leave as written: a no-op tag makes
        // MLflow render the text with Jinja2.
        format!("{{% if true %}}{}{{% endif %}}", rendered_end(&text))
    })
}

/// The contents of a chat version's messages as MLflow must hold them: the messages are
/// rendered one way together (Jinja2 when any holds a tag).
pub(crate) fn messages_for_mlflow(
    contents: &[&str],
    partials: &BTreeMap<String, String>,
    reference: &str,
) -> Result<Vec<String>, MlflowError> {
    let mut out = contents
        .iter()
        .map(|c| inline_partials(c, partials, reference, 0))
        .collect::<Result<Vec<_>, _>>()?;
    if out.iter().any(|c| is_jinja(c)) {
        return Ok(out);
    }
    match out.iter().position(|c| !plain_only(c)) {
        None => Ok(out.iter().map(|c| rendered_end(c).to_string()).collect()),
        Some(i) => {
            out[i] = format!("{{% if true %}}{}{{% endif %}}", rendered_end(&out[i]));
            Ok(out)
        }
    }
}

/// The file text of a pulled plain template: MLflow's text with the final newline a text
/// file has, which rendering drops again (a Jinja2 text is kept as it is).
pub(crate) fn text_for_file(text: &str) -> String {
    if is_jinja(text) || text.is_empty() {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// `params` as MLflow's `model_config` (`PromptModelConfig.to_dict`): its own names where
/// it has one (`stop` → `stop_sequences`), every other param beside them, and the tool
/// part (`prompt_tools::model_config`, compact JSON) when the version has tools.
pub(crate) fn model_config(params: &Params, tools: Option<&str>) -> Option<String> {
    let mut config = match tools.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(tools))) => tools,
        _ => Map::new(),
    };
    if params.is_empty() && config.is_empty() {
        return None;
    }
    for (key, value) in params {
        match (key.as_str(), value) {
            ("stop", Value::String(s)) => {
                config.insert(
                    "stop_sequences".into(),
                    Value::Array(vec![s.clone().into()]),
                );
            }
            ("stop", v) => {
                config.insert("stop_sequences".into(), v.clone());
            }
            (k, v) => {
                config.insert(k.to_string(), v.clone());
            }
        }
    }
    Some(Value::Object(config).to_string())
}

/// The params of an MLflow `model_config` written by someone else (prompteval's own tag is
/// exact and preferred): `stop_sequences` → `stop`; `provider` and `model_name` name a model,
/// which is the eval's choice, not the version's, so they are left out, as are the tool
/// keys (`prompt_tools` reads those).
pub(crate) fn params_of_model_config(config: &str) -> Option<String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(config) else {
        return None;
    };
    let params: Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| {
            ![
                "provider",
                "model_name",
                "tools",
                "tool_choice",
                "parallel_tool_calls",
            ]
            .contains(&k.as_str())
        })
        .map(|(k, v)| match k.as_str() {
            "stop_sequences" => ("stop".to_string(), v),
            _ => (k, v),
        })
        .collect();
    (!params.is_empty()).then(|| Value::Object(params).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partials() -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "_partials/sig.jinja".to_string(),
                "Bye {{ name }}.\n".to_string(),
            ),
            (
                "_partials/outer.jinja".to_string(),
                "[{% include \"_partials/sig.jinja\" %}]".to_string(),
            ),
        ])
    }

    #[test]
    fn a_text_version_kept_the_trailing_newline_prompteval_drops() {
        let t = |s| text_for_mlflow(s, &partials(), "p@1").unwrap();
        assert_eq!(t("Hello {{ name }}!\n"), "Hello {{ name }}!");
        assert_eq!(t("Hello {{ name }}!\n\n"), "Hello {{ name }}!\n");
        // Jinja2 drops it as prompteval does.
        assert_eq!(t("{% if x %}y{% endif %}\n"), "{% if x %}y{% endif %}\n");
        assert_eq!(text_for_file("Hello {{ name }}!"), "Hello {{ name }}!\n");
        assert_eq!(
            text_for_file("{% if x %}y{% endif %}\n"),
            "{% if x %}y{% endif %}\n"
        );
    }

    #[test]
    fn expressions_the_double_brace_format_leaves_as_written_go_through_jinja2() {
        let t = |s| text_for_mlflow(s, &partials(), "p@1").unwrap();
        assert_eq!(
            t("{{ name | upper }}\n"),
            "{% if true %}{{ name | upper }}{% endif %}"
        );
        assert_eq!(t("{{ a.b }} {{c}}"), "{{ a.b }} {{c}}");
        let m = messages_for_mlflow(&["Be {{ '{{' }}\n", "{{ q }}\n"], &partials(), "p@2").unwrap();
        assert_eq!(m, ["{% if true %}Be {{ '{{' }}{% endif %}", "{{ q }}\n"]);
        let m = messages_for_mlflow(&["a\n", "{{ q }}\n"], &partials(), "p@2").unwrap();
        assert_eq!(m, ["a", "{{ q }}"]);
    }

    #[test]
    fn includes_were_pushed_though_mlflow_cannot_render_them() {
        let t = |s| text_for_mlflow(s, &partials(), "p@1");
        assert_eq!(
            t("Hi.{%- include \"_partials/outer.jinja\" %}\n").unwrap(),
            "Hi.{%- if true %}[{% if true %}Bye {{ name }}.{% endif %}]{% endif %}\n"
        );
        let err = t("{% include name_var %}").unwrap_err().to_string();
        assert!(err.contains("needs a template loader"), "{err}");
        let err = t("{% import 'm.jinja' as m %}").unwrap_err().to_string();
        assert!(err.contains("`{% import`"), "{err}");
        let err = t("{% include \"_partials/nope.jinja\" %}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a partial"), "{err}");
    }

    #[test]
    fn params_were_only_a_tag_and_are_model_config() {
        let params: Params =
            serde_json::from_str(r#"{"temperature": 0.2, "stop": "\n", "seed": 7}"#).unwrap();
        let config = model_config(&params, None).unwrap();
        assert_eq!(
            config,
            r#"{"temperature":0.2,"stop_sequences":["\n"],"seed":7}"#
        );
        let tools = r#"{"tools":[],"tool_choice":"auto"}"#;
        assert_eq!(
            model_config(&params, Some(tools)).unwrap(),
            r#"{"tools":[],"tool_choice":"auto","temperature":0.2,"stop_sequences":["\n"],"seed":7}"#
        );
        assert_eq!(model_config(&Params::new(), None), None);
        assert_eq!(
            params_of_model_config(r#"{"tool_choice":"auto","seed":1}"#).unwrap(),
            r#"{"seed":1}"#
        );
        assert_eq!(
            params_of_model_config(
                r#"{"provider":"openai","model_name":"gpt","max_tokens":5,"stop_sequences":["x"]}"#
            )
            .unwrap(),
            r#"{"max_tokens":5,"stop":["x"]}"#
        );
        assert_eq!(params_of_model_config(r#"{"provider":"openai"}"#), None);
    }
}
