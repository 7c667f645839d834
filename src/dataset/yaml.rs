//! YAML datasets: a top-level list of mappings.

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::row::RawRow;
use super::DatasetError;

pub(super) fn parse_yaml(text: &str, path: &Path) -> Result<Vec<RawRow>, DatasetError> {
    let has_content = text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---" && t != "..."
    });
    if !has_content {
        return Ok(Vec::new());
    }
    let (items, _) = crate::config::yaml::parse::<Vec<Map<String, Json>>>(text, path)
        .map_err(DatasetError::Yaml)?;
    let lines = yaml_item_lines(text);
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(idx, vars)| RawRow {
            line: lines.get(idx).copied().unwrap_or(1),
            vars,
        })
        .collect())
}

/// Best effort: the 1-based line of each `- ` item of the top-level list, found at the
/// indentation of the first item. Flow-style lists (`[…]`) yield nothing.
fn yaml_item_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut indent = None;
    for (idx, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || line.starts_with("---")
            || line.starts_with("...")
            || line.starts_with('%')
        {
            continue;
        }
        let at = line.len() - trimmed.len();
        let is_item = trimmed == "-" || trimmed.starts_with("- ") || trimmed.starts_with("-\t");
        match indent {
            None if is_item => {
                indent = Some(at);
                lines.push(idx + 1);
            }
            None => return lines,
            Some(level) if is_item && at == level => lines.push(idx + 1),
            Some(_) => {}
        }
    }
    lines
}
