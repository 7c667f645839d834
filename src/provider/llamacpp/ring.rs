//! The last lines a server wrote, kept in a bounded buffer so its pipes can be drained
//! forever without growing memory, and shown when it fails to start.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Lines kept by default.
const DEFAULT_LINES: usize = 20;
/// Longest line kept; longer lines are cut (a server printing without newlines must not
/// grow the buffer).
const MAX_LINE_BYTES: usize = 2048;

/// The last lines written to one or more streams (stdout and stderr interleaved by
/// arrival). Cloning shares the buffer.
#[derive(Clone, Debug)]
pub struct LogTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    capacity: usize,
    /// Streams still being drained in the background.
    open: Arc<AtomicUsize>,
}

impl Default for LogTail {
    fn default() -> Self {
        LogTail::new(DEFAULT_LINES)
    }
}

impl LogTail {
    /// An empty buffer keeping the last `capacity` lines.
    pub fn new(capacity: usize) -> Self {
        LogTail {
            lines: Arc::new(Mutex::new(VecDeque::with_capacity(capacity))),
            capacity: capacity.max(1),
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Adds one line (without its newline), dropping the oldest when full.
    pub fn push(&self, line: &[u8]) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == self.capacity {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().cloned().collect()
    }

    /// Reads `stream` to its end, line by line, on the calling thread. Lines longer than
    /// `MAX_LINE_BYTES` are cut; an unfinished last line is kept too.
    pub fn drain(&self, mut stream: impl Read) {
        let mut buf = [0u8; 8192];
        let mut line: Vec<u8> = Vec::new();
        let mut cut = false;
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            for &byte in &buf[..n] {
                if byte == b'\n' {
                    self.push(&line);
                    line.clear();
                    cut = false;
                } else if line.len() < MAX_LINE_BYTES {
                    line.push(byte);
                } else if !cut {
                    line.extend_from_slice(" …".as_bytes());
                    cut = true;
                }
            }
        }
        if !line.is_empty() {
            self.push(&line);
        }
    }

    /// Drains `stream` on a new thread until it ends.
    pub fn drain_in_background(&self, stream: impl Read + Send + 'static) {
        let tail = self.clone();
        self.open.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("llama-server-log".into())
            .spawn(move || {
                tail.drain(stream);
                tail.open.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            self.open.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Whether every stream given to [`LogTail::drain_in_background`] has ended.
    pub fn drained(&self) -> bool {
        self.open.load(Ordering::SeqCst) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines() {
        let tail = LogTail::new(3);
        tail.drain(&b"one\ntwo\r\nthree\nfour\nfive"[..]);
        assert_eq!(tail.lines(), vec!["three", "four", "five"]);
    }

    #[test]
    fn cuts_long_lines_and_survives_bad_utf8() {
        let tail = LogTail::new(5);
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\n\xff ok\n");
        tail.drain(&input[..]);
        let lines = tail.lines();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].ends_with('…'));
        assert!(lines[0].len() < MAX_LINE_BYTES + 10);
        assert_eq!(lines[1], "\u{fffd} ok");
    }

    #[test]
    fn shared_between_clones_and_threads() {
        let tail = LogTail::new(100);
        tail.drain_in_background(&b"a\nb\n"[..]);
        tail.clone().drain(&b"c\n"[..]);
        for _ in 0..200 {
            if tail.drained() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut lines = tail.lines();
        lines.sort();
        assert_eq!(lines, vec!["a", "b", "c"]);
    }
}
