//! `prompteval run --baseline`, `--changed-since` and `prompteval runs diff` end to end on
//! the echo provider (issue 6).

use std::process::Command;

use insta_cmd::assert_cmd_snapshot;

use crate::support::project::{settings, TestProject};

/// A project whose eval runs `greet@production`. On echo, version 1 passes 2 of 3 cases
/// (case c expects `Rome`, which only version 2 prints) and version 2 passes all 3.
fn project(production: u32) -> TestProject {
    let p = TestProject::basic();
    p.write(
        "evals/greet.yaml",
        "description: greeting\nprompts: [greet@production]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\ngate:\n  min_pass_rate: 0.5\n",
    );
    set_production(&p, production);
    p
}

fn set_production(p: &TestProject, version: u32) {
    p.write(
        "prompts/greet/prompt.yaml",
        &format!("description: greet someone\naliases:\n  production: {version}\n"),
    );
}

fn git(p: &TestProject, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(p.path())
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn commit_all(p: &TestProject, message: &str) {
    git(p, &["add", "-A"]);
    git(p, &["commit", "-q", "-m", message]);
}

#[test]
fn a_regression_against_the_latest_run_fails_the_gate_and_names_the_rule() {
    let p = project(2);
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 0, "{stderr}");
    set_production(&p, 1);
    settings(&p).bind(|| {
        assert_cmd_snapshot!(p.cmd(&[
            "run",
            "--no-progress",
            "--baseline",
            "latest",
            "--max-regression",
            "0.1",
            "-o",
            "out/report.md"
        ]));
    });
    let md = p.read("out/report.md");
    assert!(md.starts_with("## ❌ gate failed\n"), "{md}");
    assert!(md.contains("### Compared with baseline"), "{md}");
    assert!(
        md.contains("| 🔴 pass→fail | greet | c | greet@1 × echo |"),
        "{md}"
    );
    // Two runs in the same second need not sort by time: find the one with a comparison.
    let comparison = std::fs::read_dir(p.path().join(".prompteval/runs"))
        .unwrap()
        .find_map(|e| std::fs::read_to_string(e.unwrap().path().join("comparison.json")).ok())
        .expect("a comparison.json beside the second run");
    assert!(
        comparison.contains("\"baseline_prompt\": \"greet@2\""),
        "{comparison}"
    );
    // `runs show` prints the stored comparison again.
    let id = std::fs::read_dir(p.path().join(".prompteval/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| d.join("comparison.json").is_file())
        .unwrap();
    let id = id.file_name().unwrap().to_string_lossy().into_owned();
    let (code, stdout, _) = p.run(&["runs", "show", &id]);
    assert_eq!(code, 0);
    assert!(stdout.contains("0.67 (−0.33)"), "{stdout}");
    assert!(stdout.contains("gate: FAILED"), "{stdout}");
}

#[test]
fn a_significance_gate_says_when_the_sample_is_too_small() {
    let p = project(2);
    assert_eq!(p.run(&["run", "-o", "base.json"]).0, 0);
    set_production(&p, 1);
    let summary = p.path().join("step-summary.md");
    let out = p
        .cmd(&["run", "--baseline", "base.json", "--significance", "0.05"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("too few paired cases to tell (n=3)"),
        "{stdout}"
    );
    assert!(stdout.contains("0.67 (−0.33)"), "{stdout}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("## ✅ gate passed\n"), "{md}");
    assert!(md.contains("too few paired cases to tell (n=3)"), "{md}");
}

#[test]
fn an_improvement_passes() {
    let p = project(1);
    assert_eq!(p.run(&["run"]).0, 0);
    set_production(&p, 2);
    let (code, stdout, stderr) = p.run(&["run", "--baseline", "latest", "--max-regression", "0"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("1.00 (+0.33)"), "{stdout}");
    assert!(
        stdout.contains("↑ case c · greet@2 × echo: FAIL → PASS"),
        "{stdout}"
    );
}

#[test]
fn baseline_latest_on_the_very_first_run_runs_and_judges_the_thresholds_alone() {
    let p = project(1);
    let (code, _, stderr) = p.run(&["run", "--baseline", "latest", "--max-regression", "0.1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("baseline latest: no earlier finished run of greet; nothing to compare, the gate's thresholds alone judge this run"),
        "{stderr}"
    );
    assert!(p.path().join(".prompteval/runs").exists());
    // A failing threshold still fails the first run.
    let (code, _, stderr) = p.run(&["run", "--baseline", "latest", "--fail-under", "0.9"]);
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn a_missing_baseline_is_an_input_error_before_any_call() {
    let p = project(1);
    settings(&p).bind(|| {
        assert_cmd_snapshot!(p.cmd(&["run", "--baseline", "abc123"]));
    });
    assert!(!p.path().join(".prompteval/runs").exists());
    let (code, _, stderr) = p.run(&["run", "--max-regression", "0.1"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn changed_since_runs_only_what_changed() {
    let p = project(1);
    p.write(
        "datasets/other.csv",
        "id,name,city,expected\nx,Xi,Lima,Xi\n",
    );
    p.write(
        "evals/other.yaml",
        "prompts: [greet@1]\nmodels: [echo2]\ndataset: datasets/other.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\n",
    );
    git(&p, &["init", "-q"]);
    commit_all(&p, "initial");

    let (code, stdout, stderr) = p.run(&["run", "--changed-since", "HEAD"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("nothing changed since HEAD: no eval to run (2 skipped)"),
        "{stderr}"
    );
    assert!(!p.path().join(".prompteval/runs").exists());

    // Moving an alias changes what `greet` runs; `other` pins greet@1 and stays skipped.
    set_production(&p, 2);
    settings(&p).bind(|| {
        assert_cmd_snapshot!(p.cmd(&[
            "run",
            "--no-progress",
            "--no-matrix",
            "--changed-since",
            "HEAD"
        ]));
    });
    commit_all(&p, "production is 2");

    // A provider setting counts for the evals that use that provider.
    p.write(
        "prompteval.yaml",
        "providers:\n  echo: {kind: echo}\n  echo2: {kind: echo, concurrency: 2}\n",
    );
    let (code, _, stderr) = p.run(&["run", "--changed-since", "HEAD", "--no-matrix"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "running eval other: settings of provider `echo2` in prompteval.yaml changed"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("skipped eval greet"), "{stderr}");

    commit_all(&p, "echo2 concurrency");

    // A shared tool counts for the versions that use it and the rows that add it (issue 15).
    p.write("prompts/_tools/now.yaml", "description: The time.\n");
    p.write(
        "prompts/greet/v3.yaml",
        "prompt: \"Hi {{ name }}\"\ntools: [now]\n",
    );
    p.write(
        "datasets/other.jsonl",
        "{\"id\": \"x\", \"name\": \"Xi\", \"city\": \"Lima\", \"expected\": \"Xi\", \"tools\": [\"now\"]}\n",
    );
    p.write(
        "evals/tools.yaml",
        "prompts: [greet@3]\nmodels: [echo]\ndataset: datasets/people.csv\n",
    );
    p.write(
        "evals/other.yaml",
        "prompts: [greet@1]\nmodels: [echo2]\ndataset: datasets/other.jsonl\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\n",
    );
    commit_all(&p, "tools");
    p.write("prompts/_tools/now.yaml", "description: The time now.\n");
    let (code, _, stderr) = p.run(&["run", "--changed-since", "HEAD", "--no-matrix"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("running eval tools: greet@3 uses the shared tool prompts/_tools/now.yaml, which changed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("running eval other: rows of datasets/other.jsonl use the shared tool prompts/_tools/now.yaml, which changed"),
        "{stderr}"
    );
    assert!(stderr.contains("skipped eval greet"), "{stderr}");

    let (code, _, stderr) = p.run(&["run", "--changed-since", "no-such-rev"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cannot tell what changed since `no-such-rev`"),
        "{stderr}"
    );
}

#[test]
fn baseline_from_git_finds_the_run_made_at_an_ancestor() {
    let p = project(2);
    git(&p, &["init", "-q"]);
    commit_all(&p, "initial");
    assert_eq!(p.run(&["run"]).0, 0);
    set_production(&p, 1);
    commit_all(&p, "back to 1");
    let (code, stdout, stderr) =
        p.run(&["run", "--baseline", "git:HEAD~1", "--max-regression", "0.5"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("baseline: run "), "{stderr}");
    assert!(stdout.contains("0.67 (−0.33)"), "{stdout}");
    // No run was made at or before the root's parent.
    let (code, _, stderr) = p.run(&["run", "--baseline", "git:nope"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn runs_diff_lists_flips_first_with_a_word_diff() {
    let p = project(2);
    assert_eq!(p.run(&["run"]).0, 0);
    let first = p
        .latest_run()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    set_production(&p, 1);
    assert_eq!(p.run(&["run"]).0, 0);
    // Two runs in the same second need not sort by time: name the second one explicitly.
    let second = std::fs::read_dir(p.path().join(".prompteval/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|id| *id != first)
        .unwrap();
    settings(&p).bind(|| {
        assert_cmd_snapshot!(p.cmd(&["runs", "diff", &first, &second]));
    });
    let (code, _, stderr) = p.run(&["runs", "diff", "nope", &second]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn changed_since_follows_partials_through_other_partials() {
    let p = project(1);
    p.write("prompts/_partials/inner.jinja", "Regards");
    p.write(
        "prompts/_partials/sig.jinja",
        "{% include \"_partials/inner.jinja\" %}, the team",
    );
    p.write(
        "prompts/greet/v1.jinja",
        "Hello {{ name }}! {% include \"_partials/sig.jinja\" %}\n",
    );
    git(&p, &["init", "-q"]);
    commit_all(&p, "initial");
    p.write("prompts/_partials/inner.jinja", "Best");
    let (code, _, stderr) = p.run(&["run", "--changed-since", "HEAD", "--no-matrix"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "running eval greet: greet@1 includes prompts/_partials/sig.jinja, which changed"
        ),
        "{stderr}"
    );
}

#[test]
fn a_new_version_against_a_baseline_without_it_is_paired_with_production() {
    // The baseline ran greet@1 and greet@2 (pinned); production is 1.
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 0, "{stderr}");
    p.write("prompts/greet/v3.jinja", "Hi {{ name }} from {{ city }}!\n");
    let (code, stdout, stderr) = p.run(&["run", "--prompt", "greet@3", "--baseline", "latest"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("compared greet@3 on echo with greet@1, which greet@production points at now: the baseline did not run greet@3"),
        "{stderr}"
    );
    assert!(!stdout.contains("n=0"), "{stdout}");
    let id = std::fs::read_dir(p.path().join(".prompteval/runs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|d| d.join("comparison.json").exists())
        .max()
        .expect("a run with a comparison");
    let comparison = std::fs::read_to_string(id.join("comparison.json")).unwrap();
    assert!(
        comparison.contains("\"baseline_prompt\": \"greet@1\""),
        "{comparison}"
    );

    // Production and the new version both compared with greet@1: both rows are paired.
    let first = std::fs::read_dir(p.path().join(".prompteval/runs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .min()
        .unwrap();
    let (code, _, stderr) = p.run(&[
        "run",
        "--prompt",
        "greet@production",
        "--prompt",
        "greet@3",
        "--baseline",
        &first,
    ]);
    assert!(code == 0 || code == 1, "{stderr}");
    let latest = std::fs::read_dir(p.path().join(".prompteval/runs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .max()
        .unwrap();
    let comparison = std::fs::read_to_string(latest.join("comparison.json")).unwrap();
    assert_eq!(
        comparison.matches("\"paired\": 3,").count(),
        2,
        "{comparison}"
    );

    // A baseline that ran greet@production pairs with what the alias pointed at then.
    let p = project(2);
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 0, "{stderr}");
    set_production(&p, 1);
    p.write("prompts/greet/v3.jinja", "Hi {{ name }} from {{ city }}!\n");
    let (_, _, stderr) = p.run(&["run", "--prompt", "greet@3", "--baseline", "latest"]);
    assert!(
        stderr.contains("with the baseline's greet@production (greet@2)"),
        "{stderr}"
    );
}
