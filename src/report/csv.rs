//! The CSV reports: one row per cell, variables as a compact JSON column.

use std::io::Write;

use crate::run::events::CellResult;
use crate::store::{ResultSource, RunRecord};

use super::common;
use super::error::{named, Failure};
use super::registry::{ReportFormat, ResultReads};
use super::ReportError;

/// The `.csv` format: one row per cell, safe to open in a spreadsheet.
pub(crate) const FORMAT: ReportFormat = ReportFormat {
    name: "csv",
    extensions: &["csv"],
    title: None,
    writer: |input, w| write_csv(input.record, input.results, w),
    uses_comparison: false,
    step_summary: false,
    reads: ResultReads::Once,
};

/// The `.raw.csv` format: the same rows with every value exactly as it was, for programs
/// that read CSV (a spreadsheet may run a value such as `=1+1` as a formula).
pub(crate) const RAW_FORMAT: ReportFormat = ReportFormat {
    name: "csv-raw",
    extensions: &["raw.csv"],
    title: Some("CSV without formula escaping"),
    writer: |input, w| write_csv_raw(input.record, input.results, w),
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

/// The columns added after [`CSV_COLUMNS`] when the run has agent cells (a summary row
/// with agent figures): the model calls made, the whole trajectory on one line
/// (`→ get_weather(city="Rome") ⇒ "18°C" → "It's 18°C."`), and `max_steps` when the loop
/// was cut off. Runs without agents keep the columns they always had.
pub const AGENT_CSV_COLUMNS: [&str; 3] = ["steps", "trajectory", "stopped"];

/// Writes one CSV row per cell (see [`CSV_COLUMNS`]), streaming the results.
///
/// Unknown numbers are empty fields; `failed_assertions` joins `type: reason` with `; `;
/// `vars` holds the row's variables as compact JSON, because they differ between evals.
/// A value that a spreadsheet would run as a formula gets a leading `'` ([`neutralise`]);
/// [`write_csv_raw`] writes the values unchanged.
pub fn write_csv(
    record: &RunRecord,
    results: &dyn ResultSource,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    write_rows("csv", record, results, w, neutralise)
}

/// [`write_csv`] with every value exactly as it was (the `.raw.csv` format).
pub fn write_csv_raw(
    record: &RunRecord,
    results: &dyn ResultSource,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    write_rows("csv-raw", record, results, w, |v| v)
}

fn write_rows(
    format: &'static str,
    record: &RunRecord,
    results: &dyn ResultSource,
    w: &mut dyn Write,
    value: fn(String) -> String,
) -> Result<(), ReportError> {
    named(format, || {
        let mut writer = ::csv::Writer::from_writer(w);
        let agents = record.summary.iter().any(|r| r.agent.is_some());
        let agent_columns: &[&str] = if agents { &AGENT_CSV_COLUMNS } else { &[] };
        writer.write_record(CSV_COLUMNS.iter().chain(agent_columns))?;
        for cell in results.results().map_err(Failure::Read)? {
            let cell = common::read(cell)?;
            let base = row(record, &cell).map(value);
            if agents {
                writer.write_record(base.into_iter().chain(agent_row(&cell).map(value)))?;
            } else {
                writer.write_record(base)?;
            }
        }
        writer.flush()?;
        Ok(())
    })
}

/// Prefixes `'` to a value that starts with `=`, `+`, `-`, `@`, a tab or a carriage
/// return, which spreadsheets would otherwise run as a formula (OWASP, "CSV Injection").
///
/// A value that is a plain number (`-0.5`, `+3`) is left alone: it cannot be a formula,
/// and a spreadsheet should still read it as a number.
pub(crate) fn neutralise(value: String) -> String {
    let risky =
        value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<f64>().is_err();
    if risky {
        format!("'{value}")
    } else {
        value
    }
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

/// The [`AGENT_CSV_COLUMNS`] of one cell: empty for a cell without steps.
fn agent_row(cell: &CellResult) -> [String; 3] {
    if cell.steps.is_empty() {
        return Default::default();
    }
    [
        cell.steps.len().to_string(),
        crate::analysis::trajectory::one_line(&cell.steps, cell.stopped),
        cell.stopped
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
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
    fn csv_values_that_spreadsheets_run_as_formulas_are_neutralised() {
        for risky in [
            "=1+1",
            "+1+2",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "=HYPERLINK(\"x\")",
        ] {
            assert_eq!(
                neutralise(risky.to_string()),
                format!("'{risky}"),
                "{risky:?}"
            );
        }
        for safe in [
            "-0.5",
            "+3",
            "-1e3",
            "ok",
            "",
            "'=quoted",
            " =1",
            "a=b",
            "{\"x\":1}",
        ] {
            assert_eq!(neutralise(safe.to_string()), safe, "{safe:?}");
        }
    }

    #[test]
    fn csv_formula_injection_in_outputs_and_ids_is_written_escaped_or_raw_on_request() {
        let (record, mut results) = fixture::small();
        results[0].output = Some("=HYPERLINK(\"http://x\",\"click\")".to_string());
        results[0].case_id = "@cmd".to_string();
        results[0].score = -0.25;
        let read = |text: String| {
            let mut reader = ::csv::Reader::from_reader(std::io::Cursor::new(text.into_bytes()));
            reader.records().next().unwrap().unwrap()
        };
        let escaped = read(render(&record, &results));
        assert_eq!(&escaped[13], "'=HYPERLINK(\"http://x\",\"click\")");
        assert_eq!(&escaped[3], "'@cmd");
        assert_eq!(&escaped[7], "-0.25");
        let mut raw = Vec::new();
        write_csv_raw(&record, &results, &mut raw).unwrap();
        let raw = read(String::from_utf8(raw).unwrap());
        assert_eq!(&raw[13], "=HYPERLINK(\"http://x\",\"click\")");
        assert_eq!(&raw[3], "@cmd");
    }

    #[test]
    fn agent_runs_add_the_steps_and_the_trajectory() {
        let (record, results) = crate::report::fixture_agent::agent();
        let text = render(&record, &results);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        assert_eq!(headers.len(), CSV_COLUMNS.len() + 3);
        assert_eq!(&headers[18], "steps");
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][18], "2");
        assert_eq!(
            &rows[0][19],
            r#"→ get_weather(city="Rome") ⇒ "Rome: 18°C, sunny" → "It's 18°C and sunny in Rome.""#
        );
        assert_eq!(&rows[0][20], "");
        assert_eq!((&rows[2][18], &rows[2][20]), ("4", "max_steps"));
        let (small, small_results) = fixture::small();
        let plain = render(&small, &small_results);
        assert!(!plain.lines().next().unwrap().contains("steps"));
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
