//! `tools: [{mcp: NAME}]` (issue 16): a version offers the tools a named MCP server lists.
//! Against the real `mcp-server-time` (the scripted OpenAI model receives the server's
//! list and calls `get_current_time`, scored; `--offline` replays it from the cache) and
//! `server-everything` (many tools); and the mistakes: an unknown server, a server that
//! lists no tools or does not start, a listed tool whose name a written tool has.

use serde_json::{json, Value};

use crate::support::mcp::{everything, time_server};
use crate::support::project::{settings, TestProject};
use crate::support::scripted::{reply, Reply, ScriptedServer};

/// The OpenAI answer calling `name(args)`, or the text when `name` is empty.
fn answer(text: &str, call: Option<(&str, Value)>) -> Reply {
    let (message, finish) = match call {
        None => (json!({"role": "assistant", "content": text}), "stop"),
        Some((name, args)) => (
            json!({"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": name, "arguments": args.to_string()}}]}),
            "tool_calls",
        ),
    };
    reply(
        200,
        json!({"choices": [{"index": 0, "finish_reason": finish, "message": message}],
               "usage": {"prompt_tokens": 40, "completion_tokens": 8}})
        .to_string(),
    )
}

/// A model that asks for the time in UTC (or, asked about Tokyo, converts noon UTC to
/// Tokyo time: an answer that is the same on every run of a day), then answers with the
/// tool's result.
fn clock_model() -> ScriptedServer {
    ScriptedServer::start(|_, seen| {
        let messages = seen.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if let Some(result) = messages.iter().find(|m| m["role"] == "tool") {
            let text = result["content"].as_str().unwrap_or_default();
            return answer(&format!("It is {text}"), None);
        }
        if seen.prompt().contains("Tokyo") {
            let args =
                json!({"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"});
            return answer("", Some(("convert_time", args)));
        }
        answer("", Some(("get_current_time", json!({"timezone": "UTC"}))))
    })
}

/// A project whose `clock@1` says `tools` (the lines under `tools:`), over `model`, with
/// the eval's extra keys `eval`.
fn project(model: &ScriptedServer, tools: &str, eval: &str) -> TestProject {
    let p = TestProject::empty();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  gpt:\n    kind: openai\n    model: m\n    base_url: {}/v1\n    max_retries: 0\n",
            model.url()
        ),
    );
    p.write(
        "prompts/clock/v1.yaml",
        &format!("messages:\n  - role: user\n    content: \"Time in {{{{ tz }}}}?\"\nparams: {{temperature: 0}}\ntools:\n{tools}"),
    );
    p.write("datasets/tz.jsonl", "{\"id\": \"utc\", \"tz\": \"UTC\"}\n");
    p.write(
        "evals/clock.yaml",
        &format!("prompts: [clock@1]\nmodels: [gpt]\ndataset: datasets/tz.jsonl\n{eval}"),
    );
    p
}

fn time_servers(server: &std::path::Path) -> String {
    format!(
        "mcp_servers:\n  time:\n    command: {}\n    args: [--local-timezone, UTC]\n",
        server.display()
    )
}

const SCORED: &str = "assert:\n  - type: tool-called\n    value: get_current_time\n    args: {timezone: UTC}\n  - type: tool-result-used\n    value: get_current_time\n";

#[test]
fn a_version_offers_the_tools_the_time_server_lists() {
    let Some(server) = time_server() else { return };
    let model = clock_model();
    let eval = format!("{}{SCORED}", time_servers(&server));
    let p = project(&model, "  - {mcp: time}\n", &eval);
    let (code, stdout, stderr) = p.run(&["run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let seen = model.seen();
    assert_eq!(seen.len(), 2, "a call, then the answer");
    let tools = seen[0].body["tools"].as_array().unwrap();
    let names: Vec<&str> = tools
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get_current_time", "convert_time"]);
    let schema = &tools[0]["function"]["parameters"];
    assert_eq!(schema["properties"]["timezone"]["type"], "string");
    assert_eq!(schema["required"], json!(["timezone"]));
    assert_eq!(seen[1].body["tools"], seen[0].body["tools"]);
    let results = std::fs::read_to_string(p.latest_run().join("results.jsonl")).unwrap();
    let cell: Value = serde_json::from_str(results.lines().next().unwrap()).unwrap();
    assert_eq!(cell["pass"], true, "{cell}");
    let content = cell["steps"][0]["tool_results"][0]["content"]
        .as_str()
        .unwrap();
    assert!(
        content.contains("\"timezone\": \"UTC\"") || content.contains("\"timezone\":\"UTC\""),
        "{content}"
    );

    // `rescore` lists the tools again (its assertions read them) and calls none.
    let (code, stdout, stderr) = p.run(&["rescore", "latest"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(model.seen().len(), 2, "rescore asked the model");

    // The cache key follows the server's list: a loop whose tool answers the same each
    // time replays offline with the server started again and no model.
    p.write(
        "datasets/tz.jsonl",
        "{\"id\": \"tokyo\", \"tz\": \"Tokyo\"}\n",
    );
    let (code, stdout, stderr) = p.run(&["run"]);
    assert_eq!(
        code, 1,
        "get_current_time is not called: {stdout}\n{stderr}"
    );
    assert_eq!(model.seen().len(), 4);
    let (code, stdout, stderr) = p.run(&["run", "--offline"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 of 1 cells were served from the response cache"),
        "{stdout}"
    );
    assert_eq!(model.seen().len(), 4, "--offline asked the model");

    // `only` offers a subset; the request, so the key, changes with it.
    p.write("datasets/tz.jsonl", "{\"id\": \"utc\", \"tz\": \"UTC\"}\n");
    p.write(
        "prompts/clock/v2.yaml",
        "messages:\n  - role: user\n    content: \"Time in {{ tz }}?\"\nparams: {temperature: 0}\ntools:\n  - {mcp: time, only: [get_current_time]}\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "--prompt", "clock@2"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let seen = model.seen();
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[4].body["tools"].as_array().unwrap().len(), 1);
}

#[test]
fn server_everything_lists_many_tools_into_the_request() {
    let Some(bin) = everything() else { return };
    let model = ScriptedServer::start(|_, _| answer("nothing to call", None));
    let eval = format!(
        "mcp_servers:\n  everything: {{command: {}, args: [stdio]}}\nassert:\n  - type: contains\n    value: nothing\n",
        bin.display()
    );
    let p = project(&model, "  - name: note\n  - {mcp: everything}\n", &eval);
    let (code, stdout, stderr) = p.run(&["run"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let tools = model.seen()[0].body["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert!(names.len() > 5, "{names:?}");
    assert_eq!(names[0], "note", "written order kept: {names:?}");
    assert!(
        names.contains(&"echo") && names.contains(&"get-sum"),
        "{names:?}"
    );
    let sum = tools
        .iter()
        .find(|t| t["function"]["name"] == "get-sum")
        .unwrap();
    assert_eq!(
        sum["function"]["parameters"]["properties"]["a"]["type"],
        "number"
    );
}

/// A stdio MCP server that answers `initialize` and lists no tools (Python, no packages).
const NO_TOOLS: &str = r#"import json, sys
print("no toolsets enabled (start me with --toolsets)", file=sys.stderr, flush=True)
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    if msg["method"] == "initialize":
        result = {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
                  "serverInfo": {"name": "empty", "version": "1"}}
    elif msg["method"] == "tools/list":
        result = {"tools": []}
    else:
        result = {}
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)
"#;

#[test]
fn a_server_that_lists_no_tools_or_does_not_start_stops_the_run() {
    let model = clock_model();
    let eval = "mcp_servers:\n  empty: {command: python3, args: [tools/empty.py]}\n";
    let p = project(&model, "  - {mcp: empty}\n", eval);
    p.write("tools/empty.py", NO_TOOLS);
    let mut s = settings(&p);
    s.add_filter(r"\.prompteval/runs/\S+", "[RUN]");
    s.bind(|| {
        insta_cmd::assert_cmd_snapshot!(p.cmd(&["run"]), @r"
        success: false
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: prompts/clock/v1.yaml:6: clock@1: MCP server `empty` lists no tools; its stderr ends: no toolsets enabled (start me with --toolsets); the failed run is recorded in [PROJECT]/[RUN]
        hint: check the server's `args` under `mcp_servers.empty` (some servers list tools only when told which to enable), or write the tools under `tools:` instead of `{mcp: empty}`
        ");
    });
    p.write(
        "tools/broken.sh",
        "#!/bin/sh\necho 'no such database: clocks.db' >&2\nexit 1\n",
    );
    std::process::Command::new("chmod")
        .args([
            "+x",
            &p.path().join("tools/broken.sh").display().to_string(),
        ])
        .status()
        .unwrap();
    p.write(
        "evals/clock.yaml",
        "prompts: [clock@1]\nmodels: [gpt]\ndataset: datasets/tz.jsonl\nmcp_servers:\n  empty: {command: tools/broken.sh}\n",
    );
    s.bind(|| {
        insta_cmd::assert_cmd_snapshot!(p.cmd(&["run"]), @r"
        success: false
        exit_code: 3
        ----- stdout -----

        ----- stderr -----
        error: evals/clock.yaml:5: MCP server `empty` could not list its tools; the failed run is recorded in [PROJECT]/[RUN]
          caused by: mcp server `empty`: `[PROJECT]/tools/broken.sh` exited before it initialized (exit status: 1); its stderr ends: no such database: clocks.db
        hint: check the settings of `mcp_servers.empty` and the server's output above
        ");
    });
    assert!(model.seen().is_empty(), "no model was asked");
}

#[test]
fn an_unknown_server_or_a_name_taken_by_a_written_tool_is_an_error() {
    let model = clock_model();
    let p = project(
        &model,
        "  - {mcp: tiem}\n",
        "mcp_servers:\n  time: {command: mcp-server-time}\n",
    );
    settings(&p).bind(|| {
        insta_cmd::assert_cmd_snapshot!(p.cmd(&["run"]), @r"
        success: false
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        error: prompts/clock/v1.yaml:6: at `tools`: clock@1 (`tools: [{mcp: tiem}]`) names MCP server `tiem`, which is not declared under `mcp_servers:` (did you mean `time`?)
        hint: the servers declared: time
        ");
    });
    let Some(server) = time_server() else { return };
    let p = project(
        &model,
        "  - name: get_current_time\n  - {mcp: time}\n",
        &time_servers(&server),
    );
    let mut s = settings(&p);
    s.add_filter(r"\.prompteval/runs/\S+", "[RUN]");
    s.bind(|| {
        insta_cmd::assert_cmd_snapshot!(p.cmd(&["run"]), @r"
        success: false
        exit_code: 2
        ----- stdout -----

        ----- stderr -----
        warning: evals/clock.yaml: tool `get_current_time` (declared by clock@1) has no handler under `tool_handlers:`: a call to it gets an `unknown tool` error result
        error: prompts/clock/v1.yaml:7: clock@1: MCP server `time` lists `get_current_time`, and a tool written under `tools:` has the same name; the failed run is recorded in [PROJECT]/[RUN]
        hint: rename or remove the written tool, or leave the server's out with `{mcp: time, only: [..]}`; a model cannot tell two tools of one name apart
        ");
    });
    assert!(model.seen().is_empty(), "no model was asked");
}

#[test]
fn prompt_show_says_the_tools_come_from_the_server() {
    let model = clock_model();
    let p = project(
        &model,
        "  - {mcp: time, only: [get_current_time]}\n  - name: note\n",
        "",
    );
    let (code, stdout, stderr) = p.run(&["prompt", "show", "clock@1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("tools:\n- mcp: time  # the tools this MCP server lists, asked when a run starts it\n  only: [get_current_time]\n- name: note\n"),
        "{stdout}"
    );
}

#[test]
fn a_url_server_lists_over_streamable_http_and_answers_the_call() {
    use std::io::BufRead;
    let Some(bin) = everything() else { return };
    let port = crate::support::mcp::free_port();
    let mut server = std::process::Command::new(&bin)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let listening = lines.any(|l| l.is_ok_and(|l| l.contains("listening")));
    assert!(listening, "server-everything did not start listening");
    let model = ScriptedServer::start(|_, seen| {
        let messages = seen.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        match messages.iter().find(|m| m["role"] == "tool") {
            Some(result) => answer(result["content"].as_str().unwrap_or_default(), None),
            None => answer("", Some(("echo", json!({"message": "over http"})))),
        }
    });
    let eval = format!(
        "mcp_servers:\n  everything: {{url: 'http://127.0.0.1:{port}/mcp', timeout: 20s}}\nassert:\n  - type: tool-result-used\n    value: echo\n  - type: contains\n    value: \"Echo: over http\"\n"
    );
    let p = project(
        &model,
        "  - {mcp: everything, only: [get-sum, echo]}\n",
        &eval,
    );
    let (code, stdout, stderr) = p.run(&["run"]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let seen = model.seen();
    let names: Vec<&str> = seen[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["echo", "get-sum"],
        "only the two, in the server's order"
    );
}
