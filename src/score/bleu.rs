//! The `bleu` assertion, and sentence and corpus BLEU exactly as `sacrebleu` computes them,
//! with its tokenizers, smoothing methods, lowercasing and n-gram order.

use serde::{Deserialize, Serialize};

use super::bleu_tok::{BleuTokenizer, TOKENIZERS};
use super::check::Check;
use super::metric::{self, Measured};
use super::ngram::{ngram_count, ngram_matches, FxMap, Interner};
pub use super::tok13a::tokenize_13a;
use super::tok13a::tokens;
use super::value::Compiler;
use super::ScoreError;
use crate::run::events::AssertionResult;

pub(crate) const EX_BLEU: &str = "{type: bleu, value: \"{{ expected }}\", threshold: 0.3}";

const EX_BLEU_OPTIONS: &str =
    "{type: bleu, tokenize: intl, smooth_method: floor, smooth_value: 0.1, max_ngram_order: 4}";

/// The highest n-gram order (sacrebleu's `MAX_NGRAM_ORDER`).
pub const MAX_ORDER: usize = 4;

/// The highest `max_ngram_order` accepted.
pub const MAX_ORDER_OPTION: u32 = 32;

/// sacrebleu's smoothing of n-gram precisions without matches (Chen & Cherry, 2014).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Smooth {
    /// None: a precision of 0 makes BLEU 0.
    None,
    /// `floor`: `value` matches instead of 0 (default 0.1).
    Floor(f64),
    /// `add-k`: `value` added to the matches and the n-grams of orders 2 and up (default 1).
    AddK(f64),
    /// `exp`: 1/2, 1/4, … matches for each order without (mteval's), sacrebleu's default.
    #[default]
    Exp,
}

/// The names, as an error lists them.
pub const SMOOTH_METHODS: &str = "exp, floor, add-k, none";

impl Smooth {
    /// `smooth_method` and `smooth_value` as sacrebleu reads them (`None` for an unknown
    /// method); the value is ignored by `exp` and `none`.
    pub fn parse(method: &str, value: Option<f64>) -> Option<Self> {
        Some(match method {
            "exp" => Smooth::Exp,
            "none" => Smooth::None,
            "floor" => Smooth::Floor(value.unwrap_or(0.1)),
            "add-k" => Smooth::AddK(value.unwrap_or(1.0)),
            _ => return None,
        })
    }

    /// The method's name.
    pub fn method(self) -> &'static str {
        match self {
            Smooth::None => "none",
            Smooth::Floor(_) => "floor",
            Smooth::AddK(_) => "add-k",
            Smooth::Exp => "exp",
        }
    }

    fn value(self) -> Option<f64> {
        match self {
            Smooth::Floor(v) | Smooth::AddK(v) => Some(v),
            Smooth::None | Smooth::Exp => None,
        }
    }
}

/// sacrebleu's `BLEU` parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BleuOptions {
    /// The tokenizer (`tokenize`, default `13a`).
    pub tokenize: BleuTokenizer,
    /// The smoothing (`smooth_method`, `smooth_value`; default `exp`).
    pub smooth: Smooth,
    /// Lowercase both texts first (`lowercase`).
    pub lowercase: bool,
    /// The highest n-gram order (`max_ngram_order`, default 4).
    pub max_ngram_order: usize,
}

impl Default for BleuOptions {
    fn default() -> Self {
        BleuOptions {
            tokenize: BleuTokenizer::Tok13a,
            smooth: Smooth::Exp,
            lowercase: false,
            max_ngram_order: MAX_ORDER,
        }
    }
}

/// The sufficient statistics of BLEU for one or more segments; they add up over a corpus.
///
/// The smoothing travels with them (absent for the default `exp`, so that the statistics
/// of default runs keep their bytes), so that the corpus score of the run summary uses the
/// smoothing of the assertion that made them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BleuStats {
    /// Hypothesis length in tokens.
    pub sys_len: u64,
    /// The closest reference length in tokens.
    pub ref_len: u64,
    /// Clipped n-gram matches for orders 1 to `max_ngram_order` (4 by default).
    pub correct: Vec<u64>,
    /// Hypothesis n-grams for the same orders.
    pub total: Vec<u64>,
    /// The smoothing method when it is not `exp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smooth_method: Option<String>,
    /// The smoothing value of `floor` and `add-k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smooth_value: Option<f64>,
}

impl BleuStats {
    /// Adds another segment's statistics (sacrebleu's `sum_of_lists`). The first ones
    /// added set the smoothing; orders missing on either side count as 0.
    pub fn add(&mut self, other: &BleuStats) {
        if self.correct.is_empty() && self.total.is_empty() {
            self.smooth_method.clone_from(&other.smooth_method);
            self.smooth_value = other.smooth_value;
        }
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        let orders = self.correct.len().max(other.correct.len());
        self.correct.resize(orders, 0);
        self.total.resize(orders, 0);
        for (n, (&c, &t)) in other.correct.iter().zip(&other.total).enumerate() {
            self.correct[n] += c;
            self.total[n] += t;
        }
    }

    /// The smoothing these statistics are scored with.
    pub fn smooth(&self) -> Smooth {
        match &self.smooth_method {
            None => Smooth::Exp,
            Some(method) => Smooth::parse(method, self.smooth_value).unwrap_or_default(),
        }
    }

    /// BLEU in sacrebleu's 0–100 scale (`BLEU.compute_bleu`) with the statistics'
    /// smoothing, over their orders.
    ///
    /// `effective_order` is sacrebleu's flag: on for sentence BLEU, off for corpus BLEU.
    pub fn score(&self, effective_order: bool) -> f64 {
        let (sys_len, ref_len) = (self.sys_len, self.ref_len);
        let bp = if sys_len < ref_len {
            if sys_len > 0 {
                (1.0 - ref_len as f64 / sys_len as f64).exp()
            } else {
                0.0
            }
        } else {
            1.0
        };
        if self.correct.iter().all(|&c| c == 0) {
            return 0.0;
        }
        let smooth = self.smooth();
        let max_order = self.correct.len().min(self.total.len());
        let mut precisions = vec![0.0f64; max_order];
        let mut smooth_mteval = 1.0f64;
        let mut eff_order = max_order;
        for n in 1..=max_order {
            let (mut correct, mut total) = (self.correct[n - 1] as f64, self.total[n - 1] as f64);
            if let Smooth::AddK(k) = smooth {
                if n > 1 {
                    correct += k;
                    total += k;
                }
            }
            if total == 0.0 {
                break;
            }
            if effective_order {
                eff_order = n;
            }
            precisions[n - 1] = if correct == 0.0 {
                match smooth {
                    Smooth::Exp => {
                        smooth_mteval *= 2.0;
                        100.0 / (smooth_mteval * total)
                    }
                    Smooth::Floor(v) => 100.0 * v / total,
                    Smooth::AddK(_) | Smooth::None => 0.0,
                }
            } else {
                100.0 * correct / total
            };
        }
        let log_sum: f64 = precisions[..eff_order].iter().map(|&p| my_log(p)).sum();
        bp * (log_sum / eff_order as f64).exp()
    }
}

/// sacrebleu's `my_log`: the logarithm, floored for 0.
fn my_log(x: f64) -> f64 {
    if x == 0.0 {
        -9_999_999_999.0
    } else {
        x.ln()
    }
}

/// The statistics of one hypothesis against its references with sacrebleu's defaults:
/// the `13a` tokenizer (mteval-v13a), case-sensitive, n-grams up to 4, `exp` smoothing.
/// The sentence score adds effective order, the corpus score ([`corpus_bleu`], from the
/// statistics of every segment) does not.
pub fn bleu_stats<S: AsRef<str>>(hypothesis: &str, references: &[S]) -> BleuStats {
    bleu_stats_with(hypothesis, references, &BleuOptions::default())
}

/// The statistics of one hypothesis against its references (sacrebleu's
/// `_compute_segment_statistics`) under `options`.
pub fn bleu_stats_with<S: AsRef<str>>(
    hypothesis: &str,
    references: &[S],
    options: &BleuOptions,
) -> BleuStats {
    let prepare = |text: &str| {
        if options.lowercase {
            options.tokenize.tokenize(&text.to_lowercase())
        } else {
            options.tokenize.tokenize(text)
        }
    };
    let hyp_text = prepare(hypothesis);
    let ref_texts: Vec<String> = references.iter().map(|r| prepare(r.as_ref())).collect();
    // About one distinct token per five bytes, so that the table rarely grows.
    let bytes = hyp_text.len() + ref_texts.iter().map(String::len).sum::<usize>();
    let mut interner = Interner::with_capacity(bytes / 5);
    let hyp = interner.ids(tokens(&hyp_text));
    let refs: Vec<Vec<u32>> = ref_texts.iter().map(|r| interner.ids(tokens(r))).collect();
    let max_order = options.max_ngram_order;
    let correct = match refs.as_slice() {
        [] => vec![0; max_order],
        [one] => ngram_matches(&hyp, one, interner.alphabet(), max_order),
        several => multi_ref_correct(&hyp, several, max_order),
    };
    let smooth = (options.smooth != Smooth::Exp).then_some(options.smooth);
    BleuStats {
        sys_len: hyp.len() as u64,
        ref_len: closest_ref_len(hyp.len(), &refs),
        correct,
        total: (1..=max_order).map(|n| ngram_count(hyp.len(), n)).collect(),
        smooth_method: smooth.map(|s| s.method().to_string()),
        smooth_value: smooth.and_then(Smooth::value),
    }
}

/// sacrebleu's `_get_closest_ref_len`: the reference length closest to the hypothesis's,
/// the shorter on a tie.
fn closest_ref_len(sys_len: usize, refs: &[Vec<u32>]) -> u64 {
    let mut ref_len: Option<u64> = None;
    let mut closest_diff = u64::MAX;
    for r in refs {
        let len = r.len() as u64;
        let diff = len.abs_diff(sys_len as u64);
        if ref_len.is_none() || diff < closest_diff {
            closest_diff = diff;
            ref_len = Some(len);
        } else if diff == closest_diff && Some(len) < ref_len {
            ref_len = Some(len);
        }
    }
    ref_len.unwrap_or(0)
}

/// Clipped matches against several references: each n-gram counts up to its highest
/// count in any one reference.
fn multi_ref_correct(hyp: &[u32], refs: &[Vec<u32>], max_order: usize) -> Vec<u64> {
    let mut correct = vec![0u64; max_order];
    for (n, c) in correct.iter_mut().enumerate() {
        let mut max_ref: FxMap<&[u32], u64> = FxMap::default();
        for r in refs {
            let mut counts: FxMap<&[u32], u64> = FxMap::default();
            for gram in r.windows(n + 1) {
                *counts.entry(gram).or_default() += 1;
            }
            for (gram, count) in counts {
                let entry = max_ref.entry(gram).or_default();
                *entry = (*entry).max(count);
            }
        }
        for gram in hyp.windows(n + 1) {
            if let Some(left) = max_ref.get_mut(gram) {
                if *left > 0 {
                    *left -= 1;
                    *c += 1;
                }
            }
        }
    }
    correct
}

/// `sacrebleu.sentence_bleu(hypothesis, references).score`: 0–100.
///
/// ```
/// use prompteval::score::bleu::sentence_bleu;
/// let bleu = sentence_bleu("the cat sat on the mat", &["the cat sat on the mat"]);
/// assert!((bleu - 100.0).abs() < 1e-9);
/// ```
pub fn sentence_bleu<S: AsRef<str>>(hypothesis: &str, references: &[S]) -> f64 {
    bleu_stats(hypothesis, references).score(true)
}

/// `BLEU(**options, effective_order=True).sentence_score(hypothesis, references).score`.
///
/// ```
/// use prompteval::score::bleu::{sentence_bleu_with, BleuOptions};
/// use prompteval::score::bleu_tok::BleuTokenizer;
/// let chars = BleuOptions { tokenize: BleuTokenizer::Char, ..BleuOptions::default() };
/// assert!((sentence_bleu_with("猫坐在垫子上", &["猫坐在垫子上"], &chars) - 100.0).abs() < 1e-9);
/// ```
pub fn sentence_bleu_with<S: AsRef<str>>(
    hypothesis: &str,
    references: &[S],
    options: &BleuOptions,
) -> f64 {
    bleu_stats_with(hypothesis, references, options).score(true)
}

/// `sacrebleu.corpus_bleu(...).score` from the statistics of every segment: 0–100, with
/// the first segment's smoothing.
pub fn corpus_bleu<'a>(segments: impl IntoIterator<Item = &'a BleuStats>) -> f64 {
    let mut sum = BleuStats::default();
    for s in segments {
        sum.add(s);
    }
    sum.score(false)
}

/// The statistics kept by the first `bleu` (or `not-bleu`) result of a cell, if any.
pub fn stats_of(results: &[AssertionResult]) -> Option<BleuStats> {
    results
        .iter()
        .find(|r| r.kind.strip_prefix("not-").unwrap_or(&r.kind) == "bleu")
        .and_then(|r| r.detail.as_ref())
        .and_then(|d| BleuStats::deserialize(d).ok())
}

/// The spec's BLEU options, checked.
fn options(c: &Compiler<'_>) -> Result<BleuOptions, ScoreError> {
    let spec = c.spec;
    let tokenize = match spec.tokenize.as_deref() {
        None => BleuTokenizer::default(),
        Some(name) => BleuTokenizer::parse(name).ok_or_else(|| {
            c.invalid(
                format!("unknown `tokenize` `{name}`. Choose from: {TOKENIZERS}"),
                EX_BLEU_OPTIONS,
            )
        })?,
    };
    let method = spec.smooth_method.as_deref().unwrap_or("exp");
    let smooth = Smooth::parse(method, spec.smooth_value).ok_or_else(|| {
        c.invalid(
            format!("unknown `smooth_method` `{method}`. Choose from: {SMOOTH_METHODS}"),
            EX_BLEU_OPTIONS,
        )
    })?;
    if let Some(value) = spec.smooth_value {
        if smooth.value().is_none() {
            return Err(c.invalid(
                format!("`smooth_value` is read by `smooth_method: floor` and `add-k` only, not `{method}`"),
                EX_BLEU_OPTIONS,
            ));
        }
        if !(value.is_finite() && value >= 0.0) {
            return Err(c.invalid(
                format!("`smooth_value` must be a number of 0 or more, found {value}"),
                EX_BLEU_OPTIONS,
            ));
        }
    }
    let max_ngram_order = match spec.max_ngram_order {
        None => MAX_ORDER,
        Some(n) if (1..=MAX_ORDER_OPTION).contains(&n) => n as usize,
        Some(n) => {
            return Err(c.invalid(
                format!("`max_ngram_order` must be from 1 to {MAX_ORDER_OPTION}, found {n}"),
                EX_BLEU_OPTIONS,
            ))
        }
    };
    Ok(BleuOptions {
        tokenize,
        smooth,
        lowercase: spec.lowercase.unwrap_or(false),
        max_ngram_order,
    })
}

/// Compiles `bleu` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let options = options(c)?;
    metric::compile(
        c,
        EX_BLEU,
        Box::new(move |output, refs| measure(output, refs, &options)),
    )
}

/// Sentence BLEU / 100, keeping the statistics the corpus score adds up.
fn measure(output: &str, refs: &[String], options: &BleuOptions) -> Result<Measured, String> {
    let stats = bleu_stats_with(output, refs, options);
    let bleu = stats.score(true);
    Ok(Measured {
        score: bleu / 100.0,
        figure: format!("BLEU {bleu:.2}"),
        detail: Some(serde_json::to_value(stats).map_err(|e| e.to_string())?),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Case {
        hyp: String,
        refs: Vec<String>,
        hyp_tok: String,
        score: f64,
        sys_len: u64,
        ref_len: u64,
        counts: Vec<u64>,
        totals: Vec<u64>,
    }

    #[derive(Deserialize)]
    struct Fixture {
        sentences: Vec<Case>,
        corpus_score: f64,
    }

    fn fixture() -> Fixture {
        crate::score::testing::fixture("bleu.json")
    }

    #[test]
    fn agrees_with_sacrebleu_sentence_bleu_on_the_fixture() {
        let f = fixture();
        assert!(f.sentences.len() >= 200, "{}", f.sentences.len());
        for (i, case) in f.sentences.iter().enumerate() {
            assert_eq!(
                tokenize_13a(&case.hyp),
                case.hyp_tok,
                "case {i}: {:?}",
                case.hyp
            );
            let stats = bleu_stats(&case.hyp, &case.refs);
            let want = BleuStats {
                sys_len: case.sys_len,
                ref_len: case.ref_len,
                correct: case.counts.clone(),
                total: case.totals.clone(),
                ..BleuStats::default()
            };
            assert_eq!(stats, want, "case {i}: {:?} vs {:?}", case.hyp, case.refs);
            let got = stats.score(true);
            assert!(
                (got - case.score).abs() <= 1e-6,
                "case {i}: ours {got}, sacrebleu {}",
                case.score
            );
        }
    }

    #[test]
    fn corpus_bleu_agrees_with_sacrebleu_on_the_fixture() {
        let f = fixture();
        let stats: Vec<BleuStats> = f
            .sentences
            .iter()
            .filter(|c| c.refs.len() == 1)
            .map(|c| bleu_stats(&c.hyp, &c.refs))
            .collect();
        let got = corpus_bleu(&stats);
        assert!(
            (got - f.corpus_score).abs() <= 1e-6,
            "ours {got}, sacrebleu {}",
            f.corpus_score
        );
    }

    #[derive(Deserialize)]
    struct OptionsCase {
        options: serde_json::Value,
        hyp: String,
        refs: Vec<String>,
        score: f64,
        sys_len: u64,
        ref_len: u64,
        counts: Vec<u64>,
        totals: Vec<u64>,
    }

    #[derive(Deserialize)]
    struct OptionsCorpus {
        options: serde_json::Value,
        cases: Vec<usize>,
        score: f64,
    }

    #[derive(Deserialize)]
    struct OptionsFixture {
        cases: Vec<OptionsCase>,
        corpus: Vec<OptionsCorpus>,
    }

    /// The options of a fixture case as sacrebleu's keyword arguments.
    fn options_of(value: &serde_json::Value) -> BleuOptions {
        let get = |k: &str| value.get(k);
        BleuOptions {
            tokenize: BleuTokenizer::parse(
                get("tokenize").and_then(|v| v.as_str()).unwrap_or("13a"),
            )
            .expect("tokenizer"),
            smooth: Smooth::parse(
                get("smooth_method")
                    .and_then(|v| v.as_str())
                    .unwrap_or("exp"),
                get("smooth_value").and_then(|v| v.as_f64()),
            )
            .expect("smoothing"),
            lowercase: get("lowercase").and_then(|v| v.as_bool()).unwrap_or(false),
            max_ngram_order: get("max_ngram_order")
                .and_then(|v| v.as_u64())
                .map_or(MAX_ORDER, |n| n as usize),
        }
    }

    fn options_fixture() -> OptionsFixture {
        crate::score::testing::fixture("bleu-options.json")
    }

    #[test]
    fn agrees_with_sacrebleu_bleu_options_on_the_fixture() {
        let f = options_fixture();
        assert!(f.cases.len() >= 1500, "{}", f.cases.len());
        for (i, case) in f.cases.iter().enumerate() {
            let options = options_of(&case.options);
            let stats = bleu_stats_with(&case.hyp, &case.refs, &options);
            // sacrebleu's `add-k` adds k to the counts it reports, from order 2 (when
            // anything matched at all).
            let mut shown = stats.clone();
            if let Smooth::AddK(k) = options.smooth {
                if shown.correct.iter().any(|&c| c > 0) {
                    for n in 1..shown.correct.len() {
                        shown.correct[n] += k as u64;
                        shown.total[n] += k as u64;
                    }
                }
            }
            let counts = (&shown.correct, &shown.total, stats.sys_len, stats.ref_len);
            assert_eq!(
                counts,
                (&case.counts, &case.totals, case.sys_len, case.ref_len),
                "case {i} {}: {:?} vs {:?}",
                case.options,
                case.hyp,
                case.refs
            );
            let got = stats.score(true);
            assert!(
                (got - case.score).abs() <= 1e-6,
                "case {i} {}: ours {got}, sacrebleu {}",
                case.options,
                case.score
            );
        }
    }

    #[test]
    fn sacrebleus_own_sentence_bleu_configurations_are_in_the_fixture() {
        // test_sentence_bleu.py: 12 configurations of its example, 6 of the zero example.
        let f = options_fixture();
        let ours = f
            .cases
            .iter()
            .filter(|c| c.hyp.starts_with("Producția") || c.hyp == "this is a cat")
            .count();
        assert_eq!(ours, 18);
    }

    #[test]
    fn corpus_bleu_follows_the_options() {
        let f = options_fixture();
        assert!(f.corpus.len() >= 15);
        for corpus in &f.corpus {
            let options = options_of(&corpus.options);
            let stats: Vec<BleuStats> = corpus
                .cases
                .iter()
                .map(|&i| bleu_stats_with(&f.cases[i].hyp, &f.cases[i].refs, &options))
                .collect();
            let got = corpus_bleu(&stats);
            // Through the persisted detail, as the run summary reads it.
            let mut sum = BleuStats::default();
            for s in &stats {
                let json = serde_json::to_value(s).unwrap();
                sum.add(&serde_json::from_value(json).unwrap());
            }
            assert_eq!(sum.score(false), got);
            assert!(
                (got - corpus.score).abs() <= 1e-6,
                "{}: ours {got}, sacrebleu {}",
                corpus.options,
                corpus.score
            );
        }
    }

    #[test]
    fn default_statistics_keep_their_bytes() {
        let stats = bleu_stats("the cat", &["the cat sat"]);
        assert_eq!(
            serde_json::to_string(&stats).unwrap(),
            r#"{"sys_len":2,"ref_len":3,"correct":[2,1,0,0],"total":[2,1,0,0]}"#
        );
        let floor = BleuOptions {
            smooth: Smooth::Floor(0.1),
            ..BleuOptions::default()
        };
        let stats = bleu_stats_with("the cat", &["the cat sat"], &floor);
        assert_eq!(
            serde_json::to_string(&stats).unwrap(),
            r#"{"sys_len":2,"ref_len":3,"correct":[2,1,0,0],"total":[2,1,0,0],"smooth_method":"floor","smooth_value":0.1}"#
        );
    }

    #[test]
    fn options_are_read_and_checked() {
        let vars = json!({"expected": "猫坐在垫子上。"});
        let r = eval(json!({"type": "bleu"}), "猫坐在垫子上。", vars.clone());
        assert_eq!(r.score, 1.0);
        let r13a = eval(json!({"type": "bleu"}), "猫坐在垫子上了。", vars.clone());
        let rzh = eval(
            json!({"type": "bleu", "tokenize": "zh"}),
            "猫坐在垫子上了。",
            vars.clone(),
        );
        assert!(rzh.score > r13a.score, "{} {}", rzh.score, r13a.score);
        let detail = rzh.detail.expect("detail");
        assert_eq!(detail["total"], json!([8, 7, 6, 5]));
        let r = eval(
            json!({"type": "bleu", "max_ngram_order": 2, "smooth_method": "floor"}),
            "the cat",
            json!({"expected": "the cat sat"}),
        );
        assert_eq!(r.detail.expect("detail")["correct"], json!([2, 1]));
        for (spec, message) in [
            (
                json!({"type": "bleu", "tokenize": "ja-mecab"}),
                "unknown `tokenize` `ja-mecab`. Choose from: 13a, none, intl, char, zh",
            ),
            (
                json!({"type": "bleu", "smooth_method": "add-one"}),
                "unknown `smooth_method` `add-one`. Choose from: exp, floor, add-k, none",
            ),
            (
                json!({"type": "bleu", "smooth_value": 0.2}),
                "`smooth_value` is read by `smooth_method: floor` and `add-k` only, not `exp`",
            ),
            (
                json!({"type": "bleu", "smooth_method": "floor", "smooth_value": -1}),
                "`smooth_value` must be a number of 0 or more, found -1",
            ),
            (
                json!({"type": "bleu", "max_ngram_order": 0}),
                "`max_ngram_order` must be from 1 to 32, found 0",
            ),
            (
                json!({"type": "bleu", "word_order": 2}),
                "takes no `word_order` (only `chrf` reads it)",
            ),
        ] {
            let err = compile_err(spec.clone());
            assert!(err.to_string().ends_with(message), "{spec}: {err}");
        }
    }

    #[test]
    fn assertion_reports_0_100_in_the_reason_and_keeps_statistics() {
        let r = eval(
            json!({"type": "bleu"}),
            "the cat sat on the mat",
            json!({"expected": "the cat sat on the mat"}),
        );
        assert!(r.pass);
        assert_eq!(r.score, 1.0);
        assert_eq!(
            r.reason,
            r#"BLEU 100.00 against "the cat sat on the mat" (threshold 0.50)"#
        );
        let stats: BleuStats = serde_json::from_value(r.detail.expect("detail")).unwrap();
        assert_eq!(stats.sys_len, 6);
        assert_eq!(stats.correct, [6, 5, 4, 3]);
        let r = eval(
            json!({"type": "bleu", "value": ["a b c", "the dog"], "threshold": 0.9}),
            "the cat",
            json!({}),
        );
        assert!(!r.pass);
        assert!(
            r.reason
                .ends_with(r#"against "a b c" (and 1 more reference) is below 0.90"#),
            "{}",
            r.reason
        );
    }

    #[test]
    fn rouge_options_are_refused() {
        let err = compile_err(json!({"type": "bleu", "measure": "recall"}));
        assert!(
            err.to_string()
                .ends_with("takes no `measure` (only the `rouge-*` types read it)"),
            "{err}"
        );
    }
}
