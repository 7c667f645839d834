//! Prompt references: `name`, `name@3`, `name@production`, `name@latest`.

use std::fmt;
use std::str::FromStr;

/// Which version of a prompt a reference means.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Selector {
    /// The highest version number (`name` or `name@latest`).
    Latest,
    /// A version number (`name@3`).
    Version(u32),
    /// An alias from `prompt.yaml` (`name@production`).
    Alias(String),
}

/// A reference to a prompt version, as written in evals, on the command line and in reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PromptRef {
    /// The prompt's name.
    pub name: String,
    /// Which version.
    pub selector: Selector,
}

/// A reference that cannot be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid prompt reference `{input}`: {reason} (expected `name`, `name@N`, `name@alias` or `name@latest`)")]
pub struct ParseRefError {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for PromptRef {
    type Err = ParseRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseRefError {
            input: s.to_string(),
            reason,
        };
        let (name, selector) = match s.split_once('@') {
            None => (s, Selector::Latest),
            Some((_, "")) => return Err(err("nothing after `@`")),
            Some((name, "latest")) => (name, Selector::Latest),
            Some((name, sel)) if sel.chars().all(|c| c.is_ascii_digit()) => {
                let n: u32 = sel.parse().map_err(|_| err("version number too large"))?;
                if n == 0 {
                    return Err(err("versions start at 1"));
                }
                (name, Selector::Version(n))
            }
            Some((name, alias)) => {
                if !is_valid_name(alias) {
                    return Err(err("alias may use letters, digits, `-` and `_` only"));
                }
                (name, Selector::Alias(alias.to_string()))
            }
        };
        if name.is_empty() {
            return Err(err("empty prompt name"));
        }
        if !is_valid_name(name) {
            return Err(err("name may use letters, digits, `-` and `_` only"));
        }
        Ok(PromptRef {
            name: name.to_string(),
            selector,
        })
    }
}

/// Whether `s` is a valid prompt or alias name.
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl fmt::Display for PromptRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            Selector::Latest => write!(f, "{}", self.name),
            Selector::Version(n) => write!(f, "{}@{n}", self.name),
            Selector::Alias(a) => write!(f, "{}@{a}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let r: PromptRef = "sentiment".parse().unwrap();
        assert_eq!(r.selector, Selector::Latest);
        let r: PromptRef = "sentiment@latest".parse().unwrap();
        assert_eq!(r.selector, Selector::Latest);
        let r: PromptRef = "sentiment@3".parse().unwrap();
        assert_eq!(r.selector, Selector::Version(3));
        let r: PromptRef = "sentiment@production".parse().unwrap();
        assert_eq!(r.selector, Selector::Alias("production".into()));
        assert_eq!(r.to_string(), "sentiment@production");
    }

    #[test]
    fn rejects_bad_refs() {
        for bad in ["", "@1", "a@", "a@0", "a b", "a@x y", "../etc"] {
            assert!(
                bad.parse::<PromptRef>().is_err(),
                "{bad:?} should not parse"
            );
        }
    }
}
