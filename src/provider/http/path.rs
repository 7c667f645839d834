//! [`ResponsePath`]: a place in a JSON answer, as a JSON pointer or a dotted path.

/// A place in a JSON document: a JSON pointer (`/choices/0/text`) or a path
/// (`choices[0].text`, `data.items.0.name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponsePath {
    source: String,
    steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl ResponsePath {
    /// Parses a pointer (starting with `/`) or a dotted path with `[n]` indexes.
    ///
    /// ```
    /// use prompteval::provider::ResponsePath;
    /// let v = serde_json::json!({"choices": [{"text": "hi"}]});
    /// let p = ResponsePath::parse("choices[0].text").unwrap();
    /// assert_eq!(p.find(&v), Some(&serde_json::json!("hi")));
    /// assert_eq!(ResponsePath::parse("/choices/0/text").unwrap().find(&v), p.find(&v));
    /// assert!(ResponsePath::parse("choices[x]").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<ResponsePath, String> {
        let source = text.trim().to_string();
        if source.is_empty() {
            return Err("the path is empty".into());
        }
        if let Some(pointer) = source.strip_prefix('/') {
            // JSON pointer: steps are resolved against objects or arrays at lookup time.
            let steps = pointer
                .split('/')
                .map(|s| Step::Key(s.replace("~1", "/").replace("~0", "~")))
                .collect();
            return Ok(ResponsePath { source, steps });
        }
        let mut steps = Vec::new();
        for part in source.split('.') {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if key.is_empty() && (rest.is_empty() || steps.is_empty() && part.is_empty()) {
                return Err(format!("empty segment in `{source}`"));
            }
            if !key.is_empty() {
                steps.push(Step::Key(key.to_string()));
            }
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("unclosed `[` in `{source}`"))?;
                let index = rest[1..close].trim().parse::<usize>().map_err(|_| {
                    format!("`{}` is not an array index in `{source}`", &rest[1..close])
                })?;
                steps.push(Step::Index(index));
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("unexpected `{rest}` after `]` in `{source}`"));
                }
            }
        }
        Ok(ResponsePath { source, steps })
    }

    /// The value at this place, if there is one. A key step also indexes an array when it
    /// is a number (`choices.0.text`).
    pub fn find<'a>(&self, value: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        let mut current = value;
        for step in &self.steps {
            current = match (step, current) {
                (Step::Key(k), serde_json::Value::Object(map)) => map.get(k)?,
                (Step::Key(k), serde_json::Value::Array(items)) => {
                    items.get(k.parse::<usize>().ok()?)?
                }
                (Step::Index(i), serde_json::Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_pointers() {
        let v = json!({"a": {"b": [10, {"c": "x"}]}, "k/ey": 1});
        let find = |p: &str| ResponsePath::parse(p).unwrap().find(&v).cloned();
        assert_eq!(find("a.b[1].c"), Some(json!("x")));
        assert_eq!(find("a.b.1.c"), Some(json!("x")));
        assert_eq!(find("/a/b/1/c"), Some(json!("x")));
        assert_eq!(find("/k~1ey"), Some(json!(1)));
        assert_eq!(find("a.b[0]"), Some(json!(10)));
        assert_eq!(find("a.b[5]"), None);
        assert_eq!(find("a.z"), None);
        for bad in ["", "a..b", "a[1", "a[x]", "a[1]b", ".a"] {
            assert!(ResponsePath::parse(bad).is_err(), "{bad:?}");
        }
    }
}
