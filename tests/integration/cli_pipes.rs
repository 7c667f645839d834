//! A closed stdout (`prompteval … | head -1`) ends the output quietly: no panic, no error
//! text, and the command's own exit status (issue 13, item 23).

use std::io::Read;
use std::process::Stdio;

use crate::support::project::TestProject;

/// Runs `args` with stdout a pipe whose reader takes the first `read` bytes and then
/// closes it; returns (exit code, stderr). With `read == 0` the reader is closed before the
/// command has started writing, so every write meets the closed pipe.
fn with_closed_stdout(p: &TestProject, args: &[&str], read: usize) -> (i32, String) {
    let mut child = p
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn prompteval");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = vec![0; read];
    stdout.read_exact(&mut first).expect("the first bytes");
    drop(stdout);
    let out = child.wait_with_output().expect("wait for prompteval");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_quiet(what: &str, (code, stderr): (i32, String), expected: i32) {
    assert!(!stderr.contains("panicked"), "{what} panicked:\n{stderr}");
    assert!(
        !stderr.contains("error"),
        "{what} printed an error:\n{stderr}"
    );
    assert!(!stderr.contains("Broken pipe"), "{what}:\n{stderr}");
    assert_eq!(code, expected, "{what}:\n{stderr}");
}

/// A project whose one eval has enough cases for `runs show --all` to print more than a
/// pipe holds (64 KiB), so the reader can close it mid-output.
fn big_project() -> TestProject {
    let p = TestProject::basic();
    let mut csv = String::from("id,name,city,expected\n");
    for i in 0..1500 {
        csv.push_str(&format!("r{i},Person{i},City{i},Person{i}\n"));
    }
    p.write("datasets/people.csv", &csv);
    p
}

#[test]
fn broken_pipe_on_validate_and_cache_stats_does_not_panic() {
    let p = TestProject::basic();
    assert_quiet("validate", with_closed_stdout(&p, &["validate"], 0), 0);
    assert_quiet(
        "cache stats",
        with_closed_stdout(&p, &["cache", "stats"], 0),
        0,
    );
}

#[test]
fn broken_pipe_on_completions_does_not_panic() {
    let p = TestProject::empty();
    let result = with_closed_stdout(&p, &["completions", "bash"], 20);
    assert_quiet("completions bash", result, 0);
}

#[test]
fn broken_pipe_on_runs_show_is_not_a_missing_output_directory() {
    let p = big_project();
    let (code, _, stderr) = p.run(&["run", "--no-cache"]);
    assert_eq!(code, 0, "{stderr}");
    let result = with_closed_stdout(&p, &["runs", "show", "latest", "--all"], 200);
    assert!(!result.1.contains("output directory"), "{}", result.1);
    assert_quiet("runs show latest --all", result, 0);
}

#[test]
fn broken_pipe_during_run_keeps_the_run_and_its_exit_status() {
    let p = TestProject::basic();
    let (code, stderr) = with_closed_stdout(&p, &["run"], 0);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert_eq!(code, 0, "{stderr}");
    let run = std::fs::read_to_string(p.latest_run().join("run.json")).unwrap();
    assert!(run.contains("\"finished\""), "{run}");
}
