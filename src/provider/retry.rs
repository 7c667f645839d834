//! The retry policy: exponential backoff with full jitter, and `Retry-After` parsing.

use std::time::{Duration, SystemTime};

/// The first backoff ceiling; it doubles on each retry.
pub const RETRY_BASE_DEFAULT: Duration = Duration::from_millis(500);
/// The largest backoff ceiling.
pub const RETRY_CAP: Duration = Duration::from_secs(30);
/// The longest `Retry-After` a provider waits; a server asking for more fails the request
/// with a message saying so, rather than hanging the run.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Environment variable replacing [`RETRY_BASE_DEFAULT`] (whole milliseconds), read when a
/// provider is built. Tests set it to a few milliseconds so retries do not slow them down.
pub const RETRY_BASE_ENV: &str = "PROMPTEVAL_RETRY_BASE_MS";

/// When and how often a request is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The backoff ceiling before the first retry.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: super::DEFAULT_MAX_RETRIES,
            base: RETRY_BASE_DEFAULT,
            cap: RETRY_CAP,
        }
    }
}

impl RetryPolicy {
    /// The backoff ceiling after failed attempt `attempt` (from 1): `base × 2^(attempt-1)`,
    /// at most `cap`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// How long to wait after failed attempt `attempt` (from 1): a uniformly random
    /// duration between zero and [`RetryPolicy::ceiling`] ("full jitter"), so clients that
    /// failed together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=ceiling))
    }
}

/// Parses a `Retry-After` header value: delay seconds (`"2"`) or an HTTP date, relative to
/// `now`. A date in the past means "now"; anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses the non-standard `retry-after-ms` header OpenAI sends beside `Retry-After`.
pub(crate) fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let ms: f64 = value.trim().parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
}

/// Reads [`RETRY_BASE_ENV`]: `Ok(None)` when unset.
pub(crate) fn base_from_env() -> Result<Option<Duration>, String> {
    parse_base(std::env::var(RETRY_BASE_ENV))
}

fn parse_base(value: Result<String, std::env::VarError>) -> Result<Option<Duration>, String> {
    let invalid = |shown: &str| {
        format!("{RETRY_BASE_ENV} must be a whole number of milliseconds, not `{shown}`")
    };
    match value {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(ms) => Ok(Some(Duration::from_millis(ms))),
            Err(_) => Err(invalid(&text)),
        },
        Err(std::env::VarError::NotUnicode(raw)) => Err(invalid(&raw.to_string_lossy())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_garbage() {
        let now = SystemTime::now();
        for value in ["", "soon", "-1", "1.5", "Wed, 99 Oct 2015 07:28:00 GMT"] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }

    #[test]
    fn retry_after_ms() {
        assert_eq!(
            parse_retry_after_ms("250"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_retry_after_ms("1.5"),
            Some(Duration::from_micros(1500))
        );
        assert_eq!(parse_retry_after_ms("-3"), None);
        assert_eq!(parse_retry_after_ms("x"), None);
    }

    #[test]
    fn retry_base_from_environment() {
        use std::env::VarError;
        assert_eq!(parse_base(Err(VarError::NotPresent)), Ok(None));
        assert_eq!(
            parse_base(Ok(" 10 ".into())),
            Ok(Some(Duration::from_millis(10)))
        );
        assert_eq!(
            parse_base(Ok("fast".into())),
            Err(
                "PROMPTEVAL_RETRY_BASE_MS must be a whole number of milliseconds, not `fast`"
                    .into()
            )
        );
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(1), Duration::from_millis(500));
        assert_eq!(policy.ceiling(2), Duration::from_secs(1));
        assert_eq!(policy.ceiling(3), Duration::from_secs(2));
        assert_eq!(policy.ceiling(7), Duration::from_secs(30));
        assert_eq!(policy.ceiling(40), Duration::from_secs(30));
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn backoff_stays_within_bounds_and_varies() {
        let policy = RetryPolicy::default();
        for attempt in 1..10 {
            let waits: Vec<_> = (0..200).map(|_| policy.backoff(attempt)).collect();
            assert!(waits.iter().all(|w| *w <= policy.ceiling(attempt)));
            let distinct: std::collections::HashSet<_> = waits.iter().collect();
            assert!(distinct.len() > 100, "jitter should spread the waits");
        }
    }
}
