//! The `bleu` assertion, and sentence and corpus BLEU exactly as `sacrebleu` computes them.

use serde::{Deserialize, Serialize};

use super::check::Check;
use super::metric::{self, Measured};
use super::ngram::{ngram_count, ngram_matches, FxMap, Interner};
pub use super::tok13a::tokenize_13a;
use super::tok13a::tokens;
use super::value::Compiler;
use super::ScoreError;
use crate::run::events::AssertionResult;

pub(crate) const EX_BLEU: &str = "{type: bleu, value: \"{{ expected }}\", threshold: 0.3}";

/// The highest n-gram order (sacrebleu's `MAX_NGRAM_ORDER`).
pub const MAX_ORDER: usize = 4;

/// The sufficient statistics of BLEU for one or more segments; they add up over a corpus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BleuStats {
    /// Hypothesis length in tokens.
    pub sys_len: u64,
    /// The closest reference length in tokens.
    pub ref_len: u64,
    /// Clipped n-gram matches for orders 1 to 4.
    pub correct: [u64; MAX_ORDER],
    /// Hypothesis n-grams for orders 1 to 4.
    pub total: [u64; MAX_ORDER],
}

impl BleuStats {
    /// Adds another segment's statistics (sacrebleu's `sum_of_lists`).
    pub fn add(&mut self, other: &BleuStats) {
        self.sys_len += other.sys_len;
        self.ref_len += other.ref_len;
        for n in 0..MAX_ORDER {
            self.correct[n] += other.correct[n];
            self.total[n] += other.total[n];
        }
    }

    /// BLEU in sacrebleu's 0–100 scale with exponential smoothing (`BLEU.compute_bleu`).
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
        let mut precisions = [0.0f64; MAX_ORDER];
        let mut smooth_mteval = 1.0f64;
        let mut eff_order = MAX_ORDER;
        for n in 1..=MAX_ORDER {
            let (correct, total) = (self.correct[n - 1], self.total[n - 1]);
            if total == 0 {
                break;
            }
            if effective_order {
                eff_order = n;
            }
            precisions[n - 1] = if correct == 0 {
                smooth_mteval *= 2.0;
                100.0 / (smooth_mteval * total as f64)
            } else {
                100.0 * correct as f64 / total as f64
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

/// The statistics of one hypothesis against its references (sacrebleu's
/// `_compute_segment_statistics`).
///
/// sacrebleu's defaults: the `13a` tokenizer (mteval-v13a), case-sensitive, n-grams up to 4;
/// the sentence score adds exponential smoothing and effective order, the corpus score
/// ([`corpus_bleu`], from the statistics of every segment) neither.
pub fn bleu_stats<S: AsRef<str>>(hypothesis: &str, references: &[S]) -> BleuStats {
    let hyp_text = tokenize_13a(hypothesis);
    let ref_texts: Vec<String> = references
        .iter()
        .map(|r| tokenize_13a(r.as_ref()))
        .collect();
    // About one distinct token per five bytes, so that the table rarely grows.
    let bytes = hyp_text.len() + ref_texts.iter().map(String::len).sum::<usize>();
    let mut interner = Interner::with_capacity(bytes / 5);
    let hyp = interner.ids(tokens(&hyp_text));
    let refs: Vec<Vec<u32>> = ref_texts.iter().map(|r| interner.ids(tokens(r))).collect();
    let sys_len = hyp.len() as u64;
    let mut ref_len: Option<u64> = None;
    let mut closest_diff = u64::MAX;
    for r in &refs {
        let len = r.len() as u64;
        let diff = len.abs_diff(sys_len);
        if ref_len.is_none() || diff < closest_diff {
            closest_diff = diff;
            ref_len = Some(len);
        } else if diff == closest_diff && Some(len) < ref_len {
            ref_len = Some(len);
        }
    }
    let mut total = [0u64; MAX_ORDER];
    for (n, t) in total.iter_mut().enumerate() {
        *t = ngram_count(hyp.len(), n + 1);
    }
    let correct: [u64; MAX_ORDER] = match refs.as_slice() {
        [] => [0; MAX_ORDER],
        [one] => {
            let m = ngram_matches(&hyp, one, interner.alphabet(), MAX_ORDER);
            [m[0], m[1], m[2], m[3]]
        }
        several => multi_ref_correct(&hyp, several),
    };
    BleuStats {
        sys_len,
        ref_len: ref_len.unwrap_or(0),
        correct,
        total,
    }
}

/// Clipped matches against several references: each n-gram counts up to its highest
/// count in any one reference.
fn multi_ref_correct(hyp: &[u32], refs: &[Vec<u32>]) -> [u64; MAX_ORDER] {
    let mut correct = [0u64; MAX_ORDER];
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

/// `sacrebleu.corpus_bleu(...).score` from the statistics of every segment: 0–100.
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

/// Compiles `bleu` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    metric::compile(c, EX_BLEU, Box::new(measure))
}

/// Sentence BLEU / 100, keeping the statistics the corpus score adds up.
fn measure(output: &str, refs: &[String]) -> Result<Measured, String> {
    let stats = bleu_stats(output, refs);
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
        counts: [u64; 4],
        totals: [u64; 4],
    }

    #[derive(Deserialize)]
    struct Fixture {
        sentences: Vec<Case>,
        corpus_score: f64,
    }

    fn fixture() -> Fixture {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/score/bleu.json"
        );
        let text = std::fs::read_to_string(path).expect("bleu fixture");
        serde_json::from_str(&text).expect("fixture json")
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
                correct: case.counts,
                total: case.totals,
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
