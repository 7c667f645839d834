//! Markdown.
use std::io::Write;
use crate::store::{ResultSource, RunRecord};
use super::ReportError;
/// Options.
#[derive(Default)]
pub struct MarkdownOptions {}
/// Writes Markdown.
pub fn write_markdown(_record: &RunRecord, _results: &dyn ResultSource, _o: &MarkdownOptions, _w: &mut dyn Write) -> Result<(), ReportError> { Ok(()) }
