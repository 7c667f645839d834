//! sacrebleu's `13a` tokenizer (mteval-v13a), as BLEU applies it, in one scan.

use std::borrow::Cow;

use super::ngram::is_py_space;

/// A byte that ends a word: ASCII whitespace that Python's `str.split()` splits on.
const SPACE: u8 = 1;
/// A byte of step 1's class, which becomes a token of its own.
const PUNCT: u8 = 2;
/// `.`, `,` or `-`: steps 2–4 may split the word around it.
const SPLITS: u8 = 3;

/// The class of every byte (0: part of a word, nothing special).
static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = match b {
            b'\t'..=b'\r' | 0x1c..=b' ' => SPACE,
            b'{'..=b'~' | b'['..=b'`' | b'!'..=b'&' | b'('..=b'+' | b':'..=b'@' | b'/' => PUNCT,
            b'.' | b',' | b'-' => SPLITS,
            _ => 0,
        };
        i += 1;
    }
    table
}

/// sacrebleu's `13a` tokenizer applied as BLEU applies it (`_preprocess_segment`: the
/// segment is right-stripped first), as the space-joined tokens.
///
/// sacrebleu right-strips the segment, removes `<skipped>` and `-\n`, turns newlines into
/// spaces, unescapes four HTML entities, then runs four regex substitutions over the
/// whole line and splits on whitespace:
///
/// 1. `([\{-\~\[-\` -\&\(-\+\:-\@\/])` → ` \1 ` (ASCII punctuation becomes its own token);
/// 2. `([^0-9])([\.,])` → `\1 \2 `;
/// 3. `([\.,])([^0-9])` → ` \1 \2`;
/// 4. `([0-9])(-)` → `\1 \2 `.
///
/// After step 1 every whitespace-separated word can be treated on its own: whitespace
/// plays the same part in steps 2–4 as the padding around a lone word (a non-digit that
/// is neither `.`, `,` nor `-`), and whether a match swallows it never changes the next
/// word's matches (whitespace can only end a step-3 match, and no step-3 match starts
/// with it). Steps 2–4 only touch words holding `.`, `,` or `-`, so every other word is
/// a token as it stands; the few that remain go through the substitutions exactly as the
/// regexes apply them (left to right, resuming behind each match). The result equals the
/// four passes over the whole line (the test below checks it on random text against a
/// plain transcription of them), at about half the cost in the text-metric benchmark.
///
/// ```
/// use prompteval::score::bleu::tokenize_13a;
/// assert_eq!(tokenize_13a("Hello, world! It costs $3.50."), "Hello , world ! It costs $ 3.50 .");
/// assert_eq!(tokenize_13a("A &amp; B -- 1-2"), "A & B -- 1 - 2");
/// ```
pub fn tokenize_13a(segment: &str) -> String {
    let line = preprocess(segment);
    let mut out = String::with_capacity(line.len() + line.len() / 2);
    let mut scratch = (Vec::with_capacity(64), Vec::with_capacity(64));
    let ascii = line.is_ascii();
    let mut start = None;
    let mut splits = false;
    for (i, &b) in line.as_bytes().iter().enumerate() {
        match CLASS[usize::from(b)] {
            0 => {
                start.get_or_insert(i);
            }
            SPLITS => {
                start.get_or_insert(i);
                splits = true;
            }
            class => {
                if let Some(s) = start.take() {
                    word(&line[s..i], splits, ascii, &mut scratch, &mut out);
                    splits = false;
                }
                if class == PUNCT {
                    push_token(&mut out, &line[i..=i]);
                }
            }
        }
    }
    if let Some(s) = start {
        word(&line[s..], splits, ascii, &mut scratch, &mut out);
    }
    out
}

/// The tokens of [`tokenize_13a`]'s output: a byte scan, because tokens are short and
/// a `memchr` call per token cost more than the scan.
pub(crate) fn tokens(tokenized: &str) -> impl Iterator<Item = &str> {
    let bytes = tokenized.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b' ' {
            i += 1;
        }
        // Spaces are ASCII, so both ends are character boundaries.
        (i > start).then(|| &tokenized[start..i])
    })
}

/// Everything before the regexes: right-strip, `<skipped>`, `-\n`, newlines and the four
/// entities, in sacrebleu's order.
fn preprocess(segment: &str) -> Cow<'_, str> {
    let mut line = Cow::Borrowed(segment.trim_end_matches(is_py_space));
    // One scan for the bytes that every replacement starts with, instead of five
    // substring searches on every segment.
    if !line
        .bytes()
        .any(|b| matches!(b, b'<' | b'-' | b'\n' | b'&'))
    {
        return line;
    }
    for (from, to) in [("<skipped>", ""), ("-\n", ""), ("\n", " ")] {
        if line.contains(from) {
            line = Cow::Owned(line.replace(from, to));
        }
    }
    if line.contains('&') {
        for (from, to) in [
            ("&quot;", "\""),
            ("&amp;", "&"),
            ("&lt;", "<"),
            ("&gt;", ">"),
        ] {
            line = Cow::Owned(line.replace(from, to));
        }
    }
    line
}

/// Appends `token` to the space-joined output.
fn push_token(out: &mut String, token: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(token);
}

/// Appends the tokens of one word (no ASCII whitespace, no step-1 punctuation), which
/// `splits` if it holds `.`, `,` or `-`; `ascii` says whether the whole line is ASCII.
fn word(w: &str, splits: bool, ascii: bool, scratch: &mut (Vec<u8>, Vec<u8>), out: &mut String) {
    if !splits && ascii {
        push_token(out, w);
        return;
    }
    let text: &str = if splits {
        let (a, b) = scratch;
        a.clear();
        a.push(b' ');
        a.extend_from_slice(w.as_bytes());
        a.push(b' ');
        substitute(a, b);
        // Spaces were only inserted next to ASCII bytes, so the word is still UTF-8.
        match std::str::from_utf8(a) {
            Ok(text) => text,
            Err(_) => w,
        }
    } else {
        w
    };
    if text.is_ascii() {
        for token in tokens(text) {
            push_token(out, token);
        }
    } else {
        // Non-ASCII whitespace is part of the word for the regexes but splits tokens.
        for token in text.split(is_py_space).filter(|t| !t.is_empty()) {
            push_token(out, token);
        }
    }
}

/// sacrebleu's `TokenizerRegexp` on a line as it stands (no padding, no entities): the
/// four substitutions of [`tokenize_13a`], then whitespace normalised. The `zh` tokenizer
/// ends with it.
pub(super) fn regexp_tokenize(line: &str) -> String {
    // Step 1, then steps 2–4 over the whole line.
    let mut text = Vec::with_capacity(line.len() * 2);
    for &b in line.as_bytes() {
        if CLASS[usize::from(b)] == PUNCT {
            text.extend_from_slice(&[b' ', b, b' ']);
        } else {
            text.push(b);
        }
    }
    let mut spare = Vec::with_capacity(text.len() * 2);
    substitute(&mut text, &mut spare);
    // Spaces were only inserted next to ASCII bytes, so the text is still UTF-8.
    let text = String::from_utf8(text).unwrap_or_else(|_| line.to_string());
    let tokens: Vec<&str> = text.split(is_py_space).filter(|t| !t.is_empty()).collect();
    tokens.join(" ")
}

/// Steps 2–4 of the tokenizer on `text`, which ends up holding the result (`spare` is a
/// scratch buffer).
pub(super) fn substitute(text: &mut Vec<u8>, spare: &mut Vec<u8>) {
    // ([^0-9])([\.,]) → "\1 \2 "
    sub_pairs(
        text,
        spare,
        |x, y| !x.is_ascii_digit() && matches!(y, b'.' | b','),
        |x, y, out| out.extend_from_slice(&[x, b' ', y, b' ']),
    );
    // ([\.,])([^0-9]) → " \1 \2"
    sub_pairs(
        spare,
        text,
        |x, y| matches!(x, b'.' | b',') && !y.is_ascii_digit(),
        |x, y, out| out.extend_from_slice(&[b' ', x, b' ', y]),
    );
    // ([0-9])(-) → "\1 \2 "
    sub_pairs(
        text,
        spare,
        |x, y| x.is_ascii_digit() && y == b'-',
        |x, y, out| out.extend_from_slice(&[x, b' ', y, b' ']),
    );
    std::mem::swap(text, spare);
}

/// `re.sub` of a two-character pattern from `input` into `out`: scans left to right,
/// and after a match resumes behind it.
fn sub_pairs(
    input: &[u8],
    out: &mut Vec<u8>,
    matches: impl Fn(u8, u8) -> bool,
    replace: impl Fn(u8, u8, &mut Vec<u8>),
) {
    out.clear();
    let mut i = 0;
    while i < input.len() {
        if i + 1 < input.len() && matches(input[i], input[i + 1]) {
            replace(input[i], input[i + 1], out);
            i += 2;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The four substitutions over the whole line, as sacrebleu writes them: the oracle
    /// for the one-scan tokenizer.
    fn four_passes(segment: &str) -> String {
        let line = preprocess(segment);
        let mut a = vec![b' '];
        for &b in line.as_bytes() {
            if matches!(b, b'{'..=b'~' | b'['..=b'`' | b' '..=b'&' | b'('..=b'+' | b':'..=b'@' | b'/')
            {
                a.extend_from_slice(&[b' ', b, b' ']);
            } else {
                a.push(b);
            }
        }
        a.push(b' ');
        substitute(&mut a, &mut Vec::new());
        let text = String::from_utf8(a).expect("utf-8");
        text.split(is_py_space)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn one_scan_agrees_with_the_four_passes_on_random_text() {
        let alphabet = [
            "a",
            "B",
            "0",
            "7",
            "3",
            ".",
            ",",
            "-",
            " ",
            "\t",
            "\n",
            "$",
            "!",
            "/",
            "(",
            "&",
            "&amp;",
            "&lt;",
            "é",
            "İ",
            "\u{a0}",
            "\u{3000}",
            "\u{1c}",
            "…",
            "<skipped>",
        ];
        let mut rng = fastrand::Rng::with_seed(13);
        for _ in 0..20_000 {
            let len = rng.usize(0..14);
            let text: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            assert_eq!(tokenize_13a(&text), four_passes(&text), "{text:?}");
        }
    }

    #[test]
    fn numbers_and_punctuation_split_as_in_sacrebleu() {
        assert_eq!(
            tokenize_13a("1,000.5 a.b 3-4 x-y ...,"),
            "1,000.5 a . b 3 - 4 x-y . . . ,"
        );
        assert_eq!(tokenize_13a("  "), "");
    }
}
