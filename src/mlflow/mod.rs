//! MLflow over its REST API: tracking (experiments, runs, params, metrics, tags,
//! artifacts) and the prompt registry. Never prints; every failure is an [`MlflowError`]
//! naming the request, the server's status and message, and a hint.

mod batch;
mod client;
mod error;
pub mod prompts;
mod rest;
pub mod tracking;

pub use client::{
    proxied_location, Auth, Client, MlflowSettings, ENV_PASSWORD, ENV_TOKEN, ENV_URI, ENV_USERNAME,
};
pub use error::MlflowError;
pub use tracking::{log_run, TrackingOptions, TrackingReport};
