//! Planning: eval files into a validated [`Plan`] (pure), selection, changed-since, shards.

mod build;
pub mod changed;
mod conversation;
mod error;
mod eval;
mod eval_file;
mod eval_rows;
mod handlers;
mod judges;
mod mcp_servers;
mod problems;
mod rows;
mod selection;
pub mod shard;
mod tool_checks;
mod tools;
mod types;

pub use build::{plan, plan_with, resolve_model, unused_provider_warnings, BuildProvider};
pub use conversation::{PlannedConversation, PlannedTurn, SimulatedUser};
pub use error::SpecError;
pub use problems::PlanError;
pub use rows::Rows;
pub use selection::{eval_names, Selection};
pub use types::{EvalPlan, Plan, PlannedPrompt};
