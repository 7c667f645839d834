//! Reports: terminal tables and the file formats of [`registry::FORMATS`], on `&mut dyn Write`.

mod across_repeats;
mod cell_detail;
mod cells;
mod common;
mod comparison;
mod csv;
mod error;
mod html;
pub mod human;
mod json;
mod jsonl;
mod junit;
mod markdown;
mod matrix;
mod matrix_cases;
pub mod registry;
mod run_diff;
mod selection_table;
mod table;
mod transcript;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
pub(crate) mod fixture_agent;

pub use self::csv::{write_csv, write_csv_raw, AGENT_CSV_COLUMNS, CSV_COLUMNS};
pub use across_repeats::write_repeats;
pub use cell_detail::{write_cell, CellContext, PromptView};
pub use comparison::{write_comparison, ComparisonOptions};
pub use error::ReportError;
pub use html::{write_html, CaseFlip, FlipDirection, HtmlOptions, HTML_DATA_VERSION};
pub use json::write_json;
pub use junit::write_junit;
pub use markdown::{write_markdown, MarkdownOptions};
pub use matrix::{write_matrix, MatrixOptions};
pub use registry::{output_help, ReportFormat, ReportInput, FORMATS};
pub use run_diff::{write_diff, DiffOptions};
pub use selection_table::{write_selection, SelectionOptions};
pub(crate) use table::table_width;
pub use table::{write_summary, write_verdict, TableOptions};
