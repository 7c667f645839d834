//! A run's summary rows grouped by eval ([`EvalGroup`]), and the lookup from a cell to its
//! row ([`RowIndex`]).

use std::collections::HashMap;

use crate::analysis::summary::SummaryRow;
use crate::run::events::CellResult;
use crate::store::{EvalInfo, RunRecord};

/// One eval with its summary rows, in summary order.
pub struct EvalGroup<'a> {
    /// The eval's name.
    pub name: &'a str,
    /// What the record says about the eval, when it lists it.
    pub info: Option<&'a EvalInfo>,
    /// Its prompt × model rows.
    pub rows: Vec<&'a SummaryRow>,
}

impl EvalGroup<'_> {
    /// Repeats per case (1 when unknown).
    pub fn repeat(&self) -> u32 {
        self.info.map_or(1, |i| i.repeat.max(1))
    }
}

/// The evals of a run with their summary rows: the record's evals in order, then any eval
/// that only the summary names.
pub fn eval_groups(record: &RunRecord) -> Vec<EvalGroup<'_>> {
    let mut groups: Vec<EvalGroup<'_>> = record
        .evals
        .iter()
        .map(|info| EvalGroup {
            name: &info.name,
            info: Some(info),
            rows: Vec::new(),
        })
        .collect();
    for row in &record.summary {
        match groups.iter_mut().find(|g| g.name == row.eval) {
            Some(group) => group.rows.push(row),
            None => groups.push(EvalGroup {
                name: &row.eval,
                info: None,
                rows: vec![row],
            }),
        }
    }
    groups
}

/// Finds the (eval, row) of a cell from its eval, prompt and model: the position of its
/// summary row among [`eval_groups`].
pub struct RowIndex {
    /// Eval → prompt → model → position; nested so that a lookup borrows the cell's names
    /// instead of building a key per cell.
    index: HashMap<String, HashMap<String, ByModel>>,
}

/// Model → the position of its row, for one eval and prompt.
type ByModel = HashMap<String, (usize, usize)>;

impl RowIndex {
    /// The index of `groups`: position `(i, j)` is `groups[i].rows[j]`.
    pub fn new(groups: &[EvalGroup<'_>]) -> Self {
        let mut index: HashMap<String, HashMap<String, ByModel>> = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            for (r, row) in group.rows.iter().enumerate() {
                index
                    .entry(row.eval.clone())
                    .or_default()
                    .entry(row.prompt.clone())
                    .or_default()
                    .entry(row.model.clone())
                    .or_insert((g, r));
            }
        }
        RowIndex { index }
    }

    /// The (eval, row) of a cell; `None` for a cell the summary does not know.
    pub fn find(&self, cell: &CellResult) -> Option<(usize, usize)> {
        self.find_names(&cell.eval, &cell.prompt, &cell.model)
    }

    /// The (eval, row) of the cell of `eval`, `prompt` and `model`.
    pub fn find_names(&self, eval: &str, prompt: &str, model: &str) -> Option<(usize, usize)> {
        self.index.get(eval)?.get(prompt)?.get(model).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn groups_follow_the_record() {
        let (record, _) = fixture::small();
        let groups = eval_groups(&record);
        let names: Vec<_> = groups.iter().map(|g| g.name).collect();
        assert_eq!(names, ["sentiment", "capitals"]);
        assert_eq!(groups[0].rows.len(), 4);
        assert_eq!(groups[1].repeat(), 2);
    }

    #[test]
    fn an_eval_only_the_summary_names_comes_last() {
        let (mut record, _) = fixture::small();
        record.evals.remove(0);
        let groups = eval_groups(&record);
        let names: Vec<_> = groups.iter().map(|g| g.name).collect();
        assert_eq!(names, ["capitals", "sentiment"]);
        assert!(groups[1].info.is_none());
        assert_eq!(groups[1].repeat(), 1);
    }

    #[test]
    fn cells_are_found_by_eval_prompt_and_model() {
        let (record, results) = fixture::small();
        let groups = eval_groups(&record);
        let index = RowIndex::new(&groups);
        assert_eq!(index.find(&results[0]), Some((0, 0)));
        let mut stray = results[0].clone();
        stray.model = "other".into();
        assert_eq!(index.find(&stray), None);
    }
}
