//! The keys only some assertion types read, and the error for one where it is not read.

use super::value::Compiler;
use super::{calls, json_path, set, AssertionSpec, ScoreError};

/// A key of an assertion that only the types listing it in their registry entry read.
///
/// `value`, `weight`, `metric` and `transform` are read by every type and are not keys
/// here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    /// `measure`: which ROUGE figure is the score.
    Measure,
    /// `stem`: whether ROUGE stems tokens.
    Stem,
    /// `path`: the JSONPath of `json-path` and `tool-args`.
    Path,
    /// `args`: the arguments `tool-called` expects.
    Args,
    /// `match`: how `tool-called` matches `args`.
    Match,
    /// `call`: the function whose call `tool-args` reads.
    Call,
    /// `mode`: how `tool-sequence` compares the names.
    Mode,
    /// `assert`: the members of `assert-set`.
    Assert,
    /// `grader`: the judge of a model-graded type.
    Grader,
    /// `embedder`: the embeddings provider of `similar`.
    Embedder,
    /// `command`: an external scorer's command line.
    Command,
    /// `script`: an external scorer's script.
    Script,
    /// `timeout`: how long an external scorer's reply may take.
    Timeout,
    /// `threshold`: the pass mark (or limit) of the types that have one.
    Threshold,
    /// `trim`: whether `equals` trims whitespace first.
    Trim,
}

impl Key {
    /// Every key, in the order a spec is checked for them: the first one written where it
    /// is not read is the one reported.
    pub(crate) const ALL: [Key; 15] = [
        Key::Measure,
        Key::Stem,
        Key::Path,
        Key::Args,
        Key::Match,
        Key::Call,
        Key::Mode,
        Key::Assert,
        Key::Grader,
        Key::Embedder,
        Key::Command,
        Key::Script,
        Key::Timeout,
        Key::Threshold,
        Key::Trim,
    ];

    /// The key as written in an eval file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Key::Measure => "measure",
            Key::Stem => "stem",
            Key::Path => "path",
            Key::Args => "args",
            Key::Match => "match",
            Key::Call => "call",
            Key::Mode => "mode",
            Key::Assert => "assert",
            Key::Grader => "grader",
            Key::Embedder => "embedder",
            Key::Command => "command",
            Key::Script => "script",
            Key::Timeout => "timeout",
            Key::Threshold => "threshold",
            Key::Trim => "trim",
        }
    }

    /// Whether `spec` sets this key.
    fn is_written(self, spec: &AssertionSpec) -> bool {
        match self {
            Key::Measure => spec.measure.is_some(),
            Key::Stem => spec.stem.is_some(),
            Key::Path => spec.path.is_some(),
            Key::Args => spec.args.is_some(),
            Key::Match => spec.match_mode.is_some(),
            Key::Call => spec.call.is_some(),
            Key::Mode => spec.mode.is_some(),
            Key::Assert => spec.assert.is_some(),
            Key::Grader => spec.grader.is_some(),
            Key::Embedder => spec.embedder.is_some(),
            Key::Command => spec.command.is_some(),
            Key::Script => spec.script.is_some(),
            Key::Timeout => spec.timeout.is_some(),
            Key::Threshold => spec.threshold.is_some(),
            Key::Trim => spec.trim.is_some(),
        }
    }

    /// What the error says about the key and the example it shows; the types named must
    /// be the ones whose registry entries read the key (a unit test holds them to it).
    fn refusal(self, c: &Compiler<'_>) -> (String, &'static str) {
        let name = self.name();
        let external = |example| {
            (
                format!("takes no `{name}` (only `external` reads it)"),
                example,
            )
        };
        match self {
            Key::Measure | Key::Stem => (
                format!("takes no `{name}` (only rouge-1, rouge-2 and rouge-l do)"),
                "{type: rouge-l, measure: recall, stem: true}",
            ),
            Key::Path => (
                "takes no `path` (only `json-path` and `tool-args` read one)".into(),
                json_path::EXAMPLE,
            ),
            Key::Args | Key::Match => (
                format!("takes no `{name}` (only `tool-called` reads it)"),
                calls::called::EXAMPLE,
            ),
            Key::Call => (
                "takes no `call` (only `tool-args` reads it)".into(),
                calls::args::EXAMPLE,
            ),
            Key::Mode => (
                "takes no `mode` (only `tool-sequence` reads it)".into(),
                calls::sequence::EXAMPLE,
            ),
            Key::Assert => (
                "takes no `assert` list (only `assert-set` groups assertions)".into(),
                set::EXAMPLE,
            ),
            Key::Grader => (
                "takes no `grader` (only model-graded types such as llm-rubric reads it)".into(),
                "{type: llm-rubric, value: \"polite\", grader: gpt}",
            ),
            Key::Embedder => (
                "takes no `embedder` (only `similar` reads it)".into(),
                "{type: similar, embedder: embed}",
            ),
            Key::Command => external("{type: external, command: [python3, scorers/my.py]}"),
            Key::Script => external("{type: external, script: scorers/my.py}"),
            Key::Timeout => external("{type: external, script: scorers/my.py, timeout: 10s}"),
            Key::Threshold => ("takes no `threshold`".into(), c.kind.example),
            Key::Trim => (
                "takes no `trim` (only `equals` reads it)".into(),
                "{type: equals, value: \"Paris\", trim: false}",
            ),
        }
    }
}

/// Fails on the first key of [`Key::ALL`] that the spec writes and its type does not read.
pub(crate) fn refuse_unread(c: &Compiler<'_>) -> Result<(), ScoreError> {
    match Key::ALL
        .into_iter()
        .find(|key| key.is_written(c.spec) && !c.kind.reads.contains(key))
    {
        Some(key) => {
            let (message, example) = key.refusal(c);
            Err(c.invalid(message, example))
        }
        None => Ok(()),
    }
}
