//! Agent evals through the CLI (issue 16): a scripted OpenAI server that calls tools until
//! it is given their results, answered by a `mock` handler of the eval (a template, and a
//! row's own `tool_results`) and an `exec` handler from `prompteval.yaml`; the trajectory
//! in the record; `--offline` replaying the whole loop from the cache; `max_steps`; and the
//! handler mistakes that stop a run before any model call.

use serde_json::{json, Value};

use crate::support::project::{settings, TestProject};
use crate::support::scripted::{reply, Reply, ScriptedServer};

/// The OpenAI answer with `calls` (name, arguments), or the text when there are none.
fn answer(text: &str, calls: &[(&str, &str, Value)]) -> Reply {
    let message = if calls.is_empty() {
        json!({"role": "assistant", "content": text})
    } else {
        let calls: Vec<Value> = calls
            .iter()
            .map(|(id, name, args)| {
                json!({"id": id, "type": "function",
                       "function": {"name": name, "arguments": args.to_string()}})
            })
            .collect();
        json!({"role": "assistant", "content": null, "tool_calls": calls})
    };
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    reply(
        200,
        json!({"choices": [{"index": 0, "finish_reason": finish, "message": message}],
               "usage": {"prompt_tokens": 40, "completion_tokens": 8}})
        .to_string(),
    )
}

/// A model that asks for the weather and the time of the user's city at once, and once
/// it has the results answers with them.
fn weather_model() -> ScriptedServer {
    ScriptedServer::start(|_, seen| {
        let messages = seen.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let results: Vec<&str> = messages
            .iter()
            .filter(|m| m["role"] == "tool")
            .filter_map(|m| m["content"].as_str())
            .collect();
        if !results.is_empty() {
            return answer(&format!("Summary: {}", results.join("; ")), &[]);
        }
        let prompt = seen.prompt();
        let city = ["Rome", "Oslo"]
            .into_iter()
            .find(|c| prompt.contains(c))
            .unwrap_or("Lima");
        answer(
            "",
            &[
                ("call_w", "get_weather", json!({"city": city})),
                ("call_t", "get_time", json!({"tz": "CET"})),
            ],
        )
    })
}

/// An agent project on `server`: `get_weather` answered by the eval's `mock`, `get_time`
/// by the project's `exec` handler (the project's `get_weather` entry is overridden).
fn project(server: &ScriptedServer, eval_extra: &str) -> TestProject {
    let p = TestProject::empty();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  gpt:\n    kind: openai\n    model: gpt-4o-mini\n    base_url: {}/v1\n    max_retries: 0\ntool_handlers:\n  get_time: {{kind: exec, command: [tools/time.sh], timeout: 5s}}\n  get_weather: {{kind: mock, result: the project's}}\n",
            server.url()
        ),
    );
    p.write(
        "tools/time.sh",
        "#!/bin/sh\n# The call arrives on stdin as JSON; the answer is stdout.\ngrep -q '\"name\":\"get_time\"' && echo '12:00 CET'\n",
    );
    make_executable(&p.path().join("tools/time.sh"));
    p.write(
        "prompts/weather/v1.yaml",
        "messages:\n  - role: user\n    content: \"Weather and time in {{ city }}?\"\ntools:\n  - name: get_weather\n    description: Current weather in a city.\n    parameters: {type: object, properties: {city: {type: string}}, required: [city]}\n  - name: get_time\n    description: The time now.\nparams: {temperature: 0}\n",
    );
    p.write(
        "datasets/cities.jsonl",
        concat!(
            "{\"id\": \"rome\", \"city\": \"Rome\"}\n",
            "{\"id\": \"oslo\", \"city\": \"Oslo\", \"tool_results\": {\"get_weather\": [",
            "{\"args\": {\"city\": \"Oslo\"}, \"result\": \"Oslo: -3°C, snow\"}]}}\n",
        ),
    );
    p.write(
        "evals/weather.yaml",
        &format!("prompts: [weather@1]\nmodels: [gpt]\ndataset: datasets/cities.jsonl\ntool_handlers:\n  get_weather:\n    kind: mock\n    result: \"{{{{ args.city }}}}: 18°C, sunny\"\n{eval_extra}assert:\n  - type: contains\n    value: \"{{{{ city }}}}\"\n"),
    );
    p
}

fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn result<'a>(record: &'a Value, case: &str) -> &'a Value {
    record["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case_id"] == case)
        .unwrap_or_else(|| panic!("no case {case}"))
}

/// A trajectory without what changes from run to run (latencies, `cached`).
fn trajectory(cell: &Value) -> Vec<Value> {
    cell["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let results: Vec<Value> = s["tool_results"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .map(|r| json!([r["call_id"], r["content"], r["is_error"]]))
                        .collect()
                })
                .unwrap_or_default();
            json!([
                s["messages_digest"],
                s["output"],
                s["tool_calls"],
                results,
                s["tokens_in"]
            ])
        })
        .collect()
}

#[test]
fn an_agent_eval_runs_the_loop_and_replays_it_offline() {
    let server = weather_model();
    let p = project(&server, "");
    let (code, stdout, stderr) = p.run(&["run", "--output", "first.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let record: Value = serde_json::from_str(&p.read("first.json")).unwrap();

    let rome = result(&record, "rome");
    assert_eq!(
        rome["output"],
        json!("Summary: Rome: 18°C, sunny; 12:00 CET")
    );
    assert_eq!(rome["pass"], json!(true));
    let steps = rome["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    let contents: Vec<&str> = steps[0]["tool_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["Rome: 18°C, sunny", "12:00 CET"]);
    assert_eq!(steps[0]["tool_results"][1]["call_id"], json!("call_t"));
    assert!(steps[1].get("tool_results").is_none(), "{}", steps[1]);
    // Tokens are summed over the steps; the last step's answer is the cell's.
    assert_eq!(rome["tokens_in"], json!(80));
    assert_eq!(rome["finish_reason"], json!("stop"));
    assert!(rome.get("stopped").is_none());

    // The row's own table answers Oslo's weather, by the call's arguments.
    let oslo = result(&record, "oslo");
    assert_eq!(
        oslo["output"],
        json!("Summary: Oslo: -3°C, snow; 12:00 CET")
    );

    // The second request carried the whole history: the calls, then each result.
    let seen = server.seen();
    assert_eq!(seen.len(), 4);
    let second = seen
        .iter()
        .find(|s| s.prompt().contains("Rome") && s.body["messages"].as_array().unwrap().len() > 1)
        .unwrap();
    let messages = second.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[1]["tool_calls"][0]["id"], json!("call_w"));
    assert_eq!(messages[2]["role"], json!("tool"));
    assert_eq!(messages[2]["tool_call_id"], json!("call_w"));
    assert_eq!(messages[3]["tool_call_id"], json!("call_t"));

    // Offline, every step is answered by the cache: the same trajectory, nothing sent.
    let (code, stdout, stderr) = p.run(&["run", "--offline", "--output", "again.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(server.seen().len(), 4, "the offline run reached the server");
    let again: Value = serde_json::from_str(&p.read("again.json")).unwrap();
    for case in ["rome", "oslo"] {
        let (before, after) = (result(&record, case), result(&again, case));
        assert_eq!(trajectory(after), trajectory(before), "{case}");
        assert_eq!(after["output"], before["output"]);
        assert_eq!(after["cached"], json!(true));
    }
}

#[test]
fn a_model_that_never_stops_is_stopped_at_max_steps_without_an_error() {
    let server = ScriptedServer::start(|n, _| {
        answer(
            "",
            &[(&format!("call_{n}"), "get_time", json!({"tz": "CET"}))],
        )
    });
    let p = project(&server, "max_steps: 3\n");
    p.write(
        "datasets/cities.jsonl",
        "{\"id\": \"rome\", \"city\": \"Rome\"}\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "--output", "out.json"]);
    // The case fails its assertion (no answer mentions Rome), but nothing errored: the
    // gate fails (1), not the run (3).
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let record: Value = serde_json::from_str(&p.read("out.json")).unwrap();
    let rome = result(&record, "rome");
    assert_eq!(rome["stopped"], json!("max_steps"));
    assert_eq!(rome["steps"].as_array().unwrap().len(), 3);
    assert!(rome["error"].is_null(), "{rome}");
    assert_eq!(rome["pass"], json!(false));
    assert_eq!(server.seen().len(), 3);
}

/// Runs `validate` on the project and snapshots the exit code and stderr.
fn check(name: &str, p: &TestProject) -> (i32, String) {
    let (code, stdout, stderr) = p.run(&["validate"]);
    settings(p).bind(|| {
        insta::assert_snapshot!(
            name,
            format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
        );
    });
    (code, stderr)
}

#[test]
fn handler_mistakes_are_located_errors_before_any_model_call() {
    let server = weather_model();
    let p = project(&server, "");
    p.write(
        "evals/weather.yaml",
        "prompts: [weather@1]\nmodels: [gpt]\ndataset: datasets/cities.jsonl\nmax_steps: 0\ntool_handlers:\n  get_wether: {kind: mock, result: x}\n  get_weather:\n    kind: mokc\n    result: x\n",
    );
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  gpt: {{kind: openai, model: m, base_url: '{}/v1'}}\ntool_handlers:\n  get_time:\n    kind: exec\n    comand: [date]\n",
            server.url()
        ),
    );
    p.write(
        "datasets/cities.jsonl",
        "{\"id\": \"rome\", \"city\": \"Rome\", \"tool_results\": {\"get_weather\": [{\"arg\": {}, \"result\": 1}]}}\n",
    );
    let (code, stderr) = check("agent_handler_mistakes", &p);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("unknown key `arg` (did you mean `args`?)"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `get_weather`?"), "{stderr}");
    assert!(stderr.contains("did you mean `mock`?"), "{stderr}");
    assert!(stderr.contains("did you mean `command`?"), "{stderr}");
    assert!(server.seen().is_empty());
}

#[test]
fn a_tool_without_a_handler_and_stray_row_results_are_warnings() {
    let server = weather_model();
    let p = project(&server, "");
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  gpt: {{kind: openai, model: m, base_url: '{}/v1'}}\n",
            server.url()
        ),
    );
    p.write(
        "datasets/cities.jsonl",
        "{\"id\": \"rome\", \"city\": \"Rome\", \"tool_results\": {\"get_time\": \"noon\"}}\n{\"id\": \"oslo\", \"city\": \"Oslo\", \"tool_results\": {\"get_wether\": \"x\"}}\n",
    );
    let (code, stderr) = check("agent_unhandled_tool", &p);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("tool `get_time` (declared by weather@1) has no handler"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`tool_results.get_time` is ignored"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `get_weather`?"), "{stderr}");
}
