//! Group assertions (`select-best`): the cells of one case × repeat are held until every
//! prompt × model output exists, then scored together and finished.

use std::collections::HashMap;
use std::sync::Arc;

use super::cell::{assertions_of, score_context, CellId};
use crate::dataset::DatasetError;
use crate::plan::Plan;
use crate::run::events::CellResult;
use crate::score::{aggregate, case_key, Candidate};

/// One case × repeat of one eval: the cells a group assertion compares.
pub(crate) type GroupKey = (usize, usize, u32);

/// Cells waiting for the rest of their group. Cells are scheduled case by case, so only
/// the groups of cases in flight are held.
#[derive(Default)]
pub(crate) struct Held {
    groups: HashMap<GroupKey, Vec<Option<CellResult>>>,
}

/// Whether cells of this eval's case wait for their group.
pub(crate) fn is_grouped(plan: &Plan, id: &CellId) -> bool {
    let eval = &plan.evals[id.eval];
    assertions_of(eval, id.row).any(|a| a.is_group())
}

impl Held {
    /// Holds `cell`; returns its whole group (ordered by prompt, then model) once complete.
    pub(crate) fn add(
        &mut self,
        plan: &Plan,
        id: CellId,
        cell: CellResult,
    ) -> Option<(GroupKey, Vec<CellResult>)> {
        let eval = &plan.evals[id.eval];
        let size = eval.prompts.len() * eval.models.len();
        let key = (id.eval, id.row, id.repeat);
        let slots = self.groups.entry(key).or_insert_with(|| vec![None; size]);
        slots[id.prompt * eval.models.len() + id.model] = Some(cell);
        if slots.iter().all(Option::is_some) {
            let slots = self.groups.remove(&key)?;
            return Some((key, slots.into_iter().flatten().collect()));
        }
        None
    }
}

/// Scores the group assertions of a complete group and finishes its cells: each group
/// result replaces its placeholder, the case score is recomputed, and the judge's usage is
/// shared among the cells it compared. Fails only when the case's row cannot be read again
/// from its dataset.
pub(crate) async fn finish_group(
    plan: Arc<Plan>,
    key: GroupKey,
    mut cells: Vec<CellResult>,
) -> Result<Vec<CellResult>, DatasetError> {
    let (e, row, repeat) = key;
    let eval = &plan.evals[e];
    let assertions: Vec<_> = assertions_of(eval, row).collect();
    let ctx = score_context(&plan, eval, "");
    let context = eval.rows.row(row)?.context();
    let case_id = cells.first().map_or("", |c| c.case_id.as_str());
    let case = case_key(&eval.name, case_id, repeat);
    let labels: Vec<String> = cells
        .iter()
        .map(|c| format!("{} · {}", c.prompt, c.model))
        .collect();
    for (i, assertion) in assertions.iter().enumerate() {
        if !assertion.is_group() {
            continue;
        }
        let outputs: Vec<Option<Candidate<'_>>> = cells
            .iter()
            .zip(&labels)
            .map(|(c, label)| match (&c.output, c.assertions.len() > i) {
                (Some(output), true) => Some(Candidate { output, label }),
                _ => None,
            })
            .collect();
        let (results, usage) = assertion
            .evaluate_group(&outputs, &context, &case, &ctx)
            .await;
        let shares = usage.split(results.iter().flatten().count());
        let mut shares = shares.iter();
        for (cell, result) in cells.iter_mut().zip(results) {
            if let Some(result) = result {
                cell.assertions[i] = result;
                if let Some(share) = shares.next() {
                    share.apply(cell);
                }
            }
        }
    }
    for cell in cells.iter_mut().filter(|c| c.error.is_none()) {
        let case = aggregate(cell.assertions.clone(), eval.threshold);
        cell.pass = case.pass;
        cell.score = case.score;
    }
    Ok(cells)
}
