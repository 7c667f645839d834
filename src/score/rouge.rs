//! ROUGE assertions (`rouge-1` … `rouge-9`, `rouge-l`, `rouge-lsum`), exactly as Google's
//! `rouge-score`, against one reference or the best of several.

use std::borrow::Cow;

use super::check::{Check, Outcome};
use super::metric::{self, References};
use super::ngram::{lcs_len, ngram_count, ngram_matches, Interner};
use super::value::Compiler;
use super::{porter, rouge_lsum};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

pub(crate) const EX_ROUGE: &str =
    "{type: rouge-l, value: \"{{ expected }}\", threshold: 0.5, measure: f, stem: true}";

/// Which ROUGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RougeKind {
    /// Unigram overlap (`rouge1`).
    Rouge1,
    /// Bigram overlap (`rouge2`).
    Rouge2,
    /// n-gram overlap of a higher order, 3 to 9 (`rouge3` … `rouge9`).
    RougeN(usize),
    /// Longest common subsequence (`rougeL`).
    RougeL,
    /// Summary-level longest common subsequence over newline-separated sentences
    /// (`rougeLsum`).
    RougeLsum,
}

impl RougeKind {
    /// The kind that an assertion type names (`rouge-1` … `rouge-9`, `rouge-l`,
    /// `rouge-lsum`).
    fn of_type(name: &str) -> Option<Self> {
        Some(match name.strip_prefix("rouge-")? {
            "l" => RougeKind::RougeL,
            "lsum" => RougeKind::RougeLsum,
            "1" => RougeKind::Rouge1,
            "2" => RougeKind::Rouge2,
            n => match n.parse() {
                Ok(n @ 3..=9) => RougeKind::RougeN(n),
                _ => return None,
            },
        })
    }
}

/// Precision, recall and F-measure, as `rouge_score.scoring.Score`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RougeScore {
    /// Matches over the prediction's n-grams (or tokens for ROUGE-L).
    pub precision: f64,
    /// Matches over the target's n-grams.
    pub recall: f64,
    /// Their harmonic mean (0 when both are 0).
    pub fmeasure: f64,
}

impl RougeScore {
    const ZERO: RougeScore = RougeScore {
        precision: 0.0,
        recall: 0.0,
        fmeasure: 0.0,
    };

    fn new(precision: f64, recall: f64) -> Self {
        let fmeasure = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        RougeScore {
            precision,
            recall,
            fmeasure,
        }
    }
}

/// `rouge-score`'s default tokenizer (`tokenize.tokenize(text, stemmer)`).
///
/// ```
/// use prompteval::score::rouge::tokenize;
/// assert_eq!(tokenize("The cats' 2 toys!", false), ["the", "cats", "2", "toys"]);
/// assert_eq!(tokenize("The cats' 2 toys!", true), ["the", "cat", "2", "toy"]);
/// ```
pub fn tokenize(text: &str, stem: bool) -> Vec<String> {
    let lower = lowercase(text);
    tokens(&lower, stem)
        .into_iter()
        .map(Cow::into_owned)
        .collect()
}

/// Python's `str.lower()`, without allocating a second time for ASCII text.
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// The maximal runs of `[a-z0-9]` of lowercased text, stemmed when asked.
fn tokens(lower: &str, stem: bool) -> Vec<Cow<'_, str>> {
    words(lower)
        .map(|t| {
            if stem && t.len() > 3 {
                Cow::Owned(porter::stem(t))
            } else {
                Cow::Borrowed(t)
            }
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// The maximal runs of `[a-z0-9]` of lowercased text. A scan over bytes: the runs are
/// ASCII, so they start and end on character boundaries.
fn words(lower: &str) -> impl Iterator<Item = &str> {
    let bytes = lower.as_bytes();
    let is_word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && !is_word(bytes[i]) {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i]) {
            i += 1;
        }
        (i > start).then(|| &lower[start..i])
    })
}

/// The token ids of `target` and `prediction`, as [`tokenize`] splits them, and the
/// number of distinct tokens.
fn token_ids(target: &str, prediction: &str, stem: bool) -> (Vec<u32>, Vec<u32>, u32) {
    let target_lower = lowercase(target);
    let prediction_lower = lowercase(prediction);
    // About one distinct token per five bytes, so that the table rarely grows.
    let capacity = (target.len() + prediction.len()) / 5;
    if stem {
        let t = tokens(&target_lower, stem);
        let p = tokens(&prediction_lower, stem);
        intern_pair(
            t.iter().map(AsRef::as_ref),
            p.iter().map(AsRef::as_ref),
            capacity,
        )
    } else {
        intern_pair(words(&target_lower), words(&prediction_lower), capacity)
    }
}

/// The ids of two token sequences from one interner, and its alphabet.
fn intern_pair<'a>(
    a: impl Iterator<Item = &'a str>,
    b: impl Iterator<Item = &'a str>,
    capacity: usize,
) -> (Vec<u32>, Vec<u32>, u32) {
    let mut interner = Interner::with_capacity(capacity);
    let a = interner.ids(a);
    let b = interner.ids(b);
    (a, b, interner.alphabet())
}

/// ROUGE of `prediction` against `target`, as `RougeScorer([kind], use_stemmer=stem)
/// .score(target, prediction)`.
///
/// Tokens are `rouge-score`'s default tokenizer: lowercase, every character outside
/// `[a-z0-9]` becomes a separator, and with `stem: true` the tokens longer than three
/// characters go through NLTK's Porter stemmer ([`super::porter`]). ROUGE-N counts clipped
/// n-gram matches; ROUGE-L uses the longest common subsequence.
///
/// ```
/// use prompteval::score::rouge::{rouge, RougeKind};
/// let s = rouge(RougeKind::RougeL, "the cat sat on the mat", "the cat lay on the mat", false);
/// assert!((s.fmeasure - 5.0 / 6.0).abs() < 1e-12);
/// ```
pub fn rouge(kind: RougeKind, target: &str, prediction: &str, stem: bool) -> RougeScore {
    let n = match kind {
        RougeKind::RougeL => return rouge_l(target, prediction, stem),
        RougeKind::RougeLsum => return rouge_lsum(target, prediction, stem),
        RougeKind::Rouge1 => 1,
        RougeKind::Rouge2 => 2,
        RougeKind::RougeN(n) => n,
    };
    let (t, p, alphabet) = token_ids(target, prediction, stem);
    let matches = ngram_matches(&t, &p, alphabet, n)[n - 1];
    let precision = matches as f64 / ngram_count(p.len(), n).max(1) as f64;
    let recall = matches as f64 / ngram_count(t.len(), n).max(1) as f64;
    RougeScore::new(precision, recall)
}

/// ROUGE of `prediction` against the best of `targets`, as `RougeScorer([kind])
/// .score_multi(targets, prediction)`: the first target with the highest F-measure
/// (all zeros without targets).
///
/// ```
/// use prompteval::score::rouge::{rouge_multi, RougeKind};
/// let s = rouge_multi(RougeKind::Rouge1, &["a dog", "the cat"], "the cat", false);
/// assert_eq!(s.fmeasure, 1.0);
/// ```
pub fn rouge_multi<S: AsRef<str>>(
    kind: RougeKind,
    targets: &[S],
    prediction: &str,
    stem: bool,
) -> RougeScore {
    let mut best: Option<RougeScore> = None;
    for target in targets {
        let s = rouge(kind, target.as_ref(), prediction, stem);
        if best.is_none_or(|b| s.fmeasure > b.fmeasure) {
            best = Some(s);
        }
    }
    best.unwrap_or(RougeScore::ZERO)
}

/// ROUGE-L: the longest common subsequence of the two token sequences.
fn rouge_l(target: &str, prediction: &str, stem: bool) -> RougeScore {
    let (t, p, alphabet) = token_ids(target, prediction, stem);
    if t.is_empty() || p.is_empty() {
        return RougeScore::ZERO;
    }
    let lcs = lcs_len(&t, &p, alphabet) as f64;
    RougeScore::new(lcs / p.len() as f64, lcs / t.len() as f64)
}

/// The lowercased sentences of a summary.
fn lower_sentences(text: &str) -> Vec<Cow<'_, str>> {
    rouge_lsum::sentences(text).map(lowercase).collect()
}

/// The tokens of each lowercased sentence.
fn sentence_tokens<'a>(lowered: &'a [Cow<'a, str>], stem: bool) -> Vec<Vec<Cow<'a, str>>> {
    lowered.iter().map(|s| tokens(s, stem)).collect()
}

/// ROUGE-Lsum: sentences split on newlines (rouge-score without `split_summaries`), each
/// tokenized as [`tokenize`] does, scored by [`rouge_lsum::summary_lcs`].
fn rouge_lsum(target: &str, prediction: &str, stem: bool) -> RougeScore {
    let (target_lower, prediction_lower) = (lower_sentences(target), lower_sentences(prediction));
    let (t, p) = (
        sentence_tokens(&target_lower, stem),
        sentence_tokens(&prediction_lower, stem),
    );
    if t.is_empty() || p.is_empty() {
        return RougeScore::ZERO;
    }
    let (t, p, alphabet) = rouge_lsum::intern_sentences(&t, &p);
    let (hits, m, n) = rouge_lsum::summary_lcs(&t, &p, alphabet);
    if m == 0 || n == 0 {
        return RougeScore::ZERO;
    }
    RougeScore::new(hits as f64 / n as f64, hits as f64 / m as f64)
}

/// Which of the three figures is the score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Measure {
    F,
    Precision,
    Recall,
}

const MEASURES: &str = "f, precision, recall";

/// Compiles a `rouge-*` type (`not-` already removed); the type's name says which ROUGE.
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let kind = RougeKind::of_type(c.kind.name)
        .ok_or_else(|| c.invalid(format!("`{}` is not a ROUGE type", c.kind.name), EX_ROUGE))?;
    let threshold = c
        .unit_threshold(EX_ROUGE)?
        .unwrap_or(metric::DEFAULT_THRESHOLD);
    let measure = match c.spec.measure.as_deref() {
        None | Some("f") => Measure::F,
        Some("precision") => Measure::Precision,
        Some("recall") => Measure::Recall,
        Some(other) => {
            return Err(c.invalid(
                format!("unknown `measure` `{other}`. Choose from: {MEASURES}"),
                EX_ROUGE,
            ))
        }
    };
    let reference = References::compile(c, EX_ROUGE)?;
    Ok(Box::new(Rouge {
        kind,
        name: c.kind.name.to_string(),
        measure,
        stem: c.spec.stem.unwrap_or(false),
        threshold,
        reference,
    }))
}

struct Rouge {
    kind: RougeKind,
    name: String,
    measure: Measure,
    stem: bool,
    threshold: f64,
    reference: References,
}

impl Check for Rouge {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let refs = self.reference.resolve(input, templates)?;
        let s = rouge_multi(self.kind, &refs, input.output, self.stem);
        let (score, label) = match self.measure {
            Measure::F => (s.fmeasure, "F"),
            Measure::Precision => (s.precision, "precision"),
            Measure::Recall => (s.recall, "recall"),
        };
        let what = format!("{} {label} {score:.2}", self.name);
        Ok(
            metric::outcome(score, self.threshold, what, metric::show_refs(&refs)).with_detail(
                serde_json::json!({
                    "precision": s.precision,
                    "recall": s.recall,
                    "fmeasure": s.fmeasure,
                }),
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct Case {
        target: String,
        prediction: String,
        stem: bool,
        rouge1: [f64; 3],
        rouge2: [f64; 3],
        #[serde(rename = "rougeL")]
        rouge_l: [f64; 3],
    }

    #[test]
    fn agrees_with_rouge_score_on_the_fixture() {
        let cases: Vec<Case> = crate::score::testing::fixture("rouge.json");
        assert!(cases.len() >= 200, "{}", cases.len());
        for (i, case) in cases.iter().enumerate() {
            for (kind, want) in [
                (RougeKind::Rouge1, case.rouge1),
                (RougeKind::Rouge2, case.rouge2),
                (RougeKind::RougeL, case.rouge_l),
            ] {
                let got = rouge(kind, &case.target, &case.prediction, case.stem);
                let got = [got.precision, got.recall, got.fmeasure];
                for (g, w) in got.iter().zip(want) {
                    assert!(
                        (g - w).abs() <= 1e-6,
                        "case {i} {kind:?} stem={}: got {got:?}, rouge-score {want:?}\n{:?}\n{:?}",
                        case.stem,
                        case.target,
                        case.prediction
                    );
                }
            }
        }
    }

    #[derive(Deserialize)]
    struct MultiCase {
        targets: Vec<String>,
        prediction: String,
        stem: bool,
        scores: std::collections::BTreeMap<String, [f64; 3]>,
    }

    #[test]
    fn every_type_and_several_references_agree_with_rouge_score_on_the_fixture() {
        let cases: Vec<MultiCase> = crate::score::testing::fixture("rouge-options.json");
        assert!(cases.len() >= 200, "{}", cases.len());
        assert!(cases.iter().any(|c| c.targets.len() > 1));
        for (i, case) in cases.iter().enumerate() {
            assert_eq!(case.scores.len(), 11);
            for (name, want) in &case.scores {
                let kind = match name.as_str() {
                    "rougeL" => RougeKind::RougeL,
                    "rougeLsum" => RougeKind::RougeLsum,
                    n => RougeKind::of_type(&format!("rouge-{}", &n[5..])).expect("kind"),
                };
                let got = rouge_multi(kind, &case.targets, &case.prediction, case.stem);
                let got = [got.precision, got.recall, got.fmeasure];
                for (g, w) in got.iter().zip(want) {
                    assert!(
                        (g - w).abs() <= 1e-6,
                        "case {i} {name} stem={}: got {got:?}, rouge-score {want:?}\n{:?}\n{:?}",
                        case.stem,
                        case.targets,
                        case.prediction
                    );
                }
            }
        }
    }

    #[test]
    fn several_references_score_the_best_and_lsum_splits_lines() {
        let r = eval(
            json!({"type": "rouge-2", "value": ["a dog barked", "the cat sat"]}),
            "the cat sat",
            json!({}),
        );
        assert_eq!(r.score, 1.0);
        assert!(
            r.reason
                .ends_with(r#"against "a dog barked" (and 1 more reference) (threshold 0.50)"#),
            "{}",
            r.reason
        );
        // One line: Lsum is ROUGE-L; lines in another order: Lsum forgives it, L does not.
        let (a, b) = ("the cat sat\non the mat", "on the mat\nthe cat sat");
        let one_line = rouge(
            RougeKind::RougeLsum,
            "the cat sat on it",
            "the cat on it",
            false,
        );
        assert_eq!(
            one_line,
            rouge(
                RougeKind::RougeL,
                "the cat sat on it",
                "the cat on it",
                false
            )
        );
        assert_eq!(rouge(RougeKind::RougeLsum, a, b, false).fmeasure, 1.0);
        assert!(rouge(RougeKind::RougeL, a, b, false).fmeasure < 1.0);
        let r = eval(
            json!({"type": "rouge-lsum", "measure": "recall"}),
            b,
            json!({"expected": a}),
        );
        assert_eq!(r.score, 1.0);
        assert!(
            r.reason.starts_with("rouge-lsum recall 1.00"),
            "{}",
            r.reason
        );
        let r = eval(
            json!({"type": "rouge-9"}),
            "a b c d e f g h i",
            json!({"expected": "a b c d e f g h i"}),
        );
        assert_eq!(r.score, 1.0);
    }

    #[test]
    fn tokenizer_drops_everything_but_ascii_alphanumerics() {
        assert_eq!(
            tokenize("Héllo, WORLD-42 naïve", false),
            ["h", "llo", "world", "42", "na", "ve"]
        );
        // Python lowercases the Kelvin sign to an ASCII k.
        assert_eq!(tokenize("\u{212a}elvin", false), ["kelvin"]);
        assert!(tokenize("¿?!", false).is_empty());
    }

    #[test]
    fn f_measure_by_default_and_measure_picks_precision_or_recall() {
        // target 6 tokens, prediction 3 tokens all in the target: P = 1, R = 0.5.
        let vars = json!({"expected": "the cat sat on the mat"});
        let r = eval(json!({"type": "rouge-1"}), "the cat sat", vars.clone());
        assert!((r.score - 2.0 / 3.0).abs() < 1e-12, "{}", r.score);
        assert!(r.pass);
        assert_eq!(
            r.reason,
            r#"rouge-1 F 0.67 against "the cat sat on the mat" (threshold 0.50)"#
        );
        let detail = r.detail.expect("detail");
        assert_eq!(detail["precision"], 1.0);
        assert_eq!(detail["recall"], 0.5);
        let r = eval(
            json!({"type": "rouge-1", "measure": "recall", "threshold": 0.6}),
            "the cat sat",
            vars.clone(),
        );
        assert_eq!(r.score, 0.5);
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            r#"rouge-1 recall 0.50 against "the cat sat on the mat" is below 0.60"#
        );
        let r = eval(
            json!({"type": "rouge-2", "measure": "precision"}),
            "the cat sat",
            vars,
        );
        assert_eq!(r.score, 1.0);
    }

    #[test]
    fn stemming_makes_inflections_match() {
        let vars = json!({"expected": "the runners were running"});
        let plain = eval(
            json!({"type": "rouge-l"}),
            "the runner was run",
            vars.clone(),
        );
        let stemmed = eval(
            json!({"type": "rouge-l", "stem": true}),
            "the runner was run",
            vars,
        );
        assert!(
            stemmed.score > plain.score,
            "{} {}",
            stemmed.score,
            plain.score
        );
    }

    #[test]
    fn not_rouge_inverts() {
        let r = eval(
            json!({"type": "not-rouge-l", "value": "a b c d"}),
            "a b c d",
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(r.score, 0.0);
    }

    #[test]
    fn bad_options_are_compile_errors_naming_the_choices() {
        let err = compile_err(json!({"type": "rouge-l", "measure": "f1"}));
        assert_eq!(
            err.to_string(),
            "evals/e.yaml:7: `rouge-l` assertion: unknown `measure` `f1`. Choose from: f, precision, recall"
        );
        let err = compile_err(json!({"type": "rouge-1", "threshold": 2}));
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
        let err = compile_err(json!({"type": "contains", "value": "a", "stem": true}));
        assert_eq!(
            err.to_string(),
            "evals/e.yaml:7: `contains` assertion: takes no `stem` (only the `rouge-*` types read it)"
        );
    }
}
