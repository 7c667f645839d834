//! A command run once with its input on stdin and its answer on stdout, killed after a
//! timeout, dying with prompteval: what the `exec` provider and the `exec` tool handler
//! share.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How much of stderr a failure quotes (its end, where the reason usually is).
pub(crate) const STDERR_TAIL_CHARS: usize = 300;

/// A program and its arguments, run once per input.
#[derive(Clone, Debug)]
pub(crate) struct Piped {
    /// The program, as found by [`find_program`].
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// How long one run may take before it is killed.
    pub timeout: Duration,
}

/// Why a run gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PipedError {
    /// The program could not be started.
    #[error("cannot start `{}`: {source}", program.display())]
    Start {
        /// The program.
        program: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Its output could not be read.
    #[error("cannot read from `{}`: {source}", program.display())]
    Read {
        /// The program.
        program: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It ran longer than the timeout and was killed.
    #[error("command timed out after {} and was killed", humantime::format_duration(*.0))]
    TimedOut(Duration),
    /// It exited unsuccessfully or was killed by a signal.
    #[error("command {status}{}", match stderr_tail {
        Some(tail) => format!(": {tail}"),
        None => " (stderr was empty)".to_string(),
    })]
    Failed {
        /// `exited with status 3`, `was killed by signal 9`.
        status: String,
        /// The end of its stderr on one line, when there was any.
        stderr_tail: Option<String>,
    },
}

impl Piped {
    /// Runs the program once with `input` on its stdin, returning its stdout with one
    /// final newline removed.
    ///
    /// The child is tied to prompteval ([`crate::process::tie_to_parent`]: its own process
    /// group, killed when prompteval dies), and its whole group is killed when the run
    /// times out or the future is dropped (a cancelled run), so nothing it started
    /// outlives it.
    pub(crate) async fn run(&self, input: &[u8]) -> Result<String, PipedError> {
        let mut command = std::process::Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        crate::process::tie_to_parent(&mut command);
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(true);
        let child = command.spawn().map_err(|source| PipedError::Start {
            program: self.program.clone(),
            source,
        })?;
        let mut child = GroupGuard::new(child);
        if let Some(mut stdin) = child.child.stdin.take() {
            let bytes = input.to_vec();
            // A command that exits without reading its input is not an error by itself.
            tokio::spawn(async move {
                let _ = stdin.write_all(&bytes).await;
            });
        }
        let (mut stdout, mut stderr) = (child.child.stdout.take(), child.child.stderr.take());
        let work = async {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let (read_out, read_err, status) = tokio::join!(
                read_all(stdout.as_mut(), &mut out),
                read_all(stderr.as_mut(), &mut err),
                child.child.wait()
            );
            read_out.and(read_err).and(status).map(|s| (s, out, err))
        };
        let (status, stdout, stderr) = match tokio::time::timeout(self.timeout, work).await {
            Err(_) => return Err(PipedError::TimedOut(self.timeout)),
            Ok(Err(source)) => {
                return Err(PipedError::Read {
                    program: self.program.clone(),
                    source,
                })
            }
            Ok(Ok(done)) => done,
        };
        if !status.success() {
            return Err(PipedError::Failed {
                status: describe_status(&status),
                stderr_tail: stderr_tail(&stderr),
            });
        }
        let stdout = String::from_utf8_lossy(&stdout);
        let text = stdout
            .strip_suffix("\r\n")
            .or_else(|| stdout.strip_suffix('\n'))
            .unwrap_or(&stdout);
        Ok(text.to_string())
    }
}

/// Reads `pipe` to its end into `into` (nothing when there is no pipe).
async fn read_all<R: AsyncReadExt + Unpin>(
    pipe: Option<&mut R>,
    into: &mut Vec<u8>,
) -> std::io::Result<()> {
    match pipe {
        Some(pipe) => pipe.read_to_end(into).await.map(|_| ()),
        None => Ok(()),
    }
}

/// A running child whose process group is killed when the guard is dropped.
struct GroupGuard {
    child: tokio::process::Child,
    pid: Option<u32>,
}

impl GroupGuard {
    fn new(child: tokio::process::Child) -> Self {
        let pid = child.id();
        GroupGuard { child, pid }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: kill(2) has no memory-safety preconditions. The group was made for
            // this child (`process_group(0)`); what is left of it (its own children) is
            // killed with it. An empty group makes the call fail with ESRCH, harmlessly.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        // `kill_on_drop` stops the child itself when `child` is dropped next.
    }
}

/// `exited with status 3` or `was killed by signal 9`.
pub(crate) fn describe_status(status: &std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    format!("failed ({status})")
}

/// The end of stderr on one line, or `None` when it is blank.
pub(crate) fn stderr_tail(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= STDERR_TAIL_CHARS {
        return Some(text);
    }
    let tail: String = chars[chars.len() - STDERR_TAIL_CHARS..].iter().collect();
    Some(format!("…{tail}"))
}

/// The program to run: a path with a `/` as given, a bare name looked up on `PATH`.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    if program.trim().is_empty() {
        return None;
    }
    if program.contains('/') {
        let path = Path::new(program);
        return path.is_file().then(|| path.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piped(args: &[&str], timeout_ms: u64) -> Piped {
        Piped {
            program: find_program(args[0]).unwrap(),
            args: args[1..].iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    fn gone(pid: &str) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty() || stat.contains(") Z ")
    }

    async fn wait_gone(pid: &str) -> bool {
        for _ in 0..100 {
            if gone(pid) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn stdin_in_stdout_out() {
        let out = piped(&["sh", "-c", "cat; echo"], 5000)
            .run(b"hi")
            .await
            .unwrap();
        assert_eq!(out, "hi");
    }

    #[tokio::test]
    async fn failure_quotes_status_and_stderr() {
        let err = piped(&["sh", "-c", "echo boom >&2; exit 3"], 5000)
            .run(b"")
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "command exited with status 3: boom");
        let err = piped(&["sh", "-c", "exit 1"], 5000)
            .run(b"")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "command exited with status 1 (stderr was empty)"
        );
    }

    #[tokio::test]
    async fn timeout_kills_the_child_and_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        // The child starts a grandchild that would hold stdout open for 30s.
        let script = "sleep 30 & echo $! > \"$0\"; echo $$ >> \"$0\"; wait";
        let p = piped(&["sh", "-c", script, &pids.display().to_string()], 300);
        let err = p.run(b"").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "command timed out after 300ms and was killed"
        );
        let text = std::fs::read_to_string(&pids).unwrap();
        for pid in text.lines() {
            assert!(wait_gone(pid.trim()).await, "process {pid} survived");
        }
    }

    #[tokio::test]
    async fn dropping_the_run_kills_the_child() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let p = piped(
            &[
                "sh",
                "-c",
                "echo $$ > \"$0\"; exec sleep 30",
                &pidfile.display().to_string(),
            ],
            30_000,
        );
        let run = p.run(b"");
        // The run is abandoned once the child has written its pid (a cancelled cell).
        let _ = tokio::time::timeout(Duration::from_millis(500), run).await;
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(wait_gone(pid.trim()).await, "process {pid} survived");
    }

    #[test]
    fn stderr_tails() {
        assert_eq!(stderr_tail(b"  \n"), None);
        assert_eq!(stderr_tail(b"a\nb\n").as_deref(), Some("a b"));
        let long = format!("{}END", "x".repeat(1000));
        let tail = stderr_tail(long.as_bytes()).unwrap();
        assert!(tail.ends_with("END") && tail.starts_with('…'));
        assert_eq!(tail.chars().count(), STDERR_TAIL_CHARS + 1);
    }
}
