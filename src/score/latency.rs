//! The `latency` assertion: the request took at most `threshold` milliseconds.

use super::check::{Check, Outcome};
use super::value::Compiler;
use super::{ScoreError, ScoreInput};
use crate::template::TemplateSet;

pub(crate) const EX_LATENCY: &str = "{type: latency, threshold: 2000}";

/// Compiles `latency`: `threshold` (milliseconds, ≥ 0) is required and `value` refused.
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError> {
    if c.spec.value.is_some() {
        return Err(c.invalid(
            "takes no `value`; put the limit in `threshold` (milliseconds)",
            EX_LATENCY,
        ));
    }
    match c.spec.threshold {
        None => Err(c.invalid(
            "needs a `threshold`: the most milliseconds a request may take",
            EX_LATENCY,
        )),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(Box::new(Latency { max_ms: t })),
        Some(t) => Err(c.invalid(
            format!("`threshold` must be a number of milliseconds ≥ 0, found {t}"),
            EX_LATENCY,
        )),
    }
}

struct Latency {
    max_ms: f64,
}

impl Check for Latency {
    fn check(&self, input: &ScoreInput<'_>, _: &TemplateSet) -> Result<Outcome, String> {
        let (ms, max) = (input.latency_ms, self.max_ms);
        Ok(if ms <= max {
            Outcome::pass(format!("latency {ms:.0} ms ≤ {max:.0} ms"))
        } else {
            Outcome::fail(format!("latency {ms:.0} ms exceeds {max:.0} ms"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::diagnostic::Diagnostic;
    use serde_json::json;

    #[test]
    fn passes_at_or_under_threshold() {
        let spec = json!({"type": "latency", "threshold": 500});
        let r = eval_latency(spec.clone(), "x", json!({}), 500.0);
        assert!(r.pass);
        assert_eq!(r.reason, "latency 500 ms ≤ 500 ms");
        let r = eval_latency(spec, "x", json!({}), 820.4);
        assert!(!r.pass);
        assert_eq!(r.score, 0.0);
        assert_eq!(r.reason, "latency 820 ms exceeds 500 ms");
    }

    #[test]
    fn threshold_is_required_and_value_refused() {
        let err = compile_err(json!({"type": "latency"}));
        assert!(err.to_string().contains("needs a `threshold`"), "{err}");
        assert_eq!(
            err.hint().unwrap(),
            "for example: {type: latency, threshold: 2000}"
        );
        let err = compile_err(json!({"type": "latency", "value": 100}));
        assert!(err.to_string().contains("takes no `value`"), "{err}");
        let err = compile_err(json!({"type": "latency", "threshold": -1}));
        assert!(err.to_string().contains("≥ 0"), "{err}");
    }
}
