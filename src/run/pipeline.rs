//! The run pipeline as a library value: a [`RunRequest`] in, notices and an [`Outcome`] out.

use std::future::Future;
use std::sync::Arc;

use crate::analysis::baseline::{self, Baseline, BaselineError, BaselineRef};
use crate::config::project::Project;
use crate::diagnostic::{Diagnostic, ExitClass, Warning};
use crate::plan::changed::{self, ChangedError};
use crate::plan::PlanError as Error;
use crate::plan::{self, Plan, Selection};
use crate::provider::cache::{CacheError, CacheMode};
use crate::provider::{self, CacheCounters};
use crate::registry::Registry;
use crate::run::events::RunSink;
use crate::run::outcome::{CacheUse, Finished, Notice, Outcome};
use crate::run::request::{RequestError, RunRequest};
use crate::run::resume::{self, ResumeError};
use crate::run::session::{self, Resume, SessionError, SessionOptions};
use crate::store::{RunSettings, Store};

/// Why the pipeline stopped. Everything but [`PipelineError::Session`] is found before
/// any model is called.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A flag's value cannot be used.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The project, its prompts, datasets or evals (one or many problems).
    #[error(transparent)]
    Plan(#[from] Error),
    /// The cache settings.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The run to resume.
    #[error(transparent)]
    Resume(#[from] ResumeError),
    /// `--changed-since` could not tell what changed.
    #[error(transparent)]
    Changed(#[from] ChangedError),
    /// The baseline cannot be found or read.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The run started but could not finish.
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl Diagnostic for PipelineError {
    fn hint(&self) -> Option<String> {
        match self {
            PipelineError::Request(e) => e.hint(),
            PipelineError::Plan(e) => e.hint(),
            PipelineError::Cache(e) => e.hint(),
            PipelineError::Resume(e) => e.hint(),
            PipelineError::Changed(e) => e.hint(),
            PipelineError::Baseline(e) => e.hint(),
            PipelineError::Session(e) => e.hint(),
        }
    }

    /// Invalid input, unless the run itself failed (or the plan says otherwise: a store
    /// that cannot be read).
    fn exit_class(&self) -> ExitClass {
        match self {
            PipelineError::Plan(e) => e.exit_class(),
            PipelineError::Session(e) => e.exit_class(),
            PipelineError::Request(_)
            | PipelineError::Cache(_)
            | PipelineError::Resume(_)
            | PipelineError::Changed(_)
            | PipelineError::Baseline(_) => ExitClass::Input,
        }
    }

    fn problems(&self) -> Option<Vec<&dyn Diagnostic>> {
        match self {
            PipelineError::Plan(e) => e.problems(),
            _ => None,
        }
    }
}

/// A validated plan, ready to run: nothing has been sent to any model yet.
pub struct Prepared<'p> {
    project: &'p Project,
    registry: Registry,
    request: RunRequest,
    selection: Selection,
    plan: Plan,
    warnings: Vec<Warning>,
    resuming: Option<Resume>,
    cache: CacheUse,
}

/// Resolves the cache settings, finds the run to resume (its selection replaces the
/// request's), builds and validates the plan, wraps its providers in the response cache,
/// and checks that a resumed run's plan is unchanged.
pub fn prepare(
    project: &Project,
    registry: Registry,
    request: RunRequest,
) -> Result<Prepared<'_>, PipelineError> {
    let cache = request.cache(project)?;
    let store = Store::new(project.store_dir());
    let stored = match (&request.resume, &request.retry_errors) {
        (Some(target), _) => Some((resume::find_run(&store, target.id())?, false)),
        (None, Some(target)) => Some((resume::find_any(&store, target.id())?, true)),
        (None, None) => None,
    };
    let stored = match stored {
        None => None,
        Some((run, retry)) => {
            let file = resume::read_plan_file(&run)?;
            Some((run, file, retry))
        }
    };
    let selection = match &stored {
        Some((_, file, _)) => file.selection.clone(),
        None => request.selection.clone(),
    };
    let build: &plan::BuildProvider = if cache.mode == CacheMode::Offline {
        &provider::build_offline
    } else {
        &provider::build
    };
    let (mut plan, warnings) = plan::plan_with(project, &registry, &selection, build)?;
    let counters: Arc<CacheCounters> =
        provider::wrap_providers(&mut plan.providers, &plan.provider_configs, &cache);
    let resuming = match stored {
        None => None,
        Some((run, file, retry)) => {
            resume::check(&project.root, &run, &file, &plan)?;
            let mut done = resume::finished_cells(&run)?;
            if retry {
                done = resume::without_errors(&run, done)?;
            }
            Some(Resume {
                run,
                done,
                rewrite: retry,
            })
        }
    };
    Ok(Prepared {
        project,
        registry,
        request,
        selection,
        plan,
        warnings,
        resuming,
        cache: CacheUse {
            dir: cache.dir,
            counters,
        },
    })
}

impl Prepared<'_> {
    /// What the project's files should say differently (unknown keys, say).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The validated plan (`watch` reads which files its evals depend on).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// What the plan left out, and why (evals without the `--prompt` given).
    pub fn notes(&self) -> &[String] {
        &self.plan.notes
    }

    /// Narrows the plan to what changed (`--changed-since`), resolves the baseline, and
    /// runs: the session stores every cell, compares with the baseline and decides the
    /// gate. Notices reach `notices` as they happen; `sinks` see every run event. Call it
    /// from the future given to `block_on` (see [`session::run`]).
    pub async fn run(
        self,
        notices: &mut dyn FnMut(Notice<'_>),
        sinks: &mut [&mut dyn RunSink],
        cancel: impl Future<Output = ()>,
    ) -> Result<Outcome, PipelineError> {
        let Prepared {
            project,
            registry,
            request,
            selection,
            mut plan,
            resuming,
            cache,
            ..
        } = self;
        if let Some(rev) = &request.changed_since {
            let changes = changed::changed_evals(project, &registry, &plan, rev)?;
            for change in &changes {
                notices(Notice::Change { rev, change });
            }
            let keep: Vec<String> = changes
                .iter()
                .filter(|c| c.changed())
                .map(|c| c.eval.clone())
                .collect();
            if keep.is_empty() {
                return Ok(Outcome::NothingChanged {
                    rev: rev.clone(),
                    skipped: changes.len(),
                });
            }
            changed::restrict(&mut plan, &keep);
        }
        let production = registry
            .prompts()
            .filter_map(|p| Some((p.name.clone(), *p.meta.aliases.get("production")?)))
            .collect();
        drop(registry);
        let mut baseline = resolve_baseline(project, &request, &plan, notices)?;
        if let Some(found) = &mut baseline {
            found.production = production;
        }
        let concurrency = request.concurrency(project);
        let settings = match &resuming {
            Some(r) => RunSettings {
                concurrency,
                ..r.run.record.settings.clone()
            },
            None => request.settings(concurrency),
        };
        if let Some(r) = &resuming {
            let (run_id, finished, total) =
                (&r.run.record.run_id, r.done.len(), plan.total_cells());
            notices(match r.rewrite {
                false => Notice::Resuming {
                    run_id,
                    finished,
                    total,
                },
                true => Notice::Retrying {
                    run_id,
                    kept: finished,
                    total,
                },
            });
        }
        let options = SessionOptions {
            settings,
            selection,
            baseline: baseline.as_ref(),
            gate: request.gate,
            replay: None,
        };
        let result = session::run(project, plan, &options, resuming, sinks, cancel).await?;
        Ok(Outcome::Ran(Box::new(Finished {
            run: result.run,
            interrupted: result.outcome.interrupted,
            comparison: result.comparison.map(Arc::new),
            cache,
        })))
    }
}

/// Finds and loads `--baseline` among the runs of the planned evals, before the new run
/// is stored (so `latest` is the run before it).
fn resolve_baseline(
    project: &Project,
    request: &RunRequest,
    plan: &Plan,
    notices: &mut dyn FnMut(Notice<'_>),
) -> Result<Option<Baseline>, PipelineError> {
    let Some(reference) = request.baseline_ref(&project.root) else {
        return Ok(None);
    };
    let evals: Vec<String> = plan.evals.iter().map(|e| e.name.clone()).collect();
    let store = Store::new(project.store_dir());
    let found = match baseline::resolve(&store, &project.root, &reference, &evals) {
        // `latest` on day one is no mistake: a CI script that always passes it must work
        // from its first run, which then has nothing to compare with.
        Err(BaselineError::NoRun { skipped, .. }) if reference == BaselineRef::Latest => {
            notices(Notice::NoBaseline {
                evals: &evals,
                unfinished: skipped,
            });
            return Ok(None);
        }
        other => other?,
    };
    notices(Notice::Baseline {
        run_id: &found.record.run_id,
        reference: &reference,
        status: found.record.status,
        passed_over: found.passed_over,
    });
    Ok(Some(found))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::analysis::baseline::BaselineRef;
    use crate::gate::GateOverrides;
    use crate::run::Verdict;
    use crate::store::{read_comparison, read_record};

    /// A project whose eval runs `greet@production` on echo: version 1 passes 2 of 3
    /// cases, version 2 all 3.
    fn project(dir: &Path, production: u32) -> Project {
        let write = |path: &str, text: &str| crate::test_files::write(dir, path, text);
        write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
        write(
            "prompts/greet/prompt.yaml",
            &format!("description: greet\naliases:\n  production: {production}\n"),
        );
        write("prompts/greet/v1.jinja", "Hello {{ name }}!\n");
        write(
            "prompts/greet/v2.jinja",
            "Hi {{ name }}, welcome to {{ city }}.\n",
        );
        write(
            "datasets/people.csv",
            "id,name,city,expected\na,Ada,Paris,Ada\nb,Bob,Oslo,Bob\nc,Cy,Rome,Rome\n",
        );
        write(
            "evals/greet.yaml",
            "prompts: [greet@production]\nmodels: [echo]\ndataset: datasets/people.csv\nassert:\n  - type: contains\n    value: \"{{ expected }}\"\ngate:\n  min_pass_rate: 0.5\n",
        );
        Project::discover(dir).unwrap().0
    }

    fn run(project: &Project, request: RunRequest) -> (Outcome, Vec<String>) {
        let registry = Registry::load(&project.root).unwrap().0;
        let prepared = prepare(project, registry, request).unwrap();
        let mut heard = Vec::new();
        let mut notices = |n: Notice<'_>| heard.push(format!("{n:?}"));
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let outcome = runtime
            .block_on(prepared.run(&mut notices, &mut [], std::future::pending()))
            .unwrap();
        (outcome, heard)
    }

    #[test]
    fn a_baseline_is_judged_with_the_thresholds_and_stored_once_with_the_verdict() {
        let dir = tempfile::tempdir().unwrap();
        let first = match run(&project(dir.path(), 2), RunRequest::default()).0 {
            Outcome::Ran(f) => f,
            other => panic!("{other:?}"),
        };
        assert_eq!(first.verdict(), Verdict::Passed);

        let project = project(dir.path(), 1);
        let request = RunRequest {
            baseline: Some("latest".into()),
            gate: GateOverrides {
                max_regression: Some(0.1),
                ..GateOverrides::default()
            },
            ..RunRequest::default()
        };
        let (outcome, heard) = run(&project, request);
        let Outcome::Ran(second) = outcome else {
            panic!("{outcome:?}")
        };
        let baseline = Notice::Baseline {
            run_id: &first.run.record.run_id,
            reference: &BaselineRef::Latest,
            status: crate::store::RunStatus::Finished,
            passed_over: 0,
        };
        assert_eq!(heard, [format!("{baseline:?}")]);
        // The thresholds hold (2 of 3 ≥ 50%); the regression rule fails the gate.
        assert_eq!(second.verdict(), Verdict::GateFailed);
        let gate = second.run.record.gate.as_ref().unwrap();
        let rules: Vec<&str> = gate.checks.iter().map(|c| c.rule.as_str()).collect();
        assert_eq!(rules, ["min_pass_rate", "max_regression"]);
        // run.json holds the final verdict, comparison.json the comparison returned.
        let stored = read_record(&second.run.dir.join(crate::store::RECORD_FILE)).unwrap();
        assert_eq!(stored, second.run.record);
        let comparison = read_comparison(&second.run.dir).unwrap();
        assert_eq!(Some(&comparison), second.comparison.as_deref());
    }
}
