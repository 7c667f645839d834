//! The process of a stdio MCP server: started tied to prompteval, its stderr kept for
//! error messages, killed with its whole process group when the handler goes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::process::{self, Launcher};

/// How much of a server's stderr is kept (its end, where the reason usually is).
const STDERR_TAIL_BYTES: usize = 2000;

/// The end of a server's stderr, filled by a thread while the server runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct StderrTail(Arc<Mutex<Vec<u8>>>);

impl StderrTail {
    /// The kept text, trimmed; empty when the server wrote nothing.
    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).trim().to_string()
    }

    /// ` (stderr: …)` to append to a message, or nothing when stderr is empty.
    pub(crate) fn suffix(&self) -> String {
        let text = self.text();
        if text.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends: {text}")
        }
    }

    fn push(&self, chunk: &[u8]) {
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bytes.extend_from_slice(chunk);
        if bytes.len() > STDERR_TAIL_BYTES {
            let cut = bytes.len() - STDERR_TAIL_BYTES;
            bytes.drain(..cut);
        }
    }
}

/// A running stdio server. Dropping it kills the server and everything it started; if
/// prompteval dies first, the parent-death signal set by [`Launcher`] kills it.
pub(crate) struct ServerProcess {
    child: Child,
    /// Keeps the thread that spawned the child alive as long as the child should live.
    _launcher: Launcher,
    /// The end of the server's stderr.
    pub(crate) stderr: StderrTail,
}

/// The server's pipes, for the MCP transport.
pub(crate) type Pipes = (tokio::process::ChildStdout, tokio::process::ChildStdin);

impl ServerProcess {
    /// Starts `program` with `args` and `env` in `dir`, its stdin and stdout piped for MCP.
    /// Must be called inside a Tokio runtime (the pipes are registered with it).
    pub(crate) fn spawn(
        program: &Path,
        args: &[String],
        env: &BTreeMap<String, String>,
    ) -> std::io::Result<(ServerProcess, Pipes)> {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let launcher = Launcher::new();
        let mut child = launcher.spawn(command)?;
        let taken = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        // From here on the child is killed on every return.
        let server = ServerProcess {
            child,
            _launcher: launcher,
            stderr: StderrTail::default(),
        };
        let (Some(stdin), Some(stdout), Some(stderr)) = taken else {
            return Err(std::io::Error::other("the server's pipes were not opened"));
        };
        let tail = server.stderr.clone();
        std::thread::spawn(move || drain(stderr, tail));
        let pipes = (
            tokio::process::ChildStdout::from_std(stdout)?,
            tokio::process::ChildStdin::from_std(stdin)?,
        );
        Ok((server, pipes))
    }

    /// The exit status, when the server has already ended.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The server's process id.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        process::kill_group(&mut self.child);
    }
}

fn drain(mut stderr: std::process::ChildStderr, tail: StderrTail) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        tail.push(&buf[..n]);
    }
}
