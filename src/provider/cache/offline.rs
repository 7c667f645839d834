//! Offline runs: a provider that cannot be built here (no API key, say) is replaced by an
//! [`UnavailableProvider`], since offline the cache answers for it.

use std::sync::Arc;

use crate::provider::{
    build, price_cost, price_cost_cached, prices, BoxFuture, CacheTokens, Price, Provider,
    ProviderConfig, ProviderConfigError, ProviderError, ProviderRequest, ProviderResponse,
};

/// Stands in, offline, for a provider that cannot be built here (its API key variable is
/// not set, say): the cache answers for it, so it is never asked.
#[derive(Debug)]
pub struct UnavailableProvider {
    name: String,
    reason: String,
    price: Option<Price>,
}

impl Provider for UnavailableProvider {
    fn complete(
        &self,
        _request: ProviderRequest,
    ) -> BoxFuture<'_, Result<ProviderResponse, ProviderError>> {
        Box::pin(std::future::ready(Err(ProviderError {
            message: format!("provider `{}` is unavailable: {}", self.name, self.reason),
            status: None,
            attempts: 0,
        })))
    }

    fn concurrency(&self) -> usize {
        64
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
}

/// Builds a provider for an offline run: like [`build`], but a provider of a known
/// kind whose settings fail to build (a missing API key) becomes an [`UnavailableProvider`],
/// since offline it is never called.
pub fn build_offline(
    name: &str,
    config: &ProviderConfig,
) -> Result<Arc<dyn Provider>, ProviderConfigError> {
    match build(name, config) {
        Ok(p) => Ok(p),
        Err(e) if config.kind.info().is_some() => Ok(Arc::new(UnavailableProvider {
            name: name.to_string(),
            reason: e.message,
            price: offline_price(config),
        })),
        Err(e) => Err(e),
    }
}

/// The price the provider would have had if built: its own `price:`, else the catalog's
/// for its kind and model (as `Common::resolve` picks it), so replayed
/// cells keep their cost when the API key is missing.
fn offline_price(config: &ProviderConfig) -> Option<Price> {
    config.common.price.or_else(|| {
        let settings = config.kind.as_dyn()?.to_json().ok()?;
        let model = settings.get("model")?.as_str()?.trim();
        prices::lookup(config.kind_name(), model)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_build_tolerates_missing_keys_of_known_kinds() {
        let config: ProviderConfig = serde_yaml::from_str(
            "{kind: openai, model: m, api_key_env: PROMPTEVAL_TEST_UNSET_KEY_VAR}",
        )
        .unwrap();
        assert!(build("x", &config).is_err());
        assert!(build_offline("x", &config).is_ok());
        let bad: ProviderConfig = serde_yaml::from_str("kind: nope").unwrap();
        assert!(build_offline("x", &bad).is_err());
    }

    #[test]
    fn offline_stand_in_without_a_key_lost_the_catalog_price() {
        let config: ProviderConfig = serde_yaml::from_str(
            "{kind: openai, model: gpt-4o-mini, api_key_env: PROMPTEVAL_TEST_UNSET_KEY_VAR}",
        )
        .unwrap();
        let offline = build_offline("x", &config).unwrap();
        let cost = offline.cost(Some(1_000_000), Some(1_000_000)).unwrap();
        assert!((cost - 0.75).abs() < 1e-9, "{cost}");
        let unknown: ProviderConfig = serde_yaml::from_str(
            "{kind: openai, model: tiny, api_key_env: PROMPTEVAL_TEST_UNSET_KEY_VAR}",
        )
        .unwrap();
        let offline = build_offline("x", &unknown).unwrap();
        assert_eq!(offline.cost(Some(1), Some(1)), None);
    }
}
