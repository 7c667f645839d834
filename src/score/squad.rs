//! SQuAD-style answer checks, `f1` and `exact-match`, as the SQuAD v2.0 evaluation script.

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

/// The SQuAD script's `compute_f1`: token F1 of the normalised texts (1 when both are
/// empty, 0 when one is).
///
/// ```
/// use prompteval::score::squad::f1;
/// assert!((f1("the big red dog", "a red dog") - 0.8).abs() < 1e-12);
/// ```
pub fn f1(prediction: &str, truth: &str) -> f64 {
    let pred = normalize_answer(prediction);
    let gold = normalize_answer(truth);
    let mut interner = Interner::new();
    let p = interner.ids(py_split(&pred));
    let g = interner.ids(py_split(&gold));
    if p.is_empty() || g.is_empty() {
        return f64::from(u8::from(p == g));
    }
    let same = ngram_matches(&p, &g, interner.alphabet(), 1)[0];
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

/// Compiles `f1` (`not-` already removed): the best answer counts.
pub(crate) fn compile_f1(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    metric::compile(
        c,
        EX_F1,
        Box::new(|output, answers| {
            let best = answers.iter().map(|a| f1(output, a)).fold(0.0, f64::max);
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
    let answers = References::compile(c, EX_EXACT)?;
    Ok(Box::new(ExactMatch { answers }))
}

struct ExactMatch {
    answers: References,
}

impl Check for ExactMatch {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let answers = self.answers.resolve(input, templates)?;
        let output = normalize_answer(input.output);
        let hit = answers.iter().any(|a| normalize_answer(a) == output);
        let shown = metric::show_refs(&answers);
        Ok(if hit {
            Outcome::pass(format!("output matches {shown} after normalisation"))
        } else {
            Outcome::fail(format!(
                "output {} does not match {shown} after normalisation",
                super::value::show(&output)
            ))
            .when_negated(format!("output does not match {shown} after normalisation"))
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
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/score/squad.json"
        );
        let text = std::fs::read_to_string(path).expect("squad fixture");
        let cases: Vec<Case> = serde_json::from_str(&text).expect("fixture json");
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
    #[test]
    fn squad_articles_use_python_word_boundaries_on_unicode() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/score/squad-unicode.json"
        );
        let text = std::fs::read_to_string(path).expect("squad-unicode fixture");
        let fixture: UnicodeFixture = serde_json::from_str(&text).expect("fixture json");
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
