//! Text assertions: equality, substrings, affixes, regexes, lengths and word counts.

use std::borrow::Cow;

use regex::Regex;
use serde_json::Value as Json;

use super::check::{Check, Outcome};
use super::value::{count, describe, show, show_list, Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

pub(crate) const EX_EQUALS: &str = "{type: equals, value: \"{{ expected }}\"}";
pub(crate) const EX_CONTAINS: &str = "{type: contains, value: Paris}";
pub(crate) const EX_LIST: &str = "{type: contains-any, value: [positive, negative]}";
pub(crate) const EX_AFFIX: &str = "{type: starts-with, value: \"Answer:\"}";
pub(crate) const EX_REGEX: &str = "{type: regex, value: \"^[0-9]+$\"}";
pub(crate) const EX_LENGTH: &str = "{type: max-length, value: 40}";
pub(crate) const EX_WORDS: &str =
    "{type: word-count, value: {min: 1, max: 5}} (or a number: the maximum, {type: word-count, value: 5})";

/// The result of a text type's compile function.
type Compiled = Result<Box<dyn Check>, ScoreError>;

/// Compiles `equals`.
pub(crate) fn equals(c: &mut Compiler<'_>) -> Compiled {
    Ok(Box::new(Equals {
        value: c.text_value(EX_EQUALS)?,
        trim: c.spec.trim.unwrap_or(true),
    }))
}

/// Compiles `contains`.
pub(crate) fn contains(c: &mut Compiler<'_>) -> Compiled {
    contains_one(c, false)
}

/// Compiles `icontains`.
pub(crate) fn icontains(c: &mut Compiler<'_>) -> Compiled {
    contains_one(c, true)
}

fn contains_one(c: &mut Compiler<'_>, ignore_case: bool) -> Compiled {
    let needle = Needle::new(c.text_value(EX_CONTAINS)?, ignore_case);
    Ok(Box::new(Contains {
        needle,
        ignore_case,
    }))
}

/// Compiles `contains-any`.
pub(crate) fn contains_any(c: &mut Compiler<'_>) -> Compiled {
    contains_list(c, false, false)
}

/// Compiles `contains-all`.
pub(crate) fn contains_all(c: &mut Compiler<'_>) -> Compiled {
    contains_list(c, false, true)
}

/// Compiles `icontains-any`.
pub(crate) fn icontains_any(c: &mut Compiler<'_>) -> Compiled {
    contains_list(c, true, false)
}

/// Compiles `icontains-all`.
pub(crate) fn icontains_all(c: &mut Compiler<'_>) -> Compiled {
    contains_list(c, true, true)
}

fn contains_list(c: &mut Compiler<'_>, ignore_case: bool, all: bool) -> Compiled {
    let needles = c
        .text_list(EX_LIST)?
        .into_iter()
        .map(|t| Needle::new(t, ignore_case))
        .collect();
    Ok(Box::new(ContainsList {
        needles,
        ignore_case,
        all,
    }))
}

/// Compiles `starts-with`.
pub(crate) fn starts_with(c: &mut Compiler<'_>) -> Compiled {
    affix(c, true)
}

/// Compiles `ends-with`.
pub(crate) fn ends_with(c: &mut Compiler<'_>) -> Compiled {
    affix(c, false)
}

fn affix(c: &mut Compiler<'_>, start: bool) -> Compiled {
    Ok(Box::new(Affix {
        value: c.text_value(EX_AFFIX)?,
        start,
    }))
}

/// Compiles `regex`: a literal pattern is compiled here, once.
pub(crate) fn regex(c: &mut Compiler<'_>) -> Compiled {
    let pattern = match c.text_value(EX_REGEX)? {
        Text::Literal(source) => {
            Pattern::Compiled(Regex::new(&source).map_err(|err| ScoreError::InvalidRegex {
                origin: c.origin.clone(),
                kind: c.spec.kind.clone(),
                pattern: source.clone(),
                source: Box::new(err),
            })?)
        }
        other => Pattern::Rendered(other),
    };
    Ok(Box::new(RegexCheck { pattern }))
}

/// Compiles `max-length`.
pub(crate) fn max_length(c: &mut Compiler<'_>) -> Compiled {
    length(c, true)
}

/// Compiles `min-length`.
pub(crate) fn min_length(c: &mut Compiler<'_>) -> Compiled {
    length(c, false)
}

fn length(c: &mut Compiler<'_>, max: bool) -> Compiled {
    Ok(Box::new(Length {
        limit: c.count_value(EX_LENGTH)?,
        max,
    }))
}

/// `equals`: the output is exactly the value, both trimmed of surrounding whitespace
/// unless `trim: false`; the reason says when trimming made them equal.
struct Equals {
    value: Text,
    trim: bool,
}

impl Check for Equals {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let resolved = self.value.resolve(input, templates)?;
        let (expected, got) = match self.trim {
            true => (resolved.trim(), input.output.trim()),
            false => (&*resolved, input.output),
        };
        let trimmed = got.len() != input.output.len() || expected.len() != resolved.len();
        Ok(if got == expected {
            let how = match trimmed {
                true => " (surrounding whitespace trimmed; `trim: false` compares exactly)",
                false => "",
            };
            Outcome::pass(format!("output equals {}{how}", show(expected)))
        } else {
            Outcome::fail(format!("expected {}, got {}", show(expected), show(got)))
                .when_negated(format!("output {} is not {}", show(got), show(expected)))
        })
    }
}

/// A string searched for; for case-insensitive types a literal is lowercased once.
struct Needle {
    text: Text,
    lowered: Option<String>,
}

impl Needle {
    fn new(text: Text, ignore_case: bool) -> Self {
        let lowered = match text.literal() {
            Some(literal) if ignore_case => Some(lowercase(literal)),
            _ => None,
        };
        Needle { text, lowered }
    }

    /// The string to search for and the one to show, for one row.
    fn resolve<'a>(
        &'a self,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
        ignore_case: bool,
    ) -> Result<(Cow<'a, str>, Cow<'a, str>), String> {
        if let Some(lowered) = &self.lowered {
            let shown = self.text.resolve(input, templates)?;
            return Ok((Cow::Borrowed(lowered.as_str()), shown));
        }
        let shown = self.text.resolve(input, templates)?;
        let search = if ignore_case {
            Cow::Owned(lowercase(&shown))
        } else {
            shown.clone()
        };
        Ok((search, shown))
    }
}

/// `text` in lower case: byte by byte when it is ASCII (the same result, several times
/// faster than Unicode case mapping char by char, which was 4% of a million-cell run with
/// one `icontains`).
fn lowercase(text: &str) -> String {
    match text.is_ascii() {
        true => text.to_ascii_lowercase(),
        false => text.to_lowercase(),
    }
}

/// The output as searched: lowercased for case-insensitive types.
fn haystack(output: &str, ignore_case: bool) -> Cow<'_, str> {
    if ignore_case {
        Cow::Owned(lowercase(output))
    } else {
        Cow::Borrowed(output)
    }
}

fn case_note(ignore_case: bool) -> &'static str {
    if ignore_case {
        " (ignoring case)"
    } else {
        ""
    }
}

/// `contains` / `icontains`.
struct Contains {
    needle: Needle,
    ignore_case: bool,
}

impl Check for Contains {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let (search, shown) = self.needle.resolve(input, templates, self.ignore_case)?;
        let found = haystack(input.output, self.ignore_case).contains(search.as_ref());
        let verb = if found {
            "contains"
        } else {
            "does not contain"
        };
        Ok(Outcome::binary(
            found,
            format!(
                "output {verb} {}{}",
                show(&shown),
                case_note(self.ignore_case)
            ),
        ))
    }
}

/// `contains-any` / `contains-all` and their case-insensitive forms.
struct ContainsList {
    needles: Vec<Needle>,
    ignore_case: bool,
    all: bool,
}

impl Check for ContainsList {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let hay = haystack(input.output, self.ignore_case);
        let note = case_note(self.ignore_case);
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for needle in &self.needles {
            let (search, shown) = needle.resolve(input, templates, self.ignore_case)?;
            if hay.contains(search.as_ref()) {
                if !self.all {
                    return Ok(Outcome::pass(format!(
                        "output contains {}{note}",
                        show(&shown)
                    )));
                }
                found.push(shown);
            } else {
                missing.push(shown);
            }
        }
        Ok(if !self.all {
            Outcome::fail(format!(
                "output contains none of {}{note}",
                show_list(missing.iter().map(|s| s.as_ref()))
            ))
        } else if missing.is_empty() {
            Outcome::pass(format!(
                "output contains all of {}{note}",
                show_list(found.iter().map(|s| s.as_ref()))
            ))
        } else {
            Outcome::fail(format!(
                "output is missing {}{note}",
                show_list(missing.iter().map(|s| s.as_ref()))
            ))
        })
    }
}

/// `starts-with` / `ends-with`, ignoring whitespace around the output.
struct Affix {
    value: Text,
    start: bool,
}

impl Check for Affix {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let value = self.value.resolve(input, templates)?;
        let output = input.output.trim();
        let (holds, verb) = if self.start {
            (output.starts_with(value.as_ref()), "starts")
        } else {
            (output.ends_with(value.as_ref()), "ends")
        };
        let reason = if holds {
            format!("output {verb} with {}", show(&value))
        } else {
            format!(
                "output does not {} with {}",
                &verb[..verb.len() - 1],
                show(&value)
            )
        };
        Ok(Outcome::binary(holds, reason))
    }
}

enum Pattern {
    /// A literal pattern, compiled at compile time.
    Compiled(Regex),
    /// A templated pattern, compiled after rendering for each row.
    Rendered(Text),
}

/// `regex`: the pattern matches somewhere in the output.
struct RegexCheck {
    pattern: Pattern,
}

impl Check for RegexCheck {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String> {
        let rendered;
        let regex = match &self.pattern {
            Pattern::Compiled(regex) => regex,
            Pattern::Rendered(text) => {
                let source = text.resolve(input, templates)?;
                rendered = Regex::new(&source).map_err(|err| {
                    let detail = err.to_string();
                    let last = detail.lines().last().unwrap_or_default().trim();
                    format!("invalid regex after rendering {}: {last}", show(&source))
                })?;
                &rendered
            }
        };
        Ok(match regex.find(input.output) {
            Some(m) => Outcome::pass(format!(
                "output matches /{}/ at {}",
                regex.as_str(),
                show(m.as_str())
            )),
            None => Outcome::fail(format!("output does not match /{}/", regex.as_str())),
        })
    }
}

/// `max-length` / `min-length`, in characters of the trimmed output.
struct Length {
    limit: usize,
    max: bool,
}

impl Check for Length {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        let n = input.output.trim().chars().count();
        let limit = self.limit;
        Ok(if self.max {
            if n <= limit {
                Outcome::pass(format!("output has {n} characters (max {limit})"))
            } else {
                Outcome::fail(format!("output has {n} characters, more than {limit}"))
            }
        } else if n >= limit {
            Outcome::pass(format!("output has {n} characters (min {limit})"))
        } else {
            Outcome::fail(format!("output has {n} characters, fewer than {limit}"))
        })
    }
}

/// `word-count`: `value` is a number (the maximum) or `{min, max}` (either may be left out).
struct WordCount {
    min: Option<usize>,
    max: Option<usize>,
}

/// Compiles `word-count`.
pub(crate) fn word_count(c: &mut Compiler<'_>) -> Compiled {
    let (min, max) = match &c.spec.value {
        None => return Err(c.invalid("needs a `value`", EX_WORDS)),
        Some(Json::Object(map)) => {
            let bound = |key: &str| -> Result<Option<usize>, ScoreError> {
                match map.get(key) {
                    None => Ok(None),
                    Some(v) => count(v).map(Some).ok_or_else(|| {
                        c.invalid(
                            format!(
                                "`value.{key}` must be a non-negative whole number, found {}",
                                describe(v)
                            ),
                            EX_WORDS,
                        )
                    }),
                }
            };
            let (min, max) = (bound("min")?, bound("max")?);
            if let Some(key) = map.keys().find(|k| *k != "min" && *k != "max") {
                return Err(c.invalid(
                    format!("unknown key `value.{key}`. Choose from: min, max"),
                    EX_WORDS,
                ));
            }
            match (min, max) {
                (None, None) => {
                    return Err(c.invalid("`value` needs `min`, `max` or both", EX_WORDS))
                }
                (Some(lo), Some(hi)) if lo > hi => {
                    return Err(c.invalid(
                        format!("`value.min` ({lo}) is greater than `value.max` ({hi})"),
                        EX_WORDS,
                    ))
                }
                bounds => bounds,
            }
        }
        Some(v) => match count(v) {
            Some(max) => (None, Some(max)),
            None => {
                return Err(c.invalid(
                    format!(
                        "`value` must be a whole number (the maximum) or {{min, max}}, found {}",
                        describe(v)
                    ),
                    EX_WORDS,
                ))
            }
        },
    };
    Ok(Box::new(WordCount { min, max }))
}

impl Check for WordCount {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        let n = input.output.split_whitespace().count();
        let words = if n == 1 { "word" } else { "words" };
        if let Some(min) = self.min.filter(|min| n < *min) {
            return Ok(Outcome::fail(format!(
                "output has {n} {words}, fewer than {min}"
            )));
        }
        if let Some(max) = self.max.filter(|max| n > *max) {
            return Ok(Outcome::fail(format!(
                "output has {n} {words}, more than {max}"
            )));
        }
        let range = match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
            (Some(lo), None) => format!("min {lo}"),
            (None, Some(hi)) => format!("max {hi}"),
            (None, None) => "any".to_string(),
        };
        Ok(Outcome::pass(format!("output has {n} {words} ({range})")))
    }
}

#[cfg(test)]
mod lowercase_tests {
    use super::lowercase;

    #[test]
    fn ascii_and_unicode_text_lowercase_alike() {
        for text in ["Sentiment: POSITIVE", "ÉTÉ Straße İstanbul", "", "ΣΑΣ"] {
            assert_eq!(lowercase(text), text.to_lowercase(), "{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::ScoreError;
    use crate::diagnostic::Diagnostic;
    use serde_json::json;

    fn check(spec: serde_json::Value, output: &str) -> (bool, f64, String) {
        let r = eval(spec, output, json!({}));
        (r.pass, r.score, r.reason)
    }

    #[test]
    fn equals_trims_surrounding_whitespace_says_so_and_trim_false_compares_exactly() {
        let spec = json!({"type": "equals", "value": "Paris"});
        assert_eq!(
            check(spec, "Paris \n"),
            (
                true,
                1.0,
                r#"output equals "Paris" (surrounding whitespace trimmed; `trim: false` compares exactly)"#
                    .into()
            )
        );
        let exact = json!({"type": "equals", "value": "Paris", "trim": false});
        assert!(!check(exact.clone(), "Paris ").0);
        assert_eq!(
            check(exact, "Paris"),
            (true, 1.0, r#"output equals "Paris""#.into())
        );
        let err = compile_err(json!({"type": "contains", "value": "a", "trim": false})).to_string();
        assert!(
            err.contains("takes no `trim` (only `equals` reads it)"),
            "{err}"
        );
    }

    #[test]
    fn equals_pass_fail_and_not() {
        let spec = json!({"type": "equals", "value": "positive"});
        assert_eq!(
            check(spec.clone(), "positive"),
            (true, 1.0, r#"output equals "positive""#.into())
        );
        assert_eq!(
            check(spec, "negative"),
            (false, 0.0, r#"expected "positive", got "negative""#.into())
        );
        let not = json!({"type": "not-equals", "value": "positive"});
        assert_eq!(
            check(not.clone(), "negative"),
            (true, 1.0, r#"output "negative" is not "positive""#.into())
        );
        assert_eq!(
            check(not, "positive"),
            (
                false,
                0.0,
                r#"output equals "positive" (not-equals)"#.into()
            )
        );
    }

    #[test]
    fn equals_accepts_numbers_and_reads_expected_by_default() {
        assert!(check(json!({"type": "equals", "value": 42}), "42").0);
        let r = eval(
            json!({"type": "equals"}),
            "Paris",
            json!({"expected": "Paris"}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "contains"}),
            "in Paris",
            json!({"expected": "Paris"}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "contains", "value": "{{ city }}"}),
            "in Paris",
            json!({"city": "Paris"}),
        );
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn long_values_are_truncated_in_reasons() {
        let long = "a".repeat(200);
        let (_, _, reason) = check(json!({"type": "equals", "value": long}), "b");
        assert!(reason.len() < 200, "{reason}");
        assert!(reason.contains("…\""), "{reason}");
    }

    #[test]
    fn contains_and_icontains() {
        assert_eq!(
            check(
                json!({"type": "contains", "value": "Paris"}),
                "It is Paris."
            ),
            (true, 1.0, r#"output contains "Paris""#.into())
        );
        assert_eq!(
            check(json!({"type": "contains", "value": "Paris"}), "it is paris"),
            (false, 0.0, r#"output does not contain "Paris""#.into())
        );
        assert_eq!(
            check(
                json!({"type": "icontains", "value": "PARIS"}),
                "it is paris"
            ),
            (
                true,
                1.0,
                r#"output contains "PARIS" (ignoring case)"#.into()
            )
        );
        assert!(!check(json!({"type": "icontains", "value": "rome"}), "paris").0);
        assert_eq!(
            check(json!({"type": "not-icontains", "value": "Sorry"}), "SORRY!"),
            (
                false,
                0.0,
                r#"output contains "Sorry" (ignoring case) (not-icontains)"#.into()
            )
        );
        assert!(check(json!({"type": "not-icontains", "value": "Sorry"}), "fine").0);
    }

    #[test]
    fn icontains_with_row_variable() {
        let r = eval(
            json!({"type": "icontains", "value": "{{ expected }}"}),
            "POSITIVE",
            json!({"expected": "Positive"}),
        );
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn contains_any_and_all() {
        let any = json!({"type": "contains-any", "value": ["cat", "dog"]});
        assert_eq!(
            check(any.clone(), "a dog"),
            (true, 1.0, r#"output contains "dog""#.into())
        );
        assert_eq!(
            check(any, "a bird"),
            (false, 0.0, r#"output contains none of "cat", "dog""#.into())
        );
        let all = json!({"type": "contains-all", "value": ["cat", "dog", "cow"]});
        assert_eq!(
            check(all.clone(), "cat and dog and cow"),
            (
                true,
                1.0,
                r#"output contains all of "cat", "dog", "cow""#.into()
            )
        );
        assert_eq!(
            check(all, "cat only"),
            (false, 0.0, r#"output is missing "dog", "cow""#.into())
        );
        assert!(check(json!({"type": "icontains-any", "value": ["CAT"]}), "a cat").0);
        assert!(
            !check(
                json!({"type": "icontains-all", "value": ["CAT", "x"]}),
                "a cat"
            )
            .0
        );
        assert!(
            check(
                json!({"type": "icontains-all", "value": ["CAT", "A"]}),
                "a cat"
            )
            .0
        );
        assert_eq!(
            check(
                json!({"type": "not-contains-any", "value": ["sorry", "cannot"]}),
                "I cannot"
            ),
            (
                false,
                0.0,
                r#"output contains "cannot" (not-contains-any)"#.into()
            )
        );
        assert!(
            check(
                json!({"type": "not-contains-all", "value": ["a", "z"]}),
                "abc"
            )
            .0
        );
        assert!(
            !check(
                json!({"type": "not-icontains-all", "value": ["A", "B"]}),
                "ab"
            )
            .0
        );
        assert!(check(json!({"type": "not-icontains-any", "value": ["X"]}), "ab").0);
    }

    #[test]
    fn list_shapes_are_checked() {
        let err = compile_err(json!({"type": "contains-any", "value": "cat"}));
        let text = err.to_string();
        assert_eq!(
            text,
            r#"evals/e.yaml:7: `contains-any` assertion: `value` must be a list of strings, found a string ("cat")"#
        );
        assert!(err.hint().unwrap().contains("[positive, negative]"));
        let err = compile_err(json!({"type": "contains-all", "value": []}));
        assert!(err.to_string().contains("at least one"), "{err}");
        let err = compile_err(json!({"type": "contains-all", "value": ["a", {"b": 1}]}));
        assert!(
            err.to_string()
                .contains("`value[1]` must be a string, found a mapping"),
            "{err}"
        );
        let err = compile_err(json!({"type": "contains-all"}));
        assert!(err.to_string().contains("needs a `value`"), "{err}");
    }

    #[test]
    fn scalar_shapes_are_checked() {
        let err = compile_err(json!({"type": "contains", "value": ["a"]}));
        assert!(
            err.to_string()
                .contains("`value` must be a string, found a list"),
            "{err}"
        );
        let err = compile_err(json!({"type": "contains", "value": "a", "threshold": 0.5}));
        assert!(err.to_string().contains("takes no `threshold`"), "{err}");
        let err = compile_err(json!({"type": "regex"}));
        assert!(err.to_string().contains("needs a `value`"), "{err}");
    }

    #[test]
    fn starts_and_ends_with() {
        assert_eq!(
            check(
                json!({"type": "starts-with", "value": "Answer:"}),
                "  Answer: 4"
            ),
            (true, 1.0, r#"output starts with "Answer:""#.into())
        );
        assert_eq!(
            check(json!({"type": "starts-with", "value": "Answer:"}), "4"),
            (false, 0.0, r#"output does not start with "Answer:""#.into())
        );
        assert!(check(json!({"type": "ends-with", "value": "."}), "Done.\n").0);
        assert_eq!(
            check(json!({"type": "ends-with", "value": "."}), "Done"),
            (false, 0.0, r#"output does not end with ".""#.into())
        );
        assert!(!check(json!({"type": "not-starts-with", "value": "A"}), "Abc").0);
        assert!(check(json!({"type": "not-ends-with", "value": "c"}), "cab").0);
    }

    #[test]
    fn regex_pass_fail_and_not() {
        let spec = json!({"type": "regex", "value": "\\d{3}"});
        assert_eq!(
            check(spec.clone(), "call 555 now"),
            (true, 1.0, r#"output matches /\d{3}/ at "555""#.into())
        );
        assert_eq!(
            check(spec, "call now"),
            (false, 0.0, r#"output does not match /\d{3}/"#.into())
        );
        assert!(check(json!({"type": "not-regex", "value": "(?i)sorry"}), "fine").0);
        let (pass, _, reason) = check(json!({"type": "not-regex", "value": "(?i)sorry"}), "SORRY");
        assert!(!pass);
        assert!(reason.ends_with("(not-regex)"), "{reason}");
    }

    #[test]
    fn invalid_regex_names_origin_and_pattern() {
        let err = compile_err(json!({"type": "regex", "value": "a(b"}));
        assert!(matches!(err, ScoreError::InvalidRegex { .. }));
        assert_eq!(
            err.to_string(),
            r#"evals/e.yaml:7: `regex` assertion: invalid regex "a(b""#
        );
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("unclosed group"), "{source}");
        assert!(err.hint().is_some());
    }

    #[test]
    fn regex_from_a_row_variable_is_compiled_per_row() {
        let r = eval(
            json!({"type": "regex", "value": "{{ pattern }}"}),
            "abc123",
            json!({"pattern": "^[a-c]+\\d+$"}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "not-regex", "value": "{{ pattern }}"}),
            "abc",
            json!({"pattern": "("}),
        );
        assert!(!r.pass);
        assert!(
            r.reason
                .starts_with(r#"invalid regex after rendering "(": "#),
            "{}",
            r.reason
        );
    }

    #[test]
    fn lengths() {
        assert_eq!(
            check(json!({"type": "max-length", "value": 5}), " héllo\n"),
            (true, 1.0, "output has 5 characters (max 5)".into())
        );
        assert_eq!(
            check(json!({"type": "max-length", "value": 3}), "hello"),
            (false, 0.0, "output has 5 characters, more than 3".into())
        );
        assert!(check(json!({"type": "min-length", "value": 5}), "hello").0);
        assert_eq!(
            check(json!({"type": "min-length", "value": 6}), "hello"),
            (false, 0.0, "output has 5 characters, fewer than 6".into())
        );
        assert!(!check(json!({"type": "not-max-length", "value": 10}), "short").0);
        assert!(check(json!({"type": "not-min-length", "value": 10}), "short").0);
    }

    #[test]
    fn length_shapes() {
        let err = compile_err(json!({"type": "max-length", "value": "40"}));
        assert_eq!(
            err.to_string(),
            r#"evals/e.yaml:7: `max-length` assertion: `value` must be a non-negative whole number, found a string ("40")"#
        );
        assert_eq!(
            err.hint().unwrap(),
            "for example: {type: max-length, value: 40}"
        );
        assert!(compile_err(json!({"type": "min-length", "value": -3}))
            .to_string()
            .contains("non-negative"));
        assert!(compile_err(json!({"type": "min-length"}))
            .to_string()
            .contains("needs a `value`"));
    }

    #[test]
    fn word_counts() {
        assert_eq!(
            check(json!({"type": "word-count", "value": 3}), "one two three"),
            (true, 1.0, "output has 3 words (max 3)".into())
        );
        assert_eq!(
            check(json!({"type": "word-count", "value": 2}), "one two three"),
            (false, 0.0, "output has 3 words, more than 2".into())
        );
        let range = json!({"type": "word-count", "value": {"min": 2, "max": 4}});
        assert_eq!(
            check(range.clone(), "one"),
            (false, 0.0, "output has 1 word, fewer than 2".into())
        );
        assert_eq!(
            check(range, "a b c"),
            (true, 1.0, "output has 3 words (2–4)".into())
        );
        assert!(
            check(
                json!({"type": "word-count", "value": {"min": 1}}),
                "a b c d e f"
            )
            .0
        );
        assert!(!check(json!({"type": "not-word-count", "value": 5}), "a b").0);
    }

    #[test]
    fn word_count_shapes() {
        for (value, expect) in [
            (
                json!("five"),
                "must be a whole number (the maximum) or {min, max}",
            ),
            (json!({}), "needs `min`, `max` or both"),
            (
                json!({"min": 5, "max": 2}),
                "`value.min` (5) is greater than `value.max` (2)",
            ),
            (
                json!({"mni": 1}),
                "unknown key `value.mni`. Choose from: min, max",
            ),
            (
                json!({"max": "x"}),
                "`value.max` must be a non-negative whole number",
            ),
        ] {
            let err = compile_err(json!({"type": "word-count", "value": value}));
            assert!(err.to_string().contains(expect), "{err}");
        }
    }
}
