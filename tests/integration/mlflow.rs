//! Against a real MLflow server (started by `scripts/test.sh`, which exports
//! `PROMPTEVAL_TEST_MLFLOW_URI`): tracking and the prompt registry read back through
//! MLflow's REST API and its Python client. Without a server these tests say so and pass —
//! unless `PROMPTEVAL_REQUIRE_MLFLOW=1`, which makes a missing server a failure.
//! The unreachable-server test needs no server and always runs.

use std::process::Command;

use serde_json::{json, Value};

use crate::support::project::TestProject;

/// The test server, or `None` (after saying why) when there is none.
pub(crate) fn server() -> Option<String> {
    if let Ok(uri) = std::env::var("PROMPTEVAL_TEST_MLFLOW_URI") {
        if !uri.is_empty() {
            return Some(uri.trim_end_matches('/').to_string());
        }
    }
    let why = "PROMPTEVAL_TEST_MLFLOW_URI is not set (scripts/test.sh starts an MLflow server)";
    if std::env::var("PROMPTEVAL_REQUIRE_MLFLOW").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// A name no other test run on the same server has used.
pub(crate) fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos:x}-{:x}", std::process::id())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn get(uri: &str, endpoint: &str, query: &[(&str, &str)]) -> Value {
    rt().block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{uri}/api/2.0/mlflow/{endpoint}"))
            .query(query)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{endpoint}: {}", r.status());
        r.json().await.unwrap()
    })
}

fn post(uri: &str, endpoint: &str, body: Value) -> Value {
    rt().block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{uri}/api/2.0/mlflow/{endpoint}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{endpoint}: {}", r.status());
        r.json().await.unwrap()
    })
}

fn artifact(uri: &str, artifact_uri: &str, path: &str) -> Vec<u8> {
    let location = prompteval::mlflow::proxied_location(artifact_uri).unwrap();
    rt().block_on(async {
        let r = reqwest::get(format!(
            "{uri}/api/2.0/mlflow-artifacts/artifacts/{location}/{path}"
        ))
        .await
        .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.bytes().await.unwrap().to_vec()
    })
}

fn tags(run: &Value) -> serde_json::Map<String, Value> {
    pairs(&run["data"]["tags"])
}

fn params(run: &Value) -> serde_json::Map<String, Value> {
    pairs(&run["data"]["params"])
}

pub(crate) fn pairs(list: &Value) -> serde_json::Map<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|t| (t["key"].as_str().unwrap().to_string(), t["value"].clone()))
        .collect()
}

fn metrics(run: &Value) -> serde_json::Map<String, Value> {
    run["data"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| (m["key"].as_str().unwrap().to_string(), m["value"].clone()))
        .collect()
}

fn runs_in(uri: &str, experiment: &str) -> (String, Vec<Value>) {
    let exp = get(
        uri,
        "experiments/get-by-name",
        &[("experiment_name", experiment)],
    );
    let id = exp["experiment"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let runs = post(
        uri,
        "runs/search",
        json!({"experiment_ids": [id], "max_results": 1000}),
    );
    let runs = runs["runs"].as_array().cloned().unwrap_or_default();
    (id, runs)
}

/// The Python client from the venv `scripts/test.sh` used to start the server.
pub(crate) fn python() -> Option<String> {
    std::env::var("PROMPTEVAL_TEST_MLFLOW_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
}

/// Runs `p` logging to `experiment` on `uri`, expecting exit status `code`; returns the
/// stored run record.
fn run_logged(p: &TestProject, uri: &str, experiment: &str, code: i32) -> Value {
    let (exit, _, stderr) = p.run(&[
        "run",
        "--no-progress",
        "--mlflow",
        uri,
        "--mlflow-experiment",
        experiment,
    ]);
    assert_eq!(exit, code, "{stderr}");
    assert!(stderr.contains("mlflow: logged to experiment"), "{stderr}");
    serde_json::from_str(&p.read(&format!(
        ".prompteval/runs/{}/run.json",
        p.latest_run().file_name().unwrap().to_string_lossy()
    )))
    .unwrap()
}

#[test]
fn a_run_is_logged_exactly_and_only_once() {
    let Some(uri) = server() else { return };
    let p = TestProject::basic();
    let experiment = unique("greet");
    let record = run_logged(&p, &uri, &experiment, 0);
    let run_id = record["run_id"].as_str().unwrap();

    let (_, runs) = runs_in(&uri, &experiment);
    assert_eq!(runs.len(), 3, "one parent and two children");
    let parent = runs
        .iter()
        .find(|r| !tags(r).contains_key("mlflow.parentRunId"))
        .unwrap();
    let parent_id = parent["info"]["run_id"].as_str().unwrap();
    assert_eq!(parent["info"]["status"], "FINISHED");
    assert_eq!(parent["info"]["run_name"], run_id);
    assert_eq!(tags(parent)["prompteval.run_id"], run_id);
    assert_eq!(tags(parent)["prompteval.gate"], "passed");
    assert_eq!(params(parent)["run_id"], run_id);

    let summary = record["summary"].as_array().unwrap();
    for row in summary {
        let prompt = row["prompt"].as_str().unwrap();
        let child = runs
            .iter()
            .find(|r| tags(r).get("prompteval.prompt").and_then(Value::as_str) == Some(prompt))
            .unwrap_or_else(|| panic!("no child run for {prompt}"));
        let t = tags(child);
        assert_eq!(t["mlflow.parentRunId"], parent_id);
        assert_eq!(t["prompteval.model"], "echo");
        assert_eq!(child["info"]["status"], "FINISHED");
        let ps = params(child);
        let info = record["evals"][0]["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["reference"] == prompt)
            .unwrap();
        assert_eq!(ps["prompt"], prompt);
        assert_eq!(ps["prompt_hash"], info["hash"]);
        assert_eq!(ps["prompt_version"], prompt.rsplit('@').next().unwrap());
        assert_eq!(ps["dataset_hash"], record["evals"][0]["dataset_hash"]);
        assert_eq!(ps["repeat"], "1");
        assert_eq!(ps["provider.kind"], "echo");
        let ms = metrics(child);
        for key in [
            "pass_rate",
            "score_mean",
            "latency_ms_p50",
            "latency_ms_p95",
        ] {
            let sent = row[key].as_f64().unwrap();
            let got = ms[key].as_f64().unwrap();
            assert!((sent - got).abs() < 1e-9, "{key}: {sent} vs {got}");
        }
        for key in [
            "cases",
            "passed",
            "failed",
            "errors",
            "tokens_in",
            "tokens_out",
        ] {
            assert_eq!(
                ms[key].as_f64().unwrap(),
                row[key].as_f64().unwrap(),
                "{key}"
            );
        }
        // The child's results slice, through the artifact proxy.
        let slice = artifact(
            &uri,
            child["info"]["artifact_uri"].as_str().unwrap(),
            "prompteval/results.jsonl",
        );
        let lines = String::from_utf8(slice).unwrap();
        assert_eq!(lines.lines().count() as u64, row["cases"].as_u64().unwrap());
    }

    // The run record artifact is the JSON report of the local run.
    let artifact_uri = parent["info"]["artifact_uri"].as_str().unwrap();
    let uploaded: Value =
        serde_json::from_slice(&artifact(&uri, artifact_uri, "prompteval/run.json")).unwrap();
    assert_eq!(uploaded["run_id"], run_id);
    assert_eq!(uploaded["summary"], record["summary"]);
    assert_eq!(uploaded["results"].as_array().unwrap().len(), 6);
    let csv = String::from_utf8(artifact(&uri, artifact_uri, "prompteval/results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "header and six cells");

    // Pushing the same run again sends nothing.
    let (code, _, stderr) = p.run(&[
        "runs",
        "push",
        run_id,
        "--mlflow",
        &uri,
        "--mlflow-experiment",
        &experiment,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("already logged"), "{stderr}");
    assert_eq!(runs_in(&uri, &experiment).1.len(), 3);

    // MLflow's own Python client reads the same.
    if let Some(py) = python() {
        let script = format!(
            r#"
import json, mlflow
from mlflow.tracking import MlflowClient
c = MlflowClient("{uri}")
e = c.get_experiment_by_name("{experiment}")
runs = c.search_runs([e.experiment_id])
out = {{}}
for r in runs:
    out[r.data.tags.get("prompteval.prompt", "parent")] = {{"params": r.data.params, "metrics": r.data.metrics, "status": r.info.status}}
print(json.dumps(out))
"#
        );
        let out = Command::new(py).arg("-c").arg(script).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(seen["parent"]["status"], "FINISHED");
        for row in summary {
            let prompt = row["prompt"].as_str().unwrap();
            assert_eq!(seen[prompt]["params"]["prompt"], prompt);
            assert_eq!(seen[prompt]["metrics"]["pass_rate"], row["pass_rate"]);
        }
    }
}

/// Issue 12: child runs logged named metrics recomputed from the results, which missed the
/// members of an `assert-set`; they log the summary's `metrics` now.
#[test]
fn named_metrics_of_assert_set_members_are_logged_as_the_summary_has_them() {
    let Some(uri) = server() else { return };
    let p = TestProject::basic();
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@2]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\n    metric: expected\n  - type: assert-set\n    metric: set\n    assert:\n      - type: contains\n        value: Rome\n        metric: rome\n      - type: contains\n        value: \"{{ name }}\"\n",
    );
    let experiment = unique("metrics");
    // Only case c (Rome) passes: the gate fails, the run is logged all the same.
    let record = run_logged(&p, &uri, &experiment, 1);
    let summary = &record["summary"][0]["metrics"];
    assert_eq!(summary["rome"].as_f64().unwrap(), 1.0 / 3.0, "{summary}");
    let (_, runs) = runs_in(&uri, &experiment);
    let child = runs
        .iter()
        .find(|r| tags(r).contains_key("mlflow.parentRunId"))
        .unwrap();
    let logged = metrics(child);
    for name in ["expected", "set", "rome"] {
        assert_eq!(
            logged[&format!("metric.{name}")].as_f64(),
            summary[name].as_f64(),
            "metric.{name}: {logged:?}"
        );
    }
}

#[test]
fn a_failed_run_ends_failed_in_mlflow() {
    let Some(uri) = server() else { return };
    let p = TestProject::basic();
    // A model server that is not there: every cell errors, the run exits 3.
    p.write(
        "prompteval.yaml",
        "providers:\n  echo: {kind: echo}\n  broken: {kind: openai, model: x, base_url: \"http://127.0.0.1:9/v1\", api_key_env: HOME, max_retries: 0}\n",
    );
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1]\nmodels: [broken]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\n",
    );
    let experiment = unique("failed");
    let (code, _, stderr) = p.run(&[
        "run",
        "--no-progress",
        "--mlflow",
        &uri,
        "--mlflow-experiment",
        &experiment,
    ]);
    assert_eq!(code, 3, "{stderr}");
    let (_, runs) = runs_in(&uri, &experiment);
    assert_eq!(runs.len(), 2);
    let child = runs
        .iter()
        .find(|r| tags(r).contains_key("mlflow.parentRunId"))
        .unwrap();
    assert_eq!(child["info"]["status"], "FAILED");
    assert_eq!(metrics(child)["errors"], 3.0);
}

#[test]
fn an_unreachable_server_is_a_clear_error_and_the_run_is_kept() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = TestProject::basic();
    let uri = format!("http://127.0.0.1:{port}");
    let (code, stdout, stderr) = p.run(&["run", "--no-progress", "--mlflow", &uri]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(&format!("could not reach the MLflow server at {uri}")),
        "{stderr}"
    );
    assert!(stderr.contains("experiments/get-by-name"), "{stderr}");
    assert!(stderr.contains("hint: is the server running"), "{stderr}");
    assert!(
        stderr.contains("verdict (every gate held) stands"),
        "{stderr}"
    );
    assert!(stderr.contains("runs push"), "{stderr}");
    // The run's tables were printed and its record is on disk, finished.
    assert!(stdout.contains("greet@2"), "{stdout}");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(p.latest_run().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(record["status"], "finished");
    assert_eq!(record["gate"]["passed"], true);

    // A URI that is not http is refused before any model is called.
    let (code, _, stderr) = p.run(&["run", "--no-progress", "--mlflow", "file:./mlruns"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("unsupported MLflow tracking URI"),
        "{stderr}"
    );
    // And `prompt push` with no server configured says how to name one.
    let (code, _, stderr) = p.run(&["prompt", "push"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--mlflow URI"), "{stderr}");
}

#[test]
fn a_server_that_rejects_names_the_request_and_its_message() {
    let Some(uri) = server() else { return };
    let p = TestProject::basic();
    // A registered model (not a prompt) holding the prompt's name.
    let name = unique("model");
    post(&uri, "registered-models/create", json!({"name": name}));
    std::fs::rename(
        p.path().join("prompts/greet"),
        p.path().join(format!("prompts/{name}")),
    )
    .unwrap();
    let (code, _, stderr) = p.run(&["prompt", "push", &name, "--mlflow", &uri]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not a prompt"), "{stderr}");

    // A request MLflow refuses: the status, MLflow's error code and message are shown.
    let (code, _, stderr) = p.run(&["prompt", "pull", &unique("nothing"), "--mlflow", &uri]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no prompt"), "{stderr}");
}

#[test]
fn prompts_push_and_pull_byte_for_byte() {
    let Some(uri) = server() else { return };
    let name = unique("greet").replace('-', "_");
    let p = TestProject::basic();
    std::fs::rename(
        p.path().join("prompts/greet"),
        p.path().join(format!("prompts/{name}")),
    )
    .unwrap();
    let v1 = "Hello {{ name }}!\n";
    let v2 = "Hi {{name}}, welcome to {{ city }}.\n{% if x %}{{ x | upper }}{% endif %}\n\n";
    p.write(&format!("prompts/{name}/v2.jinja"), v2);
    p.write(
        &format!("prompts/{name}/v3.yaml"),
        "note: chat with a system message\nparams: {temperature: 0.0, max_tokens: 8}\nmessages:\n  - role: system\n    content: |\n      Answer in \"one\" word: {{ '{{' }} literal\n  - role: user\n    content: \"{{ name }}\\tfrom {{ city }}\"\n",
    );
    p.write(
        &format!("prompts/{name}/prompt.yaml"),
        "description: greet someone\naliases:\n  production: 1\n  staging: 3\nnotes:\n  2: second try\n",
    );
    let (code, stdout, stderr) = p.run(&["prompt", "push", &name, "--mlflow", &uri]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("pushed {name}@3 → version 3")),
        "{stdout}"
    );

    // What MLflow holds, through REST.
    let model = get(&uri, "registered-models/get", &[("name", &name)]);
    let model = &model["registered_model"];
    assert_eq!(pairs(&model["tags"])["mlflow.prompt.is_prompt"], "true");
    let mut aliases: Vec<(String, String)> = model["aliases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["alias"].as_str().unwrap().into(),
                a["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    aliases.sort();
    assert_eq!(
        aliases,
        [
            ("production".into(), "1".into()),
            ("staging".into(), "3".into())
        ]
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
    assert_eq!(versions.len(), 3);
    let version = |n: &str| versions.iter().find(|v| v["version"] == n).unwrap();
    // Without the final newline, which prompteval does not send and MLflow would.
    assert_eq!(
        pairs(&version("1")["tags"])["mlflow.prompt.text"],
        v1.trim_end_matches('\n')
    );
    assert_eq!(pairs(&version("2")["tags"])["mlflow.prompt.text"], v2);
    assert_eq!(version("2")["description"], "second try");
    let chat = pairs(&version("3")["tags"]);
    assert_eq!(chat["_mlflow_prompt_type"], "chat");
    let messages: Value =
        serde_json::from_str(chat["mlflow.prompt.text"].as_str().unwrap()).unwrap();
    // `{{ '{{' }}` is an expression MLflow's double-brace format would leave as written:
    // the message goes through MLflow's Jinja2 instead, which drops the final newline.
    assert_eq!(
        messages,
        json!([
            {"role": "system", "content": "{% if true %}Answer in \"one\" word: {{ '{{' }} literal{% endif %}"},
            {"role": "user", "content": "{{ name }}\tfrom {{ city }}"}
        ])
    );
    assert_eq!(
        serde_json::from_str::<Value>(chat["_mlflow_prompt_model_config"].as_str().unwrap())
            .unwrap(),
        json!({"temperature": 0.0, "max_tokens": 8})
    );

    // MLflow's Python client loads the same templates.
    if let Some(py) = python() {
        let script = format!(
            r#"
import json, mlflow
mlflow.set_tracking_uri("{uri}")
out = {{}}
for v in (1, 2, 3):
    p = mlflow.genai.load_prompt("prompts:/{name}/%d" % v)
    out[str(v)] = p.template
out["production"] = mlflow.genai.load_prompt("prompts:/{name}@production").version
print(json.dumps(out))
"#
        );
        let out = Command::new(py).arg("-c").arg(script).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(seen["1"], v1.trim_end_matches('\n'));
        assert_eq!(seen["2"], v2);
        assert_eq!(seen["3"], messages);
        assert_eq!(seen["production"], 1);
    }

    // A second push sends nothing new.
    let (code, stdout, stderr) = p.run(&["prompt", "push", &name, "--mlflow", &uri]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 versions already in MLflow"), "{stdout}");
    assert!(!stdout.contains("pushed"), "{stdout}");

    // Pull into an empty project: the same templates, byte for byte.
    let q = TestProject::empty();
    q.write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
    let (code, stdout, stderr) = q.run(&["prompt", "pull", &name, "--mlflow", &uri]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("locked"), "{stdout}");
    let file = |proj: &TestProject, rel: &str| {
        std::fs::read(proj.path().join(format!("prompts/{name}/{rel}"))).unwrap()
    };
    assert_eq!(file(&q, "v1.jinja"), file(&p, "v1.jinja"));
    assert_eq!(file(&q, "v2.jinja"), file(&p, "v2.jinja"));
    let (a, _) = prompteval::registry::Registry::load(p.path()).unwrap();
    let (b, _) = prompteval::registry::Registry::load(q.path()).unwrap();
    let (a, b) = (a.get(&name).unwrap(), b.get(&name).unwrap());
    for n in 1..=3 {
        assert_eq!(a.versions[&n].params, b.versions[&n].params, "v{n}");
    }
    assert_eq!(a.versions[&1].body, b.versions[&1].body);
    assert_eq!(a.versions[&2].body, b.versions[&2].body);
    assert_eq!(
        b.versions[&3].note.as_deref(),
        Some("chat with a system message")
    );
    assert_eq!(b.meta.notes.get(&2).map(String::as_str), Some("second try"));
    assert_eq!(a.meta.aliases, b.meta.aliases);
    let lock = q.read("prompts.lock");
    for n in 1..=3 {
        // prompts.lock format 2: each version's hash, and its partials.
        assert!(
            lock.contains(&format!("    {n}:\n      hash: sha256:")),
            "{lock}"
        );
    }
    assert_eq!(q.run(&["prompt", "check"]).0, 0);
    // Pulling again writes nothing.
    let (code, stdout, _) = q.run(&["prompt", "pull", &name, "--mlflow", &uri]);
    assert_eq!(code, 0);
    assert!(stdout.contains("3 versions already here"), "{stdout}");
}

#[test]
fn a_template_over_the_limit_is_refused_before_sending() {
    let Some(uri) = server() else { return };
    let name = unique("big").replace('-', "_");
    let p = TestProject::basic();
    p.write(
        &format!("prompts/{name}/v1.txt"),
        &"x".repeat(prompteval::mlflow::prompts::PROMPT_TEXT_LIMIT + 1),
    );
    let (code, _, stderr) = p.run(&["prompt", "push", &name, "--mlflow", &uri]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{name}@1: template text is 100001 characters; MLflow holds at most 100000"
        )),
        "{stderr}"
    );
    let r = rt().block_on(async {
        reqwest::Client::new()
            .get(format!("{uri}/api/2.0/mlflow/registered-models/get"))
            .query(&[("name", &name)])
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(r.as_u16(), 404, "nothing was registered");
}

/// Renders `reference` of the project at `root` with `vars` as prompteval sends it: the text,
/// or the chat messages as `[{role, content}]`.
fn prompteval_renders(root: &std::path::Path, reference: &str, vars: &Value) -> Value {
    let (registry, _) = prompteval::registry::Registry::load(root).unwrap();
    let r: prompteval::registry::PromptRef = reference.parse().unwrap();
    let version = registry.resolve(&r).unwrap();
    let mut set = prompteval::template::TemplateSet::new(registry.partials()).unwrap();
    set.add_prompt(version).unwrap();
    let rendered = set
        .render_prompt(version, &minijinja::Value::from_serialize(vars))
        .unwrap();
    match rendered {
        prompteval::template::message::RenderedPrompt::Text(t) => Value::String(t),
        prompteval::template::message::RenderedPrompt::Chat(m) => json!(m
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
            .collect::<Vec<_>>()),
    }
}

/// Issue 13, item 25: MLflow's own `load_prompt(...).format()` gave other text than
/// prompteval sends (the trailing newline, partials, expressions), and `params` were only
/// prompteval's tag, not MLflow's `model_config`.
#[test]
fn mlflow_format_yielded_other_text_than_prompteval_sends() {
    let Some(uri) = server() else { return };
    let name = unique("fidelity").replace('-', "_");
    let p = TestProject::basic();
    std::fs::rename(
        p.path().join("prompts/greet"),
        p.path().join(format!("prompts/{name}")),
    )
    .unwrap();
    p.write("prompts/_partials/sig.jinja", "Bye, {{ name }}.\n");
    p.write(
        &format!("prompts/{name}/v2.jinja"),
        "Hi {{ name | upper }}.\n{% include \"_partials/sig.jinja\" %}\n{% if city %}From {{ city }}.{% endif %}\n\n",
    );
    p.write(
        &format!("prompts/{name}/v3.yaml"),
        "params: {temperature: 0.5, max_tokens: 16, stop: \"\\n\", seed: 3}\nmessages:\n  - role: system\n    content: |\n      Be brief.\n  - role: user\n    content: \"{{ name }} from {{ city }}\"\n",
    );
    p.write(
        &format!("prompts/{name}/prompt.yaml"),
        "description: fidelity\n",
    );
    let (code, _, stderr) = p.run(&["prompt", "push", &name, "--mlflow", &uri]);
    assert_eq!(code, 0, "{stderr}");
    let vars = json!({"name": "Ada", "city": "Paris"});
    let expected: Vec<Value> = (1..=3)
        .map(|n| prompteval_renders(p.path(), &format!("{name}@{n}"), &vars))
        .collect();
    assert_eq!(expected[0], "Hello Ada!");
    let Some(py) = python() else {
        eprintln!("skipped the Python client: PROMPTEVAL_TEST_MLFLOW_PYTHON is not set");
        return;
    };
    let script = format!(
        r#"
import json, mlflow
mlflow.set_tracking_uri("{uri}")
out = {{}}
for v in (1, 2, 3):
    p = mlflow.genai.load_prompt("prompts:/{name}/%d" % v)
    out[str(v)] = {{"text": p.format(name="Ada", city="Paris"), "config": p.model_config}}
print(json.dumps(out))
"#
    );
    let out = Command::new(&py).arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    for n in 1..=3 {
        assert_eq!(seen[n.to_string()]["text"], expected[n - 1], "{name}@{n}");
    }
    assert_eq!(
        seen["3"]["config"],
        json!({"temperature": 0.5, "max_tokens": 16, "stop_sequences": ["\n"], "seed": 3})
    );
    assert_eq!(seen["1"]["config"], Value::Null);

    // A version registered with MLflow's client: its model_config comes back as params.
    let other = unique("registered").replace('-', "_");
    let script = format!(
        r#"
import mlflow
mlflow.set_tracking_uri("{uri}")
mlflow.genai.register_prompt(name="{other}", template="Q: {{{{ q }}}}\nA:",
    model_config={{"temperature": 0.1, "max_tokens": 5, "stop_sequences": ["\n"], "model_name": "gpt-4o"}})
"#
    );
    let out = Command::new(&py).arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q = TestProject::empty();
    q.write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
    let (code, _, stderr) = q.run(&["prompt", "pull", &other, "--mlflow", &uri]);
    assert_eq!(code, 0, "{stderr}");
    let (registry, _) = prompteval::registry::Registry::load(q.path()).unwrap();
    let pulled = &registry.get(&other).unwrap().versions[&1];
    assert_eq!(
        Value::Object(pulled.params.clone()),
        json!({"temperature": 0.1, "max_tokens": 5, "stop": ["\n"]})
    );
}

/// Issue 13, item 25: a version MLflow's `format` cannot render (a template loader tag)
/// was pushed silently; it is refused before anything is sent.
#[test]
fn a_version_mlflow_cannot_render_was_pushed_silently() {
    let Some(uri) = server() else { return };
    let name = unique("loader").replace('-', "_");
    let p = TestProject::basic();
    std::fs::rename(
        p.path().join("prompts/greet"),
        p.path().join(format!("prompts/{name}")),
    )
    .unwrap();
    p.write(
        &format!("prompts/{name}/v2.jinja"),
        "{% import \"_partials/m.jinja\" as m %}{{ m.hi(name) }}\n",
    );
    let (code, _, stderr) = p.run(&["prompt", "push", &name, "--mlflow", &uri]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{name}@2 cannot be pushed: `{{% import` needs a template loader"
        )),
        "{stderr}"
    );
    let r = rt().block_on(async {
        reqwest::Client::new()
            .get(format!("{uri}/api/2.0/mlflow/registered-models/get"))
            .query(&[("name", &name)])
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(r.as_u16(), 404, "nothing was registered");
}
