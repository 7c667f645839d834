//! [`OpenAiProvider`]'s embeddings: OpenAI-compatible `POST {base_url}/embeddings`, under
//! the same concurrency limit, timeout and retry policy as completions.

use reqwest::header::AUTHORIZATION;
use reqwest::Url;
use serde::Deserialize;

use super::{
    error_detail, is_retryable, one_line, retry_after, round_secs, status_line, Endpoint, Failure,
    OpenAiProvider, MAX_RETRY_AFTER,
};
use crate::provider::ProviderError;

#[derive(Deserialize)]
struct EmbeddingResponse {
    #[serde(default)]
    data: Vec<Embedding>,
}

#[derive(Deserialize)]
struct Embedding {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl OpenAiProvider {
    /// `{base_url}/embeddings`, next to the completions endpoint.
    fn embeddings_url(&self) -> Result<Url, ProviderError> {
        let relative = match self.endpoint {
            Endpoint::Chat => "../embeddings",
            Endpoint::Completions => "embeddings",
        };
        self.url.join(relative).map_err(|e| ProviderError {
            message: format!("cannot build the embeddings URL: {e}"),
            status: None,
            attempts: 0,
        })
    }

    /// Embeds `texts` with the provider's `model`, retrying as completions do.
    pub(super) async fn run_embed(
        &self,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        let url = self.embeddings_url()?;
        let _permit = self.limit.acquire().await.map_err(|_| ProviderError {
            message: "provider is shut down".into(),
            status: None,
            attempts: 0,
        })?;
        let body = serde_json::json!({"model": self.model, "input": texts}).to_string();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let failure = match self.embed_attempt(&url, &body, texts.len()).await {
                Ok(vectors) => return Ok(vectors),
                Err(failure) => failure,
            };
            if !failure.retryable || attempt > self.policy.max_retries {
                return Err(self.give_up(failure.message, failure.status, attempt));
            }
            let wait = match failure.retry_after {
                Some(wait) if wait > MAX_RETRY_AFTER => {
                    let message = format!(
                        "{}: server asked to wait {} before retrying, more than the {} limit",
                        failure.message,
                        humantime::format_duration(round_secs(wait)),
                        humantime::format_duration(MAX_RETRY_AFTER),
                    );
                    return Err(self.give_up(message, failure.status, attempt));
                }
                Some(wait) => wait,
                None => self.policy.backoff(attempt),
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn embed_attempt(
        &self,
        url: &Url,
        body: &str,
        count: usize,
    ) -> Result<Vec<Vec<f32>>, Failure> {
        let mut request = self.client.post(url.clone()).body(body.to_string());
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let response = request.send().await.map_err(|err| self.transport(&err))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|err| self.transport(&err))?;
        if !status.is_success() {
            let mut message = status_line(status);
            if let Some(detail) = error_detail(&bytes) {
                message = format!("{message}: {}", self.scrub(&detail));
            }
            return Err(Failure {
                message,
                status: Some(status.as_u16()),
                retryable: is_retryable(status),
                retry_after: wait,
            });
        }
        let fatal = |message: String| Failure {
            message,
            status: Some(status.as_u16()),
            retryable: false,
            retry_after: None,
        };
        let parsed: EmbeddingResponse = serde_json::from_slice(&bytes).map_err(|err| {
            fatal(format!(
                "malformed embeddings response: {}",
                one_line(&err.to_string())
            ))
        })?;
        if parsed.data.len() != count {
            return Err(fatal(format!(
                "the embeddings response has {} vectors for {count} texts",
                parsed.data.len()
            )));
        }
        let mut data = parsed.data;
        if data.iter().all(|d| d.index.is_some()) {
            data.sort_by_key(|d| d.index);
        }
        Ok(data.into_iter().map(|d| d.embedding).collect())
    }
}
