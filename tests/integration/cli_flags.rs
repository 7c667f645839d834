//! One name for one idea across commands: `--max-rows` for every row limit (the old names
//! kept as hidden aliases), global options under their own heading, `-q` and `-v`
//! everywhere, and no `--no-mlflow` on `runs push`.

use crate::support::project::TestProject;
use crate::support::scripted::{chat, reply, ScriptedServer};

#[test]
fn every_row_limit_is_max_rows_and_the_old_names_still_work() {
    let p = TestProject::basic();
    p.run(&["run"]);
    p.run(&["run", "--prompt", "greet@1"]);
    for args in [
        &["runs", "diff", "latest", "latest", "--max-rows", "5"][..],
        &["runs", "diff", "latest", "latest", "--max-cells", "5"],
        &["report", "latest", "--max-rows", "10"],
        &["report", "latest", "--max-cases", "10"],
        &["runs", "show", "latest", "--max-rows", "1"],
    ] {
        let (code, _, stderr) = p.run(args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
    for cmd in [&["runs", "diff", "--help"][..], &["report", "--help"]] {
        let (_, help, _) = p.run(cmd);
        assert!(help.contains("--max-rows <N>"), "{help}");
        assert!(
            !help.contains("max-cells") && !help.contains("max-cases"),
            "{help}"
        );
    }
}

#[test]
fn global_options_have_their_own_heading_and_runs_push_has_no_no_mlflow() {
    let p = TestProject::basic();
    let (_, help, _) = p.run(&["run", "--help"]);
    let global = help
        .split("Global options:")
        .nth(1)
        .expect("a Global options heading");
    for flag in ["--project <DIR>", "--color <WHEN>", "--quiet", "--verbose"] {
        assert!(
            global.contains(flag),
            "{flag} not under Global options:\n{help}"
        );
    }
    let (_, help, _) = p.run(&["runs", "push", "--help"]);
    assert!(!help.contains("--no-mlflow"), "{help}");
    let (code, _, _) = p.run(&["runs", "push", "latest", "--no-mlflow"]);
    assert_eq!(code, 2);
}

#[test]
fn quiet_leaves_only_results_and_errors() {
    let p = TestProject::basic();
    let (code, stdout, stderr) = p.run(&["-q", "run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("gate: passed"), "{stdout}");
    assert!(
        !stderr.contains("next:") && !stderr.contains("stored in"),
        "{stderr}"
    );
    let (code, _, _) = p.run(&["runs", "list", "--quiet"]);
    assert_eq!(code, 0);
}

#[test]
fn verbose_prints_every_retry() {
    let server = ScriptedServer::start(|n, _| match n {
        0 => reply(500, "{\"error\": \"busy\"}"),
        _ => chat("Hello Ada Bob Rome"),
    });
    let p = TestProject::basic();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: openai\n    model: tiny\n    base_url: {}/v1\n    api_key_env: PROMPTEVAL_IT_FLAGS_KEY\n    concurrency: 1\n    max_retries: 2\n",
            server.url()
        ),
    );
    let out = p
        .cmd(&[
            "run", "--model", "local", "--limit", "1", "--prompt", "greet@1", "-v",
        ])
        .env("PROMPTEVAL_IT_FLAGS_KEY", "sk-test")
        .env("PROMPTEVAL_RETRY_BASE_MS", "1")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("local: retrying after attempt 1: "),
        "{stderr}"
    );
}
