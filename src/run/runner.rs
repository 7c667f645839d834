//! The scheduler: walks the plan's cells in a stable order, keeps at most `concurrency`
//! in flight, hands every event to the sinks, and stops cleanly when cancelled.
//!
//! `concurrency` worker tasks on the runtime's threads each take the next cell from one
//! shared cursor, run it, serialize its result and send it to the thread that called
//! [`execute`], which hands the results to the sinks in batches. That thread wakes when a
//! batch has gathered or a millisecond has passed, instead of once per cell: waking it for
//! every finished cell (a futex call and an inter-processor interrupt each) was a third
//! of a fully cached 20,000-cell run. It must not wait for the timer alone: a 1 ms tokio
//! sleep lasted 2.4 ms on average while the runtime's threads were busy, the queue filled
//! in one, and the workers stood idle the rest (issue 19: a million echo cells used one
//! core of two).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;

use super::cell::{run_cell, CellId};
use super::group::{finish_group, is_grouped, Held};
use super::replay::{replay_cell, Replay};
use crate::dataset::DatasetError;
use crate::plan::shard::Shard;
use crate::plan::Plan;
use crate::provider::RetryNotice;
use crate::run::events::{CellResult, InFlight, RunEvent, RunSink};

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Cells in flight at once (each provider also keeps its own limit).
    pub concurrency: usize,
    /// Run only the cells of this shard (`--shard K/N`).
    pub shard: Option<Shard>,
    /// Cells already finished (a resumed run): not run again.
    pub skip: Option<Arc<HashSet<CellKey>>>,
    /// Stored answers to score again instead of calling the models (`rescore`): only the
    /// cells it holds run.
    pub replay: Option<Arc<Replay>>,
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
    pub fn of(cell: &crate::run::events::CellResult) -> CellKey {
        CellKey {
            eval: cell.eval.clone(),
            prompt: cell.prompt.clone(),
            model: cell.model.clone(),
            case_id: cell.case_id.clone(),
            repeat: cell.repeat,
        }
    }

    fn of_id(plan: &Plan, id: &CellId, case_id: &str) -> CellKey {
        let eval = &plan.evals[id.eval];
        CellKey {
            eval: eval.name.clone(),
            prompt: eval.prompts[id.prompt].version.reference(),
            model: eval.models[id.model].clone(),
            case_id: case_id.to_string(),
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
    /// A row could not be read again from its dataset: the file changed during the run.
    #[error("a row of the dataset could not be read again")]
    Dataset(#[source] DatasetError),
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

/// What a task of the runner sends.
enum Done {
    /// A finished cell.
    Cell(Box<Finished>),
    /// A cell scored except for its group assertions, held until its group is complete.
    Held(CellId, Box<CellResult>),
    /// The finished cells of a group.
    Group(Vec<Finished>),
    /// A row that could not be read again: the run stops.
    Failed(DatasetError),
}

/// A finished cell and its line of JSON for `results.jsonl`, serialized by the task that
/// finished it rather than by the thread that handles the sinks.
struct Finished {
    cell: CellResult,
    line: String,
}

impl Finished {
    fn new(cell: CellResult) -> Finished {
        // Plain data always serializes; should it ever fail, the line says so and the
        // reader skips it.
        let line = serde_json::to_string(&cell)
            .unwrap_or_else(|e| format!("{{\"unserializable\": {:?}}}", e.to_string()));
        Finished { cell, line }
    }
}

/// How long the sink thread lets finished cells gather before handling them, when the
/// last batch was small.
const GATHER: Duration = Duration::from_millis(1);

/// Finished cells that may wait for the sink thread: workers wait when it is full, so
/// memory stays flat however many cells a run has (an unbounded queue held every result
/// of a fast run: 400 MB for 80,000 echo cells).
const QUEUE: usize = 256;

/// A batch smaller than this lets the next results gather for [`GATHER`]; a larger one
/// means results come fast, and the sink thread goes straight on.
const SMALL_BATCH: usize = QUEUE / 4;

/// How many cells of `plan` a run executes: all of them, or those of `shard`.
pub fn planned_cells(plan: &Plan, shard: Option<Shard>) -> usize {
    match shard {
        None => plan.total_cells(),
        Some(_) => cells(plan, shard, None, None).count(),
    }
}

/// How many cells of `plan` a run executes when it scores the stored answers of `replay`
/// again: those of the plan that `replay` holds.
pub fn replayed_cells(plan: &Plan, shard: Option<Shard>, replay: &Arc<Replay>) -> usize {
    cells(plan, shard, None, Some(replay.clone())).count()
}

/// The plan's cells in run order (eval, row, prompt, model, repeat), those of `shard`
/// that `skip` does not hold (and, with `replay`, that it holds). With an `Arc<Plan>` the iterator owns what it reads, so
/// worker tasks can share it.
fn cells<P: Deref<Target = Plan>>(
    plan: P,
    shard: Option<Shard>,
    skip: Option<Arc<HashSet<CellKey>>>,
    replay: Option<Arc<Replay>>,
) -> impl Iterator<Item = CellId> {
    let shapes: Vec<_> = plan
        .evals
        .iter()
        .map(|e| (e.rows.len(), e.prompts.len(), e.models.len(), e.repeat))
        .collect();
    let selected = move |id: &CellId| {
        if shard.is_none() && skip.is_none() && replay.is_none() {
            return true;
        }
        let eval = &plan.evals[id.eval];
        // A row that cannot be read is kept: its cell fails the run, saying why.
        let Ok(row) = eval.rows.row(id.row) else {
            return true;
        };
        let case_id = row.id.as_str();
        shard.is_none_or(|s| s.contains(&eval.name, case_id, id.repeat))
            && skip
                .as_ref()
                .is_none_or(|s| !s.contains(&CellKey::of_id(&plan, id, case_id)))
            && replay
                .as_ref()
                .is_none_or(|r| r.get(&CellKey::of_id(&plan, id, case_id)).is_some())
    };
    shapes
        .into_iter()
        .enumerate()
        .flat_map(|(e, (rows, prompts, models, repeat))| {
            (0..rows).flat_map(move |row| {
                (0..prompts).flat_map(move |prompt| {
                    (0..models).flat_map(move |model| {
                        (0..repeat).map(move |repeat| CellId {
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
        .filter(selected)
}

/// The shared cursor that worker tasks take cells from.
type Cursor = Arc<Mutex<Box<dyn Iterator<Item = CellId> + Send>>>;

/// The queue of finished cells, and what says a batch has gathered in it.
#[derive(Clone)]
struct Queue {
    sender: mpsc::Sender<Done>,
    /// Notified when [`SMALL_BATCH`] results or more wait.
    gathered: Arc<Notify>,
}

impl Queue {
    /// Sends `done`, waiting while the queue is full; wakes the sink thread once a batch
    /// has gathered. Fails when the receiver is gone.
    async fn send(&self, done: Done) -> Result<(), ()> {
        self.sender.send(done).await.map_err(|_| ())?;
        if QUEUE - self.sender.capacity() >= SMALL_BATCH {
            self.gathered.notify_one();
        }
        Ok(())
    }
}

/// One worker: runs the next cell of `cursor` until there is none, sending each result.
async fn worker(
    plan: Arc<Plan>,
    cursor: Cursor,
    retries: Arc<BTreeMap<String, mpsc::UnboundedSender<RetryNotice>>>,
    replay: Option<Arc<Replay>>,
    done: Queue,
    in_flight: InFlight,
) {
    loop {
        let next = cursor.lock().map(|mut c| c.next()).unwrap_or(None);
        let Some(id) = next else { return };
        let model = &plan.evals[id.eval].models[id.model];
        let notices = retries.get(model).cloned();
        let stored = replay.as_ref().and_then(|r| stored(&plan, r, &id));
        let counted = in_flight.enter();
        let cell = match stored {
            Some(stored) => replay_cell(plan.clone(), id, stored).await,
            None => run_cell(plan.clone(), id, notices).await,
        };
        drop(counted);
        let message = match cell {
            Err(e) => Done::Failed(e),
            Ok(cell) if is_grouped(&plan, &id) => Done::Held(id, Box::new(cell)),
            Ok(cell) => Done::Cell(Box::new(Finished::new(cell))),
        };
        if done.send(message).await.is_err() {
            return;
        }
    }
}

/// The stored answer `replay` holds for cell `id`.
fn stored(plan: &Plan, replay: &Replay, id: &CellId) -> Option<CellResult> {
    let row = plan.evals[id.eval].rows.row(id.row).ok()?;
    replay.get(&CellKey::of_id(plan, id, &row.id)).cloned()
}

/// One retry channel per provider, and the receiver where every provider's notices arrive
/// tagged with the model's name.
#[allow(clippy::type_complexity)]
fn retry_channels(
    plan: &Plan,
) -> (
    Arc<BTreeMap<String, mpsc::UnboundedSender<RetryNotice>>>,
    mpsc::UnboundedReceiver<(String, RetryNotice)>,
) {
    let (notice_tx, notice_rx) = mpsc::unbounded_channel::<(String, RetryNotice)>();
    let mut per_model: BTreeMap<String, mpsc::UnboundedSender<RetryNotice>> = BTreeMap::new();
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
        per_model.insert(name.clone(), tx);
    }
    (Arc::new(per_model), notice_rx)
}

/// The finished cells among `received`; cells of a group are held until the group is
/// complete, then scored together on a task of `groups` that sends them back.
fn sort_received(
    plan: &Arc<Plan>,
    received: impl Iterator<Item = Done>,
    held: &mut Held,
    groups: &mut JoinSet<()>,
    (done_tx, failed): (&Queue, &mut Option<DatasetError>),
) -> Vec<Finished> {
    let mut batch = Vec::new();
    for done in received {
        match done {
            Done::Held(id, cell) => {
                if let Some((key, group)) = held.add(plan, id, *cell) {
                    let plan = plan.clone();
                    let done = done_tx.clone();
                    groups.spawn(async move {
                        let message = match finish_group(plan, key, group).await {
                            Ok(cells) => {
                                Done::Group(cells.into_iter().map(Finished::new).collect())
                            }
                            Err(e) => Done::Failed(e),
                        };
                        let _ = done.send(message).await;
                    });
                }
            }
            Done::Cell(finished) => batch.push(*finished),
            Done::Group(cells) => batch.extend(cells),
            Done::Failed(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    batch
}

/// Sends `event` to every sink, in order.
fn emit(sinks: &mut [&mut dyn RunSink], event: RunEvent<'_>) -> Result<(), RunError> {
    for sink in sinks.iter_mut() {
        sink.on_event(&event).map_err(RunError::Sink)?;
    }
    Ok(())
}

/// Sends one `CellFinished` per cell of `batch`, then lets every sink write the batch out
/// at once; returns the number of cells.
fn emit_batch(sinks: &mut [&mut dyn RunSink], batch: &[Finished]) -> Result<usize, RunError> {
    for finished in batch {
        let (cell, line) = (&finished.cell, &finished.line);
        emit(sinks, RunEvent::CellFinished { cell, line })?;
    }
    for sink in sinks.iter_mut() {
        sink.flush().map_err(RunError::Sink)?;
    }
    Ok(batch.len())
}

/// What every worker shares.
struct Work {
    plan: Arc<Plan>,
    per_model: Arc<BTreeMap<String, mpsc::UnboundedSender<RetryNotice>>>,
    replay: Option<Arc<Replay>>,
    in_flight: InFlight,
}

/// Starts the workers (at most `total`) over the cells of the plan that `skip` and the
/// replay leave, and returns them with the queue they send to and its receiving end.
fn start_workers(
    work: Work,
    options: &RunOptions,
    skip: Option<Arc<HashSet<CellKey>>>,
    total: usize,
) -> (JoinSet<()>, Queue, mpsc::Receiver<Done>) {
    let cursor: Cursor = Arc::new(Mutex::new(Box::new(cells(
        work.plan.clone(),
        options.shard,
        skip,
        work.replay.clone(),
    ))));
    let (sender, done_rx) = mpsc::channel::<Done>(QUEUE);
    let done_tx = Queue {
        sender,
        gathered: Arc::new(Notify::new()),
    };
    let mut workers = JoinSet::new();
    for _ in 0..options.concurrency.max(1).min(total) {
        workers.spawn(worker(
            work.plan.clone(),
            cursor.clone(),
            work.per_model.clone(),
            work.replay.clone(),
            done_tx.clone(),
            work.in_flight.clone(),
        ));
    }
    (workers, done_tx, done_rx)
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
    let skip = options.skip.clone().filter(|s| !s.is_empty());
    let replay = options.replay.clone();
    let total = match (&skip, &replay) {
        (None, None) => planned_cells(&plan, options.shard),
        _ => cells(&*plan, options.shard, skip.clone(), replay.clone()).count(),
    };
    let in_flight = InFlight::default();
    let total_cells = total;
    let started = RunEvent::Started {
        run_id,
        total_cells,
        in_flight: &in_flight,
    };
    emit(sinks, started)?;
    let (per_model, mut notice_rx) = retry_channels(&plan);

    let work = Work {
        plan: plan.clone(),
        per_model,
        replay: replay.clone(),
        in_flight: in_flight.clone(),
    };
    let (mut workers, done_tx, mut done_rx) = start_workers(work, options, skip, total);
    let gathered = done_tx.gathered.clone();
    let mut groups = JoinSet::new();
    let mut completed = 0;
    let mut interrupted = false;
    let mut held = Held::default();
    let mut received = Vec::new();
    let mut failed = None;
    // After a small batch, let the next results gather (the workers go on meanwhile).
    let mut gathering = false;
    tokio::pin!(cancel);
    while completed < total {
        tokio::select! {
            biased;
            () = &mut cancel => {
                workers.abort_all();
                groups.abort_all();
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
            Some(Err(e)) = workers.join_next() => return Err(RunError::Panic(e)),
            Some(Err(e)) = groups.join_next() => return Err(RunError::Panic(e)),
            () = tokio::time::sleep(GATHER), if gathering => gathering = false,
            () = gathered.notified(), if gathering => gathering = false,
            received_now = done_rx.recv_many(&mut received, QUEUE), if !gathering => {
                let batch = sort_received(&plan, received.drain(..), &mut held, &mut groups, (&done_tx, &mut failed));
                completed += emit_batch(sinks, &batch)?;
                gathering = received_now < SMALL_BATCH;
                if failed.is_some() {
                    workers.abort_all();
                    groups.abort_all();
                    break;
                }
            }
        }
    }
    drop(done_tx);
    let outcome = RunOutcome {
        completed,
        interrupted,
    };
    end((workers, groups), failed, outcome, sinks).await
}

/// Lets the tasks (aborted ones too) wind down so that no request outlives the run, then
/// ends it: stopped by a row that could not be read, interrupted, or finished.
async fn end(
    (mut workers, mut groups): (JoinSet<()>, JoinSet<()>),
    failed: Option<DatasetError>,
    outcome: RunOutcome,
    sinks: &mut [&mut dyn RunSink],
) -> Result<RunOutcome, RunError> {
    while workers.join_next().await.is_some() {}
    while groups.join_next().await.is_some() {}
    if let Some(e) = failed {
        return Err(RunError::Dataset(e));
    }
    if outcome.interrupted {
        emit(sinks, RunEvent::Interrupted)?;
    }
    let completed = outcome.completed;
    emit(sinks, RunEvent::Finished { completed })?;
    Ok(outcome)
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
