//! The file watcher of a watch session: one `notify` watcher for the whole session (so a
//! save during a run is not missed), its directories updated after each iteration, and
//! changes gathered into bursts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Watches directories and hands out the paths that changed in them.
pub(super) struct FileWatcher {
    watcher: RecommendedWatcher,
    changes: mpsc::UnboundedReceiver<PathBuf>,
    /// The directories watched now, and whether recursively.
    dirs: BTreeMap<PathBuf, bool>,
}

impl FileWatcher {
    /// A watcher with no directories yet.
    pub(super) fn new() -> notify::Result<FileWatcher> {
        let (tx, changes) = mpsc::unbounded_channel();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if is_change(&event.kind) {
                for path in event.paths {
                    let _ = tx.send(path);
                }
            }
        })?;
        Ok(FileWatcher {
            watcher,
            changes,
            dirs: BTreeMap::new(),
        })
    }

    /// Watches exactly `dirs` (those that exist), keeping the watches already in place;
    /// returns the directories that could not be watched, with why.
    pub(super) fn watch(&mut self, dirs: BTreeMap<PathBuf, bool>) -> Vec<(PathBuf, String)> {
        let gone: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter(|(d, rec)| dirs.get(*d) != Some(rec))
            .map(|(d, _)| d.clone())
            .collect();
        for dir in gone {
            let _ = self.watcher.unwatch(&dir);
            self.dirs.remove(&dir);
        }
        let mut failed = Vec::new();
        for (dir, recursive) in dirs {
            if self.dirs.contains_key(&dir) || !dir.is_dir() {
                continue;
            }
            let mode = match recursive {
                true => RecursiveMode::Recursive,
                false => RecursiveMode::NonRecursive,
            };
            match self.watcher.watch(&dir, mode) {
                Ok(()) => {
                    self.dirs.insert(dir, recursive);
                }
                Err(e) => failed.push((dir, e.to_string())),
            }
        }
        failed
    }

    /// Waits for the next burst of changes: the first changed path `wanted` accepts, then
    /// every path until `quiet` passes without one. `None` when the watcher has stopped.
    pub(super) async fn burst(
        &mut self,
        quiet: Duration,
        wanted: impl Fn(&Path) -> bool,
    ) -> Option<Vec<PathBuf>> {
        let mut paths = Vec::new();
        while paths.is_empty() {
            let path = self.changes.recv().await?;
            if wanted(&path) {
                paths.push(path);
            }
        }
        loop {
            match tokio::time::timeout(quiet, self.changes.recv()).await {
                Ok(Some(path)) => {
                    if wanted(&path) && !paths.contains(&path) {
                        paths.push(path);
                    }
                }
                Ok(None) | Err(_) => return Some(paths),
            }
        }
    }
}

/// Whether an event says a file's content or presence changed. Opening or reading a file
/// (prompteval's own reads, an editor opening one) is not a change: acting on it would
/// re-run forever.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_a_file_is_not_a_change() {
        use notify::event::{CreateKind, ModifyKind, RemoveKind};
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(&EventKind::Remove(RemoveKind::File)));
    }

    #[tokio::test]
    async fn a_burst_of_saves_is_one_change_and_reads_are_none() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let file = root.join("a.txt");
        std::fs::write(&file, "1").unwrap();
        let mut watcher = FileWatcher::new().unwrap();
        assert!(watcher
            .watch(BTreeMap::from([(root.clone(), true)]))
            .is_empty());
        let _ = std::fs::read_to_string(&file).unwrap();
        for text in ["2", "3", "4"] {
            std::fs::write(&file, text).unwrap();
        }
        std::fs::write(root.join("b.txt"), "new").unwrap();
        let quiet = Duration::from_millis(100);
        let burst = watcher.burst(quiet, |p| p.is_file()).await.unwrap();
        assert_eq!(burst, [file.clone(), root.join("b.txt")]);
        // Only a read now: no burst within a second.
        let _ = std::fs::read_to_string(&file).unwrap();
        let next = tokio::time::timeout(Duration::from_secs(1), watcher.burst(quiet, |_| true));
        assert!(next.await.is_err());
    }
}
