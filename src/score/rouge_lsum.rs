//! ROUGE-Lsum's summary-level LCS, as `rouge-score`'s `_summary_level_lcs`.

use super::ngram::Interner;

/// Hits, reference tokens and candidate tokens of ROUGE-Lsum between two summaries given
/// as sentences of token ids (ids in `1..=alphabet`).
///
/// For each reference sentence, the union of the reference positions on one longest
/// common subsequence with each candidate sentence counts, each token at most as often as
/// it occurs in both summaries. Which LCS is taken matters, so the dynamic-programming
/// table is walked back exactly as `rouge-score`'s `_backtrack_norec` does.
pub(crate) fn summary_lcs(
    reference: &[Vec<u32>],
    candidate: &[Vec<u32>],
    alphabet: u32,
) -> (usize, usize, usize) {
    let m: usize = reference.iter().map(Vec::len).sum();
    let n: usize = candidate.iter().map(Vec::len).sum();
    if m == 0 || n == 0 {
        return (0, m, n);
    }
    let mut left_r = vec![0u32; alphabet as usize + 1];
    let mut left_c = vec![0u32; alphabet as usize + 1];
    for &t in reference.iter().flatten() {
        left_r[t as usize] += 1;
    }
    for &t in candidate.iter().flatten() {
        left_c[t as usize] += 1;
    }
    let mut hits = 0;
    let mut table = Vec::new();
    let mut union = Vec::new();
    for r in reference {
        union.clear();
        for c in candidate {
            lcs_positions(r, c, &mut table, &mut union);
        }
        union.sort_unstable();
        union.dedup();
        for &i in &union {
            let t = r[i] as usize;
            if left_c[t] > 0 && left_r[t] > 0 {
                hits += 1;
                left_c[t] -= 1;
                left_r[t] -= 1;
            }
        }
    }
    (hits, m, n)
}

/// Appends to `out` (last first) the positions in `r` of the LCS of `r` and `c` that
/// `rouge-score`'s `lcs_ind` finds (`table` is scratch space).
fn lcs_positions(r: &[u32], c: &[u32], table: &mut Vec<u32>, out: &mut Vec<usize>) {
    let cols = c.len() + 1;
    // Every cell is written before it is read but the first row and column, which are 0:
    // zeroing the whole table for each pair of sentences was a tenth of ROUGE-Lsum's time.
    let cells = (r.len() + 1) * cols;
    if table.len() < cells {
        table.resize(cells, 0);
    }
    table[..cols].fill(0);
    // Row by row, as slices, so that the inner loop needs no bounds checks.
    for (i, &token) in r.iter().enumerate() {
        let (done, rest) = table.split_at_mut((i + 1) * cols);
        let prev = &done[i * cols..];
        let cur = &mut rest[..cols];
        cur[0] = 0;
        for (j, &other) in c.iter().enumerate() {
            cur[j + 1] = if token == other {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
    }
    let (mut i, mut j) = (r.len(), c.len());
    while i > 0 && j > 0 {
        if r[i - 1] == c[j - 1] {
            out.push(i - 1);
            i -= 1;
            j -= 1;
        } else if table[i * cols + j - 1] > table[(i - 1) * cols + j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
}

/// The sentences of a summary as `rouge-score` splits them without `split_summaries`:
/// on `\n`, empty lines dropped.
pub(crate) fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|s| !s.is_empty())
}

/// Interns the sentences' tokens of two summaries with one interner.
pub(crate) fn intern_sentences<'a>(
    a: &'a [Vec<std::borrow::Cow<'a, str>>],
    b: &'a [Vec<std::borrow::Cow<'a, str>>],
) -> (Vec<Vec<u32>>, Vec<Vec<u32>>, u32) {
    let mut interner = Interner::new();
    let mut ids = |s: &'a [Vec<std::borrow::Cow<'a, str>>]| -> Vec<Vec<u32>> {
        s.iter()
            .map(|sentence| interner.ids(sentence.iter().map(AsRef::as_ref)))
            .collect()
    };
    let a = ids(a);
    let b = ids(b);
    (a, b, interner.alphabet())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_counts_at_most_as_often_as_in_both_summaries() {
        // Reference "a b" / "a b", candidate "a b": the second sentence finds no token left.
        let (hits, m, n) = summary_lcs(&[vec![1, 2], vec![1, 2]], &[vec![1, 2]], 2);
        assert_eq!((hits, m, n), (2, 4, 2));
        assert_eq!(summary_lcs(&[vec![]], &[vec![1]], 1), (0, 0, 1));
    }

    #[test]
    fn the_walk_back_prefers_the_candidate_side_only_when_strictly_longer() {
        // r = a b, c = b a: both LCS have length 1; rouge-score keeps "a" (i moves first).
        let mut out = Vec::new();
        lcs_positions(&[1, 2], &[2, 1], &mut Vec::new(), &mut out);
        assert_eq!(out, [0]);
    }

    #[test]
    fn rouge_scores_own_lcs_examples() {
        // rouge_scorer_test.py: testLcsTable, testSummaryLevelLcs.
        let mut out = Vec::new();
        lcs_positions(&[1, 2, 3, 4, 5], &[2, 5, 3, 4], &mut Vec::new(), &mut out);
        out.reverse();
        assert_eq!(out, [1, 2, 3]);
        out.clear();
        lcs_positions(&[1, 2, 3, 4, 5], &[8, 9], &mut Vec::new(), &mut out);
        assert!(out.is_empty());
        let cans = [vec![1, 2, 6, 7, 8], vec![1, 3, 8, 9, 5]];
        assert_eq!(summary_lcs(&[vec![1, 2, 3, 4, 5]], &cans, 9), (4, 5, 10));
        assert_eq!(summary_lcs(&[vec![1]], &[vec![]], 1), (0, 1, 0));
    }

    #[test]
    fn sentences_split_on_newlines_only() {
        let got: Vec<&str> = sentences("a. b\n\nc\r\n d\n").collect();
        assert_eq!(got, ["a. b", "c\r", " d"]);
    }
}
