//! `plan.json`: what `--resume` needs to rebuild a run's plan and check it is unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::Selection;

/// The version of the plan file format.
pub const PLAN_VERSION: u32 = 1;

/// `plan.json`: what `--resume` needs to rebuild a run's plan and to check it is the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanFile {
    /// [`PLAN_VERSION`].
    pub version: u32,
    /// The selection the run was made with.
    pub selection: Selection,
    /// `sha256:<hex>` of each eval file, by eval name.
    pub eval_hashes: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `plan.json` as an older prompteval wrote it (`run --model echo --case '^[a-z]'
    /// --limit 2`): it must still read, and a new run must write the same bytes.
    const OLD_PLAN_FILE: &str = r#"{
  "version": 1,
  "selection": {
    "evals": [],
    "prompts": [],
    "models": [
      "echo"
    ],
    "case": "^[a-z]",
    "limit": 2,
    "repeat": null
  },
  "eval_hashes": {
    "greeting": "sha256:b087cfc0e563c27b667718b31e8a479154ee8d949ff7c6fc9dc7823d92f7be6c"
  }
}"#;

    #[test]
    fn plan_files_keep_their_bytes() {
        let file: PlanFile = serde_json::from_str(OLD_PLAN_FILE).unwrap();
        assert_eq!(
            file.selection,
            Selection {
                models: vec!["echo".into()],
                case: Some("^[a-z]".into()),
                limit: Some(2),
                ..Selection::default()
            }
        );
        assert_eq!(serde_json::to_string_pretty(&file).unwrap(), OLD_PLAN_FILE);
    }
}
