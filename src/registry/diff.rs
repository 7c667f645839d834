//! Diffs between two versions (template, params, tools and note), and the stable text form of a
//! version that diffs and `prompt show` print.

use similar::TextDiff;

use super::model::{PromptBody, PromptVersion};

impl PromptVersion {
    /// The template(s) as one text: a plain template as written, chat messages as
    /// `[role]` headers each followed by the message's template.
    pub fn body_text(&self) -> String {
        match &self.body {
            PromptBody::Text(text) => text.clone(),
            PromptBody::Chat(messages) => {
                let mut out = String::new();
                for (i, m) in messages.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    out.push('[');
                    out.push_str(m.role.as_str());
                    out.push_str("]\n");
                    out.push_str(&m.content);
                    if !m.content.ends_with('\n') {
                        out.push('\n');
                    }
                }
                out
            }
        }
    }

    /// The params as sorted `key: <json>` lines.
    pub fn params_text(&self) -> String {
        let mut keys: Vec<&String> = self.params.keys().collect();
        keys.sort();
        keys.iter()
            .map(|k| format!("{k}: {}\n", self.params[k.as_str()]))
            .collect()
    }
}

/// A unified diff from `a` to `b` of the templates, then of the params, the tools (shared
/// ones as they are now) and the note when they differ; empty when the versions are the same. Headers are `a/<path>` and
/// `b/<path>`. With `color`, removed lines are red, added lines green and hunk headers cyan.
pub fn diff(a: &PromptVersion, b: &PromptVersion, color: bool) -> String {
    let a_path = a.path.display().to_string();
    let b_path = b.path.display().to_string();
    let sections = [
        (
            String::new(),
            with_newline(a.body_text()),
            with_newline(b.body_text()),
        ),
        (" (params)".to_string(), a.params_text(), b.params_text()),
        (
            " (tools)".to_string(),
            super::tools_text(&a.tools),
            super::tools_text(&b.tools),
        ),
        (
            " (note)".to_string(),
            with_newline(a.note.clone().unwrap_or_default()),
            with_newline(b.note.clone().unwrap_or_default()),
        ),
    ];
    let mut out = String::new();
    for (suffix, old, new) in &sections {
        if old == new {
            continue;
        }
        let diff = TextDiff::from_lines(old.as_str(), new.as_str());
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("a/{a_path}{suffix}"),
                &format!("b/{b_path}{suffix}"),
            )
            .to_string();
        out.push_str(&text);
    }
    if color {
        colorize(&out)
    } else {
        out
    }
}

/// `text` ending in exactly one newline when it is not empty, so that a missing final
/// newline (which the engine ignores anyway) does not show as a change.
fn with_newline(mut text: String) -> String {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn colorize(diff: &str) -> String {
    use console::style;
    let mut out = String::with_capacity(diff.len() * 2);
    for line in diff.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let styled = if body.starts_with("---") || body.starts_with("+++") {
            style(body).bold().force_styling(true).to_string()
        } else if body.starts_with("@@") {
            style(body).cyan().force_styling(true).to_string()
        } else if body.starts_with('-') {
            style(body).red().force_styling(true).to_string()
        } else if body.starts_with('+') {
            style(body).green().force_styling(true).to_string()
        } else {
            body.to_string()
        };
        out.push_str(&styled);
        out.push_str(newline);
    }
    out
}
