//! ROUGE assertions (`rouge-1`, `rouge-2`, `rouge-l`), exactly as Google's `rouge-score`.

use std::borrow::Cow;

use super::check::{Check, Outcome};
use super::metric::{self, References};
use super::ngram::{lcs_len, ngram_count, ngram_matches, Interner};
use super::porter;
use super::value::Compiler;
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
    /// Longest common subsequence (`rougeL`).
    RougeL,
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
    let (t, p, alphabet) = token_ids(target, prediction, stem);
    match kind {
        RougeKind::Rouge1 | RougeKind::Rouge2 => {
            let n = if kind == RougeKind::Rouge1 { 1 } else { 2 };
            let matches = ngram_matches(&t, &p, alphabet, n)[n - 1];
            let precision = matches as f64 / ngram_count(p.len(), n).max(1) as f64;
            let recall = matches as f64 / ngram_count(t.len(), n).max(1) as f64;
            RougeScore::new(precision, recall)
        }
        RougeKind::RougeL => {
            if t.is_empty() || p.is_empty() {
                return RougeScore {
                    precision: 0.0,
                    recall: 0.0,
                    fmeasure: 0.0,
                };
            }
            let lcs = lcs_len(&t, &p, alphabet) as f64;
            RougeScore::new(lcs / p.len() as f64, lcs / t.len() as f64)
        }
    }
}

/// Which of the three figures is the score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Measure {
    F,
    Precision,
    Recall,
}

const MEASURES: &str = "f, precision, recall";

/// Compiles `rouge-1` (`not-` already removed).
pub(crate) fn rouge_1(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    compile(c, RougeKind::Rouge1)
}

/// Compiles `rouge-2` (`not-` already removed).
pub(crate) fn rouge_2(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    compile(c, RougeKind::Rouge2)
}

/// Compiles `rouge-l` (`not-` already removed).
pub(crate) fn rouge_l(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    compile(c, RougeKind::RougeL)
}

fn compile(c: &mut Compiler<'_>, kind: RougeKind) -> Result<Box<dyn Check>, ScoreError> {
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
    if matches!(c.spec.value, Some(serde_json::Value::Array(_))) {
        return Err(c.invalid(
            "`value` must be one reference string (ROUGE compares with one reference)",
            EX_ROUGE,
        ));
    }
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
        let target = refs.first().map(String::as_str).unwrap_or("");
        let s = rouge(self.kind, target, input.output, self.stem);
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
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/score/rouge.json"
        );
        let text = std::fs::read_to_string(path).expect("rouge fixture");
        let cases: Vec<Case> = serde_json::from_str(&text).expect("fixture json");
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
        let err = compile_err(json!({"type": "rouge-2", "value": ["a", "b"]}));
        assert!(err.to_string().contains("one reference"), "{err}");
        let err = compile_err(json!({"type": "contains", "value": "a", "stem": true}));
        assert_eq!(
            err.to_string(),
            "evals/e.yaml:7: `contains` assertion: takes no `stem` (only the `rouge-*` types read it)"
        );
    }
}
