//! `prompteval run` with model-graded assertions: the tables for `llm-rubric` and
//! `select-best` against a scripted judge on 127.0.0.1, the grader's tokens and cost in
//! the record, scorer errors, and the plan-time errors for a missing or unknown grader.

use insta_cmd::assert_cmd_snapshot;

use crate::support::project::{settings, TestProject};
use crate::support::scripted::{chat, ScriptedServer, Seen};

/// Passes outputs that welcome, cannot make sense of Rome, and picks the welcoming output
/// as the best.
fn judge() -> ScriptedServer {
    ScriptedServer::start(|_, seen: &Seen| {
        let prompt = seen.prompt();
        if prompt.contains("<output 2>") {
            let at = prompt.find("welcome").unwrap_or(0);
            let best = if prompt[..at].contains("<output 2>") {
                2
            } else {
                1
            };
            return chat(&format!(r#"{{"best": {best}, "reason": "it welcomes"}}"#));
        }
        if prompt.contains("Rome") {
            return chat("Looks fine to me.");
        }
        let pass = prompt.contains("welcome");
        chat(&format!(
            r#"{{"reason": "{}", "pass": {pass}, "score": {}}}"#,
            if pass {
                "welcomes the guest"
            } else {
                "no welcome"
            },
            if pass { 1.0 } else { 0.2 }
        ))
    })
}

fn project(server: &ScriptedServer) -> TestProject {
    let p = TestProject::basic();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  echo: {{kind: echo}}\n  judge:\n    kind: openai\n    model: judge-1\n    base_url: {}/v1\n    max_retries: 0\n    price: {{input: 1, output: 2}}\ndefaults:\n  grader: judge\n",
            server.url()
        ),
    );
    p.write(
        "evals/greet.yaml",
        "description: greeting judged\nprompts: [greet@1, greet@2]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: llm-rubric\n    value: welcomes the person\n  - type: select-best\n    value: the warmest greeting\n",
    );
    p
}

#[test]
fn run_with_llm_rubric_and_select_best() {
    let server = judge();
    let p = project(&server);
    let mut s = settings(&p);
    s.add_filter(
        &format!("127.0.0.1:{}", server.addr.port()),
        "127.0.0.1:[PORT]",
    );
    s.bind(|| {
        assert_cmd_snapshot!(p.cmd(&["run"]));
    });
    // 6 rubric calls (one per cell) and 3 select-best calls (one per case).
    assert_eq!(server.seen().len(), 9);
}

#[test]
fn record_keeps_judge_replies_usage_and_scorer_errors() {
    let server = judge();
    let p = project(&server);
    let (code, _, stderr) = p.run(&["run", "-o", "out/run.json"]);
    assert_eq!(code, 1, "{stderr}");
    let record: serde_json::Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    let results = record["results"].as_array().unwrap();
    let a = results
        .iter()
        .find(|r| r["case_id"] == "a" && r["prompt"] == "greet@2")
        .unwrap();
    assert_eq!(a["pass"], true);
    let rubric = &a["assertions"][0];
    assert_eq!(rubric["detail"]["judge_prompt"], "builtin:llm-rubric@1");
    assert_eq!(rubric["detail"]["grader"], "judge");
    // Its own rubric call (100 + 10 tokens) and half the select-best call.
    assert_eq!(a["grader_tokens_in"], 150);
    assert_eq!(a["grader_tokens_out"], 15);
    let c = results
        .iter()
        .find(|r| r["case_id"] == "c" && r["prompt"] == "greet@2")
        .unwrap();
    assert_eq!(c["assertions"][0]["scorer_error"], true);
    assert_eq!(
        record["summary"][0]["scorer_errors"],
        serde_json::Value::Null
    );
    let summary = &record["summary"][1];
    assert_eq!(summary["scorer_errors"], 1);
    assert_eq!(summary["grader_tokens_in"], 450);
    assert!((summary["grader_cost_usd"].as_f64().unwrap() - 0.00054).abs() < 1e-12);
    assert_eq!(
        summary["tokens_in"], 15,
        "the model's own tokens stay apart"
    );
}

#[test]
fn judge_assertions_without_a_grader_stop_before_any_call() {
    let server = judge();
    let p = project(&server);
    p.write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
    settings(&p).bind(|| {
        assert_cmd_snapshot!(p.cmd(&["run"]));
    });
    assert!(server.seen().is_empty());
}

#[test]
fn unknown_grader_lists_the_providers() {
    let server = judge();
    let p = project(&server);
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1, greet@2]\nmodels: [echo]\ndataset: datasets/people.csv\ngrader: jduge\nassert:\n  - type: llm-rubric\n    value: welcomes the person\n",
    );
    let mut s = settings(&p);
    s.add_filter(
        &format!("127.0.0.1:{}", server.addr.port()),
        "127.0.0.1:[PORT]",
    );
    s.bind(|| {
        assert_cmd_snapshot!(p.cmd(&["run"]));
    });
    assert!(server.seen().is_empty());
}

#[test]
fn judge_prompt_from_the_registry_replaces_the_builtin() {
    let server = judge();
    let p = project(&server);
    p.write(
        "prompts/judge-llm-rubric/v1.jinja",
        "Grade {{ output }} for: {{ rubric }}. Say welcome if it is good.\n",
    );
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: llm-rubric\n    value: is polite\n",
    );
    let (code, _, stderr) = p.run(&["run", "-o", "out/run.json"]);
    assert_eq!(code, 0, "{stderr}");
    let prompts: Vec<String> = server.seen().iter().map(Seen::prompt).collect();
    assert!(prompts[0].starts_with("Grade Hello "), "{prompts:?}");
    let record: serde_json::Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    let detail = &record["results"][0]["assertions"][0]["detail"];
    assert_eq!(detail["judge_prompt"], "judge-llm-rubric@1");

    p.write("prompts/judge-llm-rubric/v2.jinja", "Grade {{ answer }}\n");
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("judge prompt judge-llm-rubric@2 uses variable `answer`; `llm-rubric` judge prompts receive: output, rubric, input, vars"),
        "{stderr}"
    );
}

#[test]
fn select_best_no_longer_shows_every_case_in_the_same_order() {
    let server = judge();
    let p = project(&server);
    // A deterministic judge, so that its replies are cached.
    let config = p.read("prompteval.yaml").replace(
        "    max_retries: 0\n",
        "    max_retries: 0\n    params: {temperature: 0}\n",
    );
    p.write("prompteval.yaml", &config);
    let (code, _, stderr) = p.run(&["run", "-o", "out/run.json"]);
    assert_eq!(code, 1, "{stderr}");
    // Where the welcoming output (greet@2's) was shown, case by case.
    let mut shown: Vec<usize> = server
        .seen()
        .iter()
        .map(Seen::prompt)
        .filter(|prompt| prompt.contains("<output 2>"))
        .map(|prompt| {
            let at = prompt.find("welcome").unwrap();
            if prompt[..at].contains("<output 2>") {
                2
            } else {
                1
            }
        })
        .collect();
    shown.sort_unstable();
    assert_eq!(shown, [1, 1, 2], "cases a and b show greet@2 first, c last");
    let record: serde_json::Value = serde_json::from_str(&p.read("out/run.json")).unwrap();
    for r in record["results"].as_array().unwrap() {
        let best = &r["assertions"][1];
        assert_eq!(best["type"], "select-best");
        // The judge always chose the welcoming output: greet@2, wherever it was shown.
        assert_eq!(best["pass"], r["prompt"] == "greet@2", "{r}");
        assert_eq!(best["detail"]["best"], 2);
        assert_eq!(best["detail"]["candidates"][1], "greet@2 · echo");
        let order = if r["case_id"] == "c" { [1, 2] } else { [2, 1] };
        assert_eq!(best["detail"]["order"], serde_json::json!(order), "{r}");
        assert!(best["detail"]["seed"].is_u64());
    }
    // The same orders on a re-run: every judge reply comes from the cache.
    let before = server.seen().len();
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(server.seen().len(), before);
}
