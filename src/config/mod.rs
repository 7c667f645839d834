//! Loading a project: its root and `prompteval.yaml`, typed YAML with locations, git facts
//! and the files `init` writes.

pub mod depth;
pub mod git;
pub mod locate;
pub mod project;
pub mod scaffold;
pub mod yaml;
