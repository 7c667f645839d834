//! The `openai` provider against a real HTTP/1.1 server on 127.0.0.1, scripted per request:
//! success, retries (429 with Retry-After, 5xx, closed connections, timeouts), fatal
//! errors, key hygiene and the concurrency limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use prompteval::message::{Message, RenderedPrompt, Role};
use prompteval::provider::{
    OpenAiProvider, Price, Provider, ProviderConfig, ProviderRequest, RetryNotice, RetryPolicy,
};
use prompteval::registry::Params;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEY_VAR: &str = "PROMPTEVAL_IT_OPENAI_KEY";
const KEY: &str = "sk-it-0123456789-very-secret";

/// Sets the key variable once, before any test reads the environment.
fn set_key() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var(KEY_VAR, KEY));
}

/// What the server does with one request.
#[derive(Clone)]
enum Reply {
    Respond {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
        delay: Duration,
    },
    /// Read the request, then close the connection without answering.
    Close,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply::Respond {
        status,
        headers: Vec::new(),
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn ok(content: &str) -> Reply {
    reply(
        200,
        json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3},
        })
        .to_string(),
    )
}

fn delayed(reply: Reply, by: Duration) -> Reply {
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
        Reply::Close => Reply::Close,
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Server {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    /// Starts a server answering request `n` (from 0) with `script(n)`.
    async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let counter = Arc::new(AtomicUsize::new(0));
        {
            let seen = seen.clone();
            let max_in_flight = max_in_flight.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let (seen, in_flight, max_in_flight, script, counter) = (
                        seen.clone(),
                        in_flight.clone(),
                        max_in_flight.clone(),
                        script.clone(),
                        counter.clone(),
                    );
                    tokio::spawn(async move {
                        let mut stream = stream;
                        let Some(request) = read_request(&mut stream).await else {
                            return;
                        };
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        seen.lock().unwrap().push(request);
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        max_in_flight.fetch_max(now, Ordering::SeqCst);
                        match script(n) {
                            Reply::Close => drop(stream),
                            Reply::Respond {
                                status,
                                headers,
                                body,
                                delay,
                            } => {
                                tokio::time::sleep(delay).await;
                                let mut head = format!(
                                    "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                                    body.len()
                                );
                                for (name, value) in headers {
                                    head.push_str(&format!("{name}: {value}\r\n"));
                                }
                                head.push_str("\r\n");
                                let _ = stream.write_all(head.as_bytes()).await;
                                let _ = stream.write_all(body.as_bytes()).await;
                                let _ = stream.shutdown().await;
                            }
                        }
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            });
        }
        Server {
            base_url: format!("http://{addr}/v1"),
            seen,
            max_in_flight,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
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

fn config(server: &Server) -> ProviderConfig {
    ProviderConfig {
        kind: "openai".into(),
        model: Some("test-model".into()),
        base_url: Some(server.base_url.clone()),
        timeout: Some("5s".into()),
        max_retries: Some(3),
        ..ProviderConfig::default()
    }
}

/// Builds the provider with a fast backoff (10ms base) so retries cost little time.
fn provider(config: &ProviderConfig) -> OpenAiProvider {
    set_key();
    let provider = OpenAiProvider::new("test", config).unwrap();
    let max_retries = provider.retry_policy().max_retries;
    provider.with_retry_policy(RetryPolicy {
        max_retries,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
    })
}

fn text(prompt: &str) -> ProviderRequest {
    ProviderRequest {
        prompt: RenderedPrompt::Text(prompt.into()),
        params: Params::new(),
        vars: Default::default(),
        retries: None,
    }
}

/// A request whose retry notices are collected.
fn watched(
    prompt: &str,
) -> (
    ProviderRequest,
    tokio::sync::mpsc::UnboundedReceiver<RetryNotice>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut request = text(prompt);
    request.retries = Some(tx);
    (request, rx)
}

fn notices(mut rx: tokio::sync::mpsc::UnboundedReceiver<RetryNotice>) -> Vec<RetryNotice> {
    let mut all = Vec::new();
    while let Ok(n) = rx.try_recv() {
        all.push(n);
    }
    all
}

#[tokio::test]
async fn success_sends_model_messages_params_and_key() {
    let server = Server::start(|_| ok("Paris")).await;
    let mut c = config(&server);
    c.api_key_env = Some(KEY_VAR.into());
    c.params.insert("temperature".into(), json!(0.2));
    c.params.insert("max_tokens".into(), json!(100));
    c.price = Some(Price {
        input: 1.0,
        output: 2.0,
    });
    let provider = provider(&c);
    let mut params = Params::new();
    params.insert("max_tokens".into(), json!(7));
    params.insert("seed".into(), json!(42));
    params.insert("stop".into(), json!(["\n"]));
    let request = ProviderRequest {
        prompt: RenderedPrompt::Chat(vec![
            Message {
                role: Role::System,
                content: "Answer in one word.".into(),
            },
            Message {
                role: Role::User,
                content: "Capital of France?".into(),
            },
        ]),
        params,
        vars: Default::default(),
        retries: None,
    };
    let response = provider.complete(request).await.unwrap();
    assert_eq!(response.output, "Paris");
    assert_eq!(response.tokens_in, Some(12));
    assert_eq!(response.tokens_out, Some(3));
    assert_eq!(response.attempts, 1);
    assert!(response.latency_ms > 0.0);
    let cost = provider
        .cost(response.tokens_in, response.tokens_out)
        .unwrap();
    assert!((cost - 18e-6).abs() < 1e-12, "{cost}");

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(
        seen[0].body,
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "Answer in one word."},
                {"role": "user", "content": "Capital of France?"},
            ],
            "temperature": 0.2,
            "max_tokens": 7,
            "seed": 42,
            "stop": ["\n"],
        })
    );
}

#[tokio::test]
async fn custom_url_without_key_variable_sends_no_authorization() {
    let server = Server::start(|_| ok("hi")).await;
    let response = provider(&config(&server))
        .complete(text("Say hi"))
        .await
        .unwrap();
    assert_eq!(response.output, "hi");
    let seen = server.seen();
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(
        seen[0].body["messages"],
        json!([{"role": "user", "content": "Say hi"}])
    );
}

#[tokio::test]
async fn missing_usage_leaves_tokens_and_cost_unknown() {
    let server = Server::start(|_| {
        reply(
            200,
            json!({"choices": [{"message": {"content": "x"}}]}).to_string(),
        )
    })
    .await;
    let mut c = config(&server);
    c.price = Some(Price {
        input: 1.0,
        output: 1.0,
    });
    let provider = provider(&c);
    let response = provider.complete(text("p")).await.unwrap();
    assert_eq!((response.tokens_in, response.tokens_out), (None, None));
    assert_eq!(provider.cost(response.tokens_in, response.tokens_out), None);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let server = Server::start(|n| match n {
        0 => Reply::Respond {
            status: 429,
            headers: vec![("Retry-After", "1".into())],
            body: json!({"error": {"message": "Rate limit reached"}}).to_string(),
            delay: Duration::ZERO,
        },
        _ => ok("done"),
    })
    .await;
    let (request, rx) = watched("p");
    let response = provider(&config(&server)).complete(request).await.unwrap();
    assert_eq!(response.output, "done");
    assert_eq!(response.attempts, 2);
    assert!(response.latency_ms >= 1000.0, "{}", response.latency_ms);
    let notices = notices(rx);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].attempt, 1);
    assert_eq!(notices[0].wait, Duration::from_secs(1));
    assert_eq!(
        notices[0].reason,
        "HTTP 429 Too Many Requests: Rate limit reached"
    );
}

#[tokio::test]
async fn retry_after_beyond_the_limit_fails_instead_of_hanging() {
    let server = Server::start(|_| Reply::Respond {
        status: 429,
        headers: vec![("Retry-After", "600".into())],
        body: String::new(),
        delay: Duration::ZERO,
    })
    .await;
    let err = provider(&config(&server))
        .complete(text("p"))
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "HTTP 429 Too Many Requests: server asked to wait 10m before retrying, more than the 1m limit (after 1 attempt)"
    );
    assert_eq!(err.status, Some(429));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn server_error_then_success() {
    let server = Server::start(|n| match n {
        0 => reply(500, "oops"),
        _ => ok("fine"),
    })
    .await;
    let (request, rx) = watched("p");
    let response = provider(&config(&server)).complete(request).await.unwrap();
    assert_eq!(response.output, "fine");
    assert_eq!(response.attempts, 2);
    let notices = notices(rx);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].reason, "HTTP 500 Internal Server Error: oops");
    assert!(notices[0].wait <= Duration::from_millis(10));
}

#[tokio::test]
async fn overloaded_until_retries_run_out() {
    let server =
        Server::start(|_| reply(529, json!({"error": {"message": "Overloaded"}}).to_string()))
            .await;
    let mut c = config(&server);
    c.max_retries = Some(2);
    let (request, rx) = watched("p");
    let err = provider(&c).complete(request).await.unwrap_err();
    assert_eq!(err.message, "HTTP 529: Overloaded (after 3 attempts)");
    assert_eq!(err.status, Some(529));
    assert_eq!(err.attempts, 3);
    assert_eq!(server.seen().len(), 3);
    let attempts: Vec<u32> = notices(rx).iter().map(|n| n.attempt).collect();
    assert_eq!(attempts, [1, 2]);
}

#[tokio::test]
async fn bad_request_fails_at_once_with_the_servers_message() {
    let server = Server::start(|_| {
        reply(
            400,
            json!({"error": {"message": "Invalid value for 'temperature'", "type": "invalid_request_error"}})
                .to_string(),
        )
    })
    .await;
    let (request, rx) = watched("p");
    let err = provider(&config(&server))
        .complete(request)
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "HTTP 400 Bad Request: Invalid value for 'temperature' (after 1 attempt)"
    );
    assert_eq!(err.status, Some(400));
    assert_eq!(err.attempts, 1);
    assert_eq!(server.seen().len(), 1);
    assert!(notices(rx).is_empty());
}

#[tokio::test]
async fn timeout_is_retried_then_reported() {
    let server = Server::start(|_| delayed(ok("late"), Duration::from_secs(3))).await;
    let mut c = config(&server);
    c.timeout = Some("200ms".into());
    c.max_retries = Some(1);
    let err = provider(&c).complete(text("p")).await.unwrap_err();
    assert_eq!(
        err.message,
        "request timed out after 200ms (after 2 attempts)"
    );
    assert_eq!(err.status, None);
    assert_eq!(err.attempts, 2);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn malformed_json_is_not_retried() {
    let server = Server::start(|_| reply(200, "{\"choices\": [")).await;
    let err = provider(&config(&server))
        .complete(text("p"))
        .await
        .unwrap_err();
    assert!(
        err.message.starts_with("malformed response: "),
        "{}",
        err.message
    );
    assert!(
        err.message.ends_with("(after 1 attempt)"),
        "{}",
        err.message
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn null_content_is_an_error() {
    let server = Server::start(|_| {
        reply(
            200,
            json!({"choices": [{"message": {"role": "assistant", "content": null}}]}).to_string(),
        )
    })
    .await;
    let err = provider(&config(&server))
        .complete(text("p"))
        .await
        .unwrap_err();
    assert_eq!(err.message, "response had no content (after 1 attempt)");
}

#[tokio::test]
async fn closed_connection_is_retried() {
    let server = Server::start(|n| match n {
        0 => Reply::Close,
        _ => ok("second time lucky"),
    })
    .await;
    let (request, rx) = watched("p");
    let response = provider(&config(&server)).complete(request).await.unwrap();
    assert_eq!(response.output, "second time lucky");
    assert_eq!(response.attempts, 2);
    assert_eq!(notices(rx).len(), 1);
}

#[tokio::test]
async fn always_closed_connection_fails_after_retries() {
    let server = Server::start(|_| Reply::Close).await;
    let mut c = config(&server);
    c.max_retries = Some(2);
    let err = provider(&c).complete(text("p")).await.unwrap_err();
    assert_eq!(err.attempts, 3);
    assert_eq!(err.status, None);
    assert!(
        err.message.starts_with("request failed: ") && err.message.contains("closed"),
        "{}",
        err.message
    );
    assert!(
        err.message.ends_with("(after 3 attempts)"),
        "{}",
        err.message
    );
    assert!(!err.message.contains('\n'));
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn refused_connection_fails_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut c = ProviderConfig {
        kind: "openai".into(),
        model: Some("m".into()),
        base_url: Some(format!("http://{addr}/v1")),
        ..ProviderConfig::default()
    };
    c.max_retries = Some(1);
    let err = provider(&c).complete(text("p")).await.unwrap_err();
    assert!(
        err.message.starts_with("connection failed: "),
        "{}",
        err.message
    );
    assert_eq!(err.attempts, 2);
}

#[tokio::test]
async fn api_key_never_appears_in_errors_or_debug() {
    // A hostile server that echoes the Authorization header back in its error message.
    let server = Server::start(|_| {
        reply(
            401,
            json!({"error": {"message": format!("Incorrect API key provided: Bearer {KEY}")}})
                .to_string(),
        )
    })
    .await;
    let mut c = config(&server);
    c.api_key_env = Some(KEY_VAR.into());
    let provider = provider(&c);
    let debug = format!("{provider:?}");
    assert!(!debug.contains(KEY), "{debug}");
    let err = provider.complete(text("p")).await.unwrap_err();
    assert_eq!(
        err.message,
        "HTTP 401 Unauthorized: Incorrect API key provided: Bearer *** (after 1 attempt)"
    );
    assert!(!format!("{err:?}").contains(KEY));
    assert!(err.hint().unwrap().contains("API key"));
    // The server did get the key.
    assert_eq!(
        server.seen()[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[tokio::test]
async fn concurrency_limit_is_held_by_the_provider() {
    let server = Server::start(|_| delayed(ok("x"), Duration::from_millis(100))).await;
    let mut c = config(&server);
    c.concurrency = Some(2);
    let provider = Arc::new(provider(&c));
    assert_eq!(provider.concurrency(), 2);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let provider = provider.clone();
            tokio::spawn(async move { provider.complete(text(&format!("p{i}"))).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().output, "x");
    }
    assert_eq!(server.seen().len(), 8);
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 2);
}
