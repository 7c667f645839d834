//! Pairing two runs' cells and comparing them row by row: rates, McNemar, bootstrap, flips.

use std::collections::{BTreeMap, HashMap};
use std::io;

use serde::{Deserialize, Serialize};

use crate::agent::step::all_calls;
use crate::analysis::{stats, trajectory};
use crate::run::events::{CellResult, CellStatus};
use crate::store::{ResultSource, RunRecord};

use super::{Baseline, BaselineError};

/// The version of the comparison format; bumped on incompatible changes.
pub const COMPARISON_VERSION: u32 = 1;
/// Characters of output kept per side of a flipped case.
pub const SNAPSHOT_CHARS: usize = 400;

/// One eval × prompt × model of a run.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RowKey {
    /// The eval.
    pub eval: String,
    /// The prompt reference as resolved (`sentiment@2`).
    pub prompt: String,
    /// The model.
    pub model: String,
}

/// One cell (case × repeat) of a row in both runs; a side is `None` when that run did not
/// have the cell.
#[derive(Clone, Debug)]
pub struct CellPair {
    /// The row in the current run (in the baseline when only the baseline has the cell).
    pub row: RowKey,
    /// The baseline's prompt reference for this row, when it has one.
    pub baseline_prompt: Option<String>,
    /// The case id.
    pub case_id: String,
    /// The repeat index.
    pub repeat: u32,
    /// The baseline's cell.
    pub before: Option<CellResult>,
    /// The current run's cell.
    pub after: Option<CellResult>,
}

impl CellPair {
    /// Whether both sides were scored (no errors): only such pairs enter the statistics.
    pub fn scored(&self) -> Option<(&CellResult, &CellResult)> {
        match (&self.before, &self.after) {
            (Some(b), Some(a)) if b.error.is_none() && a.error.is_none() => Some((b, a)),
            _ => None,
        }
    }
}

/// What one side of a flipped case looked like.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSnapshot {
    /// Pass, fail or error.
    pub status: CellStatus,
    /// The case score.
    pub score: f64,
    /// The output, cut at [`SNAPSHOT_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The error, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failed assertions, `type: reason`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The tool calls on one line (`→ get_weather(city="Rome")`), when there were any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<String>,
}

impl CellSnapshot {
    /// A snapshot of `cell`, its output cut at `max_chars` characters.
    pub fn of(cell: &CellResult, max_chars: usize) -> CellSnapshot {
        let cut = |s: &str| {
            if s.chars().count() > max_chars {
                let mut t: String = s.chars().take(max_chars).collect();
                t.push('…');
                t
            } else {
                s.to_string()
            }
        };
        CellSnapshot {
            status: cell.status(),
            score: cell.score,
            output: cell.output.as_deref().map(cut),
            error: cell.error.as_deref().map(cut),
            reasons: cell
                .assertions
                .iter()
                .filter(|a| !a.pass)
                .map(|a| format!("{}: {}", a.kind, a.reason))
                .collect(),
            // An agent cell's calls are its whole trajectory's, with their results.
            tool_calls: if cell.steps.is_empty() {
                (!cell.tool_calls.is_empty()).then(|| crate::tools::show::arrows(&cell.tool_calls))
            } else {
                Some(trajectory::one_line(&cell.steps, cell.stopped))
            },
        }
    }
}

/// Whether two cells made the same calls over their whole trajectories.
fn same_trajectory_calls(b: &CellResult, a: &CellResult) -> bool {
    let calls = |c: &CellResult| -> Vec<crate::tools::ToolCall> {
        all_calls(&c.steps, &c.tool_calls)
            .into_iter()
            .cloned()
            .collect()
    };
    crate::tools::same_calls(&calls(b), &calls(a))
}

/// A case whose outcome changed between the runs (pass → fail or fail → pass).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flip {
    /// The case id.
    pub case_id: String,
    /// The repeat index.
    pub repeat: u32,
    /// The baseline's cell.
    pub before: CellSnapshot,
    /// The current run's cell.
    pub after: CellSnapshot,
    /// Where the two trajectories part, when the cells ran an agent loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parting: Option<trajectory::Parting>,
}

/// One prompt × model of the current run against its baseline row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowComparison {
    /// The eval.
    pub eval: String,
    /// The prompt reference now.
    pub prompt: String,
    /// The model.
    pub model: String,
    /// The prompt reference of the baseline row; `None` when the baseline has no such
    /// prompt × model (a new prompt or model: nothing to compare).
    pub baseline_prompt: Option<String>,
    /// Passed cells now (whole row, paired or not).
    pub passed: u64,
    /// Scored cells now.
    pub scored: u64,
    /// Passed cells in the baseline row.
    pub baseline_passed: u64,
    /// Scored cells in the baseline row.
    pub baseline_scored: u64,
    /// Cells scored in both runs (same case id and repeat): the comparison's sample.
    pub paired: u64,
    /// Of the paired cells, how many passed in the baseline.
    pub paired_passed_before: u64,
    /// Of the paired cells, how many pass now.
    pub paired_passed_after: u64,
    /// The change in pass rate on the paired cells (now − baseline).
    pub delta_pass_rate: Option<f64>,
    /// Its 95% interval (Newcombe hybrid score).
    pub delta_pass_rate_ci: Option<(f64, f64)>,
    /// The exact McNemar p-value (two-sided) on the paired cells.
    pub p_value: Option<f64>,
    /// Its mid-p variant.
    pub mid_p: Option<f64>,
    /// Mean score of the paired cells in the baseline.
    pub baseline_score_mean: Option<f64>,
    /// Mean score of the paired cells now.
    pub score_mean: Option<f64>,
    /// The change in mean score on the paired cells, with its 95% paired-bootstrap interval.
    pub delta_score: Option<f64>,
    /// Its 95% paired-bootstrap interval.
    pub delta_score_ci: Option<(f64, f64)>,
    /// Cells that passed in the baseline and fail now, in case order.
    pub regressions: Vec<Flip>,
    /// Cells that failed in the baseline and pass now, in case order.
    pub fixes: Vec<Flip>,
    /// Cells that passed (or failed) both times but made other tool calls (a function or
    /// an argument changed), in case order; not flips, so no gate counts them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_changes: Vec<Flip>,
    /// Cells present in both runs where either side errored (left out of the statistics).
    pub errored_pairs: u64,
    /// Cells of this row in only one of the runs.
    pub unpaired: u64,
    /// How the baseline row was chosen when the baseline never ran this version (`the
    /// baseline's greet@production`); `None` for the usual pairings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing: Option<String>,
}

impl RowComparison {
    /// The drop in pass rate on the paired cells (positive when it got worse).
    pub fn drop(&self) -> Option<f64> {
        self.delta_pass_rate.map(|d| -d)
    }
}

/// A run compared with its baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// [`COMPARISON_VERSION`].
    pub version: u32,
    /// The current run.
    pub run_id: String,
    /// The baseline run.
    pub baseline_run_id: String,
    /// How the baseline was named (`latest`, `git:main`, a path).
    pub baseline_reference: String,
    /// One entry per row of the current run's summary, in its order.
    pub rows: Vec<RowComparison>,
    /// Rows of the baseline that the current run does not have (a removed prompt or model)
    /// in evals that both runs ran.
    pub baseline_only: Vec<RowKey>,
}

impl Comparison {
    /// The comparison of one row.
    pub fn row(&self, eval: &str, prompt: &str, model: &str) -> Option<&RowComparison> {
        self.rows
            .iter()
            .find(|r| r.eval == eval && r.prompt == prompt && r.model == model)
    }

    /// Cells that went pass → fail and fail → pass, over every row.
    pub fn flip_counts(&self) -> (usize, usize) {
        self.flip_counts_in(None)
    }

    /// Cells that went pass → fail and fail → pass, over the rows of `eval` (every row
    /// when `None`).
    pub fn flip_counts_in(&self, eval: Option<&str>) -> (usize, usize) {
        self.rows
            .iter()
            .filter(|row| eval.is_none_or(|e| row.eval == e))
            .fold((0, 0), |(r, f), row| {
                (r + row.regressions.len(), f + row.fixes.len())
            })
    }
}

/// The name part of a prompt reference (`sentiment` of `sentiment@2`).
pub fn prompt_name(reference: &str) -> &str {
    reference
        .split_once('@')
        .map_or(reference, |(name, _)| name)
}

/// For each eval × prompt reference of `after`, the prompt reference of `before` that it
/// is compared with: the one requested the same way in the eval file
/// (`sentiment@production` both times), else the same resolved reference, else production
/// (see [`production_pair`]),
/// else the only version of the same prompt name on each side.
fn prompt_map(
    before: &RunRecord,
    after: &RunRecord,
    production: &BTreeMap<String, u32>,
) -> HashMap<(String, String), Paired> {
    // (requested, reference) per eval; from the summary when the record lists no prompts.
    fn prompts(record: &RunRecord) -> BTreeMap<String, Vec<(String, String)>> {
        let mut map: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for eval in &record.evals {
            let list = map.entry(eval.name.clone()).or_default();
            for p in &eval.prompts {
                list.push((p.requested.clone(), p.reference.clone()));
            }
        }
        for row in &record.summary {
            let list = map.entry(row.eval.clone()).or_default();
            if !list.iter().any(|(_, r)| *r == row.prompt) {
                list.push((row.prompt.clone(), row.prompt.clone()));
            }
        }
        map
    }
    let (old, new) = (prompts(before), prompts(after));
    let mut map = HashMap::new();
    for (eval, now) in &new {
        let Some(then) = old.get(eval) else { continue };
        for (requested, reference) in now {
            let by_requested = then.iter().find(|(r, _)| r == requested);
            let by_reference = then.iter().find(|(_, r)| r == reference);
            let name = prompt_name(reference);
            fn same_name<'l>(list: &'l [(String, String)], name: &str) -> Vec<&'l String> {
                let mut refs: Vec<&String> = list
                    .iter()
                    .map(|(_, r)| r)
                    .filter(|r| prompt_name(r) == name)
                    .collect();
                refs.dedup();
                refs
            }
            let by_name = match (same_name(then, name).as_slice(), same_name(now, name).len()) {
                ([only], 1) => Some(*only),
                _ => None,
            };
            let found = by_requested
                .map(|(_, r)| (r.clone(), None))
                .or(by_reference.map(|(_, r)| (r.clone(), None)))
                .or_else(|| production_pair(then, name, production))
                .or(by_name.map(|r| {
                    let how = format!("{r}, the only version of {name} in the baseline");
                    (r.clone(), Some(how))
                }));
            if let Some(base) = found {
                map.insert((eval.clone(), reference.clone()), base);
            }
        }
    }
    map
}

type CellKey = (String, String, String, String, u32);

/// The baseline prompt a row is compared with, and how it was chosen when that is not
/// the usual way.
type Paired = (String, Option<String>);

/// For a version the baseline never ran: the baseline's `NAME@production` (what the alias
/// pointed at then), else the version `production` points at now, when the baseline ran it.
fn production_pair(
    then: &[(String, String)],
    name: &str,
    production: &BTreeMap<String, u32>,
) -> Option<Paired> {
    let alias = format!("{name}@production");
    if let Some((_, r)) = then.iter().find(|(requested, _)| *requested == alias) {
        return Some((r.clone(), Some(format!("the baseline's {alias} ({r})"))));
    }
    let now = format!("{name}@{}", production.get(name)?);
    then.iter()
        .find(|(_, r)| *r == now)
        .map(|(_, r)| (r.clone(), Some(format!("{r}, which {alias} points at now"))))
}

/// Pairs the cells of two runs by eval, prompt (see the module docs for how references
/// are matched), model, case id and repeat. Pairs come in the order of `after`'s results,
/// then the baseline's cells that `after` lacks.
pub fn pair_cells(
    before_record: &RunRecord,
    before: &dyn ResultSource,
    after_record: &RunRecord,
    after: &dyn ResultSource,
) -> io::Result<Vec<CellPair>> {
    let map = prompt_map(before_record, after_record, &BTreeMap::new());
    pair_cells_by(&map, before, after)
}

/// [`pair_cells`] with the prompt pairing made.
fn pair_cells_by(
    map: &HashMap<(String, String), Paired>,
    before: &dyn ResultSource,
    after: &dyn ResultSource,
) -> io::Result<Vec<CellPair>> {
    let reverse: HashMap<(String, String), String> = map
        .iter()
        .map(|((eval, now), (then, _))| ((eval.clone(), then.clone()), now.clone()))
        .collect();
    let mut old: HashMap<CellKey, CellResult> = HashMap::new();
    let mut order: Vec<CellKey> = Vec::new();
    for cell in before.results()? {
        let cell = cell?;
        let key = (
            cell.eval.clone(),
            cell.prompt.clone(),
            cell.model.clone(),
            cell.case_id.clone(),
            cell.repeat,
        );
        if old.insert(key.clone(), cell).is_none() {
            order.push(key);
        }
    }
    let mut pairs = Vec::new();
    let mut used: std::collections::HashSet<CellKey> = std::collections::HashSet::new();
    for cell in after.results()? {
        let cell = cell?;
        let base_prompt = map
            .get(&(cell.eval.clone(), cell.prompt.clone()))
            .map(|(p, _)| p.clone());
        // `get`, not `remove`: two versions now may both be compared with one baseline
        // version (a new version paired with production, and production itself).
        let before = base_prompt.as_ref().and_then(|p| {
            let key = (
                cell.eval.clone(),
                p.clone(),
                cell.model.clone(),
                cell.case_id.clone(),
                cell.repeat,
            );
            let found = old.get(&key).cloned();
            used.insert(key);
            found
        });
        pairs.push(CellPair {
            row: RowKey {
                eval: cell.eval.clone(),
                prompt: cell.prompt.clone(),
                model: cell.model.clone(),
            },
            baseline_prompt: base_prompt,
            case_id: cell.case_id.clone(),
            repeat: cell.repeat,
            before,
            after: Some(cell),
        });
    }
    for key in order {
        if used.contains(&key) {
            continue;
        }
        let Some(cell) = old.remove(&key) else {
            continue;
        };
        let now = reverse
            .get(&(cell.eval.clone(), cell.prompt.clone()))
            .cloned();
        pairs.push(CellPair {
            row: RowKey {
                eval: cell.eval.clone(),
                prompt: now.unwrap_or_else(|| cell.prompt.clone()),
                model: cell.model.clone(),
            },
            baseline_prompt: Some(cell.prompt.clone()),
            case_id: cell.case_id.clone(),
            repeat: cell.repeat,
            before: Some(cell),
            after: None,
        });
    }
    Ok(pairs)
}

/// Compares the run `record` (with its `results`) against `baseline`, row by row.
pub fn compare(
    baseline: &Baseline,
    record: &RunRecord,
    results: &dyn ResultSource,
) -> Result<Comparison, BaselineError> {
    let map = prompt_map(&baseline.record, record, &baseline.production);
    let pairs =
        pair_cells_by(&map, baseline, results).map_err(|source| BaselineError::Results {
            which: "current",
            source,
        })?;
    Ok(compare_pairs(baseline, record, &map, &pairs))
}

fn compare_pairs(
    baseline: &Baseline,
    record: &RunRecord,
    map: &HashMap<(String, String), Paired>,
    pairs: &[CellPair],
) -> Comparison {
    let mut by_row: HashMap<&RowKey, Vec<&CellPair>> = HashMap::new();
    for pair in pairs {
        by_row.entry(&pair.row).or_default().push(pair);
    }
    let mut rows = Vec::new();
    for row in &record.summary {
        let key = RowKey {
            eval: row.eval.clone(),
            prompt: row.prompt.clone(),
            model: row.model.clone(),
        };
        let paired = map.get(&(row.eval.clone(), row.prompt.clone()));
        let base_row = paired.and_then(|(p, _)| {
            baseline
                .record
                .summary
                .iter()
                .find(|b| b.eval == row.eval && b.prompt == *p && b.model == row.model)
        });
        let cells = by_row.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let mut compared = compare_row(
            key,
            base_row.map(|b| b.prompt.clone()),
            (row.passed, row.passed + row.failed),
            base_row.map_or((0, 0), |b| (b.passed, b.passed + b.failed)),
            cells,
        );
        compared.pairing = base_row.and(paired).and_then(|(_, how)| how.clone());
        rows.push(compared);
    }
    let now_evals: Vec<&str> = record.summary.iter().map(|r| r.eval.as_str()).collect();
    let baseline_only = baseline
        .record
        .summary
        .iter()
        .filter(|b| now_evals.contains(&b.eval.as_str()))
        .filter(|b| {
            !rows.iter().any(|r| {
                r.eval == b.eval
                    && r.model == b.model
                    && r.baseline_prompt.as_deref() == Some(&b.prompt)
            })
        })
        .map(|b| RowKey {
            eval: b.eval.clone(),
            prompt: b.prompt.clone(),
            model: b.model.clone(),
        })
        .collect();
    Comparison {
        version: COMPARISON_VERSION,
        run_id: record.run_id.clone(),
        baseline_run_id: baseline.record.run_id.clone(),
        baseline_reference: baseline.reference.clone(),
        rows,
        baseline_only,
    }
}

fn compare_row(
    key: RowKey,
    baseline_prompt: Option<String>,
    (passed, scored): (u64, u64),
    (baseline_passed, baseline_scored): (u64, u64),
    cells: &[&CellPair],
) -> RowComparison {
    let Pairs {
        before_scores,
        after_scores,
        passed_before: pb,
        passed_after: pa,
        regressions,
        fixes,
        call_changes,
        errored_pairs,
        unpaired,
    } = pair_up(cells);
    let n = before_scores.len() as u64;
    let paired = n > 0;
    let test = paired.then(|| stats::mcnemar_exact(regressions.len() as u64, fixes.len() as u64));
    let boot = stats::paired_bootstrap_mean_diff(
        &before_scores,
        &after_scores,
        stats::BOOTSTRAP_RESAMPLES,
        0.95,
        stats::BOOTSTRAP_SEED,
    );
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    RowComparison {
        eval: key.eval,
        prompt: key.prompt,
        model: key.model,
        baseline_prompt,
        passed,
        scored,
        baseline_passed,
        baseline_scored,
        paired: n,
        paired_passed_before: pb,
        paired_passed_after: pa,
        delta_pass_rate: paired.then(|| (pa as f64 - pb as f64) / n as f64),
        delta_pass_rate_ci: paired.then(|| stats::newcombe_diff(pa, n, pb, n, stats::Z95)),
        p_value: test.map(|t| t.p_value),
        mid_p: test.map(|t| t.mid_p),
        baseline_score_mean: mean(&before_scores),
        score_mean: mean(&after_scores),
        delta_score: boot.map(|b| b.estimate),
        delta_score_ci: boot.map(|b| (b.low, b.high)),
        regressions,
        fixes,
        call_changes,
        errored_pairs,
        unpaired,
        pairing: None,
    }
}

/// A row's cell pairs, counted: the scores and passes of the pairs scored on both
/// sides, and the flips among them in case order.
#[derive(Default)]
struct Pairs {
    before_scores: Vec<f64>,
    after_scores: Vec<f64>,
    passed_before: u64,
    passed_after: u64,
    regressions: Vec<Flip>,
    fixes: Vec<Flip>,
    call_changes: Vec<Flip>,
    /// Pairs with both cells present but one errored.
    errored_pairs: u64,
    /// Cells with no counterpart on the other side.
    unpaired: u64,
}

/// Counts the row's cell pairs into [`Pairs`].
fn pair_up(cells: &[&CellPair]) -> Pairs {
    let mut out = Pairs::default();
    for pair in cells {
        let Some((b, a)) = pair.scored() else {
            if pair.before.is_some() && pair.after.is_some() {
                out.errored_pairs += 1;
            } else {
                out.unpaired += 1;
            }
            continue;
        };
        out.before_scores.push(b.score);
        out.after_scores.push(a.score);
        out.passed_before += u64::from(b.pass);
        out.passed_after += u64::from(a.pass);
        let parting = trajectory::parting(&b.steps, &a.steps);
        let calls_changed = !crate::tools::same_calls(&b.tool_calls, &a.tool_calls)
            || parting
                .as_ref()
                .is_some_and(|_| !same_trajectory_calls(b, a));
        if b.pass != a.pass || calls_changed {
            let flip = Flip {
                case_id: pair.case_id.clone(),
                repeat: pair.repeat,
                before: CellSnapshot::of(b, SNAPSHOT_CHARS),
                after: CellSnapshot::of(a, SNAPSHOT_CHARS),
                parting,
            };
            if b.pass == a.pass {
                out.call_changes.push(flip);
            } else if b.pass {
                out.regressions.push(flip);
            } else {
                out.fixes.push(flip);
            }
        }
    }
    let order = |x: &Flip, y: &Flip| {
        crate::report::human::natural_cmp(&x.case_id, &y.case_id).then(x.repeat.cmp(&y.repeat))
    };
    out.regressions.sort_by(order);
    out.fixes.sort_by(order);
    out.call_changes.sort_by(order);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::tools::ToolCall;

    #[test]
    fn a_changed_call_is_listed_apart_from_the_flips() {
        let (record, results) = fixture::small();
        let call = |city: &str| {
            vec![ToolCall::from_raw(
                "c1",
                "get_weather",
                format!(r#"{{"city": "{city}"}}"#),
            )]
        };
        let chosen = |c: &CellResult| c.prompt == "sentiment@1" && c.model == "echo";
        let mut before = results.clone();
        for cell in before.iter_mut().filter(|c| chosen(c)) {
            cell.tool_calls = call("Paris");
        }
        let mut now = results.clone();
        for cell in now.iter_mut().filter(|c| chosen(c) && c.case_id == "1") {
            cell.tool_calls = call("Rome");
        }
        for cell in now.iter_mut().filter(|c| chosen(c) && c.case_id != "1") {
            cell.tool_calls = call("Paris");
        }
        let baseline = Baseline {
            reference: "latest".into(),
            record: record.clone(),
            results: before,
            passed_over: 0,
            production: Default::default(),
        };
        let comparison = compare(&baseline, &record, &now).unwrap();
        let row = comparison.row("sentiment", "sentiment@1", "echo").unwrap();
        assert!(row.regressions.is_empty() && row.fixes.is_empty());
        assert_eq!(row.call_changes.len(), 1);
        let change = &row.call_changes[0];
        assert_eq!(change.case_id, "1");
        assert_eq!(
            change.before.tool_calls.as_deref(),
            Some(r#"→ get_weather(city="Paris")"#)
        );
        assert_eq!(
            change.after.tool_calls.as_deref(),
            Some(r#"→ get_weather(city="Rome")"#)
        );
    }

    #[test]
    fn a_comparison_without_calls_keeps_its_bytes() {
        let json = serde_json::to_string(&fixture::comparison()).unwrap();
        assert!(!json.contains("call_changes"), "{json}");
        assert!(!json.contains("tool_calls"), "{json}");
    }
}
