//! The rows an eval runs: every row of its dataset, or the ones `--case` and `--limit`
//! select, held as indexes into the shared dataset rather than as copies.

use std::ops::{Index, Range};
use std::sync::Arc;

use crate::dataset::{Dataset, Row};

/// The selected rows of an eval, in file order. `rows[i]`, `rows.len()`, `rows.get(i)` and
/// `rows.iter()` read like a slice of [`Row`]s; the rows themselves stay in the dataset,
/// which several evals may share, so a selection costs four bytes a row and no selection
/// costs nothing.
#[derive(Clone, Debug)]
pub struct Rows {
    dataset: Arc<Dataset>,
    /// Indexes into the dataset's rows; `None` when every row is selected.
    selected: Option<Vec<u32>>,
}

impl Rows {
    /// Every row of `dataset`.
    pub fn all(dataset: Arc<Dataset>) -> Self {
        Rows {
            dataset,
            selected: None,
        }
    }

    /// The rows of `dataset` that `keep` accepts, at most `limit` of them.
    pub fn filtered(
        dataset: Arc<Dataset>,
        mut keep: impl FnMut(&Row) -> bool,
        limit: Option<usize>,
    ) -> Self {
        let selected = dataset
            .rows
            .iter()
            .enumerate()
            .filter(|(_, row)| keep(row))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        Rows {
            dataset,
            selected: Some(selected),
        }
    }

    /// How many rows are selected.
    pub fn len(&self) -> usize {
        match &self.selected {
            Some(indexes) => indexes.len(),
            None => self.dataset.rows.len(),
        }
    }

    /// Whether no row is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th selected row, if there are that many.
    pub fn get(&self, i: usize) -> Option<&Row> {
        match &self.selected {
            Some(indexes) => self.dataset.rows.get(*indexes.get(i)? as usize),
            None => self.dataset.rows.get(i),
        }
    }

    /// The selected rows, in file order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            rows: self,
            range: 0..self.len(),
        }
    }
}

/// The selected rows, in file order (see [`Rows::iter`]).
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    rows: &'a Rows,
    range: Range<usize>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Row;

    fn next(&mut self) -> Option<&'a Row> {
        self.range.next().map(|i| &self.rows[i])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.range.next_back().map(|i| &self.rows[i])
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a Row;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl Index<usize> for Rows {
    type Output = Row;

    fn index(&self, i: usize) -> &Row {
        match &self.selected {
            Some(indexes) => &self.dataset.rows[indexes[i] as usize],
            None => &self.dataset.rows[i],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(ids: &[&str]) -> Arc<Dataset> {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("id,q\n");
        for id in ids {
            text.push_str(&format!("{id},x\n"));
        }
        std::fs::write(dir.path().join("d.csv"), text).unwrap();
        Arc::new(
            crate::dataset::load(dir.path(), "d.csv".as_ref())
                .unwrap()
                .0,
        )
    }

    #[test]
    fn all_reads_every_row_of_the_dataset() {
        let rows = Rows::all(dataset(&["a", "b", "c"]));
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1].id, "b");
        assert_eq!(rows.get(2).map(|r| r.id.as_str()), Some("c"));
        assert!(rows.get(3).is_none());
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn filtered_keeps_file_order_and_the_limit() {
        let rows = Rows::filtered(
            dataset(&["a1", "b", "a2", "a3"]),
            |r| r.id.starts_with('a'),
            Some(2),
        );
        assert_eq!(rows.len(), 2);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a1", "a2"]);
        assert_eq!(rows[1].line, 4);
        assert!(rows.get(2).is_none());
        assert_eq!(rows.iter().next_back().map(|r| r.id.as_str()), Some("a2"));
    }

    #[test]
    fn an_empty_selection_is_empty() {
        let rows = Rows::filtered(dataset(&["a"]), |_| false, None);
        assert!(rows.is_empty());
        assert_eq!(rows.iter().count(), 0);
    }
}
