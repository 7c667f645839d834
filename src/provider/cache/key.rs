//! The cache key: the SHA-256 of the canonical JSON of what was asked (see
//! [`key_material`]).

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::entry::CACHE_ENTRY_VERSION;
use crate::provider::tool_json::offered;
use crate::provider::{CommonSettings, ProviderConfig};
use crate::registry::Params;
use crate::template::message::RenderedPrompt;
use crate::tools::ToolSet;

/// A cache key: the SHA-256 of the canonical key material.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey(pub [u8; 32]);

impl CacheKey {
    /// The key in lowercase hex (the entry's file name without `.json`).
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// The part of a provider's settings that goes into every key: the settings as written
/// minus those that cannot change an answer (secrets and their variables, limits,
/// timeouts, prices, and the process settings of a local server: see
/// [`CommonSettings::NOT_IN_KEY`] and each kind's [`ProviderKind::NOT_IN_KEY`]),
/// canonical. Settings added later are included, so a setting that changes answers can
/// never be forgotten.
///
/// [`ProviderKind::NOT_IN_KEY`]: crate::provider::ProviderKind::NOT_IN_KEY
pub fn provider_identity(config: &ProviderConfig) -> serde_json::Value {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    let kind_not_in_key = config.kind.as_dyn().map_or(&[][..], |k| k.not_in_key());
    if let serde_json::Value::Object(map) = &mut value {
        for key in CommonSettings::NOT_IN_KEY.iter().chain(kind_not_in_key) {
            map.shift_remove(*key);
        }
    }
    canonical(value)
}

/// The document whose hash is the key, canonical (object keys sorted, no whitespace): the
/// provider's identity, the rendered prompt, every request parameter, the tools offered and
/// the repeat index. `identity` comes from [`provider_identity`];
/// `vars` are the row's variables, given for the kinds whose request reads them beyond the
/// rendered prompt (`http` body templates, `exec` stdin). A request without tools (`None`
/// or an empty set) has no `tools` key, so its key is the one it had before tools existed.
pub fn key_material(
    identity: &serde_json::Value,
    prompt: &RenderedPrompt,
    params: &Params,
    vars: Option<&serde_json::Map<String, serde_json::Value>>,
    tools: Option<&ToolSet>,
    repeat: u32,
) -> serde_json::Value {
    let prompt = serde_json::to_value(prompt).unwrap_or(serde_json::Value::Null);
    let mut material = serde_json::json!({
        "v": CACHE_ENTRY_VERSION,
        "provider": identity,
        "prompt": prompt,
        "params": serde_json::Value::Object(params.clone()),
        "repeat": repeat,
    });
    if let (Some(vars), serde_json::Value::Object(map)) = (vars, &mut material) {
        map.insert("vars".into(), serde_json::Value::Object(vars.clone()));
    }
    if let (Some(tools), serde_json::Value::Object(map)) = (offered(tools), &mut material) {
        let tools = serde_json::to_value(tools).unwrap_or(serde_json::Value::Null);
        map.insert("tools".into(), tools);
    }
    canonical(material)
}

/// The key of a request, equal to `key_of(&key_material(..))` with `identity_json` the
/// compact JSON of [`provider_identity`]: the canonical bytes go straight into the hasher
/// in key order, without building and sorting the material first (that was a tenth of a
/// fully cached run's time). The material itself is only built to store a new entry.
pub fn request_key(
    identity_json: &str,
    prompt: &RenderedPrompt,
    params: &Params,
    vars: Option<&serde_json::Map<String, serde_json::Value>>,
    tools: Option<&ToolSet>,
    repeat: u32,
) -> CacheKey {
    let prompt = serde_json::to_value(prompt).unwrap_or(serde_json::Value::Null);
    let tools = offered(tools).map(|t| serde_json::to_value(t).unwrap_or(serde_json::Value::Null));
    let mut hasher = HashWriter(Sha256::new());
    // The keys of the material, sorted: params, prompt, provider, repeat, tools, v, vars.
    let mut write = || -> serde_json::Result<()> {
        hasher.put(b"{\"params\":");
        serde_json::to_writer(&mut hasher, &Canonical::Map(params))?;
        hasher.put(b",\"prompt\":");
        serde_json::to_writer(&mut hasher, &Canonical::Value(&prompt))?;
        hasher.put(b",\"provider\":");
        hasher.put(identity_json.as_bytes());
        hasher.put(format!(",\"repeat\":{repeat}").as_bytes());
        if let Some(tools) = &tools {
            hasher.put(b",\"tools\":");
            serde_json::to_writer(&mut hasher, &Canonical::Value(tools))?;
        }
        hasher.put(format!(",\"v\":{CACHE_ENTRY_VERSION}").as_bytes());
        if let Some(vars) = vars {
            hasher.put(b",\"vars\":");
            serde_json::to_writer(&mut hasher, &Canonical::Map(vars))?;
        }
        hasher.put(b"}");
        Ok(())
    };
    // Writing into a hasher cannot fail.
    let _ = write();
    CacheKey(hasher.0.finalize().into())
}

/// An `io::Write` that feeds a SHA-256.
struct HashWriter(Sha256);

impl HashWriter {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serializes a JSON value as [`canonical`] would make it, without copying it.
enum Canonical<'a> {
    Value(&'a serde_json::Value),
    Map(&'a serde_json::Map<String, serde_json::Value>),
}

impl Serialize for Canonical<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Canonical::Map(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    out.serialize_entry(k, &Canonical::Value(v))?;
                }
                out.end()
            }
            Canonical::Value(serde_json::Value::Object(map)) => {
                Canonical::Map(map).serialize(serializer)
            }
            Canonical::Value(serde_json::Value::Array(items)) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    out.serialize_element(&Canonical::Value(item))?;
                }
                out.end()
            }
            Canonical::Value(other) => other.serialize(serializer),
        }
    }
}

/// The key of `material` (from [`key_material`]).
pub fn key_of(material: &serde_json::Value) -> CacheKey {
    // Compact serialization of a canonical value is canonical bytes.
    let bytes = serde_json::to_vec(material).unwrap_or_default();
    CacheKey(Sha256::digest(&bytes).into())
}

/// `value` with every object's keys sorted, recursively.
pub fn canonical(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(canonical).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::message::{Message, Role};

    const OPENAI: &str =
        "{kind: openai, model: m, base_url: 'http://127.0.0.1:1/v1', api_key_env: SECRET_VAR";

    /// The `OPENAI` provider with `more` settings (`, key: value`).
    fn with(more: &str) -> ProviderConfig {
        serde_yaml::from_str(&format!("{OPENAI}{more}}}")).unwrap()
    }

    fn config() -> ProviderConfig {
        with("")
    }

    fn params(pairs: &[(&str, serde_json::Value)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn key(config: &ProviderConfig, prompt: &str, p: &Params, repeat: u32) -> CacheKey {
        key_of(&key_material(
            &provider_identity(config),
            &RenderedPrompt::Text(prompt.into()),
            p,
            None,
            None,
            repeat,
        ))
    }

    #[test]
    fn request_key_equals_the_hash_of_the_material() {
        let config = config();
        let identity = provider_identity(&config);
        let identity_json = serde_json::to_string(&identity).unwrap();
        let chat = RenderedPrompt::Chat(vec![
            Message::new(Role::System, "be brief"),
            Message::new(Role::User, "2+2 \"quoted\" é\n"),
        ]);
        let text = RenderedPrompt::Text("hi".into());
        let nested = params(&[
            ("temperature", serde_json::json!(0)),
            ("stop", serde_json::json!(["b", "a"])),
            (
                "extra",
                serde_json::json!({"z": 1.5, "a": [{"y": null, "b": true}]}),
            ),
        ]);
        let vars: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"q": "x", "a": {"d": 1, "c": 2}}"#).unwrap();
        let tools = weather_tools("Weather in a city.");
        for prompt in [&chat, &text] {
            for p in [&Params::new(), &nested] {
                for v in [None, Some(&vars)] {
                    for t in [None, Some(&tools)] {
                        for repeat in [0, 7] {
                            let material = key_material(&identity, prompt, p, v, t, repeat);
                            assert_eq!(
                                request_key(&identity_json, prompt, p, v, t, repeat),
                                key_of(&material),
                                "{material}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn vars_change_the_key_only_when_given() {
        let id = provider_identity(&config());
        let prompt = RenderedPrompt::Text("hi".into());
        let mut a = serde_json::Map::new();
        a.insert("q".into(), "1".into());
        let mut b = serde_json::Map::new();
        b.insert("q".into(), "2".into());
        let k = |vars| key_of(&key_material(&id, &prompt, &Params::new(), vars, None, 0));
        assert_ne!(k(Some(&a)), k(Some(&b)));
        assert_ne!(k(Some(&a)), k(None));
    }

    #[test]
    fn key_ignores_param_order_but_not_values() {
        let a = params(&[("temperature", 0.into()), ("max_tokens", 5.into())]);
        let b = params(&[("max_tokens", 5.into()), ("temperature", 0.into())]);
        let c = params(&[("max_tokens", 6.into()), ("temperature", 0.into())]);
        assert_eq!(key(&config(), "hi", &a, 0), key(&config(), "hi", &b, 0));
        assert_ne!(key(&config(), "hi", &a, 0), key(&config(), "hi", &c, 0));
        assert_ne!(key(&config(), "hi", &a, 0), key(&config(), "hi", &a, 1));
        assert_ne!(key(&config(), "hi", &a, 0), key(&config(), "ho", &a, 0));
    }

    #[test]
    fn key_follows_identity_not_limits_or_secrets() {
        let p = Params::new();
        let base = key(&config(), "x", &p, 0);
        let c = with(", concurrency: 9, timeout: 5s, max_retries: 1, rpm: 5, tpm: 9, price: {input: 1, output: 2}");
        assert_eq!(key(&c, "x", &p, 0), base);
        let c: ProviderConfig = serde_yaml::from_str(
            "{kind: openai, model: m, base_url: 'http://127.0.0.1:1/v1', api_key_env: OTHER}",
        )
        .unwrap();
        assert_eq!(key(&c, "x", &p, 0), base);
        let c: ProviderConfig =
            serde_yaml::from_str("{kind: openai, model: m2, base_url: 'http://127.0.0.1:1/v1'}")
                .unwrap();
        assert_ne!(key(&c, "x", &p, 0), base);
        let c: ProviderConfig =
            serde_yaml::from_str("{kind: openai, model: m, base_url: 'http://127.0.0.1:2/v1'}")
                .unwrap();
        assert_ne!(key(&c, "x", &p, 0), base);
        assert_ne!(key(&with(", params: {seed: 1}"), "x", &p, 0), base);
        let id = provider_identity(&config()).to_string();
        assert!(!id.contains("SECRET_VAR"), "{id}");
    }

    fn weather_tools(description: &str) -> ToolSet {
        serde_json::from_value(serde_json::json!({"tools": [{
            "name": "get_weather",
            "description": description,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }], "choice": "auto"}))
        .unwrap()
    }

    /// A request without tools keeps the key it had before tools existed (issue 15), so
    /// existing caches still hit.
    #[test]
    fn a_request_without_tools_keeps_its_key_bytes() {
        let identity = provider_identity(&config());
        let identity_json = serde_json::to_string(&identity).unwrap();
        let prompt = RenderedPrompt::Text("hi".into());
        let p = params(&[("temperature", 0.into())]);
        let key = |tools: Option<&ToolSet>| {
            request_key(&identity_json, &prompt, &p, None, tools, 0).hex()
        };
        // The bytes hashed before tools existed, written out.
        let before = format!(
            "{{\"params\":{{\"temperature\":0}},\"prompt\":{},\"provider\":{identity_json},\"repeat\":0,\"v\":{CACHE_ENTRY_VERSION}}}",
            serde_json::to_string(&prompt).unwrap()
        );
        assert_eq!(key(None), hex::encode(Sha256::digest(before.as_bytes())));
        assert_eq!(key(Some(&ToolSet::default())), key(None));
        let a = weather_tools("Weather in a city.");
        let b = weather_tools("The weather now.");
        assert_ne!(key(Some(&a)), key(None));
        assert_ne!(
            key(Some(&a)),
            key(Some(&b)),
            "a changed description is a new request"
        );
    }

    #[test]
    fn chat_and_text_prompts_differ() {
        let id = provider_identity(&config());
        let text = key_of(&key_material(
            &id,
            &RenderedPrompt::Text("hi".into()),
            &Params::new(),
            None,
            None,
            0,
        ));
        let chat = key_of(&key_material(
            &id,
            &RenderedPrompt::Chat(vec![Message::new(Role::User, "hi")]),
            &Params::new(),
            None,
            None,
            0,
        ));
        assert_ne!(text, chat);
    }
}
