//! The agent loop of one cell: ask the model, run its tool calls with the eval's handlers,
//! give it the results, and ask again until it answers without calls or `max_steps` is
//! reached.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use futures::stream::{self, StreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

use crate::agent::{HandlerSet, Step, Stopped, ToolFailure, ToolResult};
use crate::diagnostic::Location;
use crate::plan::Plan;
use crate::provider::{Provider, ProviderError, ProviderRequest, ProviderResponse, RetryNotice};
use crate::registry::Params;
use crate::template::message::{Message, RenderedPrompt};
use crate::tools::{ToolCall, ToolSet};

/// The calls of one answer that run at once: a model asking for twenty lookups does not
/// start twenty processes.
pub(crate) const PARALLEL_CALLS: usize = 4;

/// What every model call of one cell's loop shares.
pub(crate) struct AgentCall<'a> {
    /// The model.
    pub provider: &'a dyn Provider,
    /// The request parameters of the cell's prompt and model.
    pub params: &'a Params,
    /// The row's variables (handlers and the `http`/`exec` providers read them).
    pub vars: &'a Arc<serde_json::Map<String, serde_json::Value>>,
    /// The tools offered at every step.
    pub tools: Option<Arc<ToolSet>>,
    /// Who runs the calls.
    pub handlers: &'a HandlerSet,
    /// The most model calls of one turn.
    pub max_steps: u32,
    /// The cell's repeat index (the response cache keys on it).
    pub repeat: u32,
    /// Where retries are reported.
    pub retries: Option<UnboundedSender<RetryNotice>>,
}

/// A turn that ended: its steps, the last answer, and why it stopped early, if it did.
pub(crate) struct Turn {
    /// Every model call of the turn, with the tool results that answered it.
    pub steps: Vec<Step>,
    /// The last model answer (its text is the turn's reply).
    pub last: ProviderResponse,
    /// `Some` when the loop hit `max_steps` with calls still unanswered.
    pub stopped: Option<Stopped>,
}

/// A model call that failed after its retries, with the steps made before it.
pub(crate) struct TurnError {
    /// The provider's error.
    pub error: ProviderError,
    /// The steps that succeeded before the failing call.
    pub steps: Vec<Step>,
}

impl AgentCall<'_> {
    /// Runs one turn of the loop on `history`, appending each assistant message and tool
    /// result to it; `turn` numbers the steps (0 outside conversations).
    pub(crate) async fn run_turn(
        &self,
        history: &mut Vec<Message>,
        turn: u32,
    ) -> Result<Turn, TurnError> {
        let mut steps: Vec<Step> = Vec::new();
        loop {
            let digest = messages_digest(history);
            let request = ProviderRequest {
                prompt: RenderedPrompt::Chat(history.clone()),
                params: self.params.clone(),
                vars: self.vars.clone(),
                retries: self.retries.clone(),
                tools: self.tools.clone(),
            };
            let response = match self.provider.complete_repeat(request, self.repeat).await {
                Ok(response) => response,
                Err(error) => return Err(TurnError { error, steps }),
            };
            let mut step = self.step_of(&response, digest, turn);
            history.push(Message::assistant(
                response.output.clone(),
                response.tool_calls.clone(),
            ));
            let done = response.tool_calls.is_empty();
            if done || steps.len() as u32 + 1 >= self.max_steps {
                steps.push(step);
                let stopped = (!done).then_some(Stopped::MaxSteps);
                return Ok(Turn {
                    steps,
                    last: response,
                    stopped,
                });
            }
            step.tool_results = self.run_calls(&response.tool_calls).await;
            for (call, result) in response.tool_calls.iter().zip(&step.tool_results) {
                history.push(Message::tool_result(
                    call,
                    result.content.clone(),
                    result.is_error,
                ));
            }
            steps.push(step);
        }
    }

    /// The record of one model call (its tool results are added once they ran).
    fn step_of(&self, response: &ProviderResponse, digest: String, turn: u32) -> Step {
        Step {
            turn,
            user: None,
            messages_digest: digest,
            output: response.output.clone(),
            tool_calls: response.tool_calls.clone(),
            tool_results: Vec::new(),
            latency_ms: response.latency_ms,
            tokens_in: response.tokens_in,
            tokens_out: response.tokens_out,
            cost_usd: self.provider.cost_cached(
                response.tokens_in,
                response.tokens_out,
                response.cache,
            ),
            cached: response.cached,
            finish_reason: response.finish_reason.clone(),
        }
    }

    /// Runs the calls of one answer, [`PARALLEL_CALLS`] at a time, returning their results
    /// in the calls' order.
    async fn run_calls(&self, calls: &[ToolCall]) -> Vec<ToolResult> {
        // Made up front (futures do nothing until polled): a closure mapping the stream
        // would leave the cell's future not provably `Send`.
        let pending: Vec<_> = calls.iter().map(|call| self.run_call(call)).collect();
        stream::iter(pending)
            .buffered(PARALLEL_CALLS)
            .collect()
            .await
    }

    /// Runs one call with its tool's handler; a failure (or a tool without a handler)
    /// becomes an error result for the model.
    async fn run_call(&self, call: &ToolCall) -> ToolResult {
        let started = Instant::now();
        let outcome = match self.handlers.get(&call.name) {
            Some(handler) => handler.call(call, self.vars).await,
            None => Err(ToolFailure::new(format!(
                "unknown tool `{}`: no handler serves it",
                call.name
            ))),
        };
        let (content, is_error) = match outcome {
            Ok(content) => (content, false),
            Err(failure) => (format!("error: {}", failure.message), true),
        };
        ToolResult {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content,
            is_error,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }
}

/// Starts every tool handler of `plan` once, in plan order (a handler serving several
/// tools or evals starts once); the first that fails stops, with the tool it serves and
/// where it is written.
pub(crate) async fn start_handlers(plan: &Plan) -> Result<(), (String, Location, ToolFailure)> {
    let mut started = BTreeSet::new();
    for set in plan.evals.iter().filter_map(|e| e.handlers.as_deref()) {
        for (tool, handler) in &set.by_tool {
            if !started.insert(Arc::as_ptr(handler).cast::<()>() as usize) {
                continue;
            }
            if let Err(failure) = handler.start().await {
                let location = set
                    .origins
                    .get(tool)
                    .cloned()
                    .unwrap_or_else(|| Location::file(&plan.evals[0].path));
                return Err((tool.clone(), location, failure));
            }
        }
    }
    Ok(())
}

/// The first 16 hex digits of the SHA-256 of the messages' JSON.
pub(crate) fn messages_digest(messages: &[Message]) -> String {
    let json = serde_json::to_vec(messages).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..8])
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::agent::ToolHandler;
    use crate::provider::{BoxFuture, CacheTokens};
    use crate::template::message::Role;

    /// Answers with the scripted responses in turn (the last one again once they run out)
    /// and keeps every history it was sent.
    struct Scripted {
        answers: Mutex<VecDeque<Result<ProviderResponse, String>>>,
        last: Mutex<Option<Result<ProviderResponse, String>>>,
        seen: Mutex<Vec<Vec<Message>>>,
    }

    fn answer(text: &str, calls: &[(&str, serde_json::Value)]) -> ProviderResponse {
        let calls = calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| ToolCall::from_value(format!("c{i}"), *name, args.clone()))
            .collect();
        ProviderResponse {
            output: text.into(),
            tokens_in: Some(100),
            tokens_out: Some(10),
            latency_ms: 5.0,
            queue_ms: None,
            cache: CacheTokens::default(),
            attempts: 1,
            cached: false,
            tool_calls: calls,
            finish_reason: None,
        }
    }

    impl Scripted {
        fn new(answers: Vec<Result<ProviderResponse, String>>) -> Self {
            Scripted {
                answers: Mutex::new(answers.into()),
                last: Mutex::new(None),
                seen: Mutex::new(Vec::new()),
            }
        }
    }

    impl Provider for Scripted {
        fn complete(
            &self,
            request: ProviderRequest,
        ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
            self.seen.lock().unwrap().push(request.prompt.to_messages());
            let next = self.answers.lock().unwrap().pop_front();
            let next = match next {
                Some(next) => {
                    *self.last.lock().unwrap() = Some(next.clone());
                    next
                }
                None => self.last.lock().unwrap().clone().unwrap(),
            };
            let next = next.map_err(|message| ProviderError {
                message,
                status: None,
                attempts: 1,
            });
            Box::pin(std::future::ready(next))
        }
        fn concurrency(&self) -> usize {
            1
        }
        fn cost(&self, tokens_in: Option<u64>, tokens_out: Option<u64>) -> Option<f64> {
            Some((tokens_in? + tokens_out?) as f64 / 1000.0)
        }
    }

    /// Answers `city`'s weather after a delay that shrinks with each call (the first call
    /// finishes last), counting the calls in flight at once.
    #[derive(Default)]
    struct Weather {
        started: AtomicUsize,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
    }

    impl ToolHandler for Weather {
        fn call<'a>(
            &'a self,
            call: &'a ToolCall,
            _: &'a serde_json::Map<String, serde_json::Value>,
        ) -> BoxFuture<'a, Result<String, ToolFailure>> {
            Box::pin(async move {
                let n = self.started.fetch_add(1, Ordering::SeqCst);
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_in_flight.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(60u64.saturating_sub(n as u64 * 10)))
                    .await;
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                let city = call.arguments.as_ref().and_then(|a| a["city"].as_str());
                match city {
                    Some("Atlantis") => Err(ToolFailure::new("no such city")),
                    Some(city) => Ok(format!("{city}: 18°C")),
                    None => Err(ToolFailure::new("`city` is required")),
                }
            })
        }
    }

    struct Loop {
        provider: Scripted,
        handlers: HandlerSet,
        weather: Arc<Weather>,
        params: Params,
        vars: Arc<serde_json::Map<String, serde_json::Value>>,
    }

    impl Loop {
        fn new(answers: Vec<Result<ProviderResponse, String>>) -> Self {
            let weather = Arc::new(Weather::default());
            let mut handlers = HandlerSet::default();
            handlers
                .by_tool
                .insert("get_weather".into(), weather.clone());
            Loop {
                provider: Scripted::new(answers),
                handlers,
                weather,
                params: Params::default(),
                vars: Arc::new(serde_json::Map::new()),
            }
        }

        async fn run(&self, max_steps: u32) -> (Result<Turn, TurnError>, Vec<Message>) {
            let call = AgentCall {
                provider: &self.provider,
                params: &self.params,
                vars: &self.vars,
                tools: None,
                handlers: &self.handlers,
                max_steps,
                repeat: 0,
                retries: None,
            };
            let mut history = vec![Message::new(Role::User, "Weather?")];
            let turn = call.run_turn(&mut history, 0).await;
            (turn, history)
        }
    }

    fn ok(turn: Result<Turn, TurnError>) -> Turn {
        match turn {
            Ok(turn) => turn,
            Err(e) => panic!("{}", e.error.message),
        }
    }

    #[tokio::test]
    async fn a_model_that_never_stops_is_stopped_at_max_steps() {
        let again = answer("", &[("get_weather", json!({"city": "Rome"}))]);
        let agent = Loop::new(vec![Ok(again)]);
        let (turn, history) = agent.run(3).await;
        let turn = ok(turn);
        assert_eq!(turn.steps.len(), 3);
        assert_eq!(turn.stopped, Some(Stopped::MaxSteps));
        // The last step's calls were never run: the loop stopped asking.
        assert_eq!(turn.steps[0].tool_results.len(), 1);
        assert!(turn.steps[2].tool_results.is_empty());
        assert_eq!(turn.last.tool_calls.len(), 1);
        // user, then (assistant, tool) twice, then the last assistant message.
        assert_eq!(history.len(), 6);
        assert_eq!(agent.provider.seen.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn each_step_is_asked_with_the_whole_history() {
        let agent = Loop::new(vec![
            Ok(answer("", &[("get_weather", json!({"city": "Rome"}))])),
            Ok(answer("It's 18°C in Rome.", &[])),
        ]);
        let turn = ok(agent.run(8).await.0);
        assert_eq!(turn.stopped, None);
        assert_eq!(turn.last.output, "It's 18°C in Rome.");
        let seen = agent.provider.seen.lock().unwrap();
        assert_eq!(seen[0].len(), 1);
        let second = &seen[1];
        assert_eq!(second.len(), 3);
        assert_eq!(second[1].role, Role::Assistant);
        assert_eq!(second[1].tool_calls[0].name, "get_weather");
        assert_eq!(second[2].role, Role::Tool);
        assert_eq!(second[2].content, "Rome: 18°C");
        assert_eq!(second[2].tool_reply.as_ref().unwrap().call_id, "c0");
        assert_ne!(turn.steps[0].messages_digest, turn.steps[1].messages_digest);
        assert_eq!(turn.steps[0].messages_digest, messages_digest(&seen[0]));
    }

    #[tokio::test]
    async fn an_unknown_tool_and_a_failing_handler_are_error_results() {
        let agent = Loop::new(vec![
            Ok(answer(
                "",
                &[
                    ("get_wether", json!({"city": "Rome"})),
                    ("get_weather", json!({"city": "Atlantis"})),
                ],
            )),
            Ok(answer("Sorry.", &[])),
        ]);
        let (turn, history) = agent.run(8).await;
        let turn = ok(turn);
        let results = &turn.steps[0].tool_results;
        assert_eq!(results[0].name, "get_wether");
        assert!(results[0].is_error);
        assert_eq!(
            results[0].content,
            "error: unknown tool `get_wether`: no handler serves it"
        );
        assert!(results[1].is_error);
        assert_eq!(results[1].content, "error: no such city");
        // The model was told, and answered: no provider error, two steps.
        assert_eq!(turn.steps.len(), 2);
        let reply = history[3].tool_reply.as_ref().unwrap();
        assert!(reply.is_error && reply.call_id == "c1");
    }

    #[tokio::test]
    async fn parallel_calls_run_at_once_bounded_and_keep_their_order() {
        let cities = ["Rome", "Oslo", "Lima", "Kyiv", "Pune", "Suva"];
        let calls: Vec<(&str, serde_json::Value)> = cities
            .iter()
            .map(|c| ("get_weather", json!({"city": c})))
            .collect();
        let agent = Loop::new(vec![Ok(answer("", &calls)), Ok(answer("Done.", &[]))]);
        let turn = ok(agent.run(8).await.0);
        let results: Vec<&str> = turn.steps[0]
            .tool_results
            .iter()
            .map(|r| r.content.as_str())
            .collect();
        let expected: Vec<String> = cities.iter().map(|c| format!("{c}: 18°C")).collect();
        assert_eq!(results, expected);
        let ids: Vec<&str> = turn.steps[0]
            .tool_results
            .iter()
            .map(|r| r.call_id.as_str())
            .collect();
        assert_eq!(ids, ["c0", "c1", "c2", "c3", "c4", "c5"]);
        let most = agent.weather.most_in_flight.load(Ordering::SeqCst);
        assert_eq!(most, PARALLEL_CALLS, "calls in flight at once");
        assert!(turn.steps[0]
            .tool_results
            .iter()
            .all(|r| r.latency_ms > 0.0));
    }

    #[tokio::test]
    async fn a_provider_error_keeps_the_steps_before_it() {
        let agent = Loop::new(vec![
            Ok(answer("", &[("get_weather", json!({"city": "Rome"}))])),
            Err("HTTP 500".into()),
        ]);
        match agent.run(8).await.0 {
            Err(e) => {
                assert_eq!(e.error.message, "HTTP 500");
                assert_eq!(e.steps.len(), 1);
                assert_eq!(e.steps[0].tool_results[0].content, "Rome: 18°C");
            }
            Ok(_) => panic!("expected the provider's error"),
        }
    }

    #[tokio::test]
    async fn tokens_and_costs_are_summed_and_unknown_when_one_step_is() {
        let mut unpriced = answer("Done.", &[]);
        unpriced.tokens_out = None;
        let agent = Loop::new(vec![
            Ok(answer("", &[("get_weather", json!({"city": "Rome"}))])),
            Ok(answer("", &[("get_weather", json!({"city": "Oslo"}))])),
            Ok(unpriced),
        ]);
        let turn = ok(agent.run(8).await.0);
        assert_eq!(turn.steps[0].cost_usd, Some(0.11));
        let mut cell = crate::run::events::CellResult::default();
        super::super::cell::sum_steps(&turn.steps, &mut cell);
        assert_eq!(cell.tokens_in, Some(300));
        assert_eq!(cell.tokens_out, None);
        assert_eq!(cell.cost_usd, None);
        assert_eq!(cell.latency_ms, 15.0);
        let mut cell = crate::run::events::CellResult::default();
        super::super::cell::sum_steps(&turn.steps[..2], &mut cell);
        assert_eq!((cell.tokens_in, cell.tokens_out), (Some(200), Some(20)));
        assert!((cell.cost_usd.unwrap() - 0.22).abs() < 1e-9);
    }

    /// Starts once, and fails when told to.
    #[derive(Default)]
    struct Starting {
        starts: AtomicUsize,
        fail: bool,
    }

    impl ToolHandler for Starting {
        fn call<'a>(
            &'a self,
            _: &'a ToolCall,
            _: &'a serde_json::Map<String, serde_json::Value>,
        ) -> BoxFuture<'a, Result<String, ToolFailure>> {
            Box::pin(std::future::ready(Ok(String::new())))
        }
        fn start(&self) -> BoxFuture<'_, Result<(), ToolFailure>> {
            self.starts.fetch_add(1, Ordering::SeqCst);
            let result = if self.fail {
                Err(ToolFailure::new("server exited with status 1"))
            } else {
                Ok(())
            };
            Box::pin(std::future::ready(result))
        }
    }

    /// A plan of one eval over a tool-calling version, whose handlers are then replaced.
    fn plan() -> Plan {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| crate::test_files::write(dir.path(), path, text);
        write(
            "prompts/w/v1.yaml",
            "messages:\n  - {role: user, content: hi}\ntools:\n  - name: a\n  - name: b\n",
        );
        write("datasets/d.jsonl", "{\"id\": \"x\"}\n");
        write(
            "evals/e.yaml",
            "prompts: [w@1]\nmodels: [echo]\ndataset: datasets/d.jsonl\ntool_handlers:\n  a: {kind: mock, result: x}\n",
        );
        crate::test_files::plan(dir.path())
    }

    #[tokio::test]
    async fn handlers_start_once_and_a_failing_start_says_where_it_is_written() {
        let mut plan = plan();
        let shared = Arc::new(Starting::default());
        let mut set = HandlerSet::default();
        set.by_tool.insert("a".into(), shared.clone());
        set.by_tool.insert("b".into(), shared.clone());
        plan.evals[0].handlers = Some(Arc::new(set));
        start_handlers(&plan).await.unwrap();
        assert_eq!(
            shared.starts.load(Ordering::SeqCst),
            1,
            "one handler, two tools"
        );

        let failing = Arc::new(Starting {
            fail: true,
            ..Default::default()
        });
        let mut set = HandlerSet::default();
        set.by_tool.insert("b".into(), failing);
        set.origins
            .insert("b".into(), Location::line("evals/e.yaml", 6));
        plan.evals[0].handlers = Some(Arc::new(set));
        let (tool, location, failure) = start_handlers(&plan).await.unwrap_err();
        assert_eq!(tool, "b");
        assert_eq!(location.to_string(), "evals/e.yaml:6");
        assert_eq!(failure.message, "server exited with status 1");
    }
}
