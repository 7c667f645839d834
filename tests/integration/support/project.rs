//! Helpers for CLI tests: temporary projects and a snapshot-friendly command.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary project directory.
pub struct TestProject {
    pub dir: tempfile::TempDir,
}

impl TestProject {
    /// An empty directory.
    pub fn empty() -> TestProject {
        TestProject {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A small valid project: one prompt with two versions, a CSV dataset, one eval on echo.
    pub fn basic() -> TestProject {
        let p = TestProject::empty();
        p.write(
            "prompteval.yaml",
            "providers:\n  echo: {kind: echo}\n  echo2: {kind: echo}\n",
        );
        p.write(
            "prompts/greet/prompt.yaml",
            "description: greet someone\naliases:\n  production: 1\n",
        );
        p.write("prompts/greet/v1.jinja", "Hello {{ name }}!\n");
        p.write(
            "prompts/greet/v2.jinja",
            "Hi {{ name }}, welcome to {{ city }}.\n",
        );
        p.write(
            "datasets/people.csv",
            "id,name,city,expected\na,Ada,Paris,Ada\nb,Bob,Oslo,Bob\nc,Cy,Rome,Rome\n",
        );
        p.write(
            "evals/greet.yaml",
            "description: greeting\nprompts: [greet@1, greet@2]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\ngate:\n  min_pass_rate: 0.5\n",
        );
        p
    }

    /// Copies a directory tree (the repository's example project, say) into a new project.
    pub fn copy_of(src: &Path, entries: &[&str]) -> TestProject {
        let p = TestProject::empty();
        for e in entries {
            copy_tree(&src.join(e), &p.path().join(e));
        }
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }

    /// `prompteval -C <project> ARGS…` with colours and the progress bar off.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_prompteval"));
        cmd.arg("-C").arg(self.path()).args(args);
        // The retry base is removed because `provider_kinds` sets it in this process, which
        // all tests share; a test that wants it sets it on its command.
        cmd.env("NO_COLOR", "1")
            .env_remove("PROMPTEVAL_JOBS")
            .env_remove("PROMPTEVAL_RETRY_BASE_MS")
            .env_remove("MLFLOW_TRACKING_URI")
            // Under CI the progress would print plain lines into the captured stderr, and
            // an exported COLUMNS would change every table's width.
            .env_remove("CI")
            .env_remove("COLUMNS");
        cmd.current_dir(self.path());
        cmd
    }

    /// Runs and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().expect("run prompteval");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The newest run directory.
    pub fn latest_run(&self) -> PathBuf {
        let runs = self.path().join(".prompteval/runs");
        let mut dirs: Vec<_> = std::fs::read_dir(runs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        dirs.pop().unwrap()
    }
}

/// Sends Ctrl-C (SIGINT) to a running prompteval and waits: (exit code, stderr).
pub fn interrupt(child: std::process::Child) -> (i32, String) {
    let (code, _, stderr) = signal(child, "INT");
    (code, stderr)
}

/// Sends the signal `name` (`INT`, `TERM`) to a running prompteval and waits: (exit code,
/// stdout, stderr).
pub fn signal(child: std::process::Child, name: &str) -> (i32, String, String) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "could not signal prompteval");
    let out = child.wait_with_output().expect("wait for prompteval");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_tree(src: &Path, dst: &Path) {
    if src.is_dir() {
        std::fs::create_dir_all(dst).unwrap();
        for entry in std::fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &dst.join(entry.file_name()));
        }
    } else {
        std::fs::copy(src, dst).unwrap();
    }
}

/// insta settings that hide what changes between runs: temp paths, run ids, timings.
pub fn settings(project: &TestProject) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    let path = regex_escape(&project.path().display().to_string());
    s.add_filter(&path, "[PROJECT]");
    s.add_filter(r"\d{8}-\d{6}-[0-9a-f]{4}", "[RUN_ID]");
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[TIME]");
    s.add_filter(r"\b\d+(\.\d+)?(ms|s|µs)\b", "[T]");
    s.add_filter(r"\b\d+(\.\d+)? cells/s\b", "[RATE] cells/s");
    // A run's time reads `<1ms`, `3ms` or `1.25s (4.0 cells/s)` as it happens to take.
    s.add_filter(
        r"cells in <?\[T\]( \(\[RATE\] cells/s\))?",
        "cells in [DURATION]",
    );
    s.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[HASH]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}
