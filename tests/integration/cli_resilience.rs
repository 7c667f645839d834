//! The response cache, offline replay, crash safety with `--resume`, and repeats, through
//! the CLI against a real HTTP server on 127.0.0.1 that counts the requests it answers.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::project::TestProject;
use crate::support::scripted::{delayed, reply, ScriptedServer};

/// How the server answers the n-th request (from 0), given the request body.
type Behaviour = dyn Fn(usize, &Value) -> (String, Duration) + Send + Sync;

/// A scripted server on 127.0.0.1 answering every request with a chat completion whose
/// content and delay `behaviour` picks, and its count of requests.
fn serve(behaviour: Arc<Behaviour>) -> (u16, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let server = ScriptedServer::start(move |n, request| {
        seen.fetch_add(1, Ordering::SeqCst);
        let (content, delay) = behaviour(n, &request.body);
        let payload = serde_json::json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2},
        });
        delayed(reply(200, payload.to_string()), delay)
    });
    (server.addr.port(), count)
}

/// The user message of a chat request.
fn prompt_of(body: &Value) -> String {
    body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn echo_server(delay: Duration) -> (u16, Arc<AtomicUsize>) {
    serve(Arc::new(move |_, body| (prompt_of(body), delay)))
}

const KEY_VAR: &str = "PROMPTEVAL_IT_RESILIENCE_KEY";
const KEY: &str = "sk-resilience-7f3a9c2e-do-not-store";

/// A project on provider `local` at `port`; `extra` goes under the provider.
fn project(port: u16, extra: &str, eval_extra: &str) -> TestProject {
    let p = TestProject::basic();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: openai\n    model: tiny\n    base_url: http://127.0.0.1:{port}/v1\n    api_key_env: {KEY_VAR}\n    concurrency: 4\n    max_retries: 0\n    timeout: 20s\n{extra}"
        ),
    );
    p.write(
        "evals/greet.yaml",
        &format!("prompts: [greet@1, greet@2]\nmodels: [local]\ndataset: datasets/people.csv\n{eval_extra}assert:\n  - type: icontains\n    value: \"{{{{ name }}}}\"\n"),
    );
    p
}

fn run(p: &TestProject, args: &[&str]) -> (i32, String, String) {
    let out = p
        .cmd(args)
        .env(KEY_VAR, KEY)
        .output()
        .expect("run prompteval");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

const DETERMINISTIC: &str = "    params: {temperature: 0}\n";

#[test]
fn cache_hits_misses_no_cache_and_ttl() {
    let (port, count) = echo_server(Duration::ZERO);
    let p = project(port, DETERMINISTIC, "");
    let (code, _, stderr) = run(&p, &["run", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 6);
    let first = results(&p.latest_run());
    assert!(first.iter().all(|c| c["cached"] == false));
    let entries: Vec<_> = files(&p.path().join(".prompteval/cache"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(entries.len(), 6);

    // Cached re-run: no request, every cell marked, the terminal says so.
    std::thread::sleep(Duration::from_millis(1100)); // a new run id (second resolution)
    let (code, stdout, stderr) = run(&p, &["run", "--no-progress", "-o", "out.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 6);
    let second = results(&p.latest_run());
    assert!(second.iter().all(|c| c["cached"] == true), "{second:?}");
    assert!(
        stdout.contains("6 of 6 cells were served from the response cache"),
        "{stdout}"
    );
    assert!(stderr.contains("cache: 6 responses served"), "{stderr}");
    let out: Value = serde_json::from_str(&p.read("out.json")).unwrap();
    assert_eq!(out["summary"][0]["cached"], 3);

    // --no-cache sends everything again.
    let (code, _, _) = run(&p, &["run", "--no-progress", "--no-cache"]);
    assert_eq!(code, 0);
    assert_eq!(count.load(Ordering::SeqCst), 12);

    // Entries older than the TTL are not served.
    for f in &entries {
        let text = std::fs::read_to_string(f).unwrap();
        let mut entry: Value = serde_json::from_str(&text).unwrap();
        entry["created_at"] = "2020-01-01T00:00:00Z".into();
        std::fs::write(f, serde_json::to_string_pretty(&entry).unwrap()).unwrap();
    }
    let (code, _, _) = run(&p, &["run", "--no-progress", "--cache-ttl", "30d"]);
    assert_eq!(code, 0);
    assert_eq!(count.load(Ordering::SeqCst), 18);

    // `cache stats` and `cache clear`.
    let (code, stdout, _) = run(&p, &["cache", "stats"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("entries: 6"), "{stdout}");
    let (code, stdout, _) = run(&p, &["cache", "clear", "--older-than", "1d"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("removed 0 cache entries"), "{stdout}");
    let (code, stdout, _) = run(&p, &["cache", "clear"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("removed 6 cache entries"), "{stdout}");
}

#[test]
fn sampled_requests_are_not_cached_by_default() {
    let (port, count) = echo_server(Duration::ZERO);
    let p = project(port, "", "");
    for _ in 0..2 {
        let (code, _, stderr) = run(&p, &["run", "--no-progress"]);
        assert_eq!(code, 0, "{stderr}");
    }
    assert_eq!(count.load(Ordering::SeqCst), 12);
    assert!(!p.path().join(".prompteval/cache").exists());
}

#[test]
fn offline_replays_without_keys_and_marks_misses() {
    let (port, count) = echo_server(Duration::ZERO);
    let p = project(port, DETERMINISTIC, "");
    let (code, _, stderr) = run(&p, &["run", "--no-progress", "-o", "online.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 6);

    // Offline, with the API key variable unset: served from the cache, nothing sent.
    let out = p
        .cmd(&["run", "--no-progress", "--offline", "-o", "offline.json"])
        .env_remove(KEY_VAR)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 6);

    // A new case is a miss: an error cell, clearly marked, exit 3, still nothing sent.
    std::thread::sleep(Duration::from_millis(1100)); // a later run id (second resolution)
    p.write(
        "datasets/people.csv",
        "id,name,city,expected\na,Ada,Paris,Ada\nb,Bob,Oslo,Bob\nc,Cy,Rome,Rome\nd,Dee,Lima,Dee\n",
    );
    let out = p
        .cmd(&["run", "--no-progress", "--offline"])
        .env_remove(KEY_VAR)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(count.load(Ordering::SeqCst), 6);
    let cells = results(&p.latest_run());
    let errors: Vec<_> = cells.iter().filter(|c| !c["error"].is_null()).collect();
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|c| c["case_id"] == "d"
        && c["error"]
            .as_str()
            .unwrap()
            .starts_with("offline: no cached response for model `local`")));
    assert!(stdout.contains("ERROR"), "{stdout}");
}

#[test]
fn secrets_are_never_written() {
    let (port, _) = echo_server(Duration::ZERO);
    let p = project(port, DETERMINISTIC, "repeat: 2\n");
    let (code, _, stderr) = run(
        &p,
        &[
            "run",
            "--no-progress",
            "-o",
            "out/r.json",
            "-o",
            "out/r.md",
            "-o",
            "out/r.csv",
            "-o",
            "out/r.xml",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = run(&p, &["run", "--no-progress", "-o", "out/r2.json"]);
    assert_eq!(code, 0);
    let mut checked = 0;
    for f in files(p.path()) {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(KEY), "{} contains the API key", f.display());
        checked += 1;
    }
    assert!(checked > 10, "only {checked} files");
}

#[test]
fn concurrent_identical_requests_are_sent_once() {
    let (port, count) = echo_server(Duration::from_millis(300));
    let p = project(port, DETERMINISTIC, "");
    // Four cases render the same two prompts: 8 cells, 2 distinct requests.
    p.write(
        "datasets/people.csv",
        "id,name,city,expected\na,Ada,Paris,Ada\nb,Ada,Paris,Ada\nc,Ada,Paris,Ada\nd,Ada,Paris,Ada\n",
    );
    let (code, _, stderr) = run(&p, &["run", "--no-progress", "-j", "8"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let cells = results(&p.latest_run());
    assert_eq!(cells.len(), 8);
    assert_eq!(cells.iter().filter(|c| c["cached"] == true).count(), 6);
}

fn slow_project(port: u16, rows: usize) -> TestProject {
    let p = project(port, "", "");
    let mut csv = String::from("id,name,city,expected\n");
    for i in 0..rows {
        csv.push_str(&format!("c{i},Name{i},City,x\n"));
    }
    p.write("datasets/people.csv", &csv);
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n  - type: icontains\n    value: \"{{ name }}\"\n",
    );
    p
}

/// Starts a run and kills it with SIGKILL once `after` cells are in results.jsonl.
fn kill_mid_run(p: &TestProject, after: usize) {
    let mut child = p
        .cmd(&["run", "--no-progress", "-j", "2"])
        .env(KEY_VAR, KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the run never got going");
        let runs = p.path().join(".prompteval/runs");
        let lines = std::fs::read_dir(&runs)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read(e.ok()?.path().join("results.jsonl")).ok())
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .unwrap_or(0);
        if lines >= after {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn kill_9_then_resume_runs_only_the_missing_cells() {
    let (port, count) = echo_server(Duration::from_millis(100));
    let p = slow_project(port, 30);
    kill_mid_run(&p, 6);
    let dir = p.latest_run();
    let sent_before = count.load(Ordering::SeqCst);
    assert_eq!(record(&dir)["status"], "running");
    // Whole lines are finished cells; a torn tail (if any) is not one.
    let text = std::fs::read_to_string(dir.join("results.jsonl")).unwrap();
    let done: HashSet<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|c| c["case_id"].as_str().unwrap().to_string())
        .collect();
    assert!(done.len() >= 6 && done.len() < 30, "{}", done.len());
    // With two in flight, at most two answered requests were lost with the process.
    assert!(
        sent_before <= done.len() + 2,
        "{sent_before} vs {}",
        done.len()
    );

    let (code, _, stderr) = run(&p, &["run", "--resume", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("{} of 30 cells already finished", done.len())),
        "{stderr}"
    );
    assert_eq!(count.load(Ordering::SeqCst) - sent_before, 30 - done.len());
    let cells = results(&dir);
    let ids: Vec<&str> = cells
        .iter()
        .map(|c| c["case_id"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!((ids.len(), unique.len()), (30, 30));
    let rec = record(&dir);
    assert_eq!(rec["status"], "finished");
    assert_eq!(rec["completed_cells"], 30);
    assert_eq!(rec["summary"][0]["cases"], 30);
    assert_eq!(rec["summary"][0]["passed"], 30);

    // Nothing left to resume.
    let (code, _, stderr) = run(&p, &["run", "--resume"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no unfinished run"), "{stderr}");
}

#[test]
fn resume_refuses_a_changed_dataset() {
    let (port, count) = echo_server(Duration::from_millis(100));
    let p = slow_project(port, 30);
    kill_mid_run(&p, 3);
    let sent = count.load(Ordering::SeqCst);
    let id = p
        .latest_run()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let csv = p.read("datasets/people.csv").replace("Name5,", "Changed,");
    p.write("datasets/people.csv", &csv);
    let (code, _, stderr) = run(&p, &["run", "--resume", &id]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("run {id} cannot be resumed: the plan changed since it started (dataset datasets/people.csv changed)")),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), sent);
}

/// A project of `rows` cases on a server that answers at once, except requests
/// `stall` (counted from 0 over the whole test), which it holds for 30 s.
fn stalling_project(rows: usize, stall: std::ops::Range<usize>) -> (TestProject, Arc<AtomicUsize>) {
    let (port, count) = serve(Arc::new(move |n, body| {
        let delay = if stall.contains(&n) {
            Duration::from_secs(30)
        } else {
            Duration::ZERO
        };
        (prompt_of(body), delay)
    }));
    (slow_project(port, rows), count)
}

/// Starts `prompteval run -j 2`, waits until the server has seen `sent` requests (then a
/// little, for the answered ones to be recorded), and sends it `signal`: (exit code,
/// stdout, stderr).
fn signal_mid_run(
    p: &TestProject,
    count: &AtomicUsize,
    sent: usize,
    signal: &str,
) -> (i32, String, String) {
    let child = p
        .cmd(&["run", "--no-progress", "-j", "2"])
        .env(KEY_VAR, KEY)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::SeqCst) < sent {
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    crate::support::project::signal(child, signal)
}

fn run_id(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn an_interrupted_run_was_judged_and_became_the_latest_baseline() {
    // Issue 13.4. Run 1 finishes (requests 0–9); run 2 gets 3 answers, then two stall.
    let (p, count) = stalling_project(10, 13..15);
    let (code, _, stderr) = run(&p, &["run", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    let first = run_id(&p.latest_run());
    let (code, stdout, stderr) = signal_mid_run(&p, &count, 15, "INT");
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    let dir = p.latest_run();
    let second = run_id(&dir);
    let resume = format!("`prompteval run --resume {second}`");
    assert!(
        stdout.contains(&format!(
            "gate: not judged: interrupted after 3 of 10 cells — {resume} to finish"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("gate: passed"), "{stdout}");
    assert!(
        stderr.contains(&format!("{resume} finishes the run")),
        "{stderr}"
    );
    let rec = record(&dir);
    assert_eq!(rec["status"], "interrupted");
    assert!(rec["gate"].is_null(), "{}", rec["gate"]);

    let (code, list, _) = run(&p, &["runs", "list"]);
    assert_eq!(code, 0);
    let line = |id: &str| list.lines().find(|l| l.contains(id)).unwrap().to_string();
    assert!(line(&second).contains("not judged"), "{list}");
    assert!(line(&first).contains("passed"), "{list}");

    // `latest` as a baseline is the newest finished run, and the CLI says so.
    let (code, _, stderr) = run(&p, &["run", "--no-progress", "--baseline", "latest"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "baseline: run {first} (latest: the newest finished run of these evals; 1 newer run passed over)"
        )),
        "{stderr}"
    );
}

#[test]
fn sigterm_left_the_run_running_with_no_summary_and_exit_143() {
    // Issue 13.19: SIGTERM (CI cancellation, `timeout`, `docker stop`) stops the run as
    // Ctrl-C does. Three answers, then the server holds the two requests in flight.
    let (p, count) = stalling_project(10, 3..5);
    let (code, stdout, stderr) = signal_mid_run(&p, &count, 5, "TERM");
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    let dir = p.latest_run();
    let id = run_id(&dir);
    assert!(
        stderr.contains(&format!(
            "interrupted: 3 of 10 cells finished and were kept; `prompteval run --resume {id}` finishes the run"
        )),
        "{stderr}"
    );
    assert!(
        stdout.contains("gate: not judged: interrupted after 3 of 10"),
        "{stdout}"
    );
    let rec = record(&dir);
    assert_eq!(rec["status"], "interrupted");
    assert_eq!(rec["completed_cells"], 3);
    assert_eq!(rec["summary"][0]["cases"], 3);
    assert!(rec["gate"].is_null());
    assert_eq!(results(&dir).len(), 3);

    let sent = count.load(Ordering::SeqCst);
    let (code, _, stderr) = run(&p, &["run", "--no-progress", "--resume", &id]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("3 of 10 cells already finished"),
        "{stderr}"
    );
    assert_eq!(count.load(Ordering::SeqCst) - sent, 7);
    let rec = record(&dir);
    assert_eq!(rec["status"], "finished");
    assert_eq!(rec["completed_cells"], 10);
    assert_eq!(rec["gate"]["passed"], true);
    assert_eq!(results(&dir).len(), 10);
}

#[test]
fn repeats_report_flaky_cases_and_pass_at_k() {
    // Even requests answer with the prompt (pass), odd ones with nonsense (fail).
    let (port, _) = serve(Arc::new(|n, body| {
        let content = if n % 2 == 0 {
            prompt_of(body)
        } else {
            "nope".into()
        };
        (content, Duration::ZERO)
    }));
    let p = project(port, "", "");
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1]\nmodels: [local]\ndataset: datasets/people.csv\nrepeat: 4\nassert:\n  - type: icontains\n    value: \"{{ name }}\"\n",
    );
    let (code, stdout, stderr) = run(&p, &["run", "--no-progress", "-j", "1", "-o", "out.json"]);
    assert_eq!(code, 1, "{stderr}");
    let out: Value = serde_json::from_str(&p.read("out.json")).unwrap();
    let row = &out["summary"][0];
    assert_eq!(row["cases"], 12);
    assert_eq!(row["pass_rate"], 0.5);
    let repeats = &row["repeats"];
    assert_eq!(repeats["repeats"], 4);
    assert_eq!(repeats["cases"], 3);
    assert_eq!(repeats["all_pass_rate"], 0.0);
    assert_eq!(repeats["flaky"].as_array().unwrap().len(), 3);
    assert_eq!(repeats["flaky"][0]["passed"], 2);
    assert_eq!(repeats["flaky"][0]["scored"], 4);
    let at: Vec<(u64, f64)> = repeats["pass_at_k"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["k"].as_u64().unwrap(), p["value"].as_f64().unwrap()))
        .collect();
    // 2 of 4 pass: pass@1 = 0.5, pass@2 = 1 - C(2,2)/C(4,2) = 5/6, pass@3 = pass@4 = 1.
    assert_eq!(at.len(), 4);
    assert!((at[0].1 - 0.5).abs() < 1e-9 && (at[1].1 - 5.0 / 6.0).abs() < 1e-9);
    assert_eq!((at[2], at[3]), ((3, 1.0), (4, 1.0)));
    assert!(stdout.contains("Across repeats:"), "{stdout}");
    assert!(
        stdout.contains("greet@1 × local: 4 repeats of 3 cases; pass@1 50.0%"),
        "{stdout}"
    );
    assert!(
        stdout.contains("flaky cases (passed/scored): a (2/4), b (2/4), c (2/4)"),
        "{stdout}"
    );
}

#[test]
fn offline_without_the_key_lost_the_cost_of_replayed_cells() {
    // Issue 13.3: the offline stand-in for a provider whose key is unset had no price.
    let (port, count) = echo_server(Duration::ZERO);
    let p = project(port, DETERMINISTIC, "");
    let yaml = std::fs::read_to_string(p.path().join("prompteval.yaml")).unwrap();
    p.write(
        "prompteval.yaml",
        &yaml.replace("model: tiny", "model: gpt-4o-mini"),
    );
    let (code, _, stderr) = run(&p, &["run", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    let online = results(&p.latest_run());
    std::thread::sleep(Duration::from_millis(1100)); // a later run id (second resolution)
    let out = p
        .cmd(&["run", "--no-progress", "--offline"])
        .env_remove(KEY_VAR)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count.load(Ordering::SeqCst), 6);
    let offline = results(&p.latest_run());
    let cost = |cells: &[Value]| -> Vec<(String, String, Value)> {
        let mut v: Vec<_> = cells
            .iter()
            .map(|c| {
                (
                    c["case_id"].to_string(),
                    c["prompt"].to_string(),
                    c["cost_usd"].clone(),
                )
            })
            .collect();
        v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        v
    };
    assert_eq!(online.len(), 6);
    assert!(online
        .iter()
        .all(|c| c["cost_usd"].as_f64().is_some_and(|x| x > 0.0)));
    assert!(offline.iter().all(|c| c["cached"] == true));
    assert_eq!(cost(&online), cost(&offline));
}

#[test]
fn latency_included_time_queued_for_the_providers_slot() {
    // Issue 13.2: with concurrency 1 and -j 4, cells waited for the slot inside the
    // request's latency. Latency is now the attempt alone; the wait is `queue_ms`.
    let (port, _) = echo_server(Duration::from_millis(300));
    let p = project(port, "", "");
    let yaml = std::fs::read_to_string(p.path().join("prompteval.yaml")).unwrap();
    p.write(
        "prompteval.yaml",
        &yaml.replace("concurrency: 4", "concurrency: 1"),
    );
    p.write(
        "datasets/people.csv",
        "id,name,city,expected\na,Ada,Paris,Ada\nb,Bob,Oslo,Bob\n",
    );
    let (code, _, stderr) = run(&p, &["run", "--no-progress", "-j", "4"]);
    assert_eq!(code, 0, "{stderr}");
    let cells = results(&p.latest_run());
    assert_eq!(cells.len(), 4);
    for c in &cells {
        let latency = c["latency_ms"].as_f64().unwrap();
        assert!((300.0..600.0).contains(&latency), "latency {latency}: {c}");
    }
    let mut queues: Vec<f64> = cells
        .iter()
        .map(|c| c["queue_ms"].as_f64().unwrap())
        .collect();
    queues.sort_by(f64::total_cmp);
    // One slot: the n-th request waits for the n before it, ~300 ms each.
    for (n, q) in queues.iter().enumerate() {
        let n = n as f64;
        assert!(
            *q >= n * 300.0 - 50.0 && *q < n * 300.0 + 300.0,
            "{queues:?}"
        );
    }
}
