//! One cell: render the prompt with the row, call the model, score the output.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use crate::plan::{EvalPlan, Plan};
use crate::provider::{ProviderRequest, ProviderResponse, RetryNotice};
use crate::run::events::CellResult;
use crate::score::{score_output_async, Assertion, ScoreContext, ScoreInput};

/// Which cell of the plan: indexes into evals, rows, prompts and models.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CellId {
    pub eval: usize,
    pub row: usize,
    pub prompt: usize,
    pub model: usize,
    pub repeat: u32,
}

/// Runs one cell to its end: every path returns a result, scored or errored.
pub(crate) async fn run_cell(
    plan: Arc<Plan>,
    id: CellId,
    retries: Option<UnboundedSender<RetryNotice>>,
) -> CellResult {
    let eval = &plan.evals[id.eval];
    let row = &eval.rows[id.row];
    let prompt = &eval.prompts[id.prompt];
    let model = &eval.models[id.model];
    let mut result = unscored(&plan, id);
    let rendered = match plan.templates.render_prompt(&prompt.version, &row.context) {
        Ok(r) => r,
        Err(e) => {
            result.error = Some(format!("could not render {}: {e}", result.prompt));
            return result;
        }
    };
    let Some(provider) = plan.providers.get(model) else {
        result.error = Some(format!("model `{model}` has no provider"));
        return result;
    };
    let prompt_text = rendered.to_text();
    let request = ProviderRequest {
        prompt: rendered,
        params: eval.params[id.prompt][id.model].clone(),
        vars: row.vars.clone(),
        retries,
        tools: None,
    };
    let started = Instant::now();
    match provider.complete_repeat(request, id.repeat).await {
        Ok(response) => {
            result.latency_ms = response.latency_ms;
            result.queue_ms = response.queue_ms;
            result.cached = response.cached;
            result.tokens_in = response.tokens_in;
            result.tokens_out = response.tokens_out;
            result.cost_usd =
                provider.cost_cached(response.tokens_in, response.tokens_out, response.cache);
            score_into(&plan, id, response, &prompt_text, &mut result).await;
        }
        Err(e) => {
            result.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            result.error = Some(e.message);
        }
    }
    result
}

/// The cell's result before the model answers: named, not passed, no output.
fn unscored(plan: &Plan, id: CellId) -> CellResult {
    let eval = &plan.evals[id.eval];
    let row = &eval.rows[id.row];
    CellResult {
        eval: eval.name.clone(),
        prompt: eval.prompts[id.prompt].version.reference(),
        model: eval.models[id.model].clone(),
        case_id: row.id.clone(),
        repeat: id.repeat,
        vars: row.vars.clone(),
        output: None,
        error: None,
        tool_calls: Vec::new(),
        finish_reason: None,
        latency_ms: 0.0,
        queue_ms: None,
        tokens_in: None,
        tokens_out: None,
        cost_usd: None,
        cached: false,
        pass: false,
        score: 0.0,
        assertions: Vec::new(),
        grader_tokens_in: None,
        grader_tokens_out: None,
        grader_cost_usd: None,
    }
}

/// Scores the model's answer with the eval's and the row's assertions and records the
/// verdict, the grader's usage and the output in `result`.
async fn score_into(
    plan: &Plan,
    id: CellId,
    response: ProviderResponse,
    prompt_text: &str,
    result: &mut CellResult,
) {
    let eval = &plan.evals[id.eval];
    let row = &eval.rows[id.row];
    let input = ScoreInput {
        output: &response.output,
        vars: &row.context,
        latency_ms: response.latency_ms,
        tool_calls: &response.tool_calls,
        tools: None,
    };
    let ctx = score_context(plan, eval, prompt_text);
    let assertions: Vec<&Assertion> = assertions_of(eval, id.row).collect();
    let scored = score_output_async(
        eval.transform.as_ref(),
        &assertions,
        &input,
        &ctx,
        row.threshold.or(eval.threshold),
    )
    .await;
    scored.usage.apply(result);
    let case = scored.case;
    result.pass = case.pass;
    result.score = case.score;
    result.assertions = case.assertions;
    result.output = Some(response.output);
    result.tool_calls = response.tool_calls;
    result.finish_reason = response.finish_reason;
}

/// What the scorers of the eval's cells read from the plan; `prompt` is the prompt sent,
/// as text.
pub(crate) fn score_context<'a>(
    plan: &'a Plan,
    eval: &'a EvalPlan,
    prompt: &'a str,
) -> ScoreContext<'a> {
    ScoreContext {
        templates: &plan.templates,
        providers: &plan.providers,
        setup: &plan.scoring,
        grader: eval.grader.as_deref(),
        embedder: eval.embedder.as_deref(),
        prompt,
    }
}

/// The assertions of one row: the eval's, then the row's own.
pub(crate) fn assertions_of(eval: &EvalPlan, row: usize) -> impl Iterator<Item = &Assertion> {
    eval.assertions.iter().chain(&eval.row_assertions[row])
}
