//! Tool-call assertions (issue 15) from the command line: the plan warns when an eval that
//! asserts on tool calls offers no tools, refuses `args:` that no offered tool can take,
//! and scores answers without calls.

use crate::support::project::TestProject;

const WEATHER: &str = "\
description: Current weather in a city.
parameters:
  type: object
  properties:
    city: {type: string}
    days: {type: integer}
  required: [city]
  additionalProperties: false
";

const ROUTE: &str = "\
messages:
  - role: user
    content: \"{{ name }} asks about {{ city }}\"
tools:
  - get_weather
";

/// The basic project with a `route` prompt offering the shared `get_weather`.
fn project() -> TestProject {
    let p = TestProject::basic();
    p.write("prompts/_tools/get_weather.yaml", WEATHER);
    p.write("prompts/route/v1.yaml", ROUTE);
    p
}

fn eval(prompt: &str, dataset: &str, asserts: &str) -> String {
    format!("prompts: [{prompt}]\nmodels: [echo]\ndataset: {dataset}\nassert:\n{asserts}")
}

#[test]
fn a_tool_call_assertion_without_tools_is_a_warning_unless_rows_bring_tools() {
    let p = project();
    p.write(
        "evals/plain.yaml",
        &eval(
            "greet@1",
            "datasets/people.csv",
            "  - type: contains\n    value: Hello\n  - type: tool-called\n    value: get_weather\n",
        ),
    );
    let (code, _, stderr) = p.run(&["validate", "plain"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("evals/plain.yaml:7: `tool-called` looks at tool calls, but no prompt version of this eval declares `tools:` and no row brings any"),
        "{stderr}"
    );
    p.write(
        "datasets/rows.jsonl",
        "{\"id\": \"a\", \"name\": \"Ada\", \"tools\": [{\"name\": \"get_weather\"}]}\n",
    );
    p.write(
        "evals/plain.yaml",
        &eval(
            "greet@1",
            "datasets/rows.jsonl",
            "  - type: tool-called\n    value: get_weather\n",
        ),
    );
    let (code, _, stderr) = p.run(&["validate", "plain"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("looks at tool calls"), "{stderr}");
}

#[test]
fn args_that_can_never_match_are_errors_with_file_and_line() {
    let p = project();
    p.write(
        "evals/route.yaml",
        &eval(
            "route@1",
            "datasets/people.csv",
            "  - type: tool-called\n    value: get_weather\n    args: {town: \"{{ city }}\"}\n  - type: not-tool-called\n    value: get_wether\n    args: {city: Rome}\n",
        ),
    );
    let (code, _, stderr) = p.run(&["run", "route"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("evals/route.yaml:5: `tool-called` expects `args.town`, but the parameters of `get_weather` have no `town` and allow no other (additionalProperties: false; properties: city, days); the assertion can never match"),
        "{stderr}"
    );
    assert!(
        stderr.contains("evals/route.yaml:8: `not-tool-called` expects a call to `get_wether`, which no tool offered to this eval declares (offered: get_weather); the assertion can never match"),
        "{stderr}"
    );
    // A row's own assertion is checked against the row's tools, and named by its line.
    p.write(
        "datasets/route.jsonl",
        "{\"id\": \"a\", \"name\": \"Ada\", \"city\": \"Rome\"}\n{\"id\": \"b\", \"name\": \"Bob\", \"city\": \"Oslo\", \"assert\": {\"type\": \"tool-args\", \"call\": \"get_time\", \"path\": \"$.tz\"}}\n",
    );
    p.write(
        "evals/route.yaml",
        &eval(
            "route@1",
            "datasets/route.jsonl",
            "  - type: tool-called\n    value: get_weather\n    args: {city: \"{{ city }}\"}\n    match: partial\n",
        ),
    );
    let (code, _, stderr) = p.run(&["run", "route"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("datasets/route.jsonl:2: `tool-args` expects a call to `get_time`"),
        "{stderr}"
    );
}

#[test]
fn answers_without_calls_are_scored_on_their_calls_and_their_text() {
    let p = project();
    p.write(
        "evals/route.yaml",
        &eval(
            "route@1",
            "datasets/people.csv",
            "  - type: no-tool-call\n  - type: valid-tool-call\n  - type: contains\n    value: \"{{ city }}\"\n  - type: tool-called\n    value: get_weather\n    weight: 0\n",
        ),
    );
    let (code, stdout, stderr) = p.run(&["run", "route", "--no-cache"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = p.run(&["runs", "show", "latest", "-o", "out.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let out = p.read("out.json");
    assert!(out.contains("\"reason\":\"no tool calls\""), "{out}");
    assert!(
        out.contains("\"reason\":\"no tool calls to check\""),
        "{out}"
    );
    assert!(
        out.contains("\"reason\":\"no call to get_weather (no tool calls)\""),
        "{out}"
    );
}
