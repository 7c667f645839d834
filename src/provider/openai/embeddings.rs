//! [`OpenAi`]'s embeddings: OpenAI-compatible `POST {base_url}/embeddings`, under the same
//! concurrency limit, timeout and retry policy as completions.

use reqwest::Url;
use serde::Deserialize;

use super::{Endpoint, OpenAi};
use crate::provider::remote::Retries;
use crate::provider::{AttemptFailure, ProviderError};

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

impl OpenAi {
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
        retries: Retries<'_>,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        let url = self.embeddings_url()?;
        let body = serde_json::json!({"model": self.model, "input": texts}).to_string();
        retries
            .run(|| self.embed_attempt(&url, &body, texts.len()))
            .await
    }

    async fn embed_attempt(
        &self,
        url: &Url,
        body: &str,
        count: usize,
    ) -> Result<Vec<Vec<f32>>, AttemptFailure> {
        let request = self.post(self.transport.client(), url, body);
        let (status, bytes) = self.transport.send(request).await?;
        let fatal = |message: String| AttemptFailure::fatal(message, Some(status.as_u16()));
        let parsed: EmbeddingResponse = self.transport.parse_json(status, &bytes)?;
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
