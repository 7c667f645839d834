//! [`CachedProvider`]: a [`Provider`] wrapper that serves responses from the
//! [`ResponseCache`], stores successful ones, and sends identical requests once.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::entry::{CachedResponse, CACHE_ENTRY_VERSION};
use super::key::{canonical, key_material, key_of, provider_identity, request_key, CacheKey};
use super::settings::{is_deterministic, CacheMode, CacheSettings};
use super::store::{Lookup, ResponseCache};
use crate::provider::{
    BoxFuture, CacheTokens, Provider, ProviderConfig, ProviderError, ProviderRequest,
    ProviderResponse,
};
use crate::registry::Params;

/// What the cache did during a run, shared by every wrapped provider.
#[derive(Debug, Default)]
pub struct CacheCounters {
    /// Responses served from the cache (including requests that joined an identical one
    /// in flight).
    pub hits: AtomicU64,
    /// Cacheable requests sent to the model.
    pub misses: AtomicU64,
    /// Responses written to the cache.
    pub stores: AtomicU64,
    /// Entries that could not be written (the run goes on without them).
    pub store_errors: AtomicU64,
    /// Offline requests with no entry.
    pub offline_misses: AtomicU64,
}

type Flight = Arc<tokio::sync::Mutex<Option<CachedResponse>>>;

/// A provider behind the response cache. Build with [`CachedProvider::new`] or wrap a whole
/// provider map with [`wrap_providers`]. Concurrent identical requests are sent once
/// (single flight); a response served from the cache has `cached` set and `attempts == 0`:
/// no request was made.
///
/// Which requests use the cache: in [`CacheMode::On`], those that are deterministic
/// (temperature 0 or a seed, see [`is_deterministic`]) or all of them when
/// [`CacheSettings::always`] is set; in [`CacheMode::Offline`], every request (a miss is an
/// error, the model is never called and [`Provider::start`] does nothing); in
/// [`CacheMode::Off`], none. `echo` providers are always passed through.
pub struct CachedProvider {
    name: String,
    inner: Arc<dyn Provider>,
    identity: serde_json::Value,
    /// `identity` as compact JSON, for [`request_key`].
    identity_json: String,
    provider_params: Params,
    cache: Arc<ResponseCache>,
    mode: CacheMode,
    always: bool,
    pure: bool,
    vars_in_key: bool,
    flights: Mutex<HashMap<CacheKey, Flight>>,
    counters: Arc<CacheCounters>,
}

impl CachedProvider {
    /// Wraps `inner`, the provider named `name` built from `config`.
    pub fn new(
        name: &str,
        config: &ProviderConfig,
        inner: Arc<dyn Provider>,
        cache: Arc<ResponseCache>,
        settings: &CacheSettings,
        counters: Arc<CacheCounters>,
    ) -> CachedProvider {
        let identity = provider_identity(config);
        CachedProvider {
            name: name.to_string(),
            inner,
            identity_json: serde_json::to_string(&identity).unwrap_or_default(),
            identity,
            provider_params: config.common.params.clone(),
            cache,
            mode: settings.mode,
            always: settings.always,
            pure: config.kind.info().is_some_and(|k| k.pure),
            vars_in_key: config.kind.info().is_some_and(|k| k.row_vars),
            flights: Mutex::new(HashMap::new()),
            counters,
        }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &Arc<dyn Provider> {
        &self.inner
    }

    fn served(&self, cached: CachedResponse) -> ProviderResponse {
        self.counters.hits.fetch_add(1, Ordering::Relaxed);
        ProviderResponse {
            output: cached.output,
            tokens_in: cached.tokens_in,
            tokens_out: cached.tokens_out,
            latency_ms: cached.latency_ms,
            queue_ms: None,
            cache: cached.cache,
            attempts: 0,
            cached: true,
            tool_calls: cached.tool_calls,
            finish_reason: cached.finish_reason,
        }
    }

    fn flight(&self, key: CacheKey) -> Flight {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights.entry(key).or_default().clone()
    }

    fn land(&self, key: CacheKey, flight: Flight) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        // Clones are only made under this lock: two owners left means the map and us.
        if Arc::strong_count(&flight) <= 2 {
            flights.remove(&key);
        }
    }

    /// The cached response of `key`, however old, or an error: offline, nothing is sent.
    fn offline(&self, key: &CacheKey) -> Result<ProviderResponse, ProviderError> {
        match self.cache.get(key, SystemTime::now()) {
            Lookup::Hit(r) | Lookup::Expired(r) => Ok(self.served(r)),
            Lookup::Miss => {
                self.counters.offline_misses.fetch_add(1, Ordering::Relaxed);
                Err(ProviderError {
                    message: format!(
                        "offline: no cached response for model `{}` (key {}); run once without --offline to record it",
                        self.name,
                        &key.hex()[..12]
                    ),
                    status: None,
                    attempts: 0,
                })
            }
        }
    }

    async fn cached_complete(
        &self,
        request: ProviderRequest,
        repeat: u32,
    ) -> Result<ProviderResponse, ProviderError> {
        if self.pure || self.mode == CacheMode::Off {
            return self.inner.complete(request).await;
        }
        let offline = self.mode == CacheMode::Offline;
        if !offline && !self.always && !is_deterministic(&request.params, &self.provider_params) {
            return self.inner.complete(request).await;
        }
        let vars = self.vars_in_key.then_some(&*request.vars);
        let key = request_key(
            &self.identity_json,
            &request.prompt,
            &request.params,
            vars,
            request.tools.as_deref(),
            repeat,
        );
        if offline {
            return self.offline(&key);
        }

        let flight = self.flight(key);
        let result = {
            let mut slot = flight.lock().await;
            if let Some(done) = slot.clone() {
                Ok(self.served(done))
            } else if let Lookup::Hit(r) = self.cache.get(&key, SystemTime::now()) {
                *slot = Some(r.clone());
                Ok(self.served(r))
            } else {
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                let vars = self.vars_in_key.then_some(&*request.vars);
                let material = key_material(
                    &self.identity,
                    &request.prompt,
                    &request.params,
                    vars,
                    request.tools.as_deref(),
                    repeat,
                );
                let result = self.inner.complete(request).await;
                if let Ok(response) = &result {
                    let entry = CachedResponse {
                        output: response.output.clone(),
                        tokens_in: response.tokens_in,
                        tokens_out: response.tokens_out,
                        latency_ms: response.latency_ms,
                        cache: response.cache,
                        tool_calls: response.tool_calls.clone(),
                        finish_reason: response.finish_reason.clone(),
                    };
                    let counter =
                        match self
                            .cache
                            .put(&key, &material, &self.name, &entry, SystemTime::now())
                        {
                            Ok(()) => &self.counters.stores,
                            Err(_) => &self.counters.store_errors,
                        };
                    counter.fetch_add(1, Ordering::Relaxed);
                    *slot = Some(entry);
                }
                result
            }
        };
        self.land(key, flight);
        result
    }
}

impl CachedProvider {
    /// Embeddings through the cache: they are deterministic, so every request is cached
    /// (unless the cache is off); offline, a miss is an error. The vectors are stored as
    /// the entry's output, as JSON.
    async fn cached_embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ProviderError> {
        if self.pure || self.mode == CacheMode::Off {
            return self.inner.embed(texts).await;
        }
        let material = canonical(serde_json::json!({
            "v": CACHE_ENTRY_VERSION,
            "provider": self.identity,
            "embed": texts,
        }));
        let key = key_of(&material);
        let decode =
            |entry: CachedResponse| serde_json::from_str::<Vec<Vec<f32>>>(&entry.output).ok();
        match self.cache.get(&key, SystemTime::now()) {
            Lookup::Hit(r) => {
                if let Some(vectors) = decode(r) {
                    self.counters.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(vectors);
                }
            }
            Lookup::Expired(r) if self.mode == CacheMode::Offline => {
                if let Some(vectors) = decode(r) {
                    self.counters.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(vectors);
                }
            }
            _ => {}
        }
        if self.mode == CacheMode::Offline {
            self.counters.offline_misses.fetch_add(1, Ordering::Relaxed);
            return Err(ProviderError {
                message: format!(
                    "offline: no cached embeddings for model `{}` (key {}); run once without --offline to record them",
                    self.name,
                    &key.hex()[..12]
                ),
                status: None,
                attempts: 0,
            });
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        let vectors = self.inner.embed(texts).await?;
        let entry = CachedResponse {
            output: serde_json::to_string(&vectors).unwrap_or_default(),
            tokens_in: None,
            tokens_out: None,
            latency_ms: 0.0,
            cache: CacheTokens::default(),
            tool_calls: Vec::new(),
            finish_reason: None,
        };
        let counter = match self
            .cache
            .put(&key, &material, &self.name, &entry, SystemTime::now())
        {
            Ok(()) => &self.counters.stores,
            Err(_) => &self.counters.store_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(vectors)
    }
}

// Every `Provider` method is forwarded to `inner`; the ones that send a request to a model
// go through `cached_complete`. A method added to the trait must be added here too, or the
// wrapper silently falls back to the trait's default.
impl Provider for CachedProvider {
    fn complete(
        &self,
        request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        Box::pin(self.cached_complete(request, 0))
    }

    fn complete_repeat(
        &self,
        request: ProviderRequest,
        repeat: u32,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        Box::pin(self.cached_complete(request, repeat))
    }

    fn embed(&self, texts: Vec<String>) -> BoxFuture<'_, Result<Vec<Vec<f32>>, ProviderError>> {
        Box::pin(self.cached_embed(texts))
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }

    fn cost(&self, tokens_in: Option<u64>, tokens_out: Option<u64>) -> Option<f64> {
        self.inner.cost(tokens_in, tokens_out)
    }

    fn cost_cached(
        &self,
        tokens_in: Option<u64>,
        tokens_out: Option<u64>,
        cache: CacheTokens,
    ) -> Option<f64> {
        self.inner.cost_cached(tokens_in, tokens_out, cache)
    }

    fn start(&self) -> BoxFuture<'_, Result<(), ProviderError>> {
        if self.mode == CacheMode::Offline && !self.pure {
            // Offline nothing reaches the model: a local server is not started.
            return Box::pin(std::future::ready(Ok(())));
        }
        self.inner.start()
    }
}

/// Wraps every provider of a plan's map in a [`CachedProvider`] sharing one cache; returns
/// the counters they share. Providers without settings in `configs` are left as they are.
pub fn wrap_providers(
    providers: &mut BTreeMap<String, Arc<dyn Provider>>,
    configs: &BTreeMap<String, ProviderConfig>,
    settings: &CacheSettings,
) -> Arc<CacheCounters> {
    let counters = Arc::new(CacheCounters::default());
    let cache = Arc::new(ResponseCache::new(&settings.dir, settings.ttl));
    for (name, provider) in providers.iter_mut() {
        let Some(config) = configs.get(name) else {
            continue;
        };
        *provider = Arc::new(CachedProvider::new(
            name,
            config,
            provider.clone(),
            cache.clone(),
            settings,
            counters.clone(),
        ));
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::message::RenderedPrompt;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Counts requests, answers after a short sleep, fails when told to.
    struct Counting {
        calls: AtomicUsize,
        fail: bool,
    }

    impl Provider for Counting {
        fn complete(
            &self,
            request: ProviderRequest,
        ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let fail = self.fail;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if fail {
                    return Err(ProviderError {
                        message: "boom".into(),
                        status: Some(500),
                        attempts: 1,
                    });
                }
                Ok(ProviderResponse {
                    output: format!("{} #{n}", request.prompt.to_text()),
                    tokens_in: Some(1),
                    tokens_out: Some(2),
                    latency_ms: 20.0,
                    queue_ms: None,
                    cache: CacheTokens::default(),
                    attempts: 1,
                    cached: false,
                    tool_calls: Vec::new(),
                    finish_reason: None,
                })
            })
        }
        fn concurrency(&self) -> usize {
            8
        }
        fn cost(&self, _: Option<u64>, _: Option<u64>) -> Option<f64> {
            Some(0.5)
        }
    }

    fn setup(
        mode: CacheMode,
        fail: bool,
        dir: &std::path::Path,
    ) -> (Arc<Counting>, CachedProvider) {
        let inner = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            fail,
        });
        let settings = CacheSettings {
            dir: dir.to_path_buf(),
            ttl: None,
            mode,
            always: false,
        };
        let config = ProviderConfig::new(crate::provider::OpenAiSettings {
            model: Some("m".into()),
            ..Default::default()
        });
        let p = CachedProvider::new(
            "m",
            &config,
            inner.clone(),
            Arc::new(ResponseCache::new(dir, None)),
            &settings,
            Arc::new(CacheCounters::default()),
        );
        (inner, p)
    }

    fn request(prompt: &str, temperature: f64) -> ProviderRequest {
        let mut params = Params::new();
        params.insert("temperature".into(), temperature.into());
        ProviderRequest {
            prompt: RenderedPrompt::Text(prompt.into()),
            params,
            retries: None,
            tools: None,
            vars: Default::default(),
        }
    }

    #[tokio::test]
    async fn hit_after_miss_and_repeats_are_apart() {
        let dir = tempfile::tempdir().unwrap();
        let (inner, p) = setup(CacheMode::On, false, dir.path());
        let first = p.complete_repeat(request("a", 0.0), 0).await.unwrap();
        assert_eq!((first.attempts, first.cached), (1, false));
        let again = p.complete_repeat(request("a", 0.0), 0).await.unwrap();
        assert_eq!((again.attempts, again.cached), (0, true));
        assert_eq!(again.output, first.output);
        let other = p.complete_repeat(request("a", 0.0), 1).await.unwrap();
        assert_eq!((other.attempts, other.cached), (1, false));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
        assert_eq!(p.cost(Some(1), Some(1)), Some(0.5));
    }

    #[tokio::test]
    async fn sampled_requests_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (inner, p) = setup(CacheMode::On, false, dir.path());
        p.complete(request("a", 0.7)).await.unwrap();
        let r = p.complete(request("a", 0.7)).await.unwrap();
        assert_eq!((r.attempts, r.cached), (1, false));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (inner, p) = setup(CacheMode::On, true, dir.path());
        assert!(p.complete(request("a", 0.0)).await.is_err());
        assert!(p.complete(request("a", 0.0)).await.is_err());
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_identical_requests_are_sent_once() {
        let dir = tempfile::tempdir().unwrap();
        let (inner, p) = setup(CacheMode::On, false, dir.path());
        let p = Arc::new(p);
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let p = p.clone();
            tasks.push(tokio::spawn(async move {
                p.complete(request("same", 0.0)).await.unwrap()
            }));
        }
        let mut fresh = 0;
        for t in tasks {
            if !t.await.unwrap().cached {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 1);
        assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
        assert!(p.flights.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn offline_serves_or_fails_without_calling() {
        let dir = tempfile::tempdir().unwrap();
        let (_, online) = setup(CacheMode::On, false, dir.path());
        online.complete(request("a", 0.0)).await.unwrap();
        let (inner, p) = setup(CacheMode::Offline, false, dir.path());
        assert!(p.complete(request("a", 0.0)).await.unwrap().cached);
        let err = p.complete(request("b", 0.0)).await.unwrap_err();
        assert!(err
            .message
            .starts_with("offline: no cached response for model `m`"));
        assert_eq!(inner.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn no_cache_passes_through() {
        let dir = tempfile::tempdir().unwrap();
        let (inner, p) = setup(CacheMode::Off, false, dir.path());
        p.complete(request("a", 0.0)).await.unwrap();
        p.complete(request("a", 0.0)).await.unwrap();
        assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
        assert!(!dir.path().join("cache").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
