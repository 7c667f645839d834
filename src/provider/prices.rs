//! The built-in price catalog (`data/prices.yaml`, compiled in): dollars per million
//! tokens for common OpenAI, Anthropic and Gemini models, looked up by provider kind and
//! model id when a provider sets no `price:` of its own.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::Price;

/// The catalog's source text.
const CATALOG_YAML: &str = include_str!("../../data/prices.yaml");

/// The parsed catalog.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The format version (1).
    pub version: u32,
    /// The date the prices were read off the vendors' pages (`2025-11-01`).
    pub as_of: String,
    /// Vendor → model id (or family prefix) → price.
    pub vendors: BTreeMap<String, BTreeMap<String, Price>>,
}

/// A catalog entry a model id matched.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogPrice {
    /// The vendor (`openai`, `anthropic`, `gemini`).
    pub vendor: String,
    /// The entry that matched (`gpt-4o` for `gpt-4o-2024-08-06`).
    pub entry: String,
    /// Its price.
    pub price: Price,
}

/// The built-in catalog, parsed once. The file is part of the build and a unit test parses
/// it, so the empty fallback is never used in practice.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| serde_yaml::from_str(CATALOG_YAML).unwrap_or_default())
}

impl Catalog {
    /// The price for `model`: the longest entry equal to the id or a prefix of it followed
    /// by `-` or `@` (so `gpt-4o-2024-08-06` finds `gpt-4o`, but `gpt-4o` never finds
    /// `gpt-4`). The comparison ignores ASCII case and a leading `models/` (Gemini's style).
    pub fn find(&self, model: &str) -> Option<CatalogPrice> {
        let model = model.trim().to_ascii_lowercase();
        let model = model.strip_prefix("models/").unwrap_or(&model);
        let mut best: Option<CatalogPrice> = None;
        for (vendor, entries) in &self.vendors {
            for (entry, price) in entries {
                let key = entry.to_ascii_lowercase();
                let Some(rest) = model.strip_prefix(key.as_str()) else {
                    continue;
                };
                if !(rest.is_empty() || rest.starts_with('-') || rest.starts_with('@')) {
                    continue;
                }
                if best.as_ref().is_none_or(|b| entry.len() > b.entry.len()) {
                    best = Some(CatalogPrice {
                        vendor: vendor.clone(),
                        entry: entry.clone(),
                        price: *price,
                    });
                }
            }
        }
        best
    }
}

/// The built-in price for a provider of kind `kind` using `model`, when the kind is priced
/// (its [`KindInfo::priced`](super::KindInfo::priced); local kinds have no built-in price) and
/// the model is in the catalog.
pub fn lookup(kind: &str, model: &str) -> Option<Price> {
    if !super::find(kind).is_some_and(|k| k.priced) {
        return None;
    }
    catalog().find(model).map(|found| found.price)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(kind: &str, model: &str) -> Option<(f64, f64)> {
        lookup(kind, model).map(|p| (p.input, p.output))
    }

    #[test]
    fn the_catalog_parses_and_covers_three_vendors() {
        let parsed: Catalog = serde_yaml::from_str(CATALOG_YAML).expect("data/prices.yaml");
        assert_eq!(parsed.version, 1);
        assert!(!parsed.as_of.is_empty());
        for vendor in ["openai", "anthropic", "gemini"] {
            assert!(
                parsed.vendors.get(vendor).is_some_and(|m| m.len() >= 5),
                "{vendor}"
            );
        }
        for entries in parsed.vendors.values() {
            for (id, p) in entries {
                assert!(p.input >= 0.0 && p.output >= p.input, "{id}: {p:?}");
            }
        }
    }

    #[test]
    fn anthropic_entries_price_the_prompt_cache() {
        let anthropic = &catalog().vendors["anthropic"];
        for (id, p) in anthropic {
            let (read, write) = (p.cache_read.unwrap(), p.cache_write.unwrap());
            assert!(read < p.input && p.input < write, "{id}: {p:?}");
        }
        let haiku = lookup("anthropic", "claude-3-5-haiku-20241022").unwrap();
        assert_eq!(
            (haiku.cache_read, haiku.cache_write),
            (Some(0.08), Some(1.00))
        );
        assert_eq!(lookup("openai", "gpt-4o").unwrap().cache_read, None);
    }

    #[test]
    fn exact_ids() {
        assert_eq!(price("openai", "gpt-4o-mini"), Some((0.15, 0.60)));
        assert_eq!(price("anthropic", "claude-3-5-haiku"), Some((0.80, 4.00)));
        assert_eq!(price("openai", "gemini-2.5-flash"), Some((0.30, 2.50)));
    }

    #[test]
    fn dated_ids_find_their_family_by_longest_prefix() {
        assert_eq!(price("openai", "gpt-4o-2024-08-06"), Some((2.50, 10.00)));
        assert_eq!(
            price("openai", "gpt-4o-mini-2024-07-18"),
            Some((0.15, 0.60))
        );
        // A dated id with its own entry wins over the family.
        assert_eq!(price("openai", "gpt-4o-2024-05-13"), Some((5.00, 15.00)));
        assert_eq!(
            price("anthropic", "claude-3-5-haiku-20241022"),
            Some((0.80, 4.00))
        );
        assert_eq!(
            price("anthropic", "claude-sonnet-4-5-20250929"),
            Some((3.00, 15.00))
        );
        assert_eq!(
            price("anthropic", "claude-opus-4-1-20250805"),
            Some((15.00, 75.00))
        );
        assert_eq!(
            price("openai", "models/gemini-2.0-flash"),
            Some((0.10, 0.40))
        );
        assert_eq!(price("openai", "GPT-4o"), Some((2.50, 10.00)));
    }

    #[test]
    fn prefixes_only_match_at_a_boundary() {
        // `gpt-4` must not price `gpt-4o-foo`'s unknown sibling `gpt-4x`.
        assert_eq!(price("openai", "gpt-4x"), None);
        assert_eq!(price("openai", "o1"), Some((15.00, 60.00)));
        assert_eq!(price("openai", "o1-mini-2024-09-12"), Some((1.10, 4.40)));
        assert_eq!(price("openai", "o10"), None);
    }

    #[test]
    fn unknown_models_and_local_kinds_have_no_price() {
        assert_eq!(price("openai", "gemma-3-270m"), None);
        assert_eq!(price("openai", ""), None);
        assert_eq!(price("ollama", "gpt-4o"), None);
        assert_eq!(price("llamacpp", "gpt-4o"), None);
        assert_eq!(price("echo", "gpt-4o"), None);
    }
}
