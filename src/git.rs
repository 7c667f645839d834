//! The git commit a run was made at, read with the `git` command when it is there.

use std::path::Path;
use std::process::Command;

use crate::store::GitInfo;

/// The commit and dirty flag of the repository holding `dir`; `None` outside a repository
/// or without git.
pub fn info(dir: &Path) -> Option<GitInfo> {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"])?;
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(GitInfo { commit, dirty })
}
