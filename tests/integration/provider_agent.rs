//! An agent's history sent by every provider kind in its API's own shape (issue 16), against
//! scripted servers on 127.0.0.1 (`exec` runs a script): a two-step loop where the model
//! first calls tools, is given their results, and then answers in text. The second
//! request's body — the whole history as the API takes it — is snapshotted.

use std::sync::Arc;

use prompteval::provider::{
    AnthropicProvider, AnthropicSettings, CommonSettings, ExecProvider, ExecSettings, HttpProvider,
    HttpSettings, OllamaProvider, OllamaSettings, OpenAiProvider, OpenAiSettings, Provider,
    ProviderRequest, ProviderResponse,
};
use prompteval::template::message::{Message, RenderedPrompt, Role};
use prompteval::tools::{ToolDef, ToolSet};
use serde_json::{json, Value};

use crate::support::scripted::{reply, Reply, ScriptedServer};

fn tools() -> ToolSet {
    ToolSet {
        tools: vec![
            ToolDef {
                name: "get_weather".into(),
                description: Some("Current weather in a city".into()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            },
            ToolDef {
                name: "get_time".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"tz": {"type": "string"}}}),
            },
        ],
        choice: None,
        parallel: None,
        servers: Vec::new(),
    }
}

fn request(history: &[Message]) -> ProviderRequest {
    let mut vars = serde_json::Map::new();
    vars.insert("city".into(), json!("Rome"));
    ProviderRequest {
        prompt: RenderedPrompt::Chat(history.to_vec()),
        params: Default::default(),
        vars: Arc::new(vars),
        retries: None,
        tools: Some(Arc::new(tools())),
    }
}

/// The loop of `run/agent.rs` for two steps: asks, appends the answer and a result for
/// each call (the second call's is an error), asks again, and returns the second answer.
async fn two_steps(provider: &dyn Provider) -> ProviderResponse {
    let mut history = vec![
        Message::new(Role::System, "Use the tools."),
        Message::new(Role::User, "Weather and time in Rome?"),
    ];
    let first = provider.complete(request(&history)).await.unwrap();
    assert_eq!(first.tool_calls.len(), 2, "{first:?}");
    history.push(Message::assistant(
        first.output.clone(),
        first.tool_calls.clone(),
    ));
    history.push(Message::tool_result(
        &first.tool_calls[0],
        "Rome: 18°C, sunny",
        false,
    ));
    history.push(Message::tool_result(
        &first.tool_calls[1],
        "error: unknown time zone",
        true,
    ));
    let second = provider.complete(request(&history)).await.unwrap();
    assert!(second.tool_calls.is_empty(), "{second:?}");
    second
}

/// A server answering the first request with `calls` and every later one with `text`.
fn server(calls: Value, text: Value) -> ScriptedServer {
    ScriptedServer::start(move |n, _| -> Reply {
        let body = if n == 0 { &calls } else { &text };
        reply(200, body.to_string())
    })
}

#[tokio::test]
async fn openai_sends_the_calls_and_tool_messages_with_their_ids() {
    let server = server(
        json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": null, "tool_calls": [
            {"id": "call_W1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}},
            {"id": "call_T2", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"Rome\"}"}},
        ]}}]}),
        json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "It is 18°C and sunny in Rome."}}]}),
    );
    let p = OpenAiProvider::new(
        "gpt",
        &OpenAiSettings {
            model: Some("gpt-4o-mini".into()),
            base_url: Some(format!("{}/v1", server.url())),
            api_key_env: None,
        },
        &CommonSettings::default(),
    )
    .unwrap();
    let last = two_steps(&p).await;
    assert_eq!(last.output, "It is 18°C and sunny in Rome.");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].path(), "/v1/chat/completions");
    insta::assert_json_snapshot!(seen[1].body);
    // The tools go with every step.
    assert_eq!(seen[1].body["tools"], seen[0].body["tools"]);
}

#[tokio::test]
async fn anthropic_sends_tool_use_blocks_and_one_user_turn_of_results() {
    let server = server(
        json!({"id": "msg_1", "type": "message", "role": "assistant", "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_W1", "name": "get_weather", "input": {"city": "Rome"}},
                {"type": "tool_use", "id": "toolu_T2", "name": "get_time", "input": {"tz": "Rome"}},
            ], "stop_reason": "tool_use", "usage": {"input_tokens": 50, "output_tokens": 20}}),
        json!({"id": "msg_2", "type": "message", "role": "assistant", "content": [
                {"type": "text", "text": "It is 18°C and sunny in Rome."},
            ], "stop_reason": "end_turn", "usage": {"input_tokens": 90, "output_tokens": 12}}),
    );
    let p = AnthropicProvider::new(
        "claude",
        &AnthropicSettings {
            model: Some("claude-3-5-haiku-20241022".into()),
            base_url: Some(server.url()),
            api_key_env: None,
        },
        &CommonSettings::default(),
    )
    .unwrap();
    let last = two_steps(&p).await;
    assert_eq!(last.output, "It is 18°C and sunny in Rome.");
    let body = &server.seen()[1].body;
    assert_eq!(body["system"], "Use the tools.");
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn ollama_sends_object_arguments_and_tool_names() {
    let server = server(
        json!({"model": "llama3.2", "done": true, "done_reason": "stop", "message": {
        "role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
            {"function": {"name": "get_time", "arguments": {"tz": "Rome"}}},
        ]}}),
        json!({"model": "llama3.2", "done": true, "done_reason": "stop", "message": {
            "role": "assistant", "content": "It is 18°C and sunny in Rome."}}),
    );
    let p = OllamaProvider::new(
        "llama",
        &OllamaSettings {
            model: Some("llama3.2".into()),
            base_url: Some(server.url()),
            ..Default::default()
        },
        &CommonSettings::default(),
    )
    .unwrap();
    let last = two_steps(&p).await;
    assert_eq!(last.output, "It is 18°C and sunny in Rome.");
    let seen = server.seen();
    assert_eq!(seen[1].path(), "/api/chat");
    insta::assert_json_snapshot!(seen[1].body);
}

#[tokio::test]
async fn http_default_body_holds_the_messages_as_the_record_has_them() {
    let server = ScriptedServer::start(|_, seen| {
        // Calls until the history holds a tool's result, then answers in text.
        let answered = seen.body["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
        let body = if answered {
            json!({"text": "It is 18°C and sunny in Rome."})
        } else {
            json!({"text": "", "calls": [
                {"id": "c1", "name": "get_weather", "arguments": {"city": "Rome"}},
                {"id": "c2", "name": "get_time", "arguments": "{\"tz\": \"Rome\"}"},
            ]})
        };
        reply(200, body.to_string())
    });
    let settings = HttpSettings {
        url: Some(format!("{}/agent", server.url())),
        output: Some("text".into()),
        tool_calls: Some("calls".into()),
        ..Default::default()
    };
    let p = HttpProvider::new("bot", &settings, &CommonSettings::default()).unwrap();
    let last = two_steps(&p).await;
    assert_eq!(last.output, "It is 18°C and sunny in Rome.");
    insta::assert_json_snapshot!(server.seen()[1].body);
}

#[tokio::test]
async fn exec_gets_the_messages_as_the_record_has_them_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("agent.py");
    let log = dir.path().join("stdin.jsonl");
    // Logs its input; calls two tools until the history holds their results.
    std::fs::write(
        &script,
        format!(
            "import json, sys\nreq = json.load(sys.stdin)\nopen({log:?}, 'a').write(json.dumps(req) + '\\n')\n\
             if any(m['role'] == 'tool' for m in req['messages']):\n    print(json.dumps({{'text': 'It is 18°C and sunny in Rome.'}}))\n\
             else:\n    print(json.dumps({{'text': '', 'calls': [{{'id': 'c1', 'name': 'get_weather', 'arguments': {{'city': 'Rome'}}}}, \
             {{'id': 'c2', 'name': 'get_time', 'arguments': {{'tz': 'Rome'}}}}]}}))\n",
            log = log.display().to_string()
        ),
    )
    .unwrap();
    let settings = ExecSettings {
        command: Some(vec!["python3".into(), script.display().to_string()]),
        output: Some("text".into()),
        tool_calls: Some("calls".into()),
        ..Default::default()
    };
    let p = ExecProvider::new("agent", &settings, &CommonSettings::default()).unwrap();
    let last = two_steps(&p).await;
    assert_eq!(last.output, "It is 18°C and sunny in Rome.");
    let inputs: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(inputs.len(), 2);
    insta::assert_json_snapshot!(inputs[1]);
}
