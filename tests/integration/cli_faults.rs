//! `prompteval run` under injected faults: a server on 127.0.0.1 answering a share of
//! requests with 429 + Retry-After, 500, 503, connection resets, hangs past the timeout,
//! malformed JSON and truncated bodies. Every cell must end scored or errored (with the
//! status and attempts), nothing may panic, and the API key must never be written. Also a
//! run through the `exec` provider with a Python script.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::project::TestProject;
use crate::support::scripted::{delayed, reply, with_header, Reply, ScriptedServer, Seen};

const KEY_VAR: &str = "PROMPTEVAL_IT_FAULTS_KEY";
const KEY: &str = "sk-faults-0123456789-never-write-me";
const CELLS: usize = 300;

fn ok_body() -> String {
    json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1},
    })
    .to_string()
}

/// Request `n` gets fault `n % 10` (0–6), or a success (7–9). Case `c7` always gets the
/// key echoed back in a 500, so that at least one cell ends with that message whatever the
/// interleaving of requests.
fn faulty(n: usize, seen: &Seen) -> Reply {
    let auth = seen.header("authorization").unwrap_or_default().to_string();
    if seen.body.to_string().contains("what is 7?") {
        return reply(
            500,
            json!({"error": {"message": format!("boom for {auth}")}}).to_string(),
        );
    }
    match n % 10 {
        0 => with_header(
            reply(
                429,
                json!({"error": {"message": "rate limited"}}).to_string(),
            ),
            "Retry-After",
            "0",
        ),
        // The key echoed back, as some gateways do: it must be scrubbed.
        1 => reply(
            500,
            json!({"error": {"message": format!("boom for {auth}")}}).to_string(),
        ),
        2 => reply(503, "<html>unavailable</html>"),
        3 => Reply::Close,
        4 => Reply::Hang(Duration::from_secs(2)),
        5 => reply(200, "{\"choices\": [{\"message\": "),
        6 => Reply::Truncated { body: ok_body() },
        _ => delayed(reply(200, ok_body()), Duration::from_millis(2)),
    }
}

fn project(url: &str) -> TestProject {
    let p = TestProject::empty();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  flaky:\n    kind: openai\n    model: gpt-4o-mini\n    base_url: {url}/v1\n    api_key_env: {KEY_VAR}\n    concurrency: 16\n    timeout: 400ms\n    max_retries: 2\n"
        ),
    );
    p.write("prompts/q/v1.jinja", "Question {{ q }}\n");
    let mut csv = String::from("id,q\n");
    for i in 0..CELLS {
        csv.push_str(&format!("c{i},what is {i}?\n"));
    }
    p.write("datasets/qs.csv", &csv);
    p.write(
        "evals/faults.yaml",
        "prompts: [q@1]\nmodels: [flaky]\ndataset: datasets/qs.csv\nassert:\n  - type: equals\n    value: ok\n",
    );
    p
}

#[test]
fn every_cell_is_accounted_for_under_faults() {
    let server = ScriptedServer::start(faulty);
    let p = project(&server.url());
    let out = p
        .cmd(&["run", "--output", "out.json"])
        .env(KEY_VAR, KEY)
        .env("PROMPTEVAL_RETRY_BASE_MS", "5")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Provider errors after retries: exit 3.
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");

    let results = std::fs::read_to_string(p.latest_run().join("results.jsonl")).unwrap();
    let cells: Vec<Value> = results
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(cells.len(), CELLS);
    let mut ids: Vec<&str> = cells
        .iter()
        .map(|c| c["case_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CELLS, "every case exactly once");
    let (mut scored, mut errored) = (0, 0);
    for cell in &cells {
        match (&cell["output"], &cell["error"]) {
            (Value::String(o), Value::Null) => {
                assert_eq!(o, "ok");
                assert_eq!(cell["pass"], json!(true));
                scored += 1;
            }
            (Value::Null, Value::String(e)) => {
                // The error says what happened and after how many attempts.
                assert!(
                    e.ends_with(" attempt)") || e.ends_with(" attempts)"),
                    "no attempt count: {e}"
                );
                let known = [
                    "HTTP 429",
                    "HTTP 500",
                    "HTTP 503",
                    "connection",
                    "request failed",
                    "timed out",
                    "malformed response",
                ];
                assert!(
                    known.iter().any(|k| e.contains(k)),
                    "unexplained error: {e}"
                );
                errored += 1;
            }
            other => panic!("cell neither scored nor errored: {other:?}"),
        }
    }
    assert!(scored > CELLS / 2, "scored {scored}");
    assert!(errored > 0, "the faults should break some cells");
    assert!(server.seen().len() > CELLS, "retries happened");

    // The summary counts provider errors apart from assertion failures.
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("out.json")).unwrap()).unwrap();
    let row = &record["summary"][0];
    assert_eq!(row["errors"], json!(errored));
    assert_eq!(row["passed"], json!(scored));
    assert_eq!(row["failed"], json!(0));

    // The key the server echoed is in no file and no output.
    let mut everything = format!("{stdout}{stderr}");
    for entry in walk(&p.path().join(".prompteval")) {
        everything.push_str(&std::fs::read_to_string(entry).unwrap_or_default());
    }
    everything.push_str(&std::fs::read_to_string(p.path().join("out.json")).unwrap());
    assert!(
        !everything.contains(KEY),
        "the API key was written somewhere"
    );
    assert!(
        everything.contains("boom for Bearer ***"),
        "scrubbed echo expected"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn exec_provider_runs_a_python_script_per_cell() {
    let p = TestProject::empty();
    p.write(
        "model.py",
        "import json, sys\nreq = json.load(sys.stdin)\nif req['vars']['name'] == 'Bob':\n    print('no Bobs allowed', file=sys.stderr)\n    sys.exit(4)\nprint(req['prompt'].upper())\n",
    );
    p.write(
        "prompteval.yaml",
        "providers:\n  script:\n    kind: exec\n    command: [python3, model.py]\n",
    );
    p.write("prompts/greet/v1.jinja", "hello {{ name }}");
    p.write("datasets/people.csv", "id,name\na,Ada\nb,Bob\n");
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1]\nmodels: [script]\ndataset: datasets/people.csv\nassert:\n  - type: equals\n    value: \"HELLO {{ name | upper }}\"\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "--output", "out.json"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("out.json")).unwrap()).unwrap();
    let results = record["results"].as_array().unwrap();
    let ada = results.iter().find(|r| r["case_id"] == "a").unwrap();
    assert_eq!(ada["output"], json!("HELLO ADA"));
    assert_eq!(ada["pass"], json!(true));
    let bob = results.iter().find(|r| r["case_id"] == "b").unwrap();
    assert_eq!(
        bob["error"],
        json!("command exited with status 4: no Bobs allowed (after 1 attempt)")
    );
}
