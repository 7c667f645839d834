//! The data embedded in the HTML report (`#report-data`): the selection numbers and the
//! cells for the drill-down, failures, errors and flips first, with long values cut.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::analysis::baseline::Comparison;
use crate::analysis::eval_groups::{eval_groups, RowIndex};
use crate::analysis::model_selection::{Combination, ModelSelection};
use crate::run::events::{CellResult, CellStatus};
use crate::store::{parse_cell, CellHead, ResultSource, RunRecord};

use crate::report::common;
use crate::report::error::Failure;
use crate::report::human;

/// The version of the embedded data's shape; bumped on incompatible changes.
pub const HTML_DATA_VERSION: u32 = 1;

/// How a case changed against a baseline run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlipDirection {
    /// Passed in the baseline, fails now.
    PassToFail,
    /// Failed in the baseline, passes now.
    FailToPass,
}

/// One flipped cell, as found by a baseline comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFlip {
    /// The eval.
    pub eval: String,
    /// The prompt reference.
    pub prompt: String,
    /// The model.
    pub model: String,
    /// The case id.
    pub case_id: String,
    /// The repeat index.
    pub repeat: u32,
    /// How it changed.
    pub flip: FlipDirection,
}

impl CaseFlip {
    /// Every flipped cell of `comparison`: each row's regressions, then its fixes.
    ///
    /// The flips are read from the comparison, never found again here, so the page marks
    /// exactly the cells that the comparison table and the gate counted.
    pub fn all_in(comparison: &Comparison) -> Vec<CaseFlip> {
        let mut flips = Vec::new();
        for row in &comparison.rows {
            let found = [
                (&row.regressions, FlipDirection::PassToFail),
                (&row.fixes, FlipDirection::FailToPass),
            ];
            for (list, flip) in found {
                flips.extend(list.iter().map(|f| CaseFlip {
                    eval: row.eval.clone(),
                    prompt: row.prompt.clone(),
                    model: row.model.clone(),
                    case_id: f.case_id.clone(),
                    repeat: f.repeat,
                    flip,
                }));
            }
        }
        flips
    }
}

/// What goes into the HTML report.
#[derive(Clone, Debug)]
pub struct HtmlOptions {
    /// The most cells embedded for the drill-down; failures, errors and flips first.
    pub max_cells: usize,
    /// Outputs, errors and variable values longer than this many characters are cut.
    pub max_output_chars: usize,
    /// Cells that flipped against a baseline ([`CaseFlip::all_in`] a comparison); empty
    /// when the run was not compared. The "flips only" filter shows only when there are
    /// some.
    pub flips: Vec<CaseFlip>,
}

impl HtmlOptions {
    /// The default options, with the flips of `comparison` when the run was compared.
    pub fn for_run(comparison: Option<&Comparison>) -> Self {
        HtmlOptions {
            flips: comparison.map(CaseFlip::all_in).unwrap_or_default(),
            ..HtmlOptions::default()
        }
    }
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            max_cells: 5000,
            max_output_chars: 2000,
            flips: Vec::new(),
        }
    }
}

/// The embedded data (`#report-data`).
#[derive(Serialize)]
pub(super) struct Data<'a> {
    version: u32,
    run_id: &'a str,
    started_at: &'a str,
    selection: SelectionData<'a>,
    cells: Vec<CellData>,
    cells_total: u64,
    max_output_chars: usize,
}

/// The selection numbers, with each eval's heading as the page shows it.
#[derive(Serialize)]
struct SelectionData<'a> {
    run_id: &'a str,
    evals: Vec<EvalData<'a>>,
}

#[derive(Serialize)]
struct EvalData<'a> {
    name: &'a str,
    heading: String,
    candidates: &'a [Combination],
}

/// One cell for the drill-down.
#[derive(Serialize)]
struct CellData {
    eval: String,
    prompt: String,
    model: String,
    case_id: String,
    repeat: u32,
    status: &'static str,
    score: f64,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    /// The full length of the output in characters, when it was cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    output_chars: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The answer's tool calls, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<CallData>,
    vars: Map<String, Value>,
    assertions: Vec<AssertionData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flip: Option<FlipDirection>,
    /// An agent cell's steps (its `tool_calls` are then left out: the steps hold them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    steps: Vec<StepData>,
    /// `max_steps` when the agent loop was cut off.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<&'static str>,
    /// The trajectory on one line, for the table's preview.
    #[serde(skip_serializing_if = "Option::is_none")]
    trajectory: Option<String>,
}

/// One step of an agent loop: its figures, the user's message that opened a turn, the
/// reply, and each call with what the tool returned.
#[derive(Serialize)]
struct StepData {
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens_out: Option<u64>,
    digest: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    output: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    calls: Vec<StepCallData>,
}

/// One call of a step and its result.
#[derive(Serialize)]
struct StepCallData {
    shown: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_error: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
}

/// One tool call: the function, the call on one line for the list, and the arguments in
/// full (pretty JSON, or as the model wrote them when they are not JSON), cut.
#[derive(Serialize)]
struct CallData {
    name: String,
    shown: String,
    arguments: String,
}

#[derive(Serialize)]
struct AssertionData {
    #[serde(rename = "type")]
    kind: String,
    pass: bool,
    score: f64,
    reason: String,
}

/// The embedded data, reading the results once.
pub(super) fn embedded_data<'a>(
    record: &'a RunRecord,
    selection: &'a ModelSelection,
    results: &dyn ResultSource,
    opts: &HtmlOptions,
) -> Result<Data<'a>, Failure> {
    let (cells, cells_total) = collect_cells(record, results, opts)?;
    Ok(Data {
        version: HTML_DATA_VERSION,
        run_id: &record.run_id,
        started_at: &record.started_at,
        selection: SelectionData {
            run_id: &selection.run_id,
            evals: selection
                .evals
                .iter()
                .map(|e| EvalData {
                    name: &e.name,
                    heading: common::eval_heading(record, &e.name),
                    candidates: &e.candidates,
                })
                .collect(),
        },
        cells,
        cells_total,
        max_output_chars: opts.max_output_chars,
    })
}

/// A cell's identity: eval, prompt, model, case id and repeat.
type CellKey<'a> = (&'a str, &'a str, &'a str, &'a str, u32);

/// Picks the cells to embed: every failure, error and flip first (up to the cap), then
/// passes, in eval, column and natural case order.
fn collect_cells(
    record: &RunRecord,
    results: &dyn ResultSource,
    opts: &HtmlOptions,
) -> Result<(Vec<CellData>, u64), Failure> {
    let groups = eval_groups(record);
    let index = RowIndex::new(&groups);
    let flips: HashMap<CellKey<'_>, FlipDirection> = opts
        .flips
        .iter()
        .map(|f| {
            let key = (
                f.eval.as_str(),
                f.prompt.as_str(),
                f.model.as_str(),
                f.case_id.as_str(),
                f.repeat,
            );
            (key, f.flip)
        })
        .collect();
    let mut notable = Vec::new();
    let mut passing = Vec::new();
    let mut total = 0u64;
    let mut lines = results.lines().map_err(Failure::Read)?;
    while let Some(line) = lines.next_line() {
        let line = line.map_err(Failure::Read)?;
        // The head decides; only a cell that is kept is read whole.
        let head = CellHead::parse(line).map_err(Failure::Read)?;
        total += 1;
        let key = (
            &*head.eval,
            &*head.prompt,
            &*head.model,
            &*head.case_id,
            head.repeat,
        );
        let flip = flips.get(&key).copied();
        let keep = if head.status() != CellStatus::Pass || flip.is_some() {
            &mut notable
        } else {
            &mut passing
        };
        if keep.len() < opts.max_cells {
            let position = index
                .find_names(&head.eval, &head.prompt, &head.model)
                .unwrap_or((usize::MAX, usize::MAX));
            let cell = parse_cell(line).map_err(Failure::Read)?;
            keep.push((position, cell_data(cell, flip, opts.max_output_chars)));
        }
    }
    let room = opts.max_cells.saturating_sub(notable.len());
    notable.extend(passing.into_iter().take(room));
    notable.sort_by(|(a, x), (b, y)| {
        a.cmp(b)
            .then_with(|| human::natural_cmp(&x.case_id, &y.case_id))
            .then_with(|| x.repeat.cmp(&y.repeat))
    });
    Ok((notable.into_iter().map(|(_, c)| c).collect(), total))
}

fn cell_data(cell: CellResult, flip: Option<FlipDirection>, max_chars: usize) -> CellData {
    let status = match cell.status() {
        CellStatus::Pass => "pass",
        CellStatus::Fail => "fail",
        CellStatus::Error => "error",
    };
    let output_chars = cell
        .output
        .as_deref()
        .map(|o| o.chars().count())
        .filter(|n| *n > max_chars);
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    CellData {
        status,
        score: finite(cell.score),
        latency_ms: finite(cell.latency_ms),
        output: cell.output.as_deref().map(|o| clip(o, max_chars)),
        output_chars,
        error: cell.error.as_deref().map(|e| clip(e, max_chars)),
        steps: cell.steps.iter().map(|s| step_data(s, max_chars)).collect(),
        stopped: cell.stopped.map(|s| s.as_str()),
        trajectory: (!cell.steps.is_empty())
            .then(|| crate::analysis::trajectory::one_line(&cell.steps, cell.stopped)),
        tool_calls: cell
            .tool_calls
            .iter()
            .filter(|_| cell.steps.is_empty())
            .map(|call| CallData {
                name: call.name.clone(),
                shown: crate::tools::show::compact(call),
                arguments: clip(
                    &call
                        .arguments
                        .as_ref()
                        .and_then(|a| serde_json::to_string_pretty(a).ok())
                        .unwrap_or_else(|| call.arguments_raw.clone()),
                    max_chars,
                ),
            })
            .collect(),
        vars: clip_vars(&cell.vars, max_chars),
        assertions: cell
            .assertions
            .into_iter()
            .map(|a| AssertionData {
                kind: a.kind,
                pass: a.pass,
                score: finite(a.score),
                reason: clip(&a.reason, max_chars),
            })
            .collect(),
        flip,
        eval: cell.eval,
        prompt: cell.prompt,
        model: cell.model,
        case_id: cell.case_id,
        repeat: cell.repeat,
    }
}

/// One step for the drill-down, its texts cut to `max_chars`.
fn step_data(step: &crate::agent::Step, max_chars: usize) -> StepData {
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    StepData {
        latency_ms: finite(step.latency_ms),
        tokens_in: step.tokens_in,
        tokens_out: step.tokens_out,
        digest: step.messages_digest.clone(),
        cached: step.cached,
        user: step.user.as_deref().map(|u| clip(u, max_chars)),
        output: clip(&step.output, max_chars),
        calls: step
            .tool_calls
            .iter()
            .enumerate()
            .map(|(i, call)| {
                let result = step.tool_results.get(i);
                StepCallData {
                    shown: crate::tools::show::compact(call),
                    result: result.map(|r| clip(&r.content, max_chars)),
                    is_error: result.is_some_and(|r| r.is_error),
                    latency_ms: result.map(|r| finite(r.latency_ms)),
                }
            })
            .collect(),
    }
}

/// The row's variables, each cut to `max_chars` (a long non-string value becomes its cut
/// JSON text).
fn clip_vars(vars: &Map<String, Value>, max_chars: usize) -> Map<String, Value> {
    vars.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => Value::String(clip(s, max_chars)),
                other => {
                    let text = other.to_string();
                    if text.chars().count() > max_chars {
                        Value::String(clip(&text, max_chars))
                    } else {
                        other.clone()
                    }
                }
            };
            (k.clone(), v)
        })
        .collect()
}

/// `text` cut to `max` characters, ending with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    human::truncate(text, max.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::model_selection::compute_selection;
    use crate::report::fixture;

    fn embedded(record: &RunRecord, results: &[CellResult], opts: &HtmlOptions) -> Value {
        let results = results.to_vec();
        let selection = compute_selection(record, &results).unwrap();
        let data = embedded_data(record, &selection, &results, opts).unwrap();
        let json = serde_json::to_string(&data).unwrap();
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn large_runs_are_capped_failures_first() {
        let (record, results) = fixture::big();
        let opts = HtmlOptions {
            max_cells: 50,
            max_output_chars: 10,
            ..HtmlOptions::default()
        };
        let data = embedded(&record, &results, &opts);
        let cells = data["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 50);
        assert_eq!(data["cells_total"], 2000);
        // p@1 fails 10 cases, p@2 fails 8 and errors on 4: all 22 are kept.
        let notable = cells.iter().filter(|c| c["status"] != "pass").count();
        assert_eq!(notable, 22);
        // Long values are cut, with the full length noted for outputs.
        let question = cells[0]["vars"]["question"].as_str().unwrap();
        assert_eq!(question.chars().count(), 10);
        assert!(question.ends_with('…'));
    }

    #[test]
    fn flips_are_marked() {
        let (record, results) = fixture::small();
        let c = &results[1];
        let opts = HtmlOptions {
            flips: vec![CaseFlip {
                eval: c.eval.clone(),
                prompt: c.prompt.clone(),
                model: c.model.clone(),
                case_id: c.case_id.clone(),
                repeat: c.repeat,
                flip: FlipDirection::FailToPass,
            }],
            ..HtmlOptions::default()
        };
        let data = embedded(&record, &results, &opts);
        let flipped: Vec<_> = data["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c.get("flip").is_some())
            .collect();
        assert_eq!(flipped.len(), 1);
        assert_eq!(flipped[0]["flip"], "fail_to_pass");
        assert_eq!(flipped[0]["case_id"], c.case_id.as_str());
    }

    #[test]
    fn agent_steps_are_embedded_with_their_calls_and_results() {
        let (record, results) = crate::report::fixture_agent::agent();
        let data = embedded(&record, &results, &HtmlOptions::default());
        let cells = data["cells"].as_array().unwrap();
        let oslo = cells.iter().find(|c| c["case_id"] == "oslo").unwrap();
        assert_eq!(oslo["stopped"], "max_steps");
        assert_eq!(oslo["steps"].as_array().unwrap().len(), 4);
        let call = &oslo["steps"][0]["calls"][0];
        assert_eq!(call["shown"], r#"get_weather(city="Oslo")"#);
        assert_eq!(call["result"], "Oslo: -3°C, snow");
        assert_eq!(call["latency_ms"], 4.0);
        assert!(oslo.get("tool_calls").is_none(), "the steps hold the calls");
        let paris = cells.iter().find(|c| c["case_id"] == "paris").unwrap();
        assert_eq!(paris["steps"][1]["calls"][0]["is_error"], true);
        assert!(paris["trajectory"]
            .as_str()
            .unwrap()
            .starts_with("→ get_weather"));
    }

    #[test]
    fn tool_calls_are_embedded_for_the_drill_down() {
        let (record, mut results) = fixture::small();
        results[0].tool_calls = vec![crate::tools::ToolCall::from_raw(
            "c1",
            "get_weather",
            r#"{"city": "Rome"}"#,
        )];
        let data = embedded(&record, &results, &HtmlOptions::default());
        let cells = data["cells"].as_array().unwrap();
        let with_calls: Vec<_> = cells
            .iter()
            .filter(|c| c.get("tool_calls").is_some())
            .collect();
        assert_eq!(with_calls.len(), 1);
        let call = &with_calls[0]["tool_calls"][0];
        assert_eq!(call["name"], "get_weather");
        assert_eq!(call["shown"], r#"get_weather(city="Rome")"#);
        assert_eq!(call["arguments"], "{\n  \"city\": \"Rome\"\n}");
    }

    #[test]
    fn flips_are_read_from_the_comparison() {
        let comparison = fixture::comparison();
        let flips = CaseFlip::all_in(&comparison);
        let (regressions, fixes) = comparison.flip_counts();
        assert_eq!(flips.len(), regressions + fixes);
        let down = flips
            .iter()
            .filter(|f| f.flip == FlipDirection::PassToFail)
            .count();
        assert_eq!(down, regressions);
        let row = comparison
            .rows
            .iter()
            .find(|r| !r.fixes.is_empty())
            .unwrap();
        let fix = &row.fixes[0];
        assert!(flips.contains(&CaseFlip {
            eval: row.eval.clone(),
            prompt: row.prompt.clone(),
            model: row.model.clone(),
            case_id: fix.case_id.clone(),
            repeat: fix.repeat,
            flip: FlipDirection::FailToPass,
        }));
    }
}
