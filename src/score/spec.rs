//! The assertion as written: [`AssertionSpec`], the keys of one entry under `assert:`.

use serde::{Deserialize, Serialize};

/// An assertion as written in an eval file or a dataset row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertionSpec {
    /// The type (`contains`, `not-regex`, `levenshtein`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The expected value; strings are templates over the row. When absent, the types
    /// whose registry entry says so (`equals`, `contains`, the text metrics, …; see
    /// `docs/assertions.md`) read the row's `expected`.
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
    /// Which ROUGE figure is the score: `f` (default), `precision` or `recall`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    /// Whether ROUGE stems tokens with the Porter stemmer (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stem: Option<bool>,
    /// `equals`: whether surrounding whitespace is trimmed from both sides first (default
    /// true; `false` compares exactly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trim: Option<bool>,
    /// The JSONPath (RFC 9535) a `json-path` assertion reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A minijinja expression over `output` (and the row's variables) whose value is
    /// scored instead of the output (`output | trim | lower`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// `tool-called`: the arguments the call must have, a mapping; strings in it may be
    /// templates and `{schema: …}` stands for a JSON-Schema fragment the argument must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
    /// `tool-called`: how `args` match, `exact` (default) or `partial` (a subset).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_mode: Option<String>,
    /// `tool-args`: the function whose first call is read (default: the first call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// `tool-sequence`: `exact` (default), `in-order` or `any-order`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The tool-call types: score the calls of this one model call of an agent loop
    /// (counted from 1) instead of every call of the trajectory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// The members of an `assert-set` or a `final-answer`.
    #[serde(default, rename = "assert", skip_serializing_if = "Option::is_none")]
    pub assert: Option<Vec<AssertionSpec>>,
    /// Model-graded types: the provider that judges, overriding the eval's `grader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grader: Option<String>,
    /// `similar`: the provider that computes embeddings, overriding the eval's `embedder`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<String>,
    /// `external`: the scorer's command line (program and arguments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// `external`: a script run by the interpreter its extension names (`.py` → `python3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// `external`: how long one reply may take, e.g. `30s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,

    // The text metrics' options (issue 18), spelled as sacrebleu spells them.
    /// `bleu`: sacrebleu's tokenizer: `13a` (default), `none`, `intl`, `char` or `zh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenize: Option<String>,
    /// `bleu`: `exp` (default), `floor`, `add-k` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smooth_method: Option<String>,
    /// `bleu`: the value of `floor` (default 0.1) and `add-k` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smooth_value: Option<f64>,
    /// `bleu`, `chrf`: compare lowercased texts (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowercase: Option<bool>,
    /// `bleu`: the highest n-gram order (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ngram_order: Option<u32>,
    /// `chrf`: the highest character n-gram order (default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub char_order: Option<u32>,
    /// `chrf`: the highest word n-gram order (default 0; 2 is chrF++).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_order: Option<u32>,
    /// `chrf`: how many times recall weighs more than precision (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<u32>,
    /// `chrf`: keep whitespace in the character n-grams (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whitespace: Option<bool>,
    /// `chrf`: ε smoothing over every order instead of averaging the orders found
    /// (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps_smoothing: Option<bool>,
    /// `f1`, `exact-match`: `squad-v2` (default), `squad-v1` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<String>,
    /// The conversation turn whose reply is scored (`turn: 2`), instead of the final
    /// reply; only for cases that play `turns:` or a simulated user (see `docs/agents.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}
