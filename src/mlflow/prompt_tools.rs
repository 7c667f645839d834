//! A version's tools in MLflow's prompt registry: its `model_config` tag holds `tools`
//! (OpenAI's `{type: function, function}` form), `tool_choice` and `parallel_tool_calls`,
//! as MLflow's own `PromptModelConfig` keeps keys it does not know (its `extra_params`).

use serde_json::{json, Map, Value};

use crate::tools::{ToolChoice, ToolSet};

/// The version tag of MLflow's `model_config` (`PROMPT_MODEL_CONFIG_TAG_KEY`): a JSON object.
pub const MODEL_CONFIG_TAG: &str = "_mlflow_prompt_model_config";

/// The keys of `model_config` prompteval writes and reads; others (MLflow's
/// `temperature`, `model_name`, …) are left alone on pull.
const TOOL_KEYS: &[&str] = &["tools", "tool_choice", "parallel_tool_calls"];

/// The `model_config` of a version that offers tools, as compact JSON; `None` without
/// tools, so versions without them are pushed as before.
pub fn model_config(tools: &ToolSet) -> Option<String> {
    if tools.is_empty() && tools.choice.is_none() && tools.parallel.is_none() {
        return None;
    }
    let mut config = Map::new();
    let list: Vec<Value> = tools
        .tools
        .iter()
        .map(|t| json!({"type": "function", "function": t}))
        .collect();
    config.insert("tools".into(), Value::Array(list));
    if let Some(choice) = &tools.choice {
        let value = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::Required => json!("required"),
            ToolChoice::None => json!("none"),
            ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
        };
        config.insert("tool_choice".into(), value);
    }
    if let Some(parallel) = tools.parallel {
        config.insert("parallel_tool_calls".into(), Value::Bool(parallel));
    }
    Some(Value::Object(config).to_string())
}

/// The tool keys of a `model_config` tag as read from MLflow, re-serialised as
/// [`model_config`] writes them so that a pushed version matches its local one; `None`
/// when the tag holds none of them (or is not a JSON object).
pub fn tool_part(tag: &str) -> Option<String> {
    let Ok(Value::Object(config)) = serde_json::from_str::<Value>(tag) else {
        return None;
    };
    let kept: Map<String, Value> = TOOL_KEYS
        .iter()
        .filter_map(|k| Some((k.to_string(), config.get(*k)?.clone())))
        .collect();
    (!kept.is_empty()).then(|| Value::Object(kept).to_string())
}

/// The YAML keys of a pulled version file for the tool part of a `model_config`:
/// `tools` (each function unwrapped: the registry reads both forms), `tool_choice` as a
/// word or a name, `parallel_tool_calls`.
pub fn version_keys(tool_part: &str) -> Result<Vec<(&'static str, serde_yaml::Value)>, String> {
    let config: Map<String, Value> = serde_json::from_str(tool_part)
        .map_err(|e| format!("`{MODEL_CONFIG_TAG}` is not a JSON object: {e}"))?;
    let yaml = |v: &Value| serde_yaml::to_value(v).map_err(|e| e.to_string());
    let mut keys = Vec::new();
    if let Some(tools) = config.get("tools") {
        let Value::Array(list) = tools else {
            return Err(format!("`{MODEL_CONFIG_TAG}`: `tools` is not a list"));
        };
        let unwrapped: Vec<Value> = list
            .iter()
            .map(|t| t.get("function").cloned().unwrap_or_else(|| t.clone()))
            .collect();
        keys.push(("tools", yaml(&Value::Array(unwrapped))?));
    }
    match config.get("tool_choice") {
        None => {}
        Some(Value::String(word)) => keys.push(("tool_choice", word.as_str().into())),
        Some(other) => match other.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => keys.push(("tool_choice", name.into())),
            None => {
                return Err(format!(
                    "`{MODEL_CONFIG_TAG}`: `tool_choice` {other} names no function"
                ))
            }
        },
    }
    if let Some(parallel) = config.get("parallel_tool_calls") {
        keys.push(("parallel_tool_calls", yaml(parallel)?));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> ToolSet {
        serde_json::from_value(json!({
            "tools": [{"name": "get_weather", "description": "Weather.",
                       "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "choice": "get_weather",
            "parallel": false,
        }))
        .unwrap()
    }

    #[test]
    fn tools_map_to_model_config_in_the_openai_form_and_back() {
        let config = model_config(&set()).unwrap();
        assert_eq!(
            config,
            r#"{"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather.","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false}"#
        );
        assert_eq!(tool_part(&config).as_deref(), Some(config.as_str()));
        assert_eq!(model_config(&ToolSet::default()), None);
        let keys = version_keys(&config).unwrap();
        let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["tools", "tool_choice", "parallel_tool_calls"]);
        assert_eq!(keys[1].1, serde_yaml::Value::from("get_weather"));
        assert_eq!(keys[0].1[0]["name"], serde_yaml::Value::from("get_weather"));
    }

    /// A version with tools pushed and pulled back is the same version: its pulled file
    /// loads into the same tools, so the next push or pull finds it unchanged.
    #[test]
    fn a_pulled_version_has_the_tools_it_was_pushed_with() {
        use crate::mlflow::prompts::{remote_form, version_file};
        use crate::registry::Registry;
        let load = |files: &[(&str, &str)]| {
            let dir = tempfile::tempdir().unwrap();
            for (path, text) in files {
                let path = dir.path().join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            let registry = Registry::load(dir.path()).unwrap().0;
            (dir, registry)
        };
        let version = "prompt: \"{{ q }}\"\ntools:\n  - get_weather\n  - {type: function, function: {name: now}}\ntool_choice: required\n";
        let (_dir, registry) = load(&[
            ("prompts/_tools/get_weather.yaml", "description: Weather.\nparameters: {type: object, properties: {city: {type: string}}}\n"),
            ("prompts/p/v1.yaml", version),
        ]);
        let form = remote_form(
            registry.get("p").unwrap().latest().unwrap(),
            registry.partials(),
        )
        .unwrap();
        assert!(form.model_config.is_some());
        let (ext, text) = version_file("p", "1", &form, None).unwrap();
        assert_eq!(ext, "yaml");
        let (_dir, pulled) = load(&[("prompts/p/v1.yaml", &text)]);
        let v = pulled.get("p").unwrap().latest().unwrap();
        assert_eq!(remote_form(v, pulled.partials()).unwrap(), form, "{text}");
        assert_eq!(v.tools.tools[0].description.as_deref(), Some("Weather."));
    }

    #[test]
    fn other_model_config_keys_are_not_part_of_the_match() {
        let tag = r#"{"temperature": 0.2, "model_name": "gpt-4o"}"#;
        assert_eq!(tool_part(tag), None);
        let tag = r#"{"temperature": 0.2, "tool_choice": "auto"}"#;
        assert_eq!(tool_part(tag).as_deref(), Some(r#"{"tool_choice":"auto"}"#));
        assert_eq!(tool_part("not json"), None);
    }
}
