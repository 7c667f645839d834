//! The Porter stemmer exactly as NLTK's `PorterStemmer()` has it, as `rouge-score` uses it.

/// The stem of `word`, as `nltk.stem.porter.PorterStemmer().stem(word)` returns it.
///
/// NLTK's default `NLTK_EXTENSIONS` mode, which is what Google's `rouge-score` uses for
/// `use_stemmer`: a line-by-line port of `nltk/stem/porter.py` (nltk 3.9), with the
/// irregular-forms pool, the NLTK-only rules (`ies`/`ied` on four-letter words, `y` → `i`
/// only after a consonant, `alli`, `fulli`, `logi`, the two-letter "cvc" case) and the
/// rule-list semantics where the first rule whose suffix matches decides, whether or not
/// its condition holds. Checked word by word against nltk in
/// `tests/fixtures/score/porter.json`.
///
/// ```
/// use prompteval::score::porter::stem;
/// assert_eq!(stem("running"), "run");
/// assert_eq!(stem("generalizations"), "gener");
/// assert_eq!(stem("skies"), "sky");
/// assert_eq!(stem("dying"), "die");
/// // As in NLTK, the irregular forms are looked up before lowercasing.
/// assert_eq!(stem("Dying"), "dy");
/// ```
pub fn stem(word: &str) -> String {
    let lower = word.to_lowercase();
    // NLTK looks the word up as given but returns the entry of the lowercased one; pool
    // keys are lowercase, so both are the same word whenever the lookup succeeds.
    if let Some(irregular) = pool(word) {
        return irregular.to_string();
    }
    if word.chars().count() <= 2 {
        return lower;
    }
    let mut w: Vec<char> = lower.chars().collect();
    w = step1a(w);
    w = step1b(w);
    w = step1c(w);
    w = step2(w);
    w = step3(w);
    w = step4(w);
    w = step5a(w);
    w = step5b(w);
    w.into_iter().collect()
}

/// NLTK's irregular forms.
fn pool(word: &str) -> Option<&'static str> {
    Some(match word {
        "sky" | "skies" => "sky",
        "dying" => "die",
        "lying" => "lie",
        "tying" => "tie",
        "news" => "news",
        "innings" | "inning" => "inning",
        "outings" | "outing" => "outing",
        "cannings" | "canning" => "canning",
        "howe" => "howe",
        "proceed" => "proceed",
        "exceed" => "exceed",
        "succeed" => "succeed",
        _ => return None,
    })
}

fn is_consonant(w: &[char], i: usize) -> bool {
    match w[i] {
        'a' | 'e' | 'i' | 'o' | 'u' => false,
        'y' => i == 0 || !is_consonant(w, i - 1),
        _ => true,
    }
}

/// Porter's m: the number of vowel-consonant sequences.
fn measure(stem: &[char]) -> usize {
    let mut count = 0;
    let mut prev_vowel = false;
    for i in 0..stem.len() {
        let consonant = is_consonant(stem, i);
        if consonant && prev_vowel {
            count += 1;
        }
        prev_vowel = !consonant;
    }
    count
}

fn positive_measure(stem: &[char]) -> bool {
    measure(stem) > 0
}

fn measure_gt_1(stem: &[char]) -> bool {
    measure(stem) > 1
}

fn contains_vowel(stem: &[char]) -> bool {
    (0..stem.len()).any(|i| !is_consonant(stem, i))
}

fn ends_double_consonant(w: &[char]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

fn ends_cvc(w: &[char]) -> bool {
    let n = w.len();
    (n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !matches!(w[n - 1], 'w' | 'x' | 'y'))
        || (n == 2 && !is_consonant(w, 0) && is_consonant(w, 1))
}

fn ends_with(w: &[char], suffix: &str) -> bool {
    let n = suffix.chars().count();
    w.len() >= n && w[w.len() - n..].iter().copied().eq(suffix.chars())
}

/// `w` without its last `suffix.len()` characters, plus `replacement`.
fn replace(w: &[char], suffix: &str, replacement: &str) -> Vec<char> {
    let mut out = w[..w.len() - suffix.chars().count()].to_vec();
    out.extend(replacement.chars());
    out
}

type Condition<'a> = &'a dyn Fn(&[char]) -> bool;

/// `_apply_rule_list`: the first rule whose suffix matches decides; when its condition
/// fails, the word is returned unchanged (later rules are not tried).
fn apply_rules(w: Vec<char>, rules: &[(&str, &str, Option<Condition<'_>>)]) -> Vec<char> {
    for (suffix, replacement, condition) in rules {
        if ends_with(&w, suffix) {
            let stem = replace(&w, suffix, "");
            return match condition {
                Some(cond) if !cond(&stem) => w,
                _ => replace(&w, suffix, replacement),
            };
        }
    }
    w
}

fn step1a(w: Vec<char>) -> Vec<char> {
    if ends_with(&w, "ies") && w.len() == 4 {
        return replace(&w, "ies", "ie");
    }
    apply_rules(
        w,
        &[
            ("sses", "ss", None),
            ("ies", "i", None),
            ("ss", "ss", None),
            ("s", "", None),
        ],
    )
}

fn step1b(w: Vec<char>) -> Vec<char> {
    if ends_with(&w, "ied") {
        return if w.len() == 4 {
            replace(&w, "ied", "ie")
        } else {
            replace(&w, "ied", "i")
        };
    }
    if ends_with(&w, "eed") {
        let stem = replace(&w, "eed", "");
        return if measure(&stem) > 0 {
            replace(&w, "eed", "ee")
        } else {
            w
        };
    }
    let mut intermediate = None;
    for suffix in ["ed", "ing"] {
        if ends_with(&w, suffix) {
            let stem = replace(&w, suffix, "");
            if contains_vowel(&stem) {
                intermediate = Some(stem);
                break;
            }
        }
    }
    let Some(stem) = intermediate else {
        return w;
    };
    for (suffix, replacement) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] {
        if ends_with(&stem, suffix) {
            return replace(&stem, suffix, replacement);
        }
    }
    // ("*d", last letter, last letter not in l/s/z): a double consonant decides.
    if ends_double_consonant(&stem) {
        let last = stem[stem.len() - 1];
        return if matches!(last, 'l' | 's' | 'z') {
            stem
        } else {
            stem[..stem.len() - 1].to_vec()
        };
    }
    // ("", "e", m = 1 and *o): the empty suffix always matches.
    if measure(&stem) == 1 && ends_cvc(&stem) {
        let mut out = stem;
        out.push('e');
        out
    } else {
        stem
    }
}

fn step1c(w: Vec<char>) -> Vec<char> {
    let cond = |stem: &[char]| stem.len() > 1 && is_consonant(stem, stem.len() - 1);
    apply_rules(w, &[("y", "i", Some(&cond))])
}

fn step2(w: Vec<char>) -> Vec<char> {
    if ends_with(&w, "alli") && positive_measure(&replace(&w, "alli", "")) {
        return step2(replace(&w, "alli", "al"));
    }
    let pos: Condition<'_> = &positive_measure;
    // "logi" looks at the word without "ogi" (the stem plus its "l").
    let logi_base = if w.len() >= 3 {
        w[..w.len() - 3].to_vec()
    } else {
        Vec::new()
    };
    let logi = move |_: &[char]| positive_measure(&logi_base);
    apply_rules(
        w,
        &[
            ("ational", "ate", Some(pos)),
            ("tional", "tion", Some(pos)),
            ("enci", "ence", Some(pos)),
            ("anci", "ance", Some(pos)),
            ("izer", "ize", Some(pos)),
            ("bli", "ble", Some(pos)),
            ("alli", "al", Some(pos)),
            ("entli", "ent", Some(pos)),
            ("eli", "e", Some(pos)),
            ("ousli", "ous", Some(pos)),
            ("ization", "ize", Some(pos)),
            ("ation", "ate", Some(pos)),
            ("ator", "ate", Some(pos)),
            ("alism", "al", Some(pos)),
            ("iveness", "ive", Some(pos)),
            ("fulness", "ful", Some(pos)),
            ("ousness", "ous", Some(pos)),
            ("aliti", "al", Some(pos)),
            ("iviti", "ive", Some(pos)),
            ("biliti", "ble", Some(pos)),
            ("fulli", "ful", Some(pos)),
            ("logi", "log", Some(&logi)),
        ],
    )
}

fn step3(w: Vec<char>) -> Vec<char> {
    let pos: Condition<'_> = &positive_measure;
    apply_rules(
        w,
        &[
            ("icate", "ic", Some(pos)),
            ("ative", "", Some(pos)),
            ("alize", "al", Some(pos)),
            ("iciti", "ic", Some(pos)),
            ("ical", "ic", Some(pos)),
            ("ful", "", Some(pos)),
            ("ness", "", Some(pos)),
        ],
    )
}

fn step4(w: Vec<char>) -> Vec<char> {
    let gt1: Condition<'_> = &measure_gt_1;
    let ion = |stem: &[char]| measure(stem) > 1 && matches!(stem.last(), Some('s' | 't'));
    apply_rules(
        w,
        &[
            ("al", "", Some(gt1)),
            ("ance", "", Some(gt1)),
            ("ence", "", Some(gt1)),
            ("er", "", Some(gt1)),
            ("ic", "", Some(gt1)),
            ("able", "", Some(gt1)),
            ("ible", "", Some(gt1)),
            ("ant", "", Some(gt1)),
            ("ement", "", Some(gt1)),
            ("ment", "", Some(gt1)),
            ("ent", "", Some(gt1)),
            ("ion", "", Some(&ion)),
            ("ou", "", Some(gt1)),
            ("ism", "", Some(gt1)),
            ("ate", "", Some(gt1)),
            ("iti", "", Some(gt1)),
            ("ous", "", Some(gt1)),
            ("ive", "", Some(gt1)),
            ("ize", "", Some(gt1)),
        ],
    )
}

fn step5a(w: Vec<char>) -> Vec<char> {
    if ends_with(&w, "e") {
        let stem = &w[..w.len() - 1];
        let m = measure(stem);
        if m > 1 || (m == 1 && !ends_cvc(stem)) {
            return stem.to_vec();
        }
    }
    w
}

fn step5b(w: Vec<char>) -> Vec<char> {
    let without_last = w[..w.len().saturating_sub(1)].to_vec();
    let cond = move |_: &[char]| measure(&without_last) > 1;
    apply_rules(w, &[("ll", "l", Some(&cond))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_examples() {
        for (word, want) in [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "tie"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("motoring", "motor"),
            ("sing", "sing"),
            ("conflated", "conflat"),
            ("hopping", "hop"),
            ("falling", "fall"),
            ("filing", "file"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("conditional", "condit"),
            ("hopeful", "hope"),
            ("goodness", "good"),
            ("adjustment", "adjust"),
            ("controll", "control"),
            ("generically", "gener"),
            ("analogies", "analog"),
            ("died", "die"),
            ("cried", "cri"),
            ("innings", "inning"),
            ("a", "a"),
            ("is", "is"),
        ] {
            assert_eq!(stem(word), want, "{word}");
        }
    }

    #[test]
    fn the_whole_nltk_fixture_agrees() {
        let pairs: Vec<(String, String)> = crate::score::testing::fixture("porter.json");
        assert!(pairs.len() > 1000, "{}", pairs.len());
        let wrong: Vec<String> = pairs
            .iter()
            .filter(|(word, want)| stem(word) != *want)
            .map(|(word, want)| format!("{word}: nltk {want}, ours {}", stem(word)))
            .collect();
        assert!(
            wrong.is_empty(),
            "{} differ:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}
