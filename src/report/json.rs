//! The JSON report (`--output run.json`): the run record's fields at the top level plus
//! `results`, written one cell at a time.

use std::io::Write;

use serde_json::Value;

use crate::store::{ResultSource, RunRecord};

use super::cells::{write_cells, Framing};
use super::error::{named, Failure};
use super::registry::{ReportFormat, ResultReads};
use super::ReportError;

/// The `.json` format: the run record with every result.
pub(crate) const FORMAT: ReportFormat = ReportFormat {
    name: "json",
    extensions: &["json"],
    title: None,
    writer: |input, w| write_json(input.record, input.results, w),
    uses_comparison: false,
    step_summary: false,
    reads: ResultReads::Once,
};

/// Writes one JSON object: every field of `record` (run_id, status, …, summary, gate),
/// then `"results": [...]` with one cell per line.
///
/// The results are streamed: only the record itself is turned into a JSON value.
pub fn write_json(
    record: &RunRecord,
    results: &dyn ResultSource,
    w: &mut dyn Write,
) -> Result<(), ReportError> {
    named("json", || {
        let fields = match serde_json::to_value(record).map_err(to_io)? {
            Value::Object(fields) => fields,
            other => {
                return Err(Failure::Write(std::io::Error::other(format!(
                    "the run record serialized to {other} instead of an object"
                ))))
            }
        };
        w.write_all(b"{")?;
        // `results` is written below, streamed; a record field of that name would clash.
        for (key, value) in fields.iter().filter(|(key, _)| key.as_str() != "results") {
            serde_json::to_writer(&mut *w, key).map_err(to_io)?;
            w.write_all(b":")?;
            serde_json::to_writer(&mut *w, value).map_err(to_io)?;
            w.write_all(b",\n")?;
        }
        w.write_all(b"\"results\":[")?;
        let framing = Framing {
            first: b"\n",
            rest: b",\n",
            after: b"",
        };
        write_cells(results, &framing, w)?;
        w.write_all(b"\n]}\n")?;
        Ok(())
    })
}

fn to_io(e: serde_json::Error) -> Failure {
    Failure::Write(e.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn render(record: &RunRecord, results: &dyn ResultSource) -> String {
        let mut out = Vec::new();
        write_json(record, results, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn agent_cells_carry_their_steps_and_rows_their_agent_figures() {
        let (record, results) = crate::report::fixture_agent::agent();
        let json: Value = serde_json::from_str(&render(&record, &results)).unwrap();
        assert_eq!(json["summary"][0]["agent"]["cells"], 3);
        let oslo = &json["results"][2];
        assert_eq!(oslo["stopped"], "max_steps");
        assert_eq!(oslo["steps"].as_array().unwrap().len(), 4);
        assert_eq!(
            oslo["steps"][0]["tool_results"][0]["content"],
            "Oslo: -3°C, snow"
        );
        let (small, small_results) = fixture::small();
        let plain = render(&small, &small_results);
        assert!(!plain.contains("\"steps\"") && !plain.contains("\"agent\""));
    }

    #[test]
    fn json_snapshot() {
        let (record, results) = fixture::small();
        insta::assert_snapshot!(render(&record, &results));
    }

    #[test]
    fn output_parses_and_has_the_documented_fields() {
        let (record, results) = fixture::small();
        let text = render(&record, &results);
        let value: Value = serde_json::from_slice(text.as_bytes()).unwrap();
        for key in ["run_id", "status", "summary", "gate", "results", "evals"] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        let summary = value["summary"].as_array().unwrap();
        assert_eq!(summary.len(), 5);
        for key in [
            "eval",
            "prompt",
            "model",
            "cases",
            "passed",
            "failed",
            "errors",
            "pass_rate",
            "score_mean",
            "latency_ms_p50",
            "latency_ms_p95",
            "tokens_in",
            "tokens_out",
            "cost_usd",
        ] {
            assert!(summary[0].get(key).is_some(), "summary misses {key}");
        }
        let cells = value["results"].as_array().unwrap();
        assert_eq!(cells.len(), results.len());
        for key in [
            "eval",
            "prompt",
            "model",
            "case_id",
            "vars",
            "output",
            "error",
            "latency_ms",
            "tokens_in",
            "tokens_out",
            "cost_usd",
            "cached",
            "pass",
            "score",
            "assertions",
        ] {
            assert!(cells[0].get(key).is_some(), "result misses {key}");
        }
        for key in ["type", "pass", "score", "reason"] {
            assert!(cells[0]["assertions"][0].get(key).is_some());
        }
        assert_eq!(value["gate"]["passed"], Value::Bool(false));
        let back: Vec<crate::run::events::CellResult> =
            serde_json::from_value(value["results"].clone()).unwrap();
        assert_eq!(back, results);
    }

    #[test]
    fn tool_calls_are_carried_beside_the_output_and_absent_without_them() {
        let (record, mut results) = fixture::small();
        results[0].tool_calls = vec![crate::tools::ToolCall::from_raw(
            "call_1",
            "get_weather",
            r#"{"city": "Rome"}"#,
        )];
        results[0].finish_reason = Some("tool_calls".into());
        let text = render(&record, &results);
        let doc: Value = serde_json::from_str(&text).unwrap();
        let cells = doc["results"].as_array().unwrap();
        assert_eq!(
            cells[0]["tool_calls"],
            serde_json::json!([{"id": "call_1", "name": "get_weather",
                "arguments": {"city": "Rome"}, "arguments_raw": "{\"city\": \"Rome\"}"}])
        );
        assert_eq!(cells[0]["finish_reason"], "tool_calls");
        assert!(cells[1].get("tool_calls").is_none(), "{}", cells[1]);
        // The results.jsonl line reads back to the same cell.
        let line = serde_json::to_string(&results[0]).unwrap();
        let back: crate::run::events::CellResult = serde_json::from_str(&line).unwrap();
        assert_eq!(back.tool_calls, results[0].tool_calls);
    }

    #[test]
    fn empty_results_are_an_empty_array() {
        let (record, _) = fixture::small();
        let text = render(&record, &Vec::new());
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["results"], serde_json::json!([]));
    }

    #[test]
    fn a_read_failure_is_reported_as_such() {
        struct Broken;
        impl ResultSource for Broken {
            fn results(
                &self,
            ) -> std::io::Result<
                Box<dyn Iterator<Item = std::io::Result<crate::run::events::CellResult>> + '_>,
            > {
                Ok(Box::new(std::iter::once(Err(std::io::Error::other(
                    "line 3: expected value",
                )))))
            }
        }
        let (record, _) = fixture::small();
        let err = write_json(&record, &Broken, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to read the run's results for the json report"
        );
        assert!(matches!(err, ReportError::ReadResults { .. }));
    }
}
