//! The scoring model end to end (issue 5): structured-output assertions, an eval
//! `transform`, `assert-set` groups, metric-only assertions, per-case thresholds and named
//! metrics in the run record and the terminal summary.

use crate::support::project::TestProject;

/// One prompt that echoes a `doc` column, so each row decides the "model's" output.
fn project(eval: &str, rows: &str) -> TestProject {
    let p = TestProject::empty();
    p.write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
    p.write("prompts/doc/v1.jinja", "{{ doc }}");
    p.write("datasets/docs.jsonl", rows);
    p.write("evals/docs.yaml", eval);
    p
}

const ROWS: &str = concat!(
    r#"{"id": "a", "doc": "{\"city\": \"Paris\", \"n\": 3}", "expected": {"city": "Paris", "n": 3}}"#,
    "\n",
    r#"{"id": "b", "doc": "Sure: {\"city\": \"Lyon\", \"n\": 4}", "expected": {"city": "Paris", "n": 3}, "threshold": 0.3}"#,
    "\n",
    r#"{"id": "c", "doc": "<r>no json</r>", "expected": {"city": "Paris", "n": 3}}"#,
    "\n",
);

const EVAL: &str = r#"prompts: [doc@1]
models: [echo]
dataset: datasets/docs.jsonl
assert:
  - type: contains-json
    metric: has_json
  - type: assert-set
    metric: fields
    threshold: 0.5
    assert:
      - type: json-path
        path: "$.city"
        value: Paris
        transform: "'{' ~ (output | split('{', 1) | last)"
      - type: json-path
        path: "$.n"
        value: 3
        transform: "'{' ~ (output | split('{', 1) | last)"
  - type: is-xml
    weight: 0
    metric: xml
"#;

#[test]
fn structured_assertions_sets_metrics_and_row_thresholds() {
    let p = project(EVAL, ROWS);
    let (code, stdout, stderr) = p.run(&["run", "-o", "out/run.json"]);
    let record: serde_json::Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    let results = record["results"].as_array().unwrap();
    let by_id = |id: &str| {
        results
            .iter()
            .find(|r| r["case_id"] == id)
            .unwrap_or_else(|| panic!("no case {id}"))
    };
    // a: everything holds but the metric-only `is-xml`, which must not fail the case.
    let a = by_id("a");
    assert_eq!(a["pass"], true, "{a:#}");
    assert_eq!(a["assertions"][2]["pass"], false);
    // b: the JSON is found in prose, the set scores 0 (Lyon, 4): without its own threshold
    // the case would fail; with 0.3 its weighted score 0.5 passes.
    let b = by_id("b");
    assert_eq!(b["pass"], true, "{b:#}");
    assert_eq!(b["score"], 0.5);
    assert_eq!(b["assertions"][1]["type"], "assert-set");
    assert_eq!(
        b["assertions"][1]["detail"]["assertions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // c: no JSON at all.
    assert_eq!(by_id("c")["pass"], false);

    let summary = &record["summary"][0];
    assert_eq!(summary["passed"], 2, "{summary:#}");
    let metrics = &summary["metrics"];
    assert_eq!(metrics["has_json"].as_f64().unwrap(), 2.0 / 3.0);
    assert_eq!(metrics["fields"].as_f64().unwrap(), 1.0 / 3.0);
    assert_eq!(metrics["xml"].as_f64().unwrap(), 1.0 / 3.0);
    assert!(
        stdout.contains("has_json"),
        "metrics table missing:\n{stdout}"
    );
    assert_eq!(code, 1, "one case failed and there is no gate: {stderr}");
}

#[test]
fn eval_transform_and_json_diff() {
    let eval = r#"prompts: [doc@1]
models: [echo]
dataset: datasets/docs.jsonl
transform: "'{' ~ (output | split('{', 1) | last) if '{' in output else output"
assert:
  - type: json-diff
    threshold: 0.5
"#;
    let p = project(eval, ROWS);
    let (_, _, stderr) = p.run(&["run", "-o", "out/run.json"]);
    let record: serde_json::Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    // Results are stored in the order cells finish: take them in case order.
    let mut results = record["results"].as_array().unwrap().clone();
    results.sort_by_key(|r| r["case_id"].as_str().unwrap_or_default().to_string());
    let passes: Vec<bool> = results.iter().map(|r| r["pass"] == true).collect();
    assert_eq!(passes, [true, true, false], "{stderr}");
    assert_eq!(
        results[0]["output"], "{\"city\": \"Paris\", \"n\": 3}",
        "the record keeps the raw output"
    );
    let b = &results[1]["assertions"][0];
    // city: 1 - lev("Lyon", "Paris")/5 = 0, n: 1 - 1/4 = 0.75 → 0.375: json-diff fails
    // its own threshold (0.5), but the case passes on the row's threshold (0.3).
    assert_eq!(b["pass"], false, "{b:#}");
    assert_eq!(b["score"], 0.375);
    assert!(b["reason"].as_str().unwrap().contains("/city"), "{b:#}");
}

#[test]
fn bad_shapes_stop_before_any_model_call_with_locations() {
    let eval = r#"prompts: [doc@1]
models: [echo]
dataset: datasets/docs.jsonl
transform: "output |"
assert:
  - type: json-path
    value: 3
"#;
    let p = project(eval, ROWS);
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("evals/docs.yaml:4: invalid `transform`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("evals/docs.yaml:6: `json-path` assertion: needs a `path`"),
        "{stderr}"
    );
    assert!(stderr.contains("path: \"$.answer.city\""), "{stderr}");
}

#[test]
fn a_transform_reading_a_missing_column_is_caught_at_plan_time() {
    let eval = r#"prompts: [doc@1]
models: [echo]
dataset: datasets/docs.jsonl
transform: "output | replace(prefix, '')"
"#;
    let p = project(eval, ROWS);
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("transform uses variable `prefix`"),
        "{stderr}"
    );
}
