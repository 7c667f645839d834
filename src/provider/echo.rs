//! The `echo` provider: returns the prompt as its output, for free, with no I/O.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{
    BoxFuture, Common, CommonSettings, Provider, ProviderConfigError, ProviderError, ProviderKind,
    ProviderRequest, ProviderResponse, Subject,
};

/// Requests in flight at once when `concurrency` is not set.
const DEFAULT_CONCURRENCY: usize = 64;

/// `kind: echo`: nothing besides the shared settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EchoSettings {}

impl ProviderKind for EchoSettings {
    fn build(
        &self,
        name: &str,
        common: &CommonSettings,
    ) -> Result<Arc<dyn Provider>, ProviderConfigError> {
        Ok(Arc::new(EchoProvider::new(name, common)?))
    }
}

/// A provider whose output is the prompt's text ([`crate::template::message::RenderedPrompt::to_text`]).
/// Token counts are whitespace-separated words. It is text-only: tools a request offers
/// are ignored (the `mock` kind answers with tool calls). It never fails and costs nothing, which
/// makes it the model for dry runs, template debugging and benchmarks.
#[derive(Clone, Debug)]
pub struct EchoProvider {
    concurrency: usize,
}

impl EchoProvider {
    /// Builds an echo provider from the shared settings (all are checked; only
    /// `concurrency` applies).
    pub fn new(name: &str, common: &CommonSettings) -> Result<Self, ProviderConfigError> {
        let who = Subject {
            name,
            kind: "echo",
            model: None,
        };
        let common = Common::resolve(who, common, DEFAULT_CONCURRENCY)?;
        Ok(EchoProvider {
            concurrency: common.concurrency,
        })
    }

    /// Answers a request synchronously.
    pub fn respond(&self, request: &ProviderRequest) -> ProviderResponse {
        let start = Instant::now();
        let output = request.prompt.to_text();
        let tokens_in = match &request.prompt {
            crate::template::message::RenderedPrompt::Text(text) => words(text),
            // to_text adds one `role:` word per message that the prompt did not contain.
            crate::template::message::RenderedPrompt::Chat(messages) => {
                messages.iter().map(|m| words(&m.content)).sum()
            }
        };
        let tokens_out = match &request.prompt {
            // The output is the text itself: its words are counted once.
            crate::template::message::RenderedPrompt::Text(_) => tokens_in,
            crate::template::message::RenderedPrompt::Chat(_) => words(&output),
        };
        ProviderResponse {
            output,
            tokens_in: Some(tokens_in),
            tokens_out: Some(tokens_out),
            latency_ms: start.elapsed().as_secs_f64() * 1000.0,
            queue_ms: None,
            cache: Default::default(),
            attempts: 1,
            cached: false,
            tool_calls: Vec::new(),
            finish_reason: None,
        }
    }
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

impl Provider for EchoProvider {
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        let response = self.respond(&request);
        Box::pin(std::future::ready(Ok(response)))
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn cost(&self, _tokens_in: Option<u64>, _tokens_out: Option<u64>) -> Option<f64> {
        Some(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::message::{Message, RenderedPrompt, Role};

    fn request(prompt: RenderedPrompt) -> ProviderRequest {
        ProviderRequest {
            prompt,
            params: Default::default(),
            vars: Default::default(),
            retries: None,
            tools: None,
        }
    }

    fn echo() -> EchoProvider {
        EchoProvider::new("echo", &CommonSettings::default()).unwrap()
    }

    #[tokio::test]
    async fn tools_are_ignored() {
        let mut with_tools = request(RenderedPrompt::Text("Weather?".into()));
        with_tools.tools = Some(std::sync::Arc::new(crate::tools::ToolSet {
            tools: vec![crate::tools::ToolDef {
                name: "get_weather".into(),
                description: None,
                parameters: serde_json::json!({"type": "object"}),
            }],
            choice: Some(crate::tools::ToolChoice::Required),
            parallel: None,
        }));
        let response = echo().complete(with_tools).await.unwrap();
        assert_eq!(response.output, "Weather?");
        assert!(response.tool_calls.is_empty());
        assert_eq!(response.finish_reason, None);
    }

    #[tokio::test]
    async fn echoes_text() {
        let response = echo()
            .complete(request(RenderedPrompt::Text(
                "Q: capital of France?\nA:".into(),
            )))
            .await
            .unwrap();
        assert_eq!(response.output, "Q: capital of France?\nA:");
        assert_eq!(response.tokens_in, Some(5));
        assert_eq!(response.tokens_out, Some(5));
        assert_eq!(response.attempts, 1);
        assert!(response.latency_ms >= 0.0);
    }

    #[tokio::test]
    async fn echoes_chat_as_role_lines() {
        let prompt = RenderedPrompt::Chat(vec![
            Message::new(Role::System, "Be terse."),
            Message::new(Role::User, "Hi there"),
        ]);
        let response = echo().complete(request(prompt)).await.unwrap();
        assert_eq!(response.output, "system: Be terse.\nuser: Hi there");
        assert_eq!(response.tokens_in, Some(4));
        assert_eq!(response.tokens_out, Some(6));
    }

    #[test]
    fn echo_is_free() {
        assert_eq!(echo().cost(Some(10), Some(10)), Some(0.0));
        assert_eq!(echo().cost(None, None), Some(0.0));
    }
}
