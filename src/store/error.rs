//! The store's error type.

use crate::diagnostic::{Diagnostic, ExitClass};
use std::io;
use std::path::{Path, PathBuf};

/// A problem with the run store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing a file failed.
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What was being done (`write`, `read`, `create`).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A run record that cannot be parsed.
    #[error("{}: invalid run record", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// No run with that id.
    #[error("no run `{id}` in {}", dir.display())]
    NotFound {
        /// As given.
        id: String,
        /// The runs directory.
        dir: PathBuf,
    },
}

impl StoreError {
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }
}

impl Diagnostic for StoreError {
    /// A run that does not exist is input; a store that cannot be read or written is not.
    fn exit_class(&self) -> ExitClass {
        match self {
            StoreError::NotFound { .. } => ExitClass::Input,
            _ => ExitClass::Runtime,
        }
    }

    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            StoreError::NotFound { .. } => Some(
                "`prompteval runs list` shows the stored runs; `latest` names the newest".into(),
            ),
            _ => None,
        }
    }
}
