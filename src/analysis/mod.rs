//! Analysis of stored results (pure): the summary, statistics, repeats and the comparison
//! with a baseline run.

pub mod baseline;
pub mod eval_groups;
pub mod latencies;
pub mod model_selection;
pub mod repeats;
pub mod stats;
pub mod summary;
pub mod trajectory;
