//! Test support: writing a small project's files into a temporary directory.

use std::path::Path;

/// Writes `text` to `path` under `root`, making its directories.
pub(crate) fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a file path has a parent")).unwrap();
    std::fs::write(path, text).unwrap();
}
