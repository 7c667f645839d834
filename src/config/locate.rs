//! Where a key path (`gate.prompts[1]`, `providers.slow.timeout`) is written in YAML text.
//!
//! serde reports where a value failed to parse, but not where a value that parsed is
//! written; checks that run after parsing (an unresolved prompt, a provider that cannot be
//! built) find their line here. Block mappings and block lists are followed by their
//! indentation; a flow value (`[a, b]`, `{k: v}`) ends the walk on its line.

use std::path::Path;

use crate::diagnostic::Location;

/// One step of a key path: a mapping key or a list index.
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The steps of a key path as serde_path_to_error (`a[0].b`) or serde_ignored (`a.0.b`,
/// with `?` for an `Option`) writes it.
fn steps(key_path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in key_path.split('.') {
        let (name, mut rest) = part
            .split_once('[')
            .map_or((part, ""), |(n, _)| (n, &part[n.len()..]));
        match name {
            "" | "?" => {}
            n if n.chars().all(|c| c.is_ascii_digit()) => {
                steps.push(Step::Index(n.parse().unwrap_or(usize::MAX)))
            }
            n => steps.push(Step::Key(n)),
        }
        while let Some(inner) = rest.strip_prefix('[') {
            let Some((index, after)) = inner.split_once(']') else {
                break;
            };
            if let Ok(i) = index.parse() {
                steps.push(Step::Index(i));
            }
            rest = after;
        }
    }
    steps
}

/// A line of YAML that holds something: its 1-based number, indentation and text after it.
#[derive(Clone, Copy, Debug)]
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

/// The lines that hold something (not blank, not only a comment, not a document marker).
fn content_lines(text: &str) -> Vec<Line<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let text = raw.trim_start();
            let indent = raw.len() - text.len();
            let skip = text.is_empty() || text.starts_with('#') || text.starts_with("---");
            (!skip).then_some(Line {
                number: i + 1,
                indent,
                text: text.trim_end(),
            })
        })
        .collect()
}

/// The key a line starts with (`name:` or `"name":`), and the text after the colon.
fn key_of(text: &str) -> Option<(&str, &str)> {
    let (key, rest) = match text.chars().next()? {
        q @ ('"' | '\'') => {
            let end = text[1..].find(q)? + 1;
            (&text[1..end], &text[end + 1..])
        }
        _ => {
            let colon = text
                .match_indices(':')
                .find(|(i, _)| text[i + 1..].is_empty() || text[i + 1..].starts_with(' '))?
                .0;
            (text[..colon].trim_end(), &text[colon..])
        }
    };
    let rest = rest.trim_start().strip_prefix(':')?;
    Some((key, rest.trim()))
}

/// Whether the value after a key is written on the key's line (a scalar or a flow value),
/// rather than in the block below it.
fn inline_value(rest: &str) -> bool {
    !(rest.is_empty() || rest.starts_with('#') || rest.starts_with('|') || rest.starts_with('>'))
}

/// The line where `key_path` is written, and whether every step was found; when a step is
/// missing, the line of the deepest step that was (`None` when not even the first was).
fn walk(text: &str, key_path: &str) -> (Option<usize>, bool) {
    let lines = content_lines(text);
    let mut scope: Vec<Line<'_>> = lines;
    let mut found = None;
    let mut in_flow = false;
    for step in steps(key_path) {
        if in_flow {
            // The rest of the path is inside a value written on this line.
            return (found, true);
        }
        let Some(first) = scope.first().copied() else {
            return (found, false);
        };
        let at = match step {
            Step::Key(name) => scope.iter().position(|l| {
                l.indent == first.indent && key_of(l.text).is_some_and(|(k, _)| k == name)
            }),
            Step::Index(i) => scope
                .iter()
                .enumerate()
                .filter(|(_, l)| l.indent == first.indent && is_item(l.text))
                .nth(i)
                .map(|(at, _)| at),
        };
        let Some(at) = at else {
            return (found, false);
        };
        let line = scope[at];
        found = Some(line.number);
        scope = match step {
            Step::Key(_) => {
                let (_, rest) = key_of(line.text).unwrap_or_default();
                if inline_value(rest) {
                    in_flow = true;
                    Vec::new()
                } else {
                    // A block list may sit at its key's own indentation (`k:\n- a`).
                    block_below(&scope[at + 1..], |l| {
                        l.indent > line.indent || (l.indent == line.indent && is_item(l.text))
                    })
                }
            }
            Step::Index(_) => {
                let mut inner = Vec::new();
                let after_dash = line.text[1..].trim_start();
                if !after_dash.is_empty() {
                    inner.push(Line {
                        number: line.number,
                        indent: line.indent + (line.text.len() - after_dash.len()),
                        text: after_dash,
                    });
                }
                inner.extend(block_below(&scope[at + 1..], |l| l.indent > line.indent));
                inner
            }
        };
    }
    (found, true)
}

/// The lines at the start of `rest` that belong to the block (`inside` holds for each).
fn block_below<'a>(rest: &[Line<'a>], inside: impl Fn(&Line<'a>) -> bool) -> Vec<Line<'a>> {
    rest.iter().take_while(|l| inside(l)).copied().collect()
}

/// Whether a line is a block-list item (`- x`, or a lone `-`).
fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// The line where every step of `key_path` is written, or `None` when one is missing.
pub fn key_line(text: &str, key_path: &str) -> Option<usize> {
    match walk(text, key_path) {
        (line, true) => line,
        _ => None,
    }
}

/// The line of the `n`-th (1-based) occurrence of `key` among the keys of the mapping whose
/// first key starts at (`line`, `column`): where a duplicate key is, given where serde
/// says the mapping starts.
pub fn nth_key_in_mapping(
    text: &str,
    (line, column): (usize, usize),
    key: &str,
    n: usize,
) -> Option<usize> {
    let mut lines = content_lines(text)
        .into_iter()
        .skip_while(|l| l.number < line)
        .peekable();
    let first = *lines.peek()?;
    // serde points at the mapping's first key, or for a mapping in a list at its `- `.
    let indent = if first.number == line && column > first.indent + 1 {
        column - 1
    } else {
        first.indent
    };
    let mut seen = 0;
    for l in lines {
        let (l_indent, l_text) = if l.number == first.number && indent > l.indent {
            (indent, &l.text[indent - l.indent..])
        } else {
            (l.indent, l.text)
        };
        if l_indent < indent {
            break;
        }
        if l_indent == indent && key_of(l_text).is_some_and(|(k, _)| k == key) {
            seen += 1;
            if seen == n {
                return Some(l.number);
            }
        }
    }
    None
}

impl Location {
    /// The line of a key path in `text` (`gate.prompts[1]` → the line of that list item,
    /// under `gate:`). When the path is not all there, the deepest part that is; else the
    /// file alone.
    pub fn line_of_key(file: &Path, text: &str, key_path: &str) -> Location {
        match walk(text, key_path).0 {
            Some(line) => Location::line(file, line),
            None => Location::file(file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVAL: &str = "\
# a comment
description: greeting
prompts:
  - greet@1
  - greet@2
models: [echo, nope]
dataset: datasets/people.csv
assert:
- type: contains
  value: x
-   type: regex
    value: y
gate:
  min_pass_rate: 0.5
  prompts:
    - greet@1
    - greet@9
";

    fn line(path: &str) -> Option<usize> {
        key_line(EVAL, path)
    }

    #[test]
    fn gate_prompts_pointed_at_the_top_level_prompts_line() {
        assert_eq!(line("gate.prompts[1]"), Some(17));
        assert_eq!(line("gate.prompts"), Some(15));
        assert_eq!(line("prompts[1]"), Some(5));
        assert_eq!(line("prompts"), Some(3));
    }

    #[test]
    fn block_list_items_and_their_keys_are_found() {
        assert_eq!(line("assert[0]"), Some(9));
        assert_eq!(line("assert[0].value"), Some(10));
        assert_eq!(line("assert[1].type"), Some(11));
        assert_eq!(line("assert.1.value"), Some(12));
        assert_eq!(line("gate.?.min_pass_rate"), Some(14));
    }

    #[test]
    fn a_flow_value_ends_the_walk_on_its_line() {
        assert_eq!(line("models[1]"), Some(6));
        assert_eq!(line("assert[2]"), None);
        assert_eq!(walk(EVAL, "assert[2]"), (Some(8), false));
        assert_eq!(line("min_pass_rate"), None, "only under gate");
    }

    #[test]
    fn nested_mappings_and_quoted_keys() {
        let text = "providers:\n  echo: {kind: echo}\n  \"slow\":\n    kind: echo\n    timeout: fast\ndefaults:\n  timeout: 1s\n";
        assert_eq!(key_line(text, "providers.slow.timeout"), Some(5));
        assert_eq!(key_line(text, "providers.echo.kind"), Some(2));
        assert_eq!(key_line(text, "providers.slow.model"), None);
        assert_eq!(walk(text, "providers.slow.model").0, Some(3));
        assert_eq!(key_line(text, "defaults.timeout"), Some(7));
    }

    #[test]
    fn duplicate_keys_are_found_by_their_mapping() {
        let text = "# c\nprompts: [a]\ndataset: x.csv\nmodels: [echo]\ndataset: y.csv\n";
        assert_eq!(nth_key_in_mapping(text, (2, 1), "dataset", 2), Some(5));
        let text = "assert:\n  - type: a\n    value: 1\n    value: 2\n  - type: b\n    value: 3\n";
        assert_eq!(nth_key_in_mapping(text, (2, 5), "value", 2), Some(4));
        assert_eq!(nth_key_in_mapping(text, (2, 5), "value", 3), None);
    }
}
