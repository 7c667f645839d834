//! Scorers that call out, through the public API: judges against a scripted
//! OpenAI-compatible server on 127.0.0.1 (valid, unparseable and failed replies; the
//! prompts they were sent), `similar` over `/v1/embeddings`, and the example external
//! scorer `examples/scorers/keywords.py`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use prompteval::diagnostic::Location;
use prompteval::provider::{self, Provider, ProviderConfig};
use prompteval::score::{
    case_key, score_case_async, Assertion, Candidate, ScoreContext, ScoreInput, ScoredCase,
    ScoringSetup,
};
use prompteval::template::TemplateSet;
use serde_json::{json, Value};

use crate::support::scripted::{chat, reply, ScriptedServer, Seen};

/// Answers judge prompts by the marker they contain, and embeddings with fixed vectors.
fn server() -> ScriptedServer {
    ScriptedServer::start(|_, seen: &Seen| {
        if seen.path().ends_with("/embeddings") {
            let inputs = seen.body["input"].as_array().cloned().unwrap_or_default();
            let data: Vec<Value> = inputs
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    let v = if text.as_str().unwrap_or("").contains("Paris") {
                        vec![1.0, 0.0]
                    } else {
                        vec![0.0, 1.0]
                    };
                    json!({"index": i, "embedding": v})
                })
                .collect();
            return reply(200, json!({"data": data}).to_string());
        }
        let prompt = seen.prompt();
        if prompt.contains("MARK-BAD") {
            chat("I think it is pretty good!")
        } else if prompt.contains("MARK-400") {
            reply(
                400,
                json!({"error": {"message": "model not found"}}).to_string(),
            )
        } else if prompt.contains("[Expert]") {
            chat("Same facts.\nAnswer: C")
        } else if prompt.contains("<output 2>") {
            chat(r#"{"best": 2, "reason": "it greets by city"}"#)
        } else {
            chat(r#"{"reason": "polite and names Paris", "pass": true, "score": 0.9}"#)
        }
    })
}

struct Fixture {
    templates: TemplateSet,
    providers: BTreeMap<String, Arc<dyn Provider>>,
    setup: ScoringSetup,
}

impl Fixture {
    fn new(server: &ScriptedServer) -> Self {
        let config = ProviderConfig {
            kind: provider::OpenAiSettings {
                model: Some("judge-model".into()),
                base_url: Some(format!("{}/v1", server.url())),
                ..Default::default()
            }
            .into(),
            common: provider::CommonSettings {
                max_retries: Some(0),
                price: Some(provider::Price {
                    input: 1.0,
                    output: 2.0,
                    ..Default::default()
                }),
                ..Default::default()
            },
        };
        let mut providers = BTreeMap::new();
        providers.insert(
            "judge".to_string(),
            provider::build("judge", &config).unwrap(),
        );
        providers.insert(
            "echo".to_string(),
            provider::build("echo", &provider::inline("echo").unwrap()).unwrap(),
        );
        Fixture {
            templates: TemplateSet::new(&BTreeMap::new()).unwrap(),
            providers,
            setup: ScoringSetup::new(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
        }
    }

    fn compile(&mut self, spec: Value, id: &str) -> Assertion {
        let spec = serde_json::from_value(spec).unwrap();
        Assertion::compile(
            &spec,
            id,
            &Location::line("evals/e.yaml", 3),
            &mut self.templates,
        )
        .unwrap()
    }

    fn ctx(&self) -> ScoreContext<'_> {
        ScoreContext {
            templates: &self.templates,
            providers: &self.providers,
            setup: &self.setup,
            grader: Some("judge"),
            embedder: Some("judge"),
            prompt: "What is the capital of France?",
        }
    }

    async fn score(&self, assertion: &Assertion, output: &str, vars: Value) -> ScoredCase {
        let vars = minijinja::Value::from_serialize(vars);
        let input = ScoreInput {
            output,
            vars: &vars,
            latency_ms: 1.0,
            tool_calls: &[],
            tools: None,
            steps: &[],
        };
        score_case_async(&[assertion], &input, &self.ctx(), None).await
    }
}

#[tokio::test]
async fn rubric_pass_keeps_the_reply_prompt_version_and_cost() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(
        json!({"type": "llm-rubric", "value": "names {{ city }}"}),
        "a",
    );
    let scored = f.score(&a, "It is Paris.", json!({"city": "Paris"})).await;
    let r = &scored.case.assertions[0];
    assert!(r.pass, "{r:?}");
    assert!(!r.scorer_error);
    assert_eq!(r.score, 0.9);
    assert_eq!(r.reason, "polite and names Paris (score 0.90)");
    let detail = r.detail.as_ref().unwrap();
    assert_eq!(detail["grader"], "judge");
    assert_eq!(detail["judge_prompt"], "builtin:llm-rubric@1");
    assert!(detail["judge_prompt_hash"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(detail["reply"].as_str().unwrap().contains("\"pass\": true"));
    assert_eq!(scored.usage.calls, 1);
    assert_eq!((scored.usage.tokens_in, scored.usage.tokens_out), (100, 10));
    assert!((scored.usage.cost_usd - 0.00012).abs() < 1e-12);

    let requests = server.seen();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path(), "/v1/chat/completions");
    assert_eq!(requests[0].body["model"], "judge-model");
    let prompt = requests[0].prompt();
    assert!(
        prompt.contains("<output>\nIt is Paris.\n</output>"),
        "{prompt}"
    );
    assert!(
        prompt.contains("<rubric>\nnames Paris\n</rubric>"),
        "{prompt}"
    );
}

#[tokio::test]
async fn unparseable_judge_reply_is_a_scorer_error_with_the_raw_reply() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(json!({"type": "llm-rubric", "value": "MARK-BAD"}), "a");
    let scored = f.score(&a, "x", json!({})).await;
    let r = &scored.case.assertions[0];
    assert!(!r.pass);
    assert!(r.scorer_error);
    assert_eq!(
        r.reason,
        "judge reply could not be parsed: expected a JSON object with `pass` and `score`, got \"I think it is pretty good!\""
    );
    assert_eq!(
        r.detail.as_ref().unwrap()["reply"],
        "I think it is pretty good!"
    );
    assert!(!scored.case.pass);
    // The call was made and is paid for even though its reply was useless.
    assert_eq!(scored.usage.calls, 1);
}

#[tokio::test]
async fn negation_does_not_turn_a_scorer_error_into_a_pass() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(json!({"type": "not-llm-rubric", "value": "MARK-BAD"}), "a");
    let r = &f.score(&a, "x", json!({})).await.case.assertions[0];
    assert!(!r.pass);
    assert!(r.scorer_error);
}

#[tokio::test]
async fn judge_http_error_is_a_scorer_error() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(json!({"type": "g-eval", "value": "MARK-400"}), "a");
    let r = &f.score(&a, "x", json!({})).await.case.assertions[0];
    assert!(r.scorer_error);
    assert!(
        r.reason
            .starts_with("judge `judge` failed: HTTP 400 Bad Request: model not found"),
        "{}",
        r.reason
    );
}

#[tokio::test]
async fn unparseable_reply_from_a_real_provider_echo() {
    // `echo` as the judge answers with the prompt itself: never a verdict.
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(
        json!({"type": "closed-qa", "value": "names a city", "grader": "echo"}),
        "a",
    );
    let r = &f.score(&a, "Paris", json!({})).await.case.assertions[0];
    assert!(r.scorer_error);
    assert!(
        r.reason.starts_with("judge reply could not be parsed"),
        "{}",
        r.reason
    );
}

#[tokio::test]
async fn factuality_sends_question_expert_and_submission() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(json!({"type": "factuality"}), "a");
    let r = &f
        .score(&a, "Paris is the capital.", json!({"expected": "Paris"}))
        .await
        .case
        .assertions[0];
    assert!(r.pass, "{r:?}");
    assert_eq!(
        r.reason,
        "(C) the same details as the expected answer: Same facts."
    );
    let prompt = server.seen()[0].prompt();
    assert!(
        prompt.contains("[Question]: What is the capital of France?"),
        "{prompt}"
    );
    assert!(prompt.contains("[Expert]: Paris\n"), "{prompt}");
    assert!(
        prompt.contains("[Submission]: Paris is the capital."),
        "{prompt}"
    );
}

#[tokio::test]
async fn select_best_scores_the_row_together_in_a_shuffled_order() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(
        json!({"type": "select-best", "value": "greets by {{ kind }}"}),
        "a",
    );
    assert!(a.is_group());
    let vars = minijinja::Value::from_serialize(json!({"kind": "city"}));
    let outputs = [
        Some(Candidate {
            output: "Hello Ada!",
            label: "greet@1 · m",
        }),
        None,
        Some(Candidate {
            output: "Hi Ada, welcome to Paris.",
            label: "greet@2 · m",
        }),
    ];
    // This case shows the outputs swapped; the judge picks what it saw as output 2.
    let case = case_key("greet", "a", 0);
    let (results, usage) = a.evaluate_group(&outputs, &vars, &case, &f.ctx()).await;
    assert!(results[1].is_none());
    let first = results[0].as_ref().unwrap();
    let second = results[2].as_ref().unwrap();
    assert!(first.pass, "{first:?}");
    assert_eq!(
        first.reason,
        "chosen as the best of 2 (shown to the judge as output 2): it greets by city"
    );
    assert!(!second.pass);
    assert_eq!(
        second.reason,
        "greet@1 · m was chosen as the best of 2 (shown to the judge as output 2): it greets by city"
    );
    let detail = second.detail.as_ref().unwrap();
    assert_eq!(detail["best"], 1);
    assert_eq!(detail["best_shown"], 2);
    assert_eq!(detail["order"], json!([2, 1]));
    assert_eq!(detail["seed"], 81_267_857_626_702_u64);
    assert_eq!(usage.calls, 1);
    let prompt = server.seen()[0].prompt();
    assert!(prompt.contains("greets by city"), "{prompt}");
    assert!(
        prompt.contains("<output 1>\nHi Ada, welcome to Paris.\n</output 1>"),
        "{prompt}"
    );
    assert!(
        prompt.contains("<output 2>\nHello Ada!\n</output 2>"),
        "{prompt}"
    );
    assert!(
        !prompt.contains("greet@2"),
        "the judge must not see which prompt wrote what"
    );
}

#[tokio::test]
async fn similar_uses_the_embeddings_endpoint() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(json!({"type": "similar"}), "a");
    let r = &f
        .score(&a, "Paris!", json!({"expected": "It is Paris"}))
        .await
        .case
        .assertions[0];
    assert!(r.pass, "{r:?}");
    assert_eq!(r.score, 1.0);
    let r = &f
        .score(&a, "London", json!({"expected": "It is Paris"}))
        .await
        .case
        .assertions[0];
    assert!(!r.pass);
    assert_eq!(r.detail.as_ref().unwrap()["similarity"], 0.0);
    let requests = server.seen();
    assert_eq!(requests[0].path(), "/v1/embeddings");
    assert_eq!(requests[0].body["input"], json!(["Paris!", "It is Paris"]));
}

#[tokio::test]
async fn similar_on_a_provider_without_embeddings_is_a_scorer_error() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(json!({"type": "similar", "embedder": "echo"}), "a");
    let r = &f
        .score(&a, "x", json!({"expected": "y"}))
        .await
        .case
        .assertions[0];
    assert!(r.scorer_error);
    assert!(
        r.reason.contains("does not serve embeddings"),
        "{}",
        r.reason
    );
}

#[tokio::test]
async fn the_example_keywords_scorer_runs_as_one_worker() {
    let server = server();
    let mut f = Fixture::new(&server);
    let a = f.compile(
        json!({"type": "external", "command": ["python3", "examples/scorers/keywords.py"],
               "value": {"keywords": ["Paris", "France"], "min": 0.5}}),
        "a",
    );
    let b = f.compile(
        json!({"type": "external", "script": "examples/scorers/keywords.py"}),
        "b",
    );
    let r = &f
        .score(&a, "Paris, of course", json!({}))
        .await
        .case
        .assertions[0];
    assert!(r.pass, "{r:?}");
    assert_eq!(r.score, 0.5);
    assert_eq!(r.reason, "found 1 of 2 keywords (missing: France)");
    assert_eq!(
        r.detail.as_ref().unwrap()["metrics"],
        json!({"keywords_found": 1, "keywords_missing": 1})
    );
    let r = &f
        .score(&b, "Rome", json!({"keywords": "Rome;Italy"}))
        .await
        .case
        .assertions[0];
    assert!(!r.pass);
    assert_eq!(r.reason, "found 1 of 2 keywords (missing: Italy)");
    // The scorer's own error reply is a scorer error.
    let r = &f.score(&b, "Rome", json!({})).await.case.assertions[0];
    assert!(r.scorer_error);
    assert!(r.reason.contains("no keywords"), "{}", r.reason);
}
