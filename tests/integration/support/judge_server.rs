//! A scripted OpenAI-compatible server on 127.0.0.1 for judge and embeddings tests: each
//! request is answered by a closure over its path and JSON body, and recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub body: Value,
}

impl Seen {
    /// The text of the prompt: every message's content, joined.
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
}

type Handler = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

/// The server; it lives as long as the test process.
pub struct JudgeServer {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl JudgeServer {
    /// Starts a server answering with `handler`.
    pub fn start(handler: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = handler.clone();
                let recorded = recorded.clone();
                std::thread::spawn(move || serve(stream, &*handler, &recorded));
            }
        });
        JudgeServer { port, seen }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// The requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A chat completion whose content is `content`, with usage.
pub fn chat(content: &str) -> (u16, String) {
    (
        200,
        json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10},
        })
        .to_string(),
    )
}

fn serve(stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Seen {
            path,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        };
        seen.lock().unwrap().push(request.clone());
        let (status, body) = handler(&request);
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
