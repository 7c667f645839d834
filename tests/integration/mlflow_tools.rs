//! Tools of prompt versions in MLflow's prompt registry (issue 15), against the real server
//! `scripts/test.sh` starts (skipped without one, like `mlflow.rs`): pushed into MLflow's
//! `model_config`, read back by MLflow's Python client, pulled back into the same tools.

use std::process::Command;

use serde_json::Value;

use crate::mlflow::{get, pairs, python, server, unique};
use crate::support::project::TestProject;

#[test]
fn tools_go_to_model_config_and_come_back_on_pull() {
    let Some(uri) = server() else { return };
    let name = unique("route").replace('-', "_");
    let p = TestProject::basic();
    p.write(
        "prompts/_tools/get_weather.yaml",
        "description: Current weather in a city.\nparameters:\n  type: object\n  properties:\n    city: {type: string}\n  required: [city]\n",
    );
    p.write(
        &format!("prompts/{name}/v1.yaml"),
        "messages:\n  - role: user\n    content: \"{{ q }}\"\ntools:\n  - get_weather\n  - name: get_time\n    description: The time now.\ntool_choice: get_weather\nparallel_tool_calls: false\n",
    );
    p.write(
        &format!("prompts/{name}/v2.yaml"),
        "messages:\n  - role: user\n    content: \"{{ q }}\"\n",
    );
    let (code, stdout, stderr) = p.run(&["prompt", "push", &name, "--mlflow", &uri]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("pushed {name}@2 → version 2")),
        "{stdout}"
    );

    let versions = get(
        &uri,
        "model-versions/search",
        &[(
            "filter",
            &format!("name = '{name}' AND tag.`mlflow.prompt.is_prompt` = 'true'"),
        )],
    );
    let versions = versions["model_versions"].as_array().unwrap();
    let tags = |n: &str| pairs(&versions.iter().find(|v| v["version"] == n).unwrap()["tags"]);
    let config: Value =
        serde_json::from_str(tags("1")["_mlflow_prompt_model_config"].as_str().unwrap()).unwrap();
    assert_eq!(config["tools"][0]["type"], "function");
    assert_eq!(config["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        config["tools"][1]["function"]["description"],
        "The time now."
    );
    assert_eq!(config["tool_choice"]["function"]["name"], "get_weather");
    assert_eq!(config["parallel_tool_calls"], false);
    assert!(!tags("2").contains_key("_mlflow_prompt_model_config"));

    if let Some(py) = python() {
        let script = format!(
            r#"
import json, mlflow
mlflow.set_tracking_uri("{uri}")
p = mlflow.genai.load_prompt("prompts:/{name}/1")
print(json.dumps(p.model_config))
"#
        );
        let out = Command::new(py).arg("-c").arg(script).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(seen, config, "MLflow's client reads the same model_config");
    }

    let (code, stdout, stderr) = p.run(&["prompt", "push", &name, "--mlflow", &uri]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("2 versions already in MLflow"), "{stdout}");

    let q = TestProject::empty();
    q.write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
    let (code, _, stderr) = q.run(&["prompt", "pull", &name, "--mlflow", &uri]);
    assert_eq!(code, 0, "{stderr}");
    let (a, _) = prompteval::registry::Registry::load(p.path()).unwrap();
    let (b, _) = prompteval::registry::Registry::load(q.path()).unwrap();
    let (a, b) = (a.get(&name).unwrap(), b.get(&name).unwrap());
    for n in 1..=2 {
        assert_eq!(a.versions[&n].tools, b.versions[&n].tools, "v{n}");
    }
    // The shared tool comes back inline: MLflow holds definitions, not files.
    assert!(b.versions[&1].shared_tools.is_empty());
    let (code, stdout, _) = q.run(&["prompt", "pull", &name, "--mlflow", &uri]);
    assert_eq!(code, 0);
    assert!(stdout.contains("2 versions already here"), "{stdout}");
}
