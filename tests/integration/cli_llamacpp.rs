//! The `llamacpp` provider's server lifecycle, end to end through the CLI, against
//! `tests/fixtures/fake-llama-server.py`: a full run; the server is gone after a passing
//! run, a failing run, Ctrl-C and `kill -9` of prompteval; start-up failures (exit 3 with
//! the server's output); Ctrl-C during start-up; a missing model or binary (exit 2);
//! `validate` starts nothing; providers with the same model share one server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::project::TestProject;

fn fake_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake-llama-server.py")
}

/// The basic project with provider `local` on the fake server and a dummy model file.
/// `extra` is appended to the provider's settings.
fn project(extra: &str) -> TestProject {
    let p = TestProject::basic();
    p.write("models/dummy.gguf", "GGUF");
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: llamacpp\n    binary: {}\n    model_path: models/dummy.gguf\n    params: {{temperature: 0, max_tokens: 16}}\n{extra}",
            fake_server().display()
        ),
    );
    eval(&p, "[local]", "{{ name }}");
    p
}

fn eval(p: &TestProject, models: &str, expected: &str) {
    p.write(
        "evals/greet.yaml",
        &format!("prompts: [greet@1, greet@2]\nmodels: {models}\ndataset: datasets/people.csv\nassert:\n  - type: icontains\n    value: \"{expected}\"\ngate:\n  min_pass_rate: 0.5\n"),
    );
}

/// `prompteval run` with the fake server's pid written to `pids` in the project.
fn command(p: &TestProject, args: &[&str]) -> Command {
    let mut cmd = p.cmd(args);
    cmd.env("FAKE_LLAMA_PID_FILE", p.path().join("pids"))
        .env("PROMPTEVAL_CACHE", p.path().join("cache"))
        .env_remove("PROMPTEVAL_LLAMA_SERVER")
        .env_remove("FAKE_LLAMA_MODE")
        .env_remove("FAKE_LLAMA_DELAY_MS");
    cmd
}

fn output(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().expect("run prompteval");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn server_pids(p: &TestProject) -> Vec<i32> {
    std::fs::read_to_string(p.path().join("pids"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().expect("pid"))
        .collect()
}

/// Whether `pid` is a live process (a zombie waiting for a reaper counts as gone).
pub(crate) fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the parenthesised command name.
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    !matches!(state, Some("Z") | Some("X") | None)
}

fn assert_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(Instant::now() < deadline, "server {pid} still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_pid(p: &TestProject) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = server_pids(p).first() {
            return *pid;
        }
        assert!(Instant::now() < deadline, "the server never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn outputs(report: &serde_json::Value) -> Vec<&str> {
    let mut outputs: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["output"].as_str().unwrap())
        .collect();
    outputs.sort();
    outputs
}

fn record(p: &TestProject) -> serde_json::Value {
    let text = std::fs::read_to_string(p.latest_run().join("run.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn full_run_passes_and_stops_the_server() {
    let p = project("");
    let args_file = p.path().join("args");
    let mut cmd = command(&p, &["run", "-o", "r.json"]);
    cmd.env("FAKE_LLAMA_ARGS_FILE", &args_file)
        .env("FAKE_LLAMA_REQUESTS_FILE", p.path().join("requests"))
        .env("FAKE_LLAMA_LOADING_MS", "300");
    let (code, stdout, stderr) = output(cmd);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let pids = server_pids(&p);
    assert_eq!(pids.len(), 1, "one server for the run");
    assert_gone(pids[0]);

    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let after = |flag: &str| args[args.iter().position(|a| *a == flag).unwrap() + 1];
    assert_eq!(
        after("-m"),
        p.path().join("models/dummy.gguf").to_str().unwrap()
    );
    assert_eq!(after("--host"), "127.0.0.1");
    assert_eq!(after("--ctx-size"), "2048");
    assert_eq!(after("--parallel"), "2");

    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let row = &report["summary"][0];
    assert_eq!(row["passed"], 3);
    assert_eq!(row["cost_usd"], 0.0);
    assert_eq!(
        outputs(&report),
        [
            "HELLO ADA!",
            "HELLO BOB!",
            "HELLO CY!",
            "HI ADA, WELCOME TO PARIS.",
            "HI BOB, WELCOME TO OSLO.",
            "HI CY, WELCOME TO ROME."
        ]
    );
    assert_eq!(
        std::fs::read_to_string(p.path().join("requests")).unwrap(),
        "/v1/completions\n".repeat(6)
    );
    assert!(row["tokens_in"].as_u64().unwrap() > 0);
    let run = record(&p);
    assert_eq!(run["status"], "finished");
    assert_eq!(run["providers"]["local"]["kind"], "llamacpp");
    assert!(run["providers"]["local"]["model_path"]
        .as_str()
        .unwrap()
        .ends_with("models/dummy.gguf"));
}

#[test]
fn chat_mode_uses_chat_completions() {
    let p = project("    mode: chat\n");
    let mut cmd = command(&p, &["run", "-o", "r.json"]);
    cmd.env("FAKE_LLAMA_REQUESTS_FILE", p.path().join("requests"));
    let (code, stdout, stderr) = output(cmd);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    assert!(outputs(&report).contains(&"HELLO ADA!"));
    assert_eq!(
        std::fs::read_to_string(p.path().join("requests")).unwrap(),
        "/v1/chat/completions\n".repeat(6)
    );
}

#[test]
fn chat_template_file_is_passed_after_jinja_relative_to_the_root() {
    let p = project("    mode: chat\n    chat_template_file: templates/tools.jinja\n");
    p.write("templates/tools.jinja", "{{ messages }}");
    let args_file = p.path().join("args");
    let mut cmd = command(&p, &["run", "--limit", "1"]);
    cmd.env("FAKE_LLAMA_ARGS_FILE", &args_file);
    let (code, stdout, stderr) = output(cmd);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let args = std::fs::read_to_string(&args_file).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let at = |flag: &str| args.iter().position(|a| *a == flag).unwrap();
    assert!(at("--jinja") < at("--chat-template-file"), "{args:?}");
    assert_eq!(
        args[at("--chat-template-file") + 1],
        p.path().join("templates/tools.jinja").to_str().unwrap()
    );
    let run = record(&p);
    assert!(run["providers"]["local"]["chat_template_file"]
        .as_str()
        .unwrap()
        .ends_with("templates/tools.jinja"));
}

#[test]
fn missing_chat_template_file_exits_2_naming_it() {
    let p = project("    mode: chat\n    chat_template_file: templates/nope.jinja\n");
    let (code, stdout, stderr) = output(command(&p, &["run"]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let path = p.path().join("templates/nope.jinja");
    assert!(
        stderr.contains(&format!(
            "error: prompteval.yaml:8: provider `local`: chat template file {} (`chat_template_file`) does not exist",
            path.display()
        )),
        "{stderr}"
    );
    assert!(server_pids(&p).is_empty());
}

#[test]
fn failing_assertions_exit_1_and_stop_the_server() {
    let p = project("");
    eval(&p, "[local]", "zzz");
    let (code, stdout, stderr) = output(command(&p, &["run"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_gone(server_pids(&p)[0]);
}

#[test]
fn providers_with_the_same_model_share_one_server() {
    let p = project("");
    let config = p.read("prompteval.yaml");
    let twin = config.replace("  local:", "  twin:");
    let twin = twin.split_once("providers:\n").unwrap().1;
    p.write("prompteval.yaml", &format!("{config}{twin}"));
    eval(&p, "[local, twin]", "{{ name }}");
    let (code, stdout, stderr) = output(command(&p, &["run"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let pids = server_pids(&p);
    assert_eq!(pids.len(), 1, "{pids:?}");
    assert_gone(pids[0]);
}

#[test]
fn validate_starts_no_server() {
    let p = project("");
    let (code, stdout, stderr) = output(command(&p, &["validate"]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(server_pids(&p).is_empty());
}

/// A run whose completions take 20s, returned once the server has its first request.
fn spawn_slow_run(p: &TestProject) -> (Child, i32) {
    let requests = p.path().join("requests");
    let mut cmd = command(p, &["run"]);
    cmd.env("FAKE_LLAMA_DELAY_MS", "20000")
        .env("FAKE_LLAMA_REQUESTS_FILE", &requests)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let server = wait_for_pid(p);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&requests).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < deadline, "no request reached the server");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, server)
}

#[test]
fn ctrl_c_stops_the_server() {
    let p = project("");
    let (child, server) = spawn_slow_run(&p);
    // SAFETY: sends SIGINT to the prompteval process this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_gone(server);
    assert_eq!(record(&p)["status"], "interrupted");
}

#[test]
fn ctrl_c_while_the_server_starts_stops_it() {
    let p = project("");
    let mut cmd = command(&p, &["run"]);
    cmd.env("FAKE_LLAMA_MODE", "hang")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let server = wait_for_pid(&p);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sends SIGINT to the prompteval process this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("interrupted: 0 of 6 cells"), "{stderr}");
    assert_gone(server);
    assert_eq!(record(&p)["status"], "interrupted");
}

#[test]
fn kill_9_of_prompteval_takes_the_server_down() {
    let p = project("");
    let (mut child, server) = spawn_slow_run(&p);
    assert!(alive(server));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_gone(server);
}

#[test]
fn server_exiting_at_startup_exits_3_with_its_output() {
    let p = project("");
    let mut cmd = command(&p, &["run"]);
    cmd.env("FAKE_LLAMA_MODE", "exit");
    let (code, stdout, stderr) = output(cmd);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("provider `local` could not start"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stopped before it was ready (exit status: 1)"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid magic"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert_eq!(record(&p)["status"], "failed");
}

#[test]
fn server_never_ready_times_out_and_is_stopped() {
    let p = project("    startup_timeout: 1s\n");
    let mut cmd = command(&p, &["run"]);
    cmd.env("FAKE_LLAMA_MODE", "hang");
    let (code, stdout, stderr) = output(cmd);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("did not become ready within 1s"),
        "{stderr}"
    );
    assert!(stderr.contains("server is listening"), "{stderr}");
    assert_gone(server_pids(&p)[0]);
    assert_eq!(record(&p)["status"], "failed");
}

#[test]
fn missing_model_file_exits_2_naming_it() {
    let p = project("");
    std::fs::remove_file(p.path().join("models/dummy.gguf")).unwrap();
    let (code, stdout, stderr) = output(command(&p, &["run"]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    let path = p.path().join("models/dummy.gguf");
    assert!(
        stderr.contains(&format!(
            "error: prompteval.yaml:5: provider `local`: model file {} (`model_path`) does not exist",
            path.display()
        )),
        "{stderr}"
    );
    assert!(server_pids(&p).is_empty());
    assert!(!p.path().join(".prompteval/runs").exists());
}

#[test]
fn missing_default_model_points_at_the_setup_script() {
    let p = project("");
    let config = p
        .read("prompteval.yaml")
        .replace("    model_path: models/dummy.gguf\n", "");
    p.write("prompteval.yaml", &config);
    let (code, stdout, stderr) = output(command(&p, &["run"]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("the default model"), "{stderr}");
    assert!(stderr.contains("scripts/setup-local-model.sh"), "{stderr}");
}

#[test]
fn missing_binary_exits_2_listing_where_it_looked() {
    let p = project("");
    let config = p.read("prompteval.yaml");
    let config = config
        .lines()
        .filter(|l| !l.contains("binary:"))
        .collect::<Vec<_>>()
        .join("\n");
    p.write("prompteval.yaml", &format!("{config}\n"));
    let mut cmd = command(&p, &["run"]);
    cmd.env("PATH", p.path().join("empty-path"));
    let (code, stdout, stderr) = output(cmd);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    for place in [
        "`binary:` setting: not set",
        "PROMPTEVAL_LLAMA_SERVER: not set",
        "`llama-server` on PATH: not found",
        "cache/bin/llama-server: not found",
    ] {
        assert!(stderr.contains(place), "{place}\n{stderr}");
    }
}
