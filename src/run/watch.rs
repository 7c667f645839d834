//! `prompteval watch`: the files each planned eval depends on, the directories to watch
//! for them, and which evals a burst of changed files affects.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::config::project::{Project, CONFIG_FILE};
use crate::plan::changed::changed_partials;
use crate::plan::Plan;
use crate::registry::Registry;

/// What the evals of one plan read from disk, as absolute paths.
#[derive(Clone, Debug, Default)]
pub struct Dependencies {
    root: PathBuf,
    /// Eval → the files it reads: the eval file, its dataset, its prompt versions and their
    /// `prompt.yaml`, and the shared tools they use.
    files: BTreeMap<String, BTreeSet<PathBuf>>,
    /// Eval → the names of the prompts it runs (a new version of one may change it).
    prompts: BTreeMap<String, BTreeSet<String>>,
    /// Eval → the texts of its prompt versions (to find the partials they include).
    texts: BTreeMap<String, Vec<String>>,
}

impl Dependencies {
    /// The files every eval of `plan` depends on.
    pub fn of(project: &Project, registry: &Registry, plan: &Plan) -> Dependencies {
        let root = project.root.clone();
        let abs = |p: &Path| root.join(p);
        let mut deps = Dependencies {
            root: root.clone(),
            ..Dependencies::default()
        };
        for eval in &plan.evals {
            let mut files = BTreeSet::from([abs(&eval.path), abs(&eval.dataset.path)]);
            let mut names = BTreeSet::new();
            let mut texts = Vec::new();
            for p in &eval.prompts {
                let version = &p.version;
                files.insert(abs(&version.path));
                if let Some(prompt) = registry.get(&version.name) {
                    files.insert(abs(&prompt.meta_path()));
                }
                for tool in &version.shared_tools {
                    if let Some(t) = registry.shared_tools().get(tool) {
                        files.insert(abs(&t.path));
                    }
                }
                names.insert(version.name.clone());
                texts.extend(std::fs::read_to_string(abs(&version.path)).ok());
            }
            for partial in included(registry, &texts) {
                files.insert(root.join("prompts").join(partial));
            }
            files.extend(eval.dependency_files().iter().map(|f| abs(f)));
            deps.files.insert(eval.name.clone(), files);
            deps.prompts.insert(eval.name.clone(), names);
            deps.texts.insert(eval.name.clone(), texts);
        }
        deps
    }

    /// What a session watches before any plan is known (the first one failed): the
    /// project's directories and `prompteval.yaml`.
    pub fn none(root: &Path) -> Dependencies {
        Dependencies {
            root: root.to_path_buf(),
            ..Dependencies::default()
        }
    }

    /// Whether a change to `path` may concern the evals: not in the store, not an editor's
    /// scratch file, not a directory (watching one opens it), and, at the project root
    /// (watched for `prompteval.yaml`), only that file or one the evals read.
    pub fn concerns(&self, path: &Path) -> bool {
        if !relevant(&self.root, path) || path.is_dir() {
            return false;
        }
        path.parent() != Some(self.root.as_path())
            || path.file_name().is_some_and(|n| n == CONFIG_FILE)
            || self.reads(path)
    }

    /// Takes in what a later run of some of the evals found: its evals' files replace
    /// theirs, the other evals keep what their own last run found.
    pub fn merge(&mut self, newer: Dependencies) {
        self.root = newer.root;
        self.files.extend(newer.files);
        self.prompts.extend(newer.prompts);
        self.texts.extend(newer.texts);
    }

    /// The project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether an eval reads `path`.
    pub fn reads(&self, path: &Path) -> bool {
        self.files.values().any(|files| files.contains(path))
    }

    /// The plan's evals, in name order.
    pub fn evals(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Whether `eval` is one of the plan's evals.
    pub fn runs(&self, eval: &str) -> bool {
        self.files.contains_key(eval)
    }

    /// Every file the evals depend on that exists (and `prompteval.yaml`).
    pub fn files(&self) -> BTreeSet<PathBuf> {
        let mut all: BTreeSet<PathBuf> = self
            .files
            .values()
            .flatten()
            .filter(|f| f.is_file())
            .cloned()
            .collect();
        let config = self.root.join(CONFIG_FILE);
        if config.is_file() {
            all.insert(config);
        }
        all
    }

    /// The directories to watch, and whether recursively: `prompts/` and `evals/` whole
    /// (new versions, partials, tools and evals are picked up), the project root for
    /// `prompteval.yaml`, and the directory of every other file the evals read.
    pub fn watch_dirs(&self) -> BTreeMap<PathBuf, bool> {
        let mut dirs = BTreeMap::from([(self.root.clone(), false)]);
        for dir in ["prompts", "evals"] {
            dirs.insert(self.root.join(dir), true);
        }
        for file in self.files.values().flatten() {
            let Some(parent) = file.parent() else {
                continue;
            };
            let covered = dirs
                .iter()
                .any(|(d, rec)| parent == d || (*rec && parent.starts_with(d)));
            if !covered {
                dirs.insert(parent.to_path_buf(), false);
            }
        }
        dirs.retain(|d, _| d.is_dir());
        dirs
    }

    /// The evals a change to `changed` affects, in name order, with the new eval files
    /// under `evals/` (by stem). `prompteval.yaml` affects every eval; a partial affects
    /// the evals whose versions include it (at any depth); a file in a prompt's directory
    /// (a new version, its `prompt.yaml`) the evals that run that prompt.
    pub fn affected(&self, registry: &Registry, changed: &[PathBuf]) -> BTreeSet<String> {
        let rel: BTreeSet<String> = changed
            .iter()
            .filter_map(|p| p.strip_prefix(&self.root).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        if rel.contains(CONFIG_FILE) {
            return self.files.keys().cloned().collect();
        }
        let partials = changed_partials(registry, &rel);
        let dirs: BTreeSet<&str> = rel
            .iter()
            .filter_map(|r| r.strip_prefix("prompts/"))
            .filter_map(|r| r.split_once('/').map(|(d, _)| d))
            .collect();
        let mut affected = BTreeSet::new();
        for (eval, files) in &self.files {
            let touched = changed.iter().any(|c| files.contains(c))
                || self.prompts[eval].iter().any(|p| dirs.contains(p.as_str()))
                || self.texts[eval]
                    .iter()
                    .any(|t| partials.iter().any(|p| t.contains(p.as_str())));
            if touched {
                affected.insert(eval.clone());
            }
        }
        for r in &rel {
            let Some(file) = r.strip_prefix("evals/") else {
                continue;
            };
            let stem = Path::new(file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned());
            let is_yaml = file.ends_with(".yaml") || file.ends_with(".yml");
            if let (true, Some(stem)) = (is_yaml, stem) {
                if !self.files.contains_key(&stem) && self.root.join(r).is_file() {
                    affected.insert(stem);
                }
            }
        }
        affected
    }
}

/// The run each eval last finished in during a watch session: the baseline of its next
/// re-run (the previous iteration is the baseline, eval by eval, since an iteration re-runs
/// only the evals a change affects).
#[derive(Clone, Debug, Default)]
pub struct Baselines {
    /// Eval → (iteration, run id).
    last: BTreeMap<String, (usize, String)>,
    iterations: usize,
}

impl Baselines {
    /// Records that `run_id` finished `evals`.
    pub fn finished<'a>(&mut self, evals: impl IntoIterator<Item = &'a str>, run_id: &str) {
        self.iterations += 1;
        for eval in evals {
            let entry = (self.iterations, run_id.to_string());
            self.last.insert(eval.to_string(), entry);
        }
    }

    /// The run to compare a re-run of `evals` (`None`: every eval seen so far) with: the
    /// run that last finished the most of them, the newest on a tie; `None` before any.
    pub fn for_evals(&self, evals: Option<&BTreeSet<String>>) -> Option<&str> {
        let mut counts: BTreeMap<&(usize, String), usize> = BTreeMap::new();
        for (eval, last) in &self.last {
            if evals.is_none_or(|e| e.contains(eval)) {
                *counts.entry(last).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|((iteration, _), n)| (*n, *iteration))
            .map(|((_, run), _)| run.as_str())
    }
}

/// The partials `texts` include, at any depth (`_partials/x.jinja`).
fn included<'r>(registry: &'r Registry, texts: &[String]) -> BTreeSet<&'r str> {
    let mut found: BTreeSet<&str> = BTreeSet::new();
    let mut sources: Vec<&str> = texts.iter().map(String::as_str).collect();
    while let Some(text) = sources.pop() {
        for (name, source) in registry.partials() {
            if text.contains(name.as_str()) && found.insert(name) {
                sources.push(source);
            }
        }
    }
    found
}

/// Whether a changed path is worth a look: not the store, not an editor's swap or backup
/// file.
pub fn relevant(root: &Path, path: &Path) -> bool {
    if path.starts_with(root.join(".prompteval")) || path.starts_with(root.join(".git")) {
        return false;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    !(name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || name == "4913")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{plan, Selection};

    /// Two evals: `greet` runs greet@1 (which includes a partial that includes another),
    /// `other` runs other@1 on its own dataset.
    fn project(dir: &Path) -> (Project, Registry, Dependencies) {
        let write = |path: &str, text: &str| crate::test_files::write(dir, path, text);
        write("prompteval.yaml", "providers:\n  echo: {kind: echo}\n");
        write(
            "prompts/_partials/outer.jinja",
            "{% include '_partials/inner.jinja' %}",
        );
        write("prompts/_partials/inner.jinja", "be kind");
        write(
            "prompts/greet/v1.jinja",
            "{% include '_partials/outer.jinja' %} {{ name }}\n",
        );
        write("prompts/other/v1.jinja", "{{ name }}\n");
        write("datasets/a.csv", "id,name\na,Ada\n");
        write("data/b.csv", "id,name\nb,Bob\n");
        let eval = |prompt: &str, data: &str| {
            format!("prompts: [{prompt}@1]\nmodels: [echo]\ndataset: {data}\nassert:\n  - type: contains\n    value: a\n")
        };
        write("evals/greet.yaml", &eval("greet", "datasets/a.csv"));
        write("evals/other.yaml", &eval("other", "data/b.csv"));
        let project = Project::discover(dir).unwrap().0;
        let registry = Registry::load(&project.root).unwrap().0;
        let (plan, _) = plan(&project, &registry, &Selection::default()).unwrap();
        let deps = Dependencies::of(&project, &registry, &plan);
        (project, registry, deps)
    }

    fn affected(
        deps: &Dependencies,
        registry: &Registry,
        root: &Path,
        files: &[&str],
    ) -> Vec<String> {
        let changed: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
        deps.affected(registry, &changed).into_iter().collect()
    }

    #[test]
    fn a_change_affects_the_evals_that_use_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (project, registry, deps) = project(dir.path());
        let root = &project.root;
        let hit = |files: &[&str]| affected(&deps, &registry, root, files);
        assert_eq!(hit(&["prompts/greet/v1.jinja"]), ["greet"]);
        assert_eq!(hit(&["data/b.csv"]), ["other"]);
        // A partial included at any depth, and a new version of a prompt an eval runs.
        assert_eq!(hit(&["prompts/_partials/inner.jinja"]), ["greet"]);
        assert_eq!(hit(&["prompts/other/v2.jinja"]), ["other"]);
        assert_eq!(hit(&["prompteval.yaml"]), ["greet", "other"]);
        assert!(hit(&["README.md"]).is_empty());
        // A new eval file is picked up by its stem.
        std::fs::write(root.join("evals/third.yaml"), "x: 1\n").unwrap();
        assert_eq!(hit(&["evals/third.yaml"]), ["third"]);
        // Every file is watched: the dataset outside datasets/ through its directory.
        assert_eq!(deps.files().len(), 9);
        let dirs = deps.watch_dirs();
        assert_eq!(dirs.get(&root.join("data")), Some(&false));
        assert_eq!(dirs.get(&root.join("prompts")), Some(&true));
        assert!(!relevant(root, &root.join(".prompteval/runs/x/run.json")));
        assert!(!relevant(root, &root.join("prompts/greet/.v1.jinja.swp")));
    }

    #[test]
    fn only_files_that_may_matter_concern_the_evals() {
        let dir = tempfile::tempdir().unwrap();
        let (project, _, deps) = project(dir.path());
        let root = &project.root;
        assert!(deps.concerns(&root.join("prompteval.yaml")));
        assert!(deps.concerns(&root.join("prompts/greet/v2.jinja")));
        // The root is watched for prompteval.yaml: other files there (a report written
        // with -o, a log) are not the evals' business; nor is a directory.
        assert!(!deps.concerns(&root.join("report.md")));
        assert!(!deps.concerns(&root.join("prompts")));
        let none = Dependencies::none(root);
        assert!(none.concerns(&root.join("prompteval.yaml")));
        assert!(!none.concerns(&root.join("notes.txt")));
    }

    #[test]
    fn a_partial_rerun_keeps_the_other_evals_files() {
        let dir = tempfile::tempdir().unwrap();
        let (project, registry, mut deps) = project(dir.path());
        let selection = Selection {
            evals: vec!["other".into()],
            ..Selection::default()
        };
        let (plan, _) = plan(&project, &registry, &selection).unwrap();
        deps.merge(Dependencies::of(&project, &registry, &plan));
        let hit = affected(&deps, &registry, &project.root, &["datasets/a.csv"]);
        assert_eq!(hit, ["greet"]);
    }

    #[test]
    fn an_external_scorer_script_is_a_dependency() {
        let dir = tempfile::tempdir().unwrap();
        let (project, _, _) = project(dir.path());
        let root = &project.root;
        std::fs::create_dir_all(root.join("scorers")).unwrap();
        std::fs::write(root.join("scorers/s.py"), "").unwrap();
        let eval = "prompts: [other@1]\nmodels: [echo]\ndataset: data/b.csv\nassert:\n  - type: external\n    script: scorers/s.py\n";
        std::fs::write(root.join("evals/other.yaml"), eval).unwrap();
        let registry = Registry::load(root).unwrap().0;
        let (plan, _) = plan(&project, &registry, &Selection::default()).unwrap();
        let deps = Dependencies::of(&project, &registry, &plan);
        assert_eq!(
            affected(&deps, &registry, root, &["scorers/s.py"]),
            ["other"]
        );
    }

    #[test]
    fn each_eval_is_compared_with_the_run_that_last_finished_it() {
        let mut b = Baselines::default();
        assert_eq!(b.for_evals(None), None);
        b.finished(["greet", "other"], "r1");
        b.finished(["other"], "r2");
        let set = |e: &[&str]| e.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(b.for_evals(Some(&set(&["greet"]))), Some("r1"));
        assert_eq!(b.for_evals(Some(&set(&["other"]))), Some("r2"));
        // One of each: the newer run on a tie.
        assert_eq!(b.for_evals(Some(&set(&["greet", "other"]))), Some("r2"));
        b.finished(["third"], "r3");
        b.finished(["greet"], "r4");
        // greet last in r4, other in r2, third in r3: a tie of three, the newest wins.
        assert_eq!(b.for_evals(None), Some("r4"));
        assert_eq!(b.for_evals(Some(&set(&["new"]))), None);
    }
}
