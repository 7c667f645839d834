//! End to end against the real llama-server and SmolLM2 135M Instruct: the shipped agent
//! eval (`evals/agent.yaml`) through the CLI. The model calls `get_weather`, the eval's
//! `mock` handler answers from the row, and the model is asked again with the tool's
//! result in its history (the Hermes `<tool_response>` of
//! `templates/chat/hermes-tools.jinja`). Checks that loops of more than one step happened,
//! that the second request held the tool's result (its messages digest is that of the
//! history with the result), and that the record holds the trajectory. Without the model
//! this test says so and passes — unless `PROMPTEVAL_REQUIRE_LLAMA=1` (set by `.ci/run`).

use prompteval::provider::llamacpp::install;
use prompteval::template::message::{Message, Role};
use prompteval::tools::ToolCall;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support;
use crate::support::llama::{run_cells, smollm2_example};

/// The messages `forecast@1` renders for `city` (prompts/forecast/v1.yaml).
fn forecast_v1(city: &str) -> Vec<Message> {
    vec![
        Message::new(
            Role::System,
            "You are a weather assistant. Call get_weather for the city the user asks about, then answer the user in one sentence with what the tool said.",
        ),
        Message::new(Role::User, "What is the weather in Paris?"),
        Message::new(
            Role::Assistant,
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
        ),
        Message::new(Role::User, format!("What is the weather in {city}?")),
    ]
}

/// The digest the record gives a request's messages: the first 16 hex digits of the
/// SHA-256 of their JSON.
fn digest(messages: &[Message]) -> String {
    hex::encode(&Sha256::digest(serde_json::to_vec(messages).unwrap())[..8])
}

#[test]
fn the_shipped_agent_eval_loops_on_smollm2_with_the_tools_results() {
    let Some((_, model)) = support::llama::installed(install::chat_model, "SmolLM2") else {
        return;
    };
    let p = smollm2_example(&model);
    let (code, stdout, stderr) = p.run(&["run", "agent", "-o", "r.json", "--no-progress"]);
    assert!(code == 0 || code == 1, "exit {code}\n{stdout}\n{stderr}");
    let cells = run_cells(&p);
    assert_eq!(cells.len(), 16, "8 cities × 2 prompts");
    for c in &cells {
        assert!(c["error"].is_null(), "{c}");
    }

    // Loops happened: a call, the mock's result, and a second model call.
    let looped: Vec<&Value> = cells
        .iter()
        .filter(|c| c["steps"].as_array().is_some_and(|s| s.len() > 1))
        .collect();
    assert!(
        looped.len() >= 4,
        "only {} cells took more than one step",
        looped.len()
    );
    for c in &looped {
        let first = &c["steps"][0];
        let call = &first["tool_calls"][0];
        assert_eq!(call["name"], "get_weather", "{c}");
        let result = &first["tool_results"][0];
        assert_eq!(result["call_id"], call["id"], "{c}");
        let city = call["arguments"]["city"].as_str().unwrap_or_default();
        let expected = format!(
            "{city}: {}°C, {}",
            c["vars"]["temp"],
            c["vars"]["sky"].as_str().unwrap()
        );
        assert_eq!(result["content"], expected.as_str(), "{c}");
        // The cell's figures are the steps' sums, its output the last step's.
        let steps = c["steps"].as_array().unwrap();
        assert_eq!(c["output"], steps.last().unwrap()["output"], "{c}");
        let tokens: u64 = steps.iter().filter_map(|s| s["tokens_in"].as_u64()).sum();
        assert_eq!(c["tokens_in"].as_u64(), Some(tokens), "{c}");
    }

    // The second request of a forecast@1 loop held the whole history with the tool's
    // result: its digest is that of the version's messages, the call and the result.
    let c = looped
        .iter()
        .find(|c| c["prompt"] == "forecast@1")
        .expect("a forecast@1 cell that looped");
    let first = &c["steps"][0];
    let calls: Vec<ToolCall> = serde_json::from_value(first["tool_calls"].clone()).unwrap();
    let mut history = forecast_v1(c["vars"]["city"].as_str().unwrap());
    assert_eq!(first["messages_digest"], digest(&history).as_str(), "{c}");
    history.push(Message::assistant(
        first["output"].as_str().unwrap(),
        calls.clone(),
    ));
    history.push(Message::tool_result(
        &calls[0],
        first["tool_results"][0]["content"].as_str().unwrap(),
        false,
    ));
    assert_eq!(
        c["steps"][1]["messages_digest"],
        digest(&history).as_str(),
        "{c}"
    );

    // The answers are scored on the trajectory; some used what the tool said.
    let used = cells
        .iter()
        .flat_map(|c| c["assertions"].as_array().unwrap())
        .filter(|a| a["type"] == "tool-result-used" && a["pass"] == true)
        .count();
    assert!(used >= 1, "no final answer used the tool's result");
    let record: Value = serde_json::from_str(&p.read("r.json")).unwrap();
    for prompt in ["forecast@1", "forecast@2"] {
        let row = record["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["prompt"] == prompt)
            .unwrap();
        eprintln!("{prompt}: pass rate {}", row["pass_rate"]);
    }
}
