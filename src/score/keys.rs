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
    /// `step`: the one model call of a trajectory a tool-call type reads.
    Step,
    /// `assert`: the members of `assert-set` and `final-answer`.
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

    // The text metrics' options (issue 18).
    /// `tokenize`: BLEU's tokenizer.
    Tokenize,
    /// `smooth_method`: BLEU's smoothing.
    SmoothMethod,
    /// `smooth_value`: the value of BLEU's `floor` and `add-k` smoothing.
    SmoothValue,
    /// `lowercase`: whether BLEU and chrF compare lowercased texts.
    Lowercase,
    /// `max_ngram_order`: BLEU's highest n-gram order.
    MaxNgramOrder,
    /// `char_order`: chrF's highest character n-gram order.
    CharOrder,
    /// `word_order`: chrF's highest word n-gram order.
    WordOrder,
    /// `beta`: chrF's weight of recall.
    Beta,
    /// `whitespace`: whether chrF keeps whitespace.
    Whitespace,
    /// `eps_smoothing`: chrF's ε smoothing.
    EpsSmoothing,
    /// `normalize`: the answer normalisation of `f1` and `exact-match`.
    Normalize,
}

impl Key {
    /// Every key, in the order a spec is checked for them: the first one written where it
    /// is not read is the one reported.
    pub(crate) const ALL: [Key; 27] = [
        Key::Measure,
        Key::Stem,
        Key::Path,
        Key::Args,
        Key::Match,
        Key::Call,
        Key::Mode,
        Key::Step,
        Key::Assert,
        Key::Grader,
        Key::Embedder,
        Key::Command,
        Key::Script,
        Key::Timeout,
        Key::Threshold,
        Key::Trim,
        // The text metrics' options.
        Key::Tokenize,
        Key::SmoothMethod,
        Key::SmoothValue,
        Key::Lowercase,
        Key::MaxNgramOrder,
        Key::CharOrder,
        Key::WordOrder,
        Key::Beta,
        Key::Whitespace,
        Key::EpsSmoothing,
        Key::Normalize,
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
            Key::Step => "step",
            Key::Assert => "assert",
            Key::Grader => "grader",
            Key::Embedder => "embedder",
            Key::Command => "command",
            Key::Script => "script",
            Key::Timeout => "timeout",
            Key::Threshold => "threshold",
            Key::Trim => "trim",
            // The text metrics' options.
            Key::Tokenize => "tokenize",
            Key::SmoothMethod => "smooth_method",
            Key::SmoothValue => "smooth_value",
            Key::Lowercase => "lowercase",
            Key::MaxNgramOrder => "max_ngram_order",
            Key::CharOrder => "char_order",
            Key::WordOrder => "word_order",
            Key::Beta => "beta",
            Key::Whitespace => "whitespace",
            Key::EpsSmoothing => "eps_smoothing",
            Key::Normalize => "normalize",
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
            Key::Step => spec.step.is_some(),
            Key::Assert => spec.assert.is_some(),
            Key::Grader => spec.grader.is_some(),
            Key::Embedder => spec.embedder.is_some(),
            Key::Command => spec.command.is_some(),
            Key::Script => spec.script.is_some(),
            Key::Timeout => spec.timeout.is_some(),
            Key::Threshold => spec.threshold.is_some(),
            Key::Trim => spec.trim.is_some(),
            // The text metrics' options.
            Key::Tokenize => spec.tokenize.is_some(),
            Key::SmoothMethod => spec.smooth_method.is_some(),
            Key::SmoothValue => spec.smooth_value.is_some(),
            Key::Lowercase => spec.lowercase.is_some(),
            Key::MaxNgramOrder => spec.max_ngram_order.is_some(),
            Key::CharOrder => spec.char_order.is_some(),
            Key::WordOrder => spec.word_order.is_some(),
            Key::Beta => spec.beta.is_some(),
            Key::Whitespace => spec.whitespace.is_some(),
            Key::EpsSmoothing => spec.eps_smoothing.is_some(),
            Key::Normalize => spec.normalize.is_some(),
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
                format!("takes no `{name}` (only the `rouge-*` types read it)"),
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
            Key::Step => (
                "takes no `step` (only the tool-call types read it: `tool-called`, `tool-args`, `tool-sequence`, `tool-call-f1`, `valid-tool-call`, `no-tool-call`)".into(),
                calls::trajectory::EXAMPLE,
            ),
            Key::Assert => (
                "takes no `assert` list (only `assert-set` and `final-answer` group assertions)"
                    .into(),
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
            // The text metrics' options.
            Key::Tokenize | Key::SmoothMethod | Key::SmoothValue | Key::MaxNgramOrder => (
                format!("takes no `{name}` (only `bleu` reads it)"),
                "{type: bleu, tokenize: intl, smooth_method: floor, max_ngram_order: 4}",
            ),
            Key::Lowercase => (
                "takes no `lowercase` (only `bleu` and `chrf` read it)".into(),
                "{type: chrf, lowercase: true}",
            ),
            Key::CharOrder | Key::WordOrder | Key::Beta | Key::Whitespace | Key::EpsSmoothing => (
                format!("takes no `{name}` (only `chrf` reads it)"),
                "{type: chrf, word_order: 2, beta: 2}",
            ),
            Key::Normalize => (
                "takes no `normalize` (only `f1` and `exact-match` read it)".into(),
                "{type: f1, normalize: squad-v1}",
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
