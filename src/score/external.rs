//! `external`: scorers in any language, run as persistent worker processes (`docs/scorers.md`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value as Json};
use tokio::sync::oneshot;

use super::check::Outcome;
use super::remote::{AsyncCheck, GraderUsage, ScoreContext, Verdict};
use super::stderr_log::{self, Since, StderrLog};
use super::value::Compiler;
use super::{ScoreError, ScoreInput};
use crate::process::{self, Launcher};
use crate::provider::BoxFuture;

pub(crate) const EX_EXTERNAL: &str =
    "{type: external, command: [python3, scorers/keywords.py], value: {words: [Paris]}}";

/// How long one reply may take when the spec sets no `timeout`.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The pass mark of replies that give a score but no `pass`, when the spec sets no
/// `threshold`.
const DEFAULT_THRESHOLD: f64 = 0.5;
/// How many times a worker may exit on its own in one run: after the first exit it is
/// started once more (a kill after a timeout does not count).
const MAX_EXITS: u32 = 2;

/// Compiles `external` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn AsyncCheck>, ScoreError> {
    let argv = match (&c.spec.command, &c.spec.script) {
        (Some(_), Some(_)) => {
            return Err(c.invalid("give either `command` or `script`, not both", EX_EXTERNAL))
        }
        (None, None) => {
            return Err(c.invalid("needs a `command` (a list) or a `script`", EX_EXTERNAL))
        }
        (Some(cmd), None) if cmd.is_empty() || cmd[0].trim().is_empty() => {
            return Err(c.invalid("`command` must name a program", EX_EXTERNAL))
        }
        (Some(cmd), None) => cmd.clone(),
        (None, Some(script)) => script_command(script),
    };
    let timeout = match &c.spec.timeout {
        None => DEFAULT_TIMEOUT,
        Some(text) => match humantime::parse_duration(text.trim()) {
            Ok(d) if !d.is_zero() => d,
            _ => {
                return Err(c.invalid(
                    format!(
                        "invalid `timeout` `{text}`: write a duration such as `30s` or `500ms`"
                    ),
                    EX_EXTERNAL,
                ))
            }
        },
    };
    let threshold = c.unit_threshold(EX_EXTERNAL)?.unwrap_or(DEFAULT_THRESHOLD);
    let config = serde_json::to_value(c.spec).unwrap_or(Json::Null);
    Ok(Box::new(External {
        argv,
        timeout,
        threshold,
        config,
    }))
}

/// Programs that run a script named by their first argument (`python3 scorers/x.py`).
const INTERPRETERS: &[&str] = &["python3", "python", "node", "ruby", "sh", "bash", "perl"];

/// Checks, before any model is called, that an `external` assertion's program (and the
/// script it runs, when an interpreter runs one) exists: otherwise the run would spend its
/// model calls and then fail every case as a scorer error. Paths are relative to the
/// project `root`, where the worker starts; other assertion types pass.
pub fn check_command(
    spec: &super::AssertionSpec,
    origin: &crate::diagnostic::Location,
    root: &Path,
) -> Result<(), ScoreError> {
    let kind = spec.kind.strip_prefix("not-").unwrap_or(&spec.kind);
    if kind != "external" {
        return Ok(());
    }
    let (argv, key) = match (&spec.command, &spec.script) {
        (Some(cmd), None) if !cmd.is_empty() => (cmd.clone(), "command"),
        (None, Some(script)) => (script_command(script), "script"),
        _ => return Ok(()), // compile reports these
    };
    let invalid = |message: String| ScoreError::InvalidValue {
        origin: origin.clone(),
        kind: spec.kind.clone(),
        message,
        example: EX_EXTERNAL,
    };
    let relative = |file: &str| {
        let path = Path::new(file);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            root.join(path)
        }
    };
    let program = &argv[0];
    let runs_script = INTERPRETERS.contains(&program.rsplit('/').next().unwrap_or(program));
    let script = argv.get(1).filter(|a| runs_script && !a.starts_with('-'));
    const ROOT: &str = "paths are relative to the project root";
    if let (Some(file), "script") = (script, key) {
        // The script before its interpreter: that is the file the user named.
        if !relative(file).is_file() {
            return Err(invalid(format!("script `{file}` does not exist ({ROOT})")));
        }
    }
    let found = if program.contains('/') {
        relative(program).is_file()
    } else {
        on_path(program)
    };
    if !found {
        let message = match key {
            "script" if runs_script => format!(
                "script `{}` needs `{program}`, which is not on PATH",
                argv[1]
            ),
            "script" => format!("script `{program}` does not exist ({ROOT})"),
            _ if program.contains('/') => {
                format!("`command` program `{program}` not found ({ROOT})")
            }
            _ => format!("`command` program `{program}` is not on PATH"),
        };
        return Err(invalid(message));
    }
    if let Some(file) = script.filter(|f| !relative(f).is_file()) {
        return Err(invalid(format!(
            "`command` runs `{file}`, which does not exist ({ROOT})"
        )));
    }
    Ok(())
}

/// The files an `external` assertion runs, as written (relative paths are relative to the
/// project root): the script an interpreter runs, and the program when it is a path. A
/// watch session re-runs the eval when one changes. Other types run none.
pub fn files(spec: &super::AssertionSpec) -> Vec<PathBuf> {
    let kind = spec.kind.strip_prefix("not-").unwrap_or(&spec.kind);
    let argv = match (kind, &spec.command, &spec.script) {
        ("external", Some(cmd), None) if !cmd.is_empty() => cmd.clone(),
        ("external", None, Some(script)) => script_command(script),
        _ => return Vec::new(),
    };
    let program = &argv[0];
    let runs_script = INTERPRETERS.contains(&program.rsplit('/').next().unwrap_or(program));
    let script = argv.get(1).filter(|a| runs_script && !a.starts_with('-'));
    let path = program.contains('/').then_some(program);
    path.into_iter().chain(script).map(PathBuf::from).collect()
}

/// Whether a bare program name is an executable file in a directory of `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The command line of a script: its interpreter by extension, else the script itself.
fn script_command(script: &str) -> Vec<String> {
    let interpreter = match Path::new(script).extension().and_then(|e| e.to_str()) {
        Some("py") => Some("python3"),
        Some("js" | "mjs" | "cjs") => Some("node"),
        Some("rb") => Some("ruby"),
        Some("sh") => Some("sh"),
        _ => None,
    };
    interpreter
        .map(str::to_string)
        .into_iter()
        .chain([script.to_string()])
        .collect()
}

/// A compiled `external` assertion.
struct External {
    argv: Vec<String>,
    timeout: Duration,
    /// The pass mark for replies that give a `score` but no `pass`.
    threshold: f64,
    /// The assertion as written, sent with every request.
    config: Json,
}

impl External {
    async fn run(&self, input: &ScoreInput<'_>, ctx: &ScoreContext<'_>) -> Verdict {
        let vars = serde_json::to_value(input.vars).unwrap_or(Json::Null);
        let expected = vars.get("expected").cloned().unwrap_or(Json::Null);
        let request = json!({
            "output": input.output,
            "vars": vars,
            "expected": expected,
            "prompt": ctx.prompt,
            "assertion": self.config,
        });
        let worker = ctx.setup.worker(&self.argv);
        let Answer { reply, stderr } = match worker.request(request, self.timeout).await {
            Ok(answer) => answer,
            Err(failure) => return failure.into_verdict(),
        };
        match read_reply(&reply, self.threshold) {
            Ok(outcome) => Verdict::Checked(outcome.with_detail(detail_of(&reply))),
            Err(why) => Verdict::ScorerError {
                reason: format!("bad reply from external scorer `{}`: {why}", worker.name()),
                detail: Some(json!({"reply": reply, "stderr": stderr})),
            },
        }
    }
}

impl AsyncCheck for External {
    fn check<'a>(
        &'a self,
        input: &'a ScoreInput<'a>,
        ctx: &'a ScoreContext<'a>,
        _usage: &'a mut GraderUsage,
    ) -> BoxFuture<'a, Verdict> {
        Box::pin(self.run(input, ctx))
    }
}

/// What is kept of a good reply: its named metrics.
fn detail_of(reply: &Map<String, Json>) -> Json {
    let mut detail = Map::new();
    if let Some(metrics) = reply.get("metrics") {
        detail.insert("metrics".into(), metrics.clone());
    }
    Json::Object(detail)
}

/// Reads `{pass, score, reason, metrics}`: without `pass` the score decides (at
/// `threshold`); without `score` it is 1 or 0. A reply with `error` is a scorer error.
fn read_reply(reply: &Map<String, Json>, threshold: f64) -> Result<Outcome, String> {
    if let Some(error) = reply.get("error").filter(|e| !e.is_null()) {
        let text = error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_string);
        return Err(format!("the scorer reported an error: {text}"));
    }
    let pass = match reply.get("pass") {
        None | Some(Json::Null) => None,
        Some(Json::Bool(b)) => Some(*b),
        Some(other) => return Err(format!("`pass` must be true or false, found {other}")),
    };
    let score = match reply.get("score") {
        None | Some(Json::Null) => None,
        Some(v) => match v.as_f64() {
            Some(s) if (0.0..=1.0).contains(&s) => Some(s),
            _ => return Err(format!("`score` must be a number from 0 to 1, found {v}")),
        },
    };
    if let Some(metrics) = reply.get("metrics") {
        let ok = metrics
            .as_object()
            .is_some_and(|m| m.values().all(Json::is_number));
        if !ok {
            return Err(format!(
                "`metrics` must map names to numbers, found {metrics}"
            ));
        }
    }
    let (pass, score) = match (pass, score) {
        (None, None) => return Err("the reply has neither `pass` nor `score`".into()),
        (Some(p), None) => (p, if p { 1.0 } else { 0.0 }),
        (None, Some(s)) => (s >= threshold, s),
        (Some(p), Some(s)) => (p, s),
    };
    let reason = match reply.get("reason") {
        Some(Json::String(r)) if !r.trim().is_empty() => r.trim().to_string(),
        _ => format!(
            "external scorer: {} (score {score:.2})",
            if pass { "pass" } else { "fail" }
        ),
    };
    Ok(Outcome::scored(pass, score, reason))
}

/// Why a request got no usable reply.
///
/// A worker is sent one request at a time; replies are matched by `id`. A worker that
/// exits is restarted once; one that does not reply within the timeout is killed and
/// started again for the next request. Timeouts, crashes and bad replies are scorer errors
/// that carry what the worker wrote to stderr while the request was in flight.
#[derive(Debug)]
pub(crate) struct WorkerFailure {
    reason: String,
    stderr: String,
}

impl WorkerFailure {
    fn into_verdict(self) -> Verdict {
        let last = self.stderr.lines().rev().find(|l| !l.trim().is_empty());
        let reason = match last {
            Some(line) => format!("{} (stderr: {})", self.reason, line.trim()),
            None => self.reason,
        };
        Verdict::ScorerError {
            reason,
            detail: Some(json!({"stderr": self.stderr})),
        }
    }
}

/// A reply, with what the worker wrote to stderr while it worked on the request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) reply: Map<String, Json>,
    pub(crate) stderr: String,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Map<String, Json>, String>>>>>;

/// One external scorer process, started on the first request, restarted once if it exits
/// and after each timeout; killed when the worker is dropped (with the plan, at the end of
/// the run).
pub(crate) struct Worker {
    argv: Vec<String>,
    cwd: PathBuf,
    next_id: AtomicU64,
    /// Held by the request in flight: its clock starts when the worker is free, and
    /// whatever the worker writes to stderr meanwhile is that request's.
    turn: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    /// Spawns the processes, so that they die with prompteval even when it is killed.
    launcher: Launcher,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("argv", &self.argv)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// How many processes exited on their own (a timeout's kill is not counted).
    exits: u32,
    running: Option<Running>,
    /// Why the last process ended, for requests that find it gone.
    ended: Option<String>,
}

struct Running {
    child: Arc<Mutex<Child>>,
    stdin: mpsc::Sender<String>,
    pending: Pending,
    alive: Arc<AtomicBool>,
    stderr: Arc<Mutex<StderrLog>>,
}

impl Worker {
    pub(crate) fn new(argv: Vec<String>, cwd: PathBuf) -> Self {
        Worker {
            argv,
            cwd,
            next_id: AtomicU64::new(1),
            turn: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
            launcher: Launcher::new(),
        }
    }

    /// The command line, for messages.
    pub(crate) fn name(&self) -> String {
        self.argv.join(" ")
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends one request once the worker is free, and waits up to `timeout` for the reply
    /// with the same `id`. A worker that does not reply in time is killed.
    pub(crate) async fn request(
        &self,
        mut request: Json,
        timeout: Duration,
    ) -> Result<Answer, WorkerFailure> {
        let _turn = self.turn.lock().await;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Json::Object(map) = &mut request {
            map.insert("id".into(), id.into());
        }
        let (tx, rx) = oneshot::channel();
        let (child, since) = self.send(id, format!("{request}\n"), tx)?;
        let failure = |reason: String| WorkerFailure {
            reason,
            stderr: since.text(),
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(reply))) => Ok(Answer {
                reply,
                stderr: since.text(),
            }),
            Ok(Ok(Err(reason))) => {
                self.lock_state().ended = Some(reason.clone());
                Err(failure(reason))
            }
            Ok(Err(_)) => Err(failure(format!(
                "external scorer `{}` stopped",
                self.name()
            ))),
            Err(_) => {
                self.stop_after_timeout(&child);
                Err(failure(format!(
                    "external scorer `{}` did not reply within {}; it was stopped and starts again for the next request",
                    self.name(),
                    humantime::format_duration(timeout)
                )))
            }
        }
    }

    /// Starts the worker if need be, registers the request `id` and writes its line.
    /// Returns the process it went to and where that request's stderr begins.
    fn send(
        &self,
        id: u64,
        line: String,
        tx: oneshot::Sender<Result<Map<String, Json>, String>>,
    ) -> Result<(Arc<Mutex<Child>>, Since), WorkerFailure> {
        let mut state = self.lock_state();
        self.ensure_running(&mut state)?;
        let Some(running) = state.running.as_ref() else {
            return Err(self.failure("external scorer is not running".into()));
        };
        let since = Since::mark(&running.stderr);
        running
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        if running.stdin.send(line).is_err() {
            return Err(WorkerFailure {
                reason: format!("external scorer `{}` closed its input", self.name()),
                stderr: since.text(),
            });
        }
        Ok((running.child.clone(), since))
    }

    /// Kills the process that did not reply in time, so that the next request gets a
    /// worker that is free; a restart after a timeout is not counted as an exit.
    fn stop_after_timeout(&self, child: &Arc<Mutex<Child>>) {
        let mut state = self.lock_state();
        let same = state
            .running
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(&r.child, child));
        if same {
            if let Some(running) = state.running.take() {
                kill(&running.child);
            }
        }
    }

    fn failure(&self, reason: String) -> WorkerFailure {
        WorkerFailure {
            reason,
            stderr: String::new(),
        }
    }

    /// Starts the worker when it is not running: the first time, after a timeout, and once
    /// after it exited; after a second exit its requests fail.
    fn ensure_running(&self, state: &mut State) -> Result<(), WorkerFailure> {
        if let Some(running) = &state.running {
            if running.alive.load(Ordering::SeqCst) {
                return Ok(());
            }
            state.exits += 1;
            if let Some(old) = state.running.take() {
                kill(&old.child);
            }
        }
        if state.exits >= MAX_EXITS {
            let why = state.ended.clone().unwrap_or_else(|| "it exited".into());
            return Err(self.failure(format!(
                "external scorer `{}` stopped twice and is not restarted again; last time {why}",
                self.name()
            )));
        }
        match self.spawn() {
            Ok(running) => state.running = Some(running),
            Err(e) => {
                state.exits = MAX_EXITS;
                state.ended = Some(format!("it could not start: {e}"));
                return Err(self.failure(format!(
                    "could not start external scorer `{}` in {}: {e}",
                    self.name(),
                    self.cwd.display()
                )));
            }
        }
        Ok(())
    }

    /// Starts the process and its three pipe threads.
    fn spawn(&self) -> std::io::Result<Running> {
        let mut command = Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .current_dir(&self.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.launcher.spawn(command)?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            process::kill_group(&mut child);
            return Err(std::io::Error::other("no pipes to the process"));
        };
        let child = Arc::new(Mutex::new(child));
        let pending: Pending = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        let tx = write_lines(stdin);
        let (log, stderr_done) = stderr_log::keep(stderr);
        let replies = Replies {
            pending: pending.clone(),
            alive: alive.clone(),
            child: child.clone(),
            name: self.name(),
            stderr_done,
        };
        std::thread::spawn(move || replies.read(stdout));
        Ok(Running {
            child,
            stdin: tx,
            pending,
            alive,
            stderr: log,
        })
    }
}

/// Starts the thread that writes lines to the worker's stdin, in the order sent.
fn write_lines(mut stdin: ChildStdin) -> mpsc::Sender<String> {
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in rx {
            if stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.flush())
                .is_err()
            {
                break;
            }
        }
    });
    tx
}

/// What the thread reading the worker's stdout shares with the worker.
struct Replies {
    pending: Pending,
    alive: Arc<AtomicBool>,
    child: Arc<Mutex<Child>>,
    name: String,
    stderr_done: Arc<AtomicBool>,
}

impl Replies {
    /// Hands each reply to its request; when stdout closes, marks the worker dead and
    /// fails every request still waiting with the exit status.
    fn read(self, stdout: ChildStdout) {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            dispatch(&line, &self.pending, &self.name);
        }
        self.alive.store(false, Ordering::SeqCst);
        // Give stderr a moment to drain so the failure carries the worker's last words.
        for _ in 0..50 {
            if self.stderr_done.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = exit_status(&self.child);
        let reason = format!("external scorer `{}` exited{status}", self.name);
        let waiting: Vec<_> = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for (_, tx) in waiting {
            let _ = tx.send(Err(reason.clone()));
        }
    }
}

/// Hands one line of the worker's stdout to the request it answers. A line that is not a
/// JSON object with a known `id` fails every waiting request: stdout is the protocol
/// channel (logs go to stderr).
fn dispatch(line: &str, pending: &Pending, name: &str) {
    let parsed: Option<Map<String, Json>> = match serde_json::from_str::<Json>(line) {
        Ok(Json::Object(map)) => Some(map),
        _ => None,
    };
    let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
    let id = parsed
        .as_ref()
        .and_then(|m| m.get("id"))
        .and_then(Json::as_u64);
    if let (Some(map), Some(id)) = (parsed, id) {
        if let Some(tx) = pending.remove(&id) {
            let _ = tx.send(Ok(map));
        }
        // A reply to a request that timed out is dropped.
        return;
    }
    let shown: String = line.chars().take(120).collect();
    let reason = format!(
        "bad reply from external scorer `{name}`: expected a JSON object with the request's `id`, got {shown:?}"
    );
    for (_, tx) in pending.drain() {
        let _ = tx.send(Err(reason.clone()));
    }
}

/// ` with status N` once the process has exited, else nothing.
fn exit_status(child: &Mutex<Child>) -> String {
    for _ in 0..50 {
        let status = child.lock().unwrap_or_else(|e| e.into_inner()).try_wait();
        match status {
            Ok(Some(status)) => {
                return match status.code() {
                    Some(code) => format!(" with status {code}"),
                    None => " on a signal".to_string(),
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
    }
    String::new()
}

/// Kills the process and whatever it started in its process group.
fn kill(child: &Mutex<Child>) {
    process::kill_group(&mut child.lock().unwrap_or_else(|e| e.into_inner()));
}

impl Drop for Worker {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = state.running.take() {
            kill(&running.child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_an_external_assertion_runs() {
        let spec =
            |yaml: &str| -> crate::score::AssertionSpec { serde_yaml::from_str(yaml).unwrap() };
        let files = |yaml: &str| files(&spec(yaml));
        let paths = |p: &[&str]| p.iter().map(PathBuf::from).collect::<Vec<_>>();
        assert_eq!(
            files("{type: external, script: scorers/a.py}"),
            paths(&["scorers/a.py"])
        );
        assert_eq!(
            files("{type: not-external, command: [python3, scorers/b.py, --fast]}"),
            paths(&["scorers/b.py"])
        );
        assert_eq!(
            files("{type: external, command: [./bin/score, x]}"),
            paths(&["./bin/score"])
        );
        assert!(files("{type: external, command: [python3, -m, scorer]}").is_empty());
        assert!(files("{type: external, command: [score-tool]}").is_empty());
        assert!(files("{type: contains, value: a}").is_empty());
    }
    use crate::score::testing::compile_err;

    fn reply(v: Json) -> Map<String, Json> {
        match v {
            Json::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn replies_are_read_with_defaults() {
        let o = read_reply(
            &reply(json!({"id": 1, "pass": true, "score": 0.5, "reason": "ok"})),
            0.5,
        )
        .unwrap();
        assert_eq!((o.pass, o.score, o.reason.as_str()), (true, 0.5, "ok"));
        let o = read_reply(&reply(json!({"score": 0.4})), 0.5).unwrap();
        assert!(!o.pass);
        assert_eq!(o.reason, "external scorer: fail (score 0.40)");
        let o = read_reply(&reply(json!({"pass": true, "metrics": {"hits": 2}})), 0.5).unwrap();
        assert_eq!(o.score, 1.0);
    }

    #[test]
    fn bad_replies_say_why() {
        let err = |v| read_reply(&reply(v), 0.5).unwrap_err();
        assert!(err(json!({"reason": "x"})).contains("neither"));
        assert!(err(json!({"pass": "yes"})).contains("`pass`"));
        assert!(err(json!({"score": 2})).contains("from 0 to 1"));
        assert!(err(json!({"pass": true, "metrics": {"a": "b"}})).contains("`metrics`"));
        assert_eq!(
            err(json!({"error": "no words"})),
            "the scorer reported an error: no words"
        );
    }

    #[test]
    fn scripts_run_with_their_interpreter() {
        assert_eq!(script_command("s/k.py"), ["python3", "s/k.py"]);
        assert_eq!(script_command("s/k.js"), ["node", "s/k.js"]);
        assert_eq!(script_command("./k"), ["./k"]);
    }

    #[test]
    fn command_or_script_is_required() {
        let err = compile_err(json!({"type": "external"}));
        assert!(err.to_string().contains("needs a `command`"), "{err}");
        let err = compile_err(json!({"type": "external", "command": ["a"], "script": "b.py"}));
        assert!(err.to_string().contains("not both"), "{err}");
        let err = compile_err(json!({"type": "external", "command": ["a"], "timeout": "soon"}));
        assert!(err.to_string().contains("invalid `timeout`"), "{err}");
    }

    fn sh_worker(script: &str) -> Worker {
        Worker::new(
            vec!["sh".into(), "-c".into(), script.into()],
            std::env::temp_dir(),
        )
    }

    #[tokio::test]
    async fn a_crashing_worker_is_restarted_once_then_given_up() {
        let w = sh_worker("read line; echo 'boom' >&2; exit 3");
        for _ in 0..2 {
            let err = w
                .request(json!({}), Duration::from_secs(10))
                .await
                .unwrap_err();
            assert!(
                err.reason.contains("exited with status 3"),
                "{}",
                err.reason
            );
            assert!(err.stderr.contains("boom"), "{:?}", err.stderr);
        }
        let err = w
            .request(json!({}), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(err.reason.contains("stopped twice"), "{}", err.reason);
    }

    #[tokio::test]
    async fn a_silent_worker_times_out() {
        let w = sh_worker("sleep 30");
        let err = w
            .request(json!({}), Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(
            err.reason.contains("did not reply within 200ms"),
            "{}",
            err.reason
        );
    }

    /// Logs each request's case to stderr, and sleeps on the case `slow`.
    const SLOW_ON_ONE: &str = r#"
import json, sys, time
for line in sys.stdin:
    r = json.loads(line)
    print("working on " + r["case"], file=sys.stderr, flush=True)
    if r["case"] == "slow":
        time.sleep(30)
    print(json.dumps({"id": r["id"], "pass": True}), flush=True)
"#;

    #[tokio::test]
    async fn a_timeout_no_longer_poisons_the_requests_after_it() {
        let w = Worker::new(
            vec!["python3".into(), "-c".into(), SLOW_ON_ONE.into()],
            std::env::temp_dir(),
        );
        let (slow, a, b) = tokio::join!(
            // Generous: Python must start and log within it on a loaded machine (the
            // test was flaky at 500 ms with six builds running).
            w.request(json!({"case": "slow"}), Duration::from_secs(3)),
            w.request(json!({"case": "a"}), Duration::from_secs(30)),
            w.request(json!({"case": "b"}), Duration::from_secs(30)),
        );
        let slow = slow.unwrap_err();
        assert!(
            slow.reason.contains("did not reply within 3s"),
            "{}",
            slow.reason
        );
        assert_eq!(slow.stderr, "working on slow\n");
        let a = a.unwrap();
        assert_eq!(a.stderr, "working on a\n");
        assert_eq!(b.unwrap().stderr, "working on b\n");
        // Restarts after timeouts are not exits: the worker is never given up.
        for _ in 0..2 {
            let err = w
                .request(json!({"case": "slow"}), Duration::from_millis(200))
                .await
                .unwrap_err();
            assert!(err.reason.contains("did not reply"), "{}", err.reason);
        }
        assert!(w
            .request(json!({"case": "c"}), Duration::from_secs(5))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_non_json_line_fails_the_request() {
        let w = sh_worker("read line; echo 'hello'; sleep 5");
        let err = w
            .request(json!({}), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(err.reason.contains("got \"hello\""), "{}", err.reason);
    }

    #[tokio::test]
    async fn replies_are_matched_by_id() {
        // Echoes each request back: the reply carries the request's id.
        let w = Arc::new(sh_worker("while read line; do echo \"$line\"; done"));
        let (a, b) = tokio::join!(
            w.request(json!({"n": 1}), Duration::from_secs(10)),
            w.request(json!({"n": 2}), Duration::from_secs(10)),
        );
        assert_eq!(a.unwrap().reply["n"], 1);
        assert_eq!(b.unwrap().reply["n"], 2);
    }

    #[tokio::test]
    async fn a_missing_program_is_a_start_error() {
        let w = Worker::new(vec!["/nonexistent/scorer".into()], std::env::temp_dir());
        let err = w
            .request(json!({}), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(
            err.reason.starts_with("could not start external scorer"),
            "{}",
            err.reason
        );
    }
}
