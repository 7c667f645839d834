//! Scoring: assertion specs from eval files and dataset rows, compiled once, evaluated on
//! each output.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Location;
use crate::events::AssertionResult;
use crate::template::TemplateSet;

/// An assertion as written in an eval file or a dataset row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssertionSpec {
    /// The type (`contains`, `not-regex`, `levenshtein`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The expected value; strings are templates over the row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// A threshold (similarity, latency in ms), where the type takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Weight in the case score (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Name the score is reported under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
}

/// An assertion that cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// Placeholder until scoring is implemented.
    #[error("{0}")]
    Other(String),
}

impl ScoreError {
    /// What the user can do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        None
    }
}

/// What an assertion looks at.
pub struct ScoreInput<'a> {
    /// The model's output.
    pub output: &'a str,
    /// The row's template context.
    pub vars: &'a minijinja::Value,
    /// The request's latency in milliseconds.
    pub latency_ms: f64,
}

/// A compiled assertion.
pub struct Assertion {
    spec: AssertionSpec,
}

impl Assertion {
    /// Compiles a spec: checks the type, the value's shape, regexes and schemas, and
    /// compiles value templates into `templates` under names starting with `id`.
    pub fn compile(
        spec: &AssertionSpec,
        id: &str,
        origin: &Location,
        templates: &mut TemplateSet,
    ) -> Result<Assertion, ScoreError> {
        let _ = (id, origin, templates);
        Ok(Assertion { spec: spec.clone() })
    }

    /// The top-level row variables the value templates read.
    pub fn variables(&self, templates: &TemplateSet) -> BTreeSet<String> {
        let _ = templates;
        todo!()
    }

    /// Evaluates the assertion on one output.
    pub fn evaluate(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> AssertionResult {
        let _ = (input, templates, &self.spec);
        todo!()
    }
}

/// The outcome of all assertions on one output.
pub struct CaseScore {
    /// Whether the case passed.
    pub pass: bool,
    /// The weighted mean score.
    pub score: f64,
    /// Each assertion's outcome.
    pub assertions: Vec<AssertionResult>,
}

/// Scores one output: passes when every assertion passes, or with `threshold`, when the
/// weighted score reaches it. No assertions: pass with score 1.
pub fn score_case<'a>(
    assertions: impl IntoIterator<Item = &'a Assertion>,
    input: &ScoreInput<'_>,
    templates: &TemplateSet,
    threshold: Option<f64>,
) -> CaseScore {
    let _ = (input, templates, threshold);
    let _ = assertions.into_iter().count();
    todo!()
}
