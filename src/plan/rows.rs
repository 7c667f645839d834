//! The rows an eval runs: every row of its dataset, or the ones `--case` and `--limit`
//! select, held as indexes into the shared dataset rather than as copies.

use std::sync::Arc;

use crate::dataset::{Dataset, DatasetError, Row};

/// The selected rows of an eval, in file order. The rows themselves stay in the dataset
/// (held, or read again from its file: [`Dataset::row`]), which several evals may share,
/// so a selection costs four bytes a row and no selection costs nothing.
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
    ) -> Result<Self, DatasetError> {
        let mut selected = Vec::new();
        for (i, row) in dataset.rows().enumerate() {
            if selected.len() >= limit.unwrap_or(usize::MAX) {
                break;
            }
            if keep(&*row?) {
                selected.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        Ok(Rows {
            dataset,
            selected: Some(selected),
        })
    }

    /// How many rows are selected.
    pub fn len(&self) -> usize {
        match &self.selected {
            Some(indexes) => indexes.len(),
            None => self.dataset.len(),
        }
    }

    /// Whether the dataset's rows are held in memory (not read again from its file).
    pub fn is_held(&self) -> bool {
        self.dataset.is_held()
    }

    /// Whether no row is selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th selected row; an error when it cannot be read again from its file
    /// (or there are not that many).
    pub fn row(&self, i: usize) -> Result<Arc<Row>, DatasetError> {
        match &self.selected {
            Some(indexes) => match indexes.get(i) {
                Some(&at) => self.dataset.row(at as usize),
                None => self.dataset.row(usize::MAX),
            },
            None => self.dataset.row(i),
        }
    }

    /// The selected rows that can be read, in file order: the first that cannot (its
    /// file changed since the load) ends them, and is kept in `failed`.
    pub fn readable<'a>(
        &'a self,
        failed: &'a mut Option<DatasetError>,
    ) -> impl Iterator<Item = Arc<Row>> + 'a {
        self.iter().map_while(move |row| match row {
            Ok(row) => Some(row),
            Err(e) => {
                failed.get_or_insert(e);
                None
            }
        })
    }

    /// The selected rows, in file order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Result<Arc<Row>, DatasetError>> + '_ {
        (0..self.len()).map(|i| self.row(i))
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

    fn ids(rows: &Rows) -> Vec<String> {
        rows.iter().map(|r| r.unwrap().id.clone()).collect()
    }

    #[test]
    fn all_reads_every_row_of_the_dataset() {
        let rows = Rows::all(dataset(&["a", "b", "c"]));
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.row(1).unwrap().id, "b");
        assert_eq!(rows.row(2).unwrap().id, "c");
        assert!(rows.row(3).is_err());
        assert_eq!(ids(&rows), ["a", "b", "c"]);
    }

    #[test]
    fn filtered_keeps_file_order_and_the_limit() {
        let rows = Rows::filtered(
            dataset(&["a1", "b", "a2", "a3"]),
            |r| r.id.starts_with('a'),
            Some(2),
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(ids(&rows), ["a1", "a2"]);
        assert_eq!(rows.row(1).unwrap().line, 4);
        assert!(rows.row(2).is_err());
        assert_eq!(rows.iter().next_back().unwrap().unwrap().id, "a2");
    }

    #[test]
    fn an_empty_selection_is_empty() {
        let rows = Rows::filtered(dataset(&["a"]), |_| false, None).unwrap();
        assert!(rows.is_empty());
        assert_eq!(rows.iter().count(), 0);
    }
}
