//! Editing the `aliases` of a `prompt.yaml` text in place, keeping its comments and layout.

/// The top-level `aliases:` block of a `prompt.yaml` text, as line indices.
struct Block {
    /// The line `aliases:`.
    header: usize,
    /// The entries `  name: N` under it: line index, key.
    entries: Vec<(usize, String)>,
    /// The indentation of the entries (two spaces when there are none).
    indent: String,
}

/// `text` with alias `alias` set to `version`: an existing entry's value is replaced (its
/// trailing comment kept), a new entry goes after the last one, a missing `aliases:` block
/// is appended. `None` when the text is not in a block style this can edit (the caller then
/// rewrites the file from its parsed form).
pub(crate) fn set_alias(text: &str, alias: &str, version: u32) -> Option<String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let Some(block) = find_block(&lines)? else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("aliases:\n  {alias}: {version}\n"));
        return Some(out);
    };
    match block.entries.iter().find(|(_, k)| k == alias) {
        Some((i, _)) => {
            let line = &lines[*i];
            let comment = line.find(" #").map(|p| line[p..].trim_end()).unwrap_or("");
            lines[*i] = format!("{}{alias}: {version}{comment}\n", block.indent);
        }
        None => {
            let after = block.entries.last().map_or(block.header, |(i, _)| *i);
            if !lines[after].ends_with('\n') {
                lines[after].push('\n');
            }
            lines.insert(after + 1, format!("{}{alias}: {version}\n", block.indent));
        }
    }
    Some(lines.concat())
}

/// `text` without alias `alias` (and without the `aliases:` line when it was the last one);
/// `None` when the text is not in a block style this can edit.
pub(crate) fn remove_alias(text: &str, alias: &str) -> Option<String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let block = find_block(&lines)??;
    let (i, _) = block.entries.iter().find(|(_, k)| k == alias)?;
    lines.remove(*i);
    if block.entries.len() == 1 {
        lines.remove(block.header);
    }
    Some(lines.concat())
}

/// The `aliases:` block: `Some(None)` when there is none, `None` when it is written in a
/// style this cannot edit (flow mappings, quoted keys, anchors).
fn find_block(lines: &[String]) -> Option<Option<Block>> {
    let Some(header) = lines.iter().position(|l| is_key_line(l, "aliases")) else {
        return Some(None);
    };
    let rest = strip_comment(&lines[header]["aliases:".len()..]);
    if !rest.trim().is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    let mut indent = None::<String>;
    for (i, line) in lines.iter().enumerate().skip(header + 1) {
        let content = strip_comment(line);
        if content.trim().is_empty() {
            continue;
        }
        if !line.starts_with([' ', '\t']) {
            break;
        }
        let this_indent: String = line.chars().take_while(|c| *c == ' ').collect();
        if indent.get_or_insert_with(|| this_indent.clone()) != &this_indent {
            return None;
        }
        let (key, value) = content.trim().split_once(':')?;
        let plain = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if key.is_empty() || !plain(key) || !value.trim().chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        entries.push((i, key.to_string()));
    }
    Some(Some(Block {
        header,
        entries,
        indent: indent.unwrap_or_else(|| "  ".into()),
    }))
}

/// Whether `line` is the top-level key `key:`.
fn is_key_line(line: &str, key: &str) -> bool {
    line.strip_prefix(key)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// `line` up to a ` #` comment (good enough for the plain keys and numbers of `aliases`).
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    line.find(" #").map_or(line, |p| &line[..p])
}

#[cfg(test)]
mod tests {
    use super::*;

    const META: &str = "\
# sentiment: classify reviews.
description: Sentiment of a review
tags: [reviews,   english]   # kept as written
aliases:
  staging: 2     # try-out
  production: 1
# notes follow
notes:
  1: first try
";

    #[test]
    fn prompt_alias_keeps_comments_tags_and_alias_order() {
        let out = set_alias(META, "production", 3).unwrap();
        assert_eq!(out, META.replace("  production: 1\n", "  production: 3\n"));
        let out = set_alias(META, "staging", 1).unwrap();
        assert!(out.contains("  staging: 1 # try-out\n"), "{out}");
        let out = set_alias(META, "canary", 2).unwrap();
        assert!(
            out.contains("  production: 1\n  canary: 2\n# notes follow"),
            "{out}"
        );
    }

    #[test]
    fn prompt_alias_appends_a_missing_block_and_removes_the_last_entry() {
        let out = set_alias("description: x", "production", 1).unwrap();
        assert_eq!(out, "description: x\naliases:\n  production: 1\n");
        let out = remove_alias(&out, "production").unwrap();
        assert_eq!(out, "description: x\n");
        let out = remove_alias(META, "staging").unwrap();
        assert!(!out.contains("staging") && out.contains("aliases:\n  production: 1\n"));
    }

    #[test]
    fn prompt_alias_gives_up_on_flow_style() {
        assert!(set_alias("aliases: {production: 1}\n", "production", 2).is_none());
        assert!(set_alias("aliases:\n  \"production\": 1\n", "production", 2).is_none());
    }
}
