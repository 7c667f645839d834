//! The installed llama-server and a model for the real-model tests, or a skip.

use std::path::{Path, PathBuf};

use prompteval::provider::llamacpp::install;

use super::project::TestProject;

/// The installed binary and the model `model_of` names in the cache, or `None` (after
/// saying why) when either is missing; a failure instead under `PROMPTEVAL_REQUIRE_LLAMA=1`
/// (set by `.ci/run`). `what` names the model in the message.
pub fn installed(model_of: fn(&Path) -> PathBuf, what: &str) -> Option<(PathBuf, PathBuf)> {
    let dir = install::cache_dir();
    let (bin, model) = (install::cached_binary(&dir), model_of(&dir));
    if bin.exists() && model.exists() {
        return Some((bin, model));
    }
    let why = format!(
        "llama-server or {what} is missing under {} (run scripts/setup-local-model.sh)",
        dir.display()
    );
    if std::env::var("PROMPTEVAL_REQUIRE_LLAMA").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// A copy of the repository's example project whose `smollm2` provider loads `model`
/// through a link inside the temporary project.
pub fn smollm2_example(model: &Path) -> TestProject {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = TestProject::copy_of(
        repo,
        &[
            "prompteval.yaml",
            "prompts",
            "datasets",
            "evals",
            "templates",
        ],
    );
    std::fs::create_dir_all(p.path().join("models")).unwrap();
    std::os::unix::fs::symlink(model, p.path().join("models/smollm2.gguf")).unwrap();
    let config = p.read("prompteval.yaml");
    let line = format!(
        "model_path: ~/.cache/prompteval/models/{}",
        install::CHAT_MODEL_FILE
    );
    assert!(
        config.contains(&line),
        "prompteval.yaml should hold `{line}`"
    );
    p.write(
        "prompteval.yaml",
        &config.replacen(&line, "model_path: models/smollm2.gguf", 1),
    );
    p
}

/// The cells of the project's only run, from its `results.jsonl`.
pub fn run_cells(p: &TestProject) -> Vec<serde_json::Value> {
    let runs = p.path().join(".prompteval/runs");
    let run = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap();
    let text = std::fs::read_to_string(run.path().join("results.jsonl")).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
