//! The assertion types: their names, which have a `not-` form, and the did-you-mean.

/// Every assertion type without its `not-` prefix.
pub const BASE_KINDS: &[&str] = &[
    "equals",
    "contains",
    "icontains",
    "contains-any",
    "contains-all",
    "icontains-any",
    "icontains-all",
    "starts-with",
    "ends-with",
    "regex",
    "max-length",
    "min-length",
    "word-count",
    "is-json",
    "json-schema",
    "contains-json",
    "json-path",
    "json-diff",
    "is-xml",
    "levenshtein",
    "levenshtein-distance",
    "rouge-1",
    "rouge-2",
    "rouge-l",
    "bleu",
    "chrf",
    "f1",
    "exact-match",
    "latency",
    "assert-set",
    "llm-rubric",
    "factuality",
    "closed-qa",
    "g-eval",
    "select-best",
    "similar",
    "external",
];

/// Where `measure` and `stem` belong, for the error that finds them elsewhere.
pub(super) const EX_ROUGE_OPTIONS: &str = "{type: rouge-l, measure: recall, stem: true}";

/// The base types without a `not-` form: "slower than" is not a useful check, and a group
/// is negated through its members.
pub(super) const NOT_NEGATABLE: &[&str] = &["latency", "assert-set"];

/// Every accepted assertion type: each of [`BASE_KINDS`], then the `not-` forms.
pub fn kinds() -> impl Iterator<Item = String> {
    let negated = BASE_KINDS
        .iter()
        .filter(|k| !NOT_NEGATABLE.contains(k))
        .map(|k| format!("not-{k}"));
    BASE_KINDS.iter().map(|k| k.to_string()).chain(negated)
}

/// The known type closest to a misspelt one, if any is close.
pub(super) fn suggest(kind: &str) -> Option<String> {
    kinds()
        .map(|k| (strsim::levenshtein(kind, &k), k))
        .filter(|(distance, k)| *distance <= 3.max(k.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn every_base_kind_has_a_not_form_except_latency_and_assert_set() {
        let kinds: Vec<String> = kinds().collect();
        for base in BASE_KINDS {
            assert!(kinds.iter().any(|k| k == base), "{base}");
            let negated = format!("not-{base}");
            let negatable = !matches!(*base, "latency" | "assert-set");
            assert_eq!(kinds.contains(&negated), negatable, "{base}");
        }
        assert_eq!(kinds.len(), BASE_KINDS.len() * 2 - 2);
    }

    #[test]
    fn unknown_kind_lists_choices_and_suggests() {
        let err = compile_err(json!({"type": "contians", "value": "x"}));
        let text = err.to_string();
        assert!(
            text.starts_with(
                "evals/e.yaml:7: unknown assertion type `contians`. Choose from: equals, contains,"
            ),
            "{text}"
        );
        assert!(text.contains("latency"), "{text}");
        assert_eq!(err.hint().as_deref(), Some("did you mean `contains`?"));
        let err = compile_err(json!({"type": "zzzzzzzzzzzz"}));
        assert_eq!(err.hint(), None);
    }
}
