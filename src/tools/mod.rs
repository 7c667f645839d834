//! Tools a prompt declares and the calls a model makes to them.

pub mod call;
pub mod def;
pub mod load;

pub use call::ToolCall;
pub use def::{ToolChoice, ToolDef, ToolSet};
pub use load::{ToolEntry, ToolProblem};
