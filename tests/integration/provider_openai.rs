//! The `openai` provider against a real HTTP/1.1 server on 127.0.0.1, scripted per request:
//! success, retries (429 with Retry-After, 5xx, closed connections, timeouts), fatal
//! errors, key hygiene and the concurrency limit.

use std::sync::{Arc, Once};
use std::time::Duration;

use prompteval::diagnostic::Diagnostic;
use prompteval::provider::{
    CommonSettings, KindSettings, OpenAiProvider, OpenAiSettings, Price, Provider, ProviderConfig,
    ProviderRequest, RetryNotice, RetryPolicy,
};
use prompteval::registry::Params;
use prompteval::template::message::{Message, RenderedPrompt, Role};
use serde_json::json;

use crate::support::retries::{notices, watch};
use crate::support::scripted::{delayed, reply, with_header, Reply, ScriptedServer};

const KEY_VAR: &str = "PROMPTEVAL_IT_OPENAI_KEY";
const KEY: &str = "sk-it-0123456789-very-secret";

/// Sets the key variable once, before any test reads the environment.
fn set_key() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var(KEY_VAR, KEY));
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

/// The scripted server, answering request `n` (from 0) with `script(n)`.
fn serve(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> ScriptedServer {
    ScriptedServer::start(move |n, _| script(n))
}

fn config(server: &ScriptedServer) -> ProviderConfig {
    ProviderConfig {
        kind: OpenAiSettings {
            model: Some("test-model".into()),
            base_url: Some(format!("{}/v1", server.url())),
            ..OpenAiSettings::default()
        }
        .into(),
        common: CommonSettings {
            timeout: Some("5s".into()),
            max_retries: Some(3),
            ..CommonSettings::default()
        },
    }
}

/// The `openai` settings of `config`.
fn openai(config: &mut ProviderConfig) -> &mut OpenAiSettings {
    match &mut config.kind {
        KindSettings::OpenAi(settings) => settings,
        other => panic!("not openai: {other:?}"),
    }
}

/// Builds the provider with a fast backoff (10ms base) so retries cost little time.
fn provider(config: &ProviderConfig) -> OpenAiProvider {
    set_key();
    let KindSettings::OpenAi(settings) = &config.kind else {
        panic!("not openai: {config:?}");
    };
    let provider = OpenAiProvider::new("test", settings, &config.common).unwrap();
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
        tools: None,
    }
}

/// A request whose retry notices are collected.
fn watched(
    prompt: &str,
) -> (
    ProviderRequest,
    tokio::sync::mpsc::UnboundedReceiver<RetryNotice>,
) {
    watch(text(prompt))
}

#[tokio::test]
async fn success_sends_model_messages_params_and_key() {
    let server = serve(|_| ok("Paris"));
    let mut c = config(&server);
    openai(&mut c).api_key_env = Some(KEY_VAR.into());
    c.common.params.insert("temperature".into(), json!(0.2));
    c.common.params.insert("max_tokens".into(), json!(100));
    c.common.price = Some(Price {
        input: 1.0,
        output: 2.0,
        ..Default::default()
    });
    let provider = provider(&c);
    let mut params = Params::new();
    params.insert("max_tokens".into(), json!(7));
    params.insert("seed".into(), json!(42));
    params.insert("stop".into(), json!(["\n"]));
    let request = ProviderRequest {
        prompt: RenderedPrompt::Chat(vec![
            Message::new(Role::System, "Answer in one word."),
            Message::new(Role::User, "Capital of France?"),
        ]),
        params,
        vars: Default::default(),
        retries: None,
        tools: None,
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
    let server = serve(|_| ok("hi"));
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
    let server = serve(|_| {
        reply(
            200,
            json!({"choices": [{"message": {"content": "x"}}]}).to_string(),
        )
    });
    let mut c = config(&server);
    c.common.price = Some(Price {
        input: 1.0,
        output: 1.0,
        ..Default::default()
    });
    let provider = provider(&c);
    let response = provider.complete(text("p")).await.unwrap();
    assert_eq!((response.tokens_in, response.tokens_out), (None, None));
    assert_eq!(provider.cost(response.tokens_in, response.tokens_out), None);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let server = serve(|n| match n {
        0 => with_header(
            reply(
                429,
                json!({"error": {"message": "Rate limit reached"}}).to_string(),
            ),
            "Retry-After",
            "1",
        ),
        _ => ok("done"),
    });
    let (request, rx) = watched("p");
    let started = std::time::Instant::now();
    let response = provider(&config(&server)).complete(request).await.unwrap();
    assert_eq!(response.output, "done");
    assert_eq!(response.attempts, 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
    // Latency is the successful attempt's alone, without the wait before it (issue 13.2).
    assert!(response.latency_ms < 1000.0, "{}", response.latency_ms);
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
    let server = serve(|_| with_header(reply(429, ""), "Retry-After", "600"));
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
    let server = serve(|n| match n {
        0 => reply(500, "oops"),
        _ => ok("fine"),
    });
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
    let server = serve(|_| reply(529, json!({"error": {"message": "Overloaded"}}).to_string()));
    let mut c = config(&server);
    c.common.max_retries = Some(2);
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
    let server = serve(|_| {
        reply(
            400,
            json!({"error": {"message": "Invalid value for 'temperature'", "type": "invalid_request_error"}})
                .to_string(),
        )
    });
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
    let server = serve(|_| delayed(ok("late"), Duration::from_secs(3)));
    let mut c = config(&server);
    c.common.timeout = Some("200ms".into());
    c.common.max_retries = Some(1);
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
async fn malformed_json_was_not_retried_like_a_truncated_body() {
    // Issue 13.18: a 200 whose body is not JSON is retried, counted in attempts.
    let server = serve(|n| {
        if n == 0 {
            reply(200, "<html>bad gateway</html>")
        } else {
            ok("fine")
        }
    });
    let response = provider(&config(&server))
        .complete(text("p"))
        .await
        .unwrap();
    assert_eq!(response.output, "fine");
    assert_eq!(response.attempts, 2);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn always_malformed_json_fails_after_every_retry() {
    let server = serve(|_| reply(200, "{\"choices\": ["));
    let err = provider(&config(&server))
        .complete(text("p"))
        .await
        .unwrap_err();
    assert!(
        err.message.starts_with("malformed response: "),
        "{}",
        err.message
    );
    // max_retries 3: four attempts.
    assert!(
        err.message.ends_with("(after 4 attempts)"),
        "{}",
        err.message
    );
    assert_eq!(err.attempts, 4);
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_not_retried() {
    let server = serve(|_| reply(200, "{\"choices\": 7}"));
    let err = provider(&config(&server))
        .complete(text("p"))
        .await
        .unwrap_err();
    assert!(
        err.message.ends_with("(after 1 attempt)"),
        "{}",
        err.message
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn null_content_is_an_error() {
    let server = serve(|_| {
        reply(
            200,
            json!({"choices": [{"message": {"role": "assistant", "content": null}}]}).to_string(),
        )
    });
    let err = provider(&config(&server))
        .complete(text("p"))
        .await
        .unwrap_err();
    assert_eq!(err.message, "response had no content (after 1 attempt)");
}

#[tokio::test]
async fn closed_connection_is_retried() {
    let server = serve(|n| match n {
        0 => Reply::Close,
        _ => ok("second time lucky"),
    });
    let (request, rx) = watched("p");
    let response = provider(&config(&server)).complete(request).await.unwrap();
    assert_eq!(response.output, "second time lucky");
    assert_eq!(response.attempts, 2);
    assert_eq!(notices(rx).len(), 1);
}

#[tokio::test]
async fn always_closed_connection_fails_after_retries() {
    let server = serve(|_| Reply::Close);
    let mut c = config(&server);
    c.common.max_retries = Some(2);
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
    let mut c = ProviderConfig::new(OpenAiSettings {
        model: Some("m".into()),
        base_url: Some(format!("http://{addr}/v1")),
        ..OpenAiSettings::default()
    });
    c.common.max_retries = Some(1);
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
    let server = serve(|_| {
        reply(
            401,
            json!({"error": {"message": format!("Incorrect API key provided: Bearer {KEY}")}})
                .to_string(),
        )
    });
    let mut c = config(&server);
    openai(&mut c).api_key_env = Some(KEY_VAR.into());
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
    let server = serve(|_| delayed(ok("x"), Duration::from_millis(100)));
    let mut c = config(&server);
    c.common.concurrency = Some(2);
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
    assert_eq!(server.max_in_flight(), 2);
}
