//! The per-provider limiter every remote provider acquires before it sends: an adaptive
//! window of requests in flight (AIMD) and optional hard request and token rates (see
//! `docs/providers.md`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Notify;

use crate::provider::ProviderError;

/// A provider's limits on requests in flight and, optionally, on request and token rates.
#[derive(Debug, Clone)]
pub struct Limiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: usize,
    state: Mutex<State>,
    released: Notify,
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    window: usize,
    /// Successful attempts since the window last changed.
    successes: usize,
    /// Bumped whenever the window is cut; an attempt records it when it starts.
    generation: u64,
    rpm: Option<Bucket>,
    tpm: Option<Bucket>,
}

/// A token bucket refilled continuously; its level may go below zero (debt).
#[derive(Debug)]
struct Bucket {
    per_second: f64,
    capacity: f64,
    level: f64,
    at: Instant,
}

impl Bucket {
    fn per_minute(per_minute: u64, now: Instant) -> Bucket {
        let per_second = per_minute as f64 / 60.0;
        let capacity = per_second.max(1.0);
        Bucket {
            per_second,
            capacity,
            level: capacity,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + elapsed * self.per_second).min(self.capacity);
        self.at = now;
    }

    /// How long until the level reaches `needed`, after refilling.
    fn wait_for(&mut self, needed: f64, now: Instant) -> Duration {
        self.refill(now);
        let needed = needed.min(self.capacity);
        if self.level >= needed {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((needed - self.level) / self.per_second)
        }
    }
}

/// A slot held while a request is in flight, retries and backoff included; dropping it
/// frees the slot.
#[derive(Debug)]
pub struct Permit {
    inner: Arc<Inner>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        let free = state.in_flight < state.window;
        drop(state);
        if free {
            self.inner.released.notify_one();
        }
    }
}

/// What an attempt took when it started, returned to the limiter when it ends.
#[derive(Clone, Copy, Debug)]
pub struct AttemptTicket {
    generation: u64,
    estimated_tokens: u64,
}

/// The limiter's current state, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowState {
    /// Requests currently allowed in flight.
    pub window: usize,
    /// The configured limit the window grows back to.
    pub limit: usize,
}

/// Hard rate limits, per minute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests (attempts) per minute.
    pub rpm: Option<u64>,
    /// Tokens (prompt + completion) per minute.
    pub tpm: Option<u64>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain counters behind; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Limiter {
    /// A limiter allowing `limit` requests in flight (at least 1), without rate limits.
    pub fn new(limit: usize) -> Self {
        Self::with_rates(limit, RateLimits::default())
    }

    /// A limiter allowing `limit` requests in flight (at least 1) and at most `rates`.
    /// Zero rates are treated as absent (configuration rejects them earlier).
    pub fn with_rates(limit: usize, rates: RateLimits) -> Self {
        let limit = limit.max(1);
        let now = Instant::now();
        Limiter {
            inner: Arc::new(Inner {
                limit,
                state: Mutex::new(State {
                    in_flight: 0,
                    window: limit,
                    successes: 0,
                    generation: 0,
                    rpm: rates
                        .rpm
                        .filter(|r| *r > 0)
                        .map(|r| Bucket::per_minute(r, now)),
                    tpm: rates
                        .tpm
                        .filter(|r| *r > 0)
                        .map(|r| Bucket::per_minute(r, now)),
                }),
                released: Notify::new(),
            }),
        }
    }

    /// The configured limit.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// The current window and the limit.
    pub fn state(&self) -> WindowState {
        WindowState {
            window: self.inner.lock().window,
            limit: self.inner.limit,
        }
    }

    /// Requests in flight right now.
    pub fn in_flight(&self) -> usize {
        self.inner.lock().in_flight
    }

    /// Waits until fewer requests than the current window are in flight, and takes a slot.
    pub async fn acquire(&self) -> Result<Permit, ProviderError> {
        loop {
            // Register interest before checking, so a release between the check and the
            // wait is not missed.
            let notified = self.inner.released.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.inner.lock();
                if state.in_flight < state.window {
                    state.in_flight += 1;
                    let more = state.in_flight < state.window;
                    drop(state);
                    if more {
                        // Chain the wake-up: a grown window or several releases may have
                        // room for more than one waiter.
                        self.inner.released.notify_one();
                    }
                    return Ok(Permit {
                        inner: self.inner.clone(),
                    });
                }
            }
            notified.await;
        }
    }

    /// Waits for the rate limits to allow one more attempt expected to use
    /// `estimated_tokens` tokens, takes them, and returns the ticket to report the outcome
    /// with. Without rate limits it returns at once.
    pub async fn start_attempt(&self, estimated_tokens: u64) -> AttemptTicket {
        loop {
            let wait = {
                let mut state = self.inner.lock();
                let now = Instant::now();
                let rpm_wait = state
                    .rpm
                    .as_mut()
                    .map_or(Duration::ZERO, |b| b.wait_for(1.0, now));
                // Any positive level lets an attempt start; a large prompt takes the bucket
                // into debt rather than waiting forever for a level the capacity cannot hold.
                let tpm_wait = state
                    .tpm
                    .as_mut()
                    .map_or(Duration::ZERO, |b| b.wait_for(1.0, now));
                let wait = rpm_wait.max(tpm_wait);
                if wait.is_zero() {
                    if let Some(b) = state.rpm.as_mut() {
                        b.level -= 1.0;
                    }
                    if let Some(b) = state.tpm.as_mut() {
                        b.level -= estimated_tokens as f64;
                    }
                    return AttemptTicket {
                        generation: state.generation,
                        estimated_tokens,
                    };
                }
                wait
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// An attempt succeeded, using `tokens` tokens when the response said so.
    pub fn on_success(&self, ticket: AttemptTicket, tokens: Option<u64>) {
        let mut state = self.inner.lock();
        if let (Some(bucket), Some(tokens)) = (state.tpm.as_mut(), tokens) {
            bucket.level -= tokens as f64 - ticket.estimated_tokens as f64;
        }
        state.successes += 1;
        if state.successes >= state.window && state.window < self.inner.limit {
            state.window += 1;
            state.successes = 0;
            drop(state);
            self.inner.released.notify_one();
        }
    }

    /// An attempt started under `ticket` was refused for load (429, 529, an overload
    /// error): halves the window, unless it was already cut after the attempt started.
    /// Returns the window after the call.
    pub fn on_overload_since(&self, ticket: AttemptTicket) -> WindowState {
        let mut state = self.inner.lock();
        if ticket.generation == state.generation {
            cut(&mut state);
        }
        WindowState {
            window: state.window,
            limit: self.inner.limit,
        }
    }

    /// Halves the window (never below 1) unconditionally.
    pub fn on_overload(&self) {
        cut(&mut self.inner.lock());
    }

    /// An attempt failed in a way worth retrying that says nothing about load (5xx,
    /// timeouts, connection errors): the window stays.
    pub fn on_transient(&self) {}
}

fn cut(state: &mut State) {
    state.window = (state.window / 2).max(1);
    state.successes = 0;
    state.generation += 1;
}

/// A rough token count for text: one token per four bytes, at least one.
pub fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SHORT: Duration = Duration::from_millis(20);

    async fn blocked(limiter: &Limiter) -> bool {
        tokio::time::timeout(SHORT, limiter.acquire())
            .await
            .is_err()
    }

    #[tokio::test]
    async fn holds_at_most_limit_permits() {
        let limiter = Limiter::new(2);
        let a = limiter.acquire().await.unwrap();
        let _b = limiter.acquire().await.unwrap();
        assert!(blocked(&limiter).await, "a third permit was granted");
        drop(a);
        let third = tokio::time::timeout(Duration::from_millis(500), limiter.acquire());
        assert!(third.await.is_ok());
    }

    #[test]
    fn zero_is_raised_to_one() {
        assert_eq!(Limiter::new(0).limit(), 1);
    }

    async fn ticket(limiter: &Limiter) -> AttemptTicket {
        limiter.start_attempt(0).await
    }

    #[tokio::test]
    async fn overload_halves_down_to_one() {
        let limiter = Limiter::new(8);
        for expected in [4, 2, 1, 1] {
            let t = ticket(&limiter).await;
            assert_eq!(limiter.on_overload_since(t).window, expected);
        }
        assert_eq!(
            limiter.state(),
            WindowState {
                window: 1,
                limit: 8
            }
        );
    }

    #[tokio::test]
    async fn a_burst_of_refusals_cuts_once() {
        let limiter = Limiter::new(8);
        let tickets: Vec<_> = futures_join(&limiter, 8).await;
        for t in tickets {
            limiter.on_overload_since(t);
        }
        assert_eq!(limiter.state().window, 4);
        // An attempt started after the cut can cut again.
        let t = ticket(&limiter).await;
        assert_eq!(limiter.on_overload_since(t).window, 2);
    }

    async fn futures_join(limiter: &Limiter, n: usize) -> Vec<AttemptTicket> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(ticket(limiter).await);
        }
        out
    }

    #[tokio::test]
    async fn successes_grow_the_window_additively_up_to_the_limit() {
        let limiter = Limiter::new(4);
        limiter.on_overload();
        limiter.on_overload();
        assert_eq!(limiter.state().window, 1);
        // One success at window 1 → 2; two at 2 → 3; three at 3 → 4; then it stays.
        let mut windows = Vec::new();
        for _ in 0..12 {
            let t = ticket(&limiter).await;
            limiter.on_success(t, None);
            windows.push(limiter.state().window);
        }
        assert_eq!(windows, [2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4]);
    }

    #[tokio::test]
    async fn transient_failures_leave_the_window() {
        let limiter = Limiter::new(4);
        limiter.on_transient();
        assert_eq!(limiter.state().window, 4);
    }

    #[tokio::test]
    async fn acquire_respects_a_shrunk_window() {
        let limiter = Limiter::new(4);
        let held: Vec<_> = [(); 4]
            .iter()
            .map(|_| limiter.acquire())
            .collect::<Vec<_>>();
        let mut permits = Vec::new();
        for f in held {
            permits.push(f.await.unwrap());
        }
        limiter.on_overload(); // window 2, 4 in flight
        permits.pop();
        permits.pop();
        // 2 in flight, window 2: still full.
        assert!(blocked(&limiter).await);
        permits.pop();
        let p = tokio::time::timeout(Duration::from_millis(500), limiter.acquire())
            .await
            .expect("a slot under the window")
            .unwrap();
        assert_eq!(limiter.in_flight(), 2);
        drop(p);
        drop(permits);
        assert_eq!(limiter.in_flight(), 0);
    }

    #[tokio::test]
    async fn growing_the_window_wakes_a_waiter() {
        let limiter = Limiter::new(2);
        limiter.on_overload(); // window 1
        let _held = limiter.acquire().await.unwrap();
        let waiter = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire().await.map(|_| ()) })
        };
        tokio::time::sleep(SHORT).await;
        assert!(!waiter.is_finished());
        let t = ticket(&limiter).await;
        limiter.on_success(t, None); // window 2
        tokio::time::timeout(Duration::from_millis(500), waiter)
            .await
            .expect("waiter woken by the grown window")
            .unwrap()
            .unwrap();
    }

    /// Many tasks hammering the limiter while the window moves never exceed it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn never_exceeds_the_window_under_concurrency() {
        let limiter = Limiter::new(8);
        let peak = Arc::new(AtomicUsize::new(0));
        let violations = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..64 {
            let limiter = limiter.clone();
            let peak = peak.clone();
            let violations = violations.clone();
            tasks.push(tokio::spawn(async move {
                for j in 0..20 {
                    let _permit = limiter.acquire().await.unwrap();
                    let t = limiter.start_attempt(0).await;
                    let in_flight = limiter.in_flight();
                    peak.fetch_max(in_flight, Ordering::SeqCst);
                    if in_flight > limiter.limit() {
                        violations.fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::task::yield_now().await;
                    if (i + j) % 7 == 0 {
                        limiter.on_overload_since(t);
                    } else {
                        limiter.on_success(t, None);
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(violations.load(Ordering::SeqCst), 0);
        assert!(peak.load(Ordering::SeqCst) <= 8);
        assert_eq!(limiter.in_flight(), 0);
    }

    #[tokio::test]
    async fn window_holds_after_cut_with_exact_count() {
        // After a cut to 1, a single permit holder blocks everyone else.
        let limiter = Limiter::new(3);
        limiter.on_overload();
        limiter.on_overload();
        let _p = limiter.acquire().await.unwrap();
        assert!(blocked(&limiter).await);
    }

    #[tokio::test(start_paused = true)]
    async fn rpm_spaces_attempts() {
        // 120 per minute = 2 per second, bucket of 2.
        let limiter = Limiter::with_rates(
            8,
            RateLimits {
                rpm: Some(120),
                tpm: None,
            },
        );
        let start = tokio::time::Instant::now();
        for _ in 0..6 {
            limiter.start_attempt(0).await;
        }
        // Two immediately, then four more at 0.5 s each.
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1990) && elapsed <= Duration::from_millis(2100),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn tpm_debt_is_paid_back_before_the_next_attempt() {
        // 600 tokens per minute = 10 per second, bucket of 10.
        let limiter = Limiter::with_rates(
            8,
            RateLimits {
                rpm: None,
                tpm: Some(600),
            },
        );
        let start = tokio::time::Instant::now();
        let t = limiter.start_attempt(4).await;
        // The response used 49 tokens in all: level 10 - 49 = -39; one token needs 4 s.
        limiter.on_success(t, Some(49));
        limiter.start_attempt(1).await;
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(3990) && elapsed <= Duration::from_millis(4100),
            "{elapsed:?}"
        );
    }

    #[test]
    fn token_estimates() {
        assert_eq!(estimate_tokens(0), 1);
        assert_eq!(estimate_tokens(4), 1);
        assert_eq!(estimate_tokens(5), 2);
        assert_eq!(estimate_tokens(400), 100);
    }
}
