//! Bad input: every mistake a user can make in their files is a clear error that says
//! where, exits 2, and sends nothing to any model (no run is stored).

use crate::support::project::{settings, TestProject};

/// Applies `edit` to the basic project, runs `args`, and snapshots exit code and stderr.
fn check(name: &str, args: &[&str], edit: impl FnOnce(&TestProject)) -> (i32, String) {
    let p = TestProject::basic();
    edit(&p);
    let (code, stdout, stderr) = p.run(args);
    assert!(
        !p.path().join(".prompteval/runs").exists(),
        "{name}: a run was stored although the input was invalid"
    );
    settings(&p).bind(|| {
        insta::assert_snapshot!(
            name,
            format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
        );
    });
    (code, stderr)
}

const EVAL: &str = "evals/greet.yaml";

#[test]
fn malformed_yaml_names_line_and_column() {
    let (code, _) = check("malformed_yaml", &["run"], |p| {
        p.write(
            EVAL,
            "prompts: [greet@1\nmodels: [echo]\ndataset: datasets/people.csv\n",
        );
    });
    assert_eq!(code, 2);
}

#[test]
fn misspelt_assert_key_was_a_passing_run_without_assertions() {
    let (code, stderr) = check("misspelt_assert_key", &["run"], |p| {
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/people.csv\nasserts:\n  - type: contains\n    value: Hello\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `assert`?"), "{stderr}");
}

#[test]
fn misspelt_value_in_an_assertion_fell_back_to_expected() {
    let (code, stderr) = check("misspelt_assertion_value", &["validate"], |p| {
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    valeu: Hello\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("at `assert[0].valeu`"), "{stderr}");
}

#[test]
fn two_eval_files_with_one_name_both_ran_as_that_name() {
    let (code, _) = check("duplicate_eval_name", &["run"], |p| {
        let text = std::fs::read_to_string(p.path().join(EVAL)).unwrap();
        p.write("evals/greet.yml", &text);
    });
    assert_eq!(code, 2);
}

#[test]
fn unknown_provider_kind_lists_the_kinds() {
    let (code, _) = check("unknown_provider_kind", &["run"], |p| {
        p.write("prompteval.yaml", "providers:\n  echo: {kind: ecko}\n");
    });
    assert_eq!(code, 2);
}

#[test]
fn unknown_model_lists_configured_ones() {
    let (code, _) = check("unknown_model", &["run"], |p| {
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [echo, gpt-5]\ndataset: datasets/people.csv\n",
        );
    });
    assert_eq!(code, 2);
}

#[test]
fn unknown_assertion_type_lists_the_types() {
    let (code, stderr) = check("unknown_assertion", &["run"], |p| {
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contians\n    value: x\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("contains"), "{stderr}");
}

#[test]
fn invalid_regex_is_caught_at_load_time() {
    let (code, _) = check("invalid_regex", &["run"], |p| {
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: regex\n    value: \"(unclosed\"\n",
        );
    });
    assert_eq!(code, 2);
}

#[test]
fn missing_dataset_file() {
    let (code, _) = check("missing_dataset", &["run"], |p| {
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/nope.csv\n",
        );
    });
    assert_eq!(code, 2);
}

#[test]
fn csv_row_with_wrong_field_count_names_the_line() {
    let (code, stderr) = check("csv_field_count", &["run"], |p| {
        p.write(
            "datasets/people.csv",
            "id,name,city,expected\na,Ada,Paris,Ada\nb,Bob,Oslo\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("people.csv:3"), "{stderr}");
}

#[test]
fn template_syntax_error_shows_file_line_and_source() {
    let (code, stderr) = check("template_syntax", &["run"], |p| {
        p.write(
            "prompts/greet/v2.jinja",
            "Hi {{ name }},\nwelcome to {{ city }.\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("prompts/greet/v2.jinja:2"), "{stderr}");
}

#[test]
fn undefined_variable_names_prompt_variable_dataset_and_columns() {
    let (code, stderr) = check("undefined_variable", &["run"], |p| {
        p.write(
            "prompts/greet/v2.jinja",
            "Hi {{ name }} from {{ country }}.\n",
        );
    });
    assert_eq!(code, 2);
    for part in [
        "greet@2",
        "country",
        "datasets/people.csv",
        "city, expected, id, name",
    ] {
        assert!(stderr.contains(part), "missing {part:?} in {stderr}");
    }
}

#[test]
fn alias_that_points_nowhere() {
    let (code, _) = check("dangling_alias", &["run"], |p| {
        p.write(
            "prompts/greet/prompt.yaml",
            "description: greet\naliases:\n  production: 7\n",
        );
    });
    assert_eq!(code, 2);
}

#[test]
fn duplicate_case_id_names_both_lines() {
    let (code, stderr) = check("duplicate_case_id", &["run"], |p| {
        p.write(
            "datasets/people.csv",
            "id,name,city,expected\na,Ada,Paris,Ada\na,Bob,Oslo,Bob\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("people.csv:3"), "{stderr}");
}

#[test]
fn changed_locked_version_stops_the_run() {
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["prompt", "lock"]);
    assert_eq!(code, 0, "{stderr}");
    p.write("prompts/greet/v1.jinja", "Hello there {{ name }}!\n");
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("prompts/greet/v1.jinja"), "{stderr}");
    assert!(stderr.contains("prompteval prompt new greet"), "{stderr}");
    assert!(!p.path().join(".prompteval/runs").exists());
    let (code, _, _) = p.run(&["prompt", "check"]);
    assert_eq!(code, 2);
}

/// Issue 13, item 15: a locked version whose partial was edited rendered the edit, and
/// `prompt check` said ok.
#[test]
fn editing_a_partial_of_a_locked_version_stops_the_run() {
    let p = TestProject::basic();
    p.write(
        "prompts/greet/v1.jinja",
        "Hello {{ name }}!{% include \"_partials/sig.jinja\" %}\n",
    );
    p.write("prompts/_partials/sig.jinja", " Bye.");
    let (code, _, stderr) = p.run(&["prompt", "lock"]);
    assert_eq!(code, 0, "{stderr}");
    p.write("prompts/_partials/sig.jinja", " Bye now.");
    let (code, stdout, stderr) = p.run(&["prompt", "check"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr
            .contains("locked version greet@1 includes prompts/_partials/sig.jinja, which changed"),
        "{stderr}"
    );
    check("locked_partial_changed", &["run"], |p| {
        p.write(
            "prompts/greet/v1.jinja",
            "Hello {{ name }}!{% include \"_partials/sig.jinja\" %}\n",
        );
        p.write("prompts/_partials/sig.jinja", " Bye.");
        let (code, _, stderr) = p.run(&["prompt", "lock"]);
        assert_eq!(code, 0, "{stderr}");
        p.write("prompts/_partials/sig.jinja", " Bye now.");
    });
}

#[test]
fn bad_prompt_reference() {
    let (code, _) = check("bad_reference", &["run", "--prompt", "greet@"], |_| {});
    assert_eq!(code, 2);
}

#[test]
fn unknown_report_extension_lists_formats() {
    let (code, stderr) = check("bad_output_extension", &["run", "-o", "report.pdf"], |_| {});
    assert_eq!(code, 2);
    assert!(stderr.contains(".json"), "{stderr}");
}

#[test]
fn several_problems_are_reported_together() {
    let (code, _) = check("many_problems", &["run"], |p| {
        p.write(
            EVAL,
            "prompts: [greet@9, greet@1]\nmodels: [nope]\ndataset: datasets/people.csv\nassert:\n  - type: regex\n    value: \"[\"\n",
        );
    });
    assert_eq!(code, 2);
}

#[test]
fn missing_api_key_variable_is_named_without_a_value() {
    let (code, stderr) = check("missing_api_key", &["run"], |p| {
        p.write(
            "prompteval.yaml",
            "providers:\n  echo: {kind: echo}\n  gpt:\n    kind: openai\n    model: gpt-4o-mini\n    api_key_env: PROMPTEVAL_TEST_SURELY_UNSET_KEY\n",
        );
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [gpt]\ndataset: datasets/people.csv\n",
        );
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("PROMPTEVAL_TEST_SURELY_UNSET_KEY"),
        "{stderr}"
    );
}

#[test]
fn not_a_project() {
    let p = TestProject::empty();
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("prompteval init"), "{stderr}");
}

#[test]
fn a_prompt_that_fails_to_render_with_a_row_stops_before_any_call() {
    let (code, stderr) = check("render_failure", &["run"], |p| {
        p.write("prompts/greet/v2.jinja", "Hi {{ name | shout }}.\n");
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("greet@2"), "{stderr}");
}

#[test]
fn zero_jobs_and_zero_concurrency_were_silently_one() {
    // Issue 13.17: `-j 0`, `PROMPTEVAL_JOBS=0` and `defaults.concurrency: 0` ran as 1.
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["run", "-j", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("error: -j/--jobs (or PROMPTEVAL_JOBS) must be at least 1, got 0"),
        "{stderr}"
    );
    let out = p
        .cmd(&["run"])
        .env("PROMPTEVAL_JOBS", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    p.write(
        "prompteval.yaml",
        "providers:\n  echo: {kind: echo}\ndefaults:\n  concurrency: 0\n",
    );
    let (code, _, stderr) = p.run(&["run"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("prompteval.yaml:4:16: at `defaults.concurrency`"),
        "{stderr}"
    );
    assert!(!p.path().join(".prompteval/runs").exists());
}

#[test]
fn an_empty_template_and_two_references_to_one_version_were_silent() {
    // Issue 13.17: an empty version file was sent as an empty prompt, and
    // `greet@production` beside `greet@1` (the same version) merged into one row, silently.
    let p = TestProject::basic();
    p.write("prompts/greet/v2.jinja", "");
    p.write(
        EVAL,
        "prompts:\n  - greet@1\n  - greet@production\n  - greet@2\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: max-length\n    value: 40\n",
    );
    let (code, _, stderr) = p.run(&["run", "--no-progress"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "warning: prompts/greet/v2.jinja: greet@2 is empty: the model is sent an empty prompt"
        ),
        "{stderr}"
    );
    // Located in the eval file (at the `prompts:` key, or the item once locations of
    // sequence items are exact).
    let warning = stderr
        .lines()
        .find(|l| l.contains("`greet@production` resolves to"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        warning.starts_with("warning: evals/greet.yaml:"),
        "{warning}"
    );
    assert!(
        warning.ends_with(": `greet@production` resolves to greet@1, as `greet@1` does: they run once, as one row"),
        "{warning}"
    );
}

/// Issue 13, item 14: 100,000 levels of `[` in a YAML dataset ran for minutes.
#[test]
fn deeply_nested_yaml_dataset_is_refused_with_its_place() {
    let deep = "[".repeat(100_000);
    let (code, stderr) = check("deeply_nested_yaml_dataset", &["run"], |p| {
        p.write("datasets/deep.yaml", &format!("- {{id: a, name: {deep}\n"));
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/deep.yaml\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("datasets/deep.yaml:1:"), "{stderr}");
}

#[test]
fn deeply_nested_eval_file_and_json_dataset_are_refused() {
    let (code, stderr) = check("deeply_nested_eval_file", &["validate"], |p| {
        let deep = "{a: ".repeat(100_000);
        p.write(
            EVAL,
            &format!("prompts: [greet@1]\nmodels: [echo]\ndataset: {deep}\n"),
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("nested more than 128 levels"), "{stderr}");
    let (code, stderr) = check("deeply_nested_json_dataset", &["validate"], |p| {
        let n = 100_000;
        p.write(
            "datasets/deep.json",
            &format!(
                "[{{\"id\": \"a\", \"name\": {}{}}}]",
                "[".repeat(n),
                "]".repeat(n)
            ),
        );
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/deep.json\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("nested more than 128 levels"), "{stderr}");
}

/// Issue 13, item 14: a template loop of 10¹⁰ iterations hung planning.
#[test]
fn endless_template_loop_runs_out_of_fuel_naming_prompt_and_case() {
    let (code, stderr) = check("template_out_of_fuel", &["run"], |p| {
        p.write(
            "prompts/greet/v2.jinja",
            "Hi {{ name }}\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n",
        );
    });
    assert_eq!(code, 2);
    assert!(stderr.contains("greet@2 does not render"), "{stderr}");
    assert!(stderr.contains("(case a)"), "{stderr}");
    assert!(stderr.contains("ran out of fuel"), "{stderr}");
}

#[test]
fn a_misspelt_model_name_suggests_the_model() {
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["run", "--model", "ecko"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("hint: did you mean `echo`? Else use a provider"),
        "{stderr}"
    );
    let (code, _, stderr) = p.run(&["run", "--model", "gpt-4o-mini"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("hint: did you mean `openai:gpt-4o-mini`? Else"),
        "{stderr}"
    );
}

/// Issue 13, item 13: a duplicate key was placed at the start of its mapping (`1:1` for a
/// `dataset:` on line 5, `2:1` for a second `defaults:`).
#[test]
fn a_duplicate_key_pointed_at_the_start_of_its_mapping() {
    let (code, stderr) = check("duplicate_key", &["validate"], |p| {
        p.write(
            EVAL,
            "description: greeting\nprompts: [greet@1]\ndataset: datasets/people.csv\nmodels: [echo]\ndataset: datasets/other.csv\n",
        );
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("evals/greet.yaml:5: at `dataset`"),
        "{stderr}"
    );
    let (code, stderr) = check("duplicate_defaults", &["validate"], |p| {
        p.write(
            "prompteval.yaml",
            "# the project\nproviders:\n  echo: {kind: echo}\ndefaults:\n  models: [echo]\ndefaults:\n  concurrency: 2\n",
        );
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("prompteval.yaml:6: at `defaults`"),
        "{stderr}"
    );
}

/// Issue 13, item 13: `gate.prompts: [greet@9]` pointed at the top-level `prompts:` line,
/// and an unresolved prompt in a block list at its key rather than its item.
#[test]
fn gate_prompts_pointed_at_the_top_level_prompts_line() {
    let (code, stderr) = check("gate_prompts_location", &["validate"], |p| {
        p.write(
            EVAL,
            "prompts:\n  - greet@1\n  - greet@8\nmodels: [echo]\ndataset: datasets/people.csv\ngate:\n  min_pass_rate: 0.5\n  prompts: [greet@9]\n",
        );
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("evals/greet.yaml:8: `gate.prompts`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("evals/greet.yaml:3: cannot resolve prompt `greet@8`"),
        "{stderr}"
    );
}

/// Issue 13, item 13: provider errors in `prompteval.yaml` named neither the file nor a
/// line, and were printed once per eval that used the provider.
#[test]
fn provider_errors_named_no_file_or_line_and_printed_once_per_eval() {
    let (code, stderr) = check("provider_error_locations", &["validate"], |p| {
        p.write(
            "prompteval.yaml",
            "providers:\n  echo: {kind: echo}\n  bad: {kind: echoo}\n  slow:\n    kind: echo\n    timeout: fast\n",
        );
        let eval = "prompts: [greet@1]\nmodels: [bad, slow]\ndataset: datasets/people.csv\n";
        p.write(EVAL, eval);
        p.write("evals/second.yaml", eval);
    });
    assert_eq!(code, 2);
    assert_eq!(stderr.matches("provider `bad`").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("provider `slow`").count(), 1, "{stderr}");
    assert!(
        stderr.contains("error: prompteval.yaml:3: provider `bad`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: prompteval.yaml:6: provider `slow`"),
        "{stderr}"
    );
}

/// Issue 13, item 13: `dataset: 42` was "42: unsupported dataset format", naming no eval.
#[test]
fn a_dataset_of_42_named_no_eval_file() {
    let (code, stderr) = check("dataset_not_a_path", &["validate"], |p| {
        p.write(EVAL, "prompts: [greet@1]\nmodels: [echo]\ndataset: 42\n");
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: evals/greet.yaml:3: cannot load dataset `42`"),
        "{stderr}"
    );
}

/// Issue 13, item 13: an alias to a missing version named `prompt.yaml` but no line.
#[test]
fn an_alias_to_a_missing_version_gave_no_line() {
    let (code, stderr) = check("dangling_alias_line", &["validate"], |p| {
        p.write(
            "prompts/greet/prompt.yaml",
            "description: greet\naliases:\n  staging: 2\n  production: 7\n",
        );
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: prompts/greet/prompt.yaml:4: alias `production`"),
        "{stderr}"
    );
}

/// Issue 13, item 13: a directory named `v3.yaml` was skipped with a warning, and the alias
/// pointing at version 3 was blamed instead.
#[test]
fn a_version_file_that_is_a_directory_blamed_the_alias() {
    let (code, stderr) = check("version_is_a_directory", &["validate"], |p| {
        std::fs::create_dir_all(p.path().join("prompts/greet/v3.yaml")).unwrap();
        p.write(
            "prompts/greet/prompt.yaml",
            "description: greet\naliases:\n  production: 3\n",
        );
    });
    assert_eq!(code, 2);
    assert!(!stderr.contains("alias"), "{stderr}");
    assert!(stderr.contains("prompts/greet/v3.yaml"), "{stderr}");
}

/// Issue 13, item 13: unknown keys in a YAML version were only warned about, so `parms:`
/// ran without its parameters; the tool keys of issue 15 are known.
#[test]
fn unknown_keys_in_a_version_file_were_only_warnings() {
    let (code, stderr) = check("version_unknown_key", &["validate"], |p| {
        p.write(
            "prompts/greet/v3.yaml",
            "messages:\n  - role: user\n    content: Hi {{ name }}\nparms:\n  temperature: 0\n",
        );
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("prompts/greet/v3.yaml:4: at `parms`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `params`?"), "{stderr}");
    let (code, stderr) = check("version_unknown_message_key", &["validate"], |p| {
        p.write(
            "prompts/greet/v3.yaml",
            "messages:\n  - role: user\n    content: Hi {{ name }}\n    rolle: system\n",
        );
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("prompts/greet/v3.yaml:4: at `messages[0].rolle`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `role`?"), "{stderr}");
    let p = TestProject::basic();
    p.write(
        "prompts/greet/v3.yaml",
        "messages:\n  - role: user\n    content: Hi {{ name }}\ntools: []\ntool_choice: auto\nparallel_tool_calls: false\n",
    );
    let (code, _, stderr) = p.run(&["validate"]);
    assert_eq!(code, 0, "{stderr}");
}

/// Issue 13, item 16: `validate` passed external scorers whose script or program is not
/// there, and `run` then spent its model calls before every case failed.
#[test]
fn validate_did_not_check_external_scorers() {
    let eval = "prompts: [greet@1]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: external\n    script: scorers/missing.py\n  - type: external\n    command: [/nonexistent]\n  - type: not-external\n    command: [python3, scorers/gone.py]\n";
    let (code, stderr) = check("external_scorer_missing", &["validate"], |p| {
        p.write(EVAL, eval);
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "evals/greet.yaml:5: `external` assertion: script `scorers/missing.py` does not exist"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("evals/greet.yaml:7:"), "{stderr}");
    assert!(stderr.contains("evals/greet.yaml:9:"), "{stderr}");
    let (code, _) = check("external_scorer_missing_run", &["run"], |p| {
        p.write(EVAL, eval);
    });
    assert_eq!(code, 2);
}

/// Issue 13, item 16: `validate` did not look at providers that no selected eval uses: a
/// misspelt kind is an error (a typo in the file), other problems are warnings until an
/// eval uses the provider, when they are errors.
#[test]
fn validate_did_not_check_providers_no_eval_uses() {
    let config = "providers:\n  echo: {kind: echo}\n  gpt:\n    kind: opnai\n    model: gpt-4o-mini\n    api_key_env: PROMPTEVAL_TEST_SURELY_UNSET_KEY\n  web:\n    kind: http\n    url: http://127.0.0.1:9/generate\n    body: {q: \"{{ prompt }}\"}\n  tool:\n    kind: exec\n    command: [/nonexistent/model.sh]\n";
    let (code, stderr) = check("unused_provider_unknown_kind", &["validate"], |p| {
        p.write("prompteval.yaml", config);
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: prompteval.yaml:4: provider `gpt`: unknown provider kind `opnai` (did you mean `openai`?)"),
        "{stderr}"
    );
    let p = TestProject::basic();
    p.write("prompteval.yaml", &config.replace("opnai", "openai"));
    let (code, stdout, stderr) = p.run(&["validate"]);
    assert_eq!(code, 0, "{stderr}");
    settings(&p).bind(|| {
        insta::assert_snapshot!(
            "unused_provider_warnings",
            format!("exit: {code}\n--- stdout\n{stdout}--- stderr\n{stderr}")
        );
    });
    assert!(
        stderr.contains("warning: prompteval.yaml:7: provider `web`: `output` is required for kind `http` (no selected eval uses it)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: prompteval.yaml:13: provider `tool`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: prompteval.yaml:3: provider `gpt`"),
        "{stderr}"
    );
    let (code, stderr) = check("used_provider_error", &["validate"], |p| {
        p.write("prompteval.yaml", &config.replace("opnai", "openai"));
        p.write(
            EVAL,
            "prompts: [greet@1]\nmodels: [web]\ndataset: datasets/people.csv\n",
        );
    });
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: prompteval.yaml:7: provider `web`: `output` is required"),
        "{stderr}"
    );
}
