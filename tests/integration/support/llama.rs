//! The installed llama-server and a model for the real-model tests, or a skip.

use std::path::{Path, PathBuf};

use prompteval::provider::llamacpp::install;

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
