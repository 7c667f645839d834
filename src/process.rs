//! Child processes that live and die with prompteval, and the pipes to them.

use std::process::{Child, Command};
use std::sync::{mpsc, Mutex};

/// Prepares `command` so that its child dies with prompteval.
///
/// The child gets its own process group, so a Ctrl-C in the terminal reaches prompteval
/// only, which then stops the child itself ([`kill_group`] reaches the child's own children
/// too). On Linux it also gets `PR_SET_PDEATHSIG(SIGKILL)`, so it is killed even when
/// prompteval is killed with SIGKILL or by an unhandled signal. The kernel sends that signal
/// when the *thread* that spawned the child exits: spawn from a thread that lives as long
/// as the child should (the thread driving the run, or a [`Launcher`]), never a runtime
/// worker.
pub(crate) fn tie_to_parent(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    #[cfg(target_os = "linux")]
    die_with_parent(command);
}

/// Asks the kernel to SIGKILL the child when the spawning thread dies.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getpid is async-signal-safe; it runs in the parent before the fork.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the forked child before exec and only calls prctl,
    // getppid and raise, which are async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would stop us.
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            Ok(())
        });
    }
}

/// Kills a child spawned with [`tie_to_parent`] and every process of its group, and reaps
/// it.
pub(crate) fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    if let (Ok(None), Ok(pid)) = (child.try_wait(), libc::pid_t::try_from(child.id())) {
        // SAFETY: kill(2) has no memory-safety preconditions; the child is not reaped yet
        // (try_wait said it is running), so its pid still names its process group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

type Job = (Command, mpsc::Sender<std::io::Result<Child>>);

/// A thread that spawns children for its owner, so that their parent-death signal fires
/// when the owner is dropped, not when whichever runtime thread asked for them exits.
#[derive(Debug)]
pub(crate) struct Launcher {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Launcher {
    /// Starts the thread; it ends when the launcher is dropped.
    pub(crate) fn new() -> Launcher {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::spawn(move || {
            for (mut command, reply) in rx {
                tie_to_parent(&mut command);
                let _ = reply.send(command.spawn());
            }
        });
        Launcher {
            jobs: Mutex::new(tx),
        }
    }

    /// Spawns `command` on the launcher's thread, tied to it with [`tie_to_parent`].
    pub(crate) fn spawn(&self, command: Command) -> std::io::Result<Child> {
        let (tx, rx) = mpsc::channel();
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((command, tx));
        if sent.is_err() {
            return Err(std::io::Error::other("the launcher thread has stopped"));
        }
        rx.recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("the launcher thread has stopped")))
    }
}

/// Makes reads of `fd` return `WouldBlock` instead of waiting.
#[cfg(unix)]
pub(crate) fn set_nonblocking(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns; F_GETFL/F_SETFL touch no memory.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits until `fd` can be read (data, or its end); `false` when it cannot be waited on.
#[cfg(unix)]
pub(crate) fn wait_readable(fd: std::os::fd::RawFd) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `poll` points at one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut poll, 1, -1) };
        if n > 0 {
            return poll.revents & libc::POLLNVAL == 0;
        }
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::process::Stdio;

    #[test]
    fn kill_group_also_kills_what_the_child_started() {
        let launcher = Launcher::new();
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(Stdio::piped());
        let mut child = launcher.spawn(command).unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let grandchild: libc::pid_t = line.trim().parse().unwrap();
        kill_group(&mut child);
        let gone = (0..250).any(|_| {
            let stat = std::fs::read_to_string(format!("/proc/{grandchild}/stat"));
            let gone = stat.map_or(true, |s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            });
            if !gone {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            gone
        });
        assert!(gone, "the child's own child {grandchild} survived");
    }
}
