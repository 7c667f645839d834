//! Unit tests of the template set: rendering, strict undefined, partials, errors.

use crate::diagnostic::Diagnostic;
use std::path::PathBuf;

use super::scan::{bound_names, include_names};
use super::*;
use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Location;
use crate::registry::{MessageTemplate, Params, PromptBody, PromptVersion};
use crate::template::message::Role;
use crate::template::message::{Message, RenderedPrompt};

fn text_version(name: &str, n: u32, source: &str) -> PromptVersion {
    PromptVersion {
        name: name.into(),
        version: n,
        path: PathBuf::from(format!("prompts/{name}/v{n}.jinja")),
        body: PromptBody::Text(source.into()),
        params: Params::new(),
        note: None,
        hash: String::new(),
        tools: Default::default(),
        shared_tools: Vec::new(),
    }
}

fn chat_version(name: &str, n: u32, messages: &[(Role, &str)]) -> PromptVersion {
    PromptVersion {
        name: name.into(),
        version: n,
        path: PathBuf::from(format!("prompts/{name}/v{n}.yaml")),
        body: PromptBody::Chat(
            messages
                .iter()
                .map(|(role, content)| MessageTemplate {
                    role: *role,
                    content: (*content).into(),
                })
                .collect(),
        ),
        params: Params::new(),
        note: None,
        hash: String::new(),
        tools: Default::default(),
        shared_tools: Vec::new(),
    }
}

fn partials(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn set_with(version: &PromptVersion) -> TemplateSet {
    let mut set = TemplateSet::new(&BTreeMap::new()).unwrap();
    set.add_prompt(version).unwrap();
    set
}

fn vars(pairs: &[(&str, &str)]) -> minijinja::Value {
    minijinja::Value::from_serialize(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    )
}

#[test]
fn renders_text_and_drops_one_trailing_newline() {
    let v = text_version("qa", 1, "Q: {{ q }}\nA:\n");
    let set = set_with(&v);
    let out = set.render_prompt(&v, &vars(&[("q", "why?")])).unwrap();
    assert_eq!(out, RenderedPrompt::Text("Q: why?\nA:".into()));
    let v2 = text_version("qa", 2, "Q: {{ q }}\n\n");
    let set = set_with(&v2);
    let out = set.render_prompt(&v2, &vars(&[("q", "x")])).unwrap();
    assert_eq!(out, RenderedPrompt::Text("Q: x\n".into()));
}

#[test]
fn nothing_is_escaped() {
    let v = text_version("qa", 1, "{{ q }}");
    let set = set_with(&v);
    let out = set
        .render_prompt(&v, &vars(&[("q", "<b>&\"'</b>")]))
        .unwrap();
    assert_eq!(out, RenderedPrompt::Text("<b>&\"'</b>".into()));
}

#[test]
fn dataset_values_are_data_never_templates() {
    let v = text_version("qa", 1, "Review: {{ review }}");
    let set = set_with(&v);
    let row = vars(&[
        ("review", "{{ secret }} {% if true %}x{% endif %}"),
        ("secret", "no"),
    ]);
    let out = set.render_prompt(&v, &row).unwrap();
    assert_eq!(
        out,
        RenderedPrompt::Text("Review: {{ secret }} {% if true %}x{% endif %}".into())
    );
}

#[test]
fn renders_chat_messages() {
    let v = chat_version(
        "s",
        2,
        &[
            (Role::System, "Be brief."),
            (Role::User, "Review: {{ review }}\n"),
        ],
    );
    let set = set_with(&v);
    let out = set
        .render_prompt(&v, &vars(&[("review", "great")]))
        .unwrap();
    assert_eq!(
        out,
        RenderedPrompt::Chat(vec![
            Message::new(Role::System, "Be brief."),
            Message::new(Role::User, "Review: great"),
        ])
    );
    assert_eq!(
        set.prompt_variables(&v),
        BTreeSet::from(["review".to_string()])
    );
}

#[test]
fn undefined_variable_is_named_with_location_and_source_line() {
    let v = text_version("qa", 1, "Intro\nQ: {{ question }}\n");
    let set = set_with(&v);
    let err = set.render_prompt(&v, &vars(&[("q", "x")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "prompts/qa/v1.jinja:2: cannot render qa@1: undefined variable `question`"
    );
    assert_eq!(
        err.hint().unwrap(),
        "   2 | Q: {{ question }}\n     |       ^^^^^^^^\n`question` must be a dataset column; to make it optional write `{{ question | default(\"\") }}`"
    );
}

#[test]
fn undefined_attribute_root_and_if_are_errors_too() {
    let v = text_version("qa", 1, "{% if flag %}x{% endif %}");
    let set = set_with(&v);
    let err = set.render_prompt(&v, &vars(&[])).unwrap_err();
    assert!(
        err.to_string().contains("undefined variable `flag`"),
        "{err}"
    );

    let v = text_version("qa", 2, "{{ user.name | upper }}");
    let set = set_with(&v);
    let err = set.render_prompt(&v, &vars(&[])).unwrap_err();
    assert!(
        err.to_string().contains("undefined variable `user`"),
        "{err}"
    );

    let v = text_version("qa", 3, "{{ missing | default('none') }}");
    let set = set_with(&v);
    let out = set.render_prompt(&v, &vars(&[])).unwrap();
    assert_eq!(out, RenderedPrompt::Text("none".into()));
}

#[test]
fn missing_attribute_is_an_undefined_value_not_a_variable() {
    let v = text_version("qa", 1, "{{ row.text }}");
    let set = set_with(&v);
    let row = minijinja::Value::from_serialize(serde_json::json!({"row": {"id": 1}}));
    let err = set.render_prompt(&v, &row).unwrap_err();
    assert_eq!(
        err.to_string(),
        "prompts/qa/v1.jinja:1: cannot render qa@1: undefined value `row.text`"
    );
    let TemplateErrorKind::Render { variable, .. } = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(*variable, None);
}

#[test]
fn syntax_error_has_file_line_and_marked_source() {
    let v = text_version("qa", 1, "Intro\nQ: {{ question }\n");
    let mut set = TemplateSet::new(&BTreeMap::new()).unwrap();
    let err = set.add_prompt(&v).unwrap_err();
    let TemplateErrorKind::Syntax {
        location,
        source_line,
        ..
    } = err.kind()
    else {
        panic!("{err:?}")
    };
    assert_eq!(location.to_string(), "prompts/qa/v1.jinja:2");
    let source_line = source_line.as_deref().unwrap();
    assert!(
        source_line.starts_with("   2 | Q: {{ question }\n     | "),
        "{source_line}"
    );
    assert!(source_line.contains('^'), "{source_line}");
    assert!(
        err.to_string()
            .starts_with("prompts/qa/v1.jinja:2: invalid template qa@1: syntax error"),
        "{err}"
    );
}

#[test]
fn syntax_error_in_a_chat_message_names_the_message() {
    let v = chat_version(
        "s",
        2,
        &[(Role::System, "ok"), (Role::User, "a\n{% if x %}")],
    );
    let mut set = TemplateSet::new(&BTreeMap::new()).unwrap();
    let err = set.add_prompt(&v).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("prompts/s/v2.yaml: invalid template s@2 (messages[1].content, line "),
        "{err}"
    );
}

#[test]
fn syntax_error_in_a_partial_names_the_partial_file() {
    let err = TemplateSet::new(&partials(&[("_partials/x.jinja", "{% for %}")]))
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with("prompts/_partials/x.jinja:1: invalid template _partials/x.jinja:"),
        "{err}"
    );
}

#[test]
fn partials_are_included_and_their_variables_counted() {
    let p = partials(&[
        (
            "_partials/header.jinja",
            "You help {{ user }}.\n{% include \"_partials/inner.jinja\" %}",
        ),
        ("_partials/inner.jinja", "Tone: {{ tone }}"),
        (
            "_partials/example.jinja",
            "- {{ ex.input }} => {{ ex.output }} ({{ task }})",
        ),
    ]);
    let mut set = TemplateSet::new(&p).unwrap();
    let v = text_version(
        "s",
        1,
        "{% include \"_partials/header.jinja\" %}\n{% for ex in examples %}{% include '_partials/example.jinja' %}\n{% endfor %}{{ review }}",
    );
    set.add_prompt(&v).unwrap();
    let names: Vec<String> = set.prompt_variables(&v).into_iter().collect();
    assert_eq!(names, ["examples", "review", "task", "tone", "user"]);

    let row = minijinja::Value::from_serialize(serde_json::json!({
        "user": "Ann", "tone": "calm", "task": "t", "review": "ok",
        "examples": [{"input": "a", "output": "b"}],
    }));
    let out = set.render_prompt(&v, &row).unwrap();
    assert_eq!(
        out,
        RenderedPrompt::Text("You help Ann.\nTone: calm\n- a => b (t)\nok".into())
    );
}

#[test]
fn undefined_inside_a_partial_points_at_the_partial() {
    let p = partials(&[("_partials/h.jinja", "Hi {{ who }}")]);
    let mut set = TemplateSet::new(&p).unwrap();
    let v = text_version("s", 3, "{% include \"_partials/h.jinja\" %}");
    set.add_prompt(&v).unwrap();
    let err = set.render_prompt(&v, &vars(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "prompts/_partials/h.jinja:1: cannot render s@3: undefined variable `who`"
    );
}

#[test]
fn including_an_unknown_partial_is_a_compile_error() {
    let p = partials(&[("_partials/h.jinja", "Hi")]);
    let mut set = TemplateSet::new(&p).unwrap();
    let v = text_version("s", 1, "a\n{% include \"_partials/nope.jinja\" %}");
    let err = set.add_prompt(&v).unwrap_err();
    assert_eq!(
        err.to_string(),
        "prompts/s/v1.jinja:2: s@1 includes unknown partial `_partials/nope.jinja`; available partials: _partials/h.jinja"
    );
}

#[test]
fn globals_and_locals_are_not_variables() {
    let v = text_version(
        "s",
        1,
        "{% set ns = namespace(n=0) %}{% for i in range(3) %}{{ loop.index }}{{ i }}{% endfor %}{{ items | tojson }}",
    );
    let set = set_with(&v);
    let names: Vec<String> = set.prompt_variables(&v).into_iter().collect();
    assert_eq!(names, ["items"]);
}

#[test]
fn check_variables_lists_every_missing_one() {
    let v = text_version("s", 1, "{{ a }} {{ b }} {{ c }}");
    let set = set_with(&v);
    let columns = BTreeSet::from(["a".to_string(), "z".to_string()]);
    let err = set.check_variables(&v, &columns).unwrap_err();
    assert_eq!(
        err.to_string(),
        "prompts/s/v1.jinja: s@1 uses variables that the dataset does not have: b, c"
    );
    assert!(err
        .hint()
        .unwrap()
        .starts_with("the dataset's columns are: a, z;"));
}

#[test]
fn inline_templates_compile_once_and_render() {
    let mut set = TemplateSet::new(&BTreeMap::new()).unwrap();
    let origin = Location::line("evals/s.yaml", 9);
    set.add_inline("assert-0", "{{ expected | lower }}", &origin)
        .unwrap();
    assert_eq!(
        set.inline_variables("assert-0"),
        BTreeSet::from(["expected".to_string()])
    );
    assert_eq!(
        set.render_inline("assert-0", &vars(&[("expected", "POS")]))
            .unwrap(),
        "pos"
    );
    let err = set.render_inline("assert-0", &vars(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "evals/s.yaml:9: cannot render assert-0: undefined variable `expected`"
    );
    let err = set.add_inline("assert-1", "{{ x", &origin).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("evals/s.yaml:9: invalid template assert-1:"),
        "{err}"
    );
    let err = set.render_inline("nope", &vars(&[])).unwrap_err();
    assert!(matches!(err.kind(), TemplateErrorKind::NotCompiled { .. }));
}

#[test]
fn many_renders_reuse_compiled_templates() {
    let v = chat_version(
        "s",
        1,
        &[(Role::System, "Be brief."), (Role::User, "{{ q }}")],
    );
    let mut set = set_with(&v);
    set.add_inline("a", "{{ q }}!", &Location::file("e.yaml"))
        .unwrap();
    let row = vars(&[("q", "hi")]);
    for _ in 0..10_000 {
        set.render_prompt(&v, &row).unwrap();
        set.render_inline("a", &row).unwrap();
    }
}

#[test]
fn renders_a_loaded_registry_with_partials() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| crate::test_files::write(dir.path(), path, text);
    write("prompts/_partials/rules.jinja", "Answer with one word.\n");
    write(
        "prompts/s/v1.yaml",
        "messages:\n  - role: system\n    content: |\n      {% include \"_partials/rules.jinja\" %}\n  - role: user\n    content: \"{{ review }}\"\n",
    );
    let (registry, _) = crate::registry::Registry::load(dir.path()).unwrap();
    let mut set = TemplateSet::new(registry.partials()).unwrap();
    let v = registry.resolve(&"s".parse().unwrap()).unwrap();
    set.add_prompt(v).unwrap();
    let out = set.render_prompt(v, &vars(&[("review", "meh")])).unwrap();
    assert_eq!(
        out.to_messages(),
        [
            Message::new(Role::System, "Answer with one word."),
            Message::new(Role::User, "meh"),
        ]
    );
    let err = set.render_prompt(v, &vars(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "prompts/s/v1.yaml: cannot render s@1 (messages[1].content, line 1): undefined variable `review`"
    );
}

#[test]
fn finds_include_names_and_bindings() {
    let src = "{% include 'a' %}\n{%- include \"b\" ignore missing %}{% from \"c\" import m %}";
    assert_eq!(
        include_names(src),
        [
            ("a".to_string(), 1),
            ("b".to_string(), 2),
            ("c".to_string(), 2)
        ]
    );
    let mut bound = bound_names("{% for k, v in d %}{% set x = 1 %}{% with y = 2 %}{% endwith %}");
    bound.sort();
    assert_eq!(bound, ["k", "v", "x", "y"]);
}

/// Issue 13, item 14: a loop of 10¹⁰ iterations hung planning.
#[test]
fn endless_loop_runs_out_of_fuel_naming_the_template_and_line() {
    let source =
        "Hi\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let v = text_version("slow", 1, source);
    let err = set_with(&v).render_prompt(&v, &vars(&[])).unwrap_err();
    assert!(
        matches!(err.kind(), TemplateErrorKind::OutOfFuel { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("prompts/slow/v1.jinja:2: cannot render slow@1: it ran out of fuel (more than {} steps)", set::FUEL)
    );
    let hint = err.hint().unwrap();
    assert!(hint.contains("range(100000)"), "{hint}");
    assert!(hint.contains("loop"), "{hint}");
}

#[test]
fn an_ordinary_long_template_has_fuel_enough() {
    let v = text_version("long", 1, "{% for i in range(20000) %}{{ i }},{% endfor %}");
    let out = set_with(&v).render_prompt(&v, &vars(&[])).unwrap();
    let RenderedPrompt::Text(text) = out else {
        panic!("a text prompt")
    };
    assert!(text.ends_with("19999,"));
}

#[test]
fn optional_variables_under_is_defined_default_or_none_checks_are_not_required() {
    let v = text_version(
        "s",
        1,
        "{{ q }}{% if hint is defined %} Hint: {{ hint }}{% endif %}{{ tone | default(\"\") }}{% if extra is not none %}{% endif %}{{ row.note is defined }}",
    );
    let set = set_with(&v);
    let names: Vec<String> = set.prompt_variables(&v).into_iter().collect();
    assert_eq!(names, ["q", "row"]);
    let columns = BTreeSet::from(["q".to_string(), "row".to_string()]);
    set.check_variables(&v, &columns).unwrap();
    let v2 = text_version(
        "s",
        2,
        "{{ q }}{% if hint is defined %} Hint: {{ hint }}{% endif %}|{{ tone | default(\"calm\") }}{% if extra is not none %}!{% endif %}",
    );
    let set = set_with(&v2);
    let out = set.render_prompt(&v2, &vars(&[("q", "why?")])).unwrap();
    assert_eq!(out, RenderedPrompt::Text("why?|calm!".into()));
    let out = set
        .render_prompt(&v2, &vars(&[("q", "why?"), ("hint", "look up")]))
        .unwrap();
    assert_eq!(out, RenderedPrompt::Text("why? Hint: look up|calm!".into()));
    // Everything else stays strict.
    let strict = text_version("s", 3, "{{ q }} {{ hint }}");
    let set = set_with(&strict);
    assert!(set.prompt_variables(&strict).contains("hint"));
}
