//! sacrebleu's BLEU tokenizers by name: `13a`, `none`, `intl`, `char` and `zh`.

use std::sync::OnceLock;

use regex::Regex;

use super::ngram::{is_py_space, py_split};
use super::tok13a::{regexp_tokenize, tokenize_13a};

/// A BLEU tokenizer (sacrebleu's `tokenize=`). `ja-mecab`, `ko-mecab` and the `spm`/`flores`
/// ones need MeCab or SentencePiece models and are not offered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BleuTokenizer {
    /// mteval-v13a, sacrebleu's default.
    #[default]
    Tok13a,
    /// Whitespace only.
    None,
    /// mteval-v14's international tokenization: Unicode punctuation and symbols.
    Intl,
    /// Every character a token.
    Char,
    /// Chinese characters one by one, the rest as `13a`'s regexes split it.
    Zh,
}

/// The names, as an error lists them.
pub const TOKENIZERS: &str = "13a, none, intl, char, zh";

impl BleuTokenizer {
    /// The tokenizer that sacrebleu calls `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "13a" => BleuTokenizer::Tok13a,
            "none" => BleuTokenizer::None,
            "intl" => BleuTokenizer::Intl,
            "char" => BleuTokenizer::Char,
            "zh" => BleuTokenizer::Zh,
            _ => return None,
        })
    }

    /// The tokens of `segment` as BLEU sees them (sacrebleu's `_preprocess_segment`
    /// without lowercasing: right-stripped, tokenized), joined by single spaces.
    ///
    /// ```
    /// use prompteval::score::bleu_tok::BleuTokenizer;
    /// assert_eq!(BleuTokenizer::Char.tokenize("ab c"), "a b c");
    /// assert_eq!(BleuTokenizer::Zh.tokenize("猫坐了。ok"), "猫 坐 了 。 ok");
    /// assert_eq!(BleuTokenizer::Intl.tokenize("«Hi», 3.5€"), "« Hi » , 3.5 €");
    /// ```
    pub fn tokenize(self, segment: &str) -> String {
        let line = segment.trim_end_matches(is_py_space);
        match self {
            BleuTokenizer::Tok13a => tokenize_13a(segment),
            BleuTokenizer::None => join(py_split(line)),
            BleuTokenizer::Intl => intl(line),
            BleuTokenizer::Char => {
                let mut out = String::with_capacity(line.len() * 2);
                for c in line.chars().filter(|&c| !is_py_space(c)) {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push(c);
                }
                out
            }
            BleuTokenizer::Zh => zh(line),
        }
    }
}

/// The words joined by single spaces (`' '.join(...)`).
fn join<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words.collect::<Vec<_>>().join(" ")
}

/// sacrebleu's `TokenizerV14International`: three regex substitutions, then whitespace
/// normalised.
fn intl(line: &str) -> String {
    static RES: OnceLock<[(Regex, &str); 3]> = OnceLock::new();
    let res = RES.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("static regex");
        [
            (re(r"(\P{N})(\p{P})"), "${1} ${2} "),
            (re(r"(\p{P})(\P{N})"), " ${1} ${2}"),
            (re(r"(\p{S})"), " ${1} "),
        ]
    });
    let mut text = line.to_string();
    for (re, replacement) in res {
        text = re.replace_all(&text, *replacement).into_owned();
    }
    join(py_split(&text))
}

/// What sacrebleu's `TokenizerZh._is_chinese_char` accepts. Its table compares one
/// character with strings, and two entries were written with five hex digits
/// (`u'\u20000'` is U+2000 followed by `0`), so they cover U+2001–U+2A6D and U+2F81–U+2FA1
/// instead of the supplementary ideographs: these are the ranges it really accepts, merged
/// (computed by asking it about every code point).
const ZH_RANGES: [(u32, u32); 13] = [
    (0x2001, 0x2a6d),
    (0x2e80, 0x2fdf),
    (0x2ff0, 0x303f),
    (0x3100, 0x312f),
    (0x31a0, 0x31ef),
    (0x3200, 0x4db5),
    (0x4e00, 0x9fbb),
    (0xf900, 0xfa2d),
    (0xfa30, 0xfa6a),
    (0xfa70, 0xfad9),
    (0xfe10, 0xfe1f),
    (0xfe30, 0xfe4f),
    (0xff00, 0xffef),
];

fn is_zh_char(c: char) -> bool {
    let c = u32::from(c);
    ZH_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// sacrebleu's `TokenizerZh`: strip, space out each Chinese character, then the regexes
/// of `13a` (without its padding and entity handling).
fn zh(line: &str) -> String {
    let line = line.trim_matches(is_py_space);
    let mut spaced = String::with_capacity(line.len() * 2);
    for c in line.chars() {
        if is_zh_char(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else {
            spaced.push(c);
        }
    }
    regexp_tokenize(&spaced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Fixture {
        tokens: Vec<(String, String, String)>,
    }

    #[test]
    fn tokenizers_agree_with_sacrebleu_on_the_fixture() {
        let fixture: Fixture = crate::score::testing::fixture("bleu-options.json");
        assert!(fixture.tokens.len() >= 400, "{}", fixture.tokens.len());
        for (name, input, want) in &fixture.tokens {
            let tokenizer = BleuTokenizer::parse(name).expect("known tokenizer");
            let got = tokenizer.tokenize(input);
            // sacrebleu's own output may hold other whitespace that `split()` drops.
            let want = join(py_split(want));
            assert_eq!(got, want, "{name}: {input:?}");
        }
    }

    #[test]
    fn the_zh_table_keeps_sacrebleus_five_digit_entries() {
        assert!(is_zh_char('\u{2014}') && is_zh_char('€') && is_zh_char('\u{2a6d}'));
        assert!(!is_zh_char('\u{2000}') && !is_zh_char('\u{2a6e}'));
        assert!(
            !is_zh_char('\u{20000}'),
            "Extension B is not in its real table"
        );
        assert_eq!(BleuTokenizer::parse("ja-mecab"), None);
    }
}
