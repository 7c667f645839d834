//! Live progress and the end of a run: the bar ticks in a pseudo-terminal while every
//! request is in flight against a slow server, `--progress plain` prints lines that CI logs
//! keep, and a run ends with its time, speed and next steps.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::project::TestProject;
use crate::support::scripted::{chat, delayed, ScriptedServer};

const KEY_VAR: &str = "PROMPTEVAL_IT_PROGRESS_KEY";

/// A server answering every request after `delay`, and a project of 3 cases × 2 versions
/// on it with 4 requests in flight at most.
fn slow_project(delay: Duration) -> (ScriptedServer, TestProject) {
    let server = ScriptedServer::start(move |_, _| delayed(chat("Hello Ada Bob Cy Rome"), delay));
    let p = TestProject::basic();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: openai\n    model: tiny\n    base_url: {}/v1\n    api_key_env: {KEY_VAR}\n    concurrency: 4\n    max_retries: 0\n",
            server.url()
        ),
    );
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1, greet@2]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\n",
    );
    (server, p)
}

/// Removes ANSI escape sequences.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_bar_ticks_in_a_terminal_while_requests_are_in_flight() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let (_server, p) = slow_project(Duration::from_millis(1500));
    let bin = env!("CARGO_BIN_EXE_prompteval");
    let inner = format!(
        "stty cols 160 rows 40; exec '{bin}' -C '{}' run --no-cache",
        p.path().display()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &inner, "/dev/null"])
        .env(KEY_VAR, "sk-test")
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut early = Vec::new();
    let mut all = Vec::new();
    for (at, bytes) in rx {
        if at.duration_since(start) < Duration::from_millis(1300) {
            early.extend_from_slice(&bytes);
        }
        all.extend_from_slice(&bytes);
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "{}", String::from_utf8_lossy(&all));
    // Before the first answer (1.5 s) the line is redrawn many times, each with a new
    // spinner frame or clock, and counts the requests in flight.
    let early = strip_ansi(&String::from_utf8_lossy(&early));
    let frames: std::collections::BTreeSet<&str> = early
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| l.contains("0/6 cells"))
        .collect();
    assert!(frames.len() >= 3, "the line did not change: {early:?}");
    assert!(
        frames.iter().any(|f| f.contains("6 in flight")),
        "no in-flight count: {frames:?}"
    );
    let all = strip_ansi(&String::from_utf8_lossy(&all));
    assert!(all.contains("cells/s"), "{all}");
}

#[test]
fn plain_progress_prints_a_line_every_interval_on_stderr() {
    let (_server, p) = slow_project(Duration::from_millis(700));
    let out = p
        .cmd(&["run", "--no-cache", "--progress", "plain"])
        .env(KEY_VAR, "sk-test")
        .env("PROMPTEVAL_PROGRESS_INTERVAL_MS", "200")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(lines.len() >= 3, "{stderr}");
    assert!(lines[0].contains("0/6 cells · 6 in flight"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("progress: "));
}

#[test]
fn ci_turns_on_plain_progress_and_no_progress_turns_it_off() {
    let (_server, p) = slow_project(Duration::from_millis(500));
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--no-cache"];
        args.extend_from_slice(extra);
        let out = p
            .cmd(&args)
            .env(KEY_VAR, "sk-test")
            .env("CI", "true")
            .env("PROMPTEVAL_PROGRESS_INTERVAL_MS", "150")
            .output()
            .expect("run");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(run(&[]).contains("progress: "));
    assert!(!run(&["--no-progress"]).contains("progress: "));
}

#[test]
fn the_end_of_a_run_gives_its_time_speed_and_next_steps() {
    let p = TestProject::basic();
    let (_, _, stderr) = p.run(&["run"]);
    let id = p
        .latest_run()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(stderr.contains("finished 6 cells in "), "{stderr}");
    assert!(stderr.contains("\nnext:\n"), "{stderr}");
    // The failing cell itself, not a `--case CASE` placeholder.
    assert!(
        stderr.contains(&format!(
            "  prompteval runs show {id} --case c --prompt greet@1 "
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("  prompteval report {id} --html report.html ")),
        "{stderr}"
    );
    assert!(!stderr.contains("--resume"), "{stderr}");
}

#[test]
fn an_interrupted_run_ends_with_the_resume_command() {
    let (_server, p) = slow_project(Duration::from_secs(5));
    let child = p
        .cmd(&["run", "--no-cache"])
        .env(KEY_VAR, "sk-test")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run");
    std::thread::sleep(Duration::from_millis(800));
    let (code, stderr) = crate::support::project::interrupt(child);
    assert_eq!(code, 3, "{stderr}");
    let id = p
        .latest_run()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        stderr.contains("stopped after 0 of 6 cells in "),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("  prompteval run --resume {id} ")),
        "{stderr}"
    );
}
