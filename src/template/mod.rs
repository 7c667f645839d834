//! Templates: the minijinja environment (strict undefined, no file or environment access)
//! and the rendered prompts it produces.

mod environment;
pub mod message;

pub use environment::*;
