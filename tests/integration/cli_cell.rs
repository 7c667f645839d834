//! `runs show ID --case …`: a cell seen in full from the CLI, the matrix's short reason for
//! a failing cell, `--summary-only` and the legend of ★.

use crate::support::project::{settings, TestProject};

#[test]
fn runs_show_case_prints_the_cell_in_full() {
    let p = TestProject::basic();
    p.run(&["run"]);
    let (code, stdout, stderr) = p.run(&[
        "runs", "show", "latest", "--case", "^a$", "--prompt", "greet@2",
    ]);
    assert_eq!(code, 0, "{stderr}");
    settings(&p).bind(|| insta::assert_snapshot!(stdout));
}

#[test]
fn the_prompt_filter_takes_a_name_or_an_alias_and_the_model_filter_a_model() {
    let p = TestProject::basic();
    p.run(&["run", "--model", "echo", "--model", "echo2"]);
    let count = |args: &[&str]| {
        let mut all = vec!["runs", "show", "latest", "--case", "^c$"];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = p.run(&all);
        assert_eq!(code, 0, "{stderr}");
        stdout
            .lines()
            .filter(|l| l.starts_with("greet · case c · "))
            .count()
    };
    assert_eq!(count(&[]), 4);
    assert_eq!(count(&["--prompt", "greet"]), 4);
    assert_eq!(count(&["--prompt", "greet@production"]), 2);
    assert_eq!(count(&["--prompt", "greet@1", "--model", "echo2"]), 1);
}

#[test]
fn no_matching_case_is_an_input_error_with_a_suggestion() {
    let p = TestProject::basic();
    p.run(&["run"]);
    let (code, _, stderr) = p.run(&["runs", "show", "latest", "--case", "bb"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no cell of run "), "{stderr}");
    assert!(stderr.contains("matches --case \"bb\""), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    let (code, _, stderr) = p.run(&["runs", "show", "latest", "--case", "("]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is not a regular expression"), "{stderr}");
}

#[test]
fn a_failing_cell_in_the_matrix_shows_the_failing_reason() {
    let p = TestProject::basic();
    let (_, stdout, _) = p.run(&["run"]);
    assert!(stdout.contains("✗ does not contain"), "{stdout}");
}

#[test]
fn summary_only_hides_the_matrix_on_run_and_runs_show() {
    let p = TestProject::basic();
    let (_, stdout, _) = p.run(&["run", "--summary-only"]);
    assert!(!stdout.contains("┌"), "{stdout}");
    assert!(
        stdout.contains("★ the best pass rate of this eval"),
        "{stdout}"
    );
    let (code, stdout, stderr) = p.run(&["runs", "show", "latest", "--summary-only"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stdout.contains("┌") && stdout.contains("gate: "),
        "{stdout}"
    );
    // The old name still works.
    let (code, stdout, _) = p.run(&["runs", "show", "latest", "--no-matrix"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("┌"), "{stdout}");
    let (_, stdout, _) = p.run(&["runs", "show", "latest"]);
    assert!(stdout.contains("┌"), "{stdout}");
}
