//! The entry file format: one JSON document per response, with the format version, the
//! key, when it was stored, the key material (what was asked) and the response.

use std::path::Path;

use crate::provider::CacheTokens;
use serde::{Deserialize, Serialize};

/// The version of the entry format; entries of another version are misses.
pub const CACHE_ENTRY_VERSION: u32 = 1;

/// A cached response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedResponse {
    /// The generated text.
    pub output: String,
    /// Prompt tokens, when reported.
    pub tokens_in: Option<u64>,
    /// Completion tokens, when reported.
    pub tokens_out: Option<u64>,
    /// The original request's wall time in milliseconds.
    pub latency_ms: f64,
    /// The part of `tokens_in` the vendor's prompt cache served or stored (absent in
    /// older entries and when none).
    #[serde(default, skip_serializing_if = "CacheTokens::is_zero")]
    pub cache: CacheTokens,
    /// The answer's tool calls (absent when none, so text entries keep their bytes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<crate::tools::ToolCall>,
    /// Why the model stopped, when the API said (absent in older entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// One entry file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Entry {
    pub(super) version: u32,
    pub(super) key: String,
    /// RFC 3339, UTC, to the second.
    pub(super) created_at: String,
    /// The provider's name when it was stored (for people reading the file).
    pub(super) provider: String,
    /// The key material: what was asked.
    pub(super) request: serde_json::Value,
    pub(super) response: CachedResponse,
}

/// The part of an entry that a lookup reads: serde skips the rest (`request`, `provider`)
/// without building it, which halved the parse time of a fully cached run.
#[derive(Deserialize)]
pub(super) struct Answer<'a> {
    pub(super) version: u32,
    #[serde(borrow)]
    pub(super) key: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub(super) created_at: std::borrow::Cow<'a, str>,
    pub(super) response: CachedResponse,
}

/// The entry in file `path`, when it is readable and of this version.
pub(super) fn read_entry(path: &Path) -> Option<Entry> {
    let bytes = std::fs::read(path).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    (entry.version == CACHE_ENTRY_VERSION).then_some(entry)
}
