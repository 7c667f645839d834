//! Remote providers: the generic core and its layers, the HTTP transport, the retry loop
//! and the limiter.

mod core;
pub mod limiter;
pub mod retry;
pub mod transport;

pub use core::{messages_json, Api, Body, HttpApi, Remote, Retries};
