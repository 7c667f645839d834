//! The prompt engineer's loop (issue 17): `rescore` scores a stored run's outputs again
//! without calling a model, and `run --retry-errors` runs only a run's error cells again,
//! against a scripted server on 127.0.0.1 that counts what reaches it.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::support::project::TestProject;
use crate::support::scripted::{chat, reply, ScriptedServer, Seen};

/// A project whose eval runs greet@1 and greet@2 on the scripted model `local`, and
/// `judge` on the same server as its grader.
pub(crate) fn project(server: &ScriptedServer, assertions: &str) -> TestProject {
    let p = TestProject::basic();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: openai\n    model: tiny\n    base_url: {url}/v1\n    max_retries: 0\n  judge:\n    kind: openai\n    model: judge-1\n    base_url: {url}/v1\n    max_retries: 0\ndefaults:\n  grader: judge\n",
            url = server.url()
        ),
    );
    p.write(
        "evals/greet.yaml",
        &format!("prompts: [greet@1, greet@2]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n{assertions}"),
    );
    p
}

/// Echoes the prompt; a judge's request gets a passing verdict.
pub(crate) fn answer(seen: &Seen) -> crate::support::scripted::Reply {
    if seen.body["model"] == "judge-1" {
        return chat(r#"{"reason": "fine", "pass": true, "score": 1.0}"#);
    }
    chat(&seen.prompt())
}

fn results(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn record(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

pub(crate) fn run_ids(p: &TestProject) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(p.path().join(".prompteval/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

pub(crate) const CONTAINS_NAME: &str = "  - type: contains\n    value: \"{{ name }}\"\n";
const CONTAINS_CITY: &str = "  - type: contains\n    value: \"{{ city }}\"\n";

/// Issue 17: a changed assertion is applied to the stored outputs with no request at the
/// server; the new run records its source and is compared with it.
#[test]
fn rescore_applies_the_current_assertions_without_calling_the_model() {
    let server = ScriptedServer::start(|_, seen| answer(seen));
    let p = project(&server, CONTAINS_NAME);
    let (code, _, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    let source = p.latest_run();
    let source_id = record(&source)["run_id"].as_str().unwrap().to_string();
    assert_eq!(server.seen().len(), 6);

    p.write(
        "evals/greet.yaml",
        &format!("prompts: [greet@1, greet@2]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n{CONTAINS_CITY}"),
    );
    let (code, stdout, stderr) = p.run(&["rescore", "latest", "--no-progress"]);
    assert_eq!(server.seen().len(), 6, "rescore reached the server");
    // greet@1 never names the city: its three cases now fail.
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "rescoring run {source_id}: 6 stored cells, no model is called"
        )),
        "{stderr}"
    );
    assert!(stdout.contains("3 pass→fail"), "{stdout}");
    let new = p.latest_run();
    assert_ne!(new, source);
    let rescored = record(&new);
    assert_eq!(rescored["settings"]["rescored_from"], source_id.as_str());
    assert_eq!(rescored["status"], "finished");
    let cells = results(&new);
    assert_eq!(cells.len(), 6);
    let old = results(&source);
    for cell in &cells {
        let before = old
            .iter()
            .find(|c| c["case_id"] == cell["case_id"] && c["prompt"] == cell["prompt"])
            .unwrap();
        assert_eq!(cell["output"], before["output"]);
        assert_eq!(cell["tokens_in"], before["tokens_in"]);
        assert_eq!(cell["assertions"][0]["type"], "contains");
        let city = cell["vars"]["city"].as_str().unwrap();
        let has_city = cell["output"].as_str().unwrap().contains(city);
        assert_eq!(cell["pass"], has_city);
    }
    // The source run is untouched; a plain run's record has no `rescored_from`.
    assert!(record(&source)["settings"].get("rescored_from").is_none());
}

/// Issue 17: an error cell stays an error, a case no longer in the dataset and a prompt
/// not in the run are reported, and an eval the run lacks is refused.
#[test]
fn rescore_keeps_errors_and_says_what_it_skipped() {
    let server = ScriptedServer::start(|_, seen| {
        if seen.prompt().contains("Bob") {
            return reply(500, "{\"error\": \"down\"}");
        }
        answer(seen)
    });
    let p = project(&server, CONTAINS_NAME);
    let (code, _, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 3, "{stderr}");
    let requests = server.seen().len();

    p.write(
        "datasets/people.csv",
        "id,name,city,expected\na,Ada,Paris,Ada\nb,Bob,Oslo,Bob\nd,Di,Kyiv,Di\n",
    );
    p.write(
        "evals/greet.yaml",
        &format!("prompts: [greet@1, greet@3]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n{CONTAINS_NAME}"),
    );
    p.write("prompts/greet/v3.jinja", "Hey {{ name }}.\n");
    let (code, _, stderr) = p.run(&["rescore", "latest", "--no-progress"]);
    assert_eq!(server.seen().len(), requests, "rescore reached the server");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("2 stored cells"), "{stderr}");
    assert!(
        stderr.contains("skipped: prompt greet@3 of eval `greet` is not in run"),
        "{stderr}"
    );
    assert!(stderr.contains("(it ran greet@1, greet@2)"), "{stderr}");
    assert!(
        stderr.contains("skipped: case `d` of eval `greet` not in run"),
        "{stderr}"
    );
    assert!(
        stderr.contains("case `c` of run") && stderr.contains("no longer in eval `greet`"),
        "{stderr}"
    );
    let cells = results(&p.latest_run());
    let bob = cells.iter().find(|c| c["case_id"] == "b").unwrap();
    assert!(bob["error"].as_str().unwrap().contains("500"), "{bob}");
    let ada = cells.iter().find(|c| c["case_id"] == "a").unwrap();
    assert_eq!(ada["pass"], true);

    let (code, _, stderr) = p.run(&["rescore", "latest", "nope"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("eval `nope` is not in run"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

/// Issue 17: judges call their grader through the cache; `--no-judges` leaves them out,
/// says so, and nothing reaches the server.
#[test]
fn rescore_no_judges_calls_nothing_and_says_so() {
    let server = ScriptedServer::start(|_, seen| answer(seen));
    let rubric = "  - type: llm-rubric\n    value: greets the person\n";
    let p = project(&server, &format!("{CONTAINS_NAME}{rubric}"));
    let (code, _, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    let requests = server.seen().len();
    assert_eq!(requests, 12);

    let (code, _, stderr) = p.run(&["rescore", "latest", "--no-judges", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.seen().len(), requests);
    assert!(
        stderr.contains("--no-judges: 1 judge assertion left out (llm-rubric ×1); the cells are scored without it"),
        "{stderr}"
    );
    let cells = results(&p.latest_run());
    assert!(cells
        .iter()
        .all(|c| c["assertions"].as_array().unwrap().len() == 1));

    // With the judges, a changed rubric asks the grader again (and only the grader).
    p.write(
        "evals/greet.yaml",
        &format!("prompts: [greet@1, greet@2]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n{CONTAINS_NAME}  - type: llm-rubric\n    value: greets the person warmly\n"),
    );
    let (code, _, stderr) = p.run(&["rescore", "latest", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    let seen = server.seen();
    assert_eq!(seen.len(), requests + 6);
    assert!(seen[requests..]
        .iter()
        .all(|s| s.body["model"] == "judge-1"));
}

/// Issue 17: `run --retry-errors` runs only the error cells of a finished run again, in
/// that run, and recomputes its summary and verdict; a run without errors is refused.
#[test]
fn retry_errors_runs_only_the_error_cells_again() {
    let failed = Arc::new(AtomicUsize::new(0));
    let fails = failed.clone();
    let server = ScriptedServer::start(move |_, seen| {
        // Bob's two requests fail once each: the API had a bad minute.
        if seen.prompt().contains("Bob") && fails.fetch_add(1, Ordering::SeqCst) < 2 {
            return reply(500, "{\"error\": \"down\"}");
        }
        answer(seen)
    });
    let p = project(&server, CONTAINS_NAME);
    let (code, _, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 3, "{stderr}");
    let dir = p.latest_run();
    let run_id = record(&dir)["run_id"].as_str().unwrap().to_string();
    assert_eq!(server.seen().len(), 6);

    let (code, stdout, stderr) = p.run(&["run", "--retry-errors", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "retrying run {run_id}: 2 of 6 cells run again, 4 kept"
        )),
        "{stderr}"
    );
    assert!(stdout.contains("gate: passed"), "{stdout}");
    let seen = server.seen();
    assert_eq!(seen.len(), 8);
    assert!(seen[6..].iter().all(|s| s.prompt().contains("Bob")));
    assert_eq!(run_ids(&p), vec![run_id.clone()], "a second run was made");
    let cells = results(&dir);
    assert_eq!(cells.len(), 6);
    assert!(cells.iter().all(|c| c["error"].is_null()), "{cells:?}");
    let rec = record(&dir);
    assert_eq!(rec["status"], "finished");
    assert_eq!(rec["gate"]["passed"], true);
    let errors: u64 = rec["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["errors"].as_u64().unwrap())
        .sum();
    assert_eq!(errors, 0);

    let (code, _, stderr) = p.run(&["run", "--retry-errors", &run_id]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("run {run_id} has no error cells")),
        "{stderr}"
    );
    assert_eq!(server.seen().len(), 8);
}
