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
