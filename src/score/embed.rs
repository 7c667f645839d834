//! `similar`: cosine similarity of the embeddings of the output and of the value.

use serde_json::json;

use super::check::Outcome;
use super::remote::{AsyncCheck, GraderUsage, ProviderRole, ScoreContext, Verdict};
use super::value::{show, Compiler, Text};
use super::{ScoreError, ScoreInput};
use crate::provider::BoxFuture;

pub(crate) const EX_SIMILAR: &str = "{type: similar, value: \"{{ expected }}\", threshold: 0.8}";

/// The threshold when the spec gives none.
pub(crate) const DEFAULT_THRESHOLD: f64 = 0.8;

/// Compiles `similar` (`not-` already removed).
pub(crate) fn compile(c: &mut Compiler<'_>) -> Result<Box<dyn AsyncCheck>, ScoreError> {
    let threshold = match c.spec.threshold {
        None => DEFAULT_THRESHOLD,
        Some(t) if (-1.0..=1.0).contains(&t) => t,
        Some(t) => {
            return Err(c.invalid(
                format!("`threshold` must be a cosine similarity between -1 and 1, found {t}"),
                EX_SIMILAR,
            ))
        }
    };
    let value = c.text_value(EX_SIMILAR)?;
    Ok(Box::new(Similar {
        value,
        threshold,
        embedder: c.spec.embedder.clone(),
    }))
}

/// `similar`: the score is the cosine similarity (below 0 counts as 0).
struct Similar {
    value: Text,
    threshold: f64,
    embedder: Option<String>,
}

impl Similar {
    async fn run(&self, input: &ScoreInput<'_>, ctx: &ScoreContext<'_>) -> Verdict {
        let expected = match self.value.resolve(input, ctx.templates) {
            Ok(v) => v.trim().to_string(),
            Err(reason) => return Verdict::Failed(reason),
        };
        let (name, provider) = match ctx.provider(ProviderRole::Embedder, self.embedder.as_deref())
        {
            Ok(found) => found,
            Err(reason) => return Verdict::scorer_error(reason),
        };
        let texts = vec![input.output.trim().to_string(), expected.clone()];
        let vectors = match provider.embed(texts).await {
            Ok(v) => v,
            Err(e) => {
                return Verdict::scorer_error(format!("embedder `{name}` failed: {}", e.message))
            }
        };
        let [a, b] = vectors.as_slice() else {
            return Verdict::scorer_error(format!(
                "embedder `{name}` returned {} vectors for 2 texts",
                vectors.len()
            ));
        };
        let Some(similarity) = cosine(a, b) else {
            return Verdict::scorer_error(format!(
                "embedder `{name}` returned vectors of sizes {} and {}, or a zero vector",
                a.len(),
                b.len()
            ));
        };
        let threshold = self.threshold;
        let detail = json!({"embedder": name, "similarity": similarity});
        let shown = show(&expected);
        let outcome = if similarity >= threshold {
            Outcome::scored(
                true,
                similarity,
                format!("cosine similarity {similarity:.2} to {shown} (threshold {threshold:.2})"),
            )
        } else {
            Outcome::scored(
                false,
                similarity,
                format!("cosine similarity {similarity:.2} to {shown} is below {threshold:.2}"),
            )
        };
        Verdict::Checked(outcome.with_detail(detail))
    }
}

impl AsyncCheck for Similar {
    fn check<'a>(
        &'a self,
        input: &'a ScoreInput<'a>,
        ctx: &'a ScoreContext<'a>,
        _usage: &'a mut GraderUsage,
    ) -> BoxFuture<'a, Verdict> {
        Box::pin(self.run(input, ctx))
    }

    fn provider(&self) -> Option<(ProviderRole, Option<&str>)> {
        Some((ProviderRole::Embedder, self.embedder.as_deref()))
    }
}

/// The cosine similarity of two vectors of the same non-zero size and non-zero norms.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return None;
    }
    Some((dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::testing::{compile_err, compile_in, templates};

    #[test]
    fn cosine_of_known_vectors() {
        assert_eq!(cosine(&[1.0, 0.0], &[1.0, 0.0]), Some(1.0));
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 2.0]), Some(0.0));
        assert_eq!(cosine(&[1.0, 0.0], &[-3.0, 0.0]), Some(-1.0));
        let c = cosine(&[1.0, 1.0], &[1.0, 0.0]).unwrap();
        assert!((c - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), None);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), None);
    }

    #[test]
    fn similar_defaults_to_expected_and_checks_threshold() {
        let mut t = templates();
        let a = compile_in(json!({"type": "similar", "embedder": "e"}), "a", &mut t).unwrap();
        assert_eq!(
            a.variables(&t).into_iter().collect::<Vec<_>>(),
            ["expected"]
        );
        assert_eq!(a.provider_role(), Some((ProviderRole::Embedder, Some("e"))));
        let err = compile_err(json!({"type": "similar", "threshold": 1.5}));
        assert!(err.to_string().contains("between -1 and 1"), "{err}");
    }
}
