//! Test support: writing a small project's files into a temporary directory, and planning
//! it.

use std::path::Path;

/// Writes `text` to `path` under `root`, making its directories.
pub(crate) fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a file path has a parent")).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The plan of the project under `root`, every eval selected.
pub(crate) fn plan(root: &Path) -> crate::plan::Plan {
    let project = crate::config::project::Project::discover(root).unwrap().0;
    let registry = crate::registry::Registry::load(&project.root).unwrap().0;
    let selection = crate::plan::Selection::default();
    crate::plan::plan(&project, &registry, &selection)
        .unwrap()
        .0
}
