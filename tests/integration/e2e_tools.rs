//! End to end against the real llama-server and SmolLM2 135M Instruct, installed by
//! `scripts/setup-local-model.sh`: the shipped tools eval (`evals/tools.yaml`) through the
//! CLI, with the repository's Hermes-style chat template. The model must produce real
//! OpenAI tool calls, and the tool-call assertions must score them, passing some and
//! failing others. Without the model this test says so and passes — unless
//! `PROMPTEVAL_REQUIRE_LLAMA=1` (set by `.ci/run`), which makes a missing model a failure.

use std::collections::BTreeMap;
use std::path::PathBuf;

use prompteval::provider::llamacpp::install;

use crate::support;
use crate::support::llama::{run_cells as cells, smollm2_example as example};

/// The installed chat model, or `None` (after saying why) when it or the binary is missing.
fn installed() -> Option<PathBuf> {
    support::llama::installed(install::chat_model, "SmolLM2").map(|(_, model)| model)
}

fn pass_rate(record: &serde_json::Value, prompt: &str) -> f64 {
    record["summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prompt"] == prompt)
        .and_then(|r| r["pass_rate"].as_f64())
        .unwrap()
}

#[test]
fn the_shipped_tools_eval_gets_real_tool_calls_from_smollm2() {
    let Some(model) = installed() else {
        return;
    };
    let p = example(&model);
    let (code, stdout, stderr) = p.run(&["run", "tools", "-o", "r.json", "--no-progress"]);
    assert!(code == 0 || code == 1, "exit {code}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("route@1") && stdout.contains("smollm2"),
        "{stdout}"
    );

    let cells = cells(&p);
    assert_eq!(cells.len(), 64, "32 requests × 2 prompts");
    for c in &cells {
        assert!(c["error"].is_null(), "{c}");
    }
    // Real calls, read from llama-server's OpenAI `tool_calls`: the one-shot prompt asks
    // for Rome's weather the way the hand check did.
    let rome = cells
        .iter()
        .find(|c| c["prompt"] == "route@2" && c["case_id"] == "weather-01")
        .unwrap();
    assert_eq!(rome["finish_reason"], "tool_calls", "{rome}");
    assert_eq!(rome["tool_calls"][0]["name"], "get_weather", "{rome}");
    assert_eq!(
        rome["tool_calls"][0]["arguments"],
        serde_json::json!({"city": "Rome"}),
        "{rome}"
    );
    assert!(rome["tool_calls"][0]["arguments_raw"].is_string(), "{rome}");
    let calls = cells
        .iter()
        .filter(|c| c["tool_calls"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    assert!(calls >= 10, "only {calls} cells hold tool calls");

    // Every cell is scored by the tool-call assertions, and they both pass and fail.
    let mut outcomes: BTreeMap<(String, bool), usize> = BTreeMap::new();
    for c in &cells {
        let kinds: Vec<&str> = c["assertions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds.len(), 2, "{c}");
        assert_eq!(kinds[0], "tool-call-f1", "{c}");
        assert!(["tool-called", "no-tool-call"].contains(&kinds[1]), "{c}");
        for a in c["assertions"].as_array().unwrap() {
            let key = (a["type"].as_str().unwrap().to_string(), a["pass"] == true);
            *outcomes.entry(key).or_default() += 1;
        }
    }
    for kind in ["tool-call-f1", "tool-called"] {
        for pass in [true, false] {
            assert!(
                outcomes.contains_key(&(kind.to_string(), pass)),
                "no {kind} assertion with pass={pass}: {outcomes:?}"
            );
        }
    }

    // The story the example tells: zero-shot answers in prose, one worked example turn
    // makes the model call tools.
    let record: serde_json::Value = serde_json::from_str(&p.read("r.json")).unwrap();
    let (zero, one) = (pass_rate(&record, "route@1"), pass_rate(&record, "route@2"));
    assert!(one > zero, "one-shot {one} should beat zero-shot {zero}");
}
