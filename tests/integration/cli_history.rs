//! Sharded runs merged into one, and run history: `runs list` filters, `rm`, `gc` (issue 7).

use serde_json::Value;

use crate::support::project::TestProject;

fn record(p: &TestProject, id: &str) -> Value {
    serde_json::from_str(&p.read(&format!(".prompteval/runs/{id}/run.json"))).unwrap()
}

fn run_id(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("run ") && l.contains(" stored in "))
        .unwrap_or_else(|| panic!("{stderr}"));
    line.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn shards_merge_into_the_unsharded_summary() {
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    let whole = record(&p, &run_id(&stderr));

    let mut ids = Vec::new();
    let mut cells = 0;
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (code, _, stderr) = p.run(&["run", "--no-progress", "--shard", &shard]);
        assert!(code == 0 || code == 1, "{stderr}");
        let id = run_id(&stderr);
        let r = record(&p, &id);
        assert_eq!(r["settings"]["shard"]["index"], k);
        assert_eq!(r["settings"]["plan_hash"], whole["settings"]["plan_hash"]);
        cells += r["total_cells"].as_u64().unwrap();
        ids.push(id);
    }
    assert_eq!(
        cells,
        whole["total_cells"].as_u64().unwrap(),
        "every cell in one shard"
    );

    // The same shard twice is refused, so is a run that is not a shard.
    let (code, _, stderr) = p.run(&["runs", "merge", &ids[0], &ids[0]]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("are both shard 1/3"), "{stderr}");
    let (code, _, stderr) = p.run(&["runs", "merge", &ids[0], whole["run_id"].as_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not a shard run"), "{stderr}");

    let mut args = vec!["runs", "merge"];
    args.extend(ids.iter().map(String::as_str));
    let (code, _, stderr) = p.run(&args);
    assert_eq!(code, 0, "{stderr}");
    let merged_id = stderr
        .lines()
        .find_map(|l| l.split("into run ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string();
    let merged = record(&p, &merged_id);
    // Equal but for the timings, which differ run to run.
    let strip = |summary: &Value| {
        let mut rows = summary.as_array().unwrap().clone();
        for row in &mut rows {
            let row = row.as_object_mut().unwrap();
            row.remove("latency_ms_p50");
            row.remove("latency_ms_p95");
        }
        rows
    };
    assert_eq!(strip(&merged["summary"]), strip(&whole["summary"]));
    assert_eq!(merged["gate"]["passed"], whole["gate"]["passed"]);
    assert_eq!(
        merged["settings"]["merged_from"].as_array().unwrap().len(),
        3
    );

    // A run from another plan is refused.
    p.write("prompts/greet/v2.jinja", "Changed {{ name }} {{ city }}\n");
    let (_, _, stderr) = p.run(&["run", "--no-progress", "--shard", "2/3"]);
    let other = run_id(&stderr);
    let (code, _, stderr) = p.run(&["runs", "merge", &ids[0], &other]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("different plan"), "{stderr}");
}

#[test]
fn history_filters_removes_and_keeps_the_newest() {
    let p = TestProject::basic();
    let (_, _, stderr) = p.run(&["run", "--no-progress"]);
    let first = run_id(&stderr);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (_, _, stderr) = p.run(&[
        "run",
        "--no-progress",
        "--prompt",
        "greet@1",
        "--model",
        "echo2",
    ]);
    let second = run_id(&stderr);

    let list = |args: &[&str]| {
        let mut all = vec!["runs", "list"];
        all.extend(args);
        let (code, out, err) = p.run(&all);
        assert_eq!(code, 0, "{err}");
        out
    };
    let out = list(&["--model", "echo2"]);
    assert!(out.contains(&second) && !out.contains(&first), "{out}");
    let out = list(&["--prompt", "greet@2"]);
    assert!(out.contains(&first) && !out.contains(&second), "{out}");
    let out = list(&["--prompt", "greet", "--eval", "greet", "--since", "1h"]);
    assert!(out.contains(&first) && out.contains(&second), "{out}");
    assert!(list(&["--since", "2999-01-01"]).contains("no stored run matches"));
    let (code, _, err) = p.run(&["runs", "list", "--since", "yesterday"]);
    assert_eq!(code, 2, "{err}");

    let (code, out, _) = p.run(&["runs", "gc", "--keep", "1"]);
    assert_eq!(code, 0);
    assert!(out.contains("removed 1 runs; kept the newest 1"), "{out}");
    let (code, out, _) = p.run(&["runs", "rm", "latest"]);
    assert_eq!(code, 0);
    assert!(out.contains(&second), "{out}");
    assert!(list(&[]).contains("no runs yet"));
}
