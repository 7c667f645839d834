//! Tools in prompt versions (issue 15) from the command line: `prompt show`, `prompt diff`,
//! the lock, and bad tools stopping a run with exit 2 before any model call.

use insta_cmd::assert_cmd_snapshot;

use crate::support::project::{settings, TestProject};

const WEATHER: &str = "\
description: Current weather in a city.
parameters:
  type: object
  properties:
    city: {type: string}
  required: [city]
";

const V1: &str = "\
messages:
  - role: user
    content: \"{{ name }} asks about {{ city }}\"
tools:
  - get_weather
  - name: get_time
    description: The time now.
tool_choice: auto
";

/// The basic project with a `route` prompt whose version 1 uses a shared and an inline tool.
fn project() -> TestProject {
    let p = TestProject::basic();
    p.write("prompts/_tools/get_weather.yaml", WEATHER);
    p.write("prompts/route/v1.yaml", V1);
    p
}

#[test]
fn show_and_diff_include_the_tools() {
    let p = project();
    let v2 = V1
        .replace("The time now.", "The time now, in UTC.")
        .replace(
            "tool_choice: auto",
            "tool_choice: required\nparallel_tool_calls: false",
        );
    p.write("prompts/route/v2.yaml", &v2);
    settings(&p).bind(|| {
        assert_cmd_snapshot!("show_tools", p.cmd(&["prompt", "show", "route@1"]));
        assert_cmd_snapshot!(
            "diff_tools",
            p.cmd(&["prompt", "diff", "route@1", "route@2"])
        );
    });
}

#[test]
fn a_changed_shared_tool_breaks_the_lock_of_the_versions_using_it() {
    let p = project();
    let (code, _, stderr) = p.run(&["prompt", "lock"]);
    assert_eq!(code, 0, "{stderr}");
    let lock = p.read("prompts.lock");
    assert!(lock.contains("_tools/get_weather.yaml: sha256:"), "{lock}");
    // Versions without shared tools keep their entries as they were.
    assert!(!lock.contains("tools: {}"), "{lock}");
    let (code, _, stderr) = p.run(&["prompt", "check"]);
    assert_eq!(code, 0, "{stderr}");
    p.write(
        "prompts/_tools/get_weather.yaml",
        &WEATHER.replace("Current weather", "The weather"),
    );
    let (code, _, stderr) = p.run(&["prompt", "check"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "locked version route@1 uses the shared tool prompts/_tools/get_weather.yaml, which changed"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("git checkout -- prompts/_tools/get_weather.yaml"),
        "{stderr}"
    );
}

#[test]
fn bad_tools_stop_the_run_with_file_and_line() {
    let p = project();
    p.write(
        "prompts/route/v2.yaml",
        &V1.replace("description: The time now.", "description: The time now.\n    parameters: {type: object, properties: {tz: {type: strng}}}"),
    );
    p.write(
        "evals/route.yaml",
        "prompts: [route@2]\nmodels: [echo]\ndataset: datasets/people.csv\n",
    );
    settings(&p).bind(|| {
        assert_cmd_snapshot!("invalid_schema", p.cmd(&["run", "route"]));
    });
    p.write(
        "prompts/route/v2.yaml",
        &V1.replace("tool_choice: auto", "tool_choice: get_wether"),
    );
    let (code, _, stderr) = p.run(&["run", "route"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("prompts/route/v2.yaml:8: `tool_choice` is `get_wether`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `get_weather`?"), "{stderr}");
    p.write(
        "prompts/route/v2.yaml",
        &V1.replace("  - get_weather", "  - get_weathr"),
    );
    let (code, _, stderr) = p.run(&["run", "route"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("prompts/route/v2.yaml:5: no shared tool `get_weathr`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `get_weather`?"), "{stderr}");
}

#[test]
fn a_row_tool_named_like_a_version_tool_is_an_error_naming_the_row() {
    let p = project();
    p.write(
        "datasets/route.jsonl",
        "{\"id\": \"rome\", \"name\": \"Ada\", \"city\": \"Rome\", \"expected_tools\": [\"get_weather\"]}\n{\"id\": \"oslo\", \"name\": \"Bob\", \"city\": \"Oslo\", \"tools\": [{\"name\": \"get_time\"}]}\n",
    );
    p.write(
        "evals/route.yaml",
        "prompts: [route@1]\nmodels: [echo]\ndataset: datasets/route.jsonl\n",
    );
    let (code, _, stderr) = p.run(&["run", "route"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("datasets/route.jsonl:2: case oslo, with route@1: tool `get_time` is declared twice: case oslo adds a tool of the same name as one of the version's"),
        "{stderr}"
    );
    p.write(
        "datasets/route.jsonl",
        "{\"id\": \"oslo\", \"name\": \"Bob\", \"city\": \"Oslo\", \"tools\": [{\"name\": \"lookup\"}, {\"name\": \"issue_refund\", \"descripton\": \"x\"}]}\n",
    );
    let (code, _, stderr) = p.run(&["run", "route"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("unknown key `descripton` in tools[1]"),
        "{stderr}"
    );
    // A distractor with a new name is fine.
    p.write(
        "datasets/route.jsonl",
        "{\"id\": \"oslo\", \"name\": \"Bob\", \"city\": \"Oslo\", \"tools\": [{\"name\": \"issue_refund\"}]}\n",
    );
    let (code, _, stderr) = p.run(&["run", "route"]);
    assert_eq!(code, 0, "{stderr}");
    // An expected tool no prompt offers is a warning with the likely name.
    p.write(
        "datasets/route.jsonl",
        "{\"id\": \"rome\", \"name\": \"Ada\", \"city\": \"Rome\", \"expected_tools\": [\"get_wether\"]}\n",
    );
    let (code, _, stderr) = p.run(&["run", "route"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("datasets/route.jsonl:1: case rome: `expected_tools` names `get_wether`, which no prompt of the eval offers (did you mean `get_weather`?); offered: get_time, get_weather"),
        "{stderr}"
    );
}

/// Two versions that differ only in a tool's description are two requests, each cached:
/// the response cache keys on the tools (issue 15).
#[test]
fn the_response_cache_keys_on_the_tools() {
    use crate::support::scripted::{chat, ScriptedServer};
    let server = ScriptedServer::start(|_, _| chat("Rome"));
    let p = project();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: openai\n    model: tiny\n    base_url: {}/v1\n    max_retries: 0\n    params: {{temperature: 0}}\n",
            server.url()
        ),
    );
    p.write(
        "prompts/route/v2.yaml",
        &V1.replace("The time now.", "The time now, in UTC."),
    );
    p.write(
        "evals/route.yaml",
        "prompts: [route@1, route@2]\nmodels: [local]\ndataset: datasets/people.csv\n",
    );
    let (code, _, stderr) = p.run(&["run", "route", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.seen().len(), 6, "3 rows × 2 versions, none shared");
    let (code, _, stderr) = p.run(&["run", "route", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        server.seen().len(),
        6,
        "the second run is served from the cache"
    );
}
