//! How provider settings are written: one mapping, `kind` first, then every setting that
//! is set, in the order `run.json` has always had them.

use serde::ser::{Error as _, SerializeMap};
use serde::{Serialize, Serializer};

use super::config::ProviderConfig;

/// The order of the settings in a written provider (the order of the single settings
/// struct that held every kind's settings before kinds had their own). Settings of kinds
/// added later follow, in their declaration order.
pub const FIELD_ORDER: &[&str] = &[
    "model",
    "base_url",
    "api_key_env",
    "concurrency",
    "timeout",
    "max_retries",
    "params",
    "price",
    "model_path",
    "binary",
    "mode",
    "ctx_size",
    "parallel",
    "threads",
    "startup_timeout",
    "rpm",
    "tpm",
    "url",
    "method",
    "headers",
    "body",
    "output",
    "tokens_in",
    "tokens_out",
    "command",
    "embeddings",
    "pooling",
    "tool_calls",
    "response",
    "chat_template_file",
];

impl Serialize for ProviderConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = match self.kind.as_dyn() {
            Some(kind) => kind.to_json().map_err(S::Error::custom)?,
            None => serde_json::Map::new(),
        };
        match serde_json::to_value(&self.common).map_err(S::Error::custom)? {
            serde_json::Value::Object(common) => fields.extend(common),
            other => return Err(S::Error::custom(format!("settings written as {other}"))),
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kind", self.kind.name())?;
        for key in FIELD_ORDER {
            if let Some(value) = fields.get(*key) {
                map.serialize_entry(key, value)?;
            }
        }
        for (key, value) in &fields {
            if !FIELD_ORDER.contains(&key.as_str()) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}
