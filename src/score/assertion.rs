//! The compiled assertion: checked once from its spec, then evaluated on each output.

use std::collections::BTreeSet;

use super::check::Outcome;
use super::remote::{Scorer, Verdict};
use super::transform::{self, Transform};
use super::value::Compiler;
use super::{calls, keys, registry, AssertionSpec, ScoreError};
use crate::diagnostic::Location;
use crate::run::events::AssertionResult;
use crate::template::TemplateSet;
use crate::tools::{ToolCall, ToolSet};

/// What an assertion looks at.
pub struct ScoreInput<'a> {
    /// The model's output.
    pub output: &'a str,
    /// The row's template context.
    pub vars: &'a minijinja::Value,
    /// The request's latency in milliseconds.
    pub latency_ms: f64,
    /// The tool calls in the model's answer, in order.
    pub tool_calls: &'a [ToolCall],
    /// The tools the request offered, when any.
    pub tools: Option<&'a ToolSet>,
    /// The steps of an agent loop or conversation (empty for a single call):
    /// `tool_calls` is then the last step's, and trajectory assertions read these.
    pub steps: &'a [crate::agent::Step],
}

impl<'a> ScoreInput<'a> {
    /// The same input with another output (what a `transform` left).
    pub fn with_output<'b>(&self, output: &'b str) -> ScoreInput<'b>
    where
        'a: 'b,
    {
        ScoreInput {
            output,
            vars: self.vars,
            latency_ms: self.latency_ms,
            tool_calls: self.tool_calls,
            tools: self.tools,
            steps: self.steps,
        }
    }

    /// The same input with other tool calls (those a tool-call assertion reads).
    pub(crate) fn with_tool_calls<'b>(&self, tool_calls: &'b [ToolCall]) -> ScoreInput<'b>
    where
        'a: 'b,
    {
        ScoreInput {
            tool_calls,
            ..self.with_output(self.output)
        }
    }
}

/// A compiled assertion.
///
/// ```
/// use prompteval::diagnostic::Location;
/// use prompteval::score::{Assertion, AssertionSpec, ScoreInput};
/// use prompteval::template::TemplateSet;
///
/// let mut templates = TemplateSet::new(&Default::default()).unwrap();
/// let spec = AssertionSpec {
///     kind: "not-contains".into(),
///     value: Some("sorry".into()),
///     threshold: None,
///     weight: None,
///     metric: None,
///     measure: None,
///     stem: None,
///     ..Default::default()
/// };
/// let origin = Location::line("evals/e.yaml", 3);
/// let assertion = Assertion::compile(&spec, "e#0", &origin, &mut templates).unwrap();
/// let vars = minijinja::Value::from(());
/// let input = ScoreInput { output: "I am sorry", vars: &vars, latency_ms: 0.0, tool_calls: &[], tools: None, steps: &[] };
/// let result = assertion.evaluate(&input, &templates);
/// assert!(!result.pass);
/// assert_eq!(result.reason, r#"output contains "sorry" (not-contains)"#);
/// ```
pub struct Assertion {
    spec: AssertionSpec,
    negated: bool,
    weight: f64,
    transform: Option<Transform>,
    /// Whether it reads the calls of the whole trajectory (the types that read `step`).
    on_trajectory: bool,
    /// The one step it reads (`step: N`, from 1).
    step: Option<u32>,
    pub(super) scorer: Scorer,
    pub(super) variables: BTreeSet<String>,
    pub(super) template_names: Vec<String>,
}

impl std::fmt::Debug for Assertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertion")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl Assertion {
    /// Compiles a spec: checks the type, the value's shape, regexes and schemas, and
    /// compiles value templates into `templates` under names starting with `id`.
    ///
    /// Values without template syntax never reach `templates`.
    pub fn compile(
        spec: &AssertionSpec,
        id: &str,
        origin: &Location,
        templates: &mut TemplateSet,
    ) -> Result<Assertion, ScoreError> {
        let (negated, written_base) = match spec.kind.strip_prefix("not-") {
            Some(base) => (true, base),
            None => (false, spec.kind.as_str()),
        };
        let Some(kind) = registry::lookup(written_base) else {
            return Err(ScoreError::UnknownKind {
                origin: origin.clone(),
                kind: spec.kind.clone(),
                suggestion: registry::suggest(&spec.kind),
            });
        };
        if let (true, Some(hint)) = (negated, kind.no_not_form) {
            return Err(ScoreError::NotNegatable {
                origin: origin.clone(),
                kind: spec.kind.clone(),
                hint,
            });
        }
        let mut compiler = Compiler::new(spec, kind, id, origin, templates);
        let weight = match spec.weight {
            None => 1.0,
            Some(w) if w.is_finite() && w >= 0.0 => w,
            Some(w) => {
                return Err(compiler.invalid(
                    format!("`weight` must be a number ≥ 0, found {w}"),
                    "{type: contains, value: Paris, weight: 2}",
                ))
            }
        };
        keys::refuse_unread(&compiler)?;
        let step = calls::trajectory::compile_step(&compiler)?;
        let transform = match &spec.transform {
            Some(source) => Some(transform::compile_for(source, &mut compiler)?),
            None => None,
        };
        let scorer = kind.compile(&mut compiler)?;
        Ok(Assertion {
            spec: spec.clone(),
            negated,
            weight,
            transform,
            on_trajectory: kind.reads.contains(&keys::Key::Step),
            step,
            scorer,
            variables: compiler.variables,
            template_names: compiler.template_names,
        })
    }

    /// The spec this was compiled from.
    pub fn spec(&self) -> &AssertionSpec {
        &self.spec
    }

    /// The weight in the case score (default 1).
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// The top-level row variables the value templates read.
    pub fn variables(&self, templates: &TemplateSet) -> BTreeSet<String> {
        let mut vars = self.variables.clone();
        for name in &self.template_names {
            vars.extend(templates.inline_variables(name));
        }
        vars
    }

    /// Evaluates the assertion on one output (after its `transform`, if it has one).
    ///
    /// Types that call out (judges, `similar`, `external`) are scored by
    /// [`score_case_async`](super::score_case_async); here they fail as scorer errors.
    pub fn evaluate(&self, input: &ScoreInput<'_>, templates: &TemplateSet) -> AssertionResult {
        let Scorer::Sync(check) = &self.scorer else {
            return self.result_of(Verdict::scorer_error(format!(
                "`{}` is only scored in a run",
                self.spec.kind
            )));
        };
        if !self.on_trajectory {
            return self.result(self.checked(check.as_ref(), input, templates));
        }
        let checked = match calls::trajectory::select(input, self.step) {
            Ok(selected) => {
                self.checked(check.as_ref(), &input.with_tool_calls(&selected), templates)
            }
            Err(reason) => Err(reason),
        };
        self.result(checked.map(|outcome| match self.step {
            Some(n) => outcome.prefixed(&format!("step {n}: ")),
            None => outcome,
        }))
    }

    /// The check on the output as the assertion's `transform` leaves it.
    fn checked(
        &self,
        check: &dyn super::check::Check,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
    ) -> Result<Outcome, String> {
        match self.transformed(input, templates) {
            Ok(None) => check.check(input, templates),
            Ok(Some(output)) => check.check(&input.with_output(&output), templates),
            Err(reason) => Err(reason),
        }
    }

    /// The output as this assertion's `transform` leaves it: `None` without a transform.
    pub(crate) fn transformed(
        &self,
        input: &ScoreInput<'_>,
        templates: &TemplateSet,
    ) -> Result<Option<String>, String> {
        match &self.transform {
            None => Ok(None),
            Some(transform) => transform
                .apply(input.output, input.vars, templates)
                .map(Some),
        }
    }

    /// The result of a check, with `not-` applied and the score clamped to `[0, 1]`.
    pub(super) fn result(&self, checked: Result<Outcome, String>) -> AssertionResult {
        let (pass, score, reason, detail) = match checked {
            Err(reason) => (false, 0.0, reason, None),
            Ok(outcome) if !self.negated => {
                (outcome.pass, outcome.score, outcome.reason, outcome.detail)
            }
            Ok(outcome) if outcome.pass => (
                false,
                1.0 - outcome.score,
                format!("{} ({})", outcome.reason, self.spec.kind),
                outcome.detail,
            ),
            Ok(outcome) => (
                true,
                1.0 - outcome.score,
                outcome.negated_reason.unwrap_or(outcome.reason),
                outcome.detail,
            ),
        };
        let score = if score.is_nan() {
            0.0
        } else {
            score.clamp(0.0, 1.0)
        };
        AssertionResult {
            kind: self.spec.kind.clone(),
            pass,
            score,
            reason,
            metric: self.spec.metric.clone(),
            weight: self.weight,
            detail,
            scorer_error: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::diagnostic::Diagnostic;
    use serde_json::json;

    #[test]
    fn assertions_can_be_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Assertion>();
    }

    #[test]
    fn not_latency_is_refused() {
        let err = compile_err(json!({"type": "not-latency", "threshold": 10}));
        assert!(matches!(err, ScoreError::NotNegatable { .. }), "{err}");
    }

    #[test]
    fn negative_weight_is_refused() {
        let err = compile_err(json!({"type": "contains", "value": "a", "weight": -1}));
        assert!(
            err.to_string().contains("`weight` must be a number ≥ 0"),
            "{err}"
        );
        assert!(err.hint().unwrap().contains("weight: 2"));
    }

    #[test]
    fn weight_and_metric_are_carried() {
        let r = eval(
            json!({"type": "contains", "value": "a", "weight": 2.5, "metric": "m"}),
            "abc",
            json!({}),
        );
        assert_eq!(r.weight, 2.5);
        assert_eq!(r.metric.as_deref(), Some("m"));
        assert_eq!(r.kind, "contains");
    }
    #[test]
    fn path_and_assert_are_refused_where_not_read() {
        let err = compile_err(json!({"type": "contains", "value": "a", "path": "$.a"}));
        assert!(err.to_string().contains("takes no `path`"), "{err}");
        let err = compile_err(json!({"type": "equals", "assert": []}));
        assert!(err.to_string().contains("takes no `assert` list"), "{err}");
    }

    #[test]
    fn transform_applies_before_the_check() {
        let r = eval(
            json!({"type": "equals", "value": "paris", "transform": "output | trim | lower"}),
            "  PARIS\n",
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "equals", "value": "yes", "transform": "(output | fromjson).answer"}),
            r#"{"answer": "yes"}"#,
            json!({}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(
            json!({"type": "not-contains", "value": "x", "transform": "output.nope()"}),
            "x",
            json!({}),
        );
        assert!(!r.pass, "a failing transform is not inverted");
        assert!(
            r.reason.starts_with("could not apply transform: "),
            "{}",
            r.reason
        );
    }

    #[test]
    fn transform_reads_row_variables_and_reports_them() {
        let mut templates = templates();
        let a = compile_in(
            json!({"type": "equals", "value": "ok", "transform": "output | replace(prefix, '')"}),
            "a",
            &mut templates,
        )
        .unwrap();
        assert_eq!(
            a.variables(&templates).into_iter().collect::<Vec<_>>(),
            ["prefix"]
        );
        let r = eval(
            json!({"type": "equals", "value": "ok", "transform": "output | replace(prefix, '')"}),
            "A: ok",
            json!({"prefix": "A: "}),
        );
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn bad_transform_is_a_compile_error_with_origin() {
        let err = compile_err(json!({"type": "equals", "value": "a", "transform": "output |"}));
        assert!(matches!(err, ScoreError::Transform { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("evals/e.yaml:7: `equals` assertion: invalid `transform`"),
            "{err}"
        );
    }

    #[test]
    fn negation_inverts_pass_and_score_and_names_the_type() {
        let r = eval(
            json!({"type": "not-contains", "value": "sorry"}),
            "I am sorry",
            json!({}),
        );
        assert!(!r.pass);
        assert_eq!(r.score, 0.0);
        assert_eq!(r.reason, r#"output contains "sorry" (not-contains)"#);
        let r = eval(
            json!({"type": "not-contains", "value": "sorry"}),
            "fine",
            json!({}),
        );
        assert!(r.pass);
        assert_eq!(r.score, 1.0);
        assert_eq!(r.reason, r#"output does not contain "sorry""#);
    }

    #[test]
    fn missing_expected_fails_without_panicking_even_when_negated() {
        for kind in ["equals", "not-equals"] {
            let r = eval(json!({"type": kind}), "x", json!({"input": "q"}));
            assert!(!r.pass, "{kind}");
            assert_eq!(r.score, 0.0);
            assert_eq!(
                r.reason,
                "could not render value: undefined variable `expected`"
            );
        }
    }

    #[test]
    fn default_value_reads_expected_and_reports_the_variable() {
        let mut templates = templates();
        let a = compile_in(json!({"type": "equals"}), "a", &mut templates).unwrap();
        assert_eq!(
            a.variables(&templates).into_iter().collect::<Vec<_>>(),
            ["expected"]
        );
        let r = eval(
            json!({"type": "equals"}),
            " positive\n",
            json!({"expected": "positive"}),
        );
        assert!(r.pass, "{}", r.reason);
        let r = eval(json!({"type": "equals"}), "7", json!({"expected": 7}));
        assert!(r.pass, "{}", r.reason);
    }

    #[test]
    fn literal_values_have_no_variables() {
        let mut templates = templates();
        let a = compile_in(
            json!({"type": "contains", "value": "x"}),
            "a",
            &mut templates,
        )
        .unwrap();
        assert!(a.variables(&templates).is_empty());
    }

    #[test]
    fn templated_values_render_per_row() {
        let r = eval(
            json!({"type": "contains", "value": "{{ city | upper }}"}),
            "PARIS is nice",
            json!({"city": "Paris"}),
        );
        assert!(r.pass, "{}", r.reason);
        let mut templates = templates();
        let a = compile_in(
            json!({"type": "contains", "value": "{{ city | upper }} {{ country }}"}),
            "a",
            &mut templates,
        )
        .unwrap();
        assert_eq!(
            a.variables(&templates).into_iter().collect::<Vec<_>>(),
            ["city", "country"]
        );
    }

    #[test]
    fn template_that_fails_to_render_fails_the_assertion() {
        let r = eval(
            json!({"type": "contains", "value": "{{ missing.attr }}"}),
            "x",
            json!({}),
        );
        assert!(!r.pass);
        assert!(
            r.reason.starts_with("could not render value: "),
            "{}",
            r.reason
        );
    }

    #[test]
    fn bad_value_template_is_a_compile_error_with_origin() {
        let err = compile_err(json!({"type": "contains", "value": "{{ oops"}));
        assert!(matches!(err, ScoreError::Template { .. }), "{err}");
        assert!(err.to_string().starts_with("evals/e.yaml:7:"), "{err}");
    }
}
