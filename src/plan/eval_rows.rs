//! The dataset side of one eval: its dataset (loaded once per plan), the rows `--case` and
//! `--limit` select, and every template checked against those rows before any model call.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::dataset::{self, Dataset, Row};
use crate::diagnostic::Location;
use crate::score::{Assertion, Transform};
use crate::template::TemplateSet;

use super::eval::{Builder, Labelled, Shared};
use super::eval_file::EvalFile;
use super::{PlannedPrompt, Rows, SpecError};

impl Builder<'_, '_> {
    /// The dataset, loaded once per plan.
    pub(super) fn dataset(&mut self, file: &EvalFile, shared: &mut Shared) -> Option<Arc<Dataset>> {
        let path = PathBuf::from(&file.dataset);
        if let Some(d) = shared.datasets.get(&path) {
            return Some(d.clone());
        }
        match dataset::load(&self.ctx.project.root, &path) {
            Ok((d, mut w)) => {
                shared.warnings.append(&mut w);
                let d = Arc::new(d);
                shared.datasets.insert(path, d.clone());
                Some(d)
            }
            Err(source) => {
                use crate::dataset::DatasetError as D;
                if matches!(
                    source,
                    D::Missing { .. } | D::Read { .. } | D::UnsupportedFormat { .. }
                ) {
                    // Only errors located inside the dataset say where; these name the eval.
                    let location = self.loc("dataset");
                    let path = file.dataset.clone();
                    self.push(SpecError::Dataset {
                        location,
                        path,
                        source,
                    });
                } else {
                    self.push(source);
                }
                None
            }
        }
    }

    /// The rows `--case` and `--limit` select.
    pub(super) fn rows(&mut self, file: &EvalFile, dataset: &Arc<Dataset>) -> Rows {
        let (case, limit) = (self.ctx.case, self.ctx.selection.limit);
        let rows = if case.is_none() && limit.is_none() {
            Rows::all(dataset.clone())
        } else {
            let keep = |r: &Row| case.is_none_or(|re| re.is_match(&r.id));
            match Rows::filtered(dataset.clone(), keep, limit) {
                Ok(rows) => rows,
                Err(source) => {
                    self.push(source);
                    return Rows::all(dataset.clone());
                }
            }
        };
        if rows.is_empty() {
            self.push(SpecError::NoCases {
                location: Location::file(&self.ctx.display),
                dataset: file.dataset.clone(),
            });
        }
        rows
    }

    /// Every template of the eval must find its variables in every selected row.
    pub(super) fn check_variables(
        &mut self,
        prompts: &[PlannedPrompt],
        assertions: &Labelled,
        transform: Option<&Transform>,
        dataset: &Dataset,
        rows: &Rows,
        templates: &TemplateSet,
    ) {
        let mut needs: Vec<(String, BTreeSet<String>)> = prompts
            .iter()
            .map(|p| {
                let vars = templates.prompt_variables(&p.version);
                (p.version.reference(), vars)
            })
            .collect();
        for (label, a) in assertions {
            needs.push((label.clone(), a.variables(templates)));
        }
        if let Some(t) = transform {
            let label = format!("{} transform", self.ctx.display.display());
            needs.push((label, t.variables().clone()));
        }
        let column_set: BTreeSet<&str> = dataset.columns.iter().map(String::as_str).collect();
        // A variable that is a column but missing from some rows: the first such row,
        // found in one pass over the rows (a large dataset is read from its file).
        let pending: Vec<(&String, &String)> = needs
            .iter()
            .flat_map(|(reference, vars)| vars.iter().map(move |var| (reference, var)))
            .filter(|(_, var)| column_set.contains(var.as_str()))
            .collect();
        let mut lacking: Vec<Option<Arc<Row>>> = vec![None; pending.len()];
        // Every row of a uniform dataset (every CSV) has every column.
        if !pending.is_empty() && !dataset.uniform() {
            for row in rows.iter() {
                let row = match row {
                    Ok(row) => row,
                    Err(source) => return self.push(source),
                };
                for (slot, (_, var)) in lacking.iter_mut().zip(&pending) {
                    if slot.is_none() && !row.vars.contains_key(var.as_str()) {
                        *slot = Some(row.clone());
                    }
                }
            }
        }
        for (reference, vars) in &needs {
            for var in vars {
                let row = if column_set.contains(var.as_str()) {
                    let at = pending
                        .iter()
                        .position(|(r, v)| *r == reference && *v == var);
                    match at.and_then(|i| lacking[i].as_ref()) {
                        Some(row) => Some(row),
                        None => continue,
                    }
                } else {
                    None
                };
                self.push(SpecError::MissingVariable {
                    reference: reference.clone(),
                    variable: var.clone(),
                    dataset: dataset.path.clone(),
                    columns: match row {
                        Some(row) => row.vars.keys().cloned().collect(),
                        None => dataset.columns.clone(),
                    },
                    row: row.map(|row| (row.id.clone(), row.line)),
                });
            }
        }
    }

    /// A row's own assertions must find their variables in that row.
    pub(super) fn check_row_variables(
        &mut self,
        rows: &Rows,
        row_assertions: &[Vec<Assertion>],
        dataset: &Dataset,
        templates: &TemplateSet,
    ) {
        for (row, row_asserts) in rows.iter().zip(row_assertions) {
            let row = match row {
                Ok(row) => row,
                Err(source) => return self.push(source),
            };
            for a in row_asserts {
                for var in a.variables(templates) {
                    if !row.vars.contains_key(&var) {
                        self.push(SpecError::MissingVariable {
                            reference: format!("assertion of case {}", row.id),
                            variable: var,
                            dataset: dataset.path.clone(),
                            columns: row.vars.keys().cloned().collect(),
                            row: Some((row.id.clone(), row.line)),
                        });
                    }
                }
            }
        }
    }

    /// Renders every prompt with every row once: what static checks cannot see (an
    /// unknown filter, a missing nested key) stops here, before any model call.
    pub(super) fn check_render(
        &mut self,
        prompts: &[PlannedPrompt],
        rows: &Rows,
        dataset: &Dataset,
        templates: &TemplateSet,
    ) {
        // One pass over the rows (a large dataset is read from its file); the first row
        // each prompt fails on.
        let mut failed: Vec<Option<(Arc<Row>, crate::template::TemplateError)>> =
            prompts.iter().map(|_| None).collect();
        for row in rows.iter() {
            let row = match row {
                Ok(row) => row,
                Err(source) => return self.push(source),
            };
            let context = row.context();
            for (p, slot) in prompts.iter().zip(failed.iter_mut()) {
                if slot.is_none() {
                    if let Err(e) = templates.render_prompt(&p.version, &context) {
                        *slot = Some((row.clone(), e));
                    }
                }
            }
            if failed.iter().all(Option::is_some) {
                break;
            }
        }
        for (p, slot) in prompts.iter().zip(failed) {
            if let Some((row, source)) = slot {
                self.push(SpecError::RenderFailed {
                    reference: p.version.reference(),
                    dataset: dataset.path.clone(),
                    case: row.id.clone(),
                    line: row.line,
                    source,
                });
            }
        }
    }
}

/// Each row's own assertions with the line of the row they come from. The rows were read
/// for their assertions just before; a row that cannot be read now is only a location
/// the less.
pub(super) fn row_assertion_origins<'a>(
    rows: &'a Rows,
    row_assertions: &'a [Vec<Assertion>],
    data_path: &'a std::path::Path,
) -> impl Iterator<Item = (Location, &'a Assertion)> + 'a {
    row_assertions
        .iter()
        .zip(rows.iter())
        .flat_map(move |(list, row)| {
            let line = row.map_or(0, |row| row.line);
            list.iter()
                .map(move |a| (Location::line(data_path, line), a))
        })
}
