//! A stored run for the report tests, built from crafted cells so every number is fixed:
//! eval `triage` (2 prompts × 3 models × 12 cases: a cheap fast model, an expensive slow
//! one, a local one without a price) and eval `capitals` (1 prompt × 2 models × 3 cases).

use std::path::Path;

use prompteval::analysis::summary::SummaryBuilder;
use prompteval::run::events::CellResult;
use prompteval::store::{self, RunRecord};
use serde_json::{json, Value};

/// The run id of the fixture run.
pub const RUN_ID: &str = "20260315-101500-c0de";

/// (model, latency base ms, price per cell or null, pass when `case % modulus != 0`).
const MODELS: [(&str, f64, Option<f64>, u32); 3] = [
    ("small", 120.0, Some(0.00002), 3),
    ("large", 1400.0, Some(0.0009), 7),
    ("local", 600.0, None, 4),
];

#[allow(clippy::too_many_arguments)]
fn cell(
    eval: &str,
    prompt: &str,
    model: &str,
    case: u32,
    pass: bool,
    latency: f64,
    cost: Option<f64>,
    output: &str,
    error: Option<&str>,
) -> Value {
    let expected = if case % 2 == 0 { "billing" } else { "bug" };
    let assertions = if error.is_some() {
        json!([])
    } else {
        json!([
            {"type": "equals", "pass": pass, "score": if pass { 1.0 } else { 0.0 },
             "reason": if pass { "output equals the expected value".to_string() }
                       else { format!("expected `{expected}`, got `{}`", output.trim()) }},
            {"type": "max-length", "pass": true, "score": 1.0,
             "reason": format!("output is {} characters (max 200)", output.chars().count())}
        ])
    };
    json!({
        "eval": eval, "prompt": prompt, "model": model, "case_id": format!("t{case}"),
        "repeat": 0,
        "vars": {"ticket": format!("Ticket {case}: the invoice is wrong & <urgent>"), "expected": expected},
        "output": if error.is_some() { Value::Null } else { json!(output) },
        "error": error,
        "latency_ms": latency,
        "tokens_in": if error.is_some() { Value::Null } else { json!(40 + case) },
        "tokens_out": if error.is_some() { Value::Null } else { json!(3) },
        "cost_usd": if error.is_some() { Value::Null } else { json!(cost) },
        "cached": false,
        "pass": pass && error.is_none(),
        "score": if error.is_some() { 0.0 } else if pass { 1.0 } else { 0.5 },
        "assertions": assertions
    })
}

/// The fixture's cells, in completion order.
pub fn cells() -> Vec<CellResult> {
    let mut cells = Vec::new();
    for case in 1..=12u32 {
        for (p, prompt) in ["triage@1", "triage@2"].iter().enumerate() {
            for (model, base, cost, modulus) in MODELS {
                // triage@2 is better: it fails half as often.
                let modulus = modulus * (p as u32 + 1);
                let pass = case % modulus != 0;
                let expected = if case % 2 == 0 { "billing" } else { "bug" };
                let output = if pass {
                    expected.to_string()
                } else if case == 12 {
                    // Hostile text: must stay data in every report.
                    "</script><script>window.__pwned = 1</script> see https://example.com/x"
                        .to_string()
                } else {
                    "feature-request".to_string()
                };
                let error = (model == "local" && case == 5 && p == 0)
                    .then_some("provider `local`: HTTP 503 Service Unavailable after 3 retries");
                let latency = base + f64::from(case * 7 % 23) * 10.0 + p as f64 * 15.0;
                cells.push(cell(
                    "triage", prompt, model, case, pass, latency, cost, &output, error,
                ));
            }
        }
    }
    for (case, country, answer) in [
        (1, "France", "Paris"),
        (2, "Japan", "Tokyo"),
        (3, "Peru", "Lima"),
    ] {
        for (model, latency, cost) in [
            ("small", 90.0, Some(0.00001)),
            ("large", 1100.0, Some(0.0007)),
        ] {
            let pass = !(model == "small" && case == 3);
            let output = if pass { answer } else { "Cusco" };
            let mut c = cell(
                "capitals",
                "capital@1",
                model,
                case,
                pass,
                latency + f64::from(case),
                cost,
                output,
                None,
            );
            c["vars"] = json!({"country": country, "expected": answer});
            cells.push(c);
        }
    }
    cells
        .into_iter()
        .map(|v| serde_json::from_value(v).expect("fixture cell"))
        .collect()
}

fn eval_info(name: &str, dataset: &str, cases: usize, prompts: &[&str], models: &[&str]) -> Value {
    json!({
        "name": name, "path": format!("evals/{name}.yaml"), "dataset": dataset,
        "dataset_hash": format!("sha256:{name}"), "cases": cases, "repeat": 1,
        "prompts": prompts.iter().map(|p| json!({
            "requested": p, "reference": p,
            "path": format!("prompts/{}/v1.yaml", p.split('@').next().unwrap_or(p)),
            "hash": format!("sha256:{p}")
        })).collect::<Vec<_>>(),
        "models": models,
        "gate": {}
    })
}

/// The run record of [`cells`].
pub fn record(cells: &[CellResult]) -> RunRecord {
    let mut summary = SummaryBuilder::new();
    for prompt in ["triage@1", "triage@2"] {
        for (model, ..) in MODELS {
            summary.declare("triage", prompt, model);
        }
    }
    for model in ["small", "large"] {
        summary.declare("capitals", "capital@1", model);
    }
    for cell in cells {
        summary.add(cell);
    }
    let record = json!({
        "version": 1, "run_id": RUN_ID, "status": "finished",
        "started_at": "2026-03-15T10:15:00Z", "finished_at": "2026-03-15T10:15:09Z",
        "duration_ms": 9000.0, "prompteval_version": "0.1.0",
        "settings": {"concurrency": 4}, "providers": {},
        "evals": [
            eval_info("triage", "datasets/tickets.csv", 12, &["triage@1", "triage@2"], &["small", "large", "local"]),
            eval_info("capitals", "datasets/capitals.jsonl", 3, &["capital@1"], &["small", "large"]),
        ],
        "total_cells": cells.len(), "completed_cells": cells.len(),
        "summary": summary.finish()
    });
    serde_json::from_value(record).expect("fixture record")
}

/// Writes the fixture run into `dir` (`run.json` and `results.jsonl`).
pub fn write_run(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let cells = cells();
    store::write_record(dir, &record(&cells)).unwrap();
    let mut lines = String::new();
    for cell in &cells {
        lines.push_str(&serde_json::to_string(cell).unwrap());
        lines.push('\n');
    }
    std::fs::write(dir.join(store::RESULTS_FILE), lines).unwrap();
}
