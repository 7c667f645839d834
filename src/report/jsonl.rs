//! The JSONL report (`--output run.jsonl`): the run record on the first line, then one
//! cell per line, for tools that read a large run as a stream.

use std::io::Write;

use crate::store::{ResultSource, RunRecord};

use super::cells::{write_cells, Framing};
use super::error::{named, Failure};
use super::registry::{ReportFormat, ResultReads};
use super::ReportError;

/// The `.jsonl` format: the record, then every result.
pub(crate) const FORMAT: ReportFormat = ReportFormat {
    name: "jsonl",
    extensions: &["jsonl"],
    title: None,
    writer: |input, w| write_jsonl(input.record, input.results, w),
    uses_comparison: false,
    step_summary: false,
    reads: ResultReads::Once,
};

/// Writes the run record (`run_id`, `status`, …, `summary`, `gate`: the fields of the
/// `.json` report but `results`) as the first line, then one line per cell, as in the
/// store's `results.jsonl`. Nothing is held but one cell.
pub fn write_jsonl(
    record: &RunRecord,
    results: &dyn ResultSource,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("jsonl", || {
        serde_json::to_writer(&mut *w, record).map_err(to_io)?;
        w.write_all(b"\n")?;
        let framing = Framing {
            first: b"",
            rest: b"",
            after: b"\n",
        };
        write_cells(results, &framing, w)
    })
}

fn to_io(e: serde_json::Error) -> Failure {
    Failure::Write(e.into())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::report::fixture;

    /// Issue 19: the first line is the record (as the `.json` report without `results`),
    /// every other line one cell, the same as the `.json` report's.
    #[test]
    fn the_record_then_one_cell_per_line() {
        let (record, results) = fixture::small();
        let mut out = Vec::new();
        write_jsonl(&record, &results, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut json = Vec::new();
        crate::report::write_json(&record, &results, &mut json).unwrap();
        let mut json: Value = serde_json::from_slice(&json).unwrap();
        let cells = json.as_object_mut().unwrap().remove("results").unwrap();
        assert_eq!(lines[0], json);
        assert_eq!(lines[1..], cells.as_array().unwrap()[..]);
        assert_eq!(lines.len(), 1 + results.len());
        assert!(text.ends_with("}\n"));
    }
}
