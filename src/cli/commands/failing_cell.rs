//! The failing cell `run`'s closing lines point at, found as the cells finish.
//!
//! The closing lines used to read the whole results file back to find it: on a
//! million-cell run that was four seconds and a set of every case id (issue 19). A sink
//! now sees each cell as it is stored; only a resumed run, whose earlier cells this
//! process never saw, is read back. The case ids to tell a bare id from an anchored one
//! are the plan's rows, which the run holds anyway.

use std::collections::BTreeMap;

use crate::plan::{Plan, Rows};
use crate::run::events::{CellResult, RunEvent, RunSink};
use crate::store::{ResultSource, StoredRun};

/// What a failing cell is known by: its model, case id and repeat.
type Cell = (String, String, u32);

/// The failing cells seen so far, reduced to what choosing one of them needs.
pub(super) struct FailingCells {
    /// Per eval and prompt, the smallest failing cell.
    first: BTreeMap<(String, String), Cell>,
    /// The rows of every eval of the plan (shared with it, not copied).
    rows: Vec<Rows>,
    /// Cells seen.
    seen: usize,
}

impl RunSink for FailingCells {
    fn on_event(&mut self, event: &RunEvent<'_>) -> std::io::Result<()> {
        if let RunEvent::CellFinished { cell, .. } = event {
            self.add(cell);
        }
        Ok(())
    }
}

impl FailingCells {
    /// None seen yet, of a run of `plan`.
    pub(super) fn new(plan: &Plan) -> Self {
        Self::over(plan.evals.iter().map(|e| e.rows.clone()).collect())
    }

    /// None seen yet, of a run over `rows`.
    fn over(rows: Vec<Rows>) -> Self {
        FailingCells {
            first: BTreeMap::new(),
            rows,
            seen: 0,
        }
    }

    /// Notes one finished cell.
    pub(super) fn add(&mut self, cell: &CellResult) {
        self.seen += 1;
        if cell.pass {
            return;
        }
        let found = (cell.model.clone(), cell.case_id.clone(), cell.repeat);
        self.first
            .entry((cell.eval.clone(), cell.prompt.clone()))
            .and_modify(|first| {
                if found < *first {
                    *first = found.clone();
                }
            })
            .or_insert(found);
    }

    /// The cells of `run` this sink saw, or, when it saw fewer than the run holds (a
    /// resumed run), every stored cell read back.
    pub(super) fn of(self, run: &StoredRun) -> FailingCells {
        if self.seen >= run.record.completed_cells {
            return self;
        }
        let mut all = FailingCells::over(self.rows);
        if let Ok(cells) = run.results() {
            for cell in cells.map_while(Result::ok) {
                all.add(&cell);
            }
        }
        all
    }

    /// The case ids of the plan's rows, when every dataset is held; `None` when one is
    /// read from its file (reading it all again to word one line is not worth it: the id
    /// is anchored instead).
    fn ids(&self) -> Option<impl Iterator<Item = String> + '_> {
        if !self.rows.iter().all(Rows::is_held) {
            return None;
        }
        Some(
            self.rows
                .iter()
                .flat_map(|rows| rows.iter().flatten().map(|row| row.id.clone())),
        )
    }

    /// The `--case` (and `--prompt` / `--model` when the run has several) of a failing
    /// cell, one the gate holds when there is one: a command to copy, not a placeholder.
    pub(super) fn flags(&self, run: &StoredRun) -> Option<String> {
        let record = &run.record;
        let gated = |eval: &str, prompt: &String| {
            let prompts = record.gate_config(eval).prompts;
            prompts.is_empty() || prompts.contains(prompt)
        };
        // The smallest key makes the choice the same each run, whatever order the cells
        // finished in.
        let ((_, _, prompt), (model, case_id, _)) = self
            .first
            .iter()
            .map(|((eval, prompt), cell)| ((!gated(eval, prompt), eval, prompt), cell))
            .min_by(|a, b| a.0.cmp(&b.0))?;
        let flag = match self.ids() {
            Some(ids) => case_flag(case_id, ids),
            None => anchored(case_id),
        };
        let mut which = format!("--case {flag}");
        let rows = &record.summary;
        if rows.iter().any(|r| &r.prompt != prompt) {
            which.push_str(&format!(" --prompt {prompt}"));
        }
        if rows.iter().any(|r| &r.model != model) {
            which.push_str(&format!(" --model {model}"));
        }
        Some(which)
    }
}

/// `case_id` as a `--case` pattern: bare when no other id of `ids` contains it (the
/// pattern is a regular expression searched in each id), else anchored.
fn case_flag<S: AsRef<str>>(case_id: &str, mut ids: impl Iterator<Item = S>) -> String {
    let plain = case_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    if plain && !ids.any(|id| id.as_ref() != case_id && id.as_ref().contains(case_id)) {
        return case_id.to_string();
    }
    anchored(case_id)
}

/// `case_id` as a `--case` pattern that matches it alone.
fn anchored(case_id: &str) -> String {
    format!("'^{}$'", regex::escape(case_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(eval: &str, prompt: &str, model: &str, case: &str, pass: bool) -> CellResult {
        CellResult {
            eval: eval.into(),
            prompt: prompt.into(),
            model: model.into(),
            case_id: case.into(),
            pass,
            ..CellResult::default()
        }
    }

    #[test]
    fn a_bare_id_only_when_no_other_id_contains_it() {
        assert_eq!(case_flag("r12", ["r1", "r12", "r2"].into_iter()), "r12");
        assert_eq!(case_flag("r1", ["r1", "r12"].into_iter()), "'^r1$'");
        assert_eq!(case_flag("a.b", ["a.b"].into_iter()), "'^a\\.b$'");
    }

    #[test]
    fn the_smallest_failing_cell_of_each_prompt_is_kept() {
        let mut failing = FailingCells::over(Vec::new());
        failing.add(&cell("e", "p@1", "m", "c9", false));
        failing.add(&cell("e", "p@1", "m", "c3", false));
        failing.add(&cell("e", "p@1", "m", "c5", false));
        failing.add(&cell("e", "p@2", "m", "c1", true));
        let first = &failing.first[&("e".to_string(), "p@1".to_string())];
        assert_eq!(first.1, "c3");
        assert_eq!(failing.first.len(), 1);
        assert_eq!(failing.seen, 4);
    }
}
