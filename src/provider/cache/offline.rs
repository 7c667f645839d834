//! Offline runs: a provider that cannot be built here (no API key, say) is replaced by an
//! [`UnavailableProvider`], since offline the cache answers for it.

use std::sync::Arc;

use crate::provider::{
    build, price_cost, BoxFuture, Price, Provider, ProviderConfig, ProviderConfigError,
    ProviderError, ProviderRequest, ProviderResponse,
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
            price: config.common.price,
        })),
        Err(e) => Err(e),
    }
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
}
