//! The response cache: content-addressed responses under `.prompteval/cache`.

mod store;

pub use store::*;
