//! Provider settings: the shared ones and each kind's, and how they are read and written.

mod config;
pub(crate) mod de;
pub(crate) mod ser;
#[cfg(test)]
mod tests;

pub use config::{is_program_path, CommonSettings, Price, ProviderConfig};
