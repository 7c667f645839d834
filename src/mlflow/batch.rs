//! `runs/log-batch` requests split within MLflow's limits, values cut to what it accepts.

use serde_json::{json, Value};

/// Metrics per `log-batch` request (MLflow's `MAX_METRICS_PER_BATCH`).
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Params per request (`MAX_PARAMS_TAGS_PER_BATCH`).
pub const MAX_PARAMS_PER_BATCH: usize = 100;
/// Tags per request (`MAX_PARAMS_TAGS_PER_BATCH`).
pub const MAX_TAGS_PER_BATCH: usize = 100;
/// Metrics + params + tags per request (`MAX_ENTITIES_PER_BATCH`).
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// Bytes per request (`MAX_BATCH_LOG_REQUEST_SIZE`); we stay below it with room for the
/// envelope.
pub const MAX_BATCH_BYTES: usize = 1_000_000;
/// Characters of a param value (`MAX_PARAM_VAL_LENGTH`); longer values are cut.
pub const MAX_PARAM_VALUE: usize = 6000;
/// Characters of a tag value (`MAX_TAG_VAL_LENGTH`); longer values are cut.
pub const MAX_TAG_VALUE: usize = 8000;

/// A metric for `log-batch`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The key.
    pub key: String,
    /// The value (finite).
    pub value: f64,
}

/// One `log-batch` request's worth of data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Metrics.
    pub metrics: Vec<Metric>,
    /// Params.
    pub params: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

impl Batch {
    fn entities(&self) -> usize {
        self.metrics.len() + self.params.len() + self.tags.len()
    }
}

/// Rough JSON size of one entry, generous enough to stay under the byte limit.
fn entry_size(key: &str, value: &str) -> usize {
    // {"key":"…","value":"…","timestamp":…,"step":0}, with escapes up to 6 bytes a char.
    64 + key.len() * 2 + value.len() * 2
}

/// Splits metrics, params and tags into `log-batch` requests that each stay within MLflow's
/// limits: 1000 metrics, 100 params, 100 tags, 1000 entities and under 1 MB.
pub fn batches(
    metrics: Vec<Metric>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
) -> Vec<Batch> {
    let mut out = vec![Batch::default()];
    let mut size = 0usize;
    let budget = MAX_BATCH_BYTES - 4096;
    enum Item {
        M(Metric),
        P(String, String),
        T(String, String),
    }
    let items = params
        .into_iter()
        .map(|(k, v)| Item::P(k, v))
        .chain(tags.into_iter().map(|(k, v)| Item::T(k, v)))
        .chain(metrics.into_iter().map(Item::M));
    for item in items {
        let item_size = match &item {
            Item::M(m) => entry_size(&m.key, "0.00000000000000000"),
            Item::P(k, v) | Item::T(k, v) => entry_size(k, v),
        };
        let current = out.last_mut().expect("never empty");
        let full = current.entities() >= MAX_ENTITIES_PER_BATCH
            || size + item_size > budget
            || match &item {
                Item::M(_) => current.metrics.len() >= MAX_METRICS_PER_BATCH,
                Item::P(..) => current.params.len() >= MAX_PARAMS_PER_BATCH,
                Item::T(..) => current.tags.len() >= MAX_TAGS_PER_BATCH,
            };
        if full && current.entities() > 0 {
            out.push(Batch::default());
            size = 0;
        }
        let current = out.last_mut().expect("never empty");
        size += item_size;
        match item {
            Item::M(m) => current.metrics.push(m),
            Item::P(k, v) => current.params.push((k, v)),
            Item::T(k, v) => current.tags.push((k, v)),
        }
    }
    out.retain(|b| b.entities() > 0);
    out
}

/// Cuts `value` to at most `max` characters.
pub(super) fn cut(value: String, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((i, _)) => value[..i].to_string(),
        None => value,
    }
}

/// A metric key MLflow accepts: letters, digits, `_ - . space /`; others become `_`.
pub fn metric_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-. /".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub(super) fn kv(pairs: &[(String, String)], max: usize) -> Vec<Value> {
    pairs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": cut(v.clone(), max)}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(n: usize) -> Vec<Metric> {
        (0..n)
            .map(|i| Metric {
                key: format!("m{i}"),
                value: i as f64,
            })
            .collect()
    }

    fn pairs(n: usize, len: usize) -> Vec<(String, String)> {
        (0..n).map(|i| (format!("k{i}"), "x".repeat(len))).collect()
    }

    #[test]
    fn batches_respect_every_limit() {
        let b = batches(metrics(2500), pairs(250, 10), pairs(150, 10));
        for batch in &b {
            assert!(batch.metrics.len() <= MAX_METRICS_PER_BATCH);
            assert!(batch.params.len() <= MAX_PARAMS_PER_BATCH);
            assert!(batch.tags.len() <= MAX_TAGS_PER_BATCH);
            assert!(batch.entities() <= MAX_ENTITIES_PER_BATCH);
        }
        assert_eq!(b.iter().map(|b| b.metrics.len()).sum::<usize>(), 2500);
        assert_eq!(b.iter().map(|b| b.params.len()).sum::<usize>(), 250);
        assert_eq!(b.iter().map(|b| b.tags.len()).sum::<usize>(), 150);
        // Order is kept within each kind.
        let keys: Vec<&str> = b
            .iter()
            .flat_map(|b| &b.metrics)
            .map(|m| m.key.as_str())
            .collect();
        assert_eq!(keys[..3], ["m0", "m1", "m2"]);
    }

    #[test]
    fn batches_stay_under_a_megabyte() {
        // 100 params of 6000 chars and 100 tags of 8000 chars: ~2.8 MB of JSON in all.
        let b = batches(Vec::new(), pairs(100, 6000), pairs(100, 8000));
        assert!(b.len() >= 3, "{}", b.len());
        for batch in &b {
            let body = json!({
                "params": kv(&batch.params, MAX_PARAM_VALUE),
                "tags": kv(&batch.tags, MAX_TAG_VALUE),
            });
            assert!(serde_json::to_vec(&body).unwrap().len() < MAX_BATCH_BYTES);
        }
    }

    #[test]
    fn nothing_to_log_is_no_request() {
        assert!(batches(Vec::new(), Vec::new(), Vec::new()).is_empty());
    }

    #[test]
    fn metric_keys_are_sanitized_and_values_cut() {
        assert_eq!(metric_key("bleu@4 (corpus)"), "bleu_4 _corpus_");
        assert_eq!(cut("héllo".into(), 2), "hé");
        assert_eq!(cut("ab".into(), 5), "ab");
    }
}
