//! Matrix.
use std::io::Write;
use crate::store::{ResultSource, RunRecord};
use super::ReportError;
/// Options.
#[derive(Default)]
pub struct MatrixOptions {}
/// Writes the matrix.
pub fn write_matrix(_record: &RunRecord, _results: &dyn ResultSource, _o: &MatrixOptions, _w: &mut dyn Write) -> Result<(), ReportError> { Ok(()) }
