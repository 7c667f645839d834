//! `prompteval run` with external scorers that misbehave: one that sleeps on one case (its
//! timeout must not reach the cases after it), and workers that must not outlive a
//! prompteval killed with SIGKILL or SIGTERM.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli_llamacpp::alive;
use crate::support::project::TestProject;

/// Logs the name it scores to stderr and sleeps on `Bob` (30 s, far past the timeout).
const SLOW_ON_BOB: &str = r#"import json, sys, time
for line in sys.stdin:
    request = json.loads(line)
    name = request["vars"]["name"]
    print("scoring " + name, file=sys.stderr, flush=True)
    if name == "Bob":
        time.sleep(30)
    print(json.dumps({"id": request["id"], "pass": True, "reason": "scored " + name}), flush=True)
"#;

/// The basic project with one prompt on echo, scored by `scorers/score.py` only.
fn project(scorer: &str, timeout: &str) -> TestProject {
    let p = TestProject::basic();
    p.write("scorers/score.py", scorer);
    p.write(
        "evals/greet.yaml",
        &format!(
            "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: external\n    command: [python3, scorers/score.py]\n    timeout: {timeout}\n"
        ),
    );
    p
}

fn assertion<'a>(record: &'a Value, case: &str) -> &'a Value {
    let results = record["results"].as_array().unwrap();
    let cell = results.iter().find(|r| r["case_id"] == case).unwrap();
    &cell["assertions"][0]
}

#[test]
fn a_scorer_timeout_no_longer_poisons_later_cases() {
    let p = project(SLOW_ON_BOB, "1s");
    // One cell at a time: Ada, then Bob (who times out), then Cy.
    let (code, _, stderr) = p.run(&["run", "-j", "1", "-o", "out/run.json"]);
    assert_eq!(code, 1, "{stderr}");
    let record: Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    let bob = assertion(&record, "b");
    assert_eq!(bob["scorer_error"], true);
    let reason = bob["reason"].as_str().unwrap();
    assert!(reason.contains("did not reply within 1s"), "{reason}");
    assert!(reason.ends_with("(stderr: scoring Bob)"), "{reason}");
    assert_eq!(bob["detail"]["stderr"], "scoring Bob\n");
    let cy = assertion(&record, "c");
    assert_eq!(cy["pass"], true, "{cy}");
    assert_eq!(cy["reason"], "scored Cy");
    assert_eq!(assertion(&record, "a")["reason"], "scored Ada");
    assert_eq!(record["summary"][0]["scorer_errors"], 1);
}

/// Writes its pid to `worker.pid` and sleeps on every request, never reading its stdin's end.
const RECORDS_ITS_PID: &str = r#"import json, os, sys, time
with open("worker.pid.tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename("worker.pid.tmp", "worker.pid")
for line in sys.stdin:
    time.sleep(120)
"#;

/// Starts `prompteval run` with a worker that never replies; returns it with the worker's pid.
fn run_with_a_busy_worker(p: &TestProject) -> (std::process::Child, i32) {
    let child = p
        .cmd(&["run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = loop {
        if let Ok(text) = std::fs::read_to_string(p.path().join("worker.pid")) {
            break text.trim().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "the worker never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let the request reach the worker, so that it sleeps.
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid));
    (child, pid)
}

fn assert_worker_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        if Instant::now() >= deadline {
            // SAFETY: kills the orphan this test made, so that it does not linger.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("external scorer worker {pid} outlived prompteval");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn scorer_workers_no_longer_outlive_a_kill_9_of_prompteval() {
    let p = project(RECORDS_ITS_PID, "60s");
    let (mut child, worker) = run_with_a_busy_worker(&p);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_worker_gone(worker);
}

#[test]
fn scorer_workers_no_longer_outlive_a_sigterm_of_prompteval() {
    let p = project(RECORDS_ITS_PID, "60s");
    let (mut child, worker) = run_with_a_busy_worker(&p);
    // SAFETY: sends SIGTERM to the prompteval process this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "prompteval ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_worker_gone(worker);
}
