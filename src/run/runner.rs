//! The scheduler: walks the plan's cells in a stable order, keeps at most `concurrency`
//! in flight, hands every event to the sinks, and stops cleanly when cancelled.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::cell::{run_cell, CellId};
use super::group::{finish_group, is_grouped, Held};
use crate::events::{CellResult, RunEvent, RunSink};
use crate::provider::RetryNotice;
use crate::shard::Shard;
use crate::spec::Plan;

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Cells in flight at once (each provider also keeps its own limit).
    pub concurrency: usize,
    /// Run only the cells of this shard (`--shard K/N`).
    pub shard: Option<Shard>,
    /// Cells already finished (a resumed run): not run again.
    pub skip: Option<Arc<HashSet<CellKey>>>,
}

/// A cell's identity across processes: what a stored result says it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CellKey {
    /// The eval's name.
    pub eval: String,
    /// The prompt reference (`sentiment@2`).
    pub prompt: String,
    /// The model name.
    pub model: String,
    /// The case id.
    pub case_id: String,
    /// The repeat index.
    pub repeat: u32,
}

impl CellKey {
    /// The key of a stored result.
    pub fn of(cell: &crate::events::CellResult) -> CellKey {
        CellKey {
            eval: cell.eval.clone(),
            prompt: cell.prompt.clone(),
            model: cell.model.clone(),
            case_id: cell.case_id.clone(),
            repeat: cell.repeat,
        }
    }

    fn of_id(plan: &Plan, id: &CellId) -> CellKey {
        let eval = &plan.evals[id.eval];
        CellKey {
            eval: eval.name.clone(),
            prompt: eval.prompts[id.prompt].version.reference(),
            model: eval.models[id.model].clone(),
            case_id: eval.rows[id.row].id.clone(),
            repeat: id.repeat,
        }
    }
}

/// How the run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// Cells that finished.
    pub completed: usize,
    /// Whether the run was cancelled before every cell finished.
    pub interrupted: bool,
}

/// The run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A sink (the store, a reporter) failed.
    #[error("failed to record results")]
    Sink(#[source] std::io::Error),
    /// A cell task panicked: a bug in prompteval.
    #[error("internal error in a cell task")]
    Panic(#[source] tokio::task::JoinError),
}

/// A new run id: UTC time to the second and a random suffix (`20261127-031502-a1b2`).
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now();
    let text = humantime::format_rfc3339_seconds(now).to_string();
    // 2026-11-27T03:15:02Z → 20261127-031502
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    // The suffix is the millisecond × 16 plus a random nibble: ids of runs started in the
    // same second still sort in start order (`latest`), and two runs started in the same
    // millisecond (shards on one machine) rarely collide.
    let millis = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_millis())
        .unwrap_or(0);
    format!(
        "{}-{}-{:04x}",
        &digits[..8],
        &digits[8..14],
        millis * 16 + u32::from(fastrand::u8(..16))
    )
}

/// What a task of the runner returns.
enum Done {
    /// A cell, scored except for its group assertions.
    Cell(CellId, Box<CellResult>),
    /// The finished cells of a group.
    Group(Vec<CellResult>),
}

/// How many cells of `plan` a run executes: all of them, or those of `shard`.
pub fn planned_cells(plan: &Plan, shard: Option<Shard>) -> usize {
    match shard {
        None => plan.total_cells(),
        Some(_) => cells(plan, shard).count(),
    }
}

fn cells(plan: &Plan, shard: Option<Shard>) -> impl Iterator<Item = CellId> + '_ {
    all_cells(plan).filter(move |id| {
        shard.is_none_or(|s| {
            let eval = &plan.evals[id.eval];
            s.contains(&eval.name, &eval.rows[id.row].id, id.repeat)
        })
    })
}

fn all_cells(plan: &Plan) -> impl Iterator<Item = CellId> + '_ {
    plan.evals.iter().enumerate().flat_map(|(e, eval)| {
        (0..eval.rows.len()).flat_map(move |row| {
            (0..eval.prompts.len()).flat_map(move |prompt| {
                (0..eval.models.len()).flat_map(move |model| {
                    (0..eval.repeat).map(move |repeat| CellId {
                        eval: e,
                        row,
                        prompt,
                        model,
                        repeat,
                    })
                })
            })
        })
    })
}

/// Runs every cell of `plan`, sending events to `sinks` in order. Returns when all cells
/// finished or `cancel` resolved (in-flight requests are dropped, finished cells kept).
pub async fn execute(
    plan: Arc<Plan>,
    options: &RunOptions,
    run_id: &str,
    sinks: &mut [&mut dyn RunSink],
    cancel: impl Future<Output = ()>,
) -> Result<RunOutcome, RunError> {
    let emit = |sinks: &mut [&mut dyn RunSink], event: RunEvent<'_>| -> Result<(), RunError> {
        for sink in sinks.iter_mut() {
            sink.on_event(&event).map_err(RunError::Sink)?;
        }
        Ok(())
    };
    let skip = options.skip.clone().filter(|s| !s.is_empty());
    let todo = |id: &CellId| {
        skip.as_ref()
            .is_none_or(|s| !s.contains(&CellKey::of_id(&plan, id)))
    };
    let total = match &skip {
        None => planned_cells(&plan, options.shard),
        Some(_) => cells(&plan, options.shard).filter(|id| todo(id)).count(),
    };
    emit(
        sinks,
        RunEvent::Started {
            run_id,
            total_cells: total,
        },
    )?;

    // Retry notices from every provider, tagged with the model's name.
    let (notice_tx, mut notice_rx) = mpsc::unbounded_channel::<(String, RetryNotice)>();
    let mut per_model: BTreeMap<&str, mpsc::UnboundedSender<RetryNotice>> = BTreeMap::new();
    for name in plan.providers.keys() {
        let (tx, mut rx) = mpsc::unbounded_channel::<RetryNotice>();
        let forward = notice_tx.clone();
        let name_owned = name.clone();
        tokio::spawn(async move {
            while let Some(n) = rx.recv().await {
                if forward.send((name_owned.clone(), n)).is_err() {
                    break;
                }
            }
        });
        per_model.insert(name.as_str(), tx);
    }
    drop(notice_tx);

    let concurrency = options.concurrency.max(1);
    let mut pending = cells(&plan, options.shard).filter(|id| todo(id));
    let mut tasks = JoinSet::new();
    let mut completed = 0;
    let mut interrupted = false;
    let mut held = Held::default();
    tokio::pin!(cancel);
    loop {
        while tasks.len() < concurrency {
            let Some(id) = pending.next() else { break };
            let model = plan.evals[id.eval].models[id.model].as_str();
            let retries = per_model.get(model).cloned();
            let plan = plan.clone();
            tasks.spawn(async move { Done::Cell(id, Box::new(run_cell(plan, id, retries).await)) });
        }
        if tasks.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            () = &mut cancel => {
                tasks.abort_all();
                interrupted = true;
                break;
            }
            Some((model, notice)) = notice_rx.recv() => {
                emit(sinks, RunEvent::Retrying {
                    model: &model,
                    attempt: notice.attempt,
                    reason: &notice.reason,
                    window: notice.window.map(|w| (w.window, w.limit)),
                })?;
            }
            joined = tasks.join_next() => {
                let Some(joined) = joined else { continue };
                let finished = match joined.map_err(RunError::Panic)? {
                    Done::Cell(id, cell) if is_grouped(&plan, &id) => {
                        if let Some((key, group)) = held.add(&plan, id, *cell) {
                            let plan = plan.clone();
                            tasks.spawn(async move {
                                Done::Group(finish_group(plan, key, group).await)
                            });
                        }
                        continue;
                    }
                    Done::Cell(_, cell) => vec![*cell],
                    Done::Group(cells) => cells,
                };
                for cell in &finished {
                    completed += 1;
                    emit(sinks, RunEvent::CellFinished(cell))?;
                }
            }
        }
    }
    drop(per_model);
    // Let aborted tasks wind down so no request outlives the run.
    while tasks.join_next().await.is_some() {}
    if interrupted {
        emit(sinks, RunEvent::Interrupted)?;
    }
    emit(sinks, RunEvent::Finished { completed })?;
    Ok(RunOutcome {
        completed,
        interrupted,
    })
}

#[cfg(test)]
mod run_id_tests {
    use super::new_run_id;

    #[test]
    fn run_ids_sort_in_start_order_within_a_second() {
        let a = new_run_id();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let b = new_run_id();
        // Unless the second ticked over in between, the suffix orders them.
        if a[..15] == b[..15] {
            assert!(a < b, "{a} !< {b}");
        }
        assert_eq!(a.len(), "20261127-031502-a1b2".len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time() {
        let id = new_run_id();
        assert_eq!(id.len(), "20261127-031502-a1b2".len());
        assert!(id[..8].chars().all(|c| c.is_ascii_digit()));
    }
}
