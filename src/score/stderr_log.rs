//! What an external scorer process writes to stderr, cut into the part of each request.

use std::io::Read;
use std::process::ChildStderr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How much of a request's stderr is kept for error messages.
pub(crate) const STDERR_TAIL: usize = 2000;

/// One process's stderr: its last [`STDERR_TAIL`] bytes, and how many came in all, so that
/// a request takes only what came while it was in flight.
///
/// On Unix the pipe is read without blocking, under the log's lock, both by a background
/// thread (so the process never blocks on a full pipe) and whenever a request marks or
/// reads its part: what the process wrote before its reply is then always in the log by
/// the time the reply is read, although stderr and stdout are separate pipes.
#[derive(Default)]
pub(crate) struct StderrLog {
    tail: Vec<u8>,
    total: usize,
    /// Whether a request has taken a mark: the first one also gets the start-up output.
    marked: bool,
    /// The pipe, when it is read here rather than by a blocking thread; only that thread
    /// drops it, so its descriptor stays open while the thread waits on it.
    pipe: Option<ChildStderr>,
    /// Whether the pipe reached its end.
    closed: bool,
}

/// A request's part of a log: everything from a mark on.
pub(crate) struct Since {
    log: Arc<Mutex<StderrLog>>,
    mark: usize,
}

impl Since {
    /// Where the next request of the process behind `log` begins.
    pub(crate) fn mark(log: &Arc<Mutex<StderrLog>>) -> Since {
        let mark = lock(log).mark();
        Since {
            log: log.clone(),
            mark,
        }
    }

    /// What came since the mark, as far as the tail still holds it.
    pub(crate) fn text(&self) -> String {
        let mut log = lock(&self.log);
        log.drain();
        log.since(self.mark)
    }
}

impl StderrLog {
    fn push(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
        self.total += bytes.len();
        if self.tail.len() > STDERR_TAIL {
            let cut = self.tail.len() - STDERR_TAIL;
            self.tail.drain(..cut);
        }
    }

    fn mark(&mut self) -> usize {
        self.drain();
        if std::mem::replace(&mut self.marked, true) {
            self.total
        } else {
            0
        }
    }

    fn since(&self, mark: usize) -> String {
        let kept_from = self.total - self.tail.len();
        let mut from = mark.saturating_sub(kept_from).min(self.tail.len());
        // Where the tail was cut inside a character, start at the next one.
        while from < self.tail.len() && self.tail[from] & 0xC0 == 0x80 {
            from += 1;
        }
        String::from_utf8_lossy(&self.tail[from..]).into_owned()
    }

    /// Reads what the pipe holds without waiting; `true` once it is closed.
    fn drain(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        while !self.closed {
            let Some(pipe) = self.pipe.as_mut() else {
                break;
            };
            match pipe.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => self.push(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => self.closed = true,
            }
        }
        self.closed
    }
}

fn lock(log: &Mutex<StderrLog>) -> std::sync::MutexGuard<'_, StderrLog> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the thread that keeps `stderr` in a new log; the flag is set once it is closed.
pub(crate) fn keep(stderr: ChildStderr) -> (Arc<Mutex<StderrLog>>, Arc<AtomicBool>) {
    let log = Arc::new(Mutex::new(StderrLog::default()));
    let done = Arc::new(AtomicBool::new(false));
    let (shared, flag) = (log.clone(), done.clone());
    std::thread::spawn(move || {
        read_all(stderr, &shared);
        flag.store(true, Ordering::SeqCst);
    });
    (log, done)
}

/// Waits for the pipe to be readable, and drains it under the lock, until it closes.
#[cfg(unix)]
fn read_all(stderr: ChildStderr, log: &Mutex<StderrLog>) {
    use std::os::fd::AsRawFd;
    let fd = stderr.as_raw_fd();
    if crate::process::set_nonblocking(fd).is_err() {
        return read_blocking(stderr, log);
    }
    lock(log).pipe = Some(stderr);
    loop {
        let readable = crate::process::wait_readable(fd);
        let mut log = lock(log);
        if log.drain() || !readable {
            log.pipe = None;
            return;
        }
    }
}

#[cfg(not(unix))]
fn read_all(stderr: ChildStderr, log: &Mutex<StderrLog>) {
    read_blocking(stderr, log)
}

fn read_blocking(mut stderr: ChildStderr, log: &Mutex<StderrLog>) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        lock(log).push(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_since_a_mark_is_cut_to_the_tail() {
        let mut log = StderrLog::default();
        assert_eq!(log.mark(), 0);
        log.push(b"start\n");
        let mark = log.mark();
        log.push(b"mine\n");
        assert_eq!(log.since(0), "start\nmine\n");
        assert_eq!(log.since(mark), "mine\n");
        log.push("é".repeat(STDERR_TAIL).as_bytes());
        assert_eq!(log.since(mark), "é".repeat(STDERR_TAIL / 2));
    }
}
