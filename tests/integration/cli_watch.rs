//! `prompteval watch` and `run --watch` (issue 17), driven by the test: edits to every kind
//! of file an eval depends on, asserting which evals re-ran and how many requests reached
//! a scripted server; the comparison with the previous iteration; `q`, Ctrl-C and SIGTERM,
//! with no llama-server left behind.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli_llamacpp::alive;
use crate::cli_loop::{answer, project, run_ids, CONTAINS_NAME};
use crate::support::project::TestProject;
use crate::support::scripted::ScriptedServer;

/// A watch session whose stdout and stderr are collected as they come, with its stdin open
/// for `q`.
struct Watching {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// Collects what `pipe` says into a shared string, on a thread of its own.
fn collect(mut pipe: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

impl Watching {
    /// `prompteval watch` with no progress and no matrix, stopping after `max` iterations.
    fn start(p: &TestProject, max: usize) -> Watching {
        let max = max.to_string();
        let args = [
            "watch",
            "--no-progress",
            "--no-matrix",
            "--max-iterations",
            &max,
        ];
        Watching::spawn(p.cmd(&args))
    }

    /// Starts `cmd` (a watch session) with a short debounce.
    fn spawn(mut cmd: Command) -> Watching {
        let mut child = cmd
            .args(["--debounce-ms", "100"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the watch session");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let stdin = child.stdin.take();
        Watching {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Waits (up to 60 s) until stderr holds `text` `times` times.
    fn wait_for(&self, text: &str, times: usize) {
        self.wait_within(text, times, Duration::from_secs(60));
    }

    /// Waits (up to `limit`) until stderr holds `text` `times` times.
    fn wait_within(&self, text: &str, times: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.stderr().matches(text).count() < times {
            let stderr = self.stderr();
            assert!(
                Instant::now() < deadline,
                "no {text:?} ×{times} in:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types a line on its stdin.
    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends it a signal.
    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) has no memory-safety preconditions; the child is not reaped yet.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the process to end: (exit code, stdout, stderr).
    fn end(mut self) -> (i32, String, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let stdout = self.stdout.lock().unwrap().clone();
        (status.code().unwrap_or(-1), stdout, self.stderr())
    }
}

const WATCHING: &str = "watching ";
const LAST_LINE: &str = "files; edit a prompt to re-run (q to quit)";

/// Issue 17: an edit of one prompt version re-runs its eval against the previous
/// iteration, and only that version's cells reach the model (the rest are cached).
#[test]
fn watch_reruns_on_a_prompt_edit_and_asks_only_the_changed_prompt() {
    let server = ScriptedServer::start(|_, seen| answer(seen));
    let p = project(&server, CONTAINS_NAME);
    let config = p.read("prompteval.yaml").replace(
        "    model: tiny\n",
        "    model: tiny\n    params: {temperature: 0}\n",
    );
    p.write("prompteval.yaml", &config);
    let watch = Watching::start(&p, 2);
    watch.wait_for(WATCHING, 1);
    assert_eq!(server.seen().len(), 6);
    p.write(
        "prompts/greet/v2.jinja",
        "Hi {{ name }}, welcome to {{ city }}!\n",
    );
    let (code, _, stderr) = watch.end();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("── iteration 2: re-running greet (prompts/greet/v2.jinja)"),
        "{stderr}"
    );
    assert!(stderr.contains("baseline: run "), "{stderr}");
    let seen = server.seen();
    assert_eq!(seen.len(), 9, "{stderr}");
    assert!(seen[6..].iter().all(|s| s.prompt().starts_with("Hi ")));
    assert_eq!(run_ids(&p).len(), 2);
}

/// Issue 17: a YAML error prints the located error and keeps watching; the save that
/// fixes it re-runs.
#[test]
fn watch_survives_a_broken_eval_file() {
    let server = ScriptedServer::start(|_, seen| answer(seen));
    let p = project(&server, CONTAINS_NAME);
    let good = p.read("evals/greet.yaml");
    let watch = Watching::start(&p, 3);
    watch.wait_for(WATCHING, 1);
    p.write("evals/greet.yaml", &format!("{good}prompts: [greet@1\n"));
    watch.wait_for("error: evals/greet.yaml:", 1);
    watch.wait_for("fix the error to re-run (q to quit)", 1);
    p.write("evals/greet.yaml", &good);
    let (code, _, stderr) = watch.end();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("── iteration 3: re-running every selected eval"),
        "{stderr}"
    );
    assert_eq!(stderr.matches(WATCHING).count(), 2, "{stderr}");
    assert_eq!(run_ids(&p).len(), 2);
}

/// Accepts every output; its reason says which version of the script scored.
const SCORER: &str = r#"import json, sys
for line in sys.stdin:
    request = json.loads(line)
    print(json.dumps({"id": request["id"], "pass": True, "reason": "scorer VERSION"}), flush=True)
"#;

/// Two evals on the scripted model: `greet` runs greet@production and the latest greet,
/// scored by an external script; `other` runs other@1, which includes a partial that
/// includes another and offers a shared tool, on a dataset outside `datasets/`.
fn two_evals(server: &ScriptedServer) -> TestProject {
    let p = project(server, "");
    // Deterministic requests, so that unchanged cells are served from the cache.
    let config = p.read("prompteval.yaml").replace(
        "    model: tiny\n",
        "    model: tiny\n    params: {temperature: 0}\n",
    );
    p.write("prompteval.yaml", &config);
    p.write("scorers/ok.py", &SCORER.replace("VERSION", "one"));
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@production, greet]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n  - type: external\n    command: [python3, scorers/ok.py]\n",
    );
    p.write(
        "prompts/_partials/outer.jinja",
        "{% include '_partials/inner.jinja' %}",
    );
    p.write("prompts/_partials/inner.jinja", "Be kind.");
    p.write(
        "prompts/_tools/lookup.yaml",
        "description: Look a name up.\nparameters:\n  type: object\n  properties:\n    name: {type: string}\n",
    );
    p.write(
        "prompts/other/v1.yaml",
        "tools: [lookup]\nmessages:\n  - role: system\n    content: \"{% include '_partials/outer.jinja' %}\"\n  - role: user\n    content: \"Who is {{ name }}?\"\n",
    );
    p.write("data/names.csv", "id,name\nx,Xena\ny,Yuri\n");
    p.write(
        "evals/other.yaml",
        "prompts: [other@1]\nmodels: [local]\ndataset: data/names.csv\nassert:\n  - type: contains\n    value: \"{{ name }}\"\n",
    );
    p
}

/// Issue 17: each kind of file an eval depends on — a partial included by a partial, a
/// dataset, a new version, a `prompt.yaml` alias, a shared tool, an external scorer
/// script, `prompteval.yaml`, an eval file, and a new eval — re-runs exactly the evals
/// that use it, and only the cells whose request changed reach the model.
#[test]
fn every_kind_of_dependency_reruns_only_the_evals_that_use_it() {
    let server = ScriptedServer::start(|_, seen| answer(seen));
    let p = two_evals(&server);
    let mut watch = Watching::start(&p, 100);
    watch.wait_for(WATCHING, 1);
    // greet: 2 versions × 3 rows; other: 1 × 2.
    assert_eq!(server.seen().len(), 8, "{}", watch.stderr());
    let config = p.read("prompteval.yaml");
    let greet_config = p.read("prompts/greet/prompt.yaml");
    let steps: [(&str, String, &str, usize); 10] = [
        ("README.md", "not read by any eval\n".into(), "", 0),
        ("prompts/_partials/inner.jinja", "Be very kind.".into(), "other", 2),
        (
            "datasets/people.csv",
            p.read("datasets/people.csv") + "d,Dee,Lima,Dee\n",
            "greet",
            2,
        ),
        (
            "prompts/greet/v3.yaml",
            "messages:\n  - role: user\n    content: \"Hey {{ name }}.\"\n".into(),
            "greet",
            4,
        ),
        (
            "prompts/greet/prompt.yaml",
            greet_config.replace("production: 1", "production: 2"),
            "greet",
            0,
        ),
        (
            "prompts/_tools/lookup.yaml",
            p.read("prompts/_tools/lookup.yaml").replace("Look", "Find"),
            "other",
            2,
        ),
        ("scorers/ok.py", SCORER.replace("VERSION", "two"), "greet", 0),
        (
            "prompteval.yaml",
            config + "# a comment\n",
            "greet, other",
            0,
        ),
        (
            "evals/other.yaml",
            p.read("evals/other.yaml") + "  - type: max-length\n    value: 500\n",
            "other",
            0,
        ),
        (
            "evals/third.yaml",
            "prompts: [greet@1]\nmodels: [local]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ name }}\"\n".into(),
            "third",
            0,
        ),
    ];
    let (mut requests, mut iteration) = (8, 1);
    for (file, text, evals, asked) in steps {
        p.write(file, &text);
        if evals.is_empty() {
            // A file no eval reads re-runs nothing: the next step's iteration is this one's.
            continue;
        }
        iteration += 1;
        let header = format!("── iteration {iteration}: re-running {evals} ({file})");
        watch.wait_for(&header, 1);
        watch.wait_for(WATCHING, iteration);
        requests += asked;
        assert_eq!(server.seen().len(), requests, "{file}:\n{}", watch.stderr());
    }
    let results = std::fs::read_to_string(
        p.path()
            .join(".prompteval/runs")
            .join(&run_ids(&p)[6])
            .join("results.jsonl"),
    )
    .unwrap();
    assert!(results.contains("scorer two"), "{results}");
    watch.type_line("q");
    let (code, _, stderr) = watch.end();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.trim_end().ends_with(LAST_LINE), "{stderr}");
    assert_eq!(stderr.matches("── iteration").count(), 9, "{stderr}");
    assert_eq!(run_ids(&p).len(), 10);
}

/// Issue 17: `run --watch` takes run's flags (here `-o` and `--summary-only`), and each
/// re-run is compared with the previous iteration: the deltas, then the flipped cases,
/// regressions first.
#[test]
fn run_watch_compares_each_rerun_with_the_previous_one() {
    let p = TestProject::basic();
    let cmd = p.cmd(&[
        "run",
        "--watch",
        "--no-progress",
        "--summary-only",
        "-o",
        "out.json",
        "--max-iterations",
        "2",
    ]);
    let watch = Watching::spawn(cmd);
    watch.wait_for(WATCHING, 1);
    let first = run_ids(&p)[0].clone();
    // a and b now fail, c (which expects its city) now passes.
    p.write("prompts/greet/v1.jinja", "Hello {{ city }}!\n");
    let (code, stdout, stderr) = watch.end();
    // The last iteration's verdict: greet@1 now passes 1 of 3, under the gate's 0.5.
    assert_eq!(code, 1, "{stderr}");
    let second = stdout.rsplit_once("greet — greeting").unwrap().1;
    assert!(second.contains(&format!("vs baseline {first}")), "{stdout}");
    assert!(second.contains("2 pass→fail, 1 fail→pass"), "{second}");
    let (down, up) = (
        second.find("↓ case a").unwrap(),
        second.find("↑ case c").unwrap(),
    );
    assert!(down < up, "{second}");
    let report: serde_json::Value = serde_json::from_str(&p.read("out.json")).unwrap();
    assert_eq!(report["run_id"], run_ids(&p)[1].as_str());
}

/// `prompteval watch` on the fake llama-server: one server for the whole session, gone
/// after it ends by `how`.
fn one_server_for_the_session(how: &str) {
    let p = TestProject::basic();
    p.write("models/dummy.gguf", "GGUF");
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake-llama-server.py");
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: llamacpp\n    binary: {}\n    model_path: models/dummy.gguf\n    params: {{temperature: 0, max_tokens: 16}}\n",
            fake.display()
        ),
    );
    let eval = p.read("evals/greet.yaml").replace("[echo]", "[local]");
    p.write("evals/greet.yaml", &eval);
    let pids = p.path().join("pids");
    let mut cmd = p.cmd(&["watch", "--no-progress", "--no-matrix"]);
    cmd.env("FAKE_LLAMA_PID_FILE", &pids)
        .env_remove("PROMPTEVAL_LLAMA_SERVER")
        .env_remove("FAKE_LLAMA_MODE");
    let mut watch = Watching::spawn(cmd);
    watch.wait_for(WATCHING, 1);
    p.write("prompts/greet/v2.jinja", "Hey {{ name }}.\n");
    watch.wait_for(WATCHING, 2);
    p.write("prompts/greet/v2.jinja", "Hey there {{ name }}.\n");
    watch.wait_for(WATCHING, 3);
    let started: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(started.len(), 1, "one server for three iterations");
    assert!(alive(started[0]));
    match how {
        "q" => watch.type_line("q"),
        "SIGINT" => watch.signal(libc::SIGINT),
        _ => watch.signal(libc::SIGTERM),
    }
    let (code, _, stderr) = watch.end();
    assert_eq!(code, 0, "{how}: {stderr}");
    assert!(!alive(started[0]), "{how}: the server outlived the session");
}

/// Issue 17: `q` and Enter ends the session and stops its llama-server.
#[test]
fn q_ends_the_watch_and_stops_the_server() {
    one_server_for_the_session("q");
}

/// Issue 17: Ctrl-C ends the session and stops its llama-server.
#[test]
fn ctrl_c_ends_the_watch_and_stops_the_server() {
    one_server_for_the_session("SIGINT");
}

/// Issue 17: SIGTERM ends the session and stops its llama-server.
#[test]
fn sigterm_ends_the_watch_and_stops_the_server() {
    one_server_for_the_session("SIGTERM");
}

/// Issue 17, on the real llama-server and Gemma 3 270M: `run --watch` on the shipped
/// sentiment eval starts one server for the whole session; a one-prompt edit asks the
/// model only for that prompt's cells (the production prompt's come from the cache); no
/// server is left after SIGTERM. Skips without the model.
#[test]
fn run_watch_on_the_local_model_keeps_one_server_and_asks_only_the_edited_prompt() {
    let Some((_, model)) = crate::e2e_llamacpp::installed() else {
        return;
    };
    let p = crate::e2e_llamacpp::example(&model);
    let rows = p.read("datasets/reviews.csv").lines().count() - 1;
    let args = ["run", "--watch", "sentiment", "--no-progress", "--summary-only"];
    let watch = Watching::spawn(p.cmd(&args));
    // The model answers 64 prompts on 2 slots: minutes on a busy machine.
    let model_time = Duration::from_secs(900);
    watch.wait_within(WATCHING, 1, model_time);
    let first = format!("{} requests sent", 2 * rows);
    assert!(watch.stderr().contains(&first), "{}", watch.stderr());
    let servers = crate::e2e_llamacpp::servers_of(&p);
    assert_eq!(servers.len(), 1, "{}", watch.stderr());
    let candidate = p.read("prompts/sentiment/v2.jinja");
    let edited = candidate.replacen("Classify the sentiment", "Label the sentiment", 1);
    assert_ne!(edited, candidate);
    p.write("prompts/sentiment/v2.jinja", &edited);
    watch.wait_for("── iteration 2: re-running sentiment", 1);
    watch.wait_within(WATCHING, 2, model_time);
    let stderr = watch.stderr();
    let second = stderr.split("── iteration 2").nth(1).unwrap();
    let cached = format!("cache: {rows} responses served");
    assert!(second.contains(&cached), "{second}");
    assert!(second.contains(&format!("{rows} requests sent")), "{second}");
    assert_eq!(crate::e2e_llamacpp::servers_of(&p), servers);
    watch.signal(libc::SIGTERM);
    let (code, _, stderr) = watch.end();
    assert_eq!(code, 0, "{stderr}");
    crate::e2e_llamacpp::assert_no_server_left(&p);
}
