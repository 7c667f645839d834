//! SQuAD-style answer checks, `f1` and `exact-match`, as the SQuAD v2.0 evaluation script.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use super::check::{Check, Outcome};
use super::metric::{self, Measured, References};
use super::ngram::{ngram_matches, py_split, Interner};
use super::value::Compiler;
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

pub(crate) const EX_F1: &str = "{type: f1, value: \"{{ expected }}\", threshold: 0.5}";
pub(crate) const EX_EXACT: &str = "{type: exact-match, value: \"{{ expected }}\"}";

/// Whether Python's `re` counts `c` as a word character, as the script's `\b` does:
/// `str.isalnum()` or `_`, that is general category L or N.
///
/// Not Rust's `char::is_alphanumeric` (which takes some marks and symbols, such as U+0903
/// and `Ⓐ`, as alphabetic) nor the `regex` crate's `\w` (which adds every mark, U+0301,
/// and the joiner U+200D, but leaves out `²` and `½`). Compared with Python 3.11 over every
/// code point, the two agree on all characters that Python's Unicode (14.0) assigns.
fn is_py_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"^[\p{L}\p{N}]$").expect("static regex"));
    re.is_match(c.encode_utf8(&mut [0; 4]))
}

/// The script's `re.sub(r"\b(a|an|the)\b", " ", text)`, with Python's word boundaries.
fn remove_articles(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The character before `rest`, `None` at the start; right after an article it is the
    // article's last letter, a word character.
    let mut prev: Option<char> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        // Articles start with a word character, so `\b` before one means the previous
        // character is not one (tested only at a candidate: the test is not free).
        if let Some(len) = article_at(rest).filter(|_| !prev.is_some_and(is_py_word)) {
            out.push(' ');
            prev = rest[..len].chars().next_back();
            rest = &rest[len..];
            continue;
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of the article that `s` starts with and that ends at a word boundary, tried
/// in the regex's order (`a`, then `an`, then `the`).
fn article_at(s: &str) -> Option<usize> {
    ["a", "an", "the"].into_iter().find_map(|article| {
        let after = s.strip_prefix(article)?;
        let boundary = !after.chars().next().is_some_and(is_py_word);
        boundary.then_some(article.len())
    })
}

/// The SQuAD script's `normalize_answer`.
///
/// Lowercase, drop ASCII punctuation, drop the articles `a`, `an`, `the`, collapse
/// whitespace.
///
/// ```
/// use prompteval::score::squad::normalize_answer;
/// assert_eq!(normalize_answer("  The Eiffel-Tower, in PARIS!"), "eiffeltower in paris");
/// ```
pub fn normalize_answer(text: &str) -> String {
    let lower = text.to_lowercase();
    let no_punct: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    let no_articles = remove_articles(&no_punct);
    py_split(&no_articles).collect::<Vec<_>>().join(" ")
}

/// How answers are compared (`normalize`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Normalize {
    /// The SQuAD v2.0 script: [`normalize_answer`]; two answers that both normalise to
    /// nothing have F1 1.
    #[default]
    SquadV2,
    /// The SQuAD v1.1 script: the same normalisation, but F1 0 when no token is shared,
    /// even when both answers normalise to nothing (its only difference from v2.0).
    SquadV1,
    /// No normalisation: the raw texts, split on whitespace; exact match is equality.
    None,
}

/// The names, as an error lists them.
pub const NORMALIZATIONS: &str = "squad-v2, squad-v1, none";

impl Normalize {
    /// The normalisation that `normalize:` names.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "squad-v2" => Normalize::SquadV2,
            "squad-v1" => Normalize::SquadV1,
            "none" => Normalize::None,
            _ => return None,
        })
    }

    /// `text` as it is compared.
    pub fn apply(self, text: &str) -> Cow<'_, str> {
        match self {
            Normalize::SquadV2 | Normalize::SquadV1 => Cow::Owned(normalize_answer(text)),
            Normalize::None => Cow::Borrowed(text),
        }
    }
}

/// The SQuAD script's `compute_f1`: token F1 of the normalised texts (1 when both are
/// empty, 0 when one is).
///
/// ```
/// use prompteval::score::squad::f1;
/// assert!((f1("the big red dog", "a red dog") - 0.8).abs() < 1e-12);
/// ```
pub fn f1(prediction: &str, truth: &str) -> f64 {
    f1_with(prediction, truth, Normalize::SquadV2)
}

/// Token F1 under `normalize`: v2.0's `compute_f1`, v1.1's `f1_score`, or F1 of the raw
/// whitespace tokens (with v2.0's rule for empty answers).
///
/// ```
/// use prompteval::score::squad::{f1_with, Normalize};
/// assert_eq!(f1_with("the", "a", Normalize::SquadV2), 1.0);
/// assert_eq!(f1_with("the", "a", Normalize::SquadV1), 0.0);
/// assert_eq!(f1_with("The cat", "the cat", Normalize::None), 0.5);
/// ```
pub fn f1_with(prediction: &str, truth: &str, normalize: Normalize) -> f64 {
    let pred = normalize.apply(prediction);
    let gold = normalize.apply(truth);
    let mut interner = Interner::new();
    let p = interner.ids(py_split(&pred));
    let g = interner.ids(py_split(&gold));
    if (p.is_empty() || g.is_empty()) && normalize != Normalize::SquadV1 {
        return f64::from(u8::from(p == g));
    }
    let same = if p.is_empty() || g.is_empty() {
        0
    } else {
        ngram_matches(&p, &g, interner.alphabet(), 1)[0]
    };
    if same == 0 {
        return 0.0;
    }
    let precision = 1.0 * same as f64 / p.len() as f64;
    let recall = 1.0 * same as f64 / g.len() as f64;
    (2.0 * precision * recall) / (precision + recall)
}

/// The SQuAD script's `compute_exact`.
pub fn exact_match(prediction: &str, truth: &str) -> bool {
    normalize_answer(prediction) == normalize_answer(truth)
}

/// The spec's `normalize`, checked.
fn normalization(c: &Compiler<'_>, example: &'static str) -> Result<Normalize, ScoreError> {
    match c.spec.normalize.as_deref() {
        None => Ok(Normalize::default()),
        Some(name) => Normalize::parse(name).ok_or_else(|| {
            c.invalid(
                format!("unknown `normalize` `{name}`. Choose from: {NORMALIZATIONS}"),
                example,
            )
        }),
    }
}

/// Compiles `f1` (`not-` already removed): the best answer counts.
pub(crate) fn compile_f1(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let normalize = normalization(c, EX_F1)?;
    metric::compile(
        c,
        EX_F1,
        Box::new(move |output, answers| {
            let best = answers
                .iter()
                .map(|a| f1_with(output, a, normalize))
                .fold(0.0, f64::max);
            Ok(Measured {
                score: best,
                figure: format!("token F1 {best:.2}"),
                detail: None,
            })
        }),
    )
}

/// Compiles `exact-match` (`not-` already removed).
pub(crate) fn compile_exact_match(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    let normalize = normalization(c, EX_EXACT)?;
    let answers = References::compile(c, EX_EXACT)?;
    Ok(Box::new(ExactMatch { answers, normalize }))
}

struct ExactMatch {
    answers: References,
    normalize: Normalize,
}

impl Check for ExactMatch {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let answers = self.answers.resolve(input, templates)?;
        let output = self.normalize.apply(input.output);
        let hit = answers.iter().any(|a| self.normalize.apply(a) == output);
        let shown = metric::show_refs(&answers);
        let after = match self.normalize {
            Normalize::None => "",
            Normalize::SquadV2 | Normalize::SquadV1 => " after normalisation",
        };
        Ok(if hit {
            Outcome::pass(format!("output matches {shown}{after}"))
        } else {
            Outcome::fail(format!(
                "output {} does not match {shown}{after}",
                super::value::show(&output)
            ))
            .when_negated(format!("output does not match {shown}{after}"))
        })
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
        prediction: String,
        truth: String,
        normalized: String,
        f1: f64,
        em: bool,
    }

    #[test]
    fn agrees_with_the_official_squad_script_on_the_fixture() {
        let cases: Vec<Case> = crate::score::testing::fixture("squad.json");
        assert!(cases.len() >= 100, "{}", cases.len());
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(normalize_answer(&c.prediction), c.normalized, "case {i}");
            let got = f1(&c.prediction, &c.truth);
            assert!(
                (got - c.f1).abs() <= 1e-6,
                "case {i}: ours {got}, squad {}",
                c.f1
            );
            assert_eq!(exact_match(&c.prediction, &c.truth), c.em, "case {i}");
        }
    }

    #[derive(Deserialize)]
    struct UnicodeFixture {
        unicode: String,
        cases: Vec<UnicodeCase>,
    }

    #[derive(Deserialize)]
    struct UnicodeCase {
        prediction: String,
        truth: String,
        normalized: String,
        normalized_truth: String,
        f1: f64,
        em: bool,
    }

    /// Issue 13, item 9: Rust regex's `\b` disagreed with Python's `re` next to combining
    /// marks, joiners and superscript digits. Fixture: `scripts/gen-squad-unicode-fixture.py`.
    #[derive(Deserialize)]
    struct Version {
        normalized: String,
        f1: f64,
        em: bool,
    }

    #[derive(Deserialize)]
    struct VersionsCase {
        prediction: String,
        truth: String,
        v1: Version,
        v2: Version,
    }

    #[test]
    fn squad_v1_and_v2_agree_with_both_official_scripts_and_differ_only_on_empty_answers() {
        let cases: Vec<VersionsCase> = crate::score::testing::fixture("squad-versions.json");
        assert!(cases.len() >= 100, "{}", cases.len());
        let mut differ = 0;
        for (i, c) in cases.iter().enumerate() {
            for (normalize, want) in [(Normalize::SquadV1, &c.v1), (Normalize::SquadV2, &c.v2)] {
                assert_eq!(normalize.apply(&c.prediction), want.normalized, "case {i}");
                let got = f1_with(&c.prediction, &c.truth, normalize);
                assert!(
                    (got - want.f1).abs() <= 1e-6,
                    "case {i} {normalize:?}: {got}"
                );
                assert_eq!(exact_match(&c.prediction, &c.truth), want.em, "case {i}");
            }
            if c.v1.f1 != c.v2.f1 {
                differ += 1;
                assert!(normalize_answer(&c.prediction).is_empty(), "case {i}");
                assert!(normalize_answer(&c.truth).is_empty(), "case {i}");
            }
        }
        assert!(differ >= 5, "{differ}");
    }

    #[test]
    fn normalize_is_read_and_checked() {
        let vars = json!({"expected": "The"});
        let r = eval(json!({"type": "f1"}), "a", vars.clone());
        assert_eq!(r.score, 1.0);
        let r = eval(
            json!({"type": "f1", "normalize": "squad-v1"}),
            "a",
            vars.clone(),
        );
        assert_eq!(r.score, 0.0);
        let r = eval(
            json!({"type": "exact-match", "normalize": "none"}),
            "the",
            vars.clone(),
        );
        assert!(!r.pass);
        assert_eq!(r.reason, r#"output "the" does not match "The""#);
        let r = eval(
            json!({"type": "exact-match", "normalize": "squad-v1"}),
            "the",
            vars,
        );
        assert!(r.pass);
        let err = compile_err(json!({"type": "f1", "normalize": "squad"}));
        assert!(
            err.to_string()
                .ends_with("unknown `normalize` `squad`. Choose from: squad-v2, squad-v1, none"),
            "{err}"
        );
        let err = compile_err(json!({"type": "bleu", "normalize": "none"}));
        assert!(
            err.to_string()
                .ends_with("takes no `normalize` (only `f1` and `exact-match` read it)"),
            "{err}"
        );
    }

    #[test]
    fn squad_articles_use_python_word_boundaries_on_unicode() {
        let fixture: UnicodeFixture = crate::score::testing::fixture("squad-unicode.json");
        assert!(!fixture.unicode.is_empty());
        for c in &fixture.cases {
            let case = format!("{:?} vs {:?}", c.prediction, c.truth);
            assert_eq!(normalize_answer(&c.prediction), c.normalized, "{case}");
            assert_eq!(normalize_answer(&c.truth), c.normalized_truth, "{case}");
            assert!((f1(&c.prediction, &c.truth) - c.f1).abs() <= 1e-6, "{case}");
            assert_eq!(exact_match(&c.prediction, &c.truth), c.em, "{case}");
        }
        assert_eq!(f1("the\u{301} cat", "\u{301} cat"), 1.0);
        assert!(exact_match("the\u{301} cat", "\u{301} cat"));
    }

    #[test]
    fn python_word_characters_are_letters_numbers_and_underscore() {
        for c in ['a', 'Z', '7', '_', 'é', '中', '²', '½', 'Ⅻ', '٣'] {
            assert!(is_py_word(c), "{c:?}");
        }
        for c in [' ', '-', '\u{301}', '\u{903}', '\u{200d}', 'Ⓐ', '‿', '€'] {
            assert!(!is_py_word(c), "{c:?}");
        }
    }

    #[test]
    fn exact_match_normalises_and_accepts_any_listed_answer() {
        let r = eval(
            json!({"type": "exact-match", "value": ["Paris", "the city of Paris"]}),
            " The City of Paris.\n",
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "exact-match"}),
            "Lyon",
            json!({"expected": "Paris"}),
        );
        assert!(!r.pass);
        assert_eq!(
            r.reason,
            r#"output "lyon" does not match "Paris" after normalisation"#
        );
        let r = eval(
            json!({"type": "not-exact-match"}),
            "Lyon",
            json!({"expected": "Paris"}),
        );
        assert!(r.pass);
        assert_eq!(
            r.reason,
            r#"output does not match "Paris" after normalisation"#
        );
        let err = compile_err(json!({"type": "exact-match", "threshold": 0.5}));
        assert!(err.to_string().contains("takes no `threshold`"), "{err}");
    }

    #[test]
    fn f1_takes_the_best_answer() {
        let r = eval(
            json!({"type": "f1", "value": ["red dog", "the big red dog"]}),
            "big red dog",
            json!({}),
        );
        assert_eq!(r.score, 1.0);
        assert_eq!(
            r.reason,
            r#"token F1 1.00 against "red dog" (and 1 more reference) (threshold 0.50)"#
        );
    }
}
