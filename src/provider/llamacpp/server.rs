//! One `llama-server` process: spawned on a free port, polled until healthy, and stopped
//! (SIGTERM, then SIGKILL) when dropped. Its output (stdout and stderr through one pipe, so
//! lines keep their order) is drained into a [`LogTail`].

use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::ServerSettings;
use super::ring::LogTail;
use crate::provider::ProviderError;

/// How long a server may take to exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(2);
/// How often `/health` is asked while the server starts.
const HEALTH_POLL: Duration = Duration::from_millis(100);
/// How long to wait for the server's last output once it has exited.
const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// A running `llama-server` that prompteval started. Dropping it stops the process; the
/// process also dies with prompteval (see [`ManagedServer::spawn`]).
#[derive(Debug)]
pub struct ManagedServer {
    settings: ServerSettings,
    port: u16,
    pid: u32,
    child: Mutex<Child>,
    log: LogTail,
    ready: tokio::sync::OnceCell<Result<(), String>>,
}

impl ManagedServer {
    /// Spawns the server on a free port of 127.0.0.1 and returns at once; see
    /// [`ManagedServer::wait_ready`].
    ///
    /// The child dies with prompteval ([`crate::process::tie_to_parent`]): call this from
    /// a thread that lives as long as the run, the thread driving the run (`block_on`), not
    /// a runtime worker.
    pub fn spawn(settings: &ServerSettings) -> Result<ManagedServer, ProviderError> {
        let binary = settings.binary.display();
        let port = free_port().map_err(|e| fail(format!("cannot find a free port: {e}")))?;
        let mut command = Command::new(&settings.binary);
        command.args(settings.args(port)).stdin(Stdio::null());
        let merged = output_pipe(&mut command)
            .map_err(|e| fail(format!("cannot create a pipe for the server's output: {e}")))?;
        crate::process::tie_to_parent(&mut command);
        let spawned = command.spawn();
        // The command holds our copies of the pipe's write end: without dropping it the
        // log would never see the end of the output.
        drop(command);
        let mut child = spawned.map_err(|e| fail(format!("cannot start {binary}: {e}")))?;
        let log = LogTail::default();
        if let Some(out) = merged {
            log.drain_in_background(out);
        }
        if let Some(out) = child.stdout.take() {
            log.drain_in_background(out);
        }
        if let Some(err) = child.stderr.take() {
            log.drain_in_background(err);
        }
        Ok(ManagedServer {
            settings: settings.clone(),
            port,
            pid: child.id(),
            child: Mutex::new(child),
            log,
            ready: tokio::sync::OnceCell::new(),
        })
    }

    /// Waits until `GET /health` answers 200, polling every 100ms. Fails when the process
    /// exits first or `timeout` passes; the error carries the server's last output lines.
    /// Later calls (from providers sharing the server) get the first call's result.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), ProviderError> {
        self.ready
            .get_or_init(|| self.poll_health(timeout))
            .await
            .clone()
            .map_err(fail)
    }

    async fn poll_health(&self, timeout: Duration) -> Result<(), String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| format!("cannot create the HTTP client: {e}"))?;
        let url = format!("http://127.0.0.1:{}/health", self.port);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                self.wait_for_output().await;
                return Err(format!(
                    "`llama-server` ({}) stopped before it was ready ({status}){}",
                    self.settings.binary.display(),
                    self.tail()
                ));
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == reqwest::StatusCode::OK {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "`llama-server` did not become ready within {} (raise the provider's `startup_timeout` if the model is large){}",
                    humantime::format_duration(timeout),
                    self.tail()
                ));
            }
            tokio::time::sleep(HEALTH_POLL).await;
        }
    }

    async fn wait_for_output(&self) {
        let until = Instant::now() + DRAIN_WAIT;
        while !self.log.drained() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        child.try_wait().ok().flatten()
    }

    /// The last output lines, formatted for an error message.
    fn tail(&self) -> String {
        let lines = self.log.lines();
        if lines.is_empty() {
            return "; it printed nothing".into();
        }
        let mut text = format!("; its last {} lines of output:", lines.len());
        for line in lines {
            text.push_str("\n  ");
            text.push_str(&line);
        }
        text
    }

    /// The API root, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What it was started with.
    pub fn settings(&self) -> &ServerSettings {
        &self.settings
    }

    /// Its last lines of output (stdout and stderr).
    pub fn log(&self) -> Vec<String> {
        self.log.lines()
    }
}

impl Drop for ManagedServer {
    /// Stops the process: SIGTERM, up to [`STOP_GRACE`] to exit, then SIGKILL; always reaped.
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        #[cfg(unix)]
        if let Ok(pid) = libc::pid_t::try_from(self.pid) {
            // SAFETY: kill(2) has no memory-safety preconditions; the child is not reaped
            // yet (try_wait said it is running), so the pid still names it.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Sends the child's stdout and stderr into one pipe, so its lines keep their order, and
/// returns the read end. Where that is not available, both streams are piped separately
/// (and read from the child's handles) and `None` is returned.
#[cfg(target_os = "linux")]
fn output_pipe(command: &mut Command) -> std::io::Result<Option<std::fs::File>> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds: [libc::c_int; 2] = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    let (read, write) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            OwnedFd::from_raw_fd(fds[1]),
        )
    };
    command
        .stdout(Stdio::from(write.try_clone()?))
        .stderr(Stdio::from(write));
    Ok(Some(read))
}

#[cfg(not(target_os = "linux"))]
fn output_pipe(command: &mut Command) -> std::io::Result<Option<std::fs::File>> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    Ok(None)
}

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

fn fail(message: String) -> ProviderError {
    ProviderError {
        message,
        status: None,
        attempts: 0,
    }
}
