//! Issue 19: a dataset of more rows than prompteval holds (`dataset::HOLD_ROWS`) is checked
//! whole, then read again from its file as the cells run: the same cells, case ids, vars
//! and verdicts as a small one, and its errors still name the line.

use std::collections::BTreeMap;

use crate::support::project::TestProject;

/// More rows than are held.
const ROWS: usize = prompteval::dataset::HOLD_ROWS + 808;

/// A project whose dataset has `ROWS` rows; `rows` writes its text.
fn project(dataset: &str, text: &str, assert: &str) -> TestProject {
    let p = TestProject::empty();
    p.write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
    p.write("prompts/greet/v1.jinja", "Hello {{ name }}!\n");
    p.write("prompts/greet/v2.jinja", "Hi {{ name }} from {{ city }}.\n");
    p.write(&format!("datasets/{dataset}"), text);
    p.write(
        "evals/greet.yaml",
        &format!("prompts: [greet@1, greet@2]\nmodels: [echo]\ndataset: datasets/{dataset}\nassert:\n  - type: contains\n    value: \"{assert}\"\ngate:\n  min_pass_rate: 0.0\n"),
    );
    p
}

/// Row `i`'s name, city and expected text: every third row expects what echo never says.
fn row(i: usize) -> (String, String, String) {
    let name = format!("n{}", i * 7 % 1000);
    let city = if i % 2 == 0 {
        "Oslo, \"old\" town"
    } else {
        "Rome"
    };
    let expected = if i % 3 == 0 {
        "absent".to_string()
    } else {
        name.clone()
    };
    (name, city.to_string(), expected)
}

fn cells(p: &TestProject) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(p.latest_run().join("results.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_csv_larger_than_the_rows_held_runs_every_row_as_written() {
    let mut text = String::from("id,name,city,expected\n");
    for i in 0..ROWS {
        let (name, city, expected) = row(i);
        // A quoted field with a comma, a doubled quote and a line break on some rows.
        let city = city.replace('"', "\"\"");
        let city = if i % 500 == 0 {
            format!("{city}\nnorth")
        } else {
            city
        };
        text.push_str(&format!("r{i},{name},\"{city}\",{expected}\n"));
        if i % 1000 == 0 {
            text.push('\n');
        }
    }
    let p = project("big.csv", &text, "{{ expected }}");
    let (code, _, stderr) = p.run(&["run", "--no-matrix"]);
    assert_eq!(code, 0, "{stderr}");
    let cells = cells(&p);
    assert_eq!(cells.len(), 2 * ROWS);
    let mut passed: BTreeMap<String, usize> = BTreeMap::new();
    for cell in &cells {
        let id = cell["case_id"].as_str().unwrap();
        let i: usize = id[1..].parse().unwrap();
        let (name, city, expected) = row(i);
        let city = if i % 500 == 0 {
            format!("{city}\nnorth")
        } else {
            city
        };
        assert_eq!(cell["vars"]["name"], name, "{id}");
        assert_eq!(cell["vars"]["city"], city, "{id}");
        assert_eq!(cell["vars"]["expected"], expected, "{id}");
        let prompt = cell["prompt"].as_str().unwrap().to_string();
        let output = cell["output"].as_str().unwrap();
        assert!(output.contains(&name), "{id}: {output}");
        assert_eq!(cell["pass"], i % 3 != 0, "{id}");
        *passed.entry(prompt).or_default() += usize::from(i % 3 != 0);
    }
    let expected_passes = (0..ROWS).filter(|i| i % 3 != 0).count();
    assert_eq!(passed["greet@1"], expected_passes);
    assert_eq!(passed["greet@2"], expected_passes);
    // `--case` selects from the rows read again.
    let last = format!("^r{}$", ROWS - 1);
    let (code, _, stderr) = p.run(&["run", "--no-matrix", "--case", &last]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(cells_of(&p), 2);
}

fn cells_of(p: &TestProject) -> usize {
    cells(p).len()
}

/// The duplicate of an id seen many rows before, when those rows are no longer held: the
/// first row is read again from the file to tell a repeated id from a hash collision.
#[test]
fn a_repeated_id_far_down_a_large_csv_names_both_lines() {
    let mut text = String::from("id,name,city,expected\n");
    for i in 0..ROWS {
        let id = if i == ROWS - 1 {
            "r10".to_string()
        } else {
            format!("r{i}")
        };
        text.push_str(&format!("{id},a,b,c\n"));
    }
    let p = project("big.csv", &text, "a");
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 2, "{stderr}");
    let line = ROWS + 1;
    assert!(
        stderr.contains(&format!(
            "datasets/big.csv:{line}: duplicate id `r10` (also used on line 12)"
        )),
        "{stderr}"
    );
}

/// A large JSONL dataset keeps each row's own assertions, numbers and blank lines.
#[test]
fn a_large_jsonl_keeps_each_rows_own_assertions() {
    let mut text = String::new();
    for i in 0..ROWS {
        let (name, city, expected) = row(i);
        let mut line = serde_json::json!({"id": format!("r{i}"), "name": name, "city": city, "expected": expected, "n": i});
        if i == ROWS - 5 {
            line["assert"] = serde_json::json!([{"type": "contains", "value": "never said"}]);
        }
        text.push_str(&format!("{line}\n"));
        if i % 999 == 0 {
            text.push_str("  \n");
        }
    }
    let p = project("big.jsonl", &text, "{{ expected }}");
    let (code, _, stderr) = p.run(&["run", "--no-matrix"]);
    assert_eq!(code, 0, "{stderr}");
    let cells = cells(&p);
    assert_eq!(cells.len(), 2 * ROWS);
    let own = format!("r{}", ROWS - 5);
    for cell in &cells {
        let id = cell["case_id"].as_str().unwrap();
        let i: usize = id[1..].parse().unwrap();
        assert_eq!(cell["vars"]["n"], i, "{id}");
        let asserts = cell["assertions"].as_array().unwrap();
        if id == own {
            assert_eq!(asserts.len(), 2, "{id}");
            assert_eq!(cell["pass"], false, "{id}");
        } else {
            assert_eq!(asserts.len(), 1, "{id}");
            assert_eq!(cell["pass"], i % 3 != 0, "{id}");
        }
    }
}

/// A large dataset rewritten in place while the run reads it: the run stops at the row
/// that changed, with exit 3, naming the file and keeping every cell finished before it.
#[test]
fn a_large_dataset_changed_during_the_run_stops_it_and_keeps_the_cells() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use crate::support::scripted::{chat, ScriptedServer};

    let released = Arc::new(AtomicBool::new(false));
    let arrived = Arc::new(AtomicBool::new(false));
    let (gate, first) = (released.clone(), arrived.clone());
    // The first request waits until the test has changed the file.
    let server = ScriptedServer::start(move |n, _| {
        if n == 0 {
            first.store(true, Ordering::SeqCst);
        }
        while n == 0 && !gate.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        chat("Hello")
    });
    // Long rows: the reader's buffer holds only the first few dozen when the run starts.
    let mut text = String::from("id,name\n");
    for i in 0..ROWS {
        text.push_str(&format!("r{i},name{i}{}\n", "x".repeat(120)));
    }
    let p = project("big.csv", &text, "Hello");
    p.write(
        "prompteval.yaml",
        &format!(
            "providers:\n  local:\n    kind: openai\n    model: tiny\n    base_url: {}/v1\n    api_key_env: PROMPTEVAL_IT_LARGE_KEY\n    concurrency: 1\n    max_retries: 0\n",
            server.url()
        ),
    );
    p.write(
        "evals/greet.yaml",
        "prompts: [greet@1]\nmodels: [local]\ndataset: datasets/big.csv\nassert:\n  - type: contains\n    value: Hello\n",
    );
    let child = p
        .cmd(&["run", "--no-matrix", "--jobs", "4"])
        .env("PROMPTEVAL_IT_LARGE_KEY", "k")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !arrived.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The same bytes but one letter, in place (not a new file under the same name).
    let path = p.path().join("datasets/big.csv");
    let at = text.find("\nr150,name150").unwrap() + 6;
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.seek(SeekFrom::Start(at as u64)).unwrap();
        file.write_all(b"N").unwrap();
    }
    released.store(true, Ordering::SeqCst);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("dataset datasets/big.csv changed after it was checked"),
        "{stderr}"
    );
    assert!(stderr.contains("finished cells are in"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    let cells = cells(&p);
    let ids: Vec<&str> = cells
        .iter()
        .map(|c| c["case_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"r150"), "the changed row ran");
    // The cells still in flight when the run stopped (4 at most) are dropped, as on
    // Ctrl-C.
    // Rows after it may be read and finish meanwhile.
    assert!((146..=154).contains(&ids.len()), "{} cells kept", ids.len());
    assert!(ids.contains(&"r99"));
}
