//! Provider settings as users write them: what each kind takes, the errors for what it does
//! not, and the bytes `run.json` and the cache key have always had.

use std::collections::BTreeMap;
use std::path::Path;

use super::de::fields_of;
use super::ser::FIELD_ORDER;
use super::{CommonSettings, ProviderConfig};
use crate::config::yaml;
use crate::provider::cache::{key_material, key_of, provider_identity};
use crate::provider::registry::settings_fields;
use crate::provider::{KindSettings, KINDS};
use crate::registry::Params;
use crate::template::message::RenderedPrompt;

#[derive(Debug, serde::Deserialize)]
struct Doc {
    providers: BTreeMap<String, ProviderConfig>,
}

/// `providers:` with provider `p` written as `settings` (indented block lines), read as
/// `prompteval.yaml` is: the error, with its place, or the settings.
fn load(settings: &str) -> Result<ProviderConfig, String> {
    let text = format!("providers:\n  p:\n{settings}");
    match yaml::parse::<Doc>(&text, Path::new("prompteval.yaml")) {
        Ok((mut doc, warnings)) => {
            assert!(warnings.is_empty(), "{warnings:?}");
            Ok(doc.providers.remove("p").unwrap())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn flow(yaml: &str) -> ProviderConfig {
    serde_yaml::from_str(yaml).unwrap()
}

/// Settings as YAML, `run.json`'s JSON for them and their cache key (prompt `hi`,
/// temperature 0, repeat 0), as written before kinds had settings types of their own.
const GOLDEN: &[(&str, &str, &str)] = &[
    (
        r#"{kind: openai, model: gpt-4o-mini, base_url: 'http://127.0.0.1:1/v1', api_key_env: KEY, concurrency: 4, timeout: 30s, max_retries: 2, params: {temperature: 0, max_tokens: 5}, price: {input: 0.15, output: 0.6}, rpm: 10, tpm: 1000}"#,
        r#"{"kind":"openai","model":"gpt-4o-mini","base_url":"http://127.0.0.1:1/v1","api_key_env":"KEY","concurrency":4,"timeout":"30s","max_retries":2,"params":{"temperature":0,"max_tokens":5},"price":{"input":0.15,"output":0.6},"rpm":10,"tpm":1000}"#,
        "10f3c03ee4a4c652018ee35cea3ccf5c0a0916db5768db5446ed9130e251820c",
    ),
    (
        r#"{kind: llamacpp, model_path: /m/x.gguf, binary: /bin/llama-server, mode: chat, ctx_size: 512, parallel: 2, threads: 1, startup_timeout: 60s, embeddings: true, params: {seed: 1}, concurrency: 2, timeout: 5m, max_retries: 1, rpm: 5, model: gemma}"#,
        r#"{"kind":"llamacpp","model":"gemma","concurrency":2,"timeout":"5m","max_retries":1,"params":{"seed":1},"model_path":"/m/x.gguf","binary":"/bin/llama-server","mode":"chat","ctx_size":512,"parallel":2,"threads":1,"startup_timeout":"60s","rpm":5,"embeddings":true}"#,
        "e175159c0d6f925c0e3103240fcb34adef532458c21aa2d359856f31345141c4",
    ),
    (
        r#"{kind: llamacpp, base_url: 'http://127.0.0.1:8080/v1', mode: chat, api_key_env: K}"#,
        r#"{"kind":"llamacpp","base_url":"http://127.0.0.1:8080/v1","api_key_env":"K","mode":"chat"}"#,
        "871f9bfdda1d60d67413fce8705c00a094c9e8a7b1e8f7611fa4b357904af6a5",
    ),
    (
        r#"{kind: ollama, model: llama3.2, base_url: 'http://h:1', mode: generate, rpm: 3, tpm: 4, params: {temperature: 0}}"#,
        r#"{"kind":"ollama","model":"llama3.2","base_url":"http://h:1","params":{"temperature":0},"mode":"generate","rpm":3,"tpm":4}"#,
        "c7f7a3f2e548de298b0e7044556b293cf5263f3b7a7d4f84abdc4bb7904b5d24",
    ),
    (
        r#"{kind: http, model: gpt-4o, url: 'http://h/x', method: PUT, headers: {X-B: b, Authorization: 'Bearer ${K}'}, body: {input: '{{ prompt }}', n: 3, z: [1, {b: 2, a: 1}]}, output: /a, tokens_in: b, tokens_out: c, price: {input: 1, output: 2.5}}"#,
        r#"{"kind":"http","model":"gpt-4o","price":{"input":1.0,"output":2.5},"url":"http://h/x","method":"PUT","headers":{"Authorization":"Bearer ${K}","X-B":"b"},"body":{"input":"{{ prompt }}","n":3,"z":[1,{"b":2,"a":1}]},"output":"/a","tokens_in":"b","tokens_out":"c"}"#,
        "71047a58652ebcd465a45f7612feadf1b9ef98c0e67b85edd1211adc7d8a9968",
    ),
    (
        r#"{kind: exec, command: [python3, m.py], output: r.t, tokens_in: u.i, tokens_out: u.o, timeout: 30s, max_retries: 0}"#,
        r#"{"kind":"exec","timeout":"30s","max_retries":0,"output":"r.t","tokens_in":"u.i","tokens_out":"u.o","command":["python3","m.py"]}"#,
        "34e3c89b708c9ba1f782fa1af251b19a48756c77aa2830bafdf173c8f4891640",
    ),
    (
        r#"{kind: echo}"#,
        r#"{"kind":"echo"}"#,
        "7eb8257ed3639d1f45830c88d9e8594b07b39a294c236109835fe08855ae8d79",
    ),
    (
        r#"{kind: echo, concurrency: 8, params: {temperature: 0}}"#,
        r#"{"kind":"echo","concurrency":8,"params":{"temperature":0}}"#,
        "d6d2cb3a4d62f8222411ffdb2722f656ef1adb07f10f36f63f01faf8188ad28f",
    ),
    (
        r#"{kind: anthropic, model: claude-3-5-haiku-latest, base_url: 'http://h', api_key_env: K, params: {max_tokens: 10, stop: ["\n"]}}"#,
        r#"{"kind":"anthropic","model":"claude-3-5-haiku-latest","base_url":"http://h","api_key_env":"K","params":{"max_tokens":10,"stop":["\n"]}}"#,
        "03b5d75b9fb0297c6dab684275eea32ae97062890851315c0ec012013f543984",
    ),
    (
        r#"{model: gpt-4o, kind: openai, timeout: 5s}"#,
        r#"{"kind":"openai","model":"gpt-4o","timeout":"5s"}"#,
        "a8c14a80ad0e61f5a47ca4c116874c6b24f838ccbe1e804611a3684c30e76c47",
    ),
];

#[test]
fn run_json_and_cache_keys_keep_their_bytes() {
    let mut params = Params::new();
    params.insert("temperature".into(), 0.into());
    let prompt = RenderedPrompt::Text("hi".into());
    for (yaml, json, key) in GOLDEN {
        let config = flow(yaml);
        assert_eq!(serde_json::to_string(&config).unwrap(), *json, "{yaml}");
        let material = key_material(&provider_identity(&config), &prompt, &params, None, None, 0);
        assert_eq!(key_of(&material).hex(), *key, "{yaml}");
        let again: ProviderConfig = serde_json::from_str(json).unwrap();
        assert_eq!(again, config, "{json}");
    }
}

#[test]
fn each_kind_takes_its_own_keys() {
    let own = |kind: &str| settings_fields(kind).unwrap().join(", ");
    assert_eq!(own("echo"), "");
    assert_eq!(own("openai"), "model, base_url, api_key_env");
    assert_eq!(own("anthropic"), "model, base_url, api_key_env");
    assert_eq!(own("ollama"), "model, base_url, mode");
    assert_eq!(
        own("llamacpp"),
        "model, base_url, api_key_env, model_path, binary, mode, chat_template_file, ctx_size, parallel, threads, startup_timeout, embeddings, pooling"
    );
    assert_eq!(
        own("http"),
        "model, url, method, headers, body, output, tokens_in, tokens_out, tool_calls"
    );
    assert_eq!(
        own("exec"),
        "output, tokens_in, tokens_out, command, tool_calls"
    );
    assert_eq!(own("mock"), "response");
    assert_eq!(
        CommonSettings::fields().join(", "),
        "concurrency, timeout, max_retries, params, price, rpm, tpm"
    );
}

#[test]
fn every_setting_has_its_place_and_key_exclusions_name_settings() {
    for key in CommonSettings::fields() {
        assert!(FIELD_ORDER.contains(key), "{key}");
    }
    for key in CommonSettings::NOT_IN_KEY {
        assert!(CommonSettings::fields().contains(key), "{key}");
    }
    for info in KINDS {
        let fields = settings_fields(info.name).unwrap();
        for key in fields {
            assert!(FIELD_ORDER.contains(key), "{}: {key}", info.name);
        }
        let config = flow(&format!("kind: {}", info.name));
        for key in config.kind.as_dyn().unwrap().not_in_key() {
            assert!(fields.contains(key), "{}: {key}", info.name);
        }
    }
}

#[test]
fn every_shared_setting_is_read() {
    let yaml = "{kind: echo, concurrency: 3, timeout: 1s, max_retries: 2, params: {seed: 1}, price: {input: 1, output: 2}, rpm: 4, tpm: 5}";
    let config = flow(yaml);
    let written = serde_json::to_value(&config).unwrap();
    let keys: Vec<&str> = written
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec!["kind"];
    expected.extend(CommonSettings::fields());
    assert_eq!(keys, expected);
}

#[test]
fn a_typo_names_the_kinds_keys_and_the_likely_key() {
    assert_eq!(
        load("    kind: anthropic\n    model: m\n    max_retires: 2\n").unwrap_err(),
        "prompteval.yaml:5:18: at `providers.p.max_retires`: unknown key `max_retires` for kind `anthropic` (did you mean `max_retries`?). Choose from: model, base_url, api_key_env, concurrency, timeout, max_retries, params, price, rpm, tpm"
    );
    assert_eq!(
        load("    kind: echo\n    colour: red\n").unwrap_err(),
        "prompteval.yaml:4:13: at `providers.p.colour`: unknown key `colour` for kind `echo`. Choose from: concurrency, timeout, max_retries, params, price, rpm, tpm"
    );
}

#[test]
fn another_kinds_setting_names_that_kind() {
    assert_eq!(
        load("    kind: openai\n    model: m\n    command: [x]\n").unwrap_err(),
        "prompteval.yaml:5:14: at `providers.p.command`: `command` is not a setting of kind `openai` (kind `exec` takes it). Choose from: model, base_url, api_key_env, concurrency, timeout, max_retries, params, price, rpm, tpm"
    );
    let err = load("    kind: echo\n    output: /text\n").unwrap_err();
    assert!(
        err.contains("`output` is not a setting of kind `echo` (kinds `http` and `exec` take it)"),
        "{err}"
    );
}

#[test]
fn wrong_types_keep_their_place() {
    assert_eq!(
        load("    kind: openai\n    concurrency: many\n").unwrap_err(),
        "prompteval.yaml:4:18: at `providers.p.concurrency`: invalid type: string \"many\", expected usize"
    );
    assert_eq!(
        load("    kind: exec\n    command: python3\n").unwrap_err(),
        "prompteval.yaml:4:14: at `providers.p.command`: invalid type: string \"python3\", expected a sequence"
    );
    let err = load("    kind: echo\n    concurrency: 1\n    concurrency: 2\n").unwrap_err();
    assert!(err.contains("duplicate"), "{err}");
}

#[test]
fn kind_may_come_later_and_errors_then_name_the_key() {
    let config = load("    model: m\n    kind: openai\n    timeout: 5s\n").unwrap();
    assert_eq!(config, flow("{kind: openai, model: m, timeout: 5s}"));
    let err = load("    concurrency: many\n    kind: openai\n").unwrap_err();
    assert!(
        err.ends_with(
            "at `providers.p`: `concurrency`: invalid type: string \"many\", expected usize"
        ),
        "{err}"
    );
    let err = load("    modle: m\n    kind: openai\n").unwrap_err();
    assert!(
        err.contains("unknown key `modle` for kind `openai` (did you mean `model`?)"),
        "{err}"
    );
}

#[test]
fn kind_is_required_and_unknown_kinds_wait_for_the_build() {
    assert_eq!(
        load("    model: m\n").unwrap_err(),
        "prompteval.yaml:3:5: at `providers.p`: missing field `kind`"
    );
    let config = load("    kind: vertex\n    model: gemini\n    params: {a: 1}\n").unwrap();
    assert_eq!(config.kind, KindSettings::Unknown("vertex".into()));
    assert_eq!(
        serde_json::to_string(&config).unwrap(),
        r#"{"kind":"vertex"}"#
    );
}

#[test]
fn field_names_come_from_the_struct() {
    assert_eq!(
        fields_of::<crate::provider::Price>(),
        &["input", "output", "cache_read", "cache_write"][..]
    );
}

#[test]
fn an_api_key_written_in_the_file_is_never_echoed_and_points_at_api_key_env() {
    for text in [
        "    kind: openai\n    model: m\n    api_key: sk-secret123\n",
        "    api_key: sk-secret123\n    kind: openai\n    model: m\n",
    ] {
        let err = load(text).unwrap_err();
        assert!(!err.contains("sk-secret123"), "{err}");
        assert!(
            err.contains("unknown key `api_key` for kind `openai`")
                && err.contains("name it with `api_key_env`"),
            "{err}"
        );
    }
}
