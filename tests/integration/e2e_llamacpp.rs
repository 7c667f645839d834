//! End to end against the real llama-server and Gemma 3 270M, installed by
//! `scripts/setup-local-model.sh`: the shipped sentiment eval through the CLI, and the
//! server's lifecycle (gone after a run, after a failing assertion, after Ctrl-C), and bad
//! model files. Without the model these tests say so and pass — unless
//! `PROMPTEVAL_REQUIRE_LLAMA=1` (set by `.ci/run`), which makes a missing model a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use prompteval::provider::llamacpp::install;

use crate::support::{
    self,
    project::{self, TestProject},
};

/// The installed binary and model, or `None` (after saying why) when they are missing.
pub(crate) fn installed() -> Option<(PathBuf, PathBuf)> {
    support::llama::installed(install::default_model, "the model")
}

/// A copy of the repository's example project whose `gemma` provider loads the model
/// through a link inside the temporary project, so the server's command line names a
/// path unique to this test.
pub(crate) fn example(model: &Path) -> TestProject {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = TestProject::copy_of(repo, &["prompteval.yaml", "prompts", "datasets", "evals"]);
    std::fs::create_dir_all(p.path().join("models")).unwrap();
    std::os::unix::fs::symlink(model, p.path().join("models/gemma.gguf")).unwrap();
    let config = p.read("prompteval.yaml").replacen(
        "kind: llamacpp",
        "kind: llamacpp\n    model_path: models/gemma.gguf",
        1,
    );
    p.write("prompteval.yaml", &config);
    p
}

/// Processes whose command line mentions this project's directory (its llama-server).
pub(crate) fn servers_of(p: &TestProject) -> Vec<u32> {
    let needle = p.path().display().to_string();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'));
        if cmdline.contains("llama-server") && cmdline.contains(&needle) && !zombie {
            pids.push(pid);
        }
    }
    pids
}

pub(crate) fn assert_no_server_left(p: &TestProject) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !servers_of(p).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        servers_of(p),
        Vec::<u32>::new(),
        "llama-server outlived prompteval"
    );
}

fn pass_rate(record: &serde_json::Value, prompt: &str) -> f64 {
    record["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prompt"] == prompt)
        .and_then(|r| r["pass_rate"].as_f64())
        .unwrap()
}

#[test]
fn the_shipped_sentiment_eval_runs_on_gemma() {
    let Some((_, model)) = installed() else {
        return;
    };
    let p = example(&model);
    let (code, stdout, stderr) = p.run(&["run", "sentiment", "-o", "r.json", "--no-progress"]);
    assert!(code == 0 || code == 1, "exit {code}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("sentiment@1") && stdout.contains("gemma"),
        "{stdout}"
    );
    assert!(stdout.contains("gate:"), "{stdout}");

    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let results = record["results"].as_array().unwrap();
    assert_eq!(results.len(), 64, "32 reviews × 2 prompts");
    for r in results {
        assert!(r["error"].is_null(), "{r}");
        assert!(!r["output"].as_str().unwrap().trim().is_empty(), "{r}");
        assert!(r["tokens_in"].as_u64().unwrap() > 0, "{r}");
        assert!(r["tokens_out"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["assertions"].as_array().unwrap().len(), 1);
    }
    // The story the example tells: few-shot beats zero-shot on this base model.
    let (zero, few) = (
        pass_rate(&record, "sentiment@1"),
        pass_rate(&record, "sentiment@2"),
    );
    assert!(few > zero, "few-shot {few} should beat zero-shot {zero}");
    assert_no_server_left(&p);
}

#[test]
fn a_failing_assertion_exits_1_and_stops_the_server() {
    let Some((_, model)) = installed() else {
        return;
    };
    let p = example(&model);
    p.write(
        "evals/sentiment.yaml",
        "prompts: [sentiment@2]\nmodels: [gemma]\ndataset: datasets/reviews.csv\nassert:\n  - type: equals\n    value: no model says this\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "sentiment", "--limit", "3", "--no-progress"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert_no_server_left(&p);
}

#[test]
fn ctrl_c_keeps_finished_cells_and_stops_the_server() {
    let Some((_, model)) = installed() else {
        return;
    };
    let p = example(&model);
    let child = p
        .cmd(&["run", "sentiment", "--no-progress"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the server answers and at least one cell is stored.
    let deadline = Instant::now() + Duration::from_secs(120);
    let finished_cells = || {
        std::fs::read_dir(p.path().join(".prompteval/runs"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("results.jsonl")).ok())
            .map_or(0, |s| s.lines().count())
    };
    while finished_cells() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !servers_of(&p).is_empty(),
        "the server should be running mid-run"
    );
    let (code, stderr) = project::interrupt(child);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(finished_cells() >= 1);
    assert_no_server_left(&p);
}

#[test]
fn a_missing_model_file_exits_2_naming_it() {
    let Some(_) = installed() else { return };
    let p = example(Path::new("/nonexistent/model.gguf"));
    let (code, _, stderr) = p.run(&["run", "sentiment", "--no-progress"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("models/gemma.gguf"), "{stderr}");
    assert!(!p.path().join(".prompteval/runs").exists());
}

#[test]
fn a_file_that_is_not_a_model_exits_3_with_the_servers_log() {
    let Some((_, model)) = installed() else {
        return;
    };
    let p = example(&model);
    std::fs::remove_file(p.path().join("models/gemma.gguf")).unwrap();
    p.write("models/gemma.gguf", "this is not a GGUF file");
    let (code, stdout, stderr) = p.run(&["run", "sentiment", "--no-progress"]);
    assert_eq!(code, 3, "{stdout}\n{stderr}");
    assert!(stderr.contains("llama-server"), "{stderr}");
    assert_no_server_left(&p);
}

/// Issue 13, item 22: `embeddings: true` on the default local model failed every
/// `similar` call with HTTP 400 "Pooling type 'none' is not OAI compatible"; with the
/// default `pooling: mean` the real server embeds, and the same text scores 1.
#[test]
fn similar_on_the_default_local_model_failed_every_call_with_http_400() {
    let Some((_, model)) = installed() else {
        return;
    };
    let p = TestProject::basic();
    std::fs::create_dir_all(p.path().join("models")).unwrap();
    std::os::unix::fs::symlink(&model, p.path().join("models/gemma.gguf")).unwrap();
    p.write(
        "prompteval.yaml",
        "providers:\n  echo: {kind: echo}\n  embed:\n    kind: llamacpp\n    model_path: models/gemma.gguf\n    embeddings: true\n    parallel: 1\n    ctx_size: 512\n",
    );
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1]\nmodels: [echo]\nembedder: embed\ndataset: datasets/people.csv\nassert:\n  - type: similar\n    value: \"Hello {{ name }}!\"\n    threshold: 0.99\n  - type: not-similar\n    value: \"Lava flows from the volcano in Iceland every spring.\"\n    threshold: 0.99\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "-o", "r.json", "--no-progress"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let results = record["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        let same = &r["assertions"][0];
        assert_eq!(same["pass"], true, "{r}");
        assert!(same["score"].as_f64().unwrap() > 0.999, "{r}");
        let other = &r["assertions"][1];
        assert_eq!(other["pass"], true, "{r}");
        assert!(
            !other["reason"].as_str().unwrap_or("").contains("400"),
            "{r}"
        );
    }
    assert_no_server_left(&p);
}
