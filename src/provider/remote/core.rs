//! The remote-provider core: [`Remote`] runs every request of an [`Api`] through the
//! limiter and the retry loop, with the provider's default params and price.

use std::fmt;
use std::future::Future;

use reqwest::{RequestBuilder, StatusCode};

use super::limiter::{estimate_tokens, Limiter};
use super::retry::{
    retry_attempts, run_with_retries_estimated, AttemptFailure, Completion, FailureClass,
    RetryPolicy,
};
use super::transport::Transport;
use crate::provider::common::{price_cost, price_cost_cached, Common};
use crate::provider::request::no_embeddings;
use crate::provider::{
    BoxFuture, CacheTokens, Price, Provider, ProviderError, ProviderRequest, ProviderResponse,
};
use crate::registry::Params;

/// What every attempt of one request sends: a request body, a process's stdin.
pub trait Body: Send + Sync {
    /// Its size in bytes, for the tokens-per-minute estimate.
    fn size(&self) -> usize;
}

impl Body for String {
    fn size(&self) -> usize {
        self.len()
    }
}

impl Body for Option<String> {
    fn size(&self) -> usize {
        self.as_ref().map_or(0, String::len)
    }
}

/// What a remote API does for one request: build what every attempt sends, and make one
/// attempt. HTTP APIs implement [`HttpApi`], which gives this.
pub trait Api: fmt::Debug + Send + Sync + 'static {
    /// What every attempt sends.
    type Body: Body;

    /// The body of `request`, whose params override the provider's `defaults`. An error
    /// fails the request before any attempt.
    fn prepare(&self, request: &ProviderRequest, defaults: &Params) -> Result<Self::Body, String>;

    /// Makes one attempt.
    fn attempt<'a>(
        &'a self,
        body: &'a Self::Body,
    ) -> impl Future<Output = Result<Completion, AttemptFailure>> + Send + 'a;

    /// Embeds `texts`, one vector per text in order, retrying with `retries`. APIs without
    /// an embeddings endpoint keep this default, which fails.
    fn embed<'a>(
        &'a self,
        retries: Retries<'a>,
        texts: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ProviderError>> {
        let _ = (retries, texts);
        Box::pin(std::future::ready(Err(no_embeddings())))
    }
}

/// An API spoken over HTTP: the body, the request, and how to read the answer. Sending,
/// timeouts and the class of an error status are the [`Transport`]'s.
pub trait HttpApi: fmt::Debug + Send + Sync + 'static {
    /// What every attempt sends.
    type Body: Body;

    /// The body of `request`, whose params override the provider's `defaults`.
    fn body(&self, request: &ProviderRequest, defaults: &Params) -> Result<Self::Body, String>;

    /// The client, its timeout and the secrets to scrub from answers.
    fn transport(&self) -> &Transport;

    /// The HTTP request of one attempt.
    fn request(&self, client: &reqwest::Client, body: &Self::Body) -> RequestBuilder;

    /// The class of an error response, when the API's error body says more than its
    /// status (an overload named in the body, say); `None` keeps the status's class.
    fn classify(status: u16, body: &[u8]) -> Option<FailureClass> {
        let _ = (status, body);
        None
    }

    /// Reads a success response to `body`.
    fn parse(
        &self,
        status: StatusCode,
        bytes: &[u8],
        body: &Self::Body,
    ) -> Result<Completion, AttemptFailure>;

    /// Embeds `texts` (see [`Api::embed`]).
    fn embed<'a>(
        &'a self,
        retries: Retries<'a>,
        texts: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ProviderError>> {
        let _ = (retries, texts);
        Box::pin(std::future::ready(Err(no_embeddings())))
    }
}

impl<T: HttpApi> Api for T {
    type Body = <T as HttpApi>::Body;

    fn prepare(&self, request: &ProviderRequest, defaults: &Params) -> Result<Self::Body, String> {
        self.body(request, defaults)
    }

    async fn attempt<'a>(&'a self, body: &'a Self::Body) -> Result<Completion, AttemptFailure> {
        let transport = self.transport();
        let request = self.request(transport.client(), body);
        let (status, bytes) = transport.send_classified(request, T::classify).await?;
        self.parse(status, &bytes, body)
    }

    fn embed<'a>(
        &'a self,
        retries: Retries<'a>,
        texts: Vec<String>,
    ) -> BoxFuture<'a, Result<Vec<Vec<f32>>, ProviderError>> {
        HttpApi::embed(self, retries, texts)
    }
}

/// A provider's limiter and retry policy, for requests other than completions.
#[derive(Clone, Copy, Debug)]
pub struct Retries<'a> {
    limiter: &'a Limiter,
    policy: &'a RetryPolicy,
}

impl Retries<'_> {
    /// Runs `attempt` as completions are run (in a slot of the limiter, retried by the
    /// policy), without token accounting.
    pub async fn run<T, F, Fut>(&self, attempt: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AttemptFailure>>,
    {
        let (answer, _) =
            retry_attempts(self.limiter, self.policy, None, 1, |_: &T| None, attempt).await?;
        Ok(answer)
    }
}

/// A remote provider: requests of API `A` go through one limiter (concurrency, rates) and
/// the retry loop, with the provider's default params under each request's and its price.
///
/// The concurrency limit is held here, by a slot acquired for the whole request (backoff
/// waits included, so a provider that is being rate limited does not start new requests
/// while it waits): callers may issue as many requests as they like.
pub struct Remote<A> {
    name: String,
    api: A,
    policy: RetryPolicy,
    params: Params,
    price: Option<Price>,
    limiter: Limiter,
}

impl<A: Api> Remote<A> {
    /// The provider `name` speaking `api`, with the checked shared settings and the
    /// provider's default `params`.
    pub(crate) fn with_api(name: &str, api: A, common: &Common, params: Params) -> Self {
        Remote {
            name: name.to_string(),
            api,
            policy: common.policy,
            params,
            price: common.price,
            limiter: common.limiter(),
        }
    }

    /// Replaces the retry policy (tests use a base of a few milliseconds).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The API requests are sent to.
    pub fn api(&self) -> &A {
        &self.api
    }

    /// The provider's default params.
    pub fn params(&self) -> &Params {
        &self.params
    }

    async fn run(&self, request: ProviderRequest) -> Result<ProviderResponse, ProviderError> {
        let body = self
            .api
            .prepare(&request, &self.params)
            .map_err(|message| ProviderError {
                message,
                status: None,
                attempts: 0,
            })?;
        run_with_retries_estimated(
            &self.limiter,
            &self.policy,
            request.retries.as_ref(),
            estimate_tokens(body.size()),
            || self.api.attempt(&body),
        )
        .await
    }
}

impl<A: Api> fmt::Debug for Remote<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("name", &self.name)
            .field("api", &self.api)
            .field("policy", &self.policy)
            .field("concurrency", &self.limiter.limit())
            .finish_non_exhaustive()
    }
}

impl<A: Api> Provider for Remote<A> {
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        Box::pin(self.run(request))
    }

    fn concurrency(&self) -> usize {
        self.limiter.limit()
    }

    fn cost(&self, tokens_in: Option<u64>, tokens_out: Option<u64>) -> Option<f64> {
        price_cost(self.price, tokens_in, tokens_out)
    }

    fn cost_cached(
        &self,
        tokens_in: Option<u64>,
        tokens_out: Option<u64>,
        cache: CacheTokens,
    ) -> Option<f64> {
        price_cost_cached(self.price, tokens_in, tokens_out, cache)
    }

    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>> {
        let retries = Retries {
            limiter: &self.limiter,
            policy: &self.policy,
        };
        self.api.embed(retries, texts)
    }
}

/// Chat turns as the record holds them, for the kinds that hand them to the user's own
/// code (`http`, `exec`): `[{"role", "content"}]`, with an agent's `tool_calls` and
/// `tool_reply` where a message has them (a plain message keeps the bytes it always had).
pub fn messages_json(request: &ProviderRequest) -> serde_json::Value {
    serde_json::to_value(request.prompt.to_messages()).unwrap_or(serde_json::Value::Null)
}
