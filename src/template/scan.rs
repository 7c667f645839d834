//! What a template's source says without compiling it: the partials it includes, the
//! names it binds, whether it is a template at all; and the `fromjson` filter.

use std::sync::LazyLock;

use minijinja::ErrorKind;
use regex::Regex;

static INCLUDE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\{%[-+]?\s*(?:include|import|from|extends)\s+(?:"([^"]*)"|'([^']*)')"#)
        .unwrap_or_else(|err| unreachable!("static regex: {err}"))
});

static BINDING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%[-+]?\s*(?:for\s+([\w\s,()]+?)\s+in\b|set\s+(\w+)|with\s+(\w+)\s*=)")
        .unwrap_or_else(|err| unreachable!("static regex: {err}"))
});

/// The literal names in `include`/`import`/`from`/`extends` tags of `source`, with the line
/// each is on.
pub(crate) fn include_names(source: &str) -> Vec<(String, usize)> {
    INCLUDE
        .captures_iter(source)
        .filter_map(|c| {
            let m = c.get(1).or_else(|| c.get(2))?;
            let line = source[..m.start()].matches('\n').count() + 1;
            Some((m.as_str().to_string(), line))
        })
        .collect()
}

static GUARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[^.\w])([A-Za-z_]\w*)\s*(?:\bis\s+(?:not\s+)?(?:defined|undefined|none)\b|\|\s*(?:default|d)\b|[!=]=\s*none\b)",
    )
    .unwrap_or_else(|err| unreachable!("static regex: {err}"))
});

/// Names that `source` treats as optional: tested with `is defined`, `is undefined` or
/// `is none` (also negated, or `== none`), or given a `default`. A row may leave them out.
pub(super) fn optional_names(source: &str) -> Vec<String> {
    GUARD
        .captures_iter(source)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .collect()
}

/// Names that `source` binds with `for`, `set` or `with`.
pub(super) fn bound_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for c in BINDING.captures_iter(source) {
        if let Some(targets) = c.get(1) {
            names.extend(
                targets
                    .as_str()
                    .split(|ch: char| ch == ',' || ch == '(' || ch == ')' || ch.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
        if let Some(name) = c.get(2).or_else(|| c.get(3)) {
            names.push(name.as_str().to_string());
        }
    }
    names
}

/// The `fromjson` filter: parses a JSON string (`output | fromjson`), so that a
/// transform can reach into a model's JSON answer.
pub(super) fn fromjson(text: &str) -> Result<minijinja::Value, minijinja::Error> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(minijinja::Value::from_serialize)
        .map_err(|err| {
            minijinja::Error::new(ErrorKind::InvalidOperation, format!("not JSON: {err}"))
        })
}

/// Whether `source` contains template syntax at all (`{{`, `{%` or `{#`).
pub fn is_template(source: &str) -> bool {
    source.contains("{{") || source.contains("{%") || source.contains("{#")
}
