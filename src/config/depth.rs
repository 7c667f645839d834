//! The nesting limit of YAML and JSON files, checked on the text before parsing.
//!
//! serde_yaml and serde_json refuse values nested more than [`MAX_DEPTH`] levels deep, but
//! libyaml reads the whole text first, and on flow collections (`[[[[…`) it takes time
//! quadratic in the depth: 100,000 levels ran for minutes. [`flow_too_deep`] finds the
//! first bracket past the limit in one pass, so such a file fails at once, with its place.

/// How deep values may nest (collections inside collections), as serde_yaml and
/// serde_json allow: their own recursion limit is 128.
pub const MAX_DEPTH: usize = 128;

/// The message for a value nested past [`MAX_DEPTH`].
pub fn too_deep_message() -> String {
    format!("values are nested more than {MAX_DEPTH} levels deep")
}

/// Whether a parser's message is its recursion limit, which [`too_deep_message`] says better.
pub fn is_recursion_limit(message: &str) -> bool {
    message.starts_with("recursion limit exceeded")
}

/// The 1-based line and column of the first `[` or `{` that opens a flow collection more
/// than [`MAX_DEPTH`] levels deep, if any.
///
/// Quoted scalars, comments and block scalars (`|`, `>`) are skipped, so brackets in text
/// do not count; nesting by indentation is not counted, as it cannot make the parser slow
/// without a file of gigabytes (the parser's own limit still applies to it).
pub fn flow_too_deep(text: &str) -> Option<(usize, usize)> {
    let mut scan = Scan::default();
    for (idx, line) in text.lines().enumerate() {
        if let Some(column) = scan.line(line) {
            return Some((idx + 1, column));
        }
    }
    None
}

#[derive(Default)]
struct Scan {
    /// Open flow collections.
    depth: usize,
    /// The quote character of the quoted scalar being read, across lines.
    quote: Option<char>,
    /// Inside a block scalar whose parent line had this indentation.
    block_parent: Option<usize>,
}

impl Scan {
    /// Reads one line; the 1-based column of a bracket past the limit.
    fn line(&mut self, line: &str) -> Option<usize> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = self.block_parent {
            if line.trim().is_empty() || indent > parent {
                return None;
            }
            self.block_parent = None;
        }
        let mut prev = ' ';
        let mut chars = line.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if let Some(q) = self.quote {
                // `''` inside single quotes and `\x` inside double quotes are escapes.
                let escape = (c == q && q == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\''))
                    || (c == '\\' && q == '"');
                if escape {
                    chars.next();
                } else if c == q {
                    self.quote = None;
                }
                prev = c;
                continue;
            }
            let token_start = prev.is_whitespace() || "[{,:".contains(prev);
            match c {
                '#' if prev.is_whitespace() => break,
                '"' | '\'' if token_start => self.quote = Some(c),
                '[' | '{' if token_start || self.depth > 0 => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Some(line[..at].chars().count() + 1);
                    }
                }
                ']' | '}' if self.depth > 0 => self.depth -= 1,
                '|' | '>' if token_start && self.depth == 0 && ends_header(&line[at + 1..]) => {
                    self.block_parent = Some(indent);
                    break;
                }
                _ => {}
            }
            prev = c;
        }
        None
    }
}

/// Whether the rest of a line after `|` or `>` is a block scalar header: chomping and
/// indentation indicators, then nothing but a comment.
fn ends_header(rest: &str) -> bool {
    let rest = rest.trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
    let rest = rest.trim_start();
    rest.is_empty() || rest.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        format!("- {{x: {}{}}}\n", "[".repeat(n), "]".repeat(n))
    }

    #[test]
    fn deeply_nested_flow_yaml_is_found_at_the_first_bracket_past_the_limit() {
        assert_eq!(flow_too_deep(&nested(MAX_DEPTH - 1)), None);
        // The mapping `{x: …}` is the first level.
        assert_eq!(
            flow_too_deep(&nested(MAX_DEPTH)),
            Some((1, 7 + MAX_DEPTH - 1))
        );
        let deep = format!("a: 1\nb: {}\n", "[".repeat(100_000));
        assert_eq!(flow_too_deep(&deep), Some((2, 4 + MAX_DEPTH)));
    }

    #[test]
    fn brackets_in_quotes_comments_and_block_scalars_do_not_count() {
        let many = "[".repeat(MAX_DEPTH + 1);
        for text in [
            format!("a: \"{many}\"\n"),
            format!("a: '{many}'\n"),
            format!("a: 'it''s {many}'\n"),
            format!("a: \"\\\" {many}\"\n"),
            format!("a: 1 # {many}\n"),
            format!("a: |\n  {many}\n\n  {many}\nb: 2\n"),
            format!("- >-\n    {many}\n"),
            format!("a: x{many}\n"),
            format!("a: \"multi\n  line {many}\"\n"),
            format!("a: |2+ # note\n   {many}\n"),
        ] {
            assert_eq!(flow_too_deep(&text), None, "{text}");
        }
        // After the block scalar, brackets count again.
        let text = format!("a: |\n  text\nb: {many}\n");
        assert_eq!(flow_too_deep(&text), Some((3, 4 + MAX_DEPTH)));
        // `x > y` is a plain scalar, not a block scalar header.
        let text = format!("- a: x > y\n  b: {many}\n");
        assert_eq!(flow_too_deep(&text), Some((2, 6 + MAX_DEPTH)));
    }
}
