//! The cache settings of a run: the `cache:` section of `prompteval.yaml`, the mode
//! (on, off, offline), the TTL, and which requests are cached by default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, ExitClass};
use crate::registry::Params;

/// The TTL used when `cache.ttl` is not set: two weeks.
pub const DEFAULT_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
/// The cache directory under the store when `cache.dir` is not set.
pub const CACHE_SUBDIR: &str = "cache";

/// The `cache:` section of `prompteval.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

impl Diagnostic for CacheError {
    /// A bad setting is input; a cache that cannot be read or written stops the command.
    fn exit_class(&self) -> ExitClass {
        match self {
            CacheError::BadTtl { .. } => ExitClass::Input,
            CacheError::Io { .. } => ExitClass::Runtime,
        }
    }

    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
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

    fn params(pairs: &[(&str, serde_json::Value)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
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
