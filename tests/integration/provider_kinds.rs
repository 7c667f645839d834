//! The `anthropic`, `ollama` and `http` providers against a scripted HTTP server on
//! 127.0.0.1: success paths, each API's error shapes, retries and the adaptive window, and
//! secrets that never appear in errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Once};

use prompteval::provider::{
    build, AnthropicProvider, AnthropicSettings, CommonSettings, HttpProvider, HttpSettings,
    OllamaProvider, OllamaSettings, Provider, ProviderConfig, ProviderRequest, RetryNotice,
};
use prompteval::template::message::{Message, RenderedPrompt, Role};
use serde_json::json;

use crate::support::retries::{notices, watch};
use crate::support::scripted::{reply, with_header, Reply, ScriptedServer};

const KEY_VAR: &str = "PROMPTEVAL_IT_KINDS_KEY";
const KEY: &str = "sk-ant-it-0123456789-very-secret";

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var(KEY_VAR, KEY);
        std::env::set_var("PROMPTEVAL_RETRY_BASE_MS", "5");
    });
}

fn chat() -> RenderedPrompt {
    RenderedPrompt::Chat(vec![
        Message::new(Role::System, "Answer in one word."),
        Message::new(Role::User, "Capital of France?"),
        Message::new(Role::User, "Be sure."),
    ])
}

fn request(prompt: RenderedPrompt) -> ProviderRequest {
    let mut vars = serde_json::Map::new();
    vars.insert("city".into(), json!("Paris"));
    ProviderRequest {
        prompt,
        params: Default::default(),
        vars: Arc::new(vars),
        retries: None,
        tools: None,
    }
}

fn watched(
    prompt: RenderedPrompt,
) -> (
    ProviderRequest,
    tokio::sync::mpsc::UnboundedReceiver<RetryNotice>,
) {
    watch(request(prompt))
}

// ---------------------------------------------------------------- anthropic

fn anthropic_ok(text: &[&str]) -> Reply {
    let content: Vec<_> = text
        .iter()
        .map(|t| json!({"type": "text", "text": t}))
        .collect();
    reply(
        200,
        json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
            "content": content, "stop_reason": "end_turn",
            "usage": {"input_tokens": 21, "output_tokens": 2},
        })
        .to_string(),
    )
}

fn anthropic_error(status: u16, kind: &str, message: &str) -> Reply {
    reply(
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
    )
}

fn anthropic(server: &ScriptedServer, max_retries: u32) -> AnthropicProvider {
    setup();
    AnthropicProvider::new(
        "claude",
        &AnthropicSettings {
            model: Some("claude-3-5-haiku-20241022".into()),
            base_url: Some(server.url()),
            api_key_env: Some(KEY_VAR.into()),
        },
        &CommonSettings {
            max_retries: Some(max_retries),
            concurrency: Some(8),
            timeout: Some("5s".into()),
            ..Default::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn anthropic_success_sends_headers_system_and_merged_turns() {
    let server = ScriptedServer::start(|_, _| anthropic_ok(&["Par", "is"]));
    let p = anthropic(&server, 0);
    let r = p.complete(request(chat())).await.unwrap();
    assert_eq!(r.output, "Paris");
    assert_eq!((r.tokens_in, r.tokens_out), (Some(21), Some(2)));
    // Catalog price for claude-3-5-haiku: $0.80 / $4 per million.
    let cost = p.cost(r.tokens_in, r.tokens_out).unwrap();
    assert!((cost - (21.0 * 0.8 + 2.0 * 4.0) / 1e6).abs() < 1e-12);
    let seen = &server.seen()[0];
    assert_eq!(seen.request_line, "POST /v1/messages HTTP/1.1");
    assert_eq!(seen.header("x-api-key"), Some(KEY));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(
        seen.body,
        json!({
            "model": "claude-3-5-haiku-20241022",
            "max_tokens": 1024,
            "system": "Answer in one word.",
            "messages": [{"role": "user", "content": "Capital of France?\n\nBe sure."}],
        })
    );
}

#[tokio::test]
async fn anthropic_prompt_cache_tokens_were_left_out_of_tokens_and_cost() {
    // Issue 13.6: cache_read_input_tokens and cache_creation_input_tokens were ignored.
    let server = ScriptedServer::start(|_, _| {
        reply(
            200,
            json!({
                "type": "message", "role": "assistant",
                "content": [{"type": "text", "text": "Paris"}],
                "usage": {"input_tokens": 21, "output_tokens": 2,
                          "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 400},
            })
            .to_string(),
        )
    });
    let p = anthropic(&server, 0);
    let r = p.complete(request(chat())).await.unwrap();
    assert_eq!((r.tokens_in, r.tokens_out), (Some(1421), Some(2)));
    assert_eq!((r.cache.read, r.cache.write), (1000, 400));
    // claude-3-5-haiku: $0.80 in, $4 out, $0.08 cache read, $1.00 cache write per million.
    let cost = p.cost_cached(r.tokens_in, r.tokens_out, r.cache).unwrap();
    let want = (21.0 * 0.8 + 2.0 * 4.0 + 1000.0 * 0.08 + 400.0 * 1.0) / 1e6;
    assert!((cost - want).abs() < 1e-12, "{cost} vs {want}");
    // A price without cache rates leaves such a response's cost unknown.
    let mut config: ProviderConfig = serde_yaml::from_str(&format!(
        "{{kind: anthropic, model: claude-3-5-haiku, base_url: '{}', api_key_env: {KEY_VAR}, price: {{input: 1, output: 1}}}}",
        server.url()
    ))
    .unwrap();
    config.common.max_retries = Some(0);
    let priced = build("c", &config).unwrap();
    assert_eq!(priced.cost_cached(r.tokens_in, r.tokens_out, r.cache), None);
    assert!(priced
        .cost_cached(Some(10), Some(1), Default::default())
        .is_some());
}

#[tokio::test]
async fn anthropic_overload_is_retried_and_cuts_the_window() {
    let server = ScriptedServer::start(|n, _| match n {
        0 => anthropic_error(529, "overloaded_error", "Overloaded"),
        1 => with_header(
            anthropic_error(429, "rate_limit_error", "slow down"),
            "retry-after",
            "0",
        ),
        _ => anthropic_ok(&["ok"]),
    });
    let p = anthropic(&server, 3);
    let (req, rx) = watched(chat());
    let r = p.complete(req).await.unwrap();
    assert_eq!(r.attempts, 3);
    let notices = notices(rx);
    assert_eq!(notices.len(), 2);
    assert!(
        notices[0].reason.starts_with("HTTP 529: Overloaded"),
        "{:?}",
        notices[0]
    );
    let w0 = notices[0].window.unwrap();
    let w1 = notices[1].window.unwrap();
    assert_eq!((w0.window, w0.limit), (4, 8));
    assert_eq!((w1.window, w1.limit), (2, 8));
}

#[tokio::test]
async fn anthropic_api_error_is_transient_even_on_an_unusual_status() {
    // An `api_error` body says "try again" whatever the status.
    let server = ScriptedServer::start(|n, _| match n {
        0 => anthropic_error(520, "api_error", "internal"),
        _ => anthropic_ok(&["ok"]),
    });
    let p = anthropic(&server, 2);
    let (req, rx) = watched(chat());
    let r = p.complete(req).await.unwrap();
    assert_eq!(r.attempts, 2);
    assert_eq!(
        notices(rx)[0].window,
        None,
        "transient failures keep the window"
    );
}

#[tokio::test]
async fn anthropic_invalid_request_fails_at_once_with_its_message() {
    let server = ScriptedServer::start(|_, _| {
        anthropic_error(400, "invalid_request_error", "max_tokens: field required")
    });
    let p = anthropic(&server, 5);
    let e = p.complete(request(chat())).await.unwrap_err();
    assert_eq!(
        e.message,
        "HTTP 400 Bad Request: max_tokens: field required (after 1 attempt)"
    );
    assert_eq!(e.status, Some(400));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn anthropic_key_echoed_by_the_server_is_scrubbed() {
    let server = ScriptedServer::start(|_, seen| {
        let key = seen.header("x-api-key").unwrap_or_default().to_string();
        anthropic_error(
            401,
            "authentication_error",
            &format!("invalid x-api-key {key}"),
        )
    });
    let p = anthropic(&server, 0);
    let e = p.complete(request(chat())).await.unwrap_err();
    assert!(!e.message.contains(KEY), "{}", e.message);
    assert!(e.message.contains("invalid x-api-key ***"), "{}", e.message);
    assert!(!format!("{p:?}").contains(KEY));
}

#[tokio::test]
async fn anthropic_response_without_text_is_an_error() {
    let server = ScriptedServer::start(|_, _| {
        reply(
            200,
            // A tool_use block is an answer now (issue 15); a thinking block alone is not.
            json!({"type": "message", "content": [{"type": "thinking", "thinking": "hm"}]})
                .to_string(),
        )
    });
    let e = anthropic(&server, 2)
        .complete(request(chat()))
        .await
        .unwrap_err();
    assert_eq!(e.message, "response had no text content (after 1 attempt)");
}

// ---------------------------------------------------------------- ollama

fn ollama(server: &ScriptedServer) -> OllamaProvider {
    setup();
    OllamaProvider::new(
        "llama",
        &OllamaSettings {
            model: Some("llama3.2".into()),
            base_url: Some(server.url()),
            ..Default::default()
        },
        &CommonSettings {
            max_retries: Some(1),
            ..Default::default()
        },
    )
    .unwrap()
}

fn ollama_timings() -> serde_json::Value {
    json!({"done": true, "total_duration": 5_000_000u64, "load_duration": 1_000_000u64,
           "prompt_eval_count": 26, "prompt_eval_duration": 1_000_000u64,
           "eval_count": 4, "eval_duration": 2_000_000u64})
}

#[tokio::test]
async fn ollama_chat_and_generate() {
    let server = ScriptedServer::start(|_, seen| {
        let mut body = ollama_timings();
        if seen.request_line.starts_with("POST /api/chat ") {
            body["message"] = json!({"role": "assistant", "content": "Paris"});
        } else {
            body["response"] = json!(" Paris");
        }
        reply(200, body.to_string())
    });
    let p = ollama(&server);
    let r = p.complete(request(chat())).await.unwrap();
    assert_eq!(r.output, "Paris");
    assert_eq!((r.tokens_in, r.tokens_out), (Some(26), Some(4)));
    let mut req = request(RenderedPrompt::Text("Q: capital of France?\nA:".into()));
    req.params.insert("max_tokens".into(), json!(3));
    let r = p.complete(req).await.unwrap();
    assert_eq!(r.output, " Paris");
    assert_eq!(
        p.cost(r.tokens_in, r.tokens_out),
        None,
        "local models have no price"
    );
    let seen = server.seen();
    assert_eq!(seen[0].request_line, "POST /api/chat HTTP/1.1");
    assert_eq!(seen[0].body["stream"], json!(false));
    assert_eq!(seen[0].body["messages"][0]["role"], json!("system"));
    assert_eq!(seen[1].request_line, "POST /api/generate HTTP/1.1");
    assert_eq!(seen[1].body["options"], json!({"num_predict": 3}));
}

#[tokio::test]
async fn ollama_errors_carry_the_servers_message() {
    let server = ScriptedServer::start(|_, _| {
        reply(
            404,
            json!({"error": "model 'llama3.2' not found, try pulling it first"}).to_string(),
        )
    });
    let e = ollama(&server).complete(request(chat())).await.unwrap_err();
    assert_eq!(
        e.message,
        "HTTP 404 Not Found: model 'llama3.2' not found, try pulling it first (after 1 attempt)"
    );
    let server =
        ScriptedServer::start(|_, _| reply(200, json!({"error": "out of memory"}).to_string()));
    let e = ollama(&server).complete(request(chat())).await.unwrap_err();
    assert_eq!(e.message, "server error: out of memory (after 1 attempt)");
}

// ---------------------------------------------------------------- http

fn http(server: &ScriptedServer) -> HttpProvider {
    setup();
    let settings = HttpSettings {
        url: Some(format!("{}/generate", server.url())),
        headers: Some(BTreeMap::from([
            ("Authorization".into(), format!("Bearer ${{{KEY_VAR}}}")),
            ("X-Team".into(), "evals".into()),
        ])),
        body: Some(json!({
            "input": "{{ prompt }}",
            "history": "{{ messages | tojson }}",
            "city": "{{ city }}",
            "max_new_tokens": 16,
        })),
        output: Some("result.choices[0].text".into()),
        tokens_in: Some("/usage/in".into()),
        tokens_out: Some("usage.out".into()),
        ..Default::default()
    };
    let common = CommonSettings {
        max_retries: Some(2),
        ..Default::default()
    };
    HttpProvider::new("custom", &settings, &common).unwrap()
}

#[tokio::test]
async fn http_renders_the_body_and_reads_paths() {
    let server = ScriptedServer::start(|_, _| {
        reply(
            200,
            json!({"result": {"choices": [{"text": "Paris"}]}, "usage": {"in": 9, "out": 1}})
                .to_string(),
        )
    });
    let p = http(&server);
    let r = p.complete(request(chat())).await.unwrap();
    assert_eq!(r.output, "Paris");
    assert_eq!((r.tokens_in, r.tokens_out), (Some(9), Some(1)));
    let seen = &server.seen()[0];
    assert_eq!(seen.request_line, "POST /generate HTTP/1.1");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(seen.header("x-team"), Some("evals"));
    assert_eq!(seen.body["city"], json!("Paris"));
    assert_eq!(seen.body["max_new_tokens"], json!(16));
    assert_eq!(
        seen.body["history"][2],
        json!({"role": "user", "content": "Be sure."})
    );
    assert!(seen.body["input"]
        .as_str()
        .unwrap()
        .starts_with("system: Answer"));
}

#[tokio::test]
async fn http_missing_output_path_quotes_the_response() {
    let server =
        ScriptedServer::start(|_, _| reply(200, json!({"result": {"text": "x"}}).to_string()));
    let p = http(&server);
    let e = p.complete(request(chat())).await.unwrap_err();
    assert_eq!(
        e.message,
        r#"output path `result.choices[0].text` not found in the response: {"result":{"text":"x"}} (after 1 attempt)"#
    );
}

#[tokio::test]
async fn http_secret_header_echoed_back_is_scrubbed() {
    let server = ScriptedServer::start(|_, seen| {
        let auth = seen.header("authorization").unwrap_or_default().to_string();
        reply(
            403,
            json!({"detail": format!("token {auth} is not allowed")}).to_string(),
        )
    });
    let p = http(&server);
    let e = p.complete(request(chat())).await.unwrap_err();
    assert!(!e.message.contains(KEY), "{}", e.message);
    assert_eq!(
        e.message,
        "HTTP 403 Forbidden: token Bearer *** is not allowed (after 1 attempt)"
    );
}

#[tokio::test]
async fn http_retries_5xx_and_resets() {
    let server = ScriptedServer::start(|n, _| match n {
        0 => reply(503, "busy"),
        1 => Reply::Close,
        _ => reply(
            200,
            json!({"result": {"choices": [{"text": "ok"}]}}).to_string(),
        ),
    });
    let p = http(&server);
    let r = p.complete(request(chat())).await.unwrap();
    assert_eq!((r.output.as_str(), r.attempts), ("ok", 3));
    assert_eq!(r.tokens_in, None);
}

#[test]
fn every_kind_builds_through_the_registry() {
    setup();
    let server = ScriptedServer::start(|_, _| reply(200, "{}"));
    for (kind, extra) in [
        (
            "anthropic",
            json!({"model": "claude-3-5-haiku-latest", "base_url": server.url()}),
        ),
        (
            "ollama",
            json!({"model": "llama3.2", "base_url": server.url()}),
        ),
        ("http", json!({"url": server.url(), "output": "/text"})),
        ("exec", json!({"command": ["sh", "-c", "cat"]})),
    ] {
        let mut config = extra;
        config["kind"] = json!(kind);
        let config: ProviderConfig = serde_json::from_value(config).unwrap();
        assert!(build("p", &config).is_ok(), "{kind}");
    }
}
