//! The git commit a run was made at, read with the `git` command when it is there.

use std::path::Path;
use std::process::Command;

use crate::diagnostic::Diagnostic;
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

/// A git command that failed, for `--baseline git:REV` and `--changed-since REV`.
#[derive(Debug, thiserror::Error)]
#[error("git {args} failed in {}: {message}", dir.display())]
pub struct GitError {
    /// The arguments, joined.
    pub args: String,
    /// The directory it ran in.
    pub dir: std::path::PathBuf,
    /// What git said (its stderr's first line), or why it could not start.
    pub message: String,
}

impl Diagnostic for GitError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        Some(
            "check that the project is in a git repository and that the revision exists (`git rev-parse REV`); in CI, fetch enough history (`fetch-depth: 0`)".into(),
        )
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output, GitError> {
    let err = |message: String| GitError {
        args: args.join(" "),
        dir: dir.to_path_buf(),
        message,
    };
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| err(format!("could not run git: {e}")))?;
    if out.status.success() {
        Ok(out)
    } else if out.status.code() == Some(1) && args.first() == Some(&"merge-base") {
        // `merge-base --is-ancestor` answers "no" with status 1.
        Ok(out)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(err(stderr.lines().next().unwrap_or("").trim().to_string()))
    }
}

/// The full commit id that `rev` names (`HEAD~1`, `main`, a short id).
pub fn resolve_commit(dir: &Path, rev: &str) -> Result<String, GitError> {
    let spec = format!("{rev}^{{commit}}");
    let out = git(dir, &["rev-parse", "--verify", "--quiet", &spec]).map_err(|mut e| {
        if e.message.is_empty() {
            e.message = format!("unknown revision `{rev}`");
        }
        e
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether `ancestor` is `commit` or one of its ancestors.
pub fn is_ancestor(dir: &Path, ancestor: &str, commit: &str) -> Result<bool, GitError> {
    let out = git(dir, &["merge-base", "--is-ancestor", ancestor, commit])?;
    Ok(out.status.success())
}

/// Files that differ between `rev` and the work tree (committed, staged or not), plus
/// untracked files that are not ignored; paths relative to `dir`, with `/` separators.
pub fn changed_files(dir: &Path, rev: &str) -> Result<Vec<String>, GitError> {
    let commit = resolve_commit(dir, rev)?;
    let mut files: Vec<String> = Vec::new();
    for args in [
        vec![
            "diff",
            "--name-only",
            "--no-renames",
            "--relative",
            &commit,
            "--",
            ".",
        ],
        vec!["ls-files", "--others", "--exclude-standard", "--", "."],
    ] {
        let out = git(dir, &args)?;
        files.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The content of `path` (relative to `dir`) at `rev`; `None` when it did not exist there.
pub fn show_file(dir: &Path, rev: &str, path: &str) -> Result<Option<String>, GitError> {
    let commit = resolve_commit(dir, rev)?;
    let spec = format!("{commit}:./{path}");
    match git(dir, &["show", &spec]) {
        Ok(out) => Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned())),
        Err(_) => Ok(None),
    }
}
