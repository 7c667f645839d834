//! Datasets: one file of rows, each with an id and its source line.

mod load;

pub use load::*;
