//! Conversations through the CLI (issue 16): scripted `turns:` with a fixed `messages:`
//! history against a scripted OpenAI server (the exact history sent at each turn, per-turn
//! expectations, `turn: N`), a conversation with tool handlers (each turn sent with the
//! tool loop of the turn before), a simulated user played by a second endpoint of the
//! server (its figures in a table of their own), both replayed `--offline` from the cache,
//! and bad conversation input stopping the run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::project::{settings, TestProject};
use crate::support::scripted::{chat, ScriptedServer};

/// A server whose `/v1` endpoint is the model (answers `model` in order) and whose
/// `/user/v1` endpoint is the simulated user (answers `user` in order).
fn server(model: &'static [&'static str], user: &'static [&'static str]) -> ScriptedServer {
    let (m, u) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    ScriptedServer::start(move |_, seen| {
        let (counter, script) = if seen.path().starts_with("/user/") {
            (&u, user)
        } else {
            (&m, model)
        };
        let n = counter.fetch_add(1, Ordering::SeqCst);
        chat(script.get(n).copied().unwrap_or("(script ended)"))
    })
}

/// A project whose `bot` and `customer` providers are the two endpoints of `server`.
fn project(server: &ScriptedServer, eval: &str, rows: &str) -> TestProject {
    let p = TestProject::empty();
    let url = server.url();
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  bot:\n    kind: openai\n    model: gpt-4o-mini\n    base_url: {url}/v1\n    max_retries: 0\n    params: {{temperature: 0}}\n  customer:\n    kind: openai\n    model: gpt-4o-mini\n    base_url: {url}/user/v1\n    max_retries: 0\n    params: {{temperature: 0}}\n"
        ),
    );
    p.write(
        "prompts/booking/v1.yaml",
        "messages:\n  - role: system\n    content: You book tables.\n  - role: user\n    content: \"{{ request }}\"\n",
    );
    p.write(
        "prompts/booking/v2.yaml",
        "messages:\n  - role: system\n    content: You book tables.\n",
    );
    p.write(
        "prompts/diner/v1.jinja",
        "You want a table for {{ people }}. When it is booked, say {{ stop }}.\n",
    );
    p.write("datasets/chats.yaml", rows);
    p.write("evals/chat.yaml", eval);
    p
}

/// The `messages` of a request body as `[role, content]` pairs.
fn messages(body: &Value) -> Vec<[String; 2]> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            [
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            ]
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<[String; 2]> {
    list.iter()
        .map(|(r, c)| [r.to_string(), c.to_string()])
        .collect()
}

fn only_result(p: &TestProject, file: &str) -> Value {
    let record: Value = serde_json::from_str(&p.read(file)).unwrap();
    let results = record["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    results[0].clone()
}

const SCRIPTED_EVAL: &str = "prompts: [booking@1]\nmodels: [bot]\ndataset: datasets/chats.yaml\nassert:\n  - type: contains\n    value: booked\n  - type: contains\n    value: How many\n    turn: 0\n";

const SCRIPTED_ROWS: &str = "\
- id: table
  request: A table tonight, please.
  messages:
    - {role: user, content: Hi}
    - {role: assistant, content: Hello! How can I help?}
  turns:
    - Four of us.
    - user: At eight.
      assert:
        - {type: contains, value: \"8\"}
";

#[test]
fn scripted_turns_send_the_whole_history_at_each_turn_and_replay_offline() {
    let server = server(
        &[
            "How many people?",
            "What time?",
            "Done: booked for 4 at 8pm.",
        ],
        &[],
    );
    let p = project(&server, SCRIPTED_EVAL, SCRIPTED_ROWS);
    let (code, stdout, stderr) = p.run(&["run", "--no-progress", "--output", "first.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    let opening = [
        ("system", "You book tables."),
        ("user", "Hi"),
        ("assistant", "Hello! How can I help?"),
        ("user", "A table tonight, please."),
    ];
    assert_eq!(messages(&seen[0].body), pairs(&opening));
    let mut second = opening.to_vec();
    second.extend([("assistant", "How many people?"), ("user", "Four of us.")]);
    assert_eq!(messages(&seen[1].body), pairs(&second));
    let mut third = second.clone();
    third.extend([("assistant", "What time?"), ("user", "At eight.")]);
    assert_eq!(messages(&seen[2].body), pairs(&third));

    let cell = only_result(&p, "first.json");
    assert_eq!(cell["output"], json!("Done: booked for 4 at 8pm."));
    assert_eq!(cell["pass"], json!(true), "{cell}");
    assert_eq!(cell["tokens_in"], json!(300));
    let steps = cell["steps"].as_array().unwrap();
    let turns: Vec<(Value, Value)> = steps
        .iter()
        .map(|s| (s["turn"].clone(), s["user"].clone()))
        .collect();
    assert_eq!(
        turns,
        [
            (Value::Null, json!("A table tonight, please.")),
            (json!(1), json!("Four of us.")),
            (json!(2), json!("At eight.")),
        ]
    );
    let reasons: Vec<&str> = cell["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            r#"output contains "booked""#,
            r#"turn 0: output contains "How many""#,
            r#"turn 2: output contains "8""#,
        ]
    );

    // Offline, the whole conversation comes from the cache: nothing is sent.
    let (code, stdout, stderr) = p.run(&["run", "--no-progress", "--offline", "-o", "again.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(server.seen().len(), 3);
    let again = only_result(&p, "again.json");
    assert_eq!(again["cached"], json!(true));
    assert_eq!(again["assertions"], cell["assertions"]);
    assert_eq!(again["steps"].as_array().unwrap().len(), 3);

    // `rescore` scores the stored turns with the eval's current assertions.
    p.write(
        "evals/chat.yaml",
        &format!("{SCRIPTED_EVAL}  - type: contains\n    value: time\n    turn: 1\n"),
    );
    let (code, stdout, stderr) = p.run(&["rescore", "latest", "--no-progress", "-o", "re.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(server.seen().len(), 3, "rescore sends nothing");
    let rescored = only_result(&p, "re.json");
    let reasons: Vec<&str> = rescored["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons[2], r#"turn 1: output contains "time""#);
    assert_eq!(reasons[3], r#"turn 2: output contains "8""#);
}

const SIMULATED_EVAL: &str = "prompts: [booking@2]\nmodels: [bot]\ndataset: datasets/chats.yaml\nsimulated_user:\n  provider: customer\n  persona: diner@1\n  stop: \"[DONE]\"\n  max_turns: 4\nassert:\n  - type: contains\n    value: booked\n";

#[test]
fn a_simulated_user_is_a_second_endpoint_that_sees_the_roles_swapped() {
    let server = server(
        &["For how many?", "booked for four."],
        &["I need a table.", "Four people.", "Great, thanks! [DONE]"],
    );
    let p = project(&server, SIMULATED_EVAL, "- id: four\n  people: four\n");
    let (code, stdout, stderr) = p.run(&["run", "--no-progress", "--output", "first.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let seen = server.seen();
    let (user, model): (Vec<_>, Vec<_>) = seen.iter().partition(|s| s.path().starts_with("/user/"));
    assert_eq!((user.len(), model.len()), (3, 2));
    let persona = (
        "system",
        "You want a table for four. When it is booked, say [DONE].",
    );
    assert_eq!(messages(&user[0].body), pairs(&[persona]));
    assert_eq!(
        messages(&user[2].body),
        pairs(&[
            persona,
            ("assistant", "I need a table."),
            ("user", "For how many?"),
            ("assistant", "Four people."),
            ("user", "booked for four."),
        ])
    );
    assert_eq!(
        messages(&model[1].body),
        pairs(&[
            ("system", "You book tables."),
            ("user", "I need a table."),
            ("assistant", "For how many?"),
            ("user", "Four people."),
        ])
    );
    let cell = only_result(&p, "first.json");
    assert_eq!(cell["pass"], json!(true), "{cell}");
    // The model's tokens leave the simulated user's out; those are recorded apart.
    assert_eq!(cell["tokens_in"], json!(200));
    let usage = &cell["simulated_user"];
    assert_eq!(usage["provider"], json!("customer"));
    assert_eq!(usage["calls"], json!(3));
    assert_eq!(usage["tokens_in"], json!(300));
    assert_eq!(usage["ended"], json!("stop"));

    let (code, stdout, stderr) = p.run(&["run", "--no-progress", "--offline", "-o", "again.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(server.seen().len(), 5, "offline sends nothing");
    let again = only_result(&p, "again.json");
    assert_eq!(again["simulated_user"]["cached"], json!(true));
    let outputs = |c: &Value| -> Vec<Value> {
        let steps = c["steps"].as_array().unwrap();
        steps.iter().map(|s| s["output"].clone()).collect()
    };
    assert_eq!(outputs(&again), outputs(&cell));
    assert!(again["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["cached"] == json!(true)));
}

#[test]
fn a_turn_that_is_not_a_message_stops_the_run_naming_file_line_and_case() {
    let server = server(&[], &[]);
    let rows =
        "- id: ok\n  request: hi\n- id: broken\n  request: hi\n  turns:\n    - fine\n    - 42\n";
    let p = project(&server, SCRIPTED_EVAL, rows);
    let (code, stdout, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(server.seen().is_empty());
    settings(&p).bind(|| {
        insta::assert_snapshot!("bad_turn", stderr);
    });
}

#[test]
fn a_simulated_user_without_provider_is_a_plan_error_naming_the_key() {
    let server = server(&[], &[]);
    let eval = "prompts: [booking@2]\nmodels: [bot]\ndataset: datasets/chats.yaml\nsimulated_user:\n  persona: diner@1\n";
    let p = project(&server, eval, "- id: four\n  people: four\n");
    let (code, stdout, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(server.seen().is_empty());
    settings(&p).bind(|| {
        insta::assert_snapshot!("simulated_user_without_provider", stderr);
    });
}

/// The tables that mention the simulated user, the run's record and its model-selection
/// report (terminal, then HTML), of a simulated conversation whose user is played by
/// model `user_model`.
fn user_tables(user_model: &str) -> (String, Value, String, String) {
    let server = server(
        &["For how many?", "booked for four."],
        &["I need a table.", "Four people.", "Great, thanks! [DONE]"],
    );
    let p = project(&server, SIMULATED_EVAL, "- id: four\n  people: four\n");
    let config = p.read("prompteval.yaml").replace(
        "  customer:\n    kind: openai\n    model: gpt-4o-mini",
        &format!("  customer:\n    kind: openai\n    model: {user_model}"),
    );
    p.write("prompteval.yaml", &config);
    let (code, stdout, stderr) = p.run(&["run", "--no-progress", "--output", "run.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let tables: Vec<&str> = stdout
        .split("\n\n")
        .filter(|t| t.contains("user"))
        .collect();
    let record = serde_json::from_str(&p.read("run.json")).unwrap();
    let (code, report, stderr) = p.run(&["report", "latest"]);
    assert_eq!(code, 0, "{report}\n{stderr}");
    let (code, _, stderr) = p.run(&["report", "latest", "--html", "report.html"]);
    assert_eq!(code, 0, "{stderr}");
    (tables.join("\n\n"), record, report, p.read("report.html"))
}

#[test]
fn the_simulated_users_calls_and_cost_have_a_table_of_their_own() {
    let (table, record, report, html) = user_tables("gpt-4o-mini");
    insta::assert_snapshot!(table, @r"
    prompt     model   user       user        user       user       cost
                      calls  tokens in  tokens out       cost  with user
    ─────────────────────────────────────────────────────────────────────
    booking@2  bot        3        300          30  $0.000063    $0.0001
    ");
    let user = &record["summary"][0]["simulated_user"];
    assert_eq!(user["calls"], json!(3), "{user}");
    let cost = user["cost_usd"].as_f64().unwrap();
    assert!((cost - 0.000063).abs() < 1e-12, "{user}");
    // The selection report shows it per 1k cases under the model's cost, off the front.
    assert!(report.contains("$0.0420 ◆ cost, latency"), "{report}");
    assert!(report.contains("+$0.0630"), "{report}");
    assert!(
        report.contains("+… user: what the simulated user's model calls cost per 1k cases"),
        "{report}"
    );
    // The HTML summary shows it in the cost cell, as the terminal does.
    assert!(
        html.contains(r#"<span class="ci">+$0.0630 user</span></td>"#),
        "{html}"
    );
    // A user whose price is unknown: its cost, and the cost with it, are unknown, never $0.
    let (table, record, report, html) = user_tables("in-house-diner");
    assert!(report.contains("+unknown"), "{report}");
    assert!(html.contains(r#"<span class="ci">+unknown user</span>"#));
    insta::assert_snapshot!(table, @r"
    prompt     model   user       user        user  user       cost
                      calls  tokens in  tokens out  cost  with user
    ────────────────────────────────────────────────────────────────
    booking@2  bot        3        300          30     —          —
    ");
    let user = &record["summary"][0]["simulated_user"];
    assert_eq!(user["cost_usd"], Value::Null, "{user}");
}

/// A chat completion that calls `name` with `args` (id `id`), or answers `text`.
fn turn_reply(text: &str, call: Option<(&str, &str, Value)>) -> crate::support::scripted::Reply {
    let message = match &call {
        None => json!({"role": "assistant", "content": text}),
        Some((id, name, args)) => json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}
        ]}),
    };
    let finish = if call.is_some() { "tool_calls" } else { "stop" };
    crate::support::scripted::reply(
        200,
        json!({"choices": [{"index": 0, "finish_reason": finish, "message": message}],
               "usage": {"prompt_tokens": 10, "completion_tokens": 2}})
        .to_string(),
    )
}

/// A message of a request as one line: `role: content`, then `→ name(args)` for each call
/// it makes and `(for ID)` for a tool result.
fn line(m: &Value) -> String {
    let mut out = format!(
        "{}: {}",
        m["role"].as_str().unwrap(),
        m["content"].as_str().unwrap_or("")
    );
    for call in m["tool_calls"].as_array().into_iter().flatten() {
        let f = &call["function"];
        out.push_str(&format!(
            " → {}#{}({})",
            f["name"].as_str().unwrap(),
            call["id"].as_str().unwrap(),
            f["arguments"].as_str().unwrap()
        ));
    }
    if let Some(id) = m["tool_call_id"].as_str() {
        out.push_str(&format!(" (for {id})"));
    }
    out
}

#[test]
fn a_turn_is_sent_with_the_tool_loop_of_the_turn_before() {
    // Issue 16: each turn of a conversation with handlers runs its own tool loop, and the
    // next turn's history carries it (the calls and their results), not just the replies.
    let replies = Arc::new(vec![
        turn_reply("", Some(("c1", "free_tables", json!({"when": "tonight"})))),
        turn_reply("Tables are free tonight. How many?", None),
        turn_reply("", Some(("c2", "book", json!({"people": 4})))),
        turn_reply("Booked for four.", None),
    ]);
    let served = Arc::clone(&replies);
    let n = Arc::new(AtomicUsize::new(0));
    let server = ScriptedServer::start(move |_, _| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        served
            .get(i)
            .cloned()
            .unwrap_or_else(|| chat("(script ended)"))
    });
    let eval = "prompts: [booking@3]\nmodels: [bot]\ndataset: datasets/chats.yaml\ntool_handlers:\n  free_tables: {kind: mock, result: \"3 tables free {{ args.when }}\"}\n  book: {kind: mock, result: \"booking #12 for {{ args.people }}\"}\nassert:\n  - type: contains\n    value: Booked\n  - type: tool-called\n    value: book\n    turn: 1\n";
    let p = project(
        &server,
        eval,
        "- id: t\n  request: A table tonight?\n  turns: [Four of us.]\n",
    );
    p.write(
        "prompts/booking/v3.yaml",
        "messages:\n  - role: system\n    content: You book tables.\n  - role: user\n    content: \"{{ request }}\"\ntools:\n  - name: free_tables\n    parameters: {type: object, properties: {when: {type: string}}}\n  - name: book\n    parameters: {type: object, properties: {people: {type: integer}}}\n",
    );
    let (code, stdout, stderr) = p.run(&["run", "--no-progress", "--output", "run.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let sent: Vec<Vec<String>> = server
        .seen()
        .iter()
        .map(|s| {
            s.body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(line)
                .collect()
        })
        .collect();
    let turn0 = ["system: You book tables.", "user: A table tonight?"];
    let loop0 = [
        r#"assistant:  → free_tables#c1({"when":"tonight"})"#,
        "tool: 3 tables free tonight (for c1)",
    ];
    let reply0 = "assistant: Tables are free tonight. How many?";
    let loop1 = [
        r#"assistant:  → book#c2({"people":4})"#,
        "tool: booking #12 for 4 (for c2)",
    ];
    let join = |parts: &[&[&str]]| -> Vec<String> {
        parts
            .iter()
            .flat_map(|p| p.iter().map(|s| s.to_string()))
            .collect()
    };
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[0], join(&[&turn0]));
    assert_eq!(sent[1], join(&[&turn0, &loop0]));
    assert_eq!(
        sent[2],
        join(&[&turn0, &loop0, &[reply0, "user: Four of us."]]),
        "turn 1 is sent with turn 0's tool loop"
    );
    assert_eq!(
        sent[3],
        join(&[&turn0, &loop0, &[reply0, "user: Four of us."], &loop1])
    );
    let record: Value = serde_json::from_str(&p.read("run.json")).unwrap();
    let cell = &record["results"][0];
    assert_eq!(cell["pass"], json!(true), "{cell}");
    let steps: Vec<(Value, usize)> = cell["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["turn"].clone(),
                s["tool_results"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, 1),
            (Value::Null, 0),
            (json!(1), 1),
            (json!(1), 0)
        ]
    );
}

#[test]
fn a_member_of_an_assert_set_with_a_turn_of_its_own_stops_the_run() {
    // Issue 16: the member's `turn` was ignored, so it scored the final reply instead.
    let server = server(&[], &[]);
    let eval = "prompts: [booking@1]\nmodels: [bot]\ndataset: datasets/chats.yaml\nassert:\n  - type: assert-set\n    assert:\n      - {type: contains, value: booked}\n      - {type: contains, value: How many, turn: 0}\n";
    let p = project(&server, eval, SCRIPTED_ROWS);
    let (code, stdout, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(server.seen().is_empty());
    assert!(
        stderr.contains("evals/chat.yaml:5: `assert-set` assertion: `assert[1]` has `turn: 0`, which a member does not take: the group scores one reply; put `turn: 0` on the `assert-set` itself"),
        "{stderr}"
    );
}
