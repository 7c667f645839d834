//! `prompteval run` end to end on fixture projects: tables, records, report files, the gate
//! and exit codes.

use insta_cmd::assert_cmd_snapshot;

use crate::support::project::{settings, TestProject};

#[test]
fn run_prints_matrix_summary_and_verdict() {
    let p = TestProject::basic();
    settings(&p).bind(|| {
        assert_cmd_snapshot!(p.cmd(&["run"]));
    });
}

/// Issue 19: `-o run.jsonl` writes the record on the first line and one cell per line,
/// the same record and cells as `-o run.json`.
#[test]
fn run_writes_a_jsonl_record_that_streams() {
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["run", "-o", "out/run.json", "-o", "out/run.jsonl"]);
    assert_eq!(code, 0, "{stderr}");
    let mut json: serde_json::Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    let cells = json.as_object_mut().unwrap().remove("results").unwrap();
    let text = p.read("out/run.jsonl");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0], json);
    assert_eq!(lines[0]["summary"][1]["passed"], 3);
    assert_eq!(lines[1..], cells.as_array().unwrap()[..]);
    assert_eq!(lines.len(), 1 + 6);
}

#[test]
fn run_writes_the_record_and_every_report_format() {
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&[
        "run",
        "-o",
        "out/run.json",
        "-o",
        "out/run.csv",
        "-o",
        "out/run.xml",
        "-o",
        "out/run.md",
    ]);
    assert_eq!(code, 0, "{stderr}");

    let record: serde_json::Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    for key in ["run_id", "summary", "results", "gate"] {
        assert!(record.get(key).is_some(), "missing {key}");
    }
    let summary = record["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 2);
    for key in [
        "eval",
        "prompt",
        "model",
        "cases",
        "passed",
        "failed",
        "errors",
        "pass_rate",
        "score_mean",
        "latency_ms_p50",
        "latency_ms_p95",
        "tokens_in",
        "tokens_out",
        "cost_usd",
    ] {
        assert!(summary[0].get(key).is_some(), "summary lacks {key}");
    }
    assert_eq!(summary[0]["prompt"], "greet@1");
    assert_eq!(summary[0]["passed"], 2);
    assert_eq!(summary[1]["prompt"], "greet@2");
    assert_eq!(summary[1]["passed"], 3);
    let results = record["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    for key in [
        "eval",
        "prompt",
        "model",
        "case_id",
        "vars",
        "output",
        "error",
        "latency_ms",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "cached",
        "pass",
        "score",
        "assertions",
    ] {
        assert!(results[0].get(key).is_some(), "result lacks {key}");
    }
    assert!(results[0]["assertions"][0].get("reason").is_some());
    assert_eq!(record["gate"]["passed"], true);

    let run_dir = p.latest_run();
    let stored = std::fs::read_to_string(run_dir.join("results.jsonl")).unwrap();
    assert_eq!(stored.lines().count(), 6);
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(run_json["status"], "finished");
    assert_eq!(
        run_json["evals"][0]["prompts"][0]["hash"]
            .as_str()
            .unwrap()
            .len(),
        "sha256:".len() + 64
    );
    assert!(run_json["evals"][0]["dataset_hash"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    let csv = p.read("out/run.csv");
    assert_eq!(csv.lines().count(), 7, "{csv}");
    let xml = p.read("out/run.xml");
    assert!(xml.contains("<testsuites"), "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 6);
    let md = p.read("out/run.md");
    assert!(md.contains("greet@2"), "{md}");
}

#[test]
fn failed_gate_exits_1_and_says_why() {
    let p = TestProject::basic();
    let (code, stdout, _) = p.run(&["run", "--fail-under", "0.9"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("below min_pass_rate 90.0%"), "{stdout}");
}

#[test]
fn no_gate_means_any_failure_fails() {
    let p = TestProject::basic();
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\n",
    );
    let (code, stdout, _) = p.run(&["run"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("every case must pass"), "{stdout}");
}

#[test]
fn selection_flags_narrow_the_plan() {
    let p = TestProject::basic();
    let (code, stdout, stderr) = p.run(&[
        "run", "greet", "--prompt", "greet@2", "--model", "echo2", "--case", "^[ab]$", "-o",
        "r.json",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let results = record["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results
        .iter()
        .all(|r| r["prompt"] == "greet@2" && r["model"] == "echo2"));

    let (code, _, _) = p.run(&["run", "--limit", "1", "-o", "r.json"]);
    assert_eq!(code, 0);
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    assert_eq!(record["results"].as_array().unwrap().len(), 2);
}

#[test]
fn alias_and_latest_resolve_in_reports() {
    let p = TestProject::basic();
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@production, greet]\nmodels: [echo]\ndataset: datasets/people.csv\ngate: {min_pass_rate: 0}\n",
    );
    let (code, _, stderr) = p.run(&["run", "-o", "r.json"]);
    assert_eq!(code, 0, "{stderr}");
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let prompts: Vec<_> = record["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["prompt"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prompts, ["greet@1", "greet@2"]);
    assert_eq!(
        record["evals"][0]["prompts"][0]["requested"],
        "greet@production"
    );
}

#[test]
fn dataset_values_are_never_rendered_as_templates() {
    let p = TestProject::basic();
    p.write(
        "datasets/people.csv",
        "id,name,city,expected\nx,{{ 7 * 6 }},Paris,{{ 7 * 6 }}\n",
    );
    let (code, _, stderr) = p.run(&["run", "-o", "r.json"]);
    assert_eq!(code, 0, "{stderr}");
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    // Results are stored in the order cells finish: find greet@1's.
    let result = record["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prompt"] == "greet@1")
        .unwrap();
    assert_eq!(result["output"].as_str().unwrap(), "Hello {{ 7 * 6 }}!");
    assert_eq!(result["pass"], true);
}

#[test]
fn runs_list_and_show_read_the_store() {
    let p = TestProject::basic();
    assert_eq!(p.run(&["run"]).0, 0);
    let (code, stdout, _) = p.run(&["runs", "list"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("greet") && stdout.contains("passed"),
        "{stdout}"
    );
    settings(&p).bind(|| {
        assert_cmd_snapshot!(p.cmd(&["runs", "show", "latest"]));
    });
    let (code, _, stderr) = p.run(&["runs", "show", "nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no run `nope`"), "{stderr}");
}

#[test]
fn init_scaffolds_a_project_that_runs() {
    let p = TestProject::empty();
    let (code, stdout, stderr) = p.run(&["init", "demo"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("prompteval.yaml"));
    let demo = p.path().join("demo");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prompteval"))
        .arg("-C")
        .arg(&demo)
        .args(["run", "--no-progress"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, _, stderr) = p.run(&["init", "demo"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn init_scaffolds_a_gate_that_means_something_and_versions_that_differ() {
    let p = TestProject::empty();
    let (code, stdout, stderr) = p.run(&["init", "demo"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.trim_end().ends_with(
            "prompteval prompt alias greeting production 3              # when it is better"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("prompteval prompt new greeting --from greeting@candidate"));
    let demo = p.path().join("demo");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_prompteval"))
            .arg("-C")
            .arg(&demo)
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, stdout, stderr) = run(&["run"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !stdout.contains("min_pass_rate 0.0") && !stdout.contains("0.00"),
        "{stdout}"
    );
    assert!(
        stdout.contains("greeting@1") && stdout.contains("greeting@2"),
        "{stdout}"
    );
    // The steps it prints work as written.
    let (code, _, stderr) = run(&["prompt", "new", "greeting", "--from", "greeting@candidate"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, _) = run(&["prompt", "alias", "greeting", "candidate", "3"]);
    assert_eq!(code, Some(0));
    let (code, stdout, stderr) = run(&["run", "--baseline", "latest"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("greeting@3"), "{stdout}");
    let (code, stdout, _) = run(&["prompt", "alias", "greeting", "production", "3"]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "greeting@production: 1 → 3\n");
    // A candidate that drops the language fails the gate.
    std::fs::write(
        demo.join("prompts/greeting/v3.yaml"),
        "messages:\n  - role: user\n    content: \"Hi {{ name }}\"\n",
    )
    .unwrap();
    let (code, _, _) = run(&["run"]);
    assert_eq!(code, Some(1));
}

#[test]
fn the_shipped_offline_examples_run() {
    // The Gemma eval is covered by `e2e_llamacpp`; these two use the echo model.
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = TestProject::copy_of(repo, &["prompteval.yaml", "prompts", "datasets", "evals"]);
    let (code, stdout, stderr) = p.run(&["run", "triage", "reply", "-o", "r.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let failed: u64 = record["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["failed"].as_u64().unwrap())
        .sum();
    assert!(failed > 0, "the example should show real failures");
    // The zero-shot baseline misses categories: comparing it fails the gate.
    let (code, stdout, _) = p.run(&[
        "run", "triage", "--prompt", "triage@1", "--prompt", "triage@2",
    ]);
    assert_eq!(code, 1, "{stdout}");
}

#[test]
fn completions_and_help_work() {
    let p = TestProject::empty();
    let (code, stdout, _) = p.run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("prompteval"));
    for cmd in [
        &["run", "--help"][..],
        &["prompt", "diff", "--help"],
        &["init", "--help"],
    ] {
        let (code, stdout, _) = p.run(cmd);
        assert_eq!(code, 0);
        assert!(stdout.contains("Example"), "{stdout}");
    }
}

#[test]
fn repeat_flag_overrides_the_evals_repeat() {
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["run", "--repeat", "3", "--no-progress", "-o", "r.json"]);
    assert!(code == 0 || code == 1, "{stderr}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("r.json")).unwrap()).unwrap();
    let results = record["results"].as_array().unwrap();
    let repeats: std::collections::BTreeSet<u64> = results
        .iter()
        .map(|r| r["repeat"].as_u64().unwrap())
        .collect();
    assert_eq!(repeats.into_iter().collect::<Vec<_>>(), [0, 1, 2]);

    let (code, _, stderr) = p.run(&["run", "--repeat", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--repeat: must be at least 1"), "{stderr}");
}

/// Issue 13, item 24: a model output or case id such as `=HYPERLINK(…)` must not run as a
/// formula when `run.csv` is opened in a spreadsheet; `run.raw.csv` keeps the values.
#[test]
fn csv_report_neutralises_formula_injection_and_raw_csv_keeps_values() {
    let p = TestProject::basic();
    p.write(
        "datasets/people.csv",
        "id,name,city,expected\n@a,\"=HYPERLINK(\"\"http://x\"\")\",Paris,x\nb,-1,Oslo,-1\n",
    );
    p.write("prompts/greet/v1.jinja", "{{ name }}");
    let (code, _, stderr) = p.run(&[
        "run",
        "--prompt",
        "greet@1",
        "-o",
        "out/run.csv",
        "-o",
        "out/run.raw.csv",
    ]);
    assert!(code == 0 || code == 1, "{stderr}");
    let rows = |file: &str| -> Vec<(String, String)> {
        let text = p.read(file);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (id, output) = (col("case_id"), col("output"));
        let mut rows: Vec<_> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[id].to_string(), r[output].to_string())
            })
            .collect();
        rows.sort();
        rows
    };
    let pair = |id: &str, out: &str| (id.to_string(), out.to_string());
    assert_eq!(
        rows("out/run.csv"),
        [pair("'@a", "'=HYPERLINK(\"http://x\")"), pair("b", "-1")]
    );
    assert_eq!(
        rows("out/run.raw.csv"),
        [pair("@a", "=HYPERLINK(\"http://x\")"), pair("b", "-1")]
    );
}

/// Issue 13, item 12: a UTF-8 byte-order mark (as some Windows editors write) at the start
/// of any YAML file or template is not part of the first key, and never sent to the model.
#[test]
fn utf8_bom_in_yaml_files_and_templates_is_stripped() {
    const BOM: &str = "\u{feff}";
    let p = TestProject::basic();
    for file in [
        "prompteval.yaml",
        "evals/greet.yaml",
        "prompts/greet/prompt.yaml",
    ] {
        let text = p.read(file);
        p.write(file, &format!("{BOM}{text}"));
    }
    p.write(
        "prompts/greet/v1.jinja",
        &format!("{BOM}Hello {{{{ name }}}}!{{% include \"_partials/sig.jinja\" %}}"),
    );
    p.write("prompts/_partials/sig.jinja", &format!("{BOM} Bye."));
    std::fs::remove_file(p.path().join("prompts/greet/v2.jinja")).unwrap();
    p.write(
        "prompts/greet/v2.yaml",
        &format!("{BOM}messages:\n  - role: user\n    content: \"Hi {{{{ name }}}}\"\n"),
    );
    p.write("prompts.lock", "");
    let (code, _, stderr) = p.run(&["prompt", "lock"]);
    assert_eq!(code, 0, "{stderr}");
    let lock = p.read("prompts.lock");
    p.write("prompts.lock", &format!("{BOM}{lock}"));
    let (code, stdout, stderr) = p.run(&["run", "-o", "out/run.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let record: serde_json::Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    let outputs: Vec<&str> = record["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["output"].as_str().unwrap())
        .collect();
    assert!(outputs.contains(&"Hello Ada! Bye."), "{outputs:?}");
    assert!(outputs.iter().all(|o| !o.contains(BOM)), "{outputs:?}");
}

#[test]
fn optional_variables_under_is_defined_or_default_are_not_required_columns() {
    let p = TestProject::basic();
    p.write(
        "prompts/greet/v2.jinja",
        "Hi {{ name }}{% if hint is defined %} ({{ hint }}){% endif %}{{ tone | default(\"!\") }}\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "--prompt", "greet@2"]);
    assert!(code == 0 || code == 1, "{stderr}");
    assert!(!stderr.contains("hint"), "{stderr}");
    assert!(stdout.contains("greet@2"), "{stdout}");
    // A variable used plainly stays required.
    p.write("prompts/greet/v2.jinja", "Hi {{ name }} {{ hint }}\n");
    let (code, _, stderr) = p.run(&["run", "--prompt", "greet@2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("hint"), "{stderr}");
}
