//! The one table of assertion types: each type's name, compile function and traits.

use super::check::Check;
use super::judge::{self, JudgePrompt};
use super::keys::Key::{self, Assert, Command, Embedder, Grader, Measure, Path, Script, Stem};
use super::keys::Key::{Args, Call, Match, Mode, Step, Threshold, Timeout};
use super::keys::Key::{Beta, CharOrder, EpsSmoothing, Lowercase, Whitespace, WordOrder};
use super::keys::Key::{MaxNgramOrder, Normalize, SmoothMethod, SmoothValue, Tokenize};
use super::remote::{AsyncCheck, Scorer};
use super::value::Compiler;
use super::{bleu, calls, chrf, embed, external, json, json_diff, json_path, latency, rouge, set};
use super::{similarity, squad, text, trajectory, xml, ScoreError};

/// The compile function of a deterministic type.
pub(crate) type CompileSync = fn(&mut Compiler<'_>) -> Result<Box<dyn Check>, ScoreError>;

/// The compile function of a type that calls out to score one output.
pub(crate) type CompileAsync = fn(&mut Compiler<'_>) -> Result<Box<dyn AsyncCheck>, ScoreError>;

/// How a type compiles, and so how it is scored.
pub(crate) enum Build {
    /// Deterministic: scored as soon as the output exists.
    Sync(CompileSync),
    /// Calls out (embeddings, an external scorer), one output at a time.
    Async(CompileAsync),
    /// A judge model grades with this prompt: one output at a time, or a whole row.
    Judge(&'static JudgePrompt),
}

/// When a type is scored, as the scheduler sees it (read by the tests that hold the table
/// and `docs/assertions.md` to each other).
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scoring {
    /// As soon as the output exists, without calling out.
    Sync,
    /// Calls out, one output at a time.
    Async,
    /// Calls out once every output of the row exists.
    Group,
}

/// One assertion type.
pub(crate) struct AssertionType {
    /// The type without its `not-` prefix, as written in eval files.
    pub(crate) name: &'static str,
    /// How it compiles.
    pub(crate) build: Build,
    /// Why it has no `not-` form, as the hint of the error that finds one; `None` when it
    /// has one.
    pub(crate) no_not_form: Option<&'static str>,
    /// The keys it reads besides those every type reads (`value`, `weight`, `metric`,
    /// `transform`); any other is refused before it compiles.
    pub(crate) reads: &'static [Key],
    /// The row variable an absent `value` reads (`expected`, `expected_tools`); `None`
    /// when the type needs a `value` or takes none.
    pub(crate) value_default: Option<&'static str>,
    /// Whether it looks at the answer's tool calls rather than its text (the plan warns
    /// when an eval using one offers no tools).
    pub(crate) uses_tool_calls: bool,
    /// A correct assertion of this type, for error hints.
    pub(crate) example: &'static str,
}

const fn sync(name: &'static str, compile: CompileSync, example: &'static str) -> AssertionType {
    entry(name, Build::Sync(compile), example)
}

/// A ROUGE type: the name says which (`rouge::compile` reads it).
const fn rouge_type(name: &'static str) -> AssertionType {
    sync(name, rouge::compile, rouge::EX_ROUGE)
        .reads(&[Threshold, Measure, Stem])
        .defaults_to_expected()
}

const fn calls_out(
    name: &'static str,
    compile: CompileAsync,
    example: &'static str,
) -> AssertionType {
    entry(name, Build::Async(compile), example)
}

const fn judged(name: &'static str, prompt: &'static JudgePrompt) -> AssertionType {
    entry(name, Build::Judge(prompt), prompt.example)
}

const fn entry(name: &'static str, build: Build, example: &'static str) -> AssertionType {
    AssertionType {
        name,
        build,
        no_not_form: None,
        reads: &[],
        value_default: None,
        uses_tool_calls: false,
        example,
    }
}

impl AssertionType {
    /// The same type reading `keys`.
    const fn reads(mut self, keys: &'static [Key]) -> Self {
        self.reads = keys;
        self
    }

    /// The same type with an absent `value` standing for `{{ expected }}`.
    const fn defaults_to_expected(self) -> Self {
        self.defaults_to("expected")
    }

    /// The same type with an absent `value` standing for `{{ variable }}`.
    const fn defaults_to(mut self, variable: &'static str) -> Self {
        self.value_default = Some(variable);
        self
    }

    /// The same type marked as looking at tool calls.
    const fn on_tool_calls(mut self) -> Self {
        self.uses_tool_calls = true;
        self
    }

    /// The same type without a `not-` form; `hint` says what to write instead.
    const fn no_not_form(mut self, hint: &'static str) -> Self {
        self.no_not_form = Some(hint);
        self
    }

    /// Whether `not-<type>` is accepted.
    pub(crate) fn negatable(&self) -> bool {
        self.no_not_form.is_none()
    }

    /// When it is scored.
    #[cfg(test)]
    pub(crate) fn scoring(&self) -> Scoring {
        match self.build {
            Build::Sync(_) => Scoring::Sync,
            Build::Async(_) => Scoring::Async,
            Build::Judge(prompt) => match prompt.reading {
                judge::Reading::One(_) => Scoring::Async,
                judge::Reading::Row => Scoring::Group,
            },
        }
    }

    /// Compiles a spec of this type; `c` already holds this entry.
    pub(crate) fn compile(&self, c: &mut Compiler<'_>) -> Result<Scorer, ScoreError> {
        Ok(match self.build {
            Build::Sync(compile) => Scorer::Sync(compile(c)?),
            Build::Async(compile) => Scorer::Async(compile(c)?),
            Build::Judge(prompt) => judge::compile(prompt, c)?,
        })
    }
}

/// Every assertion type, in the order users see them listed.
pub(crate) static TYPES: &[AssertionType] = &[
    sync("equals", text::equals, text::EX_EQUALS)
        .defaults_to_expected()
        .reads(&[Key::Trim]),
    sync("contains", text::contains, text::EX_CONTAINS).defaults_to_expected(),
    sync("icontains", text::icontains, text::EX_CONTAINS).defaults_to_expected(),
    sync("contains-any", text::contains_any, text::EX_LIST),
    sync("contains-all", text::contains_all, text::EX_LIST),
    sync("icontains-any", text::icontains_any, text::EX_LIST),
    sync("icontains-all", text::icontains_all, text::EX_LIST),
    sync("starts-with", text::starts_with, text::EX_AFFIX).defaults_to_expected(),
    sync("ends-with", text::ends_with, text::EX_AFFIX).defaults_to_expected(),
    sync("regex", text::regex, text::EX_REGEX),
    sync("max-length", text::max_length, text::EX_LENGTH),
    sync("min-length", text::min_length, text::EX_LENGTH),
    sync("word-count", text::word_count, text::EX_WORDS),
    sync("is-json", json::is_json, json::EX_IS_JSON),
    sync("json-schema", json::json_schema, json::EX_SCHEMA),
    sync("contains-json", json::contains_json, json::EX_CONTAINS),
    sync("json-path", json_path::compile, json_path::EXAMPLE).reads(&[Path]),
    sync("json-diff", json_diff::compile, json_diff::EXAMPLE)
        .reads(&[Threshold])
        .defaults_to_expected(),
    sync("is-xml", xml::compile, xml::EXAMPLE),
    sync(
        "tool-called",
        calls::called::compile,
        calls::called::EXAMPLE,
    )
    .reads(&[Args, Match, Step])
    .on_tool_calls(),
    sync("tool-args", calls::args::compile, calls::args::EXAMPLE)
        .reads(&[Path, Call, Step])
        .on_tool_calls(),
    sync(
        "tool-sequence",
        calls::sequence::compile,
        calls::sequence::EXAMPLE,
    )
    .reads(&[Mode, Step])
    .on_tool_calls(),
    sync("tool-call-f1", calls::f1::compile, calls::f1::EXAMPLE)
        .reads(&[Threshold, Step])
        .defaults_to("expected_tools")
        .on_tool_calls(),
    sync(
        "valid-tool-call",
        calls::valid::compile,
        calls::valid::EXAMPLE,
    )
    .reads(&[Step])
    .on_tool_calls(),
    sync("no-tool-call", calls::none::compile, calls::none::EXAMPLE)
        .reads(&[Step])
        .on_tool_calls(),
    sync(
        "max-steps",
        trajectory::limits::compile_steps,
        trajectory::limits::EX_STEPS,
    )
    .no_not_form("write the limit as `value`; there is no `not-max-steps`"),
    sync(
        "max-tool-calls",
        trajectory::limits::compile_calls,
        trajectory::limits::EX_CALLS,
    )
    .no_not_form("write the limit as `value`; there is no `not-max-tool-calls`"),
    sync(
        "final-answer",
        trajectory::final_answer::compile,
        trajectory::final_answer::EXAMPLE,
    )
    .reads(&[Threshold, Assert])
    .no_not_form("negate the members instead: `not-contains`, `not-regex`, …"),
    sync(
        "tool-result-used",
        trajectory::result_used::compile,
        trajectory::result_used::EXAMPLE,
    ),
    sync(
        "levenshtein",
        similarity::levenshtein,
        similarity::EX_LEVENSHTEIN,
    )
    .reads(&[Threshold])
    .defaults_to_expected(),
    sync(
        "levenshtein-distance",
        similarity::distance,
        similarity::EX_DISTANCE,
    )
    .reads(&[Threshold])
    .defaults_to_expected(),
    rouge_type("rouge-1"),
    rouge_type("rouge-2"),
    rouge_type("rouge-3"),
    rouge_type("rouge-4"),
    rouge_type("rouge-5"),
    rouge_type("rouge-6"),
    rouge_type("rouge-7"),
    rouge_type("rouge-8"),
    rouge_type("rouge-9"),
    rouge_type("rouge-l"),
    rouge_type("rouge-lsum"),
    sync("bleu", bleu::compile, bleu::EX_BLEU)
        .reads(&[
            Threshold,
            Tokenize,
            SmoothMethod,
            SmoothValue,
            Lowercase,
            MaxNgramOrder,
        ])
        .defaults_to_expected(),
    sync("chrf", chrf::compile, chrf::EX_CHRF)
        .reads(&[
            Threshold,
            CharOrder,
            WordOrder,
            Beta,
            Lowercase,
            Whitespace,
            EpsSmoothing,
        ])
        .defaults_to_expected(),
    sync("f1", squad::compile_f1, squad::EX_F1)
        .reads(&[Threshold, Normalize])
        .defaults_to_expected(),
    sync("exact-match", squad::compile_exact_match, squad::EX_EXACT)
        .reads(&[Normalize])
        .defaults_to_expected(),
    sync("latency", latency::compile, latency::EX_LATENCY)
        .reads(&[Threshold])
        .no_not_form("use `latency` with a `threshold` in milliseconds; there is no `not-latency`"),
    sync("assert-set", set::compile, set::EXAMPLE)
        .reads(&[Threshold, Assert])
        .no_not_form("negate the members instead: `not-contains`, `not-regex`, …"),
    judged("llm-rubric", &judge::LLM_RUBRIC).reads(&[Grader, Threshold]),
    judged("factuality", &judge::FACTUALITY)
        .reads(&[Grader, Threshold])
        .defaults_to_expected(),
    judged("closed-qa", &judge::CLOSED_QA).reads(&[Grader]),
    judged("g-eval", &judge::G_EVAL).reads(&[Grader, Threshold]),
    judged("select-best", &judge::SELECT_BEST).reads(&[Grader]),
    calls_out("similar", embed::compile, embed::EX_SIMILAR)
        .reads(&[Embedder, Threshold])
        .defaults_to_expected(),
    calls_out("external", external::compile, external::EX_EXTERNAL)
        .reads(&[Command, Script, Timeout, Threshold]),
];

/// The entry of a type written without its `not-` prefix.
pub(crate) fn lookup(base: &str) -> Option<&'static AssertionType> {
    TYPES.iter().find(|t| t.name == base)
}

/// Every assertion type without its `not-` prefix.
pub fn base_kinds() -> impl Iterator<Item = &'static str> {
    TYPES.iter().map(|t| t.name)
}

/// Every accepted assertion type: each of [`base_kinds`], then the `not-` forms.
pub fn kinds() -> impl Iterator<Item = String> {
    let negated = TYPES
        .iter()
        .filter(|t| t.negatable())
        .map(|t| format!("not-{}", t.name));
    base_kinds().map(str::to_string).chain(negated)
}

/// Whether `kind` (with or without `not-`) looks at the answer's tool calls
/// (`tool-called`, `tool-args`, …).
pub fn uses_tool_calls(kind: &str) -> bool {
    let base = kind.strip_prefix("not-").unwrap_or(kind);
    lookup(base).is_some_and(|t| t.uses_tool_calls)
}

/// Whether `kind` (without `not-`) is graded by a judge model whose prompt the registry
/// prompt `judge-<kind>` may replace.
pub fn is_judge(kind: &str) -> bool {
    lookup(kind).is_some_and(|t| matches!(t.build, Build::Judge(_)))
}

/// The variables a judge prompt of `kind` receives; none for a type that is not judged.
///
/// All but `select-best`: `output` (the model's output), `input` (the prompt sent to the
/// model, as text), `vars` (the row's variables) and the assertion's value as `rubric`
/// (`llm-rubric`), `expected` (`factuality`) or `criteria` (`closed-qa`, `g-eval`).
/// `select-best`: `outputs` (the row's outputs, a list), `criteria` and `vars`.
pub fn judge_variables(kind: &str) -> &'static [&'static str] {
    match lookup(kind).map(|t| &t.build) {
        Some(Build::Judge(prompt)) => prompt.variables,
        _ => &[],
    }
}

/// The valid choices, as the error for an unknown type lists them.
pub(crate) fn choices() -> String {
    let without_not: Vec<String> = TYPES
        .iter()
        .filter(|t| !t.negatable())
        .map(|t| format!("`{}`", t.name))
        .collect();
    let (last, rest) = without_not
        .split_last()
        .expect("some types have no `not-` form");
    let but = match rest {
        [] => last.clone(),
        _ => format!("{} and {last}", rest.join(", ")),
    };
    format!(
        "{} (each but {but} also as `not-<type>`)",
        base_kinds().collect::<Vec<_>>().join(", "),
    )
}

/// The known type closest to a misspelt one, if any is close.
pub(crate) fn suggest(kind: &str) -> Option<String> {
    let kinds: Vec<String> = kinds().collect();
    let valid: Vec<&str> = kinds.iter().map(String::as_str).collect();
    crate::diagnostic::suggest(kind, &valid).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::diagnostic::Diagnostic;
    use serde_json::{json, Value};

    /// The list users see (`tests/cli_errors.rs` snapshots it too): the one before the
    /// table existed, with the tool-call types (issue 15), `rouge-3` … `rouge-9` and
    /// `rouge-lsum` (issue 18), and the trajectory types (issue 16).
    const CHOICES_BEFORE: &str = "equals, contains, icontains, contains-any, contains-all, icontains-any, icontains-all, starts-with, ends-with, regex, max-length, min-length, word-count, is-json, json-schema, contains-json, json-path, json-diff, is-xml, tool-called, tool-args, tool-sequence, tool-call-f1, valid-tool-call, no-tool-call, max-steps, max-tool-calls, final-answer, tool-result-used, levenshtein, levenshtein-distance, rouge-1, rouge-2, rouge-3, rouge-4, rouge-5, rouge-6, rouge-7, rouge-8, rouge-9, rouge-l, rouge-lsum, bleu, chrf, f1, exact-match, latency, assert-set, llm-rubric, factuality, closed-qa, g-eval, select-best, similar, external (each but `max-steps`, `max-tool-calls`, `final-answer`, `latency` and `assert-set` also as `not-<type>`)";

    #[test]
    fn choices_are_the_list_users_saw() {
        assert_eq!(choices(), CHOICES_BEFORE);
    }

    #[test]
    fn names_are_unique_and_written_as_in_eval_files() {
        let mut seen = std::collections::BTreeSet::new();
        for t in TYPES {
            assert!(seen.insert(t.name), "{} is registered twice", t.name);
            assert!(!t.name.starts_with("not-"), "{}", t.name);
            assert!(
                t.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                t.name
            );
            assert!(lookup(t.name).is_some_and(|found| std::ptr::eq(found, t)));
            assert!(t.example.starts_with("{type: "), "{}", t.name);
        }
    }

    #[test]
    fn every_base_kind_has_a_not_form_except_limits_and_groups() {
        let kinds: Vec<String> = kinds().collect();
        for base in base_kinds() {
            assert!(kinds.iter().any(|k| k == base), "{base}");
            let negated = format!("not-{base}");
            let negatable = !matches!(
                base,
                "latency" | "assert-set" | "max-steps" | "max-tool-calls" | "final-answer"
            );
            assert_eq!(kinds.contains(&negated), negatable, "{base}");
        }
        assert_eq!(kinds.len(), TYPES.len() * 2 - 5);
    }

    #[test]
    fn unknown_kind_lists_choices_and_suggests() {
        let err = compile_err(json!({"type": "contians", "value": "x"}));
        let text = err.to_string();
        assert_eq!(
            text,
            format!(
                "evals/e.yaml:7: unknown assertion type `contians`. Choose from: {CHOICES_BEFORE}"
            )
        );
        assert_eq!(err.hint().as_deref(), Some("did you mean `contains`?"));
        let err = compile_err(json!({"type": "zzzzzzzzzzzz"}));
        assert_eq!(err.hint(), None);
    }

    #[test]
    fn not_forms_are_refused_with_the_entry_hint() {
        for t in TYPES.iter().filter(|t| !t.negatable()) {
            let err = compile_err(json!({"type": format!("not-{}", t.name)}));
            assert!(matches!(err, ScoreError::NotNegatable { .. }), "{err}");
            assert_eq!(err.hint().as_deref(), t.no_not_form, "{}", t.name);
        }
    }

    /// A spec of type `name` that compiles: the type and what it cannot do without.
    fn minimal(name: &str) -> Value {
        let mut spec = match name {
            "contains-any" | "contains-all" | "icontains-any" | "icontains-all" => {
                json!({"value": ["a"]})
            }
            "regex" | "llm-rubric" | "closed-qa" | "g-eval" | "select-best" | "tool-called" => {
                json!({"value": "a"})
            }
            "tool-sequence" => json!({"value": ["a"]}),
            "tool-args" => json!({"path": "$.a"}),
            "max-length" | "min-length" | "word-count" => json!({"value": 3}),
            "json-schema" => json!({"value": {"type": "object"}}),
            "json-path" => json!({"path": "$.a"}),
            "assert-set" | "final-answer" => json!({"assert": [{"type": "is-json"}]}),
            "max-steps" | "max-tool-calls" => json!({"value": 3}),
            "latency" => json!({"threshold": 100}),
            "external" => json!({"command": ["true"]}),
            _ => json!({}),
        };
        spec["type"] = name.into();
        spec
    }

    #[test]
    fn every_type_compiles_to_the_scorer_its_entry_names() {
        for t in TYPES {
            let mut templates = templates();
            let a = compile_in(minimal(t.name), "a", &mut templates)
                .unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert_eq!(a.is_group(), t.scoring() == Scoring::Group, "{}", t.name);
            let vars = minijinja::Value::from(());
            let input = super::super::ScoreInput {
                output: "{}",
                vars: &vars,
                latency_ms: 0.0,
                tool_calls: &[],
                tools: None,
                steps: &[],
            };
            let only_in_a_run = a.evaluate(&input, &templates).scorer_error;
            assert_eq!(only_in_a_run, t.scoring() != Scoring::Sync, "{}", t.name);
            assert_eq!(is_judge(t.name), t.reads.contains(&Grader), "{}", t.name);
        }
    }

    #[test]
    fn an_absent_value_reads_expected_exactly_where_the_entry_says() {
        for t in TYPES {
            let mut spec = minimal(t.name);
            spec.as_object_mut().unwrap().remove("value");
            let mut templates = templates();
            let read = compile_in(spec, "a", &mut templates).map(|a| a.variables(&templates));
            for variable in ["expected", "expected_tools"] {
                let reads = read.as_ref().is_ok_and(|vars| vars.contains(variable));
                assert_eq!(reads, t.value_default == Some(variable), "{}", t.name);
            }
        }
    }

    #[test]
    fn tool_call_types_are_marked_in_the_table() {
        let marked: Vec<&str> = TYPES
            .iter()
            .filter(|t| t.uses_tool_calls)
            .map(|t| t.name)
            .collect();
        assert_eq!(
            marked,
            [
                "tool-called",
                "tool-args",
                "tool-sequence",
                "tool-call-f1",
                "valid-tool-call",
                "no-tool-call"
            ]
        );
        assert!(uses_tool_calls("not-tool-called") && uses_tool_calls("tool-args"));
        assert!(!uses_tool_calls("contains") && !uses_tool_calls("nope"));
    }

    /// A value for each key, as an eval file could write it.
    fn written(key: Key) -> Value {
        match key {
            Key::Threshold => json!(0.5),
            Key::Measure => json!("f"),
            Key::Stem | Key::Trim => json!(true),
            Key::Path => json!("$.a"),
            Key::Args => json!({"a": 1}),
            Key::Match => json!("partial"),
            Key::Call => json!("f"),
            Key::Mode => json!("exact"),
            Key::Step => json!(1),
            Key::Assert => json!([{"type": "is-json"}]),
            Key::Command => json!(["true"]),
            Key::Timeout => json!("1s"),
            Key::Grader | Key::Embedder | Key::Script => json!("x.py"),
            // The text metrics' options.
            Key::Tokenize => json!("intl"),
            Key::SmoothMethod => json!("floor"),
            Key::SmoothValue => json!(0.2),
            Key::Lowercase | Key::Whitespace | Key::EpsSmoothing => json!(true),
            Key::MaxNgramOrder | Key::CharOrder | Key::WordOrder | Key::Beta => json!(2),
            Key::Normalize => json!("squad-v1"),
        }
    }

    #[test]
    fn keys_are_refused_exactly_where_the_entry_does_not_read_them() {
        for t in TYPES {
            for key in Key::ALL {
                let mut spec = json!({"type": t.name});
                spec[key.name()] = written(key);
                let refused = compile_in(spec, "a", &mut templates()).is_err_and(|e| {
                    e.to_string()
                        .contains(&format!("takes no `{}`", key.name()))
                });
                assert_eq!(refused, !t.reads.contains(&key), "{} {key:?}", t.name);
            }
        }
    }

    #[test]
    fn refusals_name_the_types_that_read_each_key() {
        let readers = |key: Key| -> Vec<&str> {
            TYPES
                .iter()
                .filter(|t| t.reads.contains(&key))
                .map(|t| t.name)
                .collect()
        };
        let judges: Vec<&str> = TYPES
            .iter()
            .filter(|t| is_judge(t.name))
            .map(|t| t.name)
            .collect();
        let rouge = [
            "rouge-1",
            "rouge-2",
            "rouge-3",
            "rouge-4",
            "rouge-5",
            "rouge-6",
            "rouge-7",
            "rouge-8",
            "rouge-9",
            "rouge-l",
            "rouge-lsum",
        ];
        assert_eq!(readers(Measure), rouge);
        assert_eq!(readers(Stem), rouge);
        assert_eq!(readers(Path), ["json-path", "tool-args"]);
        assert_eq!(readers(Args), ["tool-called"]);
        assert_eq!(readers(Match), ["tool-called"]);
        assert_eq!(readers(Call), ["tool-args"]);
        assert_eq!(readers(Mode), ["tool-sequence"]);
        assert_eq!(
            readers(Step),
            [
                "tool-called",
                "tool-args",
                "tool-sequence",
                "tool-call-f1",
                "valid-tool-call",
                "no-tool-call"
            ]
        );
        assert_eq!(readers(Assert), ["final-answer", "assert-set"]);
        assert_eq!(readers(Grader), judges);
        assert_eq!(readers(Embedder), ["similar"]);
        assert_eq!(readers(Key::Trim), ["equals"]);
        for key in [Command, Script, Timeout] {
            assert_eq!(readers(key), ["external"]);
        }
        for key in [Tokenize, SmoothMethod, SmoothValue, MaxNgramOrder] {
            assert_eq!(readers(key), ["bleu"]);
        }
        assert_eq!(readers(Lowercase), ["bleu", "chrf"]);
        assert_eq!(readers(Normalize), ["f1", "exact-match"]);
        for key in [CharOrder, WordOrder, Beta, Whitespace, EpsSmoothing] {
            assert_eq!(readers(key), ["chrf"]);
        }
    }

    /// The table of types in `docs/assertions.md`, as the registry has them.
    fn docs_table() -> String {
        let mut out = String::from(
            "| type | `not-` form | without `value` | also reads | scored |\n|---|---|---|---|---|\n",
        );
        for t in TYPES {
            let reads: Vec<String> = t.reads.iter().map(|k| format!("`{}`", k.name())).collect();
            let cells = [
                format!("`{}`", t.name),
                (if t.negatable() { "yes" } else { "no" }).to_string(),
                match t.value_default {
                    Some(variable) => format!("`{{{{ {variable} }}}}`"),
                    None => "—".to_string(),
                },
                if reads.is_empty() {
                    "—".to_string()
                } else {
                    reads.join(", ")
                },
                match t.scoring() {
                    Scoring::Sync => "in process",
                    Scoring::Async => "calls out",
                    Scoring::Group => "calls out, once per row",
                }
                .to_string(),
            ];
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }

    #[test]
    fn the_docs_list_every_type_as_the_registry_has_it() {
        let docs = include_str!("../../docs/assertions.md");
        let table = docs_table();
        assert!(
            docs.contains(&table),
            "docs/assertions.md must hold this table:\n{table}"
        );
    }

    #[test]
    fn judge_variables_come_from_the_judge_entries() {
        assert_eq!(
            judge_variables("llm-rubric"),
            ["output", "rubric", "input", "vars"]
        );
        assert_eq!(
            judge_variables("select-best"),
            ["outputs", "criteria", "vars"]
        );
        assert!(judge_variables("contains").is_empty());
        assert!(is_judge("g-eval") && !is_judge("similar") && !is_judge("not-g-eval"));
    }
}
