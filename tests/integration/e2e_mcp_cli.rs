//! MCP servers through the CLI: the shipped `examples/mcp` agent eval on a scripted model
//! and the real `mcp-server-time`, and the server gone after every ending of a run
//! (success, SIGKILL, SIGTERM, Ctrl-C).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::mcp::{marked, time_server, wait_for};
use crate::support::project::TestProject;
use crate::support::scripted::{delayed, reply, ScriptedServer};

/// `PATH` with the directory of `server` first, so `command: mcp-server-time` finds it.
fn path_with(server: &Path) -> String {
    let dir = server.parent().unwrap().display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

/// A mark unique to this test process and `what`.
fn mark(what: &str) -> String {
    format!("{}-{what}", std::process::id())
}

/// The shipped example, its server marked so the test can find it.
fn example(mark: &str) -> TestProject {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mcp");
    let p = TestProject::copy_of(&root, &["prompteval.yaml", "prompts", "datasets", "evals"]);
    let eval = p.read("evals/clock.yaml");
    assert!(eval.contains("    timeout: 20s\n"), "{eval}");
    let marked = eval.replace(
        "    timeout: 20s\n",
        &format!("    timeout: 20s\n    env: {{PROMPTEVAL_TEST_MARK: {mark}}}\n"),
    );
    p.write("evals/clock.yaml", &marked);
    p
}

fn results(p: &TestProject) -> Vec<Value> {
    std::fs::read_to_string(p.latest_run().join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_shipped_mcp_example_runs_offline_and_leaves_no_server() {
    let Some(server) = time_server() else { return };
    let mark = mark("example");
    let p = example(&mark);
    let (code, stdout, stderr) = {
        let out = p
            .cmd(&["run"])
            .env("PATH", path_with(&server))
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let results = results(&p);
    assert_eq!(results.len(), 3);
    for r in &results {
        let steps = r["steps"].as_array().expect("an agent cell has steps");
        assert_eq!(steps.len(), 2, "{r}");
        let result = &steps[0]["tool_results"][0];
        assert_eq!(result["name"], "get_current_time");
        assert!(
            result.get("is_error").is_none_or(|e| e == false),
            "{result}"
        );
        let content: Value = serde_json::from_str(result["content"].as_str().unwrap()).unwrap();
        assert!(content["datetime"].is_string(), "{content}");
        assert!(r["output"].as_str().unwrap().contains("datetime"), "{r}");
    }
    assert!(marked(&mark).is_empty(), "the server outlived the run");
}

/// A project whose model (a scripted OpenAI server) takes 60 seconds to answer, with an
/// MCP handler marked `mark`.
fn slow_project(server: &Path, model: &ScriptedServer, mark: &str) -> TestProject {
    let p = TestProject::empty();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  gpt:\n    kind: openai\n    model: m\n    base_url: {}/v1\n    max_retries: 0\n    timeout: 2m\n",
            model.url()
        ),
    );
    p.write(
        "prompts/clock/v1.yaml",
        "messages:\n  - role: user\n    content: \"Time in {{ tz }}?\"\ntools:\n  - name: get_current_time\n    parameters: {type: object, properties: {timezone: {type: string}}}\n",
    );
    p.write("datasets/tz.jsonl", "{\"id\": \"a\", \"tz\": \"UTC\"}\n");
    p.write(
        "evals/clock.yaml",
        &format!(
            "prompts: [clock@1]\nmodels: [gpt]\ndataset: datasets/tz.jsonl\ntool_handlers:\n  get_current_time:\n    kind: mcp\n    command: {}\n    env: {{PROMPTEVAL_TEST_MARK: {mark}}}\nassert:\n  - type: contains\n    value: UTC\n",
            server.display()
        ),
    );
    p
}

#[test]
fn the_server_goes_when_the_run_is_killed_terminated_or_interrupted() {
    let Some(server) = time_server() else { return };
    let model = ScriptedServer::start(|_, _| delayed(reply(200, "{}"), Duration::from_secs(60)));
    for signal in ["KILL", "TERM", "INT"] {
        let mark = mark(&format!("signal-{signal}"));
        let p = slow_project(&server, &model, &mark);
        let mut run = p
            .cmd(&["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = wait_for(30, || !marked(&mark).is_empty());
        if !started {
            let _ = run.kill();
            let out = run.wait_with_output().unwrap();
            panic!(
                "no server started: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The model is being asked (the server started before the first cell).
        assert!(wait_for(10, || !model.seen().is_empty()));
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &run.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = run.wait();
        assert!(
            wait_for(5, || marked(&mark).is_empty()),
            "the server outlived SIG{signal}: {:?}",
            marked(&mark)
        );
    }
}
