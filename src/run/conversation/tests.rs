//! Tests of playing and scoring conversations, with scripted providers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::project::Project;
use crate::plan::{plan_with, Selection};
use crate::provider::{BoxFuture, CacheTokens, ProviderError, ProviderRequest, ProviderResponse};
use crate::registry::Registry;
use crate::run::cell::{run_cell, CellId};

/// Answers from a script, in order, and keeps every history it was sent.
#[derive(Default)]
struct Scripted {
    replies: Mutex<VecDeque<String>>,
    seen: Mutex<Vec<Vec<Message>>>,
}

impl Scripted {
    fn new(replies: &[&str]) -> Arc<Scripted> {
        Arc::new(Scripted {
            replies: Mutex::new(replies.iter().map(|r| r.to_string()).collect()),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// Each request as `role: content` lines.
    fn seen(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .map(|h| RenderedPrompt::Chat(h.clone()).to_text())
            .collect()
    }
}

impl Provider for Scripted {
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        self.seen.lock().unwrap().push(request.prompt.to_messages());
        let reply = self.replies.lock().unwrap().pop_front();
        Box::pin(async move {
            // `call NAME` answers with a call of tool NAME and no text.
            let tool_calls = match reply.as_deref().and_then(|r| r.strip_prefix("call ")) {
                Some(name) => vec![crate::tools::ToolCall {
                    id: format!("call_{name}"),
                    name: name.to_string(),
                    arguments: Some(serde_json::json!({})),
                    arguments_raw: "{}".to_string(),
                }],
                None => Vec::new(),
            };
            let reply = if tool_calls.is_empty() {
                reply
            } else {
                Some(String::new())
            };
            let Some(output) = reply else {
                return Err(ProviderError {
                    message: "the script has no more replies".to_string(),
                    status: None,
                    attempts: 1,
                });
            };
            Ok(ProviderResponse {
                output,
                tokens_in: Some(10),
                tokens_out: Some(2),
                latency_ms: 5.0,
                queue_ms: None,
                cache: CacheTokens::default(),
                attempts: 1,
                cached: false,
                tool_calls,
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

fn project(dir: &std::path::Path, eval: &str, rows: &str) -> Project {
    let write = |path: &str, text: &str| crate::test_files::write(dir, path, text);
    write(
        "prompteval.yaml",
        "providers:\n  model: {kind: echo}\n  user: {kind: echo}\n",
    );
    write(
        "prompts/bot/v1.yaml",
        "messages:\n  - role: system\n    content: You are a booking bot.\n  - role: user\n    content: \"{{ q }}\"\n",
    );
    write(
        "prompts/bot/v2.yaml",
        "messages:\n  - role: system\n    content: You are a booking bot.\n",
    );
    write(
        "prompts/customer/v1.jinja",
        "You want a table for {{ people }}. Say {{ stop }} when booked.\n",
    );
    write("datasets/chat.yaml", rows);
    write("evals/chat.yaml", eval);
    Project::discover(dir).unwrap().0
}

/// Plans the project with `model` and `user` answering, runs cell 0 and returns it.
fn run(project: &Project, model: &Arc<Scripted>, user: &Arc<Scripted>) -> CellResult {
    run_with(project, model, user, None)
}

/// Answers every call with the weather in Rome.
struct Weather;

impl crate::agent::ToolHandler for Weather {
    fn call<'a>(
        &'a self,
        _: &'a crate::tools::ToolCall,
        _: &'a serde_json::Map<String, serde_json::Value>,
    ) -> BoxFuture<'a, Result<String, crate::agent::ToolFailure>> {
        Box::pin(std::future::ready(Ok("18°C".to_string())))
    }
}

/// [`run`] with `handlers` in the eval (and `max_steps: 2`).
fn run_with(
    project: &Project,
    model: &Arc<Scripted>,
    user: &Arc<Scripted>,
    handlers: Option<HandlerSet>,
) -> CellResult {
    let registry = Registry::load(&project.root).unwrap().0;
    let (model, user) = (model.clone(), user.clone());
    let build = move |name: &str, _: &crate::provider::ProviderConfig| {
        let p: Arc<dyn Provider> = if name == "user" {
            user.clone()
        } else {
            model.clone()
        };
        Ok(p)
    };
    let (mut plan, _) = plan_with(project, &registry, &Selection::default(), &build).unwrap();
    if let Some(handlers) = handlers {
        plan.evals[0].handlers = Some(Arc::new(handlers));
        plan.evals[0].max_steps = 2;
    }
    let id = CellId {
        eval: 0,
        row: 0,
        prompt: 0,
        model: 0,
        repeat: 0,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(run_cell(Arc::new(plan), id, None))
        .unwrap()
}

#[test]
fn opening_inserts_the_history_before_the_versions_last_user_message() {
    let system = Message::new(Role::System, "s");
    let question = Message::new(Role::User, "q");
    let before = [
        Message::new(Role::User, "earlier"),
        Message::new(Role::Assistant, "reply"),
    ];
    let opened = opening(vec![system.clone(), question.clone()], &before);
    assert_eq!(
        opened,
        [
            system.clone(),
            before[0].clone(),
            before[1].clone(),
            question
        ]
    );
    let opened = opening(vec![system.clone()], &before);
    assert_eq!(opened, [system, before[0].clone(), before[1].clone()]);
}

#[test]
fn scripted_turns_send_the_whole_history_and_score_each_turn() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(
        dir.path(),
        "prompts: [bot@1]\nmodels: [model]\ndataset: datasets/chat.yaml\nassert:\n  - type: contains\n    value: booked\n  - type: contains\n    value: how many\n    turn: 0\n",
        "- id: book\n  q: A table please\n  messages:\n    - {role: user, content: Hi}\n    - {role: assistant, content: Hello!}\n  turns:\n    - Four people\n    - user: At eight\n      assert: [{type: contains, value: eight}]\n",
    );
    let model = Scripted::new(&["For how many?", "At what time?", "booked for 8"]);
    let result = run(&project, &model, &Scripted::new(&[]));
    assert_eq!(result.error, None);
    assert_eq!(
        model.seen(),
        [
            "system: You are a booking bot.\nuser: Hi\nassistant: Hello!\nuser: A table please",
            "system: You are a booking bot.\nuser: Hi\nassistant: Hello!\nuser: A table please\nassistant: For how many?\nuser: Four people",
            "system: You are a booking bot.\nuser: Hi\nassistant: Hello!\nuser: A table please\nassistant: For how many?\nuser: Four people\nassistant: At what time?\nuser: At eight",
        ]
    );
    let turns: Vec<(u32, Option<&str>)> = result
        .steps
        .iter()
        .map(|s| (s.turn, s.user.as_deref()))
        .collect();
    assert_eq!(
        turns,
        [
            (0, Some("A table please")),
            (1, Some("Four people")),
            (2, Some("At eight"))
        ]
    );
    assert_eq!(result.output.as_deref(), Some("booked for 8"));
    assert_eq!(result.tokens_in, Some(30));
    assert_eq!(result.latency_ms, 15.0);
    let reasons: Vec<(&str, bool)> = result
        .assertions
        .iter()
        .map(|a| (a.reason.as_str(), a.pass))
        .collect();
    assert_eq!(
        reasons,
        [
            (r#"output contains "booked""#, true),
            (r#"turn 0: output contains "how many""#, true),
            (r#"turn 2: output does not contain "eight""#, false),
        ]
    );
    assert!(!result.pass);
}

#[test]
fn a_simulated_user_sees_the_roles_swapped_and_ends_with_its_stop_marker() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(
        dir.path(),
        "prompts: [bot@2]\nmodels: [model]\ndataset: datasets/chat.yaml\nsimulated_user:\n  provider: user\n  persona: customer@1\n  stop: DONE\n  max_turns: 4\nassert:\n  - type: contains\n    value: booked\n",
        "- id: book\n  people: four\n",
    );
    let model = Scripted::new(&["How many?", "booked"]);
    let user = Scripted::new(&["A table", "Four", "Thanks DONE"]);
    let result = run(&project, &model, &user);
    assert_eq!(result.error, None);
    assert_eq!(
        user.seen(),
        [
            "system: You want a table for four. Say DONE when booked.",
            "system: You want a table for four. Say DONE when booked.\nassistant: A table\nuser: How many?",
            "system: You want a table for four. Say DONE when booked.\nassistant: A table\nuser: How many?\nassistant: Four\nuser: booked",
        ]
    );
    assert_eq!(
        model.seen().last().unwrap(),
        "system: You are a booking bot.\nuser: A table\nassistant: How many?\nuser: Four"
    );
    let usage = result.simulated_user.as_ref().unwrap();
    assert_eq!((usage.calls, usage.tokens_in), (3, Some(30)));
    assert_eq!(usage.ended, Some(Ended::Stop));
    // The model's figures leave the simulated user's out.
    assert_eq!(result.tokens_in, Some(20));
    assert!(result.pass, "{:?}", result.assertions);
}

#[test]
fn a_simulated_user_stops_at_max_turns_and_an_error_names_the_turn() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(
        dir.path(),
        "prompts: [bot@2]\nmodels: [model]\ndataset: datasets/chat.yaml\nsimulated_user: {provider: user, persona: customer@1, max_turns: 2}\n",
        "- id: book\n  people: two\n",
    );
    let result = run(
        &project,
        &Scripted::new(&["a", "b"]),
        &Scripted::new(&["x", "y", "z"]),
    );
    assert_eq!(result.error, None);
    assert_eq!(result.steps.len(), 2);
    let usage = result.simulated_user.unwrap();
    assert_eq!((usage.calls, usage.ended), (2, Some(Ended::MaxTurns)));
    let result = run(
        &project,
        &Scripted::new(&["a"]),
        &Scripted::new(&["x", "y", "z"]),
    );
    assert_eq!(
        result.error.as_deref(),
        Some("turn 2: the script has no more replies")
    );
    assert_eq!(result.steps.len(), 1);
}

#[test]
fn an_assertion_on_a_turn_not_played_fails_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(
        dir.path(),
        "prompts: [bot@2]\nmodels: [model]\ndataset: datasets/chat.yaml\nsimulated_user: {provider: user, persona: customer@1}\nassert:\n  - {type: contains, value: x, turn: 3}\n",
        "- id: book\n  people: two\n",
    );
    let result = run(
        &project,
        &Scripted::new(&["a"]),
        &Scripted::new(&["x", "<END>"]),
    );
    assert_eq!(result.error, None);
    assert_eq!(
        result.assertions[0].reason,
        "turn 3: not played (the conversation ended after turn 1)"
    );
    assert!(!result.pass);
}

#[test]
fn each_turn_runs_the_tool_loop_and_a_turn_at_max_steps_ends_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(
        dir.path(),
        "prompts: [bot@2]\nmodels: [model]\ndataset: datasets/chat.yaml\n",
        "- id: w\n  turns: [Weather?, And tomorrow?, Thanks]\n",
    );
    let mut handlers = HandlerSet::default();
    handlers
        .by_tool
        .insert("get_weather".to_string(), Arc::new(Weather));
    let model = Scripted::new(&[
        "call get_weather",
        "It is 18°C.",
        "call get_weather",
        "call get_weather",
    ]);
    let result = run_with(&project, &model, &Scripted::new(&[]), Some(handlers));
    assert_eq!(result.error, None);
    let seen = model.seen();
    assert_eq!(
        seen[1],
        "system: You are a booking bot.\nuser: Weather?\nassistant: \n→ get_weather()\ntool: 18°C"
    );
    let turns: Vec<(u32, usize)> = result
        .steps
        .iter()
        .map(|s| (s.turn, s.tool_results.len()))
        .collect();
    assert_eq!(turns, [(1, 1), (1, 0), (2, 1), (2, 0)]);
    // Turn 2 hit max_steps with a call unanswered: turn 3 is never sent.
    assert_eq!(result.stopped, Some(Stopped::MaxSteps));
    assert_eq!(seen.len(), 4);
}

#[test]
fn without_handlers_a_turns_calls_are_kept_out_of_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let project = project(
        dir.path(),
        "prompts: [bot@2]\nmodels: [model]\ndataset: datasets/chat.yaml\n",
        "- id: w\n  turns: [Weather?, Thanks]\n",
    );
    let model = Scripted::new(&["call get_weather", "Bye"]);
    let result = run(&project, &model, &Scripted::new(&[]));
    assert_eq!(result.error, None);
    assert_eq!(result.stopped, None);
    assert_eq!(result.steps[0].tool_calls.len(), 1);
    assert_eq!(
        model.seen()[1],
        "system: You are a booking bot.\nuser: Weather?\nassistant: \nuser: Thanks"
    );
}
