//! `runs show ID --case PATTERN [--prompt REF] [--model M]`: the matching cells of a
//! stored run, each in full, with its prompt rendered again from the registry.

use std::collections::BTreeSet;
use std::io::Write;

use crate::cli::diagnostics::Exit;
use crate::config::project::Project;
use crate::registry::{PromptRef, Registry};
use crate::report::{write_cell, CellContext, PromptView};
use crate::run::events::CellResult;
use crate::store::{ResultSource, StoredRun};
use crate::template::message::RenderedPrompt;
use crate::template::TemplateSet;

/// Which cells to show.
pub(crate) struct CellFilter<'a> {
    /// A regular expression on case ids.
    pub case: &'a str,
    /// A prompt reference (`name@3`, `name@alias`) or a prompt name.
    pub prompt: Option<&'a str>,
    /// A model name.
    pub model: Option<&'a str>,
}

/// Prints every cell of `run` that `filter` selects, each in full.
pub(crate) fn show_cells(project: &Project, run: &StoredRun, filter: &CellFilter<'_>) -> Exit {
    let pattern = match regex::Regex::new(filter.case) {
        Ok(p) => p,
        Err(e) => {
            errln!(
                "error: --case {:?} is not a regular expression: {e}",
                filter.case
            );
            return Exit::Input;
        }
    };
    let registry = Registry::load(&project.root).ok().map(|(r, _)| r);
    let prompt = filter.prompt.map(|p| prompt_matcher(p, registry.as_ref()));
    let results = match run.results() {
        Ok(r) => r,
        Err(e) => {
            errln!(
                "error: cannot read the results of run {}: {e}",
                run.record.run_id
            );
            return Exit::Runtime;
        }
    };
    let mut cases = BTreeSet::new();
    let mut shown = 0;
    let mut out = crate::cli::output::stdout();
    for cell in results.flatten() {
        cases.insert(cell.case_id.clone());
        let selected = pattern.is_match(&cell.case_id)
            && prompt.as_ref().is_none_or(|p| p.matches(&cell.prompt))
            && filter.model.is_none_or(|m| m == cell.model);
        if !selected {
            continue;
        }
        if shown > 0 {
            let _ = writeln!(out, "\n{}\n", "─".repeat(40));
        }
        shown += 1;
        let context = context(run, registry.as_ref(), &cell);
        if write_cell(&cell, &context, &mut out).is_err() {
            return Exit::Success;
        }
    }
    if shown == 0 {
        no_match(run, filter, &cases);
        return Exit::Input;
    }
    Exit::Success
}

/// Says that nothing matched, with the nearest case id when there is one.
fn no_match(run: &StoredRun, filter: &CellFilter<'_>, cases: &BTreeSet<String>) {
    let mut what = format!("--case {:?}", filter.case);
    if let Some(p) = filter.prompt {
        what.push_str(&format!(" --prompt {p}"));
    }
    if let Some(m) = filter.model {
        what.push_str(&format!(" --model {m}"));
    }
    errln!("error: no cell of run {} matches {what}", run.record.run_id);
    let ids: Vec<&str> = cases.iter().map(String::as_str).collect();
    if let Some(near) = crate::diagnostic::suggest(filter.case, &ids) {
        errln!("hint: did you mean --case '^{}$'?", regex::escape(near));
    } else if !ids.is_empty() {
        let some: Vec<&str> = ids.iter().take(10).copied().collect();
        errln!(
            "hint: its cases are {}{}",
            some.join(", "),
            if ids.len() > 10 { ", …" } else { "" }
        );
    }
}

/// What `--prompt` matches: a reference as written or resolved, or any version of a name.
struct PromptMatcher {
    references: Vec<String>,
    name: Option<String>,
}

impl PromptMatcher {
    fn matches(&self, reference: &str) -> bool {
        self.references.iter().any(|r| r == reference)
            || self
                .name
                .as_ref()
                .is_some_and(|n| reference.split('@').next() == Some(n.as_str()))
    }
}

fn prompt_matcher(given: &str, registry: Option<&Registry>) -> PromptMatcher {
    if !given.contains('@') {
        return PromptMatcher {
            references: Vec::new(),
            name: Some(given.to_string()),
        };
    }
    let mut references = vec![given.to_string()];
    let resolved = given
        .parse::<PromptRef>()
        .ok()
        .and_then(|r| registry?.resolve(&r).ok().map(|v| v.reference()));
    references.extend(resolved);
    PromptMatcher {
        references,
        name: None,
    }
}

/// The cell's prompt rendered again, and a note when the version changed since the run.
fn context(run: &StoredRun, registry: Option<&Registry>, cell: &CellResult) -> CellContext {
    let unavailable = |why: String| CellContext {
        prompt: PromptView::Unavailable(why),
        note: None,
    };
    let Some(registry) = registry else {
        return unavailable("the prompt registry could not be loaded".into());
    };
    let Some(version) = cell
        .prompt
        .parse::<PromptRef>()
        .ok()
        .and_then(|r| registry.resolve(&r).ok())
    else {
        return unavailable(format!("{} is no longer in prompts/", cell.prompt));
    };
    let stored_hash = run
        .record
        .evals
        .iter()
        .filter(|e| e.name == cell.eval)
        .flat_map(|e| &e.prompts)
        .find(|p| p.reference == cell.prompt)
        .map(|p| p.hash.as_str());
    let note = match stored_hash {
        Some(hash) if hash != version.hash => Some(format!(
            "rendered from today's {}, which changed since the run",
            version.path.display()
        )),
        _ => Some(format!("rendered from {}", version.path.display())),
    };
    let rendered = TemplateSet::new(registry.partials()).and_then(|mut t| {
        t.add_prompt(version)?;
        t.render_prompt(version, &minijinja::Value::from_serialize(&*cell.vars))
    });
    let prompt = match rendered {
        Ok(RenderedPrompt::Text(text)) => PromptView::Text(text),
        Ok(RenderedPrompt::Chat(messages)) => PromptView::Messages(
            messages
                .into_iter()
                .map(|m| (m.role.as_str().to_string(), m.content))
                .collect(),
        ),
        Err(e) => PromptView::Unavailable(format!("it does not render now: {e}")),
    };
    CellContext { prompt, note }
}
