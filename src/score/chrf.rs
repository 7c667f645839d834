//! The `chrf` assertion: sentence chrF exactly as `sacrebleu.sentence_chrf` computes it.

use super::check::Check;
use super::metric::{self, Measured};
use super::ngram::{is_py_space, ngram_count, ngram_matches, FxMap};
use super::value::Compiler;
use super::ScoreError;

pub(crate) const EX_CHRF: &str = "{type: chrf, value: \"{{ expected }}\", threshold: 0.6}";

/// Character n-gram order (sacrebleu's `CHRF.CHAR_ORDER`).
pub const CHAR_ORDER: usize = 6;

/// β (sacrebleu's `CHRF.BETA`): recall weighs β² = 4 times precision.
pub const BETA: u32 = 2;

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

    /// The ids of the non-whitespace characters of `text` (`''.join(text.split())`).
    fn ids(&mut self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len());
        if text.is_ascii() {
            for &b in text.as_bytes() {
                if matches!(b, b'\t'..=b'\r' | 0x1c..=b' ') {
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
            if is_py_space(c) {
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

/// `[n_hyp, n_ref, n_match]` per order, as sacrebleu's `_get_match_statistics` (an order
/// that the reference is too short for counts no hypothesis n-grams either).
fn statistics(hyp: &[u32], reference: &[u32], alphabet: u32) -> [[u64; 3]; CHAR_ORDER] {
    let matches = ngram_matches(hyp, reference, alphabet, CHAR_ORDER);
    let mut stats = [[0u64; 3]; CHAR_ORDER];
    for (i, s) in stats.iter_mut().enumerate() {
        let n = i + 1;
        let n_ref = ngram_count(reference.len(), n);
        let n_hyp = if n_ref > 0 {
            ngram_count(hyp.len(), n)
        } else {
            0
        };
        *s = [n_hyp, n_ref, matches[i]];
    }
    stats
}

/// sacrebleu's `CHRF._compute_f_score` without ε smoothing: 0–100.
fn f_score(stats: &[[u64; 3]; CHAR_ORDER]) -> f64 {
    let eps = 1e-16;
    let factor = f64::from(BETA * BETA);
    let (mut avg_prec, mut avg_rec) = (0.0f64, 0.0f64);
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
        if n_hyp > 0 && n_ref > 0 {
            avg_prec += prec;
            avg_rec += rec;
            effective_order += 1;
        }
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
    let mut ids = CharIds::new();
    let hyp = ids.ids(hypothesis);
    let refs: Vec<Vec<u32>> = references.iter().map(|r| ids.ids(r.as_ref())).collect();
    let alphabet = ids.alphabet();
    let mut best: Option<f64> = None;
    for r in &refs {
        let f = f_score(&statistics(&hyp, r, alphabet));
        if best.is_none_or(|b| f > b) {
            best = Some(f);
        }
    }
    best.unwrap_or(0.0)
}

/// Compiles `chrf` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    metric::compile(c, EX_CHRF, |output, refs| {
        let chrf = sentence_chrf(output, refs);
        Ok(Measured {
            score: chrf / 100.0,
            figure: format!("chrF {chrf:.2}"),
            detail: None,
        })
    })
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
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/score/chrf.json"
        );
        let text = std::fs::read_to_string(path).expect("chrf fixture");
        let cases: Vec<Case> = serde_json::from_str(&text).expect("fixture json");
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
