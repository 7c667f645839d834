//! Test fixture: a run with agent cells (trajectories of tool calls and results, one cut
//! off at `max_steps`), and a second run whose trajectories part from it.

use serde_json::json;

use super::fixture::{prompt_info, record, vars};
use crate::agent::{Step, Stopped, ToolResult};
use crate::gate::GateConfig;
use crate::run::events::{AssertionResult, CellResult};
use crate::store::{EvalInfo, RunRecord};
use crate::tools::ToolCall;

/// A step that calls `name(args)` and gets `result` back.
fn calling(n: usize, name: &str, args: serde_json::Value, result: &str) -> Step {
    let id = format!("call_{n}");
    Step {
        messages_digest: format!("{:016x}", 0x1a2b_3c4d_0000_0000_u64 + n as u64),
        tool_calls: vec![ToolCall::from_value(&id, name, args)],
        tool_results: vec![ToolResult {
            call_id: id,
            name: name.into(),
            content: result.into(),
            is_error: result.starts_with("error:"),
            latency_ms: 3.0 + n as f64,
        }],
        latency_ms: 180.0 + 20.0 * n as f64,
        tokens_in: Some(60 + 25 * n as u64),
        tokens_out: Some(12),
        finish_reason: Some("tool_calls".into()),
        ..Step::default()
    }
}

/// A step that answers `text` without calls.
fn replying(n: usize, text: &str) -> Step {
    Step {
        messages_digest: format!("{:016x}", 0x1a2b_3c4d_0000_0000_u64 + n as u64),
        output: text.into(),
        latency_ms: 240.0,
        tokens_in: Some(110 + 25 * n as u64),
        tokens_out: Some(text.split_whitespace().count() as u64),
        finish_reason: Some("stop".into()),
        ..Step::default()
    }
}

fn assertion(kind: &str, pass: bool, reason: &str) -> AssertionResult {
    AssertionResult {
        kind: kind.into(),
        pass,
        score: if pass { 1.0 } else { 0.0 },
        reason: reason.into(),
        metric: None,
        weight: 1.0,
        detail: None,
        scorer_error: false,
    }
}

/// An agent cell of `weather@1 · qwen-local` with these steps, sums and assertions.
fn agent_cell(
    case_id: &str,
    city: &str,
    steps: Vec<Step>,
    stopped: Option<Stopped>,
    assertions: Vec<AssertionResult>,
) -> CellResult {
    let last = steps.last().cloned().unwrap_or_default();
    let pass = assertions.iter().all(|a| a.pass);
    let score = assertions.iter().map(|a| a.score).sum::<f64>() / assertions.len() as f64;
    CellResult {
        eval: "weather".into(),
        prompt: "weather@1".into(),
        model: "qwen-local".into(),
        case_id: case_id.into(),
        repeat: 0,
        vars: vars(&[("city", city)]),
        output: Some(last.output.clone()),
        error: None,
        tool_calls: last.tool_calls.clone(),
        finish_reason: last.finish_reason.clone(),
        latency_ms: steps.iter().map(|s| s.latency_ms).sum(),
        queue_ms: None,
        tokens_in: Some(steps.iter().filter_map(|s| s.tokens_in).sum()),
        tokens_out: Some(steps.iter().filter_map(|s| s.tokens_out).sum()),
        cost_usd: Some(0.0),
        cached: false,
        pass,
        score,
        assertions,
        grader_tokens_in: None,
        grader_tokens_out: None,
        grader_cost_usd: None,
        steps,
        stopped,
        simulated_user: None,
    }
}

/// The three cells: Rome in two steps, Paris in three (a second tool), Oslo looping on
/// `get_weather` until `max_steps: 4` cut it off.
fn agent_cells() -> Vec<CellResult> {
    let ok = |k| assertion(k, true, "");
    vec![
        agent_cell(
            "rome",
            "Rome",
            vec![
                calling(
                    1,
                    "get_weather",
                    json!({"city": "Rome"}),
                    "Rome: 18°C, sunny",
                ),
                replying(2, "It's 18°C and sunny in Rome."),
            ],
            None,
            vec![
                assertion("tool-called", true, "called get_weather(city=\"Rome\")"),
                assertion(
                    "tool-result-used",
                    true,
                    "final answer uses get_weather's \"18\"",
                ),
                ok("max-steps"),
            ],
        ),
        agent_cell(
            "paris",
            "Paris",
            vec![
                calling(
                    1,
                    "get_weather",
                    json!({"city": "Paris"}),
                    "Paris: 12°C, rain",
                ),
                calling(
                    2,
                    "get_forecast",
                    json!({"city": "Paris", "days": 1}),
                    "error: forecast service timed out after 5s",
                ),
                replying(
                    3,
                    "It's 12°C with rain in Paris; I could not get tomorrow's forecast.",
                ),
            ],
            None,
            vec![
                assertion("tool-called", true, "called get_weather(city=\"Paris\")"),
                assertion(
                    "tool-result-used",
                    true,
                    "final answer uses get_weather's \"12\"",
                ),
                ok("max-steps"),
            ],
        ),
        agent_cell(
            "oslo",
            "Oslo",
            (1..=4)
                .map(|n| {
                    calling(
                        n,
                        "get_weather",
                        json!({"city": "Oslo"}),
                        "Oslo: -3°C, snow",
                    )
                })
                .collect(),
            Some(Stopped::MaxSteps),
            vec![
                assertion("tool-called", true, "called get_weather(city=\"Oslo\")"),
                assertion(
                    "final-answer",
                    false,
                    "no final answer: the last model call (step 4) still called get_weather",
                ),
                assertion("max-steps", false, "4 model calls, more than the 3 allowed"),
            ],
        ),
    ]
}

/// The eval of [`agent`], as the run record lists it.
fn agent_eval() -> EvalInfo {
    EvalInfo {
        name: "weather".into(),
        path: "evals/weather-agent.yaml".into(),
        description: Some("Weather agent with mock tools".into()),
        dataset: "datasets/cities.jsonl".into(),
        dataset_hash: "sha256:cities".into(),
        cases: 3,
        repeat: 1,
        prompts: vec![prompt_info("weather@1")],
        models: vec!["qwen-local".into()],
        gate: GateConfig::default(),
    }
}

/// One agent eval `weather` (1 prompt × 1 model × 3 cases: two answered, one stopped at
/// `max_steps`).
pub(crate) fn agent() -> (RunRecord, Vec<CellResult>) {
    let results = agent_cells();
    (record(vec![agent_eval()], &results), results)
}

/// [`agent`] run again, where Rome now searches before answering (its trajectory parts at
/// step 2) and Oslo answers at step 2 (fixed): the second run and its results.
pub(crate) fn agent_again() -> (RunRecord, Vec<CellResult>) {
    let mut results = agent_cells();
    let rome = &mut results[0];
    rome.steps.insert(
        1,
        calling(
            2,
            "search",
            json!({"q": "Rome weather today"}),
            "Rome 18 degrees",
        ),
    );
    rome.steps[2].output = "Rome is 18°C today.".into();
    rome.output = Some("Rome is 18°C today.".into());
    let oslo = &mut results[2];
    oslo.steps.truncate(1);
    oslo.steps.push(replying(2, "It's -3°C with snow in Oslo."));
    oslo.stopped = None;
    oslo.output = Some("It's -3°C with snow in Oslo.".into());
    oslo.tool_calls.clear();
    oslo.pass = true;
    oslo.score = 1.0;
    for a in &mut oslo.assertions {
        a.pass = true;
        a.score = 1.0;
    }
    let mut record = record(vec![agent_eval()], &results);
    record.run_id = "20260102-120000-c3d4".into();
    (record, results)
}

/// [`agent_again`] compared with [`agent`] as its baseline.
pub(crate) fn agent_comparison() -> crate::analysis::baseline::Comparison {
    let (record, results) = agent();
    let baseline = crate::analysis::baseline::Baseline {
        reference: "latest".into(),
        record,
        results,
        passed_over: 0,
        production: Default::default(),
    };
    let (now, now_results) = agent_again();
    crate::analysis::baseline::compare(&baseline, &now, &now_results).expect("comparable runs")
}
