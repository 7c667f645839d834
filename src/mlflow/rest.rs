//! The MLflow tracking endpoints prompteval calls.

use serde_json::{json, Value};

use super::batch::{batches, kv, Metric, MAX_PARAM_VALUE, MAX_TAG_VALUE};
use super::client::{proxied_location, Client};
use super::error::MlflowError;
use super::tracking::RUN_ID_TAG;

pub(super) fn status_name(ok: bool) -> &'static str {
    if ok {
        "FINISHED"
    } else {
        "FAILED"
    }
}

pub(super) async fn log_batches(
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
pub(super) async fn find_logged(
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

pub(super) fn tag_of<'a>(run: &'a Value, key: &str) -> Option<&'a str> {
    run.pointer("/data/tags")?
        .as_array()?
        .iter()
        .find(|t| t.get("key").and_then(Value::as_str) == Some(key))?
        .get("value")?
        .as_str()
}

pub(super) async fn create_run(
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

pub(super) async fn upload(
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
