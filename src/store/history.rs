//! Run history: listing runs with filters, removing them, merging a sharded run's shards.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::SystemTime;

use super::{write_record, RunRecord, RunStatus, Store, StoreError, StoredRun, RESULTS_FILE};
use crate::analysis::summary::SummaryBuilder;
use crate::diagnostic::{Diagnostic, ExitClass};
use crate::gate::{self, GateOverrides};
use crate::plan::shard::{plan_hash, Shard};

/// Which runs `runs list` shows; every filter that is set must match.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    /// Runs that include this eval.
    pub eval: Option<String>,
    /// Runs that include this prompt: a name (`sentiment`) matches every version, a
    /// reference (`sentiment@2`) that version only.
    pub prompt: Option<String>,
    /// Runs that include this model.
    pub model: Option<String>,
    /// Runs started at or after this RFC 3339 time.
    pub since: Option<SystemTime>,
}

impl RunFilter {
    /// Whether `record` passes every filter.
    pub fn matches(&self, record: &RunRecord) -> bool {
        if let Some(eval) = &self.eval {
            if !record.evals.iter().any(|e| &e.name == eval) {
                return false;
            }
        }
        if let Some(prompt) = &self.prompt {
            let hit = record.evals.iter().flat_map(|e| &e.prompts).any(|p| {
                if prompt.contains('@') {
                    &p.reference == prompt || &p.requested == prompt
                } else {
                    p.reference.split('@').next() == Some(prompt.as_str())
                }
            });
            if !hit {
                return false;
            }
        }
        if let Some(model) = &self.model {
            if !record
                .evals
                .iter()
                .any(|e| e.models.iter().any(|m| m == model))
            {
                return false;
            }
        }
        if let Some(since) = self.since {
            match humantime::parse_rfc3339_weak(&record.started_at) {
                Ok(started) if started >= since => {}
                _ => return false,
            }
        }
        true
    }
}

/// Why shard records could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Fewer than two records.
    #[error("merging needs at least two runs, got {given}")]
    TooFew {
        /// How many were given.
        given: usize,
    },
    /// A record that is not a shard.
    #[error("run `{run}` is not a shard run (it was not made with `--shard K/N`)")]
    NotAShard {
        /// The run id.
        run: String,
    },
    /// Records of different plans.
    #[error(
        "run `{run}` comes from a different plan than `{first}` (plan hash {found} ≠ {expected})"
    )]
    DifferentPlan {
        /// The first run.
        first: String,
        /// The mismatching run.
        run: String,
        /// The first run's plan hash.
        expected: String,
        /// This run's.
        found: String,
    },
    /// Records split a different number of ways.
    #[error(
        "run `{run}` is shard {found} but `{first}` is shard {expected}: the shard counts differ"
    )]
    ShardCount {
        /// The first run.
        first: String,
        /// The mismatching run.
        run: String,
        /// The first run's shard.
        expected: Shard,
        /// This run's shard.
        found: Shard,
    },
    /// The same shard twice.
    #[error("runs `{a}` and `{b}` are both shard {shard}")]
    Overlap {
        /// One run.
        a: String,
        /// The other.
        b: String,
        /// The shard they share.
        shard: Shard,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Diagnostic for MergeError {
    /// Runs that cannot be merged are input; a store that cannot be written is not.
    fn exit_class(&self) -> ExitClass {
        match self {
            MergeError::Store(StoreError::Io { .. }) => ExitClass::Runtime,
            _ => ExitClass::Input,
        }
    }

    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            MergeError::TooFew { .. } | MergeError::NotAShard { .. } => Some(
                "pass the run ids of every shard: `prompteval runs merge RUN_1 RUN_2 …`".into(),
            ),
            MergeError::DifferentPlan { .. } => Some(
                "every shard must run the same evals, prompt versions, models, dataset and filters; rerun the odd shard at the same commit".into(),
            ),
            MergeError::ShardCount { .. } | MergeError::Overlap { .. } => Some(
                "`prompteval runs list` shows each run's shard; merge one run per shard K of the same N".into(),
            ),
            MergeError::Store(e) => e.hint(),
        }
    }
}

/// What [`Store::merge`] made.
#[derive(Debug)]
pub struct MergeOutcome {
    /// The merged run.
    pub run: StoredRun,
    /// Shards of `1..=N` not among the merged runs (empty when complete).
    pub missing: Vec<Shard>,
}

impl Store {
    /// Every stored run that passes `filter`, newest first. Unreadable records are
    /// returned as errors in place, so one bad directory does not hide the others.
    pub fn list(
        &self,
        filter: &RunFilter,
    ) -> Result<Vec<Result<StoredRun, StoreError>>, StoreError> {
        let mut out = Vec::new();
        for id in self.run_ids()? {
            match self.load(&id) {
                Ok(run) if filter.matches(&run.record) => out.push(Ok(run)),
                Ok(_) => {}
                Err(e) => out.push(Err(e)),
            }
        }
        Ok(out)
    }

    /// Deletes a stored run (by id, unique prefix or `latest`) and returns its id.
    pub fn remove(&self, id: &str) -> Result<String, StoreError> {
        let run = self.load(id)?;
        std::fs::remove_dir_all(&run.dir).map_err(StoreError::io("remove", &run.dir))?;
        Ok(run.record.run_id)
    }

    /// Deletes all but the newest `keep` runs; returns the ids removed, newest first.
    pub fn gc(&self, keep: usize) -> Result<Vec<String>, StoreError> {
        let ids = self.run_ids()?;
        let mut removed = Vec::new();
        for id in ids.into_iter().skip(keep) {
            let dir = self.runs_dir().join(&id);
            std::fs::remove_dir_all(&dir).map_err(StoreError::io("remove", &dir))?;
            removed.push(id);
        }
        Ok(removed)
    }

    /// Merges the records of a sharded run into one new stored run with one summary and
    /// one gate verdict. Refuses records from different plans, with different shard
    /// counts, or holding the same shard twice. Missing shards are allowed and reported.
    pub fn merge(&self, ids: &[String], new_id: &str) -> Result<MergeOutcome, MergeError> {
        if ids.len() < 2 {
            return Err(MergeError::TooFew { given: ids.len() });
        }
        let runs: Vec<StoredRun> = ids
            .iter()
            .map(|id| self.load(id))
            .collect::<Result<_, _>>()?;
        let (hash, missing) = check_shards(&runs)?;
        let dir = self.create_run(new_id)?;
        let (summary, completed) = join_results(&dir, &runs)?;
        let record = merged_record(&runs, new_id, hash, summary, completed);
        write_record(&dir, &record)?;
        Ok(MergeOutcome {
            run: StoredRun { dir, record },
            missing,
        })
    }
}

/// Checks that `runs` are shards of one plan, each shard once; returns the plan hash and
/// the shards missing.
fn check_shards(runs: &[StoredRun]) -> Result<(String, Vec<Shard>), MergeError> {
    let first = &runs[0].record;
    let expected_hash = record_plan_hash(first);
    let first_shard = first.settings.shard.ok_or_else(|| MergeError::NotAShard {
        run: first.run_id.clone(),
    })?;
    let mut seen: BTreeMap<u32, String> = BTreeMap::new();
    for run in runs {
        let r = &run.record;
        let shard = r.settings.shard.ok_or_else(|| MergeError::NotAShard {
            run: r.run_id.clone(),
        })?;
        let found = record_plan_hash(r);
        if found != expected_hash {
            return Err(MergeError::DifferentPlan {
                first: first.run_id.clone(),
                run: r.run_id.clone(),
                expected: expected_hash,
                found,
            });
        }
        if shard.count != first_shard.count {
            return Err(MergeError::ShardCount {
                first: first.run_id.clone(),
                run: r.run_id.clone(),
                expected: first_shard,
                found: shard,
            });
        }
        if let Some(other) = seen.insert(shard.index, r.run_id.clone()) {
            return Err(MergeError::Overlap {
                a: other,
                b: r.run_id.clone(),
                shard,
            });
        }
    }
    let missing = (1..=first_shard.count)
        .filter(|k| !seen.contains_key(k))
        .map(|index| Shard {
            index,
            count: first_shard.count,
        })
        .collect();
    Ok((expected_hash, missing))
}

/// Writes the results of every shard into the merged run's `results.jsonl`, summing them
/// up on the way (rows in the first record's plan order); returns the summary and the
/// number of cells.
fn join_results(dir: &Path, runs: &[StoredRun]) -> Result<(SummaryBuilder, usize), StoreError> {
    let results_path = dir.join(RESULTS_FILE);
    let file =
        std::fs::File::create(&results_path).map_err(StoreError::io("create", &results_path))?;
    let mut out = std::io::BufWriter::new(file);
    let mut summary = SummaryBuilder::new();
    for eval in &runs[0].record.evals {
        for p in &eval.prompts {
            for m in &eval.models {
                summary.declare(&eval.name, &p.reference, m);
            }
        }
    }
    let mut completed = 0;
    for run in runs {
        let path = run.results_path();
        for cell in super::read_results(&path).map_err(StoreError::io("read", &path))? {
            let cell = cell.map_err(StoreError::io("read", &path))?;
            summary.add(&cell);
            let line = serde_json::to_string(&cell).map_err(|e| StoreError::Io {
                action: "serialize",
                path: results_path.clone(),
                source: std::io::Error::other(e),
            })?;
            writeln!(out, "{line}").map_err(StoreError::io("write", &results_path))?;
            completed += 1;
        }
    }
    out.flush()
        .map_err(StoreError::io("write", &results_path))?;
    Ok((summary, completed))
}

/// The merged run's record: the first shard's, with the times, status and counts of all
/// of them, one summary and the gate's verdict over it.
fn merged_record(
    runs: &[StoredRun],
    new_id: &str,
    hash: String,
    summary: SummaryBuilder,
    completed: usize,
) -> RunRecord {
    let mut record = runs[0].record.clone();
    record.run_id = new_id.to_string();
    record.started_at = runs
        .iter()
        .map(|r| r.record.started_at.clone())
        .min()
        .unwrap_or_default();
    record.finished_at = runs
        .iter()
        .filter_map(|r| r.record.finished_at.clone())
        .max();
    record.duration_ms = runs
        .iter()
        .filter_map(|r| r.record.duration_ms)
        .reduce(f64::max);
    record.status = if runs.iter().all(|r| r.record.status == RunStatus::Finished) {
        RunStatus::Finished
    } else if runs.iter().any(|r| r.record.status == RunStatus::Failed) {
        RunStatus::Failed
    } else {
        RunStatus::Interrupted
    };
    record.total_cells = runs.iter().map(|r| r.record.total_cells).sum();
    record.completed_cells = completed;
    record.settings.shard = None;
    record.settings.plan_hash = Some(hash);
    record.settings.merged_from = runs.iter().map(|r| r.record.run_id.clone()).collect();
    record.summary = summary.finish();
    let overrides = GateOverrides {
        fail_under: record.settings.fail_under,
        ..GateOverrides::default()
    };
    let verdict = gate::judge(
        |eval| record.gate_config(eval),
        &record.summary,
        None,
        &overrides,
    );
    // Shards that did not all finish make a merged run that did not either: no verdict.
    record.gate = (record.status == RunStatus::Finished).then_some(verdict);
    record
}

/// The plan hash stored in the record, or computed for records written before it was.
fn record_plan_hash(record: &RunRecord) -> String {
    record
        .settings
        .plan_hash
        .clone()
        .unwrap_or_else(|| plan_hash(record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::GateConfig;
    use crate::run::events::CellResult;
    use crate::store::{EvalInfo, PromptInfo, RunSettings, RECORD_VERSION};
    use std::sync::Arc;

    fn record(id: &str, started: &str, shard: Option<Shard>) -> RunRecord {
        RunRecord {
            version: RECORD_VERSION,
            run_id: id.into(),
            status: RunStatus::Finished,
            started_at: started.into(),
            finished_at: Some(started.into()),
            duration_ms: Some(10.0),
            prompteval_version: "0.1.0".into(),
            git: None,
            settings: RunSettings {
                concurrency: 1,
                shard,
                ..RunSettings::default()
            },
            providers: BTreeMap::new(),
            evals: vec![EvalInfo {
                name: "sentiment".into(),
                path: "evals/sentiment.yaml".into(),
                description: None,
                dataset: "datasets/r.csv".into(),
                dataset_hash: "sha256:d".into(),
                cases: 4,
                repeat: 1,
                prompts: vec![PromptInfo {
                    requested: "sentiment@production".into(),
                    reference: "sentiment@2".into(),
                    path: "prompts/sentiment/v2.jinja".into(),
                    hash: "sha256:p".into(),
                }],
                models: vec!["echo".into()],
                gate: GateConfig::default(),
            }],
            total_cells: 4,
            completed_cells: 4,
            summary: Vec::new(),
            gate: None,
        }
    }

    fn cell(case: &str, pass: bool) -> CellResult {
        CellResult {
            eval: "sentiment".into(),
            prompt: "sentiment@2".into(),
            model: "echo".into(),
            case_id: case.into(),
            repeat: 0,
            vars: Arc::new(serde_json::Map::new()),
            output: Some("x".into()),
            error: None,
            tool_calls: Vec::new(),
            finish_reason: None,
            latency_ms: 1.0,
            queue_ms: None,
            tokens_in: Some(1),
            tokens_out: Some(1),
            cost_usd: Some(0.0),
            cached: false,
            pass,
            score: if pass { 1.0 } else { 0.0 },
            assertions: Vec::new(),
            ..Default::default()
        }
    }

    fn store_run(store: &Store, record: &RunRecord, cells: &[CellResult]) {
        let dir = store.create_run(&record.run_id).unwrap();
        write_record(&dir, record).unwrap();
        let lines: String = cells
            .iter()
            .map(|c| serde_json::to_string(c).unwrap() + "\n")
            .collect();
        std::fs::write(dir.join(RESULTS_FILE), lines).unwrap();
    }

    #[test]
    fn filters_match_eval_prompt_model_and_time() {
        let r = record("a", "2026-11-27T10:00:00Z", None);
        let f = |f: RunFilter| f.matches(&r);
        assert!(f(RunFilter::default()));
        assert!(f(RunFilter {
            eval: Some("sentiment".into()),
            ..Default::default()
        }));
        assert!(!f(RunFilter {
            eval: Some("other".into()),
            ..Default::default()
        }));
        for (prompt, hit) in [
            ("sentiment", true),
            ("sentiment@2", true),
            ("sentiment@production", true),
            ("sentiment@1", false),
            ("senti", false),
        ] {
            let got = f(RunFilter {
                prompt: Some(prompt.into()),
                ..Default::default()
            });
            assert_eq!(got, hit, "{prompt}");
        }
        assert!(!f(RunFilter {
            model: Some("gpt".into()),
            ..Default::default()
        }));
        let at = |s| humantime::parse_rfc3339_weak(s).ok();
        assert!(f(RunFilter {
            since: at("2026-11-27T09:00:00Z"),
            ..Default::default()
        }));
        assert!(!f(RunFilter {
            since: at("2026-11-27T11:00:00Z"),
            ..Default::default()
        }));
    }

    #[test]
    fn gc_keeps_the_newest_and_rm_removes_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        for id in [
            "20260101-000000-0001",
            "20260102-000000-0002",
            "20260103-000000-0003",
        ] {
            store_run(&store, &record(id, "2026-01-01T00:00:00Z", None), &[]);
        }
        assert_eq!(
            store.gc(2).unwrap(),
            vec!["20260101-000000-0001".to_string()]
        );
        assert_eq!(store.remove("latest").unwrap(), "20260103-000000-0003");
        assert_eq!(
            store.run_ids().unwrap(),
            vec!["20260102-000000-0002".to_string()]
        );
        assert!(store.remove("nope").is_err());
    }

    #[test]
    fn merges_shards_into_one_summary() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let s = |index| Some(Shard { index, count: 2 });
        let mut a = record("a", "2026-01-01T00:00:00Z", s(1));
        a.total_cells = 2;
        let mut b = record("b", "2026-01-01T00:00:05Z", s(2));
        b.total_cells = 2;
        store_run(&store, &a, &[cell("1", true), cell("3", false)]);
        store_run(&store, &b, &[cell("2", true), cell("4", true)]);
        let merged = store.merge(&["a".into(), "b".into()], "m").unwrap();
        assert!(merged.missing.is_empty());
        let r = &merged.run.record;
        assert_eq!(r.settings.merged_from, vec!["a", "b"]);
        assert_eq!(r.settings.shard, None);
        assert_eq!((r.total_cells, r.completed_cells), (4, 4));
        assert_eq!(r.summary.len(), 1);
        assert_eq!((r.summary[0].passed, r.summary[0].failed), (3, 1));
        assert_eq!(r.started_at, "2026-01-01T00:00:00Z");
        let reloaded = store.load("m").unwrap();
        assert_eq!(&reloaded.record, r);
        use crate::store::ResultSource;
        assert_eq!(reloaded.results().unwrap().count(), 4);
    }

    #[test]
    fn merge_refuses_other_plans_overlaps_and_non_shards() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let s = |index, count| Some(Shard { index, count });
        store_run(&store, &record("a", "2026-01-01T00:00:00Z", s(1, 2)), &[]);
        store_run(&store, &record("b", "2026-01-01T00:00:00Z", s(1, 2)), &[]);
        store_run(&store, &record("c", "2026-01-01T00:00:00Z", s(2, 3)), &[]);
        store_run(&store, &record("d", "2026-01-01T00:00:00Z", None), &[]);
        let mut other = record("e", "2026-01-01T00:00:00Z", s(2, 2));
        other.evals[0].prompts[0].hash = "sha256:changed".into();
        store_run(&store, &other, &[]);
        let merge = |ids: &[&str]| {
            store
                .merge(&ids.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "m")
                .unwrap_err()
        };
        assert!(matches!(merge(&["a", "b"]), MergeError::Overlap { .. }));
        assert!(matches!(merge(&["a", "c"]), MergeError::ShardCount { .. }));
        assert!(matches!(merge(&["a", "d"]), MergeError::NotAShard { .. }));
        assert!(matches!(
            merge(&["a", "e"]),
            MergeError::DifferentPlan { .. }
        ));
        assert!(matches!(merge(&["a"]), MergeError::TooFew { .. }));
        assert!(merge(&["a", "e"]).hint().is_some());
        assert!(!store.runs_dir().join("m").exists());
    }
}
