//! Watching a provider request's retry notices.

use prompteval::provider::{ProviderRequest, RetryNotice};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// `request` with its retry notices sent to the returned receiver.
pub fn watch(mut request: ProviderRequest) -> (ProviderRequest, UnboundedReceiver<RetryNotice>) {
    let (tx, rx) = unbounded_channel();
    request.retries = Some(tx);
    (request, rx)
}

/// Every notice received so far.
pub fn notices(mut rx: UnboundedReceiver<RetryNotice>) -> Vec<RetryNotice> {
    let mut all = Vec::new();
    while let Ok(n) = rx.try_recv() {
        all.push(n);
    }
    all
}
