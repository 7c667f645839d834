//! A scripted HTTP/1.1 server on 127.0.0.1 for provider and judge tests: each request gets
//! the reply a script picks (by request number and content), including faults — connection
//! resets, hangs, truncated and malformed bodies. It runs on its own thread and runtime, so
//! both async tests and CLI tests (a child process) can use it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        delay: Duration,
    },
    /// Close the connection without answering (a reset, as the client sees it).
    Close,
    /// Send the head and half the body announced by `Content-Length`, then close.
    Truncated { body: String },
    /// Say nothing for this long, then close.
    Hang(Duration),
}

/// A 200 (or other status) JSON reply.
pub fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply::Respond {
        status,
        headers: Vec::new(),
        body: body.into(),
        delay: Duration::ZERO,
    }
}

/// A 200 chat completion whose content is `content`, with usage (100 tokens in, 10 out).
pub fn chat(content: &str) -> Reply {
    reply(
        200,
        json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10},
        })
        .to_string(),
    )
}

/// Adds a header to a reply.
pub fn with_header(reply: Reply, name: &str, value: &str) -> Reply {
    match reply {
        Reply::Respond {
            status,
            mut headers,
            body,
            delay,
        } => {
            headers.push((name.into(), value.into()));
            Reply::Respond {
                status,
                headers,
                body,
                delay,
            }
        }
        other => other,
    }
}

/// Delays a reply.
pub fn delayed(reply: Reply, by: Duration) -> Reply {
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
            ..
        } => Reply::Respond {
            status,
            headers,
            body,
            delay: by,
        },
        other => other,
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Seen {
    /// The request target, e.g. `/v1/chat/completions`.
    pub fn path(&self) -> &str {
        self.request_line.split_whitespace().nth(1).unwrap_or("")
    }

    /// The text of the prompt: every chat message's content joined, or the completion
    /// prompt.
    pub fn prompt(&self) -> String {
        match self.body.get("messages").and_then(Value::as_array) {
            Some(messages) => messages
                .iter()
                .filter_map(|m| m["content"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            None => self.body["prompt"].as_str().unwrap_or_default().to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Script = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

/// A running server; it stops when the test process ends.
pub struct ScriptedServer {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl ScriptedServer {
    /// Starts a server answering request `n` (from 0) with `script(n, request)`.
    pub fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Self {
        let script: Arc<Script> = Arc::new(script);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (seen2, max2) = (seen.clone(), max_in_flight.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(std_listener, script, seen2, max2));
        });
        ScriptedServer {
            addr,
            seen,
            max_in_flight,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn serve(
    listener: std::net::TcpListener,
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<AtomicUsize>,
) {
    let listener = TcpListener::from_std(listener).unwrap();
    let counter = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let (script, seen, counter, in_flight, max_in_flight) = (
            script.clone(),
            seen.clone(),
            counter.clone(),
            in_flight.clone(),
            max_in_flight.clone(),
        );
        tokio::spawn(async move {
            let mut stream = stream;
            // Keep-alive: serve requests on this connection until the client closes it or
            // a fault closes it.
            loop {
                let Some(request) = read_request(&mut stream).await else {
                    return;
                };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                max_in_flight.fetch_max(now, Ordering::SeqCst);
                let reply = script(n, &request);
                seen.lock().unwrap().push(request);
                let keep = respond(&mut stream, reply).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                if !keep {
                    return;
                }
            }
        });
    }
}

/// Writes a reply; false when the connection is closed afterwards.
async fn respond(stream: &mut TcpStream, reply: Reply) -> bool {
    match reply {
        Reply::Close => false,
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            false
        }
        Reply::Truncated { body } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body.as_bytes()[..body.len() / 2]).await;
            let _ = stream.shutdown().await;
            false
        }
        Reply::Respond {
            status,
            headers,
            body,
            delay,
        } => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let mut head = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            head.push_str(&body);
            stream.write_all(head.as_bytes()).await.is_ok()
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        request_line,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    })
}
