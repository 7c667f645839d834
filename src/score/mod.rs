//! Scoring: assertion specs compiled once and evaluated on each output (see `docs/assertions.md`).

mod assertion;
pub mod bleu;
pub mod bleu_tok;
mod calls;
mod case;
mod check;
pub mod chrf;
mod embed;
mod error;
mod external;
mod json;
mod json_diff;
mod json_expect;
mod json_path;
mod judge;
mod judge_reply;
mod keys;
mod latency;
mod metric;
mod ngram;
pub mod porter;
mod registry;
mod remote;
pub mod rouge;
mod rouge_lsum;
mod set;
mod similarity;
mod spec;
pub mod squad;
mod stderr_log;
mod text;
mod tok13a;
mod trajectory;
mod transform;
mod value;
mod xml;

#[cfg(test)]
pub(crate) mod testing;

pub use assertion::{Assertion, ScoreInput};
pub use case::{aggregate, score_case, score_output, CaseScore};
pub(crate) use case::{combine, transform_failed};
pub use error::ScoreError;
pub use external::check_command as check_external_command;
pub use external::files as scorer_files;
pub use judge::judge_prompt_name;
pub use registry::{base_kinds, is_judge, judge_variables, kinds, uses_tool_calls};
pub use remote::{
    case_key, score_case_async, score_output_async, Candidate, GraderUsage, ProviderRole,
    ScoreContext, ScoredCase, ScoringSetup,
};
pub use spec::AssertionSpec;
pub use transform::{compile_eval as compile_eval_transform, Transform};
