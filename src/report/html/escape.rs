//! Escaping for the HTML report: text in content and attributes, and JSON inside a
//! `<script>` element.

use std::io::{self, Write};

/// Escapes text for HTML content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes JSON safe inside a `<script>` element as it is written through: every `<`
/// becomes `\u003c` (so neither `</script>` nor `<!--` can appear), and `>` and `&`
/// likewise, which JSON reads back unchanged. The three are ASCII, so replacing bytes
/// never splits a character.
pub(super) struct ScriptJson<'w>(pub &'w mut dyn Write);

impl Write for ScriptJson<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while let Some(i) = buf.iter().position(|b| matches!(b, b'<' | b'>' | b'&')) {
            self.0.write_all(&buf[..i])?;
            self.0.write_all(match buf[i] {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                _ => b"\\u0026",
            })?;
            buf = &buf[i + 1..];
        }
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_script_ends_are_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let json = r#"{"o":"</script><!-- & >"}"#;
        let mut safe = Vec::new();
        // In pieces, as serde_json writes.
        for piece in json.as_bytes().chunks(3) {
            ScriptJson(&mut safe).write_all(piece).unwrap();
        }
        let safe = String::from_utf8(safe).unwrap();
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["o"], "</script><!-- & >");
    }
}
