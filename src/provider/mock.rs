//! The `mock` provider: answers each row with what the row (`mock_response`) or its
//! `response:` setting says, text and tool calls, step by step of an agent loop, offline
//! and for free.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::template::message::{RenderedPrompt, Role};

use self::answer::{check_keys, read_answer, step_index, step_name, ANSWER_SHAPE};
use super::http::body::{context_map, BodyTemplate};
use super::{
    BoxFuture, Common, CommonSettings, Provider, ProviderConfigError, ProviderError, ProviderKind,
    ProviderRequest, ProviderResponse, Subject,
};

mod answer;

/// Requests in flight at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 64;
/// The row variable that holds a row's answer.
pub const MOCK_RESPONSE_VAR: &str = "mock_response";
/// `kind: mock`: the answer for rows that bring none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MockSettings {
    /// The answer when the row has no `mock_response`: text, or
    /// `{text, tool_calls: [{name, arguments}]}`, or a list of those (one a step of an
    /// agent loop); its strings are templates over the row and the loop.
    /// Its keys are checked as it is read, so that a typo is placed at its line.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "answer::read_setting"
    )]
    pub response: Option<Value>,
}

impl ProviderKind for MockSettings {
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(MockProvider::new(name, self, common)?))
    }
}

/// A provider that answers from the row: its `mock_response` variable (as written), else
/// the `response:` setting rendered over the row (like the `http` kind's body: the row's
/// variables, `vars`, `prompt`, `messages`, `tools`, `tool_choice`; and the loop's `step`,
/// `tool_results` and `tool_result`, see [`loop_context`]). An answer is text or
/// `{text, tool_calls: [{name, arguments}]}`; arguments are a mapping or JSON text (kept
/// raw, parsed when they parse). A list of answers scripts an agent loop: item N answers
/// step N of a turn (the model calls since the last user message), and the last item every
/// later step. Calls get the ids `call_0`, `call_1`…; the finish reason is `tool_calls`
/// when there are calls, else `stop`. Token counts are whitespace-separated words, as for
/// `echo`; it costs nothing and is never cached.
pub struct MockProvider {
    concurrency: usize,
    response: Option<BodyTemplate>,
}

impl fmt::Debug for MockProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockProvider")
            .field("concurrency", &self.concurrency)
            .field("response", &self.response.is_some())
            .finish()
    }
}

impl MockProvider {
    /// Builds the provider named `name`: checks the shared settings and the keys and
    /// templates of `response`.
    pub fn new(
        name: &str,
        config: &MockSettings,
        shared: &CommonSettings,
    ) -> Result<Self, ProviderConfigError> {
        let who = Subject {
            name,
            kind: "mock",
            model: None,
        };
        let common = Common::resolve(who, shared, DEFAULT_CONCURRENCY)?;
        let response = match &config.response {
            None => None,
            Some(value) => {
                check_keys(value, "`response`").map_err(|message| {
                    ProviderConfigError::new(
                        name,
                        message,
                        Some(format!("write `response:` as {ANSWER_SHAPE}")),
                    )
                })?;
                Some(BodyTemplate::compile_setting(name, "response", value)?)
            }
        };
        Ok(MockProvider {
            concurrency: common.concurrency,
            response,
        })
    }

    /// Answers `request`, or says what the row or the settings lack.
    pub fn respond(&self, request: &ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let start = Instant::now();
        let fail = |message: String| ProviderError {
            message,
            status: None,
            attempts: 0,
        };
        let step = step_of(&request.prompt);
        let answer = match (request.vars.get(MOCK_RESPONSE_VAR), &self.response) {
            (Some(value), _) => {
                let at = "the row's `mock_response`";
                step_index(value, at, step).and_then(|i| {
                    let value = i.map_or(value, |i| &value[i]);
                    read_answer(value, &step_name(at, i))
                })
            }
            (None, Some(template)) => {
                let at = "`response`";
                step_index(template.value(), at, step).and_then(|i| {
                    let context = minijinja::Value::from_serialize(loop_context(request, step));
                    let pointer = i.map_or(String::new(), |i| format!("/{i}"));
                    let value = template.render_part(&context, &pointer)?;
                    read_answer(&value, &step_name(at, i))
                })
            }
            (None, None) => Err(format!(
                "no answer for this row: add a `{MOCK_RESPONSE_VAR}` variable to the row \
                 ({ANSWER_SHAPE}), or a `response:` setting to the provider"
            )),
        }
        .map_err(fail)?;
        let finish = if answer.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        Ok(ProviderResponse {
            tokens_in: Some(words(&request.prompt.to_text())),
            tokens_out: Some(words(&answer.text)),
            output: answer.text,
            latency_ms: start.elapsed().as_secs_f64() * 1000.0,
            queue_ms: None,
            cache: Default::default(),
            attempts: 1,
            cached: false,
            tool_calls: answer.tool_calls,
            finish_reason: Some(finish.into()),
        })
    }
}

impl Provider for MockProvider {
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        Box::pin(std::future::ready(self.respond(&request)))
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn cost(&self, _tokens_in: Option<u64>, _tokens_out: Option<u64>) -> Option<f64> {
        Some(0.0)
    }
}

/// Which step of its turn a request is, from 0: the assistant messages since the last user
/// message (a turn's first request has none; each tool round adds one).
fn step_of(prompt: &RenderedPrompt) -> usize {
    match prompt {
        RenderedPrompt::Text(_) => 0,
        RenderedPrompt::Chat(messages) => messages
            .iter()
            .rev()
            .take_while(|m| m.role != Role::User)
            .filter(|m| m.role == Role::Assistant)
            .count(),
    }
}

/// What `response:` templates see: the `http` body's variables, and the loop's `step` (from
/// 0), `tool_results` (`[{name, content, is_error}]`, the results the request ends with:
/// those of the last step's calls, `[]` at a turn's first step) and `tool_result` (the last
/// of them's content, `none` when there is none).
fn loop_context(request: &ProviderRequest, step: usize) -> serde_json::Map<String, Value> {
    let mut context = context_map(request);
    let messages = request.prompt.to_messages();
    let results: Vec<Value> = messages
        .iter()
        .rev()
        .take_while(|m| m.role == Role::Tool)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|m| {
            let reply = m.tool_reply.as_ref();
            serde_json::json!({
                "name": reply.map(|r| r.name.as_str()),
                "content": m.content,
                "is_error": reply.is_some_and(|r| r.is_error),
            })
        })
        .collect();
    let last = results.last().map_or(Value::Null, |r| r["content"].clone());
    context.insert("step".into(), step.into());
    context.insert("tool_results".into(), Value::Array(results));
    context.insert("tool_result".into(), last);
    context
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::message::RenderedPrompt;
    use serde_json::json;

    fn provider(response: Option<Value>) -> Result<MockProvider, ProviderConfigError> {
        MockProvider::new(
            "mock",
            &MockSettings { response },
            &CommonSettings::default(),
        )
    }

    fn request(vars: Value) -> ProviderRequest {
        ProviderRequest {
            prompt: RenderedPrompt::Text("What is the weather in Rome?".into()),
            params: Default::default(),
            vars: Arc::new(vars.as_object().cloned().unwrap_or_default()),
            retries: None,
            tools: None,
        }
    }

    #[test]
    fn the_rows_text_answer_wins_over_the_setting() {
        let p = provider(Some(json!("from the setting"))).unwrap();
        let r = p
            .respond(&request(json!({"mock_response": "Sunny in Rome."})))
            .unwrap();
        assert_eq!(r.output, "Sunny in Rome.");
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
        assert_eq!((r.tokens_in, r.tokens_out), (Some(6), Some(3)));
        assert_eq!(p.cost(r.tokens_in, r.tokens_out), Some(0.0));
        let r = p.respond(&request(json!({"mock_response": 42}))).unwrap();
        assert_eq!(r.output, "42");
    }

    #[test]
    fn the_rows_tool_calls_get_ids_in_order() {
        let p = provider(None).unwrap();
        let row = json!({"mock_response": {"tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Rome"}},
            {"name": "get_time", "arguments": "{\"tz\": \"CET\""},
            {"name": "now"},
        ]}});
        let r = p.respond(&request(row)).unwrap();
        assert_eq!(r.output, "");
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        let ids: Vec<_> = r.tool_calls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["call_0", "call_1", "call_2"]);
        assert_eq!(r.tool_calls[0].arguments, Some(json!({"city": "Rome"})));
        assert_eq!(r.tool_calls[0].arguments_raw, "{\"city\":\"Rome\"}");
        // JSON text that does not parse is kept raw, as a model's would be.
        assert_eq!(r.tool_calls[1].arguments, None);
        assert_eq!(r.tool_calls[2].arguments, Some(json!({})));
    }

    #[test]
    fn the_setting_is_rendered_over_the_row() {
        let p = provider(Some(json!({
            "text": "Checking {{ city }}.",
            "tool_calls": [
                {"name": "get_weather", "arguments": {"city": "{{ city }}", "days": 2}},
                {"name": "lookup", "arguments": "{{ query | tojson }}"},
            ],
        })))
        .unwrap();
        let r = p
            .respond(&request(json!({"city": "Rome", "query": {"q": "rain"}})))
            .unwrap();
        assert_eq!(r.output, "Checking Rome.");
        assert_eq!(
            r.tool_calls[0].arguments,
            Some(json!({"city": "Rome", "days": 2}))
        );
        assert_eq!(r.tool_calls[1].arguments, Some(json!({"q": "rain"})));
        let e = p.respond(&request(json!({"query": 1}))).unwrap_err();
        assert!(
            e.message.starts_with("cannot render `response.text`"),
            "{e}"
        );
    }

    #[test]
    fn the_setting_is_read_checked_and_written_back() {
        use crate::provider::{KindSettings, ProviderConfig};
        let yaml = "{kind: mock, response: {text: 'Hi {{ city }}', tool_calls: [{name: f, arguments: {a: [1, x], b: null}}]}}";
        let config: ProviderConfig = serde_yaml::from_str(yaml).unwrap();
        let KindSettings::Mock(settings) = &config.kind else {
            panic!("not mock: {config:?}");
        };
        assert_eq!(
            settings.response,
            Some(
                json!({"text": "Hi {{ city }}", "tool_calls": [{"name": "f", "arguments": {"a": [1, "x"], "b": null}}]})
            )
        );
        let written = serde_json::to_string(&config).unwrap();
        assert!(
            written.starts_with(r#"{"kind":"mock","response":{"text""#),
            "{written}"
        );
        assert_eq!(
            serde_json::from_str::<ProviderConfig>(&written).unwrap(),
            config
        );
        let err = serde_yaml::from_str::<ProviderConfig>(
            "{kind: mock, response: {tool_calls: [{nam: f}]}}",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("unknown key `nam` (did you mean `name`?). Choose from: name, arguments"),
            "{err}"
        );
    }

    #[test]
    fn no_answer_says_what_to_add() {
        let e = provider(None)
            .unwrap()
            .respond(&request(json!({})))
            .unwrap_err();
        assert!(e
            .message
            .starts_with("no answer for this row: add a `mock_response` variable"));
        assert!(e.message.contains("or a `response:` setting"), "{e}");
    }

    #[test]
    fn bad_answers_name_the_key() {
        let e = provider(Some(json!({"txt": "x"}))).unwrap_err();
        assert_eq!(
            e.message,
            "`response`: unknown key `txt` (did you mean `text`?). Choose from: text, tool_calls"
        );
        let e = provider(Some(json!({"tool_calls": [{"name": "f", "argumnts": {}}]}))).unwrap_err();
        assert!(
            e.message.starts_with(
                "`response`.tool_calls[0]: unknown key `argumnts` (did you mean `arguments`?)"
            ),
            "{e}"
        );
        let e = provider(Some(json!({"text": "{{ oops"}))).unwrap_err();
        assert!(
            e.message.starts_with("invalid template in `response.text`"),
            "{e}"
        );
        let p = provider(None).unwrap();
        let answer = |v: Value| {
            p.respond(&request(json!({"mock_response": v})))
                .unwrap_err()
                .message
        };
        assert_eq!(
            answer(json!({"tool_calls": [{"arguments": {}}]})),
            "the row's `mock_response`.tool_calls[0] needs a `name`: the function called"
        );
        assert_eq!(
            answer(json!({"tool_calls": {"name": "f"}})),
            "the row's `mock_response`.tool_calls must be a list of {name: …, arguments: {…}}"
        );
        assert_eq!(
            answer(json!({"tool_calls": [{"name": "f", "arguments": 3}]})),
            "the row's `mock_response`.tool_calls[0].arguments must be a mapping or JSON text"
        );
        assert!(answer(json!([[1]]))
            .starts_with("the row's `mock_response`[0] must be text, or a mapping"));
        assert!(answer(json!([])).starts_with("the row's `mock_response` is an empty list"));
    }

    /// A request at step 1 of a turn: the user's question, the assistant's call and its
    /// result.
    fn after_a_call(vars: Value) -> ProviderRequest {
        use crate::template::message::Message;
        use crate::tools::ToolCall;
        let call = ToolCall::from_value("call_0", "get_weather", json!({"city": "Rome"}));
        let mut r = request(vars);
        r.prompt = RenderedPrompt::Chat(vec![
            Message::new(Role::System, "Use the tools."),
            Message::new(Role::User, "Weather in Rome?"),
            Message::assistant("", vec![call.clone()]),
            Message::tool_result(&call, "Rome: 18°C, sunny", false),
        ]);
        r
    }

    #[test]
    fn a_rows_list_answers_step_by_step_and_its_last_item_every_later_step() {
        let p = provider(None).unwrap();
        let row = json!({"mock_response": [
            {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Rome"}}]},
            "It is 18°C in Rome.",
        ]});
        let first = p.respond(&request(row.clone())).unwrap();
        assert_eq!(first.tool_calls[0].name, "get_weather");
        assert_eq!(first.finish_reason.as_deref(), Some("tool_calls"));
        let second = p.respond(&after_a_call(row.clone())).unwrap();
        assert_eq!(second.output, "It is 18°C in Rome.");
        assert!(second.tool_calls.is_empty());
        // Step 2 and later: the last item again.
        let mut third = after_a_call(row);
        if let RenderedPrompt::Chat(history) = &mut third.prompt {
            let again = history[2].clone();
            history.push(again);
            history.push(history[3].clone());
        }
        assert_eq!(p.respond(&third).unwrap().output, "It is 18°C in Rome.");
        // A bad item is named by its place.
        let bad = json!({"mock_response": ["ok", {"txt": "x"}]});
        let e = p.respond(&after_a_call(bad)).unwrap_err();
        assert!(
            e.message
                .starts_with("the row's `mock_response`[1]: unknown key `txt`"),
            "{e}"
        );
    }

    #[test]
    fn a_setting_list_is_rendered_one_step_at_a_time_over_the_tool_results() {
        let p = provider(Some(json!([
            {"tool_calls": [{"name": "get_weather", "arguments": {"city": "{{ city }}"}}]},
            {"text": "Step {{ step }}: {{ tool_result }} ({{ tool_results[0].name }}, error={{ tool_results[0].is_error }})"},
        ])))
        .unwrap();
        let vars = json!({"city": "Rome"});
        // Step 0 renders the first item only: `tool_result` is none there.
        let first = p.respond(&request(vars.clone())).unwrap();
        assert_eq!(first.tool_calls[0].arguments, Some(json!({"city": "Rome"})));
        let second = p.respond(&after_a_call(vars)).unwrap();
        assert_eq!(
            second.output,
            "Step 1: Rome: 18°C, sunny (get_weather, error=False)"
        );
        // Keys are checked item by item, as the setting is read.
        let e = provider(Some(json!(["ok", {"tool_calls": [{"nme": "f"}]}]))).unwrap_err();
        assert!(
            e.message.starts_with(
                "`response`[1].tool_calls[0]: unknown key `nme` (did you mean `name`?)"
            ),
            "{e}"
        );
        let err = serde_yaml::from_str::<crate::provider::ProviderConfig>(
            "{kind: mock, response: [ok, {tool_calls: [{name: f}], txt: x}]}",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("unknown key `txt` (did you mean `text`?)"),
            "{err}"
        );
    }
}
