//! Logging a stored run to MLflow tracking: one experiment per eval (or one named), a parent
//! run per prompteval run and experiment, a child run per eval × prompt × model with params,
//! metrics, tags and artifacts, sent in `runs/log-batch` requests within MLflow's limits.

use serde_json::{json, Value};

use super::client::{proxied_location, Client};
use super::error::MlflowError;
use crate::analysis::summary::SummaryRow;
use crate::store::{ResultSource, RunRecord, RunStatus, StoredRun};

/// Metrics per `log-batch` request (MLflow's `MAX_METRICS_PER_BATCH`).
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Params per request (`MAX_PARAMS_TAGS_PER_BATCH`).
pub const MAX_PARAMS_PER_BATCH: usize = 100;
/// Tags per request (`MAX_PARAMS_TAGS_PER_BATCH`).
pub const MAX_TAGS_PER_BATCH: usize = 100;
/// Metrics + params + tags per request (`MAX_ENTITIES_PER_BATCH`).
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// Bytes per request (`MAX_BATCH_LOG_REQUEST_SIZE`); we stay below it with room for the
/// envelope.
pub const MAX_BATCH_BYTES: usize = 1_000_000;
/// Characters of a param value (`MAX_PARAM_VAL_LENGTH`); longer values are cut.
pub const MAX_PARAM_VALUE: usize = 6000;
/// Characters of a tag value (`MAX_TAG_VAL_LENGTH`); longer values are cut.
pub const MAX_TAG_VALUE: usize = 8000;

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

/// A metric for `log-batch`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The key.
    pub key: String,
    /// The value (finite).
    pub value: f64,
}

/// One `log-batch` request's worth of data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Metrics.
    pub metrics: Vec<Metric>,
    /// Params.
    pub params: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

impl Batch {
    fn entities(&self) -> usize {
        self.metrics.len() + self.params.len() + self.tags.len()
    }
}

/// Rough JSON size of one entry, generous enough to stay under the byte limit.
fn entry_size(key: &str, value: &str) -> usize {
    // {"key":"…","value":"…","timestamp":…,"step":0}, with escapes up to 6 bytes a char.
    64 + key.len() * 2 + value.len() * 2
}

/// Splits metrics, params and tags into `log-batch` requests that each stay within MLflow's
/// limits: 1000 metrics, 100 params, 100 tags, 1000 entities and under 1 MB.
pub fn batches(
    metrics: Vec<Metric>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
) -> Vec<Batch> {
    let mut out = vec![Batch::default()];
    let mut size = 0usize;
    let budget = MAX_BATCH_BYTES - 4096;
    enum Item {
        M(Metric),
        P(String, String),
        T(String, String),
    }
    let items = params
        .into_iter()
        .map(|(k, v)| Item::P(k, v))
        .chain(tags.into_iter().map(|(k, v)| Item::T(k, v)))
        .chain(metrics.into_iter().map(Item::M));
    for item in items {
        let item_size = match &item {
            Item::M(m) => entry_size(&m.key, "0.00000000000000000"),
            Item::P(k, v) | Item::T(k, v) => entry_size(k, v),
        };
        let current = out.last_mut().expect("never empty");
        let full = current.entities() >= MAX_ENTITIES_PER_BATCH
            || size + item_size > budget
            || match &item {
                Item::M(_) => current.metrics.len() >= MAX_METRICS_PER_BATCH,
                Item::P(..) => current.params.len() >= MAX_PARAMS_PER_BATCH,
                Item::T(..) => current.tags.len() >= MAX_TAGS_PER_BATCH,
            };
        if full && current.entities() > 0 {
            out.push(Batch::default());
            size = 0;
        }
        let current = out.last_mut().expect("never empty");
        size += item_size;
        match item {
            Item::M(m) => current.metrics.push(m),
            Item::P(k, v) => current.params.push((k, v)),
            Item::T(k, v) => current.tags.push((k, v)),
        }
    }
    out.retain(|b| b.entities() > 0);
    out
}

/// Cuts `value` to at most `max` characters.
fn cut(value: String, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((i, _)) => value[..i].to_string(),
        None => value,
    }
}

/// A metric key MLflow accepts: letters, digits, `_ - . space /`; others become `_`.
pub fn metric_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-. /".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
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

fn status_name(ok: bool) -> &'static str {
    if ok {
        "FINISHED"
    } else {
        "FAILED"
    }
}

fn kv(pairs: &[(String, String)], max: usize) -> Vec<Value> {
    pairs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": cut(v.clone(), max)}))
        .collect()
}

async fn log_batches(
    client: &Client,
    run_id: &str,
    metrics: Vec<Metric>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    timestamp: i64,
) -> Result<(), MlflowError> {
    for batch in batches(metrics, params, tags) {
        let metrics: Vec<Value> = batch
            .metrics
            .iter()
            .map(|m| json!({"key": m.key, "value": m.value, "timestamp": timestamp, "step": 0}))
            .collect();
        client
            .post(
                "runs/log-batch",
                &json!({
                    "run_id": run_id,
                    "metrics": metrics,
                    "params": kv(&batch.params, MAX_PARAM_VALUE),
                    "tags": kv(&batch.tags, MAX_TAG_VALUE),
                }),
            )
            .await?;
    }
    Ok(())
}

/// Finds the experiment called `name`, creating it when missing; returns its id.
pub async fn experiment_id(client: &Client, name: &str) -> Result<String, MlflowError> {
    let query = [("experiment_name", name)];
    let get = || client.get("experiments/get-by-name", &query);
    let id_of = |v: &Value| {
        v.pointer("/experiment/experiment_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match get().await {
        Ok(v) => {
            if v.pointer("/experiment/lifecycle_stage")
                .and_then(Value::as_str)
                == Some("deleted")
            {
                // A deleted experiment keeps its name; restore it rather than fail.
                if let Some(id) = id_of(&v) {
                    client
                        .post("experiments/restore", &json!({"experiment_id": id}))
                        .await?;
                }
            }
            return id_of(&v)
                .ok_or_else(|| bad("GET", "experiments/get-by-name", "no experiment_id"));
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    match client
        .post("experiments/create", &json!({"name": name}))
        .await
    {
        Ok(v) => v
            .get("experiment_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad("POST", "experiments/create", "no experiment_id")),
        // Another machine created it in the meantime.
        Err(e) if e.is_already_exists() => {
            let v = get().await?;
            id_of(&v).ok_or_else(|| bad("GET", "experiments/get-by-name", "no experiment_id"))
        }
        Err(e) => Err(e),
    }
}

fn bad(method: &'static str, endpoint: &str, problem: &str) -> MlflowError {
    MlflowError::BadResponse {
        method,
        endpoint: format!("/api/2.0/mlflow/{endpoint}"),
        problem: problem.to_string(),
    }
}

/// The MLflow runs of `experiment_id` tagged with prompteval run id `run_id`.
async fn find_logged(
    client: &Client,
    experiment_id: &str,
    run_id: &str,
) -> Result<Vec<Value>, MlflowError> {
    let v = client
        .post(
            "runs/search",
            &json!({
                "experiment_ids": [experiment_id],
                "filter": format!("tags.`{RUN_ID_TAG}` = '{}'", run_id.replace('\'', "")),
                "max_results": 1000,
            }),
        )
        .await?;
    Ok(v.get("runs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

fn tag_of<'a>(run: &'a Value, key: &str) -> Option<&'a str> {
    run.pointer("/data/tags")?
        .as_array()?
        .iter()
        .find(|t| t.get("key").and_then(Value::as_str) == Some(key))?
        .get("value")?
        .as_str()
}

async fn create_run(
    client: &Client,
    experiment_id: &str,
    name: &str,
    start: i64,
    tags: &[(String, String)],
) -> Result<(String, Option<String>), MlflowError> {
    let v = client
        .post(
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": name,
                "start_time": start,
                "tags": kv(tags, MAX_TAG_VALUE),
            }),
        )
        .await?;
    let id = v
        .pointer("/run/info/run_id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("POST", "runs/create", "no run_id"))?;
    let artifacts = v
        .pointer("/run/info/artifact_uri")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok((id.to_string(), artifacts))
}

async fn upload(
    client: &Client,
    artifact_uri: Option<&str>,
    files: Vec<(&str, Vec<u8>)>,
) -> Result<(), MlflowError> {
    let uri = artifact_uri.unwrap_or_default();
    let Some(location) = proxied_location(uri) else {
        return Err(MlflowError::Rejected {
            uri: client.uri().to_string(),
            method: "PUT",
            endpoint: "/api/2.0/mlflow-artifacts/artifacts".into(),
            status: 0,
            code: None,
            message: format!(
                "the run's artifact location `{uri}` is not served by the tracking server, so prompteval cannot upload to it"
            ),
        });
    };
    for (path, bytes) in files {
        client.put_artifact(&location, path, bytes).await?;
    }
    Ok(())
}

/// Logs a stored run to MLflow. Idempotent: an MLflow run already tagged with this
/// prompteval run id and complete is left alone; an incomplete one (an earlier attempt
/// that failed midway) is deleted and logged again.
pub async fn log_run(
    client: &Client,
    run: &StoredRun,
    options: &TrackingOptions,
) -> Result<TrackingReport, MlflowError> {
    let record = &run.record;

    // Group the summary rows by experiment, in record order.
    let mut groups: Vec<(String, Vec<&SummaryRow>)> = Vec::new();
    for row in &record.summary {
        let name = options
            .experiment
            .clone()
            .unwrap_or_else(|| row.eval.clone());
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((name, vec![row])),
        }
    }
    if groups.is_empty() {
        for eval in &record.evals {
            let name = options
                .experiment
                .clone()
                .unwrap_or_else(|| eval.name.clone());
            if !groups.iter().any(|(n, _)| *n == name) {
                groups.push((name, Vec::new()));
            }
        }
    }

    let start = millis(Some(&record.started_at));
    let end = millis(record.finished_at.as_deref());
    let run_ok = record.status == RunStatus::Finished;
    let tags = common_tags(record);
    let mut report = TrackingReport::default();

    let mut record_json = Vec::new();
    crate::report::write_json(record, run, &mut record_json).map_err(|e| MlflowError::Read {
        path: run.results_path(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let mut table_csv = Vec::new();
    crate::report::write_csv(record, run, &mut table_csv).map_err(|e| MlflowError::Read {
        path: run.results_path(),
        source: std::io::Error::other(e.to_string()),
    })?;

    for (experiment, rows) in groups {
        let experiment_id = experiment_id(client, &experiment).await?;
        let existing = find_logged(client, &experiment_id, &record.run_id).await?;
        if let Some(parent) = existing
            .iter()
            .find(|r| tag_of(r, COMPLETE_TAG) == Some("true"))
        {
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
            report.parents.push(ParentRun {
                experiment,
                experiment_id,
                run_id: parent_id.to_string(),
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

        let mut parent_tags = tags.clone();
        parent_tags.push((
            "prompteval.status".into(),
            format!("{:?}", record.status).to_lowercase(),
        ));
        if let Some(gate) = &record.gate {
            parent_tags.push((
                "prompteval.gate".into(),
                if gate.passed { "passed" } else { "failed" }.into(),
            ));
            if !gate.reasons.is_empty() {
                parent_tags.push(("prompteval.gate_reasons".into(), gate.reasons.join("\n")));
            }
        }
        let (parent_id, parent_artifacts) =
            create_run(client, &experiment_id, &record.run_id, start, &parent_tags).await?;
        let mut parent_params = vec![
            ("run_id".to_string(), record.run_id.clone()),
            (
                "concurrency".to_string(),
                record.settings.concurrency.to_string(),
            ),
            ("total_cells".to_string(), record.total_cells.to_string()),
            (
                "evals".to_string(),
                record
                    .evals
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ];
        if let Some(limit) = record.settings.limit {
            parent_params.push(("limit".into(), limit.to_string()));
        }
        if let Some(case) = &record.settings.case_filter {
            parent_params.push(("case_filter".into(), case.clone()));
        }
        if let Some(f) = record.settings.fail_under {
            parent_params.push(("fail_under".into(), f.to_string()));
        }
        if let Some(s) = record.settings.shard {
            parent_params.push(("shard".into(), s.to_string()));
        }
        if let Some(h) = &record.settings.plan_hash {
            parent_params.push(("plan_hash".into(), h.clone()));
        }
        let mut parent_metrics = vec![Metric {
            key: "completed_cells".into(),
            value: record.completed_cells as f64,
        }];
        if let Some(gate) = &record.gate {
            parent_metrics.push(Metric {
                key: "gate_passed".into(),
                value: if gate.passed { 1.0 } else { 0.0 },
            });
        }
        log_batches(
            client,
            &parent_id,
            parent_metrics,
            parent_params,
            Vec::new(),
            end,
        )
        .await?;
        upload(
            client,
            parent_artifacts.as_deref(),
            vec![
                ("prompteval/run.json", record_json.clone()),
                ("prompteval/results.csv", table_csv.clone()),
            ],
        )
        .await?;

        let mut children = Vec::new();
        for row in rows {
            let eval = record.evals.iter().find(|e| e.name == row.eval);
            let prompt = eval.and_then(|e| e.prompts.iter().find(|p| p.reference == row.prompt));
            let mut child_tags = tags.clone();
            child_tags.push(("mlflow.parentRunId".into(), parent_id.clone()));
            child_tags.push(("prompteval.eval".into(), row.eval.clone()));
            child_tags.push(("prompteval.prompt".into(), row.prompt.clone()));
            child_tags.push(("prompteval.model".into(), row.model.clone()));
            let name = format!("{} · {} · {}", row.eval, row.prompt, row.model);
            let (child_id, child_artifacts) =
                create_run(client, &experiment_id, &name, start, &child_tags).await?;

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
            log_batches(client, &child_id, row_metrics(row), params, Vec::new(), end).await?;
            let slice = row_results(run, row)?;
            upload(
                client,
                child_artifacts.as_deref(),
                vec![("prompteval/results.jsonl", slice)],
            )
            .await?;
            client
                .post(
                    "runs/update",
                    &json!({"run_id": child_id, "status": status_name(run_ok && row.errors == 0), "end_time": end}),
                )
                .await?;
            children.push(child_id);
        }
        client
            .post(
                "runs/set-tag",
                &json!({"run_id": parent_id, "key": COMPLETE_TAG, "value": "true"}),
            )
            .await?;
        client
            .post(
                "runs/update",
                &json!({"run_id": parent_id, "status": status_name(run_ok), "end_time": end}),
            )
            .await?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn metrics(n: usize) -> Vec<Metric> {
        (0..n)
            .map(|i| Metric {
                key: format!("m{i}"),
                value: i as f64,
            })
            .collect()
    }

    fn pairs(n: usize, len: usize) -> Vec<(String, String)> {
        (0..n).map(|i| (format!("k{i}"), "x".repeat(len))).collect()
    }

    #[test]
    fn batches_respect_every_limit() {
        let b = batches(metrics(2500), pairs(250, 10), pairs(150, 10));
        for batch in &b {
            assert!(batch.metrics.len() <= MAX_METRICS_PER_BATCH);
            assert!(batch.params.len() <= MAX_PARAMS_PER_BATCH);
            assert!(batch.tags.len() <= MAX_TAGS_PER_BATCH);
            assert!(batch.entities() <= MAX_ENTITIES_PER_BATCH);
        }
        assert_eq!(b.iter().map(|b| b.metrics.len()).sum::<usize>(), 2500);
        assert_eq!(b.iter().map(|b| b.params.len()).sum::<usize>(), 250);
        assert_eq!(b.iter().map(|b| b.tags.len()).sum::<usize>(), 150);
        // Order is kept within each kind.
        let keys: Vec<&str> = b
            .iter()
            .flat_map(|b| &b.metrics)
            .map(|m| m.key.as_str())
            .collect();
        assert_eq!(keys[..3], ["m0", "m1", "m2"]);
    }

    #[test]
    fn batches_stay_under_a_megabyte() {
        // 100 params of 6000 chars and 100 tags of 8000 chars: ~2.8 MB of JSON in all.
        let b = batches(Vec::new(), pairs(100, 6000), pairs(100, 8000));
        assert!(b.len() >= 3, "{}", b.len());
        for batch in &b {
            let body = json!({
                "params": kv(&batch.params, MAX_PARAM_VALUE),
                "tags": kv(&batch.tags, MAX_TAG_VALUE),
            });
            assert!(serde_json::to_vec(&body).unwrap().len() < MAX_BATCH_BYTES);
        }
    }

    #[test]
    fn nothing_to_log_is_no_request() {
        assert!(batches(Vec::new(), Vec::new(), Vec::new()).is_empty());
    }

    #[test]
    fn metric_keys_are_sanitized_and_values_cut() {
        assert_eq!(metric_key("bleu@4 (corpus)"), "bleu_4 _corpus_");
        assert_eq!(cut("héllo".into(), 2), "hé");
        assert_eq!(cut("ab".into(), 5), "ab");
    }

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
