//! Tables fit the terminal: `COLUMNS` when stdout is not one, lower-priority columns
//! dropped first, key columns never wrapped, and matrix outputs as wide as there is room.

use crate::support::project::{settings, TestProject};

/// A project whose prompt names are long enough to wrap at 80 columns before.
fn project() -> TestProject {
    let p = TestProject::basic();
    p.write(
        "prompts/customer-triage/prompt.yaml",
        "description: triage\naliases:\n  production: 1\n",
    );
    p.write(
        "prompts/customer-triage/v1.jinja",
        "Ticket from {{ name }} in {{ city }}: route it.\n",
    );
    p.write(
        "prompts/customer-triage/v2.jinja",
        "Route the ticket of {{ name }} ({{ city }}) to the right team, please.\n",
    );
    p.write(
        "evals/greet.yaml",
        "prompts: [customer-triage@1, customer-triage@2]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\n",
    );
    p
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn run_at(p: &TestProject, columns: &str, args: &[&str]) -> String {
    let out = p.cmd(args).env("COLUMNS", columns).output().expect("run");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn at_80_columns_every_table_fits_and_no_key_wraps() {
    let p = project();
    let stdout = run_at(&p, "80", &["run"]);
    assert!(widest(&stdout) <= 80, "{stdout}");
    assert!(stdout.contains("customer-triage@1  echo"), "{stdout}");
    let list = run_at(&p, "80", &["runs", "list"]);
    assert!(widest(&list) <= 80, "{list}");
    settings(&p).bind(|| insta::assert_snapshot!("run_at_80", stdout));
}

#[test]
fn at_200_columns_the_matrix_shows_more_of_each_output() {
    let p = project();
    let stdout = run_at(&p, "200", &["run"]);
    assert!(widest(&stdout) <= 200, "{stdout}");
    assert!(
        stdout.contains("Route the ticket of Ada (Paris) to the right team, please."),
        "{stdout}"
    );
    let list = run_at(&p, "200", &["runs", "list"]);
    assert!(list.contains("started"), "{list}");
    settings(&p).bind(|| insta::assert_snapshot!("run_at_200", stdout));
}

/// The end-of-run "next:" commands wrapped mid-word at 80 columns: their descriptions are
/// left out when a line would not fit, and kept when it does.
#[test]
fn next_steps_wrapped_at_80_columns() {
    let p = project();
    let stderr_at = |columns: &str| {
        let out = p
            .cmd(&["run"])
            .env("COLUMNS", columns)
            .output()
            .expect("run");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let narrow = stderr_at("80");
    let next: Vec<&str> = narrow.lines().skip_while(|l| *l != "next:").collect();
    assert!(next.len() > 1, "{narrow}");
    assert!(next.iter().all(|l| l.chars().count() <= 80), "{narrow}");
    assert!(!narrow.contains("models compared"), "{narrow}");
    assert!(stderr_at("200").contains("models compared"));
}

/// `prompt list` spilled past the edge at 80 columns: the description is shortened or left
/// out, and the prompt name is never wrapped.
#[test]
fn prompt_list_spilled_past_80_columns() {
    let p = project();
    p.write(
        "prompts/customer-triage/prompt.yaml",
        "description: Route each customer ticket to the team that can answer it, with a reason\naliases:\n  production: 1\n  candidate: 2\n",
    );
    for columns in ["80", "50"] {
        let list = run_at(&p, columns, &["prompt", "list"]);
        assert!(widest(&list) <= columns.parse().unwrap(), "{list}");
        assert!(list.contains("│ customer-triage ┆"), "{list}");
    }
    let shortened = run_at(&p, "100", &["prompt", "list"]);
    assert!(widest(&shortened) <= 100, "{shortened}");
    assert!(shortened.contains("Route each customer"), "{shortened}");
    assert!(shortened.contains('…'), "{shortened}");
    let list = run_at(&p, "80", &["prompt", "list"]);
    assert!(!list.contains("description"), "{list}");
    assert!(run_at(&p, "200", &["prompt", "list"]).contains("with a reason"));
    settings(&p).bind(|| insta::assert_snapshot!("prompt_list_at_80", list));
}

/// `report` and the baseline comparison spilled past 80 columns and wrapped the prompt
/// names; they leave columns out instead, and say which.
#[test]
fn report_and_comparison_wrapped_prompt_names_at_80_columns() {
    let p = project();
    run_at(&p, "80", &["run"]);
    let report = run_at(&p, "80", &["report", "latest"]);
    let tables: Vec<&str> = report
        .lines()
        .filter(|l| !l.contains(" — ") && !l.starts_with("pass rate:") && !l.starts_with("◆"))
        .collect();
    assert!(tables.iter().all(|l| l.chars().count() <= 80), "{report}");
    assert!(report.contains("customer-triage@1 echo"), "{report}");
    let out = p
        .cmd(&["run", "--baseline", "latest", "--summary-only"])
        .env("COLUMNS", "80")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let comparison = stdout.split("vs baseline").nth(1).expect("a comparison");
    assert!(
        widest(comparison.split("\n\n").next().unwrap()) <= 80,
        "{stdout}"
    );
    assert!(comparison.contains(" customer-triage@1 "), "{stdout}");
    assert!(
        comparison.contains("not shown to fit 80 columns"),
        "{stdout}"
    );
}
