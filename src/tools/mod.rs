//! Tools a prompt declares and the calls a model makes to them.

pub mod call;
pub mod def;
pub mod listed;
pub mod load;
pub mod show;

pub use call::{same_calls, ToolCall};
pub use def::{ServerTools, ToolChoice, ToolDef, ToolSet};
pub use load::{ToolEntry, ToolProblem};
