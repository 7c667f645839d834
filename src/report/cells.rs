//! The cells of the JSON and JSONL reports: each stored line copied as it is when it is
//! the cell as this version writes it, parsed and written again when it is not.

use std::io::Write;

use crate::store::{parse_cell, CellShape, ResultSource};

use super::error::Failure;

/// What goes around each cell: before the first, before each other one, after each.
pub(crate) struct Framing {
    /// Written before the first cell.
    pub first: &'static [u8],
    /// Written before every other cell.
    pub rest: &'static [u8],
    /// Written after every cell.
    pub after: &'static [u8],
}

/// Writes every cell of `results` in `framing`.
///
/// A report's cell is the cell as this version writes it, and a stored line written by
/// this version is exactly that (see [`CellShape`]): copying it saves parsing every cell
/// and writing it again, two thirds of the time of a report of a million cells. A line in
/// another shape (a record of an older version) is parsed and written again, as before.
pub(crate) fn write_cells(
    results: &dyn ResultSource,
    framing: &Framing,
    w: &mut dyn Write,
) -> Result<(), Failure> {
    let shape = CellShape::current();
    let mut lines = results.lines().map_err(Failure::Read)?;
    let mut first = true;
    while let Some(line) = lines.next_line() {
        let line = line.map_err(Failure::Read)?;
        w.write_all(if first { framing.first } else { framing.rest })?;
        first = false;
        if shape.matches(line) {
            w.write_all(line.as_bytes())?;
        } else {
            let cell = parse_cell(line).map_err(Failure::Read)?;
            serde_json::to_writer(&mut *w, &cell).map_err(|e| Failure::Write(e.into()))?;
        }
        w.write_all(framing.after)?;
    }
    Ok(())
}
