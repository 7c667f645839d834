//! Tests of the registry against fixture projects in temporary directories.

use crate::diagnostic::Diagnostic;
use std::path::{Path, PathBuf};

use super::*;

/// A project in a temporary directory.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Fixture {
        let fixture = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        for (path, text) in files {
            fixture.write(path, text);
        }
        fixture
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.root().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root().join(path)).unwrap()
    }

    fn load(&self) -> (Registry, Vec<crate::diagnostic::Warning>) {
        Registry::load(self.root()).unwrap()
    }

    fn load_err(&self) -> RegistryError {
        Registry::load(self.root()).unwrap_err()
    }
}

const CHAT_V2: &str = "\
messages:
  - role: system
    content: Classify the sentiment of a review.
  - role: user
    content: |
      Review: {{ review }}
params:
  temperature: 0
  max_tokens: 5
note: system message and params
";

fn sentiment() -> Fixture {
    Fixture::new(&[
        (
            "prompts/sentiment/prompt.yaml",
            "description: review sentiment\naliases:\n  production: 1\n  staging: 2\nnotes:\n  1: first try\n",
        ),
        ("prompts/sentiment/v1.jinja", "Review: {{ review }}\nSentiment:\n"),
        ("prompts/sentiment/v2.yaml", CHAT_V2),
        ("prompts/_partials/header.jinja", "You are careful.\n"),
    ])
}

fn resolve<'a>(
    registry: &'a Registry,
    reference: &str,
) -> Result<&'a PromptVersion, RegistryError> {
    registry.resolve(&reference.parse().unwrap())
}

#[test]
fn loads_versions_meta_and_partials() {
    let fixture = sentiment();
    let (registry, warnings) = fixture.load();
    assert!(warnings.is_empty(), "{warnings:?}");
    let prompt = registry.get("sentiment").unwrap();
    assert_eq!(prompt.meta.description.as_deref(), Some("review sentiment"));
    assert_eq!(prompt.versions.keys().copied().collect::<Vec<_>>(), [1, 2]);

    let v1 = &prompt.versions[&1];
    assert_eq!(v1.path, PathBuf::from("prompts/sentiment/v1.jinja"));
    assert_eq!(
        v1.body,
        PromptBody::Text("Review: {{ review }}\nSentiment:\n".into())
    );
    assert_eq!(v1.note.as_deref(), Some("first try"));
    assert!(v1.hash.starts_with("sha256:") && v1.hash.len() == 7 + 64);

    let v2 = &prompt.versions[&2];
    let PromptBody::Chat(messages) = &v2.body else {
        panic!("v2 is a chat version")
    };
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].role, crate::template::message::Role::System);
    assert_eq!(messages[1].content, "Review: {{ review }}\n");
    assert_eq!(v2.params["max_tokens"], serde_json::json!(5));
    assert_eq!(v2.note.as_deref(), Some("system message and params"));
    assert_eq!(prompt.aliases_for(2), ["staging"]);

    assert_eq!(
        registry
            .partials()
            .get("_partials/header.jinja")
            .map(String::as_str),
        Some("You are careful.\n")
    );
}

#[test]
fn missing_prompts_dir_is_an_empty_registry() {
    let fixture = Fixture::new(&[]);
    let (registry, warnings) = fixture.load();
    assert_eq!(registry.prompts().count(), 0);
    assert!(warnings.is_empty());
}

#[test]
fn resolves_every_reference_form() {
    let (registry, _) = sentiment().load();
    assert_eq!(resolve(&registry, "sentiment").unwrap().version, 2);
    assert_eq!(resolve(&registry, "sentiment@latest").unwrap().version, 2);
    assert_eq!(resolve(&registry, "sentiment@1").unwrap().version, 1);
    assert_eq!(
        resolve(&registry, "sentiment@production").unwrap().version,
        1
    );
    assert_eq!(
        resolve(&registry, "sentiment@staging").unwrap().reference(),
        "sentiment@2"
    );
}

#[test]
fn unknown_prompt_lists_known_and_suggests() {
    let (registry, _) = sentiment().load();
    let err = resolve(&registry, "sentimnet").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown prompt `sentimnet`. Choose from: sentiment"
    );
    assert_eq!(err.hint().unwrap(), "did you mean `sentiment`?");
    let err = resolve(&registry, "zzz").unwrap_err();
    assert_eq!(
        err.hint().unwrap(),
        "create it with `prompteval prompt new zzz`"
    );
}

#[test]
fn missing_version_lists_available_versions() {
    let (registry, _) = sentiment().load();
    let err = resolve(&registry, "sentiment@7").unwrap_err();
    assert_eq!(
        err.to_string(),
        "sentiment@7 does not exist; available versions: 1, 2"
    );
}

#[test]
fn missing_alias_lists_defined_aliases() {
    let (registry, _) = sentiment().load();
    let err = resolve(&registry, "sentiment@prod").unwrap_err();
    assert_eq!(
        err.to_string(),
        "prompt `sentiment` has no alias `prod` in prompts/sentiment/prompt.yaml; defined aliases: production, staging"
    );
}

#[test]
fn alias_to_missing_version_is_a_load_error() {
    let fixture = sentiment();
    fixture.write(
        "prompts/sentiment/prompt.yaml",
        "aliases:\n  production: 9\n",
    );
    let err = fixture.load_err();
    assert_eq!(
        err.to_string(),
        "prompts/sentiment/prompt.yaml:2: alias `production` points to sentiment@9, which does not exist; available versions: 1, 2"
    );
    assert!(err
        .hint()
        .unwrap()
        .contains("prompteval prompt alias sentiment production"));
}

#[test]
fn alias_that_reads_as_a_version_is_rejected() {
    let fixture = sentiment();
    fixture.write("prompts/sentiment/prompt.yaml", "aliases:\n  latest: 1\n");
    assert!(matches!(
        fixture.load_err(),
        RegistryError::InvalidAlias { .. }
    ));
}

#[test]
fn duplicate_version_numbers_are_an_error() {
    let fixture = sentiment();
    fixture.write("prompts/sentiment/v2.jinja", "again");
    let err = fixture.load_err();
    assert_eq!(
        err.to_string(),
        "sentiment@2 is defined twice: prompts/sentiment/v2.jinja and prompts/sentiment/v2.yaml"
    );
}

#[test]
fn stray_files_and_empty_prompts_are_warnings() {
    let fixture = sentiment();
    fixture.write("prompts/sentiment/README.md", "docs");
    fixture.write("prompts/sentiment/v3.json", "{}");
    fixture.write("prompts/sentiment/.DS_Store", "");
    fixture.write("prompts/empty/prompt.yaml", "description: nothing yet\n");
    let (registry, warnings) = fixture.load();
    let messages: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "prompts/empty: prompt `empty` has no versions (no v<N> file)",
            "prompts/sentiment/README.md: `README.md` is not a version file; ignored (versions are named v<N>.jinja, .txt, .md or .yaml)",
            "prompts/sentiment/v3.json: `v3.json` has an unsupported extension; ignored (use .jinja, .txt, .md or .yaml)",
        ]
    );
    let err = resolve(&registry, "empty").unwrap_err();
    assert!(matches!(err, RegistryError::NoVersions { .. }), "{err}");
}

#[test]
fn invalid_directory_name_is_an_error() {
    let fixture = Fixture::new(&[("prompts/my prompt/v1.jinja", "hi")]);
    let err = fixture.load_err();
    assert!(
        err.to_string()
            .starts_with("invalid prompt name `my prompt`"),
        "{err}"
    );
}

#[test]
fn unknown_keys_in_a_yaml_version_were_warnings_and_are_errors() {
    // Issue 13, item 13: `temprature:` beside `params:` ran without it, with a warning.
    let fixture = sentiment();
    fixture.write(
        "prompts/sentiment/v2.yaml",
        &format!("{CHAT_V2}temprature: 1\n"),
    );
    assert_eq!(
        fixture.load_err().to_string(),
        "prompts/sentiment/v2.yaml:11: at `temprature`: unknown key `temprature`. Choose from: messages, prompt, params, note, tools, tool_choice, parallel_tool_calls"
    );
    // Without the typo the version loads, with no warning.
    fixture.write("prompts/sentiment/v2.yaml", CHAT_V2);
    assert!(fixture.load().1.is_empty());
}

#[test]
fn yaml_version_without_messages_names_the_file() {
    let fixture = sentiment();
    fixture.write("prompts/sentiment/v2.yaml", "params:\n  temperature: 0\n");
    let err = fixture.load_err();
    assert_eq!(
        err.to_string(),
        "prompts/sentiment/v2.yaml: has neither `messages` nor `prompt`"
    );
}

#[test]
fn yaml_version_with_prompt_key_is_a_text_template() {
    let fixture = sentiment();
    fixture.write(
        "prompts/sentiment/v3.yaml",
        "prompt: \"Q: {{ q }}\\nA:\"\nparams:\n  stop: [\"\\n\"]\n",
    );
    let (registry, _) = fixture.load();
    let v3 = resolve(&registry, "sentiment@3").unwrap();
    assert_eq!(v3.body, PromptBody::Text("Q: {{ q }}\nA:".into()));
    assert_eq!(v3.params["stop"], serde_json::json!(["\n"]));
}

#[test]
fn bad_role_lists_valid_roles() {
    let fixture = sentiment();
    fixture.write(
        "prompts/sentiment/v2.yaml",
        "messages:\n  - role: bot\n    content: hi\n",
    );
    let err = fixture.load_err();
    let text = err.to_string();
    assert!(text.starts_with("prompts/sentiment/v2.yaml:2:"), "{text}");
    assert!(text.contains("messages[0].role"), "{text}");
    assert!(text.contains("`system`, `user`, `assistant`"), "{text}");
    assert!(!text.contains("tool"), "{text}");
}

/// Issue 16: `tool` messages exist only in an agent's history, never in a version.
#[test]
fn a_version_cannot_hold_a_tool_message() {
    let fixture = sentiment();
    fixture.write(
        "prompts/sentiment/v2.yaml",
        "messages:\n  - role: tool\n    content: hi\n",
    );
    let text = fixture.load_err().to_string();
    assert!(text.contains("messages[0].role"), "{text}");
}

#[test]
fn bad_param_type_is_an_error() {
    let fixture = sentiment();
    fixture.write(
        "prompts/sentiment/v2.yaml",
        "messages:\n  - role: user\n    content: hi\nparams:\n  temperature: hot\n",
    );
    assert_eq!(
        fixture.load_err().to_string(),
        "prompts/sentiment/v2.yaml: `params.temperature` must be a number, found `\"hot\"`"
    );
}

#[test]
fn crlf_and_lf_files_hash_the_same() {
    assert_eq!(content_hash(b"a\r\nb\r\n"), content_hash(b"a\nb\n"));
    assert_ne!(content_hash(b"a\nb\n"), content_hash(b"a\nb"));
    assert_eq!(content_hash(b"a\rb"), content_hash(b"a\rb"));
    assert_ne!(content_hash(b"a\rb"), content_hash(b"ab"));

    let fixture = Fixture::new(&[
        ("prompts/a/v1.jinja", "x\r\n{{ y }}\r\n"),
        ("prompts/b/v1.jinja", "x\n{{ y }}\n"),
    ]);
    let (registry, _) = fixture.load();
    let a = resolve(&registry, "a").unwrap();
    let b = resolve(&registry, "b").unwrap();
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.body, b.body, "bodies are normalised to LF too");
}

#[test]
fn lock_then_edit_fails_check_with_the_file_and_hint() {
    let fixture = sentiment();
    let (registry, _) = fixture.load();
    assert_eq!(
        registry.lock_state(resolve(&registry, "sentiment@1").unwrap()),
        LockState::Draft
    );
    let report = registry.write_lock().unwrap();
    assert_eq!(report.newly_locked, ["sentiment@1", "sentiment@2"]);
    assert!(fixture.read("prompts.lock").starts_with(
        "# prompts.lock: content hashes of released prompt versions. Generated by `prompteval prompt lock`.\nversion: 2\nprompts:\n  sentiment:\n    1:\n      hash: sha256:"
    ));

    let (registry, _) = fixture.load();
    registry.check().unwrap();
    let v1 = resolve(&registry, "sentiment@1").unwrap();
    assert_eq!(registry.lock_state(v1), LockState::Locked);
    assert!(registry.write_lock().unwrap().newly_locked.is_empty());

    fixture.write(
        "prompts/sentiment/v1.jinja",
        "Review: {{ review }}\nMood:\n",
    );
    let (registry, _) = fixture.load();
    let v1 = resolve(&registry, "sentiment@1").unwrap();
    assert!(matches!(registry.lock_state(v1), LockState::Changed { .. }));
    let err = registry.check().unwrap_err();
    assert_eq!(
        err.to_string(),
        "locked version sentiment@1 changed (prompts/sentiment/v1.jinja); released versions are immutable"
    );
    assert_eq!(
        err.hint().unwrap(),
        "restore the file (`git checkout -- prompts/sentiment/v1.jinja`) and put your edit in a new version: `prompteval prompt new sentiment`"
    );
    let before = fixture.read("prompts.lock");
    assert!(
        registry.write_lock().is_err(),
        "a changed version is never re-hashed"
    );
    assert_eq!(fixture.read("prompts.lock"), before);
}

#[test]
fn check_reports_every_violation_including_deleted_files() {
    let fixture = sentiment();
    fixture.load().0.write_lock().unwrap();
    fixture.write("prompts/sentiment/v1.jinja", "changed");
    std::fs::remove_file(fixture.root().join("prompts/sentiment/v2.yaml")).unwrap();
    fixture.write("prompts/sentiment/prompt.yaml", "");
    let (registry, _) = fixture.load();
    let err = registry.check().unwrap_err();
    assert_eq!(
        err.to_string(),
        "locked version sentiment@1 changed (prompts/sentiment/v1.jinja); locked version sentiment@2 was deleted; released versions are immutable"
    );
}

#[test]
fn new_draft_versions_are_locked_without_touching_old_ones() {
    let fixture = sentiment();
    fixture.load().0.write_lock().unwrap();
    fixture.write("prompts/sentiment/v3.jinja", "new");
    let (registry, _) = fixture.load();
    assert_eq!(
        registry.lock_state(resolve(&registry, "sentiment@3").unwrap()),
        LockState::Draft
    );
    let report = registry.write_lock().unwrap();
    assert_eq!(report.newly_locked, ["sentiment@3"]);
    assert_eq!(report.already_locked, 2);
}

#[test]
fn unsupported_lock_version_is_an_error() {
    let fixture = sentiment();
    fixture.write("prompts.lock", "version: 7\nsomething: else\n");
    assert_eq!(
        fixture.load_err().to_string(),
        "prompts.lock: unsupported lock file version 7 (this prompteval reads versions 1 to 2)"
    );
}

#[test]
fn new_version_of_a_yaml_version_copies_it_with_the_new_note() {
    let fixture = sentiment();
    let path = Registry::new_version(fixture.root(), "sentiment", Some("shorter: answer")).unwrap();
    assert_eq!(path, PathBuf::from("prompts/sentiment/v3.yaml"));
    let (registry, _) = fixture.load();
    let v2 = resolve(&registry, "sentiment@2").unwrap();
    let v3 = resolve(&registry, "sentiment@3").unwrap();
    assert_eq!(v3.body, v2.body);
    assert_eq!(v3.params, v2.params);
    assert_eq!(v3.note.as_deref(), Some("shorter: answer"));

    Registry::new_version(fixture.root(), "sentiment", None).unwrap();
    let (registry, _) = fixture.load();
    assert_eq!(resolve(&registry, "sentiment@4").unwrap().note, None);
}

#[test]
fn new_version_of_a_plain_template_keeps_its_note_in_prompt_yaml() {
    let fixture = Fixture::new(&[("prompts/qa/v1.txt", "Q: {{ q }}\nA:")]);
    let path = Registry::new_version(fixture.root(), "qa", Some("why")).unwrap();
    assert_eq!(path, PathBuf::from("prompts/qa/v2.txt"));
    assert_eq!(fixture.read("prompts/qa/v2.txt"), "Q: {{ q }}\nA:");
    let (registry, _) = fixture.load();
    assert_eq!(
        resolve(&registry, "qa@2").unwrap().note.as_deref(),
        Some("why")
    );
}

#[test]
fn new_version_of_a_new_prompt_creates_the_directory() {
    let fixture = Fixture::new(&[]);
    let path = Registry::new_version(fixture.root(), "summary", Some("start")).unwrap();
    assert_eq!(path, PathBuf::from("prompts/summary/v1.jinja"));
    let (registry, warnings) = fixture.load();
    assert!(warnings.is_empty(), "{warnings:?}");
    let prompt = registry.get("summary").unwrap();
    assert!(prompt.meta.description.is_some());
    assert_eq!(prompt.versions[&1].note.as_deref(), Some("start"));

    let err = Registry::new_version(fixture.root(), "../x", None).unwrap_err();
    assert!(matches!(err, RegistryError::InvalidName { .. }));
}

#[test]
fn set_alias_validates_and_rewrites_prompt_yaml() {
    let fixture = sentiment();
    Registry::set_alias(fixture.root(), "sentiment", "production", 2).unwrap();
    let (registry, _) = fixture.load();
    assert_eq!(
        resolve(&registry, "sentiment@production").unwrap().version,
        2
    );
    assert_eq!(
        registry.get("sentiment").unwrap().meta.notes[&1],
        "first try"
    );

    let err = Registry::set_alias(fixture.root(), "sentiment", "canary", 5).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sentiment@5 does not exist; available versions: 1, 2"
    );
    let err = Registry::set_alias(fixture.root(), "sentiment", "3", 1).unwrap_err();
    assert!(matches!(err, RegistryError::InvalidAlias { .. }));
    let err = Registry::set_alias(fixture.root(), "sentimen", "canary", 1).unwrap_err();
    assert_eq!(err.hint().unwrap(), "did you mean `sentiment`?");

    assert_eq!(
        Registry::remove_alias(fixture.root(), "sentiment", "staging").unwrap(),
        2
    );
    let (registry, _) = fixture.load();
    assert!(resolve(&registry, "sentiment@staging").is_err());
}

#[test]
fn set_alias_repairs_a_dangling_alias() {
    let fixture = sentiment();
    fixture.write(
        "prompts/sentiment/prompt.yaml",
        "aliases:\n  production: 9\n",
    );
    assert!(Registry::load(fixture.root()).is_err());
    Registry::set_alias(fixture.root(), "sentiment", "production", 1).unwrap();
    fixture.load();
}

#[test]
fn diff_shows_template_params_and_note() {
    let fixture = sentiment();
    fixture.write(
        "prompts/sentiment/v3.yaml",
        &CHAT_V2
            .replace("Classify the sentiment", "Classify the overall sentiment")
            .replace("max_tokens: 5", "max_tokens: 3")
            .replace("note: system message and params", "note: overall"),
    );
    let (registry, _) = fixture.load();
    let v2 = resolve(&registry, "sentiment@2").unwrap();
    let v3 = resolve(&registry, "sentiment@3").unwrap();
    let text = diff(v2, v3, false);
    assert_eq!(
        text,
        "\
--- a/prompts/sentiment/v2.yaml
+++ b/prompts/sentiment/v3.yaml
@@ -1,5 +1,5 @@
 [system]
-Classify the sentiment of a review.
+Classify the overall sentiment of a review.
 
 [user]
 Review: {{ review }}
--- a/prompts/sentiment/v2.yaml (params)
+++ b/prompts/sentiment/v3.yaml (params)
@@ -1,2 +1,2 @@
-max_tokens: 5
+max_tokens: 3
 temperature: 0
--- a/prompts/sentiment/v2.yaml (note)
+++ b/prompts/sentiment/v3.yaml (note)
@@ -1 +1 @@
-system message and params
+overall
"
    );
    assert_eq!(diff(v2, v2, false), "");
    let colored = diff(v2, v3, true);
    assert!(
        colored.contains("\u{1b}[31m-max_tokens: 5\u{1b}[0m"),
        "{colored:?}"
    );
    assert!(
        colored.contains("\u{1b}[32m+max_tokens: 3\u{1b}[0m"),
        "{colored:?}"
    );
    assert_eq!(console::strip_ansi_codes(&colored), text);
}

#[test]
fn diff_between_text_and_chat_versions() {
    let (registry, _) = sentiment().load();
    let v1 = resolve(&registry, "sentiment@1").unwrap();
    let v2 = resolve(&registry, "sentiment@2").unwrap();
    let text = diff(v1, v2, false);
    assert!(
        text.starts_with("--- a/prompts/sentiment/v1.jinja\n+++ b/prompts/sentiment/v2.yaml\n"),
        "{text}"
    );
    assert!(text.contains("+[system]\n"), "{text}");
    assert!(text.contains("+temperature: 0\n"), "{text}");
}

#[test]
fn utf8_bom_is_not_part_of_text_templates_partials_or_yaml_versions() {
    let fixture = Fixture::new(&[
        ("prompts/p/prompt.yaml", "\u{feff}description: d\n"),
        ("prompts/p/v1.jinja", "\u{feff}Q: {{ q }}\r\nA:"),
        (
            "prompts/p/v2.yaml",
            "\u{feff}messages:\n  - role: user\n    content: hi\n",
        ),
        ("prompts/_partials/rules.jinja", "\u{feff}be brief"),
    ]);
    let (registry, warnings) = fixture.load();
    assert!(warnings.is_empty(), "{warnings:?}");
    let prompt = registry.get("p").unwrap();
    assert_eq!(prompt.meta.description.as_deref(), Some("d"));
    assert_eq!(
        prompt.versions[&1].body,
        PromptBody::Text("Q: {{ q }}\nA:".into())
    );
    assert!(matches!(prompt.versions[&2].body, PromptBody::Chat(_)));
    assert_eq!(registry.partials()["_partials/rules.jinja"], "be brief");
}

fn with_partials() -> Fixture {
    Fixture::new(&[
        (
            "prompts/qa/v1.jinja",
            "{% include \"_partials/rules.jinja\" %}\nQ: {{ q }}",
        ),
        ("prompts/qa/v2.jinja", "Q: {{ q }}"),
        (
            "prompts/_partials/rules.jinja",
            "Rules:\n{% include \"_partials/tone.jinja\" %}",
        ),
        ("prompts/_partials/tone.jinja", "be brief"),
        ("prompts/_partials/unused.jinja", "unused"),
    ])
}

/// Issue 13, item 15: editing a partial bypassed the lock.
#[test]
fn editing_a_partial_of_a_locked_version_is_a_lock_violation() {
    let fixture = with_partials();
    fixture.load().0.write_lock().unwrap();
    let lock = fixture.read("prompts.lock");
    assert!(lock.contains("_partials/tone.jinja: sha256:"), "{lock}");
    assert!(!lock.contains("unused"), "{lock}");

    // A partial no locked version includes is free to change.
    fixture.write("prompts/_partials/unused.jinja", "changed");
    fixture.load().0.check().unwrap();

    // One included through another partial is not.
    fixture.write("prompts/_partials/tone.jinja", "be verbose");
    let (registry, _) = fixture.load();
    let v1 = resolve(&registry, "qa@1").unwrap();
    assert!(matches!(registry.lock_state(v1), LockState::Changed { .. }));
    let v2 = resolve(&registry, "qa@2").unwrap();
    assert_eq!(registry.lock_state(v2), LockState::Locked);
    let err = registry.check().unwrap_err();
    assert_eq!(
        err.to_string(),
        "locked version qa@1 includes prompts/_partials/tone.jinja, which changed; released versions are immutable"
    );
    assert_eq!(
        err.hint().unwrap(),
        "restore the partial (`git checkout -- prompts/_partials/tone.jinja`); to change it, copy it to a new partial and include that from a new version: `prompteval prompt new qa`"
    );
    assert!(registry.write_lock().is_err());

    std::fs::remove_file(fixture.root().join("prompts/_partials/tone.jinja")).unwrap();
    let err = fixture.load().0.check().unwrap_err();
    assert!(
        err.to_string().contains("tone.jinja, which was deleted"),
        "{err}"
    );
}

#[test]
fn version_1_lock_files_are_read_and_rewritten_with_partials() {
    let fixture = with_partials();
    let hash = |path: &str| load::content_hash(&std::fs::read(fixture.root().join(path)).unwrap());
    fixture.write(
        "prompts.lock",
        &format!(
            "version: 1\nprompts:\n  qa:\n    1: {}\n",
            hash("prompts/qa/v1.jinja")
        ),
    );
    let (registry, _) = fixture.load();
    registry.check().unwrap();
    let v1 = resolve(&registry, "qa@1").unwrap();
    assert_eq!(registry.lock_state(v1), LockState::Locked);
    let report = registry.write_lock().unwrap();
    assert_eq!(report.newly_locked, ["qa@2"]);
    assert_eq!(report.partials_recorded, 1);
    let lock = fixture.read("prompts.lock");
    assert!(lock.contains("version: 2\n"), "{lock}");
    assert!(lock.contains("_partials/rules.jinja: sha256:"), "{lock}");
    // From now on the partials are covered.
    fixture.write("prompts/_partials/rules.jinja", "Rules: none");
    assert!(fixture.load().0.check().is_err());
}
