//! The `llamacpp` kind: a local GGUF model served by llama.cpp's `llama-server` (see
//! `docs/providers.md`).

mod config;
mod discover;
pub mod install;
mod kind;
mod provider;
mod registry;
mod ring;
mod server;

pub use config::{
    Mode, ServerSettings, Settings, Target, DEFAULT_CTX_SIZE, DEFAULT_PARALLEL,
    DEFAULT_STARTUP_TIMEOUT, MODES,
};
pub use discover::{find_binary, BinaryNotFound, LookupEnv, LLAMA_SERVER_ENV};
pub use kind::LlamaCppSettings;
pub use provider::LlamaCppProvider;
pub use registry::{shared_server, KeepServers};
pub use ring::LogTail;
pub use server::{ManagedServer, STOP_GRACE};
