//! The response cache: content-addressed responses under `.prompteval/cache`, and the
//! provider wrapper that serves them.

mod entry;
mod key;
mod offline;
mod provider;
mod settings;
mod store;

pub use entry::{CachedResponse, CACHE_ENTRY_VERSION};
pub use key::{canonical, key_material, key_of, provider_identity, request_key, CacheKey};
pub use offline::{build_offline, UnavailableProvider};
pub use provider::{wrap_providers, CacheCounters, CachedProvider};
pub use settings::{
    is_deterministic, parse_ttl, CacheConfig, CacheError, CacheMode, CacheSettings, CACHE_SUBDIR,
    DEFAULT_TTL,
};
pub use store::{CacheStats, ClearFilter, Lookup, ResponseCache};
