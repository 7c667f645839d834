//! The `llamacpp` provider: a local GGUF model served by llama.cpp's `llama-server`, which
//! prompteval finds, starts, shares between providers and stops; or an already running
//! server given by `base_url`.
//!
//! Lifecycle of a managed server:
//! - [`LlamaCppProvider::new`] (at plan time) only checks the settings, finds the binary and
//!   checks that the model file exists; `prompteval validate` starts nothing.
//! - [`crate::provider::Provider::start`] spawns the server on a free port of 127.0.0.1 and
//!   waits for `GET /health` to answer 200. Providers with the same binary, model and
//!   server settings share one server ([`shared_server`]).
//! - The server stops when the last provider using it is dropped (SIGTERM, then SIGKILL
//!   after [`STOP_GRACE`]). The child also gets `PR_SET_PDEATHSIG(SIGKILL)`, so it dies
//!   with prompteval even when prompteval is killed with SIGKILL.

mod config;
mod discover;
pub mod install;
mod provider;
mod registry;
mod ring;
mod server;

pub use config::{
    Mode, ServerSettings, Settings, Target, DEFAULT_CTX_SIZE, DEFAULT_PARALLEL,
    DEFAULT_STARTUP_TIMEOUT, MODES,
};
pub use discover::{find_binary, BinaryNotFound, LookupEnv, LLAMA_SERVER_ENV};
pub use provider::LlamaCppProvider;
pub use registry::shared_server;
pub use ring::LogTail;
pub use server::{ManagedServer, STOP_GRACE};
