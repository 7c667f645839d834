//! Tools sent and tool calls read by every provider kind (issue 15), against scripted
//! servers on 127.0.0.1 that answer in each API's documented shapes (`exec` runs a
//! script): what each request carries, and what is read from the answer; and a response
//! with tool calls through the response cache.

use std::sync::Arc;

use prompteval::provider::cache::{CacheMode, CacheSettings, ResponseCache};
use prompteval::provider::{
    AnthropicProvider, AnthropicSettings, CacheCounters, CachedProvider, CommonSettings,
    ExecProvider, ExecSettings, HttpProvider, HttpSettings, OllamaProvider, OllamaSettings,
    OpenAiProvider, OpenAiSettings, Provider, ProviderConfig, ProviderRequest,
};
use prompteval::template::message::{Message, RenderedPrompt, Role};
use prompteval::tools::{ToolChoice, ToolDef, ToolSet};
use serde_json::{json, Value};

use crate::support::scripted::{reply, ScriptedServer};

fn weather_tools(choice: Option<ToolChoice>, parallel: Option<bool>) -> ToolSet {
    ToolSet {
        tools: vec![
            ToolDef {
                name: "get_weather".into(),
                description: Some("Current weather in a city".into()),
                parameters: json!({
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                }),
            },
            ToolDef {
                name: "get_time".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {"tz": {"type": "string"}}}),
            },
        ],
        choice,
        parallel,
        servers: Vec::new(),
    }
}

fn ask(tools: Option<ToolSet>) -> ProviderRequest {
    let mut vars = serde_json::Map::new();
    vars.insert("city".into(), json!("Rome"));
    ProviderRequest {
        prompt: RenderedPrompt::Chat(vec![
            Message::new(Role::System, "Use the tools."),
            Message::new(Role::User, "What is the weather in Rome?"),
        ]),
        params: Default::default(),
        vars: Arc::new(vars),
        retries: None,
        tools: tools.map(Arc::new),
    }
}

/// OpenAI's function tools for [`weather_tools`], as every OpenAI-shaped request sends them.
fn openai_shaped_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}},
    ])
}

// ---------------------------------------------------------------- openai

fn openai_tool_answer() -> String {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null, "tool_calls": [
                {"id": "call_Rm1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}},
                {"id": "call_Tm2", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\": CET}"}},
            ]}}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 30},
    })
    .to_string()
}

fn openai_settings(server: &ScriptedServer) -> OpenAiSettings {
    OpenAiSettings {
        model: Some("gpt-4o-mini".into()),
        base_url: Some(format!("{}/v1", server.url())),
        api_key_env: None,
    }
}

fn openai(server: &ScriptedServer) -> OpenAiProvider {
    OpenAiProvider::new("gpt", &openai_settings(server), &CommonSettings::default()).unwrap()
}

#[tokio::test]
async fn openai_sends_tools_and_reads_tool_calls() {
    let server = ScriptedServer::start(|_, _| reply(200, openai_tool_answer()));
    let p = openai(&server);
    let set = weather_tools(
        Some(ToolChoice::Function("get_weather".into())),
        Some(false),
    );
    let r = p.complete(ask(Some(set))).await.unwrap();

    let sent = &server.seen()[0];
    assert_eq!(sent.path(), "/v1/chat/completions");
    assert_eq!(sent.body["tools"], openai_shaped_tools());
    assert_eq!(
        sent.body["tool_choice"],
        json!({"type": "function", "function": {"name": "get_weather"}})
    );
    assert_eq!(sent.body["parallel_tool_calls"], json!(false));

    assert_eq!(r.output, "");
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!((r.tokens_in, r.tokens_out), (Some(80), Some(30)));
    let calls: Vec<_> = r
        .tool_calls
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        calls,
        [("call_Rm1", "get_weather"), ("call_Tm2", "get_time")]
    );
    assert_eq!(r.tool_calls[0].arguments, Some(json!({"city": "Rome"})));
    assert_eq!(r.tool_calls[0].arguments_raw, "{\"city\":\"Rome\"}");
    // Arguments that are not JSON are kept for the assertions, not a provider error.
    assert_eq!(r.tool_calls[1].arguments, None);
    assert_eq!(r.tool_calls[1].arguments_raw, "{\"tz\": CET}");
}

#[tokio::test]
async fn openai_without_tools_sends_none_and_records_the_finish_reason() {
    let server = ScriptedServer::start(|_, _| {
        reply(
            200,
            json!({"choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "Sunny"}}]})
                .to_string(),
        )
    });
    let r = openai(&server).complete(ask(None)).await.unwrap();
    let sent = &server.seen()[0].body;
    for key in ["tools", "tool_choice", "parallel_tool_calls"] {
        assert!(sent.get(key).is_none(), "{key} in {sent}");
    }
    assert_eq!(r.output, "Sunny");
    assert!(r.tool_calls.is_empty());
    assert_eq!(r.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn a_response_with_tool_calls_round_trips_through_the_cache() {
    let server = ScriptedServer::start(|_, _| reply(200, openai_tool_answer()));
    let dir = tempfile::tempdir().unwrap();
    let settings = CacheSettings {
        dir: dir.path().to_path_buf(),
        ttl: None,
        mode: CacheMode::On,
        always: true,
    };
    let cached = CachedProvider::new(
        "gpt",
        &ProviderConfig::new(openai_settings(&server)),
        Arc::new(openai(&server)),
        Arc::new(ResponseCache::new(dir.path(), None)),
        &settings,
        Arc::new(CacheCounters::default()),
    );
    let set = || Some(weather_tools(None, None));
    let fresh = cached.complete(ask(set())).await.unwrap();
    let again = cached.complete(ask(set())).await.unwrap();
    assert_eq!(
        server.seen().len(),
        1,
        "the second answer came from the cache"
    );
    assert!(!fresh.cached && again.cached);
    assert_eq!(again.tool_calls, fresh.tool_calls);
    assert_eq!(again.tool_calls.len(), 2);
    assert_eq!(again.tool_calls[1].arguments, None);
    assert_eq!(again.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(again.output, "");
}

// ---------------------------------------------------------------- anthropic

#[tokio::test]
async fn anthropic_sends_input_schemas_and_reads_tool_use_blocks() {
    let server = ScriptedServer::start(|_, _| {
        reply(
            200,
            json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku-20241022",
                "content": [
                    {"type": "text", "text": "Let me check "},
                    {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Rome"}},
                    {"type": "text", "text": "the weather."},
                ],
                "stop_reason": "tool_use",
                "usage": {"input_tokens": 300, "output_tokens": 40},
            })
            .to_string(),
        )
    });
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
    let set = weather_tools(Some(ToolChoice::Required), Some(false));
    let r = p.complete(ask(Some(set))).await.unwrap();

    let sent = &server.seen()[0].body;
    assert_eq!(
        sent["tools"],
        json!([
            {"name": "get_weather", "description": "Current weather in a city",
             "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}},
        ])
    );
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert_eq!(sent["system"], json!("Use the tools."));

    assert_eq!(r.output, "Let me check the weather.");
    assert_eq!(r.finish_reason.as_deref(), Some("tool_use"));
    assert_eq!(r.tool_calls.len(), 1);
    let call = &r.tool_calls[0];
    assert_eq!(
        (call.id.as_str(), call.name.as_str()),
        ("toolu_01A", "get_weather")
    );
    assert_eq!(call.arguments, Some(json!({"city": "Rome"})));
    assert_eq!(call.arguments_raw, "{\"city\":\"Rome\"}");
}

// ---------------------------------------------------------------- ollama

#[tokio::test]
async fn ollama_sends_tools_to_chat_and_makes_up_call_ids() {
    let server = ScriptedServer::start(|_, _| {
        reply(
            200,
            json!({
                "model": "llama3.2", "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": "", "tool_calls": [
                    {"function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
                    {"function": {"name": "get_time", "arguments": {"tz": "CET"}}},
                ]},
                "done_reason": "stop", "done": true, "prompt_eval_count": 120, "eval_count": 25,
            })
            .to_string(),
        )
    });
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
    let mut request = ask(Some(weather_tools(Some(ToolChoice::Auto), None)));
    // A plain-text prompt with tools goes to /api/chat: /api/generate takes no tools.
    request.prompt = RenderedPrompt::Text("What is the weather in Rome?".into());
    let r = p.complete(request).await.unwrap();

    let sent = &server.seen()[0];
    assert_eq!(sent.path(), "/api/chat");
    assert_eq!(sent.body["tools"], openai_shaped_tools());
    assert!(sent.body.get("tool_choice").is_none(), "{}", sent.body);

    assert_eq!(r.output, "");
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!((r.tokens_in, r.tokens_out), (Some(120), Some(25)));
    let ids: Vec<_> = r.tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_0", "call_1"]);
    assert_eq!(r.tool_calls[1].name, "get_time");
    assert_eq!(r.tool_calls[1].arguments, Some(json!({"tz": "CET"})));
}

// ---------------------------------------------------------------- http

#[tokio::test]
async fn http_templates_see_the_tools_and_tool_calls_are_read_at_their_path() {
    let server = ScriptedServer::start(|n, _| {
        let calls = match n {
            // OpenAI's shape with text arguments…
            0 => {
                json!([{"id": "c-1", "function": {"name": "get_weather", "arguments": "{\"city\": \"Rome\"}"}}])
            }
            // …or flat, with object arguments.
            _ => json!([{"name": "get_time", "arguments": {"tz": "CET"}}]),
        };
        reply(
            200,
            json!({"result": {"calls": calls}, "done": "tool_calls"}).to_string(),
        )
    });
    let settings = HttpSettings {
        url: Some(format!("{}/agent", server.url())),
        body: Some(json!({
            "q": "{{ prompt }}",
            "functions": "{{ tools | tojson }}",
            "choice": "{{ tool_choice | tojson }}",
            "offered": "{{ tools | length }} tools",
        })),
        output: Some("result.text".into()),
        tool_calls: Some("result.calls".into()),
        ..Default::default()
    };
    let p = HttpProvider::new("agent", &settings, &CommonSettings::default()).unwrap();
    let set = weather_tools(Some(ToolChoice::Required), None);
    let r = p.complete(ask(Some(set))).await.unwrap();
    let sent = &server.seen()[0].body;
    assert_eq!(sent["functions"], openai_shaped_tools());
    assert_eq!(sent["choice"], json!("required"));
    assert_eq!(sent["offered"], json!("2 tools"));
    // No text at `output` is the empty output when the answer calls tools.
    assert_eq!(r.output, "");
    assert_eq!(r.tool_calls[0].id, "c-1");
    assert_eq!(r.tool_calls[0].arguments, Some(json!({"city": "Rome"})));

    let r = p.complete(ask(None)).await.unwrap();
    let sent = &server.seen()[1].body;
    assert_eq!(
        (&sent["functions"], &sent["choice"]),
        (&json!([]), &Value::Null)
    );
    assert_eq!(sent["offered"], json!("0 tools"));
    assert_eq!(r.tool_calls[0].id, "call_0");
    assert_eq!(r.tool_calls[0].arguments_raw, "{\"tz\":\"CET\"}");
}

#[tokio::test]
async fn http_default_body_carries_tools_only_when_offered() {
    let server = ScriptedServer::start(|_, _| reply(200, json!({"text": "ok"}).to_string()));
    let settings = HttpSettings {
        url: Some(format!("{}/gen", server.url())),
        output: Some("text".into()),
        ..Default::default()
    };
    let p = HttpProvider::new("gen", &settings, &CommonSettings::default()).unwrap();
    p.complete(ask(None)).await.unwrap();
    let set = weather_tools(Some(ToolChoice::None), None);
    p.complete(ask(Some(set))).await.unwrap();
    let seen = server.seen();
    let keys = |body: &Value| {
        body.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&seen[0].body), ["prompt", "messages", "vars"]);
    assert_eq!(
        keys(&seen[1].body),
        ["prompt", "messages", "vars", "tools", "tool_choice"]
    );
    assert_eq!(seen[1].body["tool_choice"], json!("none"));
}

#[tokio::test]
async fn http_unreadable_tool_calls_name_the_path() {
    let server = ScriptedServer::start(|_, _| {
        reply(
            200,
            json!({"text": "", "calls": [{"arguments": {}}]}).to_string(),
        )
    });
    let settings = HttpSettings {
        url: Some(format!("{}/gen", server.url())),
        output: Some("text".into()),
        tool_calls: Some("calls".into()),
        ..Default::default()
    };
    let common = CommonSettings {
        max_retries: Some(0),
        ..Default::default()
    };
    let p = HttpProvider::new("gen", &settings, &common).unwrap();
    let e = p.complete(ask(None)).await.unwrap_err();
    assert!(
        e.message
            .starts_with("`tool_calls` path `calls`: tool call 0 has no function name"),
        "{e}"
    );
}

// ---------------------------------------------------------------- exec

#[tokio::test]
async fn exec_gets_the_tools_on_stdin_and_reads_calls_from_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("agent.py");
    // Calls the first tool offered with the row's city, and says what it was offered.
    std::fs::write(
        &script,
        "import json, sys\nreq = json.load(sys.stdin)\ntools = req.get('tools', [])\n\
         calls = [{'function': {'name': tools[0]['function']['name'], 'arguments': json.dumps({'city': req['vars']['city']})}}] if tools else []\n\
         print(json.dumps({'text': 'choice=%s' % json.dumps(req.get('tool_choice')), 'calls': calls, 'n': len(tools)}))\n",
    )
    .unwrap();
    let settings = ExecSettings {
        command: Some(vec!["python3".into(), script.display().to_string()]),
        output: Some("text".into()),
        tool_calls: Some("calls".into()),
        ..Default::default()
    };
    let p = ExecProvider::new("agent", &settings, &CommonSettings::default()).unwrap();
    let set = weather_tools(Some(ToolChoice::Function("get_weather".into())), None);
    let r = p.complete(ask(Some(set))).await.unwrap();
    assert_eq!(
        r.output,
        "choice={\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}"
    );
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(
        (r.tool_calls[0].id.as_str(), r.tool_calls[0].name.as_str()),
        ("call_0", "get_weather")
    );
    assert_eq!(r.tool_calls[0].arguments, Some(json!({"city": "Rome"})));
    let r = p.complete(ask(None)).await.unwrap();
    assert_eq!(r.output, "choice=null");
    assert!(r.tool_calls.is_empty());
}

#[test]
fn exec_tool_calls_need_json_output() {
    let settings = ExecSettings {
        command: Some(vec!["python3".into(), "agent.py".into()]),
        tool_calls: Some("calls".into()),
        ..Default::default()
    };
    let e = ExecProvider::new("agent", &settings, &CommonSettings::default()).unwrap_err();
    assert_eq!(
        e.message,
        "`tool_calls` reads stdout as JSON, which needs `output` too"
    );
}
