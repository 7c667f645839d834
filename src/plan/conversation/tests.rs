//! Tests of conversation planning: what is checked before any model call.

use crate::config::project::Project;
use crate::diagnostic::Diagnostic;
use crate::plan::{plan, PlanError, Selection};
use crate::registry::Registry;

/// Plans a project with one eval and one dataset; every problem as `message (hint: …)`.
fn problems(eval: &str, rows: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| crate::test_files::write(dir.path(), path, text);
    write(
        "prompteval.yaml",
        "providers:\n  local: {kind: echo}\n  other: {kind: echo}\n",
    );
    write(
        "prompts/bot/v1.yaml",
        "messages:\n  - role: system\n    content: Be brief.\n",
    );
    write(
        "prompts/customer/v1.jinja",
        "You are {{ name }}. Say {{ stop }} at the end.\n",
    );
    write("datasets/chat.yaml", rows);
    write("evals/chat.yaml", eval);
    let project = Project::discover(dir.path()).unwrap().0;
    let registry = Registry::load(&project.root).unwrap().0;
    match plan(&project, &registry, &Selection::default()) {
        Ok((plan, _)) => {
            let conversations = &plan.evals[0].conversations;
            assert!(conversations.iter().all(Option::is_some));
            Vec::new()
        }
        Err(PlanError::Many(errors)) => errors.iter().map(shown).collect(),
        Err(e) => vec![shown(&e)],
    }
}

fn shown(e: &PlanError) -> String {
    match e.hint() {
        Some(hint) => format!("{e} (hint: {hint})"),
        None => e.to_string(),
    }
}

const EVAL: &str = "prompts: [bot@1]\nmodels: [local]\ndataset: datasets/chat.yaml\n";

#[test]
fn scripted_turns_and_a_simulated_user_plan() {
    let eval = format!(
        "{EVAL}simulated_user:\n  provider: other\n  persona: customer@1\nassert:\n  - {{type: contains, value: a, turn: 2}}\n"
    );
    let rows = "- {id: a, name: Ann, turns: [hi, {user: more, assert: [{type: contains, value: x}]}]}\n- {id: b, name: Bob}\n";
    assert_eq!(problems(&eval, rows), Vec::<String>::new());
}

#[test]
fn a_simulated_user_without_provider_is_an_error_naming_the_key() {
    let eval = format!("{EVAL}simulated_user:\n  persona: customer@1\n");
    let found = problems(&eval, "- {id: a, name: Ann}\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("evals/chat.yaml:4: case `a`: `simulated_user.provider` is missing: there is no default simulated user (hint: name the provider that plays the user, e.g. the local model"),
        "{found:?}"
    );
    assert!(
        found[0].contains("(providers of prompteval.yaml: local, other)"),
        "{found:?}"
    );
}

#[test]
fn an_unknown_provider_or_persona_is_an_error_with_a_suggestion() {
    let eval = format!("{EVAL}simulated_user:\n  provider: locl\n  persona: custmer@1\n");
    let found = problems(&eval, "- {id: a, name: Ann}\n");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("evals/chat.yaml:5: `simulated_user.provider`: unknown provider `locl` (did you mean `local`?)"),
        "{found:?}"
    );
    assert!(
        found[1]
            .starts_with("evals/chat.yaml:6: `simulated_user.persona`: cannot resolve `custmer@1`"),
        "{found:?}"
    );
}

#[test]
fn a_row_may_override_the_simulated_user_and_is_named_when_wrong() {
    let eval = format!("{EVAL}simulated_user: {{provider: local, persona: customer@1}}\n");
    let rows = "- {id: a, name: Ann}\n- {id: b, name: Bob, simulated_user: {max_turns: 0}}\n";
    let found = problems(&eval, rows);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("datasets/chat.yaml:2: `simulated_user.max_turns` is 0"),
        "{found:?}"
    );
}

#[test]
fn a_persona_needs_its_variables_in_the_row() {
    let eval = format!("{EVAL}simulated_user: {{provider: local, persona: customer@1}}\n");
    let found = problems(&eval, "- {id: a}\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("persona customer@1"), "{found:?}");
    assert!(found[0].contains("`name`"), "{found:?}");
}

#[test]
fn turn_beyond_the_turns_played_is_an_error_naming_the_assertion_and_case() {
    let eval = format!("{EVAL}assert:\n  - type: contains\n    value: a\n    turn: 3\n");
    let rows = "- {id: a, turns: [hi, again]}\n";
    let found = problems(&eval, rows);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("evals/chat.yaml:5: `turn: 3` on a `contains` assertion: case `a` has no turn 3: it scripts 2 turns (hint: turns count from 1"),
        "{found:?}"
    );
    let found = problems(&eval, "- {id: plain}\n");
    assert!(
        found[0].contains("case `plain` plays no conversation"),
        "{found:?}"
    );
    let rows = "- {id: a, turns: [{user: hi, assert: [{type: contains, value: x, turn: 1}]}]}\n";
    let found = problems(EVAL, rows);
    assert!(
        found[0].starts_with("datasets/chat.yaml:1: case `a`: `turns[0].assert[0]` has a `turn`"),
        "{found:?}"
    );
}

#[test]
fn a_bad_turn_assertion_is_an_error_at_its_row() {
    let rows = "- {id: a, turns: [{user: hi, assert: [{type: contanis, value: x}]}]}\n";
    let found = problems(EVAL, rows);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("datasets/chat.yaml:1:"), "{found:?}");
    assert!(found[0].contains("contanis"), "{found:?}");
}
