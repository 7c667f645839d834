//! `prompteval report`: the model-selection tables of a stored run, and the structure of
//! its self-contained HTML file.

use insta_cmd::assert_cmd_snapshot;

use crate::support::project::TestProject;
use crate::support::report_fixture;

fn project_with_run() -> TestProject {
    let p = TestProject::empty();
    p.write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
    report_fixture::write_run(
        &p.path()
            .join(".prompteval/runs")
            .join(report_fixture::RUN_ID),
    );
    p
}

#[test]
fn report_prints_the_selection_tables() {
    let p = project_with_run();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&p.path().display().to_string()), "[PROJECT]");
    settings.bind(|| assert_cmd_snapshot!(p.cmd(&["report", "latest"])));
}

#[test]
fn report_reads_a_run_directory_by_path() {
    let p = project_with_run();
    let dir = format!(".prompteval/runs/{}", report_fixture::RUN_ID);
    let (code, stdout, stderr) = p.run(&["report", &dir]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(report_fixture::RUN_ID));
}

#[test]
fn unknown_run_is_an_input_error_with_a_hint() {
    let p = project_with_run();
    let (code, _, stderr) = p.run(&["report", "nope"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no run `nope`"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

/// The page without its embedded data, where outputs may quote any URL they like.
fn page_without_data(html: &str) -> String {
    let start = html
        .find(r#"<script type="application/json" id="report-data">"#)
        .unwrap();
    let end = start + html[start..].find("</script>").unwrap();
    format!("{}{}", &html[..start], &html[end..])
}

#[test]
fn html_is_one_self_contained_file_with_the_data() {
    let p = project_with_run();
    let (code, stdout, stderr) = p.run(&["report", "latest", "--html", "out/report.html"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote out/report.html"), "{stdout}");
    let html = p.read("out/report.html");

    // Nothing to fetch: no external scripts, styles, images, fonts or links.
    let page = page_without_data(&html);
    for needle in [
        "http://", "https://", " src=", " href=", "<link", "@import", "url(",
    ] {
        assert!(!page.contains(needle), "the page references {needle}");
    }
    assert_eq!(
        html.matches("<script").count(),
        2,
        "one data block, one script"
    );
    // The hostile output stays inside the data: `</` never appears in it.
    let start = html.find(r#"id="report-data">"#).unwrap() + r#"id="report-data">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert!(!html[start..end].contains("</"));
    let cells = data["cells"].as_array().unwrap();
    assert_eq!(cells.len(), report_fixture::cells().len());
    assert!(cells.iter().any(|c| c["output"]
        .as_str()
        .is_some_and(|o| o.starts_with("</script>"))));
    // Every combination is a row and a point on both plots.
    let combinations: usize = data["selection"]["evals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["candidates"].as_array().unwrap().len())
        .sum();
    assert_eq!(combinations, 8);
    assert_eq!(html.matches(r#"<tr class="cand""#).count(), combinations);
    assert_eq!(
        html.matches(r#"<circle class="pt"#).count(),
        2 * combinations
    );
    // Unknown prices are never shown as free.
    let local = data["selection"]["evals"][0]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["model"] == "local")
        .unwrap();
    assert!(local["cost_per_1k_usd"].is_null());
    assert!(local["front_cost"].is_null());
}

/// The embedded data of an HTML report.
fn embedded_data(html: &str) -> serde_json::Value {
    let start = html.find(r#"id="report-data">"#).unwrap() + r#"id="report-data">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// `(case_id, prompt, model, flip)` of every flipped cell in an HTML report.
fn flips(html: &str) -> Vec<(String, String, String, String)> {
    let data = embedded_data(html);
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let mut flips: Vec<_> = data["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("flip").is_some())
        .map(|c| {
            (
                text(&c["case_id"]),
                text(&c["prompt"]),
                text(&c["model"]),
                text(&c["flip"]),
            )
        })
        .collect();
    flips.sort();
    flips
}

/// Issue 12: the HTML report of a run made with `--baseline` marks the flipped cases,
/// read from the stored comparison, whether written by `run -o report.html`, by
/// `report RUN --html` or by `runs show RUN -o`.
#[test]
fn html_of_a_run_with_a_baseline_shows_its_flips() {
    let p = TestProject::basic();
    let eval = "description: greeting\nprompts: [greet@production]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\ngate:\n  min_pass_rate: 0.5\n";
    p.write("evals/greet.yaml", eval);
    let production = |v: u32| {
        p.write(
            "prompts/greet/prompt.yaml",
            &format!("description: greet someone\naliases:\n  production: {v}\n"),
        )
    };
    // On echo, version 2 passes every case; version 1 fails case c (it never says Rome).
    production(2);
    let (code, _, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = p.run(&["report", "latest", "--html", "before.html"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(flips(&p.read("before.html")).is_empty());

    production(1);
    let (code, _, stderr) = p.run(&[
        "run",
        "--no-progress",
        "--baseline",
        "latest",
        "-o",
        "out/run.html",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("wrote out/run.html"), "{stderr}");
    let expected = vec![(
        "c".to_string(),
        "greet@1".to_string(),
        "echo".to_string(),
        "pass_to_fail".to_string(),
    )];
    let from_run = p.read("out/run.html");
    assert_eq!(flips(&from_run), expected);

    let id = std::fs::read_dir(p.path().join(".prompteval/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.join("comparison.json").is_file())
        .expect("a comparison.json beside the second run");
    let id = id.file_name().unwrap().to_string_lossy().into_owned();
    let (code, _, stderr) = p.run(&["report", &id, "--html", "report.html"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = p.run(&["runs", "show", &id, "-o", "show.html"]);
    assert_eq!(code, 0, "{stderr}");
    // One page, whichever command writes it.
    assert_eq!(p.read("report.html"), from_run);
    assert_eq!(p.read("show.html"), from_run);
}
