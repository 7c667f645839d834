//! The CSV report: one row per cell, variables as a compact JSON column.

use std::io::Write;

use crate::run::events::CellResult;
use crate::store::{ResultSource, RunRecord};

use super::common;
use super::error::{named, Failure};
use super::registry::{ReportFormat, ResultReads};
use super::ReportError;

/// The `.csv` format: one row per cell.
pub(crate) const FORMAT: ReportFormat = ReportFormat {
    name: "csv",
    extensions: &["csv"],
    title: None,
    writer: |input, w| write_csv(input.record, input.results, w),
    uses_comparison: false,
    step_summary: false,
    reads: ResultReads::Once,
};

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 18] = [
    "eval",
    "prompt",
    "model",
    "case_id",
    "repeat",
    "status",
    "pass",
    "score",
    "latency_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "cached",
    "output",
    "error",
    "failed_assertions",
    "vars",
    "run_id",
];

/// Writes one CSV row per cell (see [`CSV_COLUMNS`]), streaming the results.
///
/// Unknown numbers are empty fields; `failed_assertions` joins `type: reason` with `; `;
/// `vars` holds the row's variables as compact JSON, because they differ between evals.
pub fn write_csv(
    record: &RunRecord,
    results: &dyn ResultSource,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("csv", || {
        let mut writer = ::csv::Writer::from_writer(w);
        writer.write_record(CSV_COLUMNS)?;
        for cell in results.results().map_err(Failure::Read)? {
            let cell = common::read(cell)?;
            writer.write_record(row(record, &cell))?;
        }
        writer.flush()?;
        Ok(())
    })
}

fn row(record: &RunRecord, cell: &CellResult) -> [String; 18] {
    let opt = |v: Option<String>| v.unwrap_or_default();
    [
        cell.eval.clone(),
        cell.prompt.clone(),
        cell.model.clone(),
        cell.case_id.clone(),
        cell.repeat.to_string(),
        cell.status().label().to_ascii_lowercase(),
        cell.pass.to_string(),
        number(cell.score),
        number(cell.latency_ms),
        opt(cell.tokens_in.map(|t| t.to_string())),
        opt(cell.tokens_out.map(|t| t.to_string())),
        opt(cell.cost_usd.map(number)),
        cell.cached.to_string(),
        opt(cell.output.clone()),
        opt(cell.error.clone()),
        common::failed_reasons(cell).collect::<Vec<_>>().join("; "),
        serde_json::to_string(&*cell.vars).unwrap_or_default(),
        record.run_id.clone(),
    ]
}

/// The shortest text that reads back as the same number; empty when not finite.
fn number(x: f64) -> String {
    if x.is_finite() {
        x.to_string()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn render(record: &RunRecord, results: &dyn ResultSource) -> String {
        let mut out = Vec::new();
        write_csv(record, results, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_snapshot() {
        let (record, results) = fixture::small();
        insta::assert_snapshot!(render(&record, &results));
    }

    #[test]
    fn reads_back_with_one_row_per_cell() {
        let (record, results) = fixture::small();
        let text = render(&record, &results);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap(), CSV_COLUMNS.as_slice());
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), results.len());
        let multi_line = rows
            .iter()
            .find(|r| r[13].contains('\n'))
            .expect("the multi-line output survives");
        assert!(multi_line[13].starts_with("Let me think"));
        let error = rows.iter().find(|r| &r[5] == "error").unwrap();
        assert!(error[14].contains("HTTP 503"));
        assert_eq!(&error[13], "");
        let vars: serde_json::Value = serde_json::from_str(&rows[0][16]).unwrap();
        assert_eq!(vars["expected"], "positive");
    }
}
