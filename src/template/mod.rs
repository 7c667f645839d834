//! Templates: the minijinja environment (strict undefined, no file or environment access)
//! and the rendered prompts it produces. The rules are in `docs/templates.md`.

mod error;
pub mod message;
mod scan;
mod set;
#[cfg(test)]
mod tests;

pub use error::{TemplateError, TemplateErrorKind};
pub(crate) use scan::include_names;
pub use scan::is_template;
pub use set::{template_name, TemplateSet, FUEL};
