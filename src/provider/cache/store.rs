//! The response cache on disk: content-addressed entries (one JSON file per response,
//! sharded by the first two hex digits of its key), the cache key, TTL, stats and clearing.
//!
//! The key is the SHA-256 of a canonical JSON document (object keys sorted, no whitespace)
//! holding the provider's identity (kind, model, base URL and every other setting that can
//! change an answer — never an API key, nor the name of its variable), the rendered prompt,
//! every request parameter and the repeat index. See [`key_material`].
//!
//! Entries are written atomically (a temporary file in the same directory, then a rename),
//! so a reader never sees half an entry and concurrent writers of the same key are harmless.
//! [`crate::provider::CachedProvider`] puts this cache in front of a provider.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::provider::ProviderConfig;
use crate::registry::Params;
use crate::template::message::RenderedPrompt;

/// The version of the entry format; entries of another version are misses.
pub const CACHE_ENTRY_VERSION: u32 = 1;
/// The TTL used when `cache.ttl` is not set: two weeks.
pub const DEFAULT_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
/// The cache directory under the store when `cache.dir` is not set.
pub const CACHE_SUBDIR: &str = "cache";

/// Provider settings that cannot change an answer, left out of the key: secrets and their
/// variables, limits, timeouts, prices, and the process settings of a local server.
const NOT_IN_KEY: &[&str] = &[
    "api_key_env",
    "concurrency",
    "timeout",
    "max_retries",
    "price",
    "rpm",
    "tpm",
    "binary",
    "parallel",
    "threads",
    "startup_timeout",
    "ctx_size",
];

/// The `cache:` section of `prompteval.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheConfig {
    /// `false` turns the cache off (like `--no-cache`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// How long an entry is served: `7d`, `12h`, or `never` for no expiry. Default `14d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// Where entries live, relative to the project root. Default `.prompteval/cache`.
    /// Point it into the repository (`prompteval-cache/`) to commit a cache for CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Cache every request, not only deterministic ones (temperature 0 or a seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub always: Option<bool>,
}

/// How a run uses the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// Look up deterministic requests, store successful responses.
    #[default]
    On,
    /// Neither look up nor store (`--no-cache`).
    Off,
    /// Serve everything from the cache; a miss fails the cell without calling the model
    /// (`--offline`). The TTL does not apply: an old answer beats none.
    Offline,
}

/// The cache settings of a run, resolved from flags and `prompteval.yaml`.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheSettings {
    /// The cache directory.
    pub dir: PathBuf,
    /// How long entries are served; `None` = forever.
    pub ttl: Option<Duration>,
    /// On, off or offline.
    pub mode: CacheMode,
    /// Cache sampled requests too.
    pub always: bool,
}

/// A `cache:` setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A TTL that is not a duration.
    #[error("invalid cache ttl `{value}`: {message}")]
    BadTtl {
        /// As written.
        value: String,
        /// Why.
        message: String,
    },
    /// Reading or writing the cache failed.
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl CacheError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            CacheError::BadTtl { .. } => {
                Some("write a duration such as `7d`, `12h` or `30m`, or `never`".into())
            }
            CacheError::Io { .. } => None,
        }
    }
}

/// Parses a TTL: a humantime duration (`7d`, `12h`) or `never`.
pub fn parse_ttl(text: &str) -> Result<Option<Duration>, CacheError> {
    let text = text.trim();
    if matches!(text, "never" | "forever" | "none") {
        return Ok(None);
    }
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err(CacheError::BadTtl {
            value: text.into(),
            message: "a ttl of zero would never serve an entry; use --no-cache instead".into(),
        }),
        Ok(d) => Ok(Some(d)),
        Err(e) => Err(CacheError::BadTtl {
            value: text.into(),
            message: e.to_string(),
        }),
    }
}

impl CacheSettings {
    /// Resolves the settings: flags (`ttl`, `mode`) win over the config file.
    pub fn resolve(
        root: &Path,
        store_dir: &Path,
        config: &CacheConfig,
        mode: Option<CacheMode>,
        ttl: Option<&str>,
    ) -> Result<CacheSettings, CacheError> {
        let ttl = match ttl.or(config.ttl.as_deref()) {
            Some(text) => parse_ttl(text)?,
            None => Some(DEFAULT_TTL),
        };
        let mode = mode.unwrap_or(if config.enabled == Some(false) {
            CacheMode::Off
        } else {
            CacheMode::On
        });
        let dir = match &config.dir {
            Some(dir) => root.join(dir),
            None => store_dir.join(CACHE_SUBDIR),
        };
        Ok(CacheSettings {
            dir,
            ttl,
            mode,
            always: config.always.unwrap_or(false),
        })
    }
}

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
/// minus [`NOT_IN_KEY`], canonical. Unknown future settings are included, so a setting
/// that changes answers can never be forgotten.
pub fn provider_identity(config: &ProviderConfig) -> serde_json::Value {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut value {
        for key in NOT_IN_KEY {
            map.remove(*key);
        }
    }
    canonical(value)
}

/// The document whose hash is the key. `identity` comes from [`provider_identity`];
/// `vars` are the row's variables, given for the kinds whose request reads them beyond the
/// rendered prompt (`http` body templates, `exec` stdin).
pub fn key_material(
    identity: &serde_json::Value,
    prompt: &RenderedPrompt,
    params: &Params,
    vars: Option<&serde_json::Map<String, serde_json::Value>>,
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
    repeat: u32,
) -> CacheKey {
    let prompt = serde_json::to_value(prompt).unwrap_or(serde_json::Value::Null);
    let mut hasher = HashWriter(Sha256::new());
    // The keys of the material, sorted: params, prompt, provider, repeat, v, vars.
    let mut write = || -> serde_json::Result<()> {
        hasher.put(b"{\"params\":");
        serde_json::to_writer(&mut hasher, &Canonical::Map(params))?;
        hasher.put(b",\"prompt\":");
        serde_json::to_writer(&mut hasher, &Canonical::Value(&prompt))?;
        hasher.put(b",\"provider\":");
        hasher.put(identity_json.as_bytes());
        hasher.put(format!(",\"repeat\":{repeat},\"v\":{CACHE_ENTRY_VERSION}").as_bytes());
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
}

/// One entry file.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    version: u32,
    key: String,
    /// RFC 3339, UTC, to the second.
    created_at: String,
    /// The provider's name when it was stored (for people reading the file).
    provider: String,
    /// The key material: what was asked.
    request: serde_json::Value,
    response: CachedResponse,
}

/// The part of an entry that a lookup reads: serde skips the rest (`request`, `provider`)
/// without building it, which halved the parse time of a fully cached run.
#[derive(Deserialize)]
struct Answer<'a> {
    version: u32,
    #[serde(borrow)]
    key: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    created_at: std::borrow::Cow<'a, str>,
    response: CachedResponse,
}

/// What a lookup found.
#[derive(Debug, PartialEq)]
pub enum Lookup {
    /// A fresh entry.
    Hit(CachedResponse),
    /// An entry older than the TTL (served only offline).
    Expired(CachedResponse),
    /// No usable entry.
    Miss,
}

/// The cache directory.
#[derive(Clone, Debug)]
pub struct ResponseCache {
    dir: PathBuf,
    ttl: Option<Duration>,
}

/// What `prompteval cache stats` shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CacheStats {
    /// Entry files.
    pub entries: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Entries older than the TTL.
    pub expired: u64,
    /// Files that are not readable entries of this version.
    pub unreadable: u64,
    /// Creation time of the oldest entry (RFC 3339).
    pub oldest: Option<String>,
    /// Creation time of the newest entry (RFC 3339).
    pub newest: Option<String>,
}

impl ResponseCache {
    /// The cache in `dir`; entries older than `ttl` are expired.
    pub fn new(dir: impl Into<PathBuf>, ttl: Option<Duration>) -> ResponseCache {
        ResponseCache {
            dir: dir.into(),
            ttl,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `key`: `<dir>/<2 hex>/<62 hex>.json`.
    pub fn path_of(&self, key: &CacheKey) -> PathBuf {
        let hex = key.hex();
        self.dir.join(&hex[..2]).join(format!("{}.json", &hex[2..]))
    }

    /// Looks `key` up. Unreadable or foreign entries are misses (and are replaced by the
    /// next store).
    pub fn get(&self, key: &CacheKey, now: SystemTime) -> Lookup {
        let Ok(bytes) = std::fs::read(self.path_of(key)) else {
            return Lookup::Miss;
        };
        let Ok(entry) = serde_json::from_slice::<Answer<'_>>(&bytes) else {
            return Lookup::Miss;
        };
        if entry.version != CACHE_ENTRY_VERSION || entry.key != key.hex() {
            return Lookup::Miss;
        }
        if self.is_expired(&entry.created_at, now) {
            Lookup::Expired(entry.response)
        } else {
            Lookup::Hit(entry.response)
        }
    }

    fn is_expired(&self, created_at: &str, now: SystemTime) -> bool {
        let Some(ttl) = self.ttl else { return false };
        match humantime::parse_rfc3339(created_at) {
            Ok(created) => now.duration_since(created).unwrap_or_default() > ttl,
            Err(_) => true,
        }
    }

    /// Stores a response atomically.
    pub fn put(
        &self,
        key: &CacheKey,
        material: &serde_json::Value,
        provider: &str,
        response: &CachedResponse,
        now: SystemTime,
    ) -> Result<(), CacheError> {
        let path = self.path_of(key);
        let shard = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(shard).map_err(|source| CacheError::Io {
            action: "create",
            path: shard.to_path_buf(),
            source,
        })?;
        let entry = Entry {
            version: CACHE_ENTRY_VERSION,
            key: key.hex(),
            created_at: humantime::format_rfc3339_seconds(now).to_string(),
            provider: provider.to_string(),
            request: material.clone(),
            response: response.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&entry).unwrap_or_default();
        bytes.push(b'\n');
        let tmp = shard.join(format!(
            ".tmp-{}-{}-{:08x}",
            &key.hex()[..16],
            std::process::id(),
            fastrand::u32(..)
        ));
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| CacheError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::write(&tmp, &bytes).map_err(io("write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io("write", &path)(e)
        })
    }

    /// Every entry file (and stray temporary file) under the directory.
    fn files(&self) -> Result<Vec<PathBuf>, CacheError> {
        let mut out = Vec::new();
        let read = |dir: &Path| {
            std::fs::read_dir(dir).map_err(|source| CacheError::Io {
                action: "read",
                path: dir.to_path_buf(),
                source,
            })
        };
        if !self.dir.is_dir() {
            return Ok(out);
        }
        for shard in read(&self.dir)?.filter_map(Result::ok) {
            let name = shard.file_name();
            let name = name.to_string_lossy();
            if name.len() != 2 || !name.chars().all(|c| c.is_ascii_hexdigit()) {
                continue;
            }
            for file in read(&shard.path())?.filter_map(Result::ok) {
                out.push(file.path());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Counts entries, their size, and how many are expired at `now`.
    pub fn stats(&self, now: SystemTime) -> Result<CacheStats, CacheError> {
        let mut stats = CacheStats::default();
        for path in self.files()? {
            stats.entries += 1;
            stats.bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            match read_entry(&path) {
                Some(entry) => {
                    if self.is_expired(&entry.created_at, now) {
                        stats.expired += 1;
                    }
                    if stats.oldest.as_ref().is_none_or(|o| entry.created_at < *o) {
                        stats.oldest = Some(entry.created_at.clone());
                    }
                    if stats.newest.as_ref().is_none_or(|n| entry.created_at > *n) {
                        stats.newest = Some(entry.created_at);
                    }
                }
                None => stats.unreadable += 1,
            }
        }
        Ok(stats)
    }

    /// Removes entries: all of them, or those created more than `older_than` before `now`,
    /// or the expired ones. Unreadable files always go. Returns how many were removed.
    pub fn clear(&self, which: ClearFilter, now: SystemTime) -> Result<u64, CacheError> {
        let mut removed = 0;
        for path in self.files()? {
            let remove = match (which, read_entry(&path)) {
                (ClearFilter::All, _) | (_, None) => true,
                (ClearFilter::Expired, Some(e)) => self.is_expired(&e.created_at, now),
                (ClearFilter::OlderThan(age), Some(e)) => {
                    ResponseCache::new(&self.dir, Some(age)).is_expired(&e.created_at, now)
                }
            };
            if remove {
                std::fs::remove_file(&path).map_err(|source| CacheError::Io {
                    action: "remove",
                    path: path.clone(),
                    source,
                })?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Which entries `clear` removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClearFilter {
    /// Every entry.
    All,
    /// Entries past the TTL.
    Expired,
    /// Entries created longer ago than this.
    OlderThan(Duration),
}

fn read_entry(path: &Path) -> Option<Entry> {
    let bytes = std::fs::read(path).ok()?;
    let entry: Entry = serde_json::from_slice(&bytes).ok()?;
    (entry.version == CACHE_ENTRY_VERSION).then_some(entry)
}

/// Whether a request is deterministic enough to cache by default: temperature 0 or a seed,
/// in the request's params or else the provider's.
pub fn is_deterministic(request: &Params, provider: &Params) -> bool {
    let get = |key: &str| request.get(key).or_else(|| provider.get(key));
    let seeded = get("seed").is_some_and(|v| !v.is_null());
    let cold = get("temperature")
        .and_then(serde_json::Value::as_f64)
        .is_some_and(|t| t == 0.0);
    seeded || cold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::message::{Message, Role};

    fn config() -> ProviderConfig {
        ProviderConfig {
            kind: "openai".into(),
            model: Some("m".into()),
            base_url: Some("http://127.0.0.1:1/v1".into()),
            api_key_env: Some("SECRET_VAR".into()),
            ..ProviderConfig::default()
        }
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
            repeat,
        ))
    }

    #[test]
    fn request_key_equals_the_hash_of_the_material() {
        let config = config();
        let identity = provider_identity(&config);
        let identity_json = serde_json::to_string(&identity).unwrap();
        let chat = RenderedPrompt::Chat(vec![
            Message {
                role: Role::System,
                content: "be brief".into(),
            },
            Message {
                role: Role::User,
                content: "2+2 \"quoted\" é\n".into(),
            },
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
        for prompt in [&chat, &text] {
            for p in [&Params::new(), &nested] {
                for v in [None, Some(&vars)] {
                    for repeat in [0, 7] {
                        let material = key_material(&identity, prompt, p, v, repeat);
                        assert_eq!(
                            request_key(&identity_json, prompt, p, v, repeat),
                            key_of(&material),
                            "{material}"
                        );
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
        let k = |vars| key_of(&key_material(&id, &prompt, &Params::new(), vars, 0));
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
        let mut c = config();
        c.concurrency = Some(9);
        c.timeout = Some("5s".into());
        c.api_key_env = Some("OTHER".into());
        assert_eq!(key(&c, "x", &p, 0), base);
        c.model = Some("m2".into());
        assert_ne!(key(&c, "x", &p, 0), base);
        let mut c = config();
        c.base_url = Some("http://127.0.0.1:2/v1".into());
        assert_ne!(key(&c, "x", &p, 0), base);
        let id = provider_identity(&config()).to_string();
        assert!(!id.contains("SECRET_VAR"), "{id}");
    }

    #[test]
    fn chat_and_text_prompts_differ() {
        let id = provider_identity(&config());
        let text = key_of(&key_material(
            &id,
            &RenderedPrompt::Text("hi".into()),
            &Params::new(),
            None,
            0,
        ));
        let chat = key_of(&key_material(
            &id,
            &RenderedPrompt::Chat(vec![Message {
                role: Role::User,
                content: "hi".into(),
            }]),
            &Params::new(),
            None,
            0,
        ));
        assert_ne!(text, chat);
    }

    #[test]
    fn put_get_ttl_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResponseCache::new(dir.path(), Some(Duration::from_secs(60)));
        let material = serde_json::json!({"x": 1});
        let k = key_of(&material);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(cache.get(&k, t0), Lookup::Miss);
        let response = CachedResponse {
            output: "out".into(),
            tokens_in: Some(3),
            tokens_out: None,
            latency_ms: 12.5,
        };
        cache.put(&k, &material, "p", &response, t0).unwrap();
        assert!(cache
            .path_of(&k)
            .starts_with(dir.path().join(&k.hex()[..2])));
        assert_eq!(cache.get(&k, t0), Lookup::Hit(response.clone()));
        let later = t0 + Duration::from_secs(61);
        assert_eq!(cache.get(&k, later), Lookup::Expired(response.clone()));
        let stats = cache.stats(later).unwrap();
        assert_eq!((stats.entries, stats.expired, stats.unreadable), (1, 1, 0));
        assert_eq!(
            cache
                .clear(ClearFilter::OlderThan(Duration::from_secs(120)), later)
                .unwrap(),
            0
        );
        assert_eq!(cache.clear(ClearFilter::Expired, later).unwrap(), 1);
        assert_eq!(cache.get(&k, t0), Lookup::Miss);
    }

    #[test]
    fn corrupt_entries_are_misses_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResponseCache::new(dir.path(), None);
        let k = key_of(&serde_json::json!(1));
        let path = cache.path_of(&k);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{\"version\": 1, \"key\":").unwrap();
        assert_eq!(cache.get(&k, SystemTime::now()), Lookup::Miss);
        assert_eq!(cache.stats(SystemTime::now()).unwrap().unreadable, 1);
        assert_eq!(
            cache
                .clear(ClearFilter::Expired, SystemTime::now())
                .unwrap(),
            1
        );
    }

    #[test]
    fn determinism_rule() {
        let none = Params::new();
        assert!(!is_deterministic(&none, &none));
        assert!(is_deterministic(
            &params(&[("temperature", 0.into())]),
            &none
        ));
        assert!(is_deterministic(
            &params(&[("temperature", 0.0.into())]),
            &none
        ));
        assert!(is_deterministic(&none, &params(&[("seed", 7.into())])));
        assert!(!is_deterministic(
            &params(&[("temperature", 0.7.into())]),
            &params(&[("temperature", 0.into())])
        ));
        assert!(!is_deterministic(
            &params(&[("seed", serde_json::Value::Null)]),
            &none
        ));
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("never").unwrap(), None);
        assert_eq!(
            parse_ttl("7d").unwrap(),
            Some(Duration::from_secs(7 * 86400))
        );
        assert!(parse_ttl("0s").is_err());
        let err = parse_ttl("soon").unwrap_err();
        assert!(err.to_string().starts_with("invalid cache ttl `soon`"));
        assert!(err.hint().is_some());
    }
}
