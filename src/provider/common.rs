//! The settings every kind shares (timeout, concurrency, retries, price, rate limits),
//! checked and with defaults applied, and small helpers the kinds use to check theirs.

use std::time::Duration;

use super::remote::limiter::{Limiter, RateLimits};
use super::remote::retry::{self, RetryPolicy, RETRY_BASE_DEFAULT, RETRY_BASE_ENV, RETRY_CAP};
use super::{prices, CommonSettings, Price, ProviderConfigError};

/// The timeout used when a provider sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The retry count used when a provider sets none.
pub const DEFAULT_MAX_RETRIES: u32 = 3;

/// The settings every kind shares, checked and with defaults applied.
#[derive(Clone, Debug)]
pub(crate) struct Common {
    pub(crate) timeout: Duration,
    pub(crate) concurrency: usize,
    pub(crate) policy: RetryPolicy,
    pub(crate) price: Option<Price>,
    pub(crate) rates: RateLimits,
}

/// Which provider [`Common::resolve`] checks: its name, kind and model (for the price
/// catalog).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Subject<'a> {
    pub(crate) name: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) model: Option<&'a str>,
}

impl Common {
    /// Checks the shared settings of provider `who`; `default_concurrency` is its kind's.
    pub(crate) fn resolve(
        who: Subject<'_>,
        config: &CommonSettings,
        default_concurrency: usize,
    ) -> Result<Self, ProviderConfigError> {
        let name = who.name;
        let timeout = match &config.timeout {
            None => DEFAULT_TIMEOUT,
            Some(text) => parse_timeout(name, text)?,
        };
        let concurrency = config.concurrency.unwrap_or(default_concurrency);
        if concurrency == 0 {
            return Err(ProviderConfigError::new(
                name,
                "`concurrency` must be at least 1",
                Some(format!(
                    "remove `concurrency` to use the default of {default_concurrency}"
                )),
            ));
        }
        if let Some(price) = config.price {
            for (key, value) in [("input", price.input), ("output", price.output)] {
                if !value.is_finite() || value < 0.0 {
                    return Err(ProviderConfigError::new(
                        name,
                        format!("`price.{key}` must be a number of dollars per million tokens, not {value}"),
                        Some("write e.g. `price: {input: 0.15, output: 0.6}`".into()),
                    ));
                }
            }
        }
        for (key, value) in [("rpm", config.rpm), ("tpm", config.tpm)] {
            if value == Some(0) {
                return Err(ProviderConfigError::new(
                    name,
                    format!("`{key}` must be at least 1"),
                    Some(format!("remove `{key}` for no limit")),
                ));
            }
        }
        let base = retry::base_from_env().map_err(|message| {
            ProviderConfigError::new(
                name,
                message,
                Some(format!("unset {RETRY_BASE_ENV} or set it to e.g. 10")),
            )
        })?;
        Ok(Common {
            timeout,
            concurrency,
            policy: RetryPolicy {
                max_retries: config.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
                base: base.unwrap_or(RETRY_BASE_DEFAULT),
                cap: RETRY_CAP,
            },
            price: config
                .price
                .or_else(|| who.model.and_then(|model| prices::lookup(who.kind, model))),
            rates: RateLimits {
                rpm: config.rpm,
                tpm: config.tpm,
            },
        })
    }

    /// A limiter with this provider's concurrency and rates.
    pub(crate) fn limiter(&self) -> Limiter {
        Limiter::with_rates(self.concurrency, self.rates)
    }
}

/// The trimmed `model` setting of provider `name`, or an error saying kind `kind` needs one
/// (`example` is a model id to suggest).
pub(crate) fn required_model(
    name: &str,
    kind: &str,
    model: Option<&str>,
    example: &str,
) -> Result<String, ProviderConfigError> {
    match model.map(str::trim) {
        Some(model) if !model.is_empty() => Ok(model.to_string()),
        _ => Err(ProviderConfigError::new(
            name,
            format!("`model` is required for kind `{kind}`"),
            Some(format!(
                "set `model:` to the model id, e.g. `model: {example}`"
            )),
        )),
    }
}

/// An error for setting `key` being required by kind `kind`.
pub(crate) fn missing(name: &str, kind: &str, key: &str, example: &str) -> ProviderConfigError {
    ProviderConfigError::new(
        name,
        format!("`{key}` is required for kind `{kind}`"),
        Some(format!("add e.g. `{key}: {example}`")),
    )
}

fn parse_timeout(name: &str, text: &str) -> Result<Duration, ProviderConfigError> {
    let hint = Some("write a duration such as `30s`, `500ms` or `2m`".to_string());
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.is_zero() => Err(ProviderConfigError::new(
            name,
            "`timeout` must be longer than zero",
            hint,
        )),
        Ok(d) => Ok(d),
        Err(err) => Err(ProviderConfigError::new(
            name,
            format!("invalid `timeout` `{text}`: {err}"),
            hint,
        )),
    }
}

/// Cost in dollars when `cache` of the `tokens_in` went through the vendor's prompt cache:
/// those are priced at `cache_read` / `cache_write`, the rest at `input`; unknown when a
/// price that is needed or a count is missing.
pub(crate) fn price_cost_cached(
    price: Option<Price>,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
    cache: super::CacheTokens,
) -> Option<f64> {
    let p = price?;
    let read = match cache.read {
        0 => 0.0,
        n => n as f64 * p.cache_read? / 1e6,
    };
    let write = match cache.write {
        0 => 0.0,
        n => n as f64 * p.cache_write? / 1e6,
    };
    let plain = tokens_in?.saturating_sub(cache.read + cache.write);
    Some(read + write + price_cost(price, Some(plain), tokens_out)?)
}

/// Cost in dollars from per-million prices; unknown when a price or a count is missing.
pub(crate) fn price_cost(
    price: Option<Price>,
    tokens_in: Option<u64>,
    tokens_out: Option<u64>,
) -> Option<f64> {
    let price = price?;
    Some(tokens_in? as f64 * price.input / 1e6 + tokens_out? as f64 * price.output / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_tokens_were_priced_as_plain_input() {
        use crate::provider::CacheTokens;
        let price = Some(Price {
            input: 1.0,
            output: 2.0,
            cache_read: Some(0.1),
            cache_write: Some(1.25),
        });
        let cache = CacheTokens {
            read: 1_000_000,
            write: 1_000_000,
        };
        let cost = price_cost_cached(price, Some(3_000_000), Some(1_000_000), cache).unwrap();
        assert!((cost - (1.0 + 2.0 + 0.1 + 1.25)).abs() < 1e-9, "{cost}");
        let no_cache_rates = Some(Price {
            input: 1.0,
            output: 2.0,
            ..Default::default()
        });
        assert_eq!(
            price_cost_cached(no_cache_rates, Some(3), Some(1), cache),
            None
        );
        let none = CacheTokens::default();
        assert_eq!(
            price_cost_cached(no_cache_rates, Some(1_000_000), Some(0), none),
            Some(1.0)
        );
    }

    #[test]
    fn cost_needs_price_and_both_counts() {
        let price = Some(Price {
            input: 0.15,
            output: 0.6,
            ..Default::default()
        });
        let cost = price_cost(price, Some(1_000_000), Some(500_000)).unwrap();
        assert!((cost - 0.45).abs() < 1e-12, "{cost}");
        assert_eq!(price_cost(price, None, Some(1)), None);
        assert_eq!(price_cost(price, Some(1), None), None);
        assert_eq!(price_cost(None, Some(1), Some(1)), None);
    }
}
