//! Source locations and warnings: where in a user's file something is.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A place in a user's file: path, and the line and column when known (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user would name it (relative to the project root when possible).
    pub file: PathBuf,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
}

impl Location {
    /// A location that names only a file.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// A location that names a file and a line.
    pub fn line(file: impl Into<PathBuf>, line: usize) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: None,
        }
    }

    /// A location that names a file, a line and a column.
    pub fn at(file: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }

    /// The path of the file.
    pub fn path(&self) -> &Path {
        &self.file
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// Something worth telling the user that does not stop the work, such as an unknown key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Where the problem is.
    pub location: Location,
    /// What is wrong, as a lowercase sentence fragment.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Which exit status an error maps to (the CLI's table of exit codes is in `cli::Exit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitClass {
    /// Invalid input or configuration: nothing was sent to any model (exit 2).
    Input,
    /// The run could not finish (exit 3).
    Runtime,
}

/// An error as a person reads it: its message and `#[source]` chain (from
/// [`std::error::Error`]), what to do about it, and the exit status it maps to. Every error
/// type the command line can show implements it; `cli::diagnostics` renders any of them
/// the same way, so no call site picks an exit code or a hint by hand.
pub trait Diagnostic: std::error::Error + 'static {
    /// What the user can do about it, as a sentence fragment (`set `model:` …`).
    fn hint(&self) -> Option<String> {
        None
    }

    /// Which exit status it maps to; most errors are found before any model is called.
    fn exit_class(&self) -> ExitClass {
        ExitClass::Input
    }

    /// The separate problems this error collects (each rendered apart), if it is a list.
    fn problems(&self) -> Option<Vec<&dyn Diagnostic>> {
        None
    }
}

/// The source line `line` (1-based) of `source` with its number, and a `^` marker under
/// `range` (byte offsets into `source`) when the range is on that line. Every excerpt of a
/// user's file is drawn so: templates, regular expressions, YAML.
///
/// ```text
///    3 |   min_pass_rat: 0.9
///      |   ^^^^^^^^^^^^
/// ```
pub fn snippet(source: &str, line: Option<usize>, range: Option<Range<usize>>) -> Option<String> {
    let line = line?;
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let gutter = format!("{line:>4} | ");
    let mut out = format!("{gutter}{text}");
    if let Some(range) = range {
        let line_start = line_offset(source, line);
        if range.start >= line_start && range.start <= line_start + text.len() {
            let start = source
                .get(line_start..range.start)
                .map_or(0, |s| s.chars().count());
            let end = range.end.min(line_start + text.len()).max(range.start);
            let width = source
                .get(range.start..end)
                .map_or(1, |s| s.chars().count())
                .max(1);
            out.push('\n');
            out.push_str(&" ".repeat(gutter.len() - 2));
            out.push_str("| ");
            out.push_str(&" ".repeat(start));
            out.push_str(&"^".repeat(width));
        }
    }
    Some(out)
}

/// [`snippet`] at a 1-based line and column (in characters): the marker is under the
/// token that starts there (the key `nmae` of `nmae: x`), or under the line's first token
/// (past a YAML list's `- `) when the column is not known. A line past the end (where a
/// parser noticed an unclosed bracket) is drawn as the last line, marked after its end.
pub fn snippet_at(source: &str, line: usize, column: Option<usize>) -> Option<String> {
    let count = source.lines().count();
    let (line, column) = match source.lines().last() {
        Some(last) if line > count => (count, Some(last.chars().count() + 1)),
        _ => (line, column),
    };
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let column = match column {
        Some(c) => c.saturating_sub(1),
        None => text
            .chars()
            .take_while(|c| c.is_whitespace() || *c == '-')
            .count(),
    };
    let start = text
        .char_indices()
        .nth(column)
        .map_or(text.len(), |(i, _)| i);
    let token = text[start..]
        .find(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | ']' | '}'))
        .unwrap_or(text.len() - start)
        .max(1);
    let line_start = line_offset(source, line);
    snippet(
        source,
        Some(line),
        Some(line_start + start..line_start + start + token),
    )
}

/// The byte offset at which 1-based line `line` of `source` starts.
fn line_offset(source: &str, line: usize) -> usize {
    source
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

/// How alike two names must be (Jaro-Winkler, 0 to 1) for one to be offered as the other:
/// below it, a suggestion is more likely to mislead than to help (`vars` is not `version`).
pub const SIMILAR: f64 = 0.8;

/// The name in `valid` closest to `name`, when it is close enough to be a likely typo.
/// Every did-you-mean of prompteval comes from here (or [`closest_first`]), so they all
/// agree on what "close" means.
pub fn suggest<'a>(name: &str, valid: &[&'a str]) -> Option<&'a str> {
    closest_first(name, valid)
        .into_iter()
        .next()
        .filter(|v| similarity(name, v) >= SIMILAR)
}

/// `valid`, the names most like `name` first (ties keep their order), for a list of choices
/// that puts the likely one where the eye lands.
pub fn closest_first<'a>(name: &str, valid: &[&'a str]) -> Vec<&'a str> {
    let mut ranked: Vec<(f64, &'a str)> = valid.iter().map(|v| (similarity(name, v), *v)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.into_iter().map(|(_, v)| v).collect()
}

/// How alike two names are; case is ignored, since `Name` for `name` is a likely typo.
fn similarity(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(&a.to_lowercase(), &b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggest_takes_the_closest_name_above_the_threshold() {
        assert_eq!(suggest("nmae", &["id", "name", "language"]), Some("name"));
        assert_eq!(suggest("Name", &["id", "name"]), Some("name"));
        assert_eq!(suggest("vars", &["version", "model"]), None);
    }

    #[test]
    fn snippet_at_marks_the_token_at_the_column() {
        let text = "gate:\n  min_pass_rat: 0.9\n";
        assert_eq!(
            snippet_at(text, 2, Some(3)).unwrap(),
            "   2 |   min_pass_rat: 0.9\n     |   ^^^^^^^^^^^^"
        );
        assert_eq!(
            snippet_at(text, 2, None).unwrap(),
            snippet_at(text, 2, Some(3)).unwrap()
        );
        assert_eq!(
            snippet_at("a: [1,\n", 1, Some(7)).unwrap(),
            "   1 | a: [1,\n     |       ^"
        );
        assert_eq!(
            snippet_at("a: [1,\n", 2, Some(1)).unwrap(),
            "   1 | a: [1,\n     |       ^"
        );
        assert!(snippet_at("  - nmae: x", 1, None)
            .unwrap()
            .ends_with("|     ^^^^"));
    }

    #[test]
    fn closest_first_orders_every_name_by_likeness() {
        assert_eq!(
            closest_first("nmae", &["id", "language", "name"]),
            vec!["name", "language", "id"]
        );
    }
}
