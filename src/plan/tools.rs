//! The tools of each cell: a version's own set, shared by all its rows, and a set of its own
//! for every row that adds tools (`tools` in the dataset).

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::dataset::Dataset;
use crate::diagnostic::{Location, Warning};
use crate::registry::{with_row_tools, Registry};
use crate::tools::ToolSet;

use super::{EvalPlan, PlannedPrompt, SpecError};

/// The row variable naming the tools a case should call.
pub(crate) const EXPECTED_TOOLS: &str = "expected_tools";

/// Per selected row (same index as the rows): `None` when the row adds no tools, else the
/// set of each prompt (same index as the prompts) with the row's tools added.
pub(crate) type RowTools = Vec<Option<Vec<Arc<ToolSet>>>>;

/// Resolves every row's `tools` onto every prompt's: a shared name that does not exist, a
/// bad definition or a name the version already has is an error naming the row.
pub(super) fn row_tools(
    prompts: &[PlannedPrompt],
    rows: &super::Rows,
    dataset: &Dataset,
    registry: &Registry,
) -> Result<RowTools, Vec<crate::plan::PlanError>> {
    let mut errors = Vec::new();
    // No row adds tools (no CSV row can): a large dataset is not read again for them.
    if dataset.plain() {
        return Ok(Vec::new());
    }
    let mut all = Vec::with_capacity(rows.len());
    let mut failed = None;
    for row in rows.readable(&mut failed) {
        if row.tools().is_empty() {
            all.push(None);
            continue;
        }
        let mut sets = Vec::with_capacity(prompts.len());
        for p in prompts {
            let case = format!("case {}", row.id);
            match with_row_tools(
                &p.version.tools,
                row.tools(),
                &case,
                registry.shared_tools(),
            ) {
                Ok(set) => sets.push(Arc::new(set)),
                Err(problem) => {
                    errors.push(crate::plan::PlanError::from(SpecError::RowTools {
                        location: Location::line(&dataset.path, row.line),
                        case: row.id.clone(),
                        reference: p.version.reference(),
                        problem: Box::new(problem),
                    }));
                    break;
                }
            }
        }
        all.push(Some(sets));
    }
    errors.extend(failed.map(crate::plan::PlanError::from));
    // No row adds tools (the common case): nothing per row is kept.
    if all.iter().all(Option::is_none) {
        all = Vec::new();
    }
    if errors.is_empty() {
        Ok(all)
    } else {
        Err(errors)
    }
}

/// Warnings for names in a row's `expected_tools` (a list of names) that no prompt of the
/// eval offers to that row: such a call can never be made, so the case can never pass.
/// Evals whose prompts and rows offer no tools at all are left alone (a dataset may serve
/// text-only evals too).
pub(super) fn expected_tools_warnings(
    prompts: &[PlannedPrompt],
    rows: &super::Rows,
    row_tools: &RowTools,
    dataset: &Dataset,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    // A dataset without the column is not read again for it (it may be large).
    if !dataset.columns.iter().any(|c| c == EXPECTED_TOOLS) {
        return warnings;
    }
    // A row that cannot be read again is an error of the plan's other passes.
    let mut failed = None;
    for (i, row) in rows.readable(&mut failed).enumerate() {
        let Some(serde_json::Value::Array(expected)) = row.vars.get(EXPECTED_TOOLS) else {
            continue;
        };
        let sets: Vec<&ToolSet> = match row_tools.get(i).and_then(Option::as_ref) {
            Some(sets) => sets.iter().map(|s| &**s).collect(),
            None => prompts.iter().map(|p| &*p.version.tools).collect(),
        };
        let offered: BTreeSet<&str> = sets
            .iter()
            .flat_map(|s| s.tools.iter().map(|t| t.name.as_str()))
            .collect();
        // A server's tools are known once the run lists them.
        let listing = prompts.iter().any(|p| !p.version.tools.servers.is_empty());
        if offered.is_empty() || listing {
            continue;
        }
        for name in expected.iter().filter_map(serde_json::Value::as_str) {
            if offered.contains(name) {
                continue;
            }
            let known: Vec<&str> = offered.iter().copied().collect();
            let hint = match crate::diagnostic::suggest(name, &known) {
                Some(near) => format!(" (did you mean `{near}`?)"),
                None => String::new(),
            };
            warnings.push(Warning {
                location: Location::line(&dataset.path, row.line),
                message: format!(
                    "case {}: `{EXPECTED_TOOLS}` names `{name}`, which no prompt of the eval offers{hint}; offered: {}",
                    row.id,
                    known.join(", ")
                ),
            });
        }
    }
    warnings
}

impl EvalPlan {
    /// The tools of the cell of `prompt` and `row` (indexes into `prompts` and `rows`):
    /// the row's own set when it adds tools, else the version's; `None` when the cell
    /// offers none, so the request goes out as it did before tools existed.
    pub fn tool_set(&self, prompt: usize, row: usize) -> Option<&Arc<ToolSet>> {
        let set = match self.row_tools.get(row).and_then(Option::as_ref) {
            Some(sets) => sets.get(prompt)?,
            None => &self.prompts.get(prompt)?.version.tools,
        };
        (!set.is_empty()).then_some(set)
    }

    /// Whether any of the eval's prompt versions declares a tool (rows' tools not counted;
    /// see [`EvalPlan::rows_bring_tools`]).
    pub fn declares_tools(&self) -> bool {
        self.prompts.iter().any(|p| !p.version.tools.is_empty())
    }

    /// Whether any of the eval's prompt versions offers the tools an MCP server lists
    /// (`tools: [{mcp: NAME}]`), which are known once the run has started the server.
    pub fn lists_tools(&self) -> bool {
        self.prompts
            .iter()
            .any(|p| !p.version.tools.servers.is_empty())
    }

    /// Whether any selected row adds tools of its own.
    pub fn rows_bring_tools(&self) -> bool {
        self.row_tools.iter().any(Option::is_some)
    }
}
