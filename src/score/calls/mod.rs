//! Assertions on the tool calls of an answer or a whole trajectory: one file per type, and
//! the values they share.

pub(crate) mod args;
pub(crate) mod called;
mod common;
mod expect;
pub(crate) mod f1;
mod names;
pub(crate) mod none;
pub(crate) mod sequence;
pub(crate) mod trajectory;
pub(crate) mod valid;
