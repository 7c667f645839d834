//! The retry policy (exponential backoff with full jitter, `Retry-After` parsing) and the
//! one retry loop every remote provider runs its attempts through.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use super::limiter::Limiter;
use crate::provider::{ProviderError, ProviderResponse, RetryNotice};

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
            max_retries: crate::provider::DEFAULT_MAX_RETRIES,
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

/// How a failed attempt is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// The server refused for load (429, 529, an overload error): retry, and tell the
    /// limiter so it can slow down.
    Overloaded,
    /// Worth retrying, says nothing about load (500/502/503/504, timeouts, connection
    /// errors, a 200 body that is cut short or not JSON).
    Transient,
    /// Retrying would get the same answer (other 4xx, a 200 body of JSON of the wrong shape).
    Fatal,
}

impl FailureClass {
    /// The class of a non-success HTTP status: 429 and 529 are overload, 500, 502, 503 and
    /// 504 transient, the rest fatal.
    pub fn of_status(status: u16) -> FailureClass {
        match status {
            429 | 529 => FailureClass::Overloaded,
            500 | 502 | 503 | 504 => FailureClass::Transient,
            _ => FailureClass::Fatal,
        }
    }
}

/// A failed attempt.
#[derive(Clone, Debug)]
pub struct AttemptFailure {
    /// One line saying what happened (`HTTP 429 Too Many Requests: slow down`).
    pub message: String,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// Whether and how to retry.
    pub class: FailureClass,
    /// The wait the server asked for.
    pub retry_after: Option<Duration>,
}

impl AttemptFailure {
    /// A failure not worth retrying.
    pub fn fatal(message: impl Into<String>, status: Option<u16>) -> Self {
        AttemptFailure {
            message: message.into(),
            status,
            class: FailureClass::Fatal,
            retry_after: None,
        }
    }
}

/// A successful attempt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    /// The generated text.
    pub output: String,
    /// Prompt tokens, when reported.
    pub tokens_in: Option<u64>,
    /// Completion tokens, when reported.
    pub tokens_out: Option<u64>,
    /// The part of `tokens_in` that went through the vendor's prompt cache.
    pub cache: crate::provider::CacheTokens,
    /// The tool calls in the answer, in order.
    pub tool_calls: Vec<crate::tools::ToolCall>,
    /// Why the model stopped, as the API said.
    pub finish_reason: Option<String>,
}

/// Runs `attempt` until it succeeds, fails for good, or the retries are spent, holding a
/// slot of `limiter` throughout; each attempt also waits for the limiter's rate limits, and
/// its outcome adapts the limiter's window (see [`Limiter`]).
///
/// Waits between attempts follow `policy`, or the server's `Retry-After` up to
/// [`MAX_RETRY_AFTER`] (a longer request fails at once, saying so). Each wait is reported
/// on `notices`. The final error says how many attempts were made.
pub async fn run_with_retries<F, Fut>(
    limiter: &Limiter,
    policy: &RetryPolicy,
    notices: Option<&UnboundedSender<RetryNotice>>,
    attempt: F,
) -> Result<ProviderResponse, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Completion, AttemptFailure>>,
{
    run_with_retries_estimated(limiter, policy, notices, 1, attempt).await
}

/// [`run_with_retries`] for a request expected to use `estimated_tokens` tokens, which the
/// limiter's `tpm` budget is charged before each attempt (and corrected after it).
pub async fn run_with_retries_estimated<F, Fut>(
    limiter: &Limiter,
    policy: &RetryPolicy,
    notices: Option<&UnboundedSender<RetryNotice>>,
    estimated_tokens: u64,
    attempt: F,
) -> Result<ProviderResponse, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Completion, AttemptFailure>>,
{
    let used = |done: &Completion| match (done.tokens_in, done.tokens_out) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    let timed =
        retry_attempts_timed(limiter, policy, notices, estimated_tokens, used, attempt).await?;
    Ok(ProviderResponse {
        output: timed.answer.output,
        tokens_in: timed.answer.tokens_in,
        tokens_out: timed.answer.tokens_out,
        latency_ms: timed.latency.as_secs_f64() * 1000.0,
        queue_ms: Some(timed.queue.as_secs_f64() * 1000.0),
        cache: timed.answer.cache,
        attempts: timed.attempts,
        cached: false,
        tool_calls: timed.answer.tool_calls,
        finish_reason: timed.answer.finish_reason,
    })
}

/// An answer of [`retry_attempts_timed`] and how long it took.
#[derive(Debug)]
pub struct Timed<T> {
    /// The answer.
    pub answer: T,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// Time from the call until the limiter admitted the first attempt (a slot, then the
    /// rate limits): time spent queued, not talking to the server.
    pub queue: Duration,
    /// The successful attempt alone: from sending the request to the end of the answer.
    pub latency: Duration,
}

/// [`retry_attempts`], also timing the wait for the limiter and the successful attempt.
pub async fn retry_attempts_timed<T, F, Fut>(
    limiter: &Limiter,
    policy: &RetryPolicy,
    notices: Option<&UnboundedSender<RetryNotice>>,
    estimated_tokens: u64,
    tokens_used: impl Fn(&T) -> Option<u64>,
    mut attempt: F,
) -> Result<Timed<T>, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AttemptFailure>>,
{
    let called = Instant::now();
    let mut queue = None;
    let mut sent = called;
    let timed_attempt = || {
        let started = Instant::now();
        queue.get_or_insert(started - called);
        sent = started;
        attempt()
    };
    let (answer, attempts) = retry_attempts(
        limiter,
        policy,
        notices,
        estimated_tokens,
        tokens_used,
        timed_attempt,
    )
    .await?;
    Ok(Timed {
        answer,
        attempts,
        queue: queue.unwrap_or_default(),
        latency: sent.elapsed(),
    })
}

/// The retry loop for any kind of answer `T` (a completion, embedding vectors): holds a
/// slot of `limiter` throughout, charges `estimated_tokens` to its budget before each
/// attempt and corrects it with `tokens_used` of the answer. Returns the answer and the
/// number of attempts it took.
pub async fn retry_attempts<T, F, Fut>(
    limiter: &Limiter,
    policy: &RetryPolicy,
    notices: Option<&UnboundedSender<RetryNotice>>,
    estimated_tokens: u64,
    tokens_used: impl Fn(&T) -> Option<u64>,
    mut attempt: F,
) -> Result<(T, u32), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AttemptFailure>>,
{
    let _permit = limiter.acquire().await?;
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let ticket = limiter.start_attempt(estimated_tokens).await;
        let failure = match attempt().await {
            Ok(done) => {
                limiter.on_success(ticket, tokens_used(&done));
                return Ok((done, attempts));
            }
            Err(failure) => failure,
        };
        let window = match failure.class {
            FailureClass::Overloaded => Some(limiter.on_overload_since(ticket)),
            FailureClass::Transient => {
                limiter.on_transient();
                None
            }
            FailureClass::Fatal => None,
        };
        if failure.class == FailureClass::Fatal || attempts > policy.max_retries {
            return Err(give_up(failure.message, failure.status, attempts));
        }
        let wait = match failure.retry_after {
            Some(wait) if wait > MAX_RETRY_AFTER => {
                let message = format!(
                    "{}: server asked to wait {} before retrying, more than the {} limit",
                    failure.message,
                    humantime::format_duration(Duration::from_secs(wait.as_secs())),
                    humantime::format_duration(MAX_RETRY_AFTER),
                );
                return Err(give_up(message, failure.status, attempts));
            }
            Some(wait) => wait,
            None => policy.backoff(attempts),
        };
        if let Some(tx) = notices {
            // Nobody listening is fine.
            let _ = tx.send(RetryNotice {
                attempt: attempts,
                reason: failure.message.clone(),
                wait,
                window,
            });
        }
        tokio::time::sleep(wait).await;
    }
}

/// The error a request ends with: the last failure and the number of attempts.
fn give_up(message: String, status: Option<u16>, attempts: u32) -> ProviderError {
    let plural = if attempts == 1 { "" } else { "s" };
    ProviderError {
        message: format!("{message} (after {attempts} attempt{plural})"),
        status,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
        }
    }

    fn failure(class: FailureClass) -> AttemptFailure {
        AttemptFailure {
            message: "HTTP 503 Service Unavailable".into(),
            status: Some(503),
            class,
            retry_after: None,
        }
    }

    #[tokio::test]
    async fn retries_transient_failures_then_succeeds() {
        let limiter = Limiter::new(1);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut calls = 0;
        let response = run_with_retries(&limiter, &quick(3), Some(&tx), || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(failure(FailureClass::Transient))
                } else {
                    Ok(Completion {
                        output: "ok".into(),
                        ..Default::default()
                    })
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(response.output, "ok");
        assert_eq!(response.attempts, 3);
        assert_eq!(rx.recv().await.unwrap().attempt, 1);
        assert_eq!(rx.recv().await.unwrap().attempt, 2);
    }

    #[tokio::test]
    async fn fatal_failures_are_not_retried() {
        let limiter = Limiter::new(1);
        let mut calls = 0;
        let err = run_with_retries(&limiter, &quick(5), None, || {
            calls += 1;
            async { Err(AttemptFailure::fatal("HTTP 400 Bad Request", Some(400))) }
        })
        .await
        .unwrap_err();
        assert_eq!(calls, 1);
        assert_eq!(err.message, "HTTP 400 Bad Request (after 1 attempt)");
        assert_eq!(err.status, Some(400));
    }

    #[tokio::test]
    async fn gives_up_after_max_retries() {
        let limiter = Limiter::new(1);
        let mut calls = 0;
        let err = run_with_retries(&limiter, &quick(2), None, || {
            calls += 1;
            async { Err(failure(FailureClass::Overloaded)) }
        })
        .await
        .unwrap_err();
        assert_eq!(calls, 3);
        assert_eq!(err.attempts, 3);
        assert!(
            err.message.ends_with("(after 3 attempts)"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn too_long_retry_after_fails_at_once() {
        let limiter = Limiter::new(1);
        let err = run_with_retries(&limiter, &quick(5), None, || async {
            Err(AttemptFailure {
                retry_after: Some(MAX_RETRY_AFTER * 2),
                ..failure(FailureClass::Overloaded)
            })
        })
        .await
        .unwrap_err();
        assert_eq!(err.attempts, 1);
        assert!(
            err.message.contains("server asked to wait 2m"),
            "{}",
            err.message
        );
    }

    #[test]
    fn status_classes() {
        assert_eq!(FailureClass::of_status(429), FailureClass::Overloaded);
        assert_eq!(FailureClass::of_status(529), FailureClass::Overloaded);
        for s in [500, 502, 503, 504] {
            assert_eq!(FailureClass::of_status(s), FailureClass::Transient);
        }
        for s in [400, 401, 404, 422] {
            assert_eq!(FailureClass::of_status(s), FailureClass::Fatal);
        }
    }

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
