//! Test fixtures: a small run with every kind of cell, a big one for the row caps, and the
//! small one compared with a changed copy of itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::analysis::baseline::{compare, Baseline, Comparison};
use crate::analysis::summary::SummaryBuilder;
use crate::gate::{self, GateConfig};
use crate::run::events::{AssertionResult, CellResult};
use crate::store::{
    EvalInfo, PromptInfo, ResultSource, RunRecord, RunSettings, RunStatus, RECORD_VERSION,
};

pub(super) fn vars(pairs: &[(&str, &str)]) -> Arc<Map<String, Value>> {
    Arc::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

fn equals(output: &str, expected: &str) -> AssertionResult {
    let pass = output.trim() == expected;
    AssertionResult {
        kind: "equals".into(),
        pass,
        score: if pass { 1.0 } else { 0.0 },
        reason: if pass {
            "output equals the expected value".into()
        } else {
            format!("expected `{expected}`, got `{}`", output.trim())
        },
        metric: None,
        weight: 1.0,
        detail: None,
        scorer_error: false,
    }
}

fn max_length(output: &str, max: usize) -> AssertionResult {
    let len = output.chars().count();
    let pass = len <= max;
    AssertionResult {
        kind: "max-length".into(),
        pass,
        score: if pass { 1.0 } else { 0.0 },
        reason: format!("output is {len} characters (max {max})"),
        metric: None,
        weight: 1.0,
        detail: None,
        scorer_error: false,
    }
}

#[allow(clippy::too_many_arguments)]
fn cell(
    eval: &str,
    prompt: &str,
    model: &str,
    case_id: &str,
    repeat: u32,
    vars: &Arc<Map<String, Value>>,
    output: Result<&str, &str>,
    latency_ms: f64,
    cost_usd: Option<f64>,
) -> CellResult {
    let expected = vars.get("expected").and_then(Value::as_str).unwrap_or("");
    let (output, error, assertions) = match output {
        Ok(out) => (
            Some(out.to_string()),
            None,
            vec![equals(out, expected), max_length(out, 40)],
        ),
        Err(e) => (None, Some(e.to_string()), vec![]),
    };
    let pass = error.is_none() && assertions.iter().all(|a| a.pass);
    let score = if assertions.is_empty() {
        0.0
    } else {
        assertions.iter().map(|a| a.score).sum::<f64>() / assertions.len() as f64
    };
    CellResult {
        steps: Vec::new(),
        stopped: None,
        simulated_user: None,
        eval: eval.into(),
        prompt: prompt.into(),
        model: model.into(),
        case_id: case_id.into(),
        repeat,
        vars: vars.clone(),
        tokens_in: output.as_ref().map(|_| 42),
        tokens_out: output.as_ref().map(|o| o.split_whitespace().count() as u64),
        cost_usd: output.as_ref().and(cost_usd),
        output,
        error,
        tool_calls: Vec::new(),
        finish_reason: None,
        latency_ms,
        queue_ms: None,
        cached: repeat == 0 && case_id == "1" && model == "echo",
        pass,
        score,
        assertions,
        grader_tokens_in: None,
        grader_tokens_out: None,
        grader_cost_usd: None,
    }
}

pub(super) fn prompt_info(reference: &str) -> PromptInfo {
    let (name, version) = reference.split_once('@').unwrap_or((reference, "1"));
    PromptInfo {
        requested: reference.into(),
        reference: reference.into(),
        path: format!("prompts/{name}/v{version}.yaml"),
        hash: format!("sha256:{name}{version}"),
    }
}

pub(super) fn record(evals: Vec<EvalInfo>, results: &[CellResult]) -> RunRecord {
    let mut builder = SummaryBuilder::new();
    for eval in &evals {
        for prompt in &eval.prompts {
            for model in &eval.models {
                builder.declare(&eval.name, &prompt.reference, model);
            }
        }
    }
    for cell in results {
        builder.add(cell);
    }
    let summary = builder.finish();
    let gates: BTreeMap<String, GateConfig> = evals
        .iter()
        .map(|e| (e.name.clone(), e.gate.clone()))
        .collect();
    let verdict = gate::judge(
        |name| gates.get(name).cloned().unwrap_or_default(),
        &summary,
        None,
        &gate::GateOverrides::default(),
    );
    RunRecord {
        version: RECORD_VERSION,
        run_id: "20260101-120000-a1b2".into(),
        status: RunStatus::Finished,
        started_at: "2026-01-01T12:00:00Z".into(),
        finished_at: Some("2026-01-01T12:00:04Z".into()),
        duration_ms: Some(4200.0),
        prompteval_version: "0.1.0".into(),
        git: None,
        settings: RunSettings {
            concurrency: 4,
            ..RunSettings::default()
        },
        providers: BTreeMap::new(),
        evals,
        total_cells: results.len(),
        completed_cells: results.len(),
        summary,
        gate: Some(verdict),
    }
}

/// A prompt, a model, and the output (or error) for each of four cases.
type Column<'a> = (&'a str, &'a str, [Result<&'a str, &'a str>; 4]);

/// Two evals: `sentiment` (2 prompts × 2 models × 4 cases: failures, an error, a long
/// multi-line output, `|`, `<` and `&` in inputs and outputs) and `capitals` (1 × 1 × 2
/// cases × 2 repeats, one flaky case, unknown cost).
pub(crate) fn small() -> (RunRecord, Vec<CellResult>) {
    let mut results = sentiment_cells();
    results.extend(capitals_cells());
    let record = record(small_evals(), &results);
    (record, results)
}

/// The four `sentiment` cases and their variables.
fn sentiment_cases() -> [(&'static str, Arc<Map<String, Value>>); 4] {
    [
        (
            "1",
            vars(&[
                ("review", "Great product, works as advertised"),
                ("expected", "positive"),
            ]),
        ),
        (
            "2",
            vars(&[
                (
                    "review",
                    "Terrible. Broke after a day & the <support> was useless",
                ),
                ("expected", "negative"),
            ]),
        ),
        (
            "3",
            vars(&[
                ("review", "It's fine | nothing special"),
                ("expected", "neutral"),
            ]),
        ),
        (
            "4",
            vars(&[
                ("review", "Loved it!\nWould buy again."),
                ("expected", "positive"),
            ]),
        ),
    ]
}

/// The `sentiment` cells of [`small`], case by case.
fn sentiment_cells() -> Vec<CellResult> {
    let cases = sentiment_cases();
    let long = "Let me think about this review step by step.\nFirst, the customer says they loved it.\nSecond, they would buy again.\nSo the sentiment is: positive";
    let plan: [Column<'_>; 4] = [
        (
            "sentiment@1",
            "echo",
            [Ok("positive"), Ok("neutral"), Ok("neutral"), Ok("positive")],
        ),
        (
            "sentiment@1",
            "gemma-local",
            [
                Ok(" positive"),
                Err("provider `gemma-local`: HTTP 503 Service Unavailable after 3 retries"),
                Ok("neutral | <maybe> & \"unsure\""),
                Ok(long),
            ],
        ),
        (
            "sentiment@2",
            "echo",
            [
                Ok("positive"),
                Ok("negative"),
                Ok("neutral"),
                Ok("positive"),
            ],
        ),
        (
            "sentiment@2",
            "gemma-local",
            [
                Ok("positive"),
                Ok("negative"),
                Ok("positive"),
                Ok("positive"),
            ],
        ),
    ];
    let mut results = Vec::new();
    for (case_index, (case_id, vars)) in cases.iter().enumerate() {
        for (column, (prompt, model, outputs)) in plan.iter().enumerate() {
            let (latency, cost) = if *model == "echo" {
                (1.0 + case_index as f64, Some(0.0))
            } else {
                (
                    180.0 + 410.0 * case_index as f64 + 37.0 * column as f64,
                    Some(0.000041),
                )
            };
            results.push(cell(
                "sentiment",
                prompt,
                model,
                case_id,
                0,
                vars,
                outputs[case_index],
                latency,
                cost,
            ));
        }
    }
    results
}

/// The `capitals` cells of [`small`]: two cases, two repeats, unknown cost.
fn capitals_cells() -> Vec<CellResult> {
    let mut results = Vec::new();
    for (case_id, country, expected, outputs) in [
        ("fr", "France", "Paris", [" Paris", "Paris"]),
        ("jp", "Japan", "Tokyo", ["Tokyo", " Kyoto\nQ: What is"]),
    ] {
        let vars = vars(&[("country", country), ("expected", expected)]);
        for (repeat, output) in outputs.iter().enumerate() {
            results.push(cell(
                "capitals",
                "capital@1",
                "gemma-local",
                case_id,
                repeat as u32,
                &vars,
                Ok(output),
                950.0 + 700.0 * repeat as f64,
                None,
            ));
        }
    }
    results
}

/// The evals of [`small`], as the run record lists them.
fn small_evals() -> Vec<EvalInfo> {
    vec![
        EvalInfo {
            name: "sentiment".into(),
            path: "evals/sentiment.yaml".into(),
            description: Some("Sentiment — zero-shot vs few-shot".into()),
            dataset: "datasets/reviews.csv".into(),
            dataset_hash: "sha256:reviews".into(),
            cases: 4,
            repeat: 1,
            prompts: vec![prompt_info("sentiment@1"), prompt_info("sentiment@2")],
            models: vec!["echo".into(), "gemma-local".into()],
            gate: GateConfig {
                min_pass_rate: Some(0.75),
                min_score: None,
                prompts: vec![],
                ..GateConfig::default()
            },
        },
        EvalInfo {
            name: "capitals".into(),
            path: "evals/capitals.yaml".into(),
            description: None,
            dataset: "datasets/capitals.jsonl".into(),
            dataset_hash: "sha256:capitals".into(),
            cases: 2,
            repeat: 2,
            prompts: vec![prompt_info("capital@1")],
            models: vec!["gemma-local".into()],
            gate: GateConfig::default(),
        },
    ]
}

/// One eval `big`: 2 prompts × `echo` × 1,000 cases. `p@1` fails every 97th case, `p@2`
/// fails every 113th and errors on every 250th.
pub(crate) fn big() -> (RunRecord, Vec<CellResult>) {
    let mut results = Vec::new();
    for i in 1..=1000u32 {
        let id = i.to_string();
        let vars = vars(&[
            ("expected", "yes"),
            (
                "question",
                &format!("Is {i} a number worth asking about twice?"),
            ),
        ]);
        let p1 = if i % 97 == 0 { "no" } else { "yes" };
        let p2: Result<&str, &str> = if i % 250 == 0 {
            Err("timed out after 30s")
        } else if i % 113 == 0 {
            Ok("maybe")
        } else {
            Ok("yes")
        };
        let latency = f64::from(i % 50) + 2.0;
        results.push(cell(
            "big",
            "p@1",
            "echo",
            &id,
            0,
            &vars,
            Ok(p1),
            latency,
            Some(0.0),
        ));
        results.push(cell(
            "big",
            "p@2",
            "echo",
            &id,
            0,
            &vars,
            p2,
            latency,
            Some(0.0),
        ));
    }
    let evals = vec![EvalInfo {
        name: "big".into(),
        path: "evals/big.yaml".into(),
        description: Some("A thousand questions".into()),
        dataset: "datasets/big.jsonl".into(),
        dataset_hash: "sha256:big".into(),
        cases: 1000,
        repeat: 1,
        prompts: vec![prompt_info("p@1"), prompt_info("p@2")],
        models: vec!["echo".into()],
        gate: GateConfig {
            min_pass_rate: Some(0.95),
            min_score: None,
            prompts: vec![],
            ..GateConfig::default()
        },
    }];
    let record = record(evals, &results);
    (record, results)
}

/// The small fixture with a judge on its first row: 2 scorer errors, $0.0123 for
/// 1,200 + 80 judge tokens.
pub(crate) fn judged() -> RunRecord {
    let (mut record, _) = small();
    let row = &mut record.summary[0];
    row.scorer_errors = 2;
    row.grader_tokens_in = 1200;
    row.grader_tokens_out = 80;
    row.grader_cost_usd = Some(0.0123);
    record
}

/// The small fixture against itself with sentiment@2 × echo made worse on two cases and
/// capital@1 better on one: the current run, its results and the comparison.
pub(crate) fn compared() -> (RunRecord, Vec<CellResult>, Comparison) {
    let (record, results) = small();
    let baseline = Baseline {
        reference: "latest".into(),
        record: record.clone(),
        results: results.clone(),
        passed_over: 0,
        production: Default::default(),
    };
    let mut now = results;
    for cell in &mut now {
        let flip_down = cell.prompt == "sentiment@2"
            && cell.model == "echo"
            && (cell.case_id == "1" || cell.case_id == "4");
        let flip_up = cell.prompt == "capital@1" && cell.case_id == "jp" && cell.repeat == 1;
        if flip_down {
            cell.pass = false;
            cell.score = 0.5;
            cell.output = Some("mixed".into());
            cell.assertions[0].pass = false;
            cell.assertions[0].reason = "expected `positive`, got `mixed`".into();
        }
        if flip_up {
            cell.pass = true;
            cell.score = 1.0;
            cell.output = Some("Tokyo".into());
        }
    }
    let mut record = record;
    record.run_id = "20260102-120000-c3d4".into();
    let mut builder = SummaryBuilder::new();
    for row in &record.summary {
        builder.declare(&row.eval, &row.prompt, &row.model);
    }
    for cell in &now {
        builder.add(cell);
    }
    record.summary = builder.finish();
    let comparison = compare(&baseline, &record, &now).unwrap();
    (record, now, comparison)
}

/// The comparison of [`compared`].
pub(crate) fn comparison() -> Comparison {
    compared().2
}

/// A result source that counts how often the results are read, to check that reports
/// stream them a bounded number of times.
pub(crate) struct Counting {
    cells: Vec<CellResult>,
    reads: std::cell::Cell<usize>,
}

impl Counting {
    pub(crate) fn new(cells: Vec<CellResult>) -> Self {
        Counting {
            cells,
            reads: Default::default(),
        }
    }

    /// How many times `f` read the results.
    pub(crate) fn reads(&self, f: impl FnOnce()) -> usize {
        self.reads.set(0);
        f();
        self.reads.get()
    }
}

impl ResultSource for Counting {
    fn results(
        &self,
    ) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<CellResult>> + '_>> {
        self.reads.set(self.reads.get() + 1);
        self.cells.results()
    }
}
