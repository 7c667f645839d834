//! The `chrf` assertion: sentence chrF and chrF++ exactly as `sacrebleu`'s `CHRF` computes them.

use std::borrow::Cow;

use super::check::Check;
use super::metric::{self, Measured};
use super::ngram::{is_py_space, ngram_count, ngram_matches, py_split, FxMap, Interner};
use super::value::Compiler;
use super::ScoreError;

pub(crate) const EX_CHRF: &str = "{type: chrf, value: \"{{ expected }}\", threshold: 0.6}";

/// Character n-gram order (sacrebleu's `CHRF.CHAR_ORDER`).
pub const CHAR_ORDER: usize = 6;

/// β (sacrebleu's `CHRF.BETA`): recall weighs β² = 4 times precision.
pub const BETA: u32 = 2;

/// The highest `char_order` and `word_order` accepted: far beyond any published use, and
/// low enough that no order makes the statistics large.
pub const MAX_ORDER_OPTION: u32 = 32;

/// sacrebleu's `CHRF` parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChrfOptions {
    /// Character n-gram order (`char_order`, default 6).
    pub char_order: usize,
    /// Word n-gram order (`word_order`, default 0; 2 is chrF++).
    pub word_order: usize,
    /// Recall weighs β² times precision (`beta`, default 2).
    pub beta: u32,
    /// Lowercase both texts first (`lowercase`).
    pub lowercase: bool,
    /// Keep whitespace in the character n-grams (`whitespace`).
    pub whitespace: bool,
    /// ε smoothing over every order (`eps_smoothing`) instead of averaging the orders
    /// that both texts have.
    pub eps_smoothing: bool,
}

impl Default for ChrfOptions {
    fn default() -> Self {
        ChrfOptions {
            char_order: CHAR_ORDER,
            word_order: 0,
            beta: BETA,
            lowercase: false,
            whitespace: false,
            eps_smoothing: false,
        }
    }
}

/// Gives every character of a segment pair a dense id from 1.
struct CharIds {
    ascii: [u32; 128],
    other: FxMap<char, u32>,
    next: u32,
}

impl CharIds {
    fn new() -> Self {
        CharIds {
            ascii: [0; 128],
            other: FxMap::default(),
            next: 1,
        }
    }

    /// The ids of the characters of `text`: the non-whitespace ones (`''.join(text.split())`)
    /// unless `whitespace` keeps them all.
    fn ids(&mut self, text: &str, whitespace: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len());
        if text.is_ascii() {
            for &b in text.as_bytes() {
                if !whitespace && matches!(b, b'\t'..=b'\r' | 0x1c..=b' ') {
                    continue;
                }
                let slot = &mut self.ascii[usize::from(b)];
                if *slot == 0 {
                    *slot = self.next;
                    self.next += 1;
                }
                out.push(*slot);
            }
            return out;
        }
        for c in text.chars() {
            if !whitespace && is_py_space(c) {
                continue;
            }
            let slot = if c.is_ascii() {
                &mut self.ascii[c as usize]
            } else {
                self.other.entry(c).or_insert(0)
            };
            if *slot == 0 {
                *slot = self.next;
                self.next += 1;
            }
            out.push(*slot);
        }
        out
    }

    fn alphabet(&self) -> u32 {
        self.next - 1
    }
}

/// sacrebleu's punctuation for chrF's words (`string.punctuation`).
fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// chrF++'s words (sacrebleu's `CHRF._remove_punctuation`): the whitespace-separated words,
/// with one punctuation character split off the end, or else off the start, of each word
/// longer than one character.
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in py_split(text) {
        let mut chars = w.chars();
        let (first, last) = (chars.next(), chars.next_back());
        match (first, last) {
            (Some(_), Some(l)) if is_punct(l) => {
                let cut = w.len() - l.len_utf8();
                out.extend([&w[..cut], &w[cut..]]);
            }
            (Some(f), Some(_)) if is_punct(f) => {
                let cut = f.len_utf8();
                out.extend([&w[..cut], &w[cut..]]);
            }
            _ => out.push(w),
        }
    }
    out
}

/// `[n_hyp, n_ref, n_match]` for each order of `matches`, as sacrebleu's
/// `_get_match_statistics` (an order that the reference is too short for counts no
/// hypothesis n-grams either).
fn order_statistics(hyp: usize, reference: usize, matches: &[u64], out: &mut Vec<[u64; 3]>) {
    for (i, &m) in matches.iter().enumerate() {
        let n = i + 1;
        let n_ref = ngram_count(reference, n);
        let n_hyp = if n_ref > 0 { ngram_count(hyp, n) } else { 0 };
        out.push([n_hyp, n_ref, m]);
    }
}

/// sacrebleu's `CHRF._compute_f_score`: 0–100.
fn f_score(stats: &[[u64; 3]], options: &ChrfOptions) -> f64 {
    let eps = 1e-16;
    let factor = f64::from(options.beta) * f64::from(options.beta);
    let (mut avg_prec, mut avg_rec) = (0.0f64, 0.0f64);
    let mut eps_score = 0.0f64;
    let mut effective_order = 0u32;
    for &[n_hyp, n_ref, n_match] in stats {
        let prec = if n_hyp > 0 {
            n_match as f64 / n_hyp as f64
        } else {
            eps
        };
        let rec = if n_ref > 0 {
            n_match as f64 / n_ref as f64
        } else {
            eps
        };
        let denom = factor * prec + rec;
        eps_score += if denom > 0.0 {
            (1.0 + factor) * prec * rec / denom
        } else {
            eps
        };
        if n_hyp > 0 && n_ref > 0 {
            avg_prec += prec;
            avg_rec += rec;
            effective_order += 1;
        }
    }
    if options.eps_smoothing {
        return 100.0 * eps_score / stats.len() as f64;
    }
    if effective_order == 0 {
        avg_prec = 0.0;
        avg_rec = 0.0;
    } else {
        avg_prec /= f64::from(effective_order);
        avg_rec /= f64::from(effective_order);
    }
    if avg_prec + avg_rec != 0.0 {
        let mut score = (1.0 + factor) * avg_prec * avg_rec;
        score /= (factor * avg_prec) + avg_rec;
        100.0 * score
    } else {
        0.0
    }
}

/// `sacrebleu.sentence_chrf(hypothesis, references).score`: 0–100, the best reference's.
///
/// sacrebleu's defaults: character n-grams up to 6, no word n-grams, β = 2, whitespace
/// removed, case-sensitive, effective-order averaging (no ε smoothing).
///
/// ```
/// use prompteval::score::chrf::sentence_chrf;
/// assert_eq!(sentence_chrf("the cat", &["the cat"]), 100.0);
/// assert_eq!(sentence_chrf("xyz", &["abc"]), 0.0);
/// ```
pub fn sentence_chrf<S: AsRef<str>>(hypothesis: &str, references: &[S]) -> f64 {
    sentence_chrf_with(hypothesis, references, &ChrfOptions::default())
}

/// `CHRF(**options).sentence_score(hypothesis, references).score`: 0–100, the best
/// reference's (chrF++ with `word_order: 2`).
///
/// ```
/// use prompteval::score::chrf::{sentence_chrf_with, ChrfOptions};
/// let plus_plus = ChrfOptions { word_order: 2, ..ChrfOptions::default() };
/// assert_eq!(sentence_chrf_with("the cat", &["the cat"], &plus_plus), 100.0);
/// ```
pub fn sentence_chrf_with<S: AsRef<str>>(
    hypothesis: &str,
    references: &[S],
    options: &ChrfOptions,
) -> f64 {
    let hypothesis = lower(hypothesis, options.lowercase);
    let references: Vec<Cow<'_, str>> = references
        .iter()
        .map(|r| lower(r.as_ref(), options.lowercase))
        .collect();
    let mut ids = CharIds::new();
    let hyp = ids.ids(&hypothesis, options.whitespace);
    let refs: Vec<Vec<u32>> = references
        .iter()
        .map(|r| ids.ids(r, options.whitespace))
        .collect();
    let alphabet = ids.alphabet();
    let word_ids = (options.word_order > 0).then(|| {
        let mut interner = Interner::new();
        let hyp = interner.ids(words(&hypothesis));
        let refs: Vec<Vec<u32>> = references.iter().map(|r| interner.ids(words(r))).collect();
        (hyp, refs, interner.alphabet())
    });
    let mut best: Option<f64> = None;
    let mut stats = Vec::with_capacity(options.char_order + options.word_order);
    for (i, r) in refs.iter().enumerate() {
        stats.clear();
        let matches = ngram_matches(&hyp, r, alphabet, options.char_order);
        order_statistics(hyp.len(), r.len(), &matches, &mut stats);
        if let Some((hyp_words, ref_words, words_alphabet)) = &word_ids {
            let r = &ref_words[i];
            let matches = ngram_matches(hyp_words, r, *words_alphabet, options.word_order);
            order_statistics(hyp_words.len(), r.len(), &matches, &mut stats);
        }
        let f = f_score(&stats, options);
        if best.is_none_or(|b| f > b) {
            best = Some(f);
        }
    }
    best.unwrap_or(0.0)
}

/// Python's `str.lower()` when `lowercase` is set.
fn lower(text: &str, lowercase: bool) -> Cow<'_, str> {
    if lowercase {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// The spec's chrF options, checked.
fn options(c: &Compiler<'_>) -> Result<ChrfOptions, ScoreError> {
    let defaults = ChrfOptions::default();
    let order = |key: &str, value: Option<u32>, default: usize| match value {
        None => Ok(default),
        Some(n) if n <= MAX_ORDER_OPTION => Ok(n as usize),
        Some(n) => Err(c.invalid(
            format!("`{key}` must be from 0 to {MAX_ORDER_OPTION}, found {n}"),
            EX_CHRF_OPTIONS,
        )),
    };
    let char_order = order("char_order", c.spec.char_order, defaults.char_order)?;
    let word_order = order("word_order", c.spec.word_order, defaults.word_order)?;
    if char_order + word_order == 0 {
        return Err(c.invalid(
            "`char_order` and `word_order` are both 0: chrF needs at least one order",
            EX_CHRF_OPTIONS,
        ));
    }
    Ok(ChrfOptions {
        char_order,
        word_order,
        beta: c.spec.beta.unwrap_or(defaults.beta),
        lowercase: c.spec.lowercase.unwrap_or(defaults.lowercase),
        whitespace: c.spec.whitespace.unwrap_or(defaults.whitespace),
        eps_smoothing: c.spec.eps_smoothing.unwrap_or(defaults.eps_smoothing),
    })
}

const EX_CHRF_OPTIONS: &str = "{type: chrf, char_order: 6, word_order: 2}";

/// The figure as sacrebleu names it: `chrF2` is `chrF`, `chrF2++` is chrF++.
fn figure_name(options: &ChrfOptions) -> String {
    let pluses = "+".repeat(options.word_order);
    if options.beta == BETA {
        format!("chrF{pluses}")
    } else {
        format!("chrF{}{pluses}", options.beta)
    }
}

/// Compiles `chrf` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let options = options(c)?;
    let name = figure_name(&options);
    metric::compile(
        c,
        EX_CHRF,
        Box::new(move |output, refs| {
            let chrf = sentence_chrf_with(output, refs, &options);
            Ok(Measured {
                score: chrf / 100.0,
                figure: format!("{name} {chrf:.2}"),
                detail: None,
            })
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Case {
        hyp: String,
        refs: Vec<String>,
        score: f64,
    }

    #[test]
    fn agrees_with_sacrebleu_sentence_chrf_on_the_fixture() {
        let cases: Vec<Case> = crate::score::testing::fixture("chrf.json");
        assert!(cases.len() >= 200, "{}", cases.len());
        for (i, case) in cases.iter().enumerate() {
            let got = sentence_chrf(&case.hyp, &case.refs);
            assert!(
                (got - case.score).abs() <= 1e-6,
                "case {i}: ours {got}, sacrebleu {}\n{:?}\n{:?}",
                case.score,
                case.hyp,
                case.refs
            );
        }
    }

    #[derive(Deserialize)]
    struct OptionsCase {
        options: serde_json::Value,
        hyp: String,
        refs: Vec<String>,
        score: f64,
    }

    /// The options of a fixture case, as an assertion spec would give them.
    fn options_of(value: &serde_json::Value) -> ChrfOptions {
        let d = ChrfOptions::default();
        let int = |k: &str, d: usize| {
            value
                .get(k)
                .and_then(|v| v.as_u64())
                .map_or(d, |v| v as usize)
        };
        let flag = |k: &str| value.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        ChrfOptions {
            char_order: int("char_order", d.char_order),
            word_order: int("word_order", d.word_order),
            beta: int("beta", d.beta as usize) as u32,
            lowercase: flag("lowercase"),
            whitespace: flag("whitespace"),
            eps_smoothing: flag("eps_smoothing"),
        }
    }

    #[test]
    fn agrees_with_sacrebleu_chrf_options_on_the_fixture() {
        let cases: Vec<OptionsCase> = crate::score::testing::fixture("chrf-options.json");
        assert!(cases.len() >= 1000, "{}", cases.len());
        for (i, case) in cases.iter().enumerate() {
            let options = options_of(&case.options);
            let got = sentence_chrf_with(&case.hyp, &case.refs, &options);
            assert!(
                (got - case.score).abs() <= 1e-6,
                "case {i} {}: ours {got}, sacrebleu {}\n{:?}\n{:?}",
                case.options,
                case.score,
                case.hyp,
                case.refs
            );
        }
    }

    #[test]
    fn chrf_plus_plus_words_split_one_punctuation_mark() {
        assert_eq!(
            words("(hi) a. .b c ..."),
            ["(hi", ")", "a", ".", ".", "b", "c", "..", "."]
        );
        assert_eq!(words("é! «x»"), ["é", "!", "«x»"]);
    }

    #[test]
    fn options_are_read_named_in_the_reason_and_checked() {
        let vars = json!({"expected": "the cat sat on the mat"});
        let plain = eval(
            json!({"type": "chrf"}),
            "the cat sat on a mat",
            vars.clone(),
        );
        let plus = eval(
            json!({"type": "chrf", "word_order": 2}),
            "the cat sat on a mat",
            vars.clone(),
        );
        assert!(plus.reason.starts_with("chrF++ "), "{}", plus.reason);
        assert_ne!(plus.score, plain.score);
        let r = eval(
            json!({"type": "chrf", "beta": 1, "lowercase": true}),
            "THE CAT SAT ON THE MAT",
            vars,
        );
        assert_eq!(r.score, 1.0);
        assert!(r.reason.starts_with("chrF1 100.00"), "{}", r.reason);
        let err = compile_err(json!({"type": "chrf", "char_order": 0, "word_order": 0}));
        assert!(
            err.to_string().ends_with("chrF needs at least one order"),
            "{err}"
        );
        let err = compile_err(json!({"type": "chrf", "word_order": 40}));
        assert!(
            err.to_string()
                .ends_with("`word_order` must be from 0 to 32, found 40"),
            "{err}"
        );
        let err = compile_err(json!({"type": "chrf", "tokenize": "intl"}));
        assert!(
            err.to_string()
                .ends_with("takes no `tokenize` (only `bleu` reads it)"),
            "{err}"
        );
    }

    #[test]
    fn assertion_scores_in_0_1_and_reports_0_100() {
        let r = eval(
            json!({"type": "chrf", "threshold": 0.95}),
            "the cats",
            json!({"expected": "the cat"}),
        );
        assert!(r.score > 0.8 && r.score < 1.0, "{}", r.score);
        assert!(!r.pass);
        assert!(r.reason.starts_with("chrF 9"), "{}", r.reason);
        assert!(
            r.reason.ends_with(r#"against "the cat" is below 0.95"#),
            "{}",
            r.reason
        );
    }

    #[test]
    fn many_distinct_characters_use_wide_keys() {
        // More than 1,023 distinct characters: ids need 11+ bits, 6 of them exceed 64.
        let text: String = (0..1500u32)
            .filter_map(|i| char::from_u32(0x4e00 + i))
            .collect();
        assert_eq!(sentence_chrf(&text, &[&text]), 100.0);
    }
}
