//! Pass 1 of the case matrix: a tally per case and column, kept only while a case's cells
//! are still arriving, and the few cases of each rank that can be shown.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::run::events::CellStatus;
use crate::store::CellHead;

use super::human;

/// What pass 1 keeps about one case in one column.
#[derive(Clone, Copy, Default)]
pub(super) struct Tally {
    /// The lowest repeat seen, whose status and output are shown.
    pub first_repeat: u32,
    /// That repeat's status; `None` while no cell was seen.
    pub first: Option<CellStatus>,
    /// Cells (repeats) that passed.
    pub passed: u32,
    /// Cells (repeats) seen.
    pub total: u32,
    /// Where the shown repeat's line is ([`crate::store::ResultLines::position`]).
    pub first_at: u64,
}

impl Tally {
    fn add(&mut self, cell: &CellHead<'_>, at: u64) {
        let status = cell.status();
        if self.first.is_none() || cell.repeat < self.first_repeat {
            self.first = Some(status);
            self.first_repeat = cell.repeat;
            self.first_at = at;
        }
        self.total += 1;
        if status == CellStatus::Pass {
            self.passed += 1;
        }
    }
}

/// A case with its tallies, one per column.
pub(super) struct Case {
    /// The case id.
    pub id: String,
    /// Its tallies, in column order.
    pub tallies: Vec<Tally>,
    /// Where its first line is: the input preview is read from it.
    pub first_at: u64,
    /// When it was first seen: the order among cases whose ids sort the same.
    seen: u64,
}

impl Case {
    /// 0: columns disagree (or repeats do); 1: every column fails or errors; 2: all pass.
    pub fn rank(&self) -> u8 {
        let seen: Vec<&Tally> = self.tallies.iter().filter(|t| t.total > 0).collect();
        let all_pass = seen.iter().all(|t| t.passed == t.total);
        if all_pass {
            return 2;
        }
        let flaky = seen.iter().any(|t| t.passed > 0 && t.passed < t.total);
        let first = seen.first().and_then(|t| t.first);
        let mixed = seen.iter().any(|t| t.first != first);
        if flaky || mixed {
            0
        } else {
            1
        }
    }

    /// Natural case order, then the order they were first seen in.
    fn order(&self, other: &Case) -> Ordering {
        human::natural_cmp(&self.id, &other.id).then(self.seen.cmp(&other.seen))
    }
}

/// A case in a heap whose top is the last one in case order.
struct Last(Case);

impl PartialEq for Last {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Last {}

impl PartialOrd for Last {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Last {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.order(&other.0)
    }
}

/// The first `limit` cases of one rank in case order, and how many there were.
struct Kept {
    limit: usize,
    count: usize,
    cases: BinaryHeap<Last>,
}

impl Kept {
    fn add(&mut self, case: Case) {
        self.count += 1;
        if self.limit == 0 {
            return;
        }
        if self.cases.len() == self.limit {
            match self.cases.peek() {
                Some(last) if case.order(&last.0) == Ordering::Less => {
                    self.cases.pop();
                }
                _ => return,
            }
        }
        self.cases.push(Last(case));
    }

    fn into_sorted(self) -> Vec<Case> {
        self.cases
            .into_sorted_vec()
            .into_iter()
            .map(|l| l.0)
            .collect()
    }
}

/// Pass 1's view of one eval.
///
/// A case's tallies are kept while its cells arrive; once it has all of them (a cell per
/// column and repeat) it is ranked and kept only if it is among the first `max_rows` of
/// its rank, so memory does not grow with the cases: cells are stored about in case
/// order, and only the cases in flight when they were written are open at once. A case
/// still open at the end (an interrupted run, a shard) is ranked then.
pub(super) struct EvalCases {
    columns: usize,
    cells_per_case: u32,
    open: HashMap<String, (Case, u32)>,
    seen: u64,
    kept: [Kept; 3],
}

impl EvalCases {
    /// An eval of `columns` prompt × model columns and `repeat` repeats, of which at
    /// most `max_rows` cases are shown.
    pub fn new(columns: usize, repeat: u32, max_rows: usize) -> Self {
        let kept = || Kept {
            limit: max_rows,
            count: 0,
            cases: BinaryHeap::new(),
        };
        EvalCases {
            columns,
            cells_per_case: u32::try_from(columns)
                .unwrap_or(u32::MAX)
                .saturating_mul(repeat.max(1)),
            open: HashMap::new(),
            seen: 0,
            kept: [kept(), kept(), kept()],
        }
    }

    /// Counts one cell of `column`, whose line is at `at`.
    pub fn add(&mut self, column: usize, cell: &CellHead<'_>, at: u64) {
        if !self.open.contains_key(&*cell.case_id) {
            let case = Case {
                id: cell.case_id.to_string(),
                tallies: vec![Tally::default(); self.columns],
                first_at: at,
                seen: self.seen,
            };
            self.seen += 1;
            self.open.insert(case.id.clone(), (case, 0));
        }
        let Some((case, cells)) = self.open.get_mut(&*cell.case_id) else {
            return;
        };
        case.tallies[column].add(cell, at);
        *cells += 1;
        if *cells >= self.cells_per_case {
            if let Some((case, _)) = self.open.remove(&*cell.case_id) {
                self.close(case);
            }
        }
    }

    fn close(&mut self, case: Case) {
        let rank = usize::from(case.rank());
        self.kept[rank].add(case);
    }

    /// Ranks the cases still open and chooses the rows to show.
    pub fn finish(mut self) -> Chosen {
        let mut open: Vec<Case> = self.open.drain().map(|(_, (case, _))| case).collect();
        open.sort_by_key(|c| c.seen);
        for case in open {
            self.close(case);
        }
        let [mixed, failing, passing] = self.kept;
        let total = mixed.count + failing.count + passing.count;
        let not_passing = mixed.count + failing.count;
        let rows = choose_rows(mixed, failing, passing);
        Chosen {
            total,
            not_passing,
            rows,
        }
    }
}

/// The rows chosen from one eval's cases.
pub(super) struct Chosen {
    /// The eval's cases.
    pub total: usize,
    /// Of them, the ones that do not pass everywhere.
    pub not_passing: usize,
    /// The cases to show, in display order.
    pub rows: Vec<Case>,
}

/// The cases to show, in display order: disagreements, then failures everywhere, then
/// passes, each in natural case order, at most the `limit` of each. When disagreements
/// and failures everywhere do not both fit, each kind gets half the rows (the other's
/// unused share going to it), so cases failing in every column are never all hidden
/// behind disagreeing ones.
fn choose_rows(mixed: Kept, failing: Kept, passing: Kept) -> Vec<Case> {
    let max_rows = mixed.limit;
    let (mixed_count, failing_count) = (mixed.count, failing.count);
    let (mixed, failing) = (mixed.into_sorted(), failing.into_sorted());
    if mixed_count + failing_count <= max_rows {
        return mixed
            .into_iter()
            .chain(failing)
            .chain(passing.into_sorted())
            .take(max_rows)
            .collect();
    }
    let half = max_rows.div_ceil(2);
    let failing_rows = failing_count.min(max_rows - mixed_count.min(half));
    let mixed_rows = max_rows - failing_rows;
    mixed
        .into_iter()
        .take(mixed_rows)
        .chain(failing.into_iter().take(failing_rows))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::run::events::CellResult;

    /// Adds a cell as pass 1 reads it: the head of its stored line.
    fn add(cases: &mut EvalCases, column: usize, cell: &CellResult) {
        let line = serde_json::to_string(cell).unwrap();
        cases.add(column, &CellHead::parse(&line).unwrap(), 0);
    }

    fn ids(chosen: &Chosen) -> Vec<&str> {
        chosen.rows.iter().map(|c| c.id.as_str()).collect()
    }

    fn pass_and_fail() -> (CellResult, CellResult) {
        let (_, results) = fixture::small();
        let mut pass = results[0].clone();
        pass.pass = true;
        pass.error = None;
        let mut fail = pass.clone();
        fail.pass = false;
        (pass, fail)
    }

    /// Cases of every rank, given as (id, column 0's cell, column 1's cell).
    fn cases_of<'a>(
        max_rows: usize,
        rows: impl IntoIterator<Item = (String, &'a CellResult, &'a CellResult)>,
    ) -> EvalCases {
        let mut cases = EvalCases::new(2, 1, max_rows);
        for (id, a, b) in rows {
            let (mut a, mut b) = (a.clone(), b.clone());
            a.case_id = id.clone();
            b.case_id = id;
            add(&mut cases, 0, &a);
            add(&mut cases, 1, &b);
        }
        cases
    }

    #[test]
    fn ranks_disagreement_before_uniform_failure() {
        let (pass, fail) = pass_and_fail();
        let rows = [
            ("a", &pass, &pass),
            ("b", &fail, &fail),
            ("c", &pass, &fail),
        ];
        let rows = rows.map(|(id, a, b)| (id.to_string(), a, b));
        let chosen = cases_of(2, rows.clone()).finish();
        assert_eq!(ids(&chosen), ["c", "b"]);
        assert_eq!((chosen.total, chosen.not_passing), (3, 2));
        let all = cases_of(usize::MAX, rows).finish();
        let ranks: Vec<u8> = all.rows.iter().map(Case::rank).collect();
        assert_eq!((ids(&all), ranks), (vec!["c", "b", "a"], vec![0, 1, 2]));
    }

    #[test]
    fn failures_everywhere_are_shown_beside_many_disagreements() {
        let (pass, fail) = pass_and_fail();
        // Ten disagreeing cases (m0…m9), three failing everywhere (f0…f2), one passing.
        let rows = || {
            (0..10)
                .map(|i| (format!("m{i}"), &pass, &fail))
                .chain((0..3).map(|i| (format!("f{i}"), &fail, &fail)))
                .chain([("p".to_string(), &pass, &pass)])
        };
        assert_eq!(ids(&cases_of(4, rows()).finish()), ["m0", "m1", "f0", "f1"]);
        // The failing ones need fewer than half: the disagreements get the rest.
        assert_eq!(
            ids(&cases_of(8, rows()).finish()),
            ["m0", "m1", "m2", "m3", "m4", "f0", "f1", "f2"]
        );
        assert_eq!(cases_of(20, rows()).finish().rows.len(), 14);
    }

    /// Issue 19: a case is closed once it has all its cells, so pass 1 holds only the
    /// cases whose cells are still arriving; one still open at the end is ranked then.
    #[test]
    fn only_cases_in_flight_are_held() {
        let (pass, fail) = pass_and_fail();
        let mut cases = EvalCases::new(2, 1, 3);
        for i in (0..1000).rev() {
            let (mut a, mut b) = (pass.clone(), fail.clone());
            a.case_id = format!("c{i}");
            b.case_id = format!("c{i}");
            add(&mut cases, 0, &a);
            assert_eq!(cases.open.len(), 1);
            add(&mut cases, 1, &b);
            assert!(cases.open.is_empty());
        }
        let mut last = pass.clone();
        last.case_id = "c0000".into();
        add(&mut cases, 0, &last);
        let chosen = cases.finish();
        assert_eq!(ids(&chosen), ["c0", "c1", "c2"]);
        assert_eq!((chosen.total, chosen.not_passing), (1001, 1000));
    }
}
