//! What a rescore can score again: the cells a stored run and the current plan share, what
//! each side lacks, and the plan trimmed to it (judges left out, model servers not started).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::plan::{EvalPlan, Plan};
use crate::run::events::CellResult;
use crate::run::replay::Replay;
use crate::run::CellKey;
use crate::score::{is_judge, ProviderRole};
use crate::store::RunRecord;

/// The cells of `plan` that `stored` holds, and one sentence for each thing left out:
/// prompts, models and cases on one side only, and groups (`select-best`) that lack a cell.
pub(crate) fn intersect(
    plan: &Plan,
    record: &RunRecord,
    stored: Vec<CellResult>,
) -> (Replay, Vec<String>) {
    let evals: BTreeSet<&str> = plan.evals.iter().map(|e| e.name.as_str()).collect();
    let mut replay = Replay::new(stored.into_iter().filter(|c| evals.contains(&*c.eval)));
    let mut skipped = Vec::new();
    let mut wanted = HashSet::new();
    let run = &record.run_id;
    for eval in &plan.evals {
        let info = record.evals.iter().find(|e| e.name == eval.name);
        let ran_prompts: Vec<&str> = info
            .map(|i| i.prompts.iter().map(|p| p.reference.as_str()).collect())
            .unwrap_or_default();
        for p in &eval.prompts {
            let reference = p.version.reference();
            match info.and_then(|i| i.prompts.iter().find(|q| q.reference == reference)) {
                None => skipped.push(format!(
                    "prompt {reference} of eval `{}` is not in run {run} (it ran {}): not rescored",
                    eval.name,
                    ran_prompts.join(", ")
                )),
                Some(q) if q.hash != p.version.hash => skipped.push(format!(
                    "note: prompt {reference} changed since run {run}: its stored outputs are scored as they are"
                )),
                Some(_) => {}
            }
        }
        for m in &eval.models {
            if info.is_some_and(|i| !i.models.contains(m)) {
                skipped.push(format!(
                    "model `{m}` of eval `{}` is not in run {run}: not rescored",
                    eval.name
                ));
            }
        }
        let missing = missing_cases(eval, &replay);
        if !missing.is_empty() {
            skipped.push(format!(
                "{} of eval `{}` not in run {run}: not rescored",
                cases(&missing),
                eval.name
            ));
        }
        for key in keys(eval) {
            wanted.insert(key);
        }
        drop_incomplete_groups(eval, &mut replay, &mut skipped);
    }
    let mut gone: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let stale: Vec<CellKey> = replay
        .cells()
        .map(CellKey::of)
        .filter(|k| !wanted.contains(k))
        .collect();
    for key in &stale {
        let eval = plan.evals.iter().find(|e| e.name == key.eval);
        // A row that cannot be read again fails the run that follows, at that row.
        let known_row =
            eval.is_some_and(|e| e.rows.iter().any(|r| r.is_ok_and(|r| r.id == key.case_id)));
        if !known_row {
            let name = eval.map_or("", |e| e.name.as_str());
            gone.entry(name).or_default().insert(key.case_id.clone());
        }
    }
    for key in &stale {
        replay.remove(key);
    }
    for (eval, ids) in gone {
        let ids: Vec<String> = ids.into_iter().collect();
        skipped.push(format!(
            "{} of run {run} no longer in eval `{eval}` (its dataset or filters changed): not rescored",
            cases(&ids)
        ));
    }
    (replay, skipped)
}

/// `case `a``, or `3 cases (a, b, c)`, or `12 cases (a, b, c, d, e, …)`.
fn cases(ids: &[String]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(|i| format!("`{i}`")).collect();
    let more = if ids.len() > 5 { ", …" } else { "" };
    match ids.len() {
        1 => format!("case {}", shown[0]),
        n => format!("{n} cases ({}{more})", shown.join(", ")),
    }
}

/// Every cell of `eval`, as its key.
fn keys(eval: &EvalPlan) -> Vec<CellKey> {
    let mut keys = Vec::new();
    for row in eval.rows.iter().flatten() {
        for p in &eval.prompts {
            for m in &eval.models {
                keys.extend((0..eval.repeat).map(|repeat| CellKey {
                    eval: eval.name.clone(),
                    prompt: p.version.reference(),
                    model: m.clone(),
                    case_id: row.id.clone(),
                    repeat,
                }));
            }
        }
    }
    keys
}

/// The ids of the rows of `eval` of which `replay` holds no cell at all.
fn missing_cases(eval: &EvalPlan, replay: &Replay) -> Vec<String> {
    let held: BTreeSet<&str> = replay
        .cells()
        .filter(|c| c.eval == eval.name)
        .map(|c| c.case_id.as_str())
        .collect();
    eval.rows
        .iter()
        .flatten()
        .filter(|r| !held.contains(r.id.as_str()))
        .map(|r| r.id.clone())
        .collect()
}

/// A group assertion compares every prompt × model output of a case: the cells of a group
/// the stored run lacks a member of are left out (the runner would wait for it forever).
fn drop_incomplete_groups(eval: &EvalPlan, replay: &mut Replay, skipped: &mut Vec<String>) {
    let mut dropped = 0;
    for (r, row) in eval.rows.iter().flatten().enumerate() {
        let grouped = eval
            .assertions
            .iter()
            .chain(eval.row_asserts(r))
            .any(|a| a.is_group());
        if !grouped {
            continue;
        }
        for repeat in 0..eval.repeat {
            let group: Vec<CellKey> = keys(eval)
                .into_iter()
                .filter(|k| k.case_id == row.id && k.repeat == repeat)
                .collect();
            if group.iter().all(|k| replay.get(k).is_some()) {
                continue;
            }
            for key in &group {
                dropped += usize::from(replay.remove(key).is_some());
            }
        }
    }
    if dropped > 0 {
        skipped.push(format!(
            "{dropped} cells of eval `{}` belong to cases whose group assertions compare outputs the run lacks: not rescored",
            eval.name
        ));
    }
}

/// Removes every judge assertion (`--no-judges`); returns how many each type lost.
pub(crate) fn drop_judges(plan: &mut Plan) -> BTreeMap<String, usize> {
    let mut dropped = BTreeMap::new();
    let mut keep = |a: &crate::score::Assertion| {
        let kind = a.spec().kind.trim_start_matches("not-");
        let judge = is_judge(kind);
        if judge {
            *dropped.entry(kind.to_string()).or_insert(0) += 1;
        }
        !judge
    };
    for eval in &mut plan.evals {
        eval.assertions.retain(&mut keep);
        for row in &mut eval.row_assertions {
            row.retain(&mut keep);
        }
    }
    dropped
}

/// Keeps only the providers the remaining assertions call (graders, embedders): the
/// models' own answers come from the stored run, so their providers (and local model
/// servers) are not started.
pub(crate) fn keep_scorer_providers(plan: &mut Plan) {
    let mut used = BTreeSet::new();
    for eval in &plan.evals {
        let all = eval
            .assertions
            .iter()
            .chain(eval.row_assertions.iter().flatten());
        for a in all {
            let Some((role, written)) = a.provider_role() else {
                continue;
            };
            let default = match role {
                ProviderRole::Grader => &eval.grader,
                ProviderRole::Embedder => &eval.embedder,
            };
            if let Some(name) = written.map(str::to_string).or_else(|| default.clone()) {
                used.insert(name);
            }
        }
    }
    plan.providers.retain(|name, _| used.contains(name));
}
