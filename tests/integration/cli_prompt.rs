//! `prompteval prompt …`: the registry from the command line, on fixture projects.

use insta_cmd::assert_cmd_snapshot;

use crate::support::project::{settings, TestProject};

#[test]
fn list_show_and_diff() {
    let p = TestProject::basic();
    p.write(
        "prompts/greet/v3.yaml",
        "note: chat form\nparams:\n  temperature: 0\nmessages:\n  - role: system\n    content: Be warm.\n  - role: user\n    content: \"Hi {{ name }}, welcome to {{ city }}.\"\n",
    );
    settings(&p).bind(|| {
        assert_cmd_snapshot!("list", p.cmd(&["prompt", "list"]));
        assert_cmd_snapshot!("show_alias", p.cmd(&["prompt", "show", "greet@production"]));
        assert_cmd_snapshot!("show_chat", p.cmd(&["prompt", "show", "greet@3"]));
        assert_cmd_snapshot!("diff", p.cmd(&["prompt", "diff", "greet@2", "greet@3"]));
    });
    let (code, stdout, _) = p.run(&["prompt", "diff", "greet@1", "greet@production"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("identical"), "{stdout}");
}

#[test]
fn diff_is_coloured_only_when_asked() {
    let p = TestProject::basic();
    let (_, plain, _) = p.run(&["prompt", "diff", "greet@1", "greet@2"]);
    assert!(!plain.contains('\u{1b}'));
    let (_, coloured, _) = p.run(&["--color", "always", "prompt", "diff", "greet@1", "greet@2"]);
    assert!(coloured.contains("\u{1b}["), "{coloured}");
}

#[test]
fn render_with_vars_and_missing_vars() {
    let p = TestProject::basic();
    let (code, stdout, _) = p.run(&[
        "prompt",
        "render",
        "greet@2",
        "--var",
        "name=Ada",
        "--var",
        "city={{ Paris }}",
    ]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "Hi Ada, welcome to {{ Paris }}.\n");
    let (code, _, stderr) = p.run(&["prompt", "render", "greet@2", "--var", "name=Ada"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--var city="), "{stderr}");
}

#[test]
fn new_alias_lock_check_round_trip() {
    let p = TestProject::basic();
    let (code, stdout, stderr) = p.run(&["prompt", "new", "greet", "-m", "friendlier"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("prompts/greet/v3.jinja"), "{stdout}");
    assert_eq!(
        p.read("prompts/greet/v3.jinja"),
        p.read("prompts/greet/v2.jinja")
    );

    let (code, _, stderr) = p.run(&["prompt", "alias", "greet", "staging", "3"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(p.read("prompts/greet/prompt.yaml").contains("staging: 3"));
    let (code, _, stderr) = p.run(&["prompt", "alias", "greet", "staging", "9"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("greet@9"), "{stderr}");

    let (code, stdout, _) = p.run(&["prompt", "lock"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("locked greet@3"), "{stdout}");
    assert!(p.read("prompts.lock").contains("version: 2"));
    let (code, stdout, _) = p.run(&["prompt", "lock"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing to lock"), "{stdout}");
    let (code, stdout, _) = p.run(&["prompt", "check"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("3 locked"), "{stdout}");

    // A new prompt from scratch starts at v1 and is a draft until locked.
    let (code, _, _) = p.run(&["prompt", "new", "summary"]);
    assert_eq!(code, 0);
    let (_, stdout, _) = p.run(&["prompt", "list"]);
    assert!(stdout.contains("1 (draft)"), "{stdout}");
}

#[test]
fn unknown_prompt_suggests_a_name() {
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["prompt", "show", "gret"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("greet"), "{stderr}");
}

#[test]
fn prompt_alias_accepts_3_v3_and_name_at_3_and_edits_prompt_yaml_in_place() {
    let p = TestProject::basic();
    let meta = "# greet: say hello.\ndescription: greet someone\ntags: [a,   b]  # as written\naliases:\n  production: 1   # live\n  staging: 1\n";
    p.write("prompts/greet/prompt.yaml", meta);
    let (code, stdout, stderr) = p.run(&["prompt", "alias", "greet", "production", "greet@2"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "greet@production: 1 → 2\n");
    assert_eq!(
        p.read("prompts/greet/prompt.yaml"),
        meta.replace("production: 1   # live", "production: 2 # live")
    );
    let (code, stdout, stderr) = p.run(&["prompt", "alias", "greet", "staging", "v2"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "greet@staging: 1 → 2\n");
    let (code, stdout, _) = p.run(&["prompt", "alias", "greet", "canary", "1"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "greet@canary: (new) → 1\n");
    assert!(p
        .read("prompts/greet/prompt.yaml")
        .ends_with("  staging: 2\n  canary: 1\n"));
    let (code, stdout, _) = p.run(&["prompt", "alias", "greet", "canary", "greet@production"]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "greet@canary: 1 → 2\n");
    let (code, _, stderr) = p.run(&["prompt", "alias", "greet", "canary", "other@2"]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn prompt_new_from_ref_says_the_exact_command_that_compares_it_with_production() {
    let p = TestProject::basic();
    let (code, stdout, stderr) = p.run(&["prompt", "new", "greet", "--from", "greet@production"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        p.read("prompts/greet/v3.jinja"),
        p.read("prompts/greet/v1.jinja")
    );
    assert!(
        stdout.starts_with("created prompts/greet/v3.jinja (a copy of greet@1)\n"),
        "{stdout}"
    );
    let command = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("prompteval "))
        .expect("a command to run");
    assert_eq!(command, "run --prompt greet@production --prompt greet@3");
    // The command it prints runs the new version next to production, though the eval pins
    // greet@1 and greet@2.
    let args: Vec<&str> = command.split(' ').collect();
    let (code, stdout, stderr) = p.run(&args);
    assert!(code == 0 || code == 1, "{stderr}");
    assert!(stdout.contains("greet@3"), "{stdout}");

    let (code, _, stderr) = p.run(&["prompt", "new", "greet", "--from", "9"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("greet@9 does not exist"), "{stderr}");
}

#[test]
fn a_misspelt_alias_suggests_the_alias_not_creating_it() {
    let p = TestProject::basic();
    let (code, _, stderr) = p.run(&["prompt", "show", "greet@prod"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("hint: did you mean `greet@production`?"),
        "{stderr}"
    );
    let (_, _, stderr) = p.run(&["prompt", "show", "greet@canary"]);
    assert!(
        stderr.contains("prompteval prompt alias greet canary"),
        "{stderr}"
    );
}

#[test]
fn no_table_is_an_alias_of_no_matrix_not_a_suggestion_of_no_cache() {
    let p = TestProject::basic();
    let (code, stdout, stderr) = p.run(&["run", "--no-table"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("--no-cache"), "{stderr}");
    assert!(stdout.contains("greet@2"), "{stdout}");
}
