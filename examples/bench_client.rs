//! A bare HTTP client for `scripts/bench-providers.sh`: sends N chat-completion requests
//! with C in flight through `reqwest` (the client `prompteval` uses, same settings) and
//! prints the requests per second, as the ceiling any reqwest-based runner can reach.
//!
//! Usage: `bench_client URL N C`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const BODY: &str = r#"{"model":"bench-model","messages":[{"role":"user","content":"Answer briefly: what is 1234 plus 1234?"}]}"#;

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8089/v1/chat/completions".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let c: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .build()
            .expect("client");
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let tasks: Vec<_> = (0..c)
            .map(|_| {
                let (client, next, url) = (client.clone(), next.clone(), url.clone());
                tokio::spawn(async move {
                    while next.fetch_add(1, Ordering::Relaxed) < n {
                        let response = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(BODY)
                            .send()
                            .await
                            .expect("send");
                        let _ = response.bytes().await.expect("body");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{n} requests in {secs:.3} s = {:.0} requests/s",
            n as f64 / secs
        );
    });
}
