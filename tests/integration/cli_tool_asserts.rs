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

/// A project whose `mock` provider calls `get_weather` for the row's city with `days`,
/// unless the row brings its own answer, and an eval asserting on the calls.
fn mock_project(days: u32) -> TestProject {
    let p = project();
    p.write(
        "prompteval.yaml",
        &format!("providers:\n  bot:\n    kind: mock\n    response:\n      text: \"\"\n      tool_calls:\n        - name: get_weather\n          arguments: {{city: \"{{{{ city }}}}\", days: {days}}}\n"),
    );
    p.write(
        "datasets/cities.jsonl",
        concat!(
            "{\"id\": \"rome\", \"name\": \"Ada\", \"city\": \"Rome\", \"expected_tools\": [\"get_weather\"]}\n",
            "{\"id\": \"hello\", \"name\": \"Bob\", \"city\": \"Oslo\", \"expected_tools\": [], \"mock_response\": \"Hello\"}\n",
            "{\"id\": \"two\", \"name\": \"Cy\", \"city\": \"Paris\", \"expected_tools\": [\"get_weather\"], \"mock_response\": {\"tool_calls\": [",
            "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, ",
            "{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\": CET\"}]}}\n",
        ),
    );
    p.write(
        "evals/route.yaml",
        &eval(
            "route@1",
            "datasets/cities.jsonl",
            "  - type: tool-call-f1\n  - type: valid-tool-call\n  - type: tool-called\n    value: get_weather\n    args: {city: \"{{ city }}\"}\n    match: partial\n  - type: tool-args\n    call: get_weather\n    path: $.days\n    value: 1\n",
        )
        .replace("models: [echo]", "models: [bot]"),
    );
    p
}

fn reasons(p: &TestProject, case: &str) -> Vec<(bool, String)> {
    let record: serde_json::Value = serde_json::from_str(&p.read("out.json")).unwrap();
    let cell = record["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case_id"] == case)
        .unwrap_or_else(|| panic!("no case {case}"))
        .clone();
    cell["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["pass"].as_bool().unwrap(),
                a["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn mock_tool_calls_are_scored_shown_and_diffed() {
    let p = mock_project(1);
    let (code, stdout, stderr) = p.run(&["run", "route", "--no-cache", "--output", "out.json"]);
    assert_eq!(
        code, 1,
        "two cases fail the default gate:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("→ get_weather("), "{stdout}");
    let rome = reasons(&p, "rome");
    assert!(rome.iter().all(|(pass, _)| *pass), "{rome:?}");
    assert_eq!(rome[2].1, r#"called get_weather(city="Rome", days=1)"#);
    assert_eq!(
        rome[3].1,
        r#"get_weather(city="Rome", days=1): $.days is 1"#
    );
    let hello = reasons(&p, "hello");
    assert_eq!(
        hello[0],
        (
            true,
            "F1 1.00 (precision 1.00, recall 1.00) ≥ threshold 1.00: called [], expected []"
                .to_string()
        )
    );
    assert_eq!(hello[1], (true, "no tool calls to check".to_string()));
    assert_eq!(
        hello[2],
        (false, "no call to get_weather (no tool calls)".to_string())
    );
    let two = reasons(&p, "two");
    assert_eq!(two[0], (false, "F1 0.67 (precision 0.50, recall 1.00) < threshold 1.00: called [get_weather, get_time], expected [get_weather]".to_string()));
    assert!(!two[1].0);
    assert!(
        two[1].1.contains(
            r#"get_time({"tz": CET): `get_time` is not a declared tool (declared: get_weather)"#
        ),
        "{}",
        two[1].1
    );
    assert_eq!(
        two[2],
        (true, r#"called get_weather(city="Paris")"#.to_string())
    );
    assert_eq!(
        two[3],
        (
            false,
            r#"get_weather(city="Paris"): $.days selects nothing in the arguments (expected 1)"#
                .to_string()
        )
    );

    // The same outcomes with another argument: runs diff shows the changed call.
    let first = p.latest_run();
    p.write(
        "prompteval.yaml",
        &p.read("prompteval.yaml").replace("days: 1", "days: 1.0"),
    );
    let (code, _, stderr) = p.run(&["run", "route", "--no-cache"]);
    assert_eq!(code, 1, "{stderr}");
    let (code, stdout, stderr) = p.run(&[
        "runs",
        "diff",
        first.file_name().unwrap().to_str().unwrap(),
        "latest",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("~ route · case rome · route@1 × bot: PASS 1.00 → PASS 1.00"),
        "{stdout}"
    );
    assert!(stdout.contains("    tool calls changed:\n"), "{stdout}");
    // 1.0 still passes `value: 1` (numbers by value), yet the call is not the same.
    assert!(
        stdout.contains("    → get_weather(city=\"Rome\", [-days=1)-]{+days=1.0)+}\n"),
        "{stdout}"
    );
}
