//! MLflow over its REST API: tracking and the prompt registry (see `docs/pipeline.md`).

mod batch;
mod client;
mod error;
mod prompt_text;
pub mod prompt_tools;
pub mod prompts;
mod rest;
pub mod tracking;

pub use client::{
    proxied_location, Auth, Client, MlflowSettings, ENV_PASSWORD, ENV_TOKEN, ENV_URI, ENV_USERNAME,
};
pub use error::MlflowError;
pub use tracking::{log_run, TrackingOptions, TrackingReport};
