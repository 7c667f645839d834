//! The CLI against a real OpenAI-compatible HTTP server on 127.0.0.1: a full run with
//! tokens and cost, provider errors (exit 3, cells kept), and Ctrl-C (exit 3, finished
//! cells kept).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::project::{self, TestProject};
use crate::support::scripted::{delayed, reply, ScriptedServer};

/// How the server answers the n-th request (from 0).
type Behaviour = dyn Fn(usize, &str) -> (u16, String, Duration) + Send + Sync;

/// A scripted server on 127.0.0.1 answering with `behaviour` (status, body, delay for
/// the n-th request and its body), and its count of requests.
fn serve(behaviour: Arc<Behaviour>) -> (u16, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let server = ScriptedServer::start(move |n, request| {
        seen.fetch_add(1, Ordering::SeqCst);
        let (status, body, delay) = behaviour(n, &request.body.to_string());
        delayed(reply(status, body), delay)
    });
    (server.addr.port(), count)
}

fn completion(content: &str) -> String {
    serde_json::json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2},
    })
    .to_string()
}

fn project(port: u16) -> TestProject {
    let p = TestProject::basic();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: openai\n    model: tiny\n    base_url: http://127.0.0.1:{port}/v1\n    concurrency: 2\n    max_retries: 1\n    timeout: 10s\n    price: {{input: 1.0, output: 2.0}}\n"
        ),
    );
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1, greet@2]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n  - type: icontains\n    value: \"{{ name }}\"\ngate:\n  min_pass_rate: 0.5\n",
    );
    p
}

#[test]
fn full_run_against_an_openai_compatible_server() {
    // The "model" greets whoever the prompt names.
    let (port, count) = serve(Arc::new(|_, body: &str| {
        let name = ["Ada", "Bob", "Cy"]
            .into_iter()
            .find(|n| body.contains(n))
            .unwrap_or("nobody");
        (200, completion(&format!("Hi {name}")), Duration::ZERO)
    }));
    let p = project(port);
    let (code, stdout, stderr) = p.run(&["run", "-o", "r.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 6);
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let row = &record["summary"][0];
    assert_eq!(row["passed"], 3);
    assert_eq!(row["tokens_in"], 30);
    assert_eq!(row["tokens_out"], 6);
    // 30 prompt tokens at $1/M + 6 completion tokens at $2/M.
    let cost = row["cost_usd"].as_f64().unwrap();
    assert!((cost - 42e-6).abs() < 1e-12, "{cost}");
    assert!(record["results"][0]["output"]
        .as_str()
        .unwrap()
        .starts_with("Hi "));
}

#[test]
fn provider_errors_exit_3_and_keep_every_cell() {
    // Every second request fails for good (500 twice: one try and one retry).
    let (port, _) = serve(Arc::new(|_, body: &str| {
        if body.contains("Bob") {
            (
                500,
                "{\"error\":{\"message\":\"boom\"}}".into(),
                Duration::ZERO,
            )
        } else {
            (200, completion("Hi Ada Cy"), Duration::ZERO)
        }
    }));
    let p = project(port);
    let out = p
        .cmd(&["run", "-o", "r.json"])
        .env("PROMPTEVAL_RETRY_BASE_MS", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("ERROR"), "{stdout}");
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    assert_eq!(record["summary"][0]["errors"], 1);
    assert_eq!(record["summary"][0]["passed"], 2);
    let errored = record["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| !r["error"].is_null())
        .unwrap();
    let message = errored["error"].as_str().unwrap();
    assert!(
        message.contains("500") && message.contains("2 attempts"),
        "{message}"
    );
    assert_eq!(errored["pass"], false);
}

#[test]
fn ctrl_c_stops_cleanly_keeps_finished_cells_and_exits_3() {
    // Two quick answers, then the server stalls.
    let (port, count) = serve(Arc::new(|n, _: &str| {
        let delay = if n < 2 {
            Duration::ZERO
        } else {
            Duration::from_secs(30)
        };
        (200, completion("Hi Ada"), delay)
    }));
    let p = project(port);
    let child = p
        .cmd(&["run", "-o", "r.json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while count.load(Ordering::SeqCst) < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let (code, stderr) = project::interrupt(child);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("interrupted: 2 of 6 cells finished"),
        "{stderr}"
    );
    let run = p.latest_run();
    let results = std::fs::read_to_string(run.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 2);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "interrupted");
    assert_eq!(record["completed_cells"], 2);
}
