//! Logging a stored run to MLflow: a parent run per experiment, a child per summary row.

use serde_json::{json, Value};

use super::batch::{metric_key, Metric};
use super::client::Client;
use super::error::MlflowError;
use super::rest::{
    create_run, experiment_id, find_logged, log_batches, status_name, tag_of, upload,
};
use crate::analysis::summary::SummaryRow;
use crate::store::{ResultSource, RunRecord, RunStatus, StoredRun};

/// The tag holding the prompteval run id on every MLflow run it logs.
pub const RUN_ID_TAG: &str = "prompteval.run_id";
/// The tag set on a parent run once everything of it was logged.
pub const COMPLETE_TAG: &str = "prompteval.complete";

/// How to log.
#[derive(Clone, Debug, Default)]
pub struct TrackingOptions {
    /// One experiment for every eval instead of one per eval (named after the eval).
    pub experiment: Option<String>,
}

/// What was logged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackingReport {
    /// One entry per experiment.
    pub parents: Vec<ParentRun>,
}

/// One parent run in one experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct ParentRun {
    /// The experiment's name.
    pub experiment: String,
    /// Its id.
    pub experiment_id: String,
    /// The parent run's id.
    pub run_id: String,
    /// Child run ids, in summary order.
    pub children: Vec<String>,
    /// `true` when this prompteval run was logged there before and nothing was sent.
    pub already_logged: bool,
}

impl TrackingReport {
    /// Child runs logged in total.
    pub fn child_runs(&self) -> usize {
        self.parents.iter().map(|p| p.children.len()).sum()
    }

    /// Whether every experiment had this run already.
    pub fn all_already_logged(&self) -> bool {
        !self.parents.is_empty() && self.parents.iter().all(|p| p.already_logged)
    }
}

/// Milliseconds since the epoch of an RFC 3339 time, or now.
fn millis(rfc3339: Option<&str>) -> i64 {
    let t = rfc3339
        .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
        .unwrap_or_else(std::time::SystemTime::now);
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The metrics of one summary row, named metrics (`metric.NAME`) included: every figure is
/// the summary's own, never recomputed from the results.
pub fn row_metrics(row: &SummaryRow) -> Vec<Metric> {
    let mut m = Vec::new();
    let mut push = |key: &str, value: Option<f64>| {
        if let Some(value) = value.filter(|v| v.is_finite()) {
            m.push(Metric {
                key: key.to_string(),
                value,
            });
        }
    };
    push("pass_rate", row.pass_rate);
    push("score_mean", row.score_mean);
    push("cases", Some(row.cases as f64));
    push("passed", Some(row.passed as f64));
    push("failed", Some(row.failed as f64));
    push("errors", Some(row.errors as f64));
    push("latency_ms_p50", row.latency_ms_p50);
    push("latency_ms_p95", row.latency_ms_p95);
    push("tokens_in", Some(row.tokens_in as f64));
    push("tokens_out", Some(row.tokens_out as f64));
    push("cost_usd", row.cost_usd);
    for (name, value) in &row.metrics {
        push(&format!("metric.{}", metric_key(name)), Some(*value));
    }
    m
}

/// The results of one summary row as JSON lines, streamed from the run's results (only
/// this row's lines are held at once).
fn row_results(run: &StoredRun, row: &SummaryRow) -> Result<Vec<u8>, MlflowError> {
    let read = |source| MlflowError::Read {
        path: run.results_path(),
        source,
    };
    let mut slice = Vec::new();
    for cell in run.results().map_err(read)? {
        let cell = cell.map_err(read)?;
        if cell.eval == row.eval && cell.prompt == row.prompt && cell.model == row.model {
            if let Ok(line) = serde_json::to_string(&cell) {
                slice.extend_from_slice(line.as_bytes());
                slice.push(b'\n');
            }
        }
    }
    Ok(slice)
}

fn common_tags(record: &RunRecord) -> Vec<(String, String)> {
    let mut tags = vec![
        (RUN_ID_TAG.to_string(), record.run_id.clone()),
        (
            "prompteval.version".to_string(),
            record.prompteval_version.clone(),
        ),
        ("mlflow.source.name".to_string(), "prompteval".to_string()),
    ];
    if let Some(git) = &record.git {
        tags.push(("mlflow.source.git.commit".into(), git.commit.clone()));
        tags.push(("prompteval.git_dirty".into(), git.dirty.to_string()));
    }
    tags
}

/// Flattens a JSON value into `prefix.key` params (`provider.params.temperature`).
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Logs a stored run to MLflow. Idempotent: an MLflow run already tagged with this
/// prompteval run id and complete is left alone; an incomplete one (an earlier attempt
/// that failed midway) is deleted and logged again.
pub async fn log_run(
    client: &Client,
    run: &StoredRun,
    options: &TrackingOptions,
) -> Result<TrackingReport, MlflowError> {
    let logging = Logging::new(client, run)?;
    let mut report = TrackingReport::default();
    for (experiment, rows) in experiments(&run.record, options) {
        let experiment_id = experiment_id(client, &experiment).await?;
        let existing = find_logged(client, &experiment_id, &run.record.run_id).await?;
        if let Some((run_id, children)) = complete_parent(&existing) {
            report.parents.push(ParentRun {
                experiment,
                experiment_id,
                run_id,
                children,
                already_logged: true,
            });
            continue;
        }
        for stale in &existing {
            if let Some(id) = stale.pointer("/info/run_id").and_then(Value::as_str) {
                client.post("runs/delete", &json!({"run_id": id})).await?;
            }
        }
        let parent_id = logging.parent(&experiment_id).await?;
        let mut children = Vec::new();
        for row in rows {
            children.push(logging.child(&experiment_id, &parent_id, row).await?);
        }
        logging.complete(&parent_id).await?;
        report.parents.push(ParentRun {
            experiment,
            experiment_id,
            run_id: parent_id,
            children,
            already_logged: false,
        });
    }
    Ok(report)
}

/// The summary rows grouped by experiment, in record order; an experiment per eval (with no
/// rows) when the summary is empty.
fn experiments<'r>(
    record: &'r RunRecord,
    options: &TrackingOptions,
) -> Vec<(String, Vec<&'r SummaryRow>)> {
    let name_of = |eval: &str| {
        options
            .experiment
            .clone()
            .unwrap_or_else(|| eval.to_string())
    };
    let mut groups: Vec<(String, Vec<&SummaryRow>)> = Vec::new();
    for row in &record.summary {
        let name = name_of(&row.eval);
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((name, vec![row])),
        }
    }
    if groups.is_empty() {
        for eval in &record.evals {
            let name = name_of(&eval.name);
            if !groups.iter().any(|(n, _)| *n == name) {
                groups.push((name, Vec::new()));
            }
        }
    }
    groups
}

/// The parent run among `existing` that was logged completely, with its children's ids.
fn complete_parent(existing: &[Value]) -> Option<(String, Vec<String>)> {
    let parent = existing
        .iter()
        .find(|r| tag_of(r, COMPLETE_TAG) == Some("true"))?;
    let parent_id = parent
        .pointer("/info/run_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let children = existing
        .iter()
        .filter(|r| tag_of(r, "mlflow.parentRunId") == Some(parent_id))
        .filter_map(|r| {
            r.pointer("/info/run_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    Some((parent_id.to_string(), children))
}

/// What every MLflow run of one prompteval run shares.
struct Logging<'a> {
    client: &'a Client,
    run: &'a StoredRun,
    start: i64,
    end: i64,
    run_ok: bool,
    tags: Vec<(String, String)>,
    /// The run record with its results (as `--output FILE.json` writes it).
    record_json: Vec<u8>,
    /// The results table (as `--output FILE.csv` writes it).
    table_csv: Vec<u8>,
}

impl<'a> Logging<'a> {
    /// Reads what is logged; nothing is sent yet.
    fn new(client: &'a Client, run: &'a StoredRun) -> Result<Logging<'a>, MlflowError> {
        let record = &run.record;
        let failed = |e: crate::report::ReportError| MlflowError::Read {
            path: run.results_path(),
            source: std::io::Error::other(e.to_string()),
        };
        let mut record_json = Vec::new();
        crate::report::write_json(record, run, &mut record_json).map_err(failed)?;
        let mut table_csv = Vec::new();
        crate::report::write_csv(record, run, &mut table_csv).map_err(failed)?;
        Ok(Logging {
            client,
            run,
            start: millis(Some(&record.started_at)),
            end: millis(record.finished_at.as_deref()),
            run_ok: record.status == RunStatus::Finished,
            tags: common_tags(record),
            record_json,
            table_csv,
        })
    }

    /// Creates the parent run in `experiment_id` with the run's params, metrics and files;
    /// returns its id.
    async fn parent(&self, experiment_id: &str) -> Result<String, MlflowError> {
        let record = &self.run.record;
        let (id, artifacts) = create_run(
            self.client,
            experiment_id,
            &record.run_id,
            self.start,
            &parent_tags(record, &self.tags),
        )
        .await?;
        let (metrics, params) = (parent_metrics(record), parent_params(record));
        log_batches(self.client, &id, metrics, params, Vec::new(), self.end).await?;
        let files = vec![
            ("prompteval/run.json", self.record_json.clone()),
            ("prompteval/results.csv", self.table_csv.clone()),
        ];
        upload(self.client, artifacts.as_deref(), files).await?;
        Ok(id)
    }

    /// Creates and ends the child run of one summary row; returns its id.
    async fn child(
        &self,
        experiment_id: &str,
        parent_id: &str,
        row: &SummaryRow,
    ) -> Result<String, MlflowError> {
        let mut tags = self.tags.clone();
        tags.push(("mlflow.parentRunId".into(), parent_id.to_string()));
        tags.push(("prompteval.eval".into(), row.eval.clone()));
        tags.push(("prompteval.prompt".into(), row.prompt.clone()));
        tags.push(("prompteval.model".into(), row.model.clone()));
        let name = format!("{} · {} · {}", row.eval, row.prompt, row.model);
        let (id, artifacts) =
            create_run(self.client, experiment_id, &name, self.start, &tags).await?;
        let params = child_params(&self.run.record, row);
        log_batches(
            self.client,
            &id,
            row_metrics(row),
            params,
            Vec::new(),
            self.end,
        )
        .await?;
        let slice = row_results(self.run, row)?;
        let files = vec![("prompteval/results.jsonl", slice)];
        upload(self.client, artifacts.as_deref(), files).await?;
        let status = status_name(self.run_ok && row.errors == 0);
        self.client
            .post(
                "runs/update",
                &json!({"run_id": id, "status": status, "end_time": self.end}),
            )
            .await?;
        Ok(id)
    }

    /// Marks the parent run complete (so a later attempt leaves it alone) and ends it.
    async fn complete(&self, parent_id: &str) -> Result<(), MlflowError> {
        self.client
            .post(
                "runs/set-tag",
                &json!({"run_id": parent_id, "key": COMPLETE_TAG, "value": "true"}),
            )
            .await?;
        let status = status_name(self.run_ok);
        self.client
            .post(
                "runs/update",
                &json!({"run_id": parent_id, "status": status, "end_time": self.end}),
            )
            .await?;
        Ok(())
    }
}

/// The parent run's tags: the common ones, the run's status and the gate's verdict.
fn parent_tags(record: &RunRecord, common: &[(String, String)]) -> Vec<(String, String)> {
    let mut tags = common.to_vec();
    tags.push((
        "prompteval.status".into(),
        format!("{:?}", record.status).to_lowercase(),
    ));
    if let Some(gate) = record.verdict() {
        tags.push((
            "prompteval.gate".into(),
            if gate.passed { "passed" } else { "failed" }.into(),
        ));
        if !gate.reasons.is_empty() {
            tags.push(("prompteval.gate_reasons".into(), gate.reasons.join("\n")));
        }
    }
    tags
}

/// The parent run's params: the run's id, settings and evals.
fn parent_params(record: &RunRecord) -> Vec<(String, String)> {
    let evals: Vec<&str> = record.evals.iter().map(|e| e.name.as_str()).collect();
    let settings = &record.settings;
    let mut params = vec![
        ("run_id".to_string(), record.run_id.clone()),
        ("concurrency".to_string(), settings.concurrency.to_string()),
        ("total_cells".to_string(), record.total_cells.to_string()),
        ("evals".to_string(), evals.join(",")),
    ];
    if let Some(limit) = settings.limit {
        params.push(("limit".into(), limit.to_string()));
    }
    if let Some(case) = &settings.case_filter {
        params.push(("case_filter".into(), case.clone()));
    }
    if let Some(f) = settings.fail_under {
        params.push(("fail_under".into(), f.to_string()));
    }
    if let Some(s) = settings.shard {
        params.push(("shard".into(), s.to_string()));
    }
    if let Some(h) = &settings.plan_hash {
        params.push(("plan_hash".into(), h.clone()));
    }
    params
}

/// The parent run's metrics: cells completed, and whether the gate held.
fn parent_metrics(record: &RunRecord) -> Vec<Metric> {
    let mut metrics = vec![Metric {
        key: "completed_cells".into(),
        value: record.completed_cells as f64,
    }];
    if let Some(gate) = record.verdict() {
        metrics.push(Metric {
            key: "gate_passed".into(),
            value: if gate.passed { 1.0 } else { 0.0 },
        });
    }
    metrics
}

/// A child run's params: the row, its prompt version and dataset, its provider's settings.
fn child_params(record: &RunRecord, row: &SummaryRow) -> Vec<(String, String)> {
    let eval = record.evals.iter().find(|e| e.name == row.eval);
    let prompt = eval.and_then(|e| e.prompts.iter().find(|p| p.reference == row.prompt));
    let mut params = vec![
        ("eval".to_string(), row.eval.clone()),
        ("prompt".to_string(), row.prompt.clone()),
        ("model".to_string(), row.model.clone()),
    ];
    if let Some((_, v)) = row.prompt.rsplit_once('@') {
        params.push(("prompt_version".into(), v.to_string()));
    }
    if let Some(p) = prompt {
        params.push(("prompt_requested".into(), p.requested.clone()));
        params.push(("prompt_hash".into(), p.hash.clone()));
    }
    if let Some(e) = eval {
        params.push(("dataset".into(), e.dataset.clone()));
        params.push(("dataset_hash".into(), e.dataset_hash.clone()));
        params.push(("repeat".into(), e.repeat.to_string()));
    }
    if let Some(config) = record.providers.get(&row.model) {
        // Provider settings hold API key variable names, never keys.
        if let Ok(v) = serde_json::to_value(config) {
            flatten("provider", &v, &mut params);
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn unknown_metrics_are_left_out() {
        let row = SummaryRow {
            eval: "e".into(),
            prompt: "p@1".into(),
            model: "m".into(),
            cases: 2,
            passed: 1,
            failed: 0,
            errors: 1,
            pass_rate: Some(1.0),
            score_mean: None,
            latency_ms_p50: Some(3.0),
            latency_ms_p95: None,
            tokens_in: 5,
            tokens_out: 6,
            cost_usd: None,
            ..Default::default()
        };
        let m = row_metrics(&SummaryRow {
            metrics: [("f1".to_string(), 0.75)].into(),
            ..row
        });
        let keys: Vec<&str> = m.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "pass_rate",
                "cases",
                "passed",
                "failed",
                "errors",
                "latency_ms_p50",
                "tokens_in",
                "tokens_out",
                "metric.f1"
            ]
        );
        assert_eq!(m.last().unwrap().value, 0.75);
    }

    /// Issue 12: MLflow recomputed named metrics from the raw results and missed the
    /// members of an `assert-set`, so it logged less than the summary showed. It logs the
    /// summary's figures now.
    #[test]
    fn assert_set_member_metrics_are_logged_as_the_summary_has_them() {
        use crate::analysis::summary::SummaryBuilder;
        use crate::run::events::AssertionResult;
        let named = |kind: &str, metric: &str, score: f64| AssertionResult {
            kind: kind.into(),
            pass: score >= 0.5,
            score,
            reason: String::new(),
            metric: Some(metric.into()),
            weight: 1.0,
            detail: None,
            scorer_error: false,
        };
        let (_, cells) = crate::report::fixture::small();
        let mut cell = cells[0].clone();
        let mut group = named("assert-set", "format", 0.5);
        group.detail = Some(json!({"assertions": [named("contains", "accuracy", 0.25)]}));
        cell.error = None;
        cell.assertions = vec![group];
        let mut summary = SummaryBuilder::new();
        summary.add(&cell);
        let row = &summary.finish()[0];
        assert_eq!(row.metrics["accuracy"], 0.25);
        let logged: BTreeMap<String, f64> = row_metrics(row)
            .into_iter()
            .filter_map(|m| Some((m.key.strip_prefix("metric.")?.to_string(), m.value)))
            .collect();
        assert_eq!(logged, row.metrics);
    }
}
