//! The self-contained HTML model-selection report (`prompteval report RUN --html FILE`,
//! `--output report.html`).

mod data;
mod escape;
mod page;
mod plots;
mod summary;

pub use data::{CaseFlip, FlipDirection, HtmlOptions, HTML_DATA_VERSION};
pub use page::write_html;
pub(crate) use page::FORMAT;
