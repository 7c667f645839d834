//! Tool calls end to end through the CLI (issue 15): the `mock` provider's answers from
//! the row's `mock_response` or its `response:` setting, recorded beside the output in the
//! run record and `results.jsonl`; what a row without an answer says; a bad setting
//! stopping the run before any cell; and a version's tools reaching the mock and a
//! scripted OpenAI server, whose calls are recorded and served again by the cache.

use serde_json::{json, Value};

use crate::support::project::TestProject;

/// A project whose `mock` provider calls `get_weather` for the row's city unless the row
/// brings its own answer.
fn project() -> TestProject {
    let p = TestProject::empty();
    p.write(
        "prompteval.yaml",
        "providers:\n  weather-bot:\n    kind: mock\n    response:\n      text: \"Checking {{ city }}.\"\n      tool_calls:\n        - name: get_weather\n          arguments: {city: \"{{ city }}\", days: 1}\n",
    );
    p.write(
        "prompts/route/v1.jinja",
        "Route this request: what is the weather in {{ city }}?",
    );
    p.write(
        "datasets/cities.jsonl",
        concat!(
            "{\"id\": \"rome\", \"city\": \"Rome\"}\n",
            "{\"id\": \"hello\", \"city\": \"Oslo\", \"mock_response\": \"Hello from Oslo\"}\n",
            "{\"id\": \"two\", \"city\": \"Paris\", \"mock_response\": {\"tool_calls\": [",
            "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, ",
            "{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\": CET\"}]}}\n",
        ),
    );
    p.write(
        "evals/route.yaml",
        "prompts: [route@1]\nmodels: [weather-bot]\ndataset: datasets/cities.jsonl\nassert:\n  - type: max-length\n    value: 40\n",
    );
    p
}

fn result<'a>(results: &'a [Value], case: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["case_id"] == case)
        .unwrap_or_else(|| panic!("no case {case}"))
}

#[test]
fn mock_answers_with_text_and_tool_calls_recorded_beside_the_output() {
    let p = project();
    let (code, stdout, stderr) = p.run(&["run", "--output", "out.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let record: Value = serde_json::from_str(&p.read("out.json")).unwrap();
    let results = record["results"].as_array().unwrap();

    let rome = result(results, "rome");
    assert_eq!(rome["output"], json!("Checking Rome."));
    assert_eq!(rome["finish_reason"], json!("tool_calls"));
    assert_eq!(
        rome["tool_calls"],
        json!([{"id": "call_0", "name": "get_weather", "arguments": {"city": "Rome", "days": 1},
                "arguments_raw": "{\"city\":\"Rome\",\"days\":1}"}])
    );
    assert_eq!(rome["cost_usd"], json!(0.0));

    let hello = result(results, "hello");
    assert_eq!(hello["output"], json!("Hello from Oslo"));
    assert_eq!(hello["finish_reason"], json!("stop"));
    assert!(hello.get("tool_calls").is_none(), "{hello}");

    let two = result(results, "two");
    assert_eq!(two["output"], json!(""));
    assert_eq!(two["tool_calls"][1]["id"], json!("call_1"));
    assert_eq!(two["tool_calls"][1]["arguments"], Value::Null);
    assert_eq!(two["tool_calls"][1]["arguments_raw"], json!("{\"tz\": CET"));

    // The stored results carry the same calls.
    let stored = std::fs::read_to_string(p.latest_run().join("results.jsonl")).unwrap();
    let lines: Vec<Value> = stored
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(result(&lines, "rome")["tool_calls"], rome["tool_calls"]);
    assert_eq!(result(&lines, "two")["finish_reason"], json!("tool_calls"));
}

#[test]
fn inline_mock_without_an_answer_says_what_to_add() {
    let p = TestProject::empty();
    p.write("prompts/route/v1.jinja", "Weather in {{ city }}?");
    p.write(
        "datasets/cities.jsonl",
        "{\"id\": \"ok\", \"city\": \"Rome\", \"mock_response\": \"Sunny\"}\n{\"id\": \"bare\", \"city\": \"Oslo\"}\n",
    );
    p.write(
        "evals/route.yaml",
        "prompts: [route@1]\nmodels: [mock]\ndataset: datasets/cities.jsonl\nassert:\n  - type: contains\n    value: Sunny\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "--output", "out.json"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    let record: Value = serde_json::from_str(&p.read("out.json")).unwrap();
    let results = record["results"].as_array().unwrap();
    assert_eq!(result(results, "ok")["pass"], json!(true));
    let error = result(results, "bare")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("no answer for this row: add a `mock_response` variable to the row"),
        "{error}"
    );
    assert!(
        error.contains("or a `response:` setting to the provider"),
        "{error}"
    );
}

#[test]
fn a_mistyped_response_key_stops_the_run_before_any_cell() {
    let p = project();
    p.write(
        "prompteval.yaml",
        "providers:\n  weather-bot:\n    kind: mock\n    response: {txt: hi}\n",
    );
    let (code, stdout, stderr) = p.run(&["run"]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr
            .contains("prompteval.yaml:4:21: at `providers.weather-bot.response.txt`: unknown key"),
        "{stderr}"
    );
    assert!(
        stderr.contains("unknown key `txt` (did you mean `text`?). Choose from: text, tool_calls"),
        "{stderr}"
    );
    assert!(!p.path().join(".prompteval/runs").exists(), "{stdout}");
}

/// A `route` prompt whose version offers `get_weather` (shared) and `get_time`, with
/// `tool_choice: required`, over two cities.
fn tool_project(providers: &str, model: &str) -> TestProject {
    let p = TestProject::empty();
    p.write("prompteval.yaml", providers);
    p.write(
        "prompts/_tools/get_weather.yaml",
        "description: Current weather in a city.\nparameters:\n  type: object\n  properties:\n    city: {type: string}\n  required: [city]\n",
    );
    p.write(
        "prompts/route/v1.yaml",
        "messages:\n  - role: user\n    content: \"What is the weather in {{ city }}?\"\ntools:\n  - get_weather\n  - name: get_time\n    description: The time now.\ntool_choice: required\nparams: {temperature: 0}\n",
    );
    p.write(
        "datasets/cities.jsonl",
        "{\"id\": \"rome\", \"city\": \"Rome\"}\n{\"id\": \"oslo\", \"city\": \"Oslo\"}\n",
    );
    p.write(
        "evals/route.yaml",
        &format!("prompts: [route@1]\nmodels: [{model}]\ndataset: datasets/cities.jsonl\nassert:\n  - type: max-length\n    value: 40\n"),
    );
    p
}

#[test]
fn the_mock_sees_the_versions_tools() {
    let p = tool_project(
        "providers:\n  bot:\n    kind: mock\n    response:\n      text: \"{{ tools | length }} tools, choice {{ tool_choice }}\"\n      tool_calls:\n        - name: \"{{ tools[0].function.name }}\"\n          arguments: {city: \"{{ city }}\"}\n",
        "bot",
    );
    let (code, stdout, stderr) = p.run(&["run", "--output", "out.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let record: Value = serde_json::from_str(&p.read("out.json")).unwrap();
    let oslo = result(record["results"].as_array().unwrap(), "oslo");
    assert_eq!(oslo["output"], json!("2 tools, choice required"));
    assert_eq!(oslo["tool_calls"][0]["name"], json!("get_weather"));
    assert_eq!(oslo["tool_calls"][0]["arguments"], json!({"city": "Oslo"}));
}

#[test]
fn openai_gets_the_versions_tools_and_its_calls_are_recorded_and_cached() {
    use crate::support::scripted::{reply, ScriptedServer};
    let server = ScriptedServer::start(|_, seen| {
        let prompt = seen.prompt();
        let city = if prompt.contains("Rome") {
            "Rome"
        } else {
            "Oslo"
        };
        let arguments = json!({"city": city}).to_string();
        reply(
            200,
            json!({"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": format!("call_{city}"), "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments}}]}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 9}})
            .to_string(),
        )
    });
    let p = tool_project(
        &format!(
            "providers:\n  gpt:\n    kind: openai\n    model: gpt-4o-mini\n    base_url: {}/v1\n    max_retries: 0\n",
            server.url()
        ),
        "gpt",
    );
    let (code, stdout, stderr) = p.run(&["run", "--output", "first.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let body = &seen[0].body;
    let names: Vec<_> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get_weather", "get_time"]);
    assert_eq!(body["tools"][0]["type"], json!("function"));
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["required"],
        json!(["city"])
    );
    assert_eq!(body["tool_choice"], json!("required"));

    let record: Value = serde_json::from_str(&p.read("first.json")).unwrap();
    let rome = result(record["results"].as_array().unwrap(), "rome").clone();
    assert_eq!(rome["output"], json!(""));
    assert_eq!(rome["finish_reason"], json!("tool_calls"));
    assert_eq!(
        rome["tool_calls"],
        json!([{"id": "call_Rome", "name": "get_weather", "arguments": {"city": "Rome"},
                "arguments_raw": "{\"city\":\"Rome\"}"}])
    );

    // A second run is answered by the response cache, calls and all.
    let (code, stdout, stderr) = p.run(&["run", "--output", "again.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(server.seen().len(), 2, "nothing was sent the second time");
    let again: Value = serde_json::from_str(&p.read("again.json")).unwrap();
    let cached = result(again["results"].as_array().unwrap(), "rome");
    assert_eq!(cached["cached"], json!(true));
    assert_eq!(cached["tool_calls"], rome["tool_calls"]);
    assert_eq!(cached["finish_reason"], json!("tool_calls"));
}

#[test]
fn mock_answers_are_scored_by_the_tool_call_assertions() {
    // The demo path of issue 15: a tool-routing eval with no model. Rows bring the answers
    // a model might give — right, wrong city, wrong tool, broken arguments, no call.
    let p = tool_project("providers:\n  bot: {kind: mock}\n", "bot");
    p.write(
        "datasets/cities.jsonl",
        concat!(
            "{\"id\": \"right\", \"city\": \"Rome\", \"mock_response\": {\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\"}}]}}\n",
            "{\"id\": \"wrong-city\", \"city\": \"Rome\", \"mock_response\": {\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]}}\n",
            "{\"id\": \"wrong-tool\", \"city\": \"Rome\", \"mock_response\": {\"tool_calls\": [{\"name\": \"get_time\"}]}}\n",
            "{\"id\": \"broken\", \"city\": \"Rome\", \"mock_response\": {\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \"}]}}\n",
            "{\"id\": \"prose\", \"city\": \"Rome\", \"mock_response\": \"It is sunny in Rome.\"}\n",
        ),
    );
    p.write(
        "evals/route.yaml",
        "prompts: [route@1]\nmodels: [bot]\ndataset: datasets/cities.jsonl\nassert:\n  - type: tool-called\n    value: get_weather\n    args: {city: \"{{ city }}\"}\n  - type: valid-tool-call\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "--output", "out.json"]);
    assert_eq!(
        code, 1,
        "the gate fails, no cell errors: {stdout}\n{stderr}"
    );
    assert!(stdout.contains("→ get_time()"), "{stdout}");
    let record: Value = serde_json::from_str(&p.read("out.json")).unwrap();
    let results = record["results"].as_array().unwrap();
    let passed = |case: &str| result(results, case)["pass"] == json!(true);
    assert!(passed("right"));
    for case in ["wrong-city", "wrong-tool", "broken", "prose"] {
        assert!(!passed(case), "{case} passed");
        assert!(
            result(results, case)["error"].is_null(),
            "{case} is not a cell error"
        );
    }
    let reason = result(results, "wrong-city")["assertions"][0]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("Paris") && reason.contains("Rome"),
        "{reason}"
    );
}

#[test]
fn tools_on_the_text_completions_endpoint_fail_before_anything_is_sent() {
    use crate::support::scripted::{reply, ScriptedServer};
    let server = ScriptedServer::start(|_, _| reply(200, "{}"));
    let p = tool_project(
        &format!(
            "providers:\n  local:\n    kind: llamacpp\n    base_url: {}/v1\n    mode: completion\n",
            server.url()
        ),
        "local",
    );
    let (code, stdout, stderr) = p.run(&["run", "--output", "out.json"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    let record: Value = serde_json::from_str(&p.read("out.json")).unwrap();
    let error = result(record["results"].as_array().unwrap(), "rome")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("the text completions endpoint cannot send tools"),
        "{error}"
    );
    assert!(error.contains("`mode: chat`"), "{error}");
    let completions = server
        .seen()
        .iter()
        .filter(|s| s.path().ends_with("/completions"))
        .count();
    assert_eq!(completions, 0, "no completion was requested");
}
