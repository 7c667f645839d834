//! The one trait every assertion family implements, and the outcome it returns.

use super::ScoreInput;
use crate::template::TemplateSet;

/// What a check found: whether it held, a score in `[0, 1]`, and the fact that decided it.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) pass: bool,
    pub(crate) score: f64,
    /// A fact about the output (`output contains "x"`) that reads right whichever way the
    /// assertion points.
    pub(crate) reason: String,
    /// A better phrasing for when the `not-` form passes, where the plain fact would read
    /// oddly (`expected "a", got "b"` under `not-equals`).
    pub(crate) negated_reason: Option<String>,
    /// Scorer-specific data stored with the result (see `AssertionResult::detail`).
    pub(crate) detail: Option<serde_json::Value>,
}

impl Outcome {
    /// A held check with score 1.
    pub(crate) fn pass(reason: String) -> Self {
        Outcome::scored(true, 1.0, reason)
    }

    /// A failed check with score 0.
    pub(crate) fn fail(reason: String) -> Self {
        Outcome::scored(false, 0.0, reason)
    }

    /// `pass` → [`Outcome::pass`], else [`Outcome::fail`].
    pub(crate) fn binary(pass: bool, reason: String) -> Self {
        if pass {
            Outcome::pass(reason)
        } else {
            Outcome::fail(reason)
        }
    }

    /// A check with a graded score.
    pub(crate) fn scored(pass: bool, score: f64, reason: String) -> Self {
        Outcome {
            pass,
            score,
            reason,
            negated_reason: None,
            detail: None,
        }
    }

    /// Attaches scorer-specific data to the result.
    pub(crate) fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// The same outcome with `prefix` before its reasons (`step 2: `).
    pub(crate) fn prefixed(mut self, prefix: &str) -> Self {
        self.reason = format!("{prefix}{}", self.reason);
        self.negated_reason = self.negated_reason.map(|r| format!("{prefix}{r}"));
        self
    }

    /// Sets the phrasing used when the `not-` form passes.
    pub(crate) fn when_negated(mut self, reason: String) -> Self {
        self.negated_reason = Some(reason);
        self
    }
}

/// A compiled assertion of one family.
///
/// `Err` is a failure that no `not-` may invert, such as a value template that could not
/// be rendered for this row; it holds the whole reason.
pub(crate) trait Check: Send + Sync {
    fn check(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> Result<Outcome, String>;
}
