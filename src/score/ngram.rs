//! Shared machinery of the text metrics: interning, n-gram matches, LCS, Python whitespace.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::{BitAnd, BitOr, BitXor, Shl, Shr};

/// A small, fast, non-cryptographic hasher (the "Fx" hash of rustc) for short keys.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in chunks.by_ref() {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Gives equal items equal dense ids, from 1.
///
/// The metrics compare token sequences as dense integer ids (1, 2, …; 0 is never an id),
/// which makes n-gram counting a matter of sorting packed integers instead of hashing
/// strings: the match counts are exactly the multiset intersections that the reference
/// implementations compute with `collections.Counter`.
pub(crate) struct Interner<K> {
    ids: FxMap<K, u32>,
}

impl<K: Hash + Eq> Interner<K> {
    pub(crate) fn new() -> Self {
        Interner {
            ids: FxMap::default(),
        }
    }

    /// An interner with room for `capacity` distinct items.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Interner {
            ids: FxMap::with_capacity_and_hasher(capacity, Default::default()),
        }
    }

    /// The id of `item`, assigning the next one when it is new.
    #[inline]
    pub(crate) fn id(&mut self, item: K) -> u32 {
        let next = self.ids.len() as u32 + 1;
        *self.ids.entry(item).or_insert(next)
    }

    /// The ids of `items`, in order.
    pub(crate) fn ids(&mut self, items: impl IntoIterator<Item = K>) -> Vec<u32> {
        items.into_iter().map(|item| self.id(item)).collect()
    }

    /// How many distinct items were seen: every id is in `1..=alphabet()`.
    pub(crate) fn alphabet(&self) -> u32 {
        self.ids.len() as u32
    }
}

/// Whether Python's `str.isspace` holds: Unicode `White_Space` plus the four ASCII
/// separators U+001C–U+001F, which Python's `str.split()` also splits on.
#[inline]
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.split()` without arguments.
pub(crate) fn py_split(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_py_space).filter(|s| !s.is_empty())
}

/// The number of n-grams of order `n` in a sequence of `len` items.
#[inline]
pub(crate) fn ngram_count(len: usize, n: usize) -> u64 {
    (len + 1).saturating_sub(n) as u64
}

/// For each order `n` in `1..=max_order`, the size of the multiset intersection of the
/// n-grams of `a` and of `b` (`sum(min(count_a[g], count_b[g]))` over every n-gram `g`).
///
/// Ids must be in `1..=alphabet`.
pub(crate) fn ngram_matches(a: &[u32], b: &[u32], alphabet: u32, max_order: usize) -> Vec<u64> {
    if max_order == 0 {
        return Vec::new();
    }
    let bits = 32 - alphabet.max(1).leading_zeros();
    // The slots and the side bit.
    let needed = bits as usize * max_order + 1;
    if max_order > MAX_PACKED_ORDER {
        hashed_matches(a, b, max_order)
    } else if needed <= 64 {
        packed_matches::<u64>(a, b, bits, max_order)
    } else if needed <= 128 {
        packed_matches::<u128>(a, b, bits, max_order)
    } else {
        hashed_matches(a, b, max_order)
    }
}

/// [`ngram_matches`] by counting n-grams in hash maps, for keys too wide to pack.
fn hashed_matches(a: &[u32], b: &[u32], max_order: usize) -> Vec<u64> {
    (1..=max_order)
        .map(|n| {
            let mut counts: FxMap<&[u32], u64> = FxMap::default();
            for gram in b.windows(n) {
                *counts.entry(gram).or_default() += 1;
            }
            let mut matches = 0;
            for gram in a.windows(n) {
                if let Some(c) = counts.get_mut(gram) {
                    if *c > 0 {
                        *c -= 1;
                        matches += 1;
                    }
                }
            }
            matches
        })
        .collect()
}

/// An unsigned integer that holds `max_order` ids of `bits` bits each, plus a side bit.
trait Packed:
    Copy
    + Ord
    + From<u32>
    + Shl<u32, Output = Self>
    + Shr<u32, Output = Self>
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + BitXor<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    const BITS: u32;
    fn leading_zeros(self) -> u32;
    fn trailing_zeros(self) -> u32;
}

macro_rules! packed {
    ($t:ty) => {
        impl Packed for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const BITS: u32 = <$t>::BITS;
            #[inline]
            fn leading_zeros(self) -> u32 {
                <$t>::leading_zeros(self)
            }
            #[inline]
            fn trailing_zeros(self) -> u32 {
                <$t>::trailing_zeros(self)
            }
        }
    };
}
packed!(u64);
packed!(u128);

/// The highest order that the packed keys handle; longer ones hash. The grouped pass
/// keeps one lane per order in fixed arrays of this size, which the compiler turns into
/// vector instructions.
const MAX_PACKED_ORDER: usize = 8;

/// Packs the window of `max_order` ids starting at each position of both sequences into
/// one integer, first id in the highest bits and 0 past the end, shifted left once for a
/// bit that says which sequence it came from, and sorts them all together. Then the
/// n-grams of every order are sorted too (as the top `n` slots), and one pass over the
/// keys finds every group of equal n-grams for all orders at once: where two neighbours
/// first differ says which groups end there.
///
/// This replaced one merge of two sorted lists per order, whose unpredictable branches
/// cost about a fifth of the text-metric benchmark (`scripts/bench-score.sh`).
fn packed_matches<K: Packed>(a: &[u32], b: &[u32], bits: u32, max_order: usize) -> Vec<u64> {
    let slots = bits * max_order as u32;
    let top = bits * (max_order as u32 - 1);
    let keys = sorted_keys::<K>(a, b, bits, top);
    // Unused high bits of the key type once the side bit is shifted out.
    let unused = K::BITS - slots;
    // `slots_in[z]` is `z / bits`: how many whole slots `z` bits make (a table, because
    // dividing twice per key was a third of this function's time).
    let mut slots_in = [0u8; 129];
    for (z, s) in slots_in.iter_mut().enumerate() {
        *s = (z as u32 / bits) as u8;
    }
    // Per order (index `n` is order `n + 1`): where its open group of equal n-grams
    // started, how many keys of `a` came before that, and the matches of the groups
    // already closed. A group's keys of `a` and of `b` are then differences of running
    // counts, so each key only touches the orders whose group it closes.
    let mut start = [0u32; MAX_PACKED_ORDER];
    let mut start_a = [0u32; MAX_PACKED_ORDER];
    let mut found = [0u32; MAX_PACKED_ORDER];
    let mut seen_a = 0u32;
    // How many whole n-grams the previous key holds: a group's keys share its first
    // n ids, so they hold the n-gram alike, and a group without it counts nothing.
    let mut prev_valid = 0;
    let mut prev = K::ZERO;
    let mut close = |n: usize, at: u32, seen_a: u32, prev_valid: usize| {
        let in_a = seen_a - start_a[n];
        let in_b = at - start[n] - in_a;
        if n < prev_valid {
            found[n] += in_a.min(in_b);
        }
        start[n] = at;
        start_a[n] = seen_a;
    };
    for (at, &key) in (0u32..).zip(&keys) {
        let raw = key >> 1;
        // Orders whose n-gram differs from the previous key's end their group here.
        let diff = raw ^ prev;
        let same = if diff == K::ZERO {
            max_order
        } else {
            usize::from(slots_in[(diff.leading_zeros() - unused) as usize])
        };
        for n in same..max_order {
            close(n, at, seen_a, prev_valid);
        }
        // The first id is never 0, so the key holds `valid` whole n-grams: the zero
        // slots past the end of the sequence are all at the bottom.
        prev_valid = max_order - usize::from(slots_in[raw.trailing_zeros() as usize]);
        seen_a += u32::from(key & K::ONE == K::ZERO);
        prev = raw;
    }
    let end = keys.len() as u32;
    for n in 0..max_order {
        close(n, end, seen_a, prev_valid);
    }
    found[..max_order].iter().map(|&f| u64::from(f)).collect()
}

/// The packed windows of `a` (side bit 0) and `b` (side bit 1), sorted.
///
/// (Neither an LSD radix sort, 8 bits a pass, nor a counting sort on the top slots
/// before sorting the buckets beat sorting it all at once on chrF's ~1,000 keys.)
fn sorted_keys<K: Packed>(a: &[u32], b: &[u32], bits: u32, top: u32) -> Vec<K> {
    let mut keys: Vec<K> = Vec::with_capacity(a.len() + b.len());
    for (seq, side) in [(a, K::ZERO), (b, K::ONE)] {
        // From the end: each window is the next one shifted down one slot, with this
        // position's id on top.
        let mut key = K::ZERO;
        for &id in seq.iter().rev() {
            key = (key >> bits) | (K::from(id) << top);
            keys.push((key << 1) | side);
        }
    }
    keys.sort_unstable();
    keys
}

/// The length of the longest common subsequence of `a` and `b`, with ids in
/// `1..=alphabet`.
///
/// Bit-parallel (Allison–Dix / Hyyrö): one pass over `b` with `a`'s positions as bits,
/// `O(|a|·|b|/64)`; the length is unique, so it equals the dynamic-programming table's
/// last cell that `rouge-score` reads.
pub(crate) fn lcs_len(a: &[u32], b: &[u32], alphabet: u32) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let words = a.len().div_ceil(64);
    let mut masks = vec![0u64; (alphabet as usize + 1) * words];
    for (i, &id) in a.iter().enumerate() {
        masks[id as usize * words + i / 64] |= 1 << (i % 64);
    }
    let mut v = vec![u64::MAX; words];
    for &id in b {
        let m = &masks[id as usize * words..(id as usize + 1) * words];
        let mut carry = 0u64;
        for w in 0..words {
            let u = v[w] & m[w];
            let (sum, c1) = v[w].overflowing_add(u);
            let (sum, c2) = sum.overflowing_add(carry);
            carry = u64::from(c1 || c2);
            v[w] = sum | (v[w] & !m[w]);
        }
    }
    v.iter().map(|w| w.count_zeros() as usize).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcs_dp(a: &[u32], b: &[u32]) -> usize {
        let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                t[i][j] = if a[i - 1] == b[j - 1] {
                    t[i - 1][j - 1] + 1
                } else {
                    t[i - 1][j].max(t[i][j - 1])
                };
            }
        }
        t[a.len()][b.len()]
    }

    fn matches_naive(a: &[u32], b: &[u32], n: usize) -> u64 {
        let mut counts: HashMap<&[u32], i64> = HashMap::new();
        for g in b.windows(n) {
            *counts.entry(g).or_default() += 1;
        }
        let mut hyp: HashMap<&[u32], i64> = HashMap::new();
        for g in a.windows(n) {
            *hyp.entry(g).or_default() += 1;
        }
        hyp.iter()
            .map(|(g, c)| (*c).min(counts.get(g).copied().unwrap_or(0)) as u64)
            .sum()
    }

    fn random_seq(rng: &mut fastrand::Rng, max_len: usize, alphabet: u32) -> Vec<u32> {
        let len = rng.usize(0..max_len);
        (0..len).map(|_| rng.u32(1..=alphabet)).collect()
    }

    #[test]
    fn lcs_agrees_with_the_dp_table_across_word_boundaries() {
        let mut rng = fastrand::Rng::with_seed(5);
        for round in 0..300 {
            let alphabet = [2, 5, 40, 300][round % 4];
            let a = random_seq(&mut rng, 200, alphabet);
            let b = random_seq(&mut rng, 200, alphabet);
            assert_eq!(lcs_len(&a, &b, alphabet), lcs_dp(&a, &b), "{a:?} {b:?}");
        }
    }

    #[test]
    fn ngram_matches_agree_with_counting_for_every_key_width() {
        let mut rng = fastrand::Rng::with_seed(9);
        for round in 0..600 {
            // 3 → u64 keys, 70_000 with order 4 → u128 keys, order 7 of 2^20 and order
            // 20 → hash maps, 2 of order 31 → a u64 key of 63 bits.
            let cases = [(3, 6), (40, 4), (70_000, 4), (1 << 20, 7), (5, 20), (2, 31)];
            let (alphabet, order) = cases[round % cases.len()];
            let small = alphabet.min(6);
            // Long sequences in some rounds.
            let max_len = if round % 5 == 0 { 400 } else { 120 };
            let a = random_seq(&mut rng, max_len, small);
            let b = if round % 3 == 0 {
                // Shared runs make long matching n-grams.
                let mut b = a.clone();
                b.extend(random_seq(&mut rng, 40, small));
                let third = b.len() / 3;
                b.rotate_left(third);
                b
            } else {
                random_seq(&mut rng, 120, small)
            };
            let got = ngram_matches(&a, &b, alphabet, order);
            let want: Vec<u64> = (1..=order).map(|n| matches_naive(&a, &b, n)).collect();
            assert_eq!(got, want, "alphabet {alphabet}");
        }
    }

    #[test]
    fn python_whitespace_includes_the_ascii_separators() {
        assert_eq!(
            py_split(" a\u{1c}b\u{a0}c\u{3000}d\n\te ").collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e"]
        );
        assert!(!is_py_space('\u{200b}'));
        assert_eq!(ngram_count(3, 4), 0);
        assert_eq!(ngram_count(4, 4), 1);
    }

    #[test]
    fn interner_gives_dense_ids_from_one() {
        let mut i = Interner::new();
        assert_eq!(i.ids(["a", "b", "a", "c"]), [1, 2, 1, 3]);
        assert_eq!(i.alphabet(), 3);
    }
}
