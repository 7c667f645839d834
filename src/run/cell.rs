//! One cell: render the prompt with the row, call the model, score the output.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedSender;

use crate::dataset::{DatasetError, Row};
use crate::plan::{EvalPlan, Plan};
use crate::provider::{ProviderRequest, ProviderResponse, RetryNotice};
use crate::run::agent::AgentCall;
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

/// Runs one cell to its end: every path returns a result, scored or errored. Fails only
/// when the cell's row cannot be read again from its dataset (the file changed since the
/// plan checked it), which ends the run.
pub(crate) async fn run_cell(
    plan: Arc<Plan>,
    id: CellId,
    retries: Option<UnboundedSender<RetryNotice>>,
) -> Result<CellResult, DatasetError> {
    let eval = &plan.evals[id.eval];
    let row = eval.rows.row(id.row)?;
    Ok(run_cell_of(&plan, id, &row, retries).await)
}

/// [`run_cell`] with the cell's row.
async fn run_cell_of(
    plan: &Arc<Plan>,
    id: CellId,
    row: &Row,
    retries: Option<UnboundedSender<RetryNotice>>,
) -> CellResult {
    let eval = &plan.evals[id.eval];
    let prompt = &eval.prompts[id.prompt];
    let model = &eval.models[id.model];
    let mut result = unscored(plan, id, row);
    let rendered = match plan
        .templates
        .render_prompt(&prompt.version, &row.context())
    {
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
    let tools = eval.tool_set(id.prompt, id.row).cloned();
    if let Some(conversation) = eval.conversations.get(id.row).and_then(Option::as_ref) {
        let setup = super::conversation::Setup {
            row,
            provider: provider.as_ref(),
            rendered,
            tools,
            retries,
        };
        return super::conversation::run_conversation(plan, id, conversation, setup, result).await;
    }
    if let Some(handlers) = &eval.handlers {
        let vars = row.vars_map();
        let call = AgentCall {
            provider: provider.as_ref(),
            params: &eval.params[id.prompt][id.model],
            vars: &vars,
            tools,
            handlers,
            max_steps: eval.max_steps,
            repeat: id.repeat,
            retries,
        };
        let mut history = rendered.to_messages();
        let started = Instant::now();
        match call.run_turn(&mut history, 0).await {
            Ok(turn) => {
                sum_steps(&turn.steps, &mut result);
                result.stopped = turn.stopped;
                result.steps = turn.steps;
                score_into(plan, (id, row), turn.last, &prompt_text, &mut result).await;
            }
            Err(failed) => {
                sum_steps(&failed.steps, &mut result);
                // An error cell's latency is the wall time of the whole request.
                result.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                result.steps = failed.steps;
                result.error = Some(failed.error.message);
            }
        }
        return result;
    }
    let request = ProviderRequest {
        prompt: rendered,
        params: eval.params[id.prompt][id.model].clone(),
        vars: result.vars.clone(),
        retries,
        tools,
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
            score_into(plan, (id, row), response, &prompt_text, &mut result).await;
        }
        Err(e) => {
            result.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            result.error = Some(e.message);
        }
    }
    result
}

/// Sums the model's latency, tokens and cost over an agent loop's steps into `result`
/// (a total is unknown when any step's is); cached when every step was.
pub(super) fn sum_steps(steps: &[crate::agent::Step], result: &mut CellResult) {
    result.latency_ms = steps.iter().map(|s| s.latency_ms).sum();
    result.tokens_in = steps.iter().map(|s| s.tokens_in).sum();
    result.tokens_out = steps.iter().map(|s| s.tokens_out).sum();
    result.cost_usd = steps.iter().map(|s| s.cost_usd).sum();
    result.cached = !steps.is_empty() && steps.iter().all(|s| s.cached);
}

/// The cell's result before the model answers: named, not passed, no output.
pub(super) fn unscored(plan: &Plan, id: CellId, row: &Row) -> CellResult {
    let eval = &plan.evals[id.eval];
    CellResult {
        eval: eval.name.clone(),
        prompt: eval.prompts[id.prompt].version.reference(),
        model: eval.models[id.model].clone(),
        case_id: row.id.clone(),
        repeat: id.repeat,
        vars: row.vars_map(),
        output: None,
        error: None,
        tool_calls: Vec::new(),
        finish_reason: None,
        steps: Vec::new(),
        stopped: None,
        simulated_user: None,
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
pub(super) async fn score_into(
    plan: &Plan,
    (id, row): (CellId, &Row),
    response: ProviderResponse,
    prompt_text: &str,
    result: &mut CellResult,
) {
    let eval = &plan.evals[id.eval];
    let context = row.context();
    let input = ScoreInput {
        output: &response.output,
        vars: &context,
        latency_ms: result.latency_ms,
        tool_calls: &response.tool_calls,
        tools: eval.tool_set(id.prompt, id.row).map(|t| &**t),
        steps: &result.steps,
    };
    let ctx = score_context(plan, eval, prompt_text);
    let assertions: Vec<&Assertion> = assertions_of(eval, id.row).collect();
    let scored = score_output_async(
        eval.transform.as_ref(),
        &assertions,
        &input,
        &ctx,
        row.threshold().or(eval.threshold),
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
    eval.assertions.iter().chain(eval.row_asserts(row))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::config::project::Project;
    use crate::plan::{plan_with, Selection};
    use crate::provider::{BoxFuture, CacheTokens, Provider, ProviderError};
    use crate::registry::Registry;
    use crate::tools::{ToolChoice, ToolSet};

    /// Answers every request with its prompt and keeps the tools it was offered.
    #[derive(Default)]
    struct Recording {
        offered: Mutex<Vec<Option<Arc<ToolSet>>>>,
    }

    impl Provider for Recording {
        fn complete(
            &self,
            request: ProviderRequest,
        ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
            self.offered.lock().unwrap().push(request.tools.clone());
            Box::pin(async move {
                Ok(ProviderResponse {
                    output: request.prompt.to_text(),
                    tokens_in: None,
                    tokens_out: None,
                    latency_ms: 0.0,
                    queue_ms: None,
                    cache: CacheTokens::default(),
                    attempts: 1,
                    cached: false,
                    tool_calls: Vec::new(),
                    finish_reason: None,
                })
            })
        }
        fn concurrency(&self) -> usize {
            1
        }
        fn cost(&self, _: Option<u64>, _: Option<u64>) -> Option<f64> {
            None
        }
    }

    const VERSION: &str = "\
messages:
  - role: user
    content: \"{{ q }}\"
tools:
  - get_time
  - type: function
    function:
      name: get_weather
      description: Weather in a city.
      parameters: {type: object, properties: {city: {type: string}}, required: [city]}
tool_choice: auto
parallel_tool_calls: false
";

    /// A project with one tool-calling version, one plain one and a dataset whose second
    /// row adds a distractor tool.
    fn project(dir: &std::path::Path) -> Project {
        let write = |path: &str, text: &str| crate::test_files::write(dir, path, text);
        write("prompteval.yaml", "providers:\n  rec: {kind: echo}\n");
        write(
            "prompts/_tools/get_time.yaml",
            "description: The time now.\nparameters: {type: object, properties: {}}\n",
        );
        write("prompts/route/v1.yaml", VERSION);
        write("prompts/plain/v1.jinja", "{{ q }}\n");
        write(
            "datasets/q.jsonl",
            "{\"id\": \"a\", \"q\": \"Weather in Rome?\", \"expected_tools\": [\"get_weather\"]}\n{\"id\": \"b\", \"q\": \"Time?\", \"tools\": [{\"name\": \"issue_refund\"}]}\n",
        );
        write(
            "evals/route.yaml",
            "prompts: [route@1, plain@1]\nmodels: [rec]\ndataset: datasets/q.jsonl\nassert:\n  - type: contains\n    value: \"?\"\n",
        );
        Project::discover(dir).unwrap().0
    }

    fn names(set: &Option<Arc<ToolSet>>) -> Vec<String> {
        set.iter()
            .flat_map(|s| s.tools.iter().map(|t| t.name.clone()))
            .collect()
    }

    /// Issue 15: the version's tools, and a row's added ones, reach every request.
    #[test]
    fn every_request_carries_the_tools_of_its_version_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let project = project(dir.path());
        let registry = Registry::load(&project.root).unwrap().0;
        let recording = Arc::new(Recording::default());
        let provider: Arc<dyn Provider> = recording.clone();
        let build = move |_: &str, _: &crate::provider::ProviderConfig| Ok(provider.clone());
        let (plan, _) = plan_with(&project, &registry, &Selection::default(), &build).unwrap();
        let eval = &plan.evals[0];
        assert!(eval.declares_tools());
        assert!(eval.rows_bring_tools());
        // The row without tools shares the version's set.
        let shared = eval.tool_set(0, 0).unwrap();
        assert!(Arc::ptr_eq(shared, &eval.prompts[0].version.tools));
        let plan = Arc::new(plan);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for (row, prompt) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let id = CellId {
                eval: 0,
                row,
                prompt,
                model: 0,
                repeat: 0,
            };
            let result = runtime.block_on(run_cell(plan.clone(), id, None)).unwrap();
            assert!(result.error.is_none(), "{:?}", result.error);
        }
        let offered = recording.offered.lock().unwrap().clone();
        assert_eq!(names(&offered[0]), ["get_time", "get_weather"]);
        let set = offered[0].as_ref().unwrap();
        assert_eq!(set.choice, Some(ToolChoice::Auto));
        assert_eq!(set.parallel, Some(false));
        assert_eq!(
            set.get("get_time").unwrap().description.as_deref(),
            Some("The time now.")
        );
        assert_eq!(
            names(&offered[1]),
            ["get_time", "get_weather", "issue_refund"]
        );
        // A version without tools sends none, unless the row brings some.
        assert!(offered[2].is_none());
        assert_eq!(names(&offered[3]), ["issue_refund"]);
    }
}
