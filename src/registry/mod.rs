//! The prompt registry: prompts on disk, their numbered versions, aliases, the lock file
//! and diffs between versions. It reads and writes files; it never renders templates.

mod diff;
mod edit;
mod error;
mod load;
mod lock;
mod meta_text;
mod model;
mod reference;
mod resolve;
mod tools;

#[cfg(test)]
mod tests;

pub use diff::diff;
pub use error::{LockViolation, RegistryError};
pub use load::content_hash;
pub use lock::{LockReport, LOCK_FILE, LOCK_FORMAT_VERSION};
pub use model::{
    LockState, MessageTemplate, Params, Prompt, PromptBody, PromptMeta, PromptVersion, Registry,
};
pub use reference::{is_valid_name, ParseRefError, PromptRef, Selector};
pub use tools::{tools_text, with_row_tools, SharedTool, SharedTools};
