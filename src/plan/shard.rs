//! Sharded runs: which cells of a plan belong to shard K of N, and the plan hash that tells
//! whether two shard records come from the same plan.
//!
//! A cell belongs to shard `K/N` when a stable hash (SHA-256, not the process-seeded std
//! hasher) of its eval, prompt reference, model, case id and repeat is `K-1` modulo `N`.
//! The assignment depends on nothing but those five values, so every CI machine computes
//! the same slice, whatever its concurrency or platform.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::RunRecord;

/// One shard of a run: `index` of `count`, both from 1 (`2/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, `1..=count`.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

/// A `--shard` value that is not `K/N` with `1 <= K <= N`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid shard `{given}`: expected K/N with 1 <= K <= N (e.g. `2/4`)")]
pub struct ParseShardError {
    /// As given.
    pub given: String,
}

impl FromStr for Shard {
    type Err = ParseShardError;

    fn from_str(s: &str) -> Result<Shard, ParseShardError> {
        let err = || ParseShardError {
            given: s.to_string(),
        };
        let (k, n) = s.trim().split_once('/').ok_or_else(err)?;
        let index: u32 = k.trim().parse().map_err(|_| err())?;
        let count: u32 = n.trim().parse().map_err(|_| err())?;
        if index == 0 || count == 0 || index > count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the cells of case `case_id` (repeat `repeat`) of `eval` belong to this
    /// shard. Every prompt × model of a case lands on the same shard, so that comparisons
    /// within a case (`select-best`) see all of its outputs.
    pub fn contains(&self, eval: &str, case_id: &str, repeat: u32) -> bool {
        cell_bucket(eval, case_id, repeat, self.count) == self.index - 1
    }
}

/// The shard (from 0) the cells of a case × repeat fall in when the plan is split `count`
/// ways: every prompt × model of the case goes together.
pub fn cell_bucket(eval: &str, case_id: &str, repeat: u32, count: u32) -> u32 {
    let mut h = Sha256::new();
    // Length-prefixed fields: `a`,`bc` and `ab`,`c` must not collide.
    for field in [eval, case_id] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    h.update(repeat.to_le_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
}

/// The hash of what a run planned to do: per eval its name, dataset hash, selected case
/// count, repeat, prompt versions (reference and content hash) and models, plus the case
/// filter and limit. Two shard records merge only when their plan hashes are equal.
///
/// Computed from the record, so records written before the hash was stored compare too.
pub fn plan_hash(record: &RunRecord) -> String {
    let evals: Vec<serde_json::Value> = record
        .evals
        .iter()
        .map(|e| {
            serde_json::json!({
                "name": e.name,
                "dataset_hash": e.dataset_hash,
                "cases": e.cases,
                "repeat": e.repeat,
                "prompts": e.prompts.iter().map(|p| [&p.reference, &p.hash]).collect::<Vec<_>>(),
                "models": e.models,
            })
        })
        .collect();
    let value = serde_json::json!({
        "evals": evals,
        "case_filter": record.settings.case_filter,
        "limit": record.settings.limit,
    });
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(" 1 / 1 ".parse(), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/4", "5/4", "1/0", "x/2", "3", "1/2/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(Shard { index: 3, count: 8 }.to_string(), "3/8");
    }

    #[test]
    fn every_cell_is_in_exactly_one_shard() {
        let n = 3;
        let mut sizes = [0; 3];
        for case in 0..300 {
            let case = case.to_string();
            let owners: Vec<u32> = (1..=n)
                .filter(|&k| Shard { index: k, count: n }.contains("e", &case, 0))
                .collect();
            assert_eq!(owners.len(), 1);
            sizes[(owners[0] - 1) as usize] += 1;
        }
        // Roughly even: each shard gets a fair share of 300 cells.
        assert!(sizes.iter().all(|&s| s > 60), "{sizes:?}");
    }

    #[test]
    fn assignment_is_stable_across_machines() {
        // Fixed values: a change here moves cells between shards for existing CI setups.
        let buckets: Vec<u32> = (0..8)
            .map(|i| cell_bucket("sentiment", &i.to_string(), 0, 4))
            .collect();
        assert_eq!(buckets, STABLE_BUCKETS);
        assert_ne!(
            cell_bucket("a", "bc1", 0, 1 << 30),
            cell_bucket("ab", "c1", 0, 1 << 30)
        );
    }

    const STABLE_BUCKETS: [u32; 8] = [2, 3, 3, 0, 1, 0, 0, 2];
}
