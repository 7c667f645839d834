//! The response cache on disk: content-addressed entries (one JSON file per response,
//! sharded by the first two hex digits of its key), lookups with a TTL, stats and clearing.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::entry::{read_entry, Answer, CachedResponse, Entry, CACHE_ENTRY_VERSION};
use super::key::CacheKey;
use super::settings::CacheError;

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

    /// Stores a response atomically (a temporary file in the same directory, then a
    /// rename), so a reader never sees half an entry and concurrent writers of the same key
    /// are harmless.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::cache::key::key_of;

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
            cache: Default::default(),
            tool_calls: Vec::new(),
            finish_reason: None,
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
}
