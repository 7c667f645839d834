//! Stored answers in place of a model (`prompteval rescore`): a cell scored again from the output a stored run kept.

use std::collections::HashMap;
use std::sync::Arc;

use super::cell::{score_into, unscored, CellId};
use crate::dataset::{DatasetError, Row};
use crate::plan::Plan;
use crate::provider::{CacheTokens, ProviderResponse};
use crate::run::events::CellResult;
use crate::run::CellKey;

/// The stored cells a rescore scores again, by cell.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    cells: HashMap<CellKey, CellResult>,
}

impl Replay {
    /// The stored cells, each once (a later line of the same cell replaces an earlier one).
    pub fn new(cells: impl IntoIterator<Item = CellResult>) -> Replay {
        Replay {
            cells: cells.into_iter().map(|c| (CellKey::of(&c), c)).collect(),
        }
    }

    /// The stored cell, when the source run has it.
    pub fn get(&self, key: &CellKey) -> Option<&CellResult> {
        self.cells.get(key)
    }

    /// Removes a cell (one that cannot be scored again) and returns it.
    pub fn remove(&mut self, key: &CellKey) -> Option<CellResult> {
        self.cells.remove(key)
    }

    /// How many cells it holds.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether it holds no cell.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The stored cells, in no particular order.
    pub fn cells(&self) -> impl Iterator<Item = &CellResult> {
        self.cells.values()
    }
}

/// Scores the stored answer of cell `id` with the plan's current assertions, transform and
/// threshold, as [`super::cell::run_cell`] scores a model's answer; no model is called
/// (judges call their grader). A cell that errored stays the error it was.
/// Fails only when the cell's row cannot be read again from its dataset.
pub(crate) async fn replay_cell(
    plan: Arc<Plan>,
    id: CellId,
    stored: CellResult,
) -> Result<CellResult, DatasetError> {
    if stored.error.is_some() {
        return Ok(stored);
    }
    let eval = &plan.evals[id.eval];
    let row = eval.rows.row(id.row)?;
    Ok(replay_with(&plan, (id, &row), stored).await)
}

/// [`replay_cell`] with the cell's row.
async fn replay_with(plan: &Plan, (id, row): (CellId, &Row), stored: CellResult) -> CellResult {
    let eval = &plan.evals[id.eval];
    let mut result = unscored(plan, id, row);
    result.latency_ms = stored.latency_ms;
    result.queue_ms = stored.queue_ms;
    result.cached = stored.cached;
    result.tokens_in = stored.tokens_in;
    result.tokens_out = stored.tokens_out;
    result.cost_usd = stored.cost_usd;
    result.steps = stored.steps;
    result.stopped = stored.stopped;
    result.simulated_user = stored.simulated_user;
    // Judges read the prompt that was sent; a version that no longer renders with the row
    // leaves them an empty one rather than failing a cell whose answer exists.
    let prompt_text = plan
        .templates
        .render_prompt(&eval.prompts[id.prompt].version, &row.context())
        .map(|r| r.to_text())
        .unwrap_or_default();
    if let Some(conversation) = eval.conversations.get(id.row).and_then(Option::as_ref) {
        let cell = (id, row);
        super::conversation::score_conversation(
            plan,
            cell,
            conversation,
            &prompt_text,
            &mut result,
        )
        .await;
        return result;
    }
    let response = ProviderResponse {
        output: stored.output.unwrap_or_default(),
        tokens_in: stored.tokens_in,
        tokens_out: stored.tokens_out,
        latency_ms: stored.latency_ms,
        queue_ms: stored.queue_ms,
        cache: CacheTokens::default(),
        attempts: 1,
        cached: stored.cached,
        tool_calls: stored.tool_calls,
        finish_reason: stored.finish_reason,
    };
    score_into(plan, (id, row), response, &prompt_text, &mut result).await;
    result
}
