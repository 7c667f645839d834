//! Assertions on a whole agent trajectory: its length, its final answer, and whether the
//! answer used what the tools returned.

pub(crate) mod final_answer;
pub(crate) mod limits;
pub(crate) mod result_used;
