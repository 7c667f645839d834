//! The per-provider concurrency limiter every remote provider acquires before it sends.
//!
//! Today a fixed window (a semaphore of `concurrency` permits, held for a whole request,
//! retries and backoff included). The retry loop reports how each attempt ended
//! ([`Limiter::on_success`], [`Limiter::on_overload`], [`Limiter::on_transient`]) so the
//! window can adapt without any provider changing.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ProviderError;

/// A provider's limit on requests in flight.
#[derive(Debug)]
pub struct Limiter {
    semaphore: Arc<Semaphore>,
    limit: usize,
}

/// A slot held while a request is in flight; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    _permit: OwnedSemaphorePermit,
}

impl Limiter {
    /// A limiter allowing `limit` requests in flight (at least 1).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Limiter {
            semaphore: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// The configured limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Waits for a free slot.
    pub async fn acquire(&self) -> Result<Permit, ProviderError> {
        let permit = self
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ProviderError {
                message: "provider is shut down".into(),
                status: None,
                attempts: 0,
            })?;
        Ok(Permit { _permit: permit })
    }

    /// An attempt succeeded.
    pub fn on_success(&self) {}

    /// An attempt was refused for load (429, 529, an overload error).
    pub fn on_overload(&self) {}

    /// An attempt failed in a way worth retrying that says nothing about load (5xx,
    /// timeouts, connection errors).
    pub fn on_transient(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holds_at_most_limit_permits() {
        let limiter = Limiter::new(2);
        let a = limiter.acquire().await.unwrap();
        let _b = limiter.acquire().await.unwrap();
        let third = tokio::time::timeout(std::time::Duration::from_millis(20), limiter.acquire());
        assert!(third.await.is_err(), "a third permit was granted");
        drop(a);
        let third = tokio::time::timeout(std::time::Duration::from_millis(200), limiter.acquire());
        assert!(third.await.is_ok());
    }

    #[test]
    fn zero_is_raised_to_one() {
        assert_eq!(Limiter::new(0).limit(), 1);
    }
}
