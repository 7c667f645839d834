//! Messages a newcomer meets (issue 14.11, 14.12): did-you-mean wherever a name is looked
//! up, YAML errors drawn with their line and a caret, clap's suggestions kept to close
//! ones, and a bad `--prompt` reported once against the command line.

use crate::support::project::{settings, TestProject};

/// Runs `args` in `p` and snapshots the exit code and stderr; returns both.
fn snapshot(p: &TestProject, name: &str, args: &[&str]) -> (i32, String) {
    let (code, _, stderr) = p.run(args);
    settings(p).bind(|| insta::assert_snapshot!(name, format!("exit: {code}\n{stderr}")));
    (code, stderr)
}

#[test]
fn a_misspelt_variable_named_the_columns_in_file_order() {
    let p = TestProject::basic();
    p.write("prompts/greet/v2.jinja", "Hi {{ nmae }} from {{ city }}.\n");
    let (code, stderr) = snapshot(&p, "misspelt_variable", &["run"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("did you mean `name`? the dataset has columns name,"),
        "{stderr}"
    );
}

#[test]
fn a_misspelt_dataset_path_only_said_not_found() {
    let p = TestProject::basic();
    let eval = p
        .read("evals/greet.yaml")
        .replace("people.csv", "peple.csv");
    p.write("evals/greet.yaml", &eval);
    let (code, stderr) = snapshot(&p, "misspelt_dataset", &["run"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("evals/greet.yaml:4: cannot load dataset"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `datasets/people.csv`?"),
        "{stderr}"
    );
}

#[test]
fn a_misspelt_gate_key_suggests_the_key_and_shows_the_line() {
    let p = TestProject::basic();
    let eval = p
        .read("evals/greet.yaml")
        .replace("min_pass_rate", "min_pass_rat");
    p.write("evals/greet.yaml", &eval);
    let (code, stderr) = snapshot(&p, "misspelt_gate_key", &["run"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("(did you mean `min_pass_rate`?)"),
        "{stderr}"
    );
    assert!(stderr.contains("|   ^^^^^^^^^^^^"), "{stderr}");
}

/// Every YAML file prompteval reads draws the bad line with a caret under the key or
/// the place the parser stopped.
#[test]
fn yaml_errors_gave_a_line_number_without_the_line() {
    let cases: [(&str, &str, &str); 5] = [
        (
            "prompteval.yaml",
            "providers:\n  echo: {kind: echo}\ndefualts:\n  concurrency: 2\n",
            "   3 | defualts:\n     | ^^^^^^^^",
        ),
        (
            "prompts/greet/prompt.yaml",
            "description: greet someone\ntgs: [x]\naliases:\n  production: 1\n",
            "   2 | tgs: [x]\n     | ^^^",
        ),
        (
            "prompts/greet/v3.yaml",
            "prompt: \"Hi {{ name }}\"\nparams:\n  temperature: [0\n",
            "   3 |   temperature: [0\n     |                  ^",
        ),
        (
            "prompts/_tools/lookup.yaml",
            "description: look it up\nparameters: {type: object\n",
            "   2 | parameters: {type: object\n     |                          ^",
        ),
        (
            "datasets/people.yaml",
            "- id: a\n  name: Ada\n  nick: [A\n",
            "   3 |   nick: [A\n     |           ^",
        ),
    ];
    for (file, text, drawn) in cases {
        let p = TestProject::basic();
        p.write(file, text);
        if file.ends_with("people.yaml") {
            let eval = p
                .read("evals/greet.yaml")
                .replace("people.csv", "people.yaml");
            p.write("evals/greet.yaml", &eval);
        }
        let (code, _, stderr) = p.run(&["validate"]);
        assert_eq!(code, 2, "{file}: {stderr}");
        assert!(stderr.contains(drawn), "{file}: no {drawn:?} in\n{stderr}");
    }
}

#[test]
fn a_missing_version_was_reported_once_per_eval() {
    let p = TestProject::basic();
    p.write("evals/slow.yaml", &p.read("evals/greet.yaml"));
    let (code, stderr) = snapshot(&p, "missing_version_once", &["run", "--prompt", "greet@9"]);
    assert_eq!(code, 2);
    assert_eq!(
        stderr.matches("greet@9 does not exist").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("error: --prompt: cannot resolve"),
        "{stderr}"
    );
    assert!(!stderr.contains("evals/"), "{stderr}");
}

#[test]
fn clap_proposed_unrelated_flags() {
    let p = TestProject::basic();
    let (code, stderr) = snapshot(&p, "flag_far_fetched", &["runs", "show", "x", "--format"]);
    assert_eq!(code, 2);
    assert!(!stderr.contains("tip:"), "{stderr}");
    let (_, stderr) = snapshot(&p, "flag_promptfoo", &["run", "--max-concurrency", "4"]);
    assert!(stderr.contains("`-j, --jobs N`"), "{stderr}");
    let (_, _, stderr) = p.run(&["run", "--tabel"]);
    assert!(stderr.contains("'--no-table'"), "{stderr}");
}
