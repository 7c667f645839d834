//! Command-line arguments: clap types as close to the flags as possible. Commands turn
//! them into library settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Prompt-template registry and evaluation harness.
#[derive(Debug, Parser)]
#[command(name = "prompteval", version, about, propagate_version = true)]
#[command(
    after_help = "Examples:\n  prompteval run                     run every eval in evals/\n  prompteval run sentiment -o report.md\n  prompteval prompt diff sentiment@1 sentiment@2\n\nExit codes: 0 every gate held, 1 a quality gate failed, 2 invalid input or configuration (nothing was sent to a model), 3 the run could not finish."
)]
pub struct Cli {
    /// Run as if started in DIR (the project root or below it).
    #[arg(short = 'C', long = "project", global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub project: Option<PathBuf>,
    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = GLOBAL)]
    pub color: ColorChoice,
    /// Print only results and errors on stderr: no progress, notes or next steps.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,
    /// Print more on stderr: every retry of a request as it happens.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// When to use colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How `run` shows progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressChoice {
    /// A bar on a terminal, plain lines under CI, else nothing.
    Auto,
    /// A bar redrawn in place.
    Bar,
    /// One line every few seconds.
    Plain,
    /// Nothing.
    Off,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render prompts over datasets, call the models, score and compare.
    #[command(
        after_help = "Examples:\n  prompteval run\n  prompteval run sentiment --prompt sentiment@3 --limit 10\n  prompteval run --model gpt-mini -j 8 -o results.json -o report.md\n  prompteval run --fail-under 0.9            # CI: fail below 90% pass rate\n  prompteval run --changed-since origin/main --baseline git:origin/main --significance 0.05"
    )]
    Run(Box<RunArgs>),
    /// Score a stored run's outputs again with the evals' current assertions (no model is
    /// called; judges call their grader, through the cache).
    #[command(
        after_help = "Examples:\n  prompteval rescore latest                  # I changed an assertion: what would it say?\n  prompteval rescore 20261127-031502 sentiment --no-judges"
    )]
    Rescore(RescoreArgs),
    /// Run the selected evals, then re-run those affected each time a file they use changes.
    #[command(
        after_help = "Example:\n  prompteval watch sentiment      # edit a prompt, see what got better and what broke"
    )]
    Watch(WatchArgs),
    /// Check prompts, datasets, evals and providers without calling a model.
    #[command(after_help = "Example:\n  prompteval validate && echo ok")]
    Validate(SelectArgs),
    /// Work with the prompt registry.
    #[command(
        subcommand,
        after_help = "Example:\n  prompteval prompt new sentiment -m \"few-shot\" && prompteval prompt diff sentiment@1 sentiment@2"
    )]
    Prompt(PromptCommand),
    /// Look at stored runs.
    #[command(subcommand, after_help = "Example:\n  prompteval runs show latest")]
    Runs(RunsCommand),
    /// Compare models: quality, latency, tokens, cost and the Pareto fronts of a run.
    #[command(
        after_help = "Examples:\n  prompteval report latest\n  prompteval report latest --html report.html   # one self-contained file"
    )]
    Report(ReportArgs),
    /// Inspect or clear the response cache.
    #[command(subcommand, after_help = "Example:\n  prompteval cache stats")]
    Cache(CacheCommand),
    /// Create a working example project.
    #[command(
        after_help = "Example:\n  prompteval init my-prompts && cd my-prompts && prompteval run"
    )]
    Init {
        /// Where to create it (default: the current directory).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  prompteval completions bash > ~/.local/share/bash-completion/completions/prompteval"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Which evals, prompts, models and cases.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Eval names (file stems in evals/) or paths; default: all.
    #[arg(value_name = "EVAL")]
    pub evals: Vec<String>,
    /// Run these prompt versions instead of the eval's versions of the same prompt.
    #[arg(long = "prompt", value_name = "REF")]
    pub prompts: Vec<String>,
    /// Run on these models instead of the eval's.
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// Only cases whose id matches this regular expression.
    #[arg(long, value_name = "PATTERN")]
    pub case: Option<String>,
    /// Only the first N cases of each dataset.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Run every case N times (overrides the evals' `repeat`): flaky cases and pass@k.
    #[arg(long, value_name = "N")]
    pub repeat: Option<u32>,
}

/// `prompteval run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Cells in flight at once (each provider also keeps its own limit).
    #[arg(short = 'j', long = "jobs", env = "PROMPTEVAL_JOBS", value_name = "N")]
    pub jobs: Option<usize>,
    // The help lists the formats of the report registry.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        help = crate::report::output_help("Write a report")
    )]
    pub outputs: Vec<PathBuf>,
    /// Fail the gate when any prompt × model passes fewer than RATE of its cases (0..1).
    #[arg(long, visible_alias = "min-pass-rate", value_name = "RATE")]
    pub fail_under: Option<f64>,
    /// Compare with a baseline run: a run id, `latest`, a run record file (.json), or
    /// `git:REV` (the newest stored run made at REV or an ancestor of it).
    #[arg(long, value_name = "REF")]
    pub baseline: Option<String>,
    /// With --baseline: fail when a pass rate drops by more than RATE (absolute, 0..1) on
    /// the paired cases. Replaces the eval's `gate.max_regression`.
    #[arg(long, value_name = "RATE", requires = "baseline")]
    pub max_regression: Option<f64>,
    /// With --baseline: fail only on a regression significant at level ALPHA (exact McNemar
    /// test). Replaces the eval's `gate.significance`.
    #[arg(long, value_name = "ALPHA", requires = "baseline")]
    pub significance: Option<f64>,
    /// Run only the evals whose prompts, partials, datasets, eval file or provider settings
    /// changed since the git revision REV.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,
    /// Rows shown in the case matrix (failures first).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_rows: usize,
    /// Print only the summary tables, not the case matrix.
    #[arg(long = "summary-only", visible_alias = "no-matrix", alias = "no-table")]
    pub no_matrix: bool,
    /// How to show progress on stderr: `auto` (a bar on a terminal, a line every few
    /// seconds when `CI` is set), `bar`, `plain` or `off`.
    #[arg(long, value_enum, default_value_t = ProgressChoice::Auto, value_name = "HOW")]
    pub progress: ProgressChoice,
    /// No progress (same as `--progress off`).
    #[arg(long)]
    pub no_progress: bool,
    /// Don't read or write the response cache.
    #[arg(long, conflicts_with = "offline")]
    pub no_cache: bool,
    /// Serve every response from the cache; a miss fails the cell without calling a model.
    #[arg(long)]
    pub offline: bool,
    /// Serve cached responses younger than this (`7d`, `12h`, `never`); overrides `cache.ttl`.
    #[arg(long, value_name = "DURATION")]
    pub cache_ttl: Option<String>,
    /// Complete an unfinished run (default: the newest unfinished one): only its missing cells run.
    #[arg(
        long,
        value_name = "RUN_ID",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with_all = ["evals", "prompts", "models", "case", "limit", "repeat"]
    )]
    pub resume: Option<String>,
    /// Run the ERROR cells of a stored run again (default: the newest run), in that run:
    /// its other cells are kept, its summary and verdict recomputed.
    #[arg(
        long,
        value_name = "RUN_ID",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with_all = ["resume", "evals", "prompts", "models", "case", "limit", "repeat", "shard", "changed_since"]
    )]
    pub retry_errors: Option<String>,
    /// Run only shard K of N (`2/4`): a stable slice of the cells, the same on every machine.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    #[command(flatten)]
    pub mlflow: MlflowArgs,
    /// Keep running: re-run the evals a change affects each time a file they use changes,
    /// each run compared with the previous one (`prompteval watch` with these flags).
    #[arg(
        long,
        conflicts_with_all = ["resume", "retry_errors", "changed_since", "uri"]
    )]
    pub watch: bool,
    #[command(flatten)]
    pub tuning: WatchTuning,
}

/// `prompteval rescore`.
#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// The run whose outputs are scored again: an id, a unique prefix, or `latest`.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Eval names among the run's; default: all of them.
    #[arg(value_name = "EVAL")]
    pub evals: Vec<String>,
    /// Leave out the assertions a judge model grades (nothing is called at all).
    #[arg(long)]
    pub no_judges: bool,
    /// Don't compare the new run with the source run.
    #[arg(long)]
    pub no_compare: bool,
    /// Cells in flight at once (judges call out).
    #[arg(short = 'j', long = "jobs", env = "PROMPTEVAL_JOBS", value_name = "N")]
    pub jobs: Option<usize>,
    // The help lists the formats of the report registry.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        help = crate::report::output_help("Write a report")
    )]
    pub outputs: Vec<PathBuf>,
    /// Fail the gate when any prompt × model passes fewer than RATE of its cases (0..1).
    #[arg(long, visible_alias = "min-pass-rate", value_name = "RATE")]
    pub fail_under: Option<f64>,
    /// Fail when a pass rate drops by more than RATE (0..1) against the source run.
    #[arg(long, value_name = "RATE", conflicts_with = "no_compare")]
    pub max_regression: Option<f64>,
    /// Rows shown in the case matrix (failures first).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_rows: usize,
    /// Don't print the case matrix.
    #[arg(long)]
    pub no_matrix: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Don't read or write the response cache (judges).
    #[arg(long, conflicts_with = "offline")]
    pub no_cache: bool,
    /// Serve every judge's response from the cache; a miss fails the assertion.
    #[arg(long)]
    pub offline: bool,
}

/// `prompteval watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Cells in flight at once (each provider also keeps its own limit).
    #[arg(short = 'j', long = "jobs", env = "PROMPTEVAL_JOBS", value_name = "N")]
    pub jobs: Option<usize>,
    /// Rows shown in the case matrix (failures first).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_rows: usize,
    /// Print only the summary tables, not the case matrix.
    #[arg(long = "summary-only", visible_alias = "no-matrix")]
    pub no_matrix: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub tuning: WatchTuning,
}

/// How a watch session waits (hidden: for tests and benchmarks).
#[derive(Debug, Args, Clone, Default)]
pub struct WatchTuning {
    /// Stop after N iterations (tests).
    #[arg(long, hide = true, value_name = "N")]
    pub max_iterations: Option<usize>,
    /// A change is acted on once no other change came for this many milliseconds (an
    /// editor's save is several writes within a few milliseconds).
    #[arg(long, hide = true, default_value_t = 50, value_name = "MS")]
    pub debounce_ms: u64,
}

/// Where to log to MLflow.
#[derive(Debug, Args, Clone, Default)]
pub struct MlflowArgs {
    /// Log to this MLflow tracking server (else MLFLOW_TRACKING_URI, else `tracking.mlflow`).
    #[arg(long = "mlflow", value_name = "URI")]
    pub uri: Option<String>,
    /// Don't log to MLflow even if MLFLOW_TRACKING_URI or `tracking.mlflow` is set.
    #[arg(long = "no-mlflow", conflicts_with = "uri")]
    pub disabled: bool,
    /// One MLflow experiment for every eval (default: one per eval, named after it).
    #[arg(long = "mlflow-experiment", value_name = "NAME")]
    pub experiment: Option<String>,
}

/// `prompteval cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Entries, size, age and how many are expired.
    #[command(after_help = "Example:\n  prompteval cache stats")]
    Stats,
    /// Remove entries: all, the expired ones, or those older than a duration.
    #[command(
        after_help = "Examples:\n  prompteval cache clear\n  prompteval cache clear --older-than 30d"
    )]
    Clear {
        /// Only entries created longer ago than this (`30d`, `12h`).
        #[arg(long, value_name = "DURATION", conflicts_with = "expired")]
        older_than: Option<String>,
        /// Only entries past the cache's TTL.
        #[arg(long)]
        expired: bool,
    },
}

/// `prompteval report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run id, a unique prefix, or `latest`.
    #[arg(default_value = "latest", value_name = "RUN")]
    pub run: String,
    /// Also write the report as one self-contained HTML file (no network needed).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Most cases embedded in the HTML file for the drill-down (failures first).
    #[arg(
        long = "max-rows",
        alias = "max-cases",
        default_value_t = 5000,
        value_name = "N"
    )]
    pub max_cases: usize,
}

/// `prompteval prompt …`.
#[derive(Debug, Subcommand)]
pub enum PromptCommand {
    /// List prompts, versions, aliases and lock state.
    #[command(after_help = "Example:\n  prompteval prompt list")]
    List,
    /// Show one version.
    #[command(after_help = "Example:\n  prompteval prompt show sentiment@production")]
    Show {
        /// The prompt reference (`name`, `name@3`, `name@alias`).
        reference: String,
    },
    /// Unified diff of two versions' templates and params.
    #[command(after_help = "Example:\n  prompteval prompt diff sentiment@1 sentiment@2")]
    Diff {
        /// The old version.
        old: String,
        /// The new version.
        new: String,
    },
    /// Create the next version of a prompt (or a new prompt).
    #[command(after_help = "Example:\n  prompteval prompt new sentiment -m \"few-shot examples\"")]
    New {
        /// The prompt's name.
        name: String,
        /// Why this version exists.
        #[arg(short = 'm', long = "message", value_name = "NOTE")]
        note: Option<String>,
        /// Copy this version (`2`, `NAME@2`, `NAME@production`) instead of the latest.
        #[arg(long = "from", value_name = "REF")]
        from: Option<String>,
    },
    /// Point an alias at a version.
    #[command(after_help = "Example:\n  prompteval prompt alias sentiment production 2")]
    Alias {
        /// The prompt's name.
        name: String,
        /// The alias.
        alias: String,
        /// The version: `3`, `v3` or `NAME@3` (or `NAME@ALIAS`).
        #[arg(value_name = "VERSION")]
        target: String,
    },
    /// Render a version with variables.
    #[command(
        after_help = "Example:\n  prompteval prompt render sentiment@2 --var review='Great phone'"
    )]
    Render {
        /// The prompt reference.
        reference: String,
        /// A variable, `key=value` (repeatable); values are strings.
        #[arg(long = "var", value_name = "KEY=VALUE")]
        vars: Vec<String>,
    },
    /// Record the hashes of all versions not yet locked in prompts.lock.
    #[command(after_help = "Example:\n  prompteval prompt lock && git add prompts.lock")]
    Lock,
    /// Fail if a locked version changed.
    #[command(after_help = "Example (CI):\n  prompteval prompt check")]
    Check,
    /// Register prompt versions and aliases in the MLflow prompt registry.
    #[command(
        after_help = "Example:\n  prompteval prompt push sentiment --mlflow http://127.0.0.1:5000"
    )]
    Push {
        /// Prompt names (default: every prompt).
        names: Vec<String>,
        /// The MLflow tracking server (else MLFLOW_TRACKING_URI, else `tracking.mlflow`).
        #[arg(long = "mlflow", value_name = "URI")]
        mlflow: Option<String>,
    },
    /// Bring a prompt's versions and aliases from the MLflow prompt registry into prompts/.
    #[command(
        after_help = "Example:\n  prompteval prompt pull sentiment --mlflow http://127.0.0.1:5000"
    )]
    Pull {
        /// The prompt's name in MLflow.
        name: String,
        /// The MLflow tracking server (else MLFLOW_TRACKING_URI, else `tracking.mlflow`).
        #[arg(long = "mlflow", value_name = "URI")]
        mlflow: Option<String>,
    },
}

/// `prompteval runs …`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List stored runs, newest first.
    #[command(after_help = "Example:\n  prompteval runs list --limit 5")]
    List {
        /// At most N runs.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: usize,
        #[command(flatten)]
        filter: RunFilterArgs,
    },
    /// Show a stored run's tables, or with --case its cells in full.
    #[command(
        after_help = "Examples:\n  prompteval runs show latest --all\n  prompteval runs show latest --case '^c$' --prompt greet@2   # the cell in full"
    )]
    Show {
        /// The run id, a unique prefix, or `latest`.
        id: String,
        /// Show the cells whose case id matches this regular expression in full: rendered
        /// prompt, output, tool calls, every assertion's reason, tokens, timings, cost, error.
        #[arg(long, value_name = "PATTERN")]
        case: Option<String>,
        /// With --case: only cells of this prompt (`name`, `name@3`, `name@alias`).
        #[arg(long, value_name = "REF", requires = "case")]
        prompt: Option<String>,
        /// With --case: only cells of this model.
        #[arg(long, value_name = "NAME", requires = "case")]
        model: Option<String>,
        /// Show every case in the matrix.
        #[arg(long)]
        all: bool,
        /// Print only the summary tables, not the case matrix.
        #[arg(
            long = "summary-only",
            visible_alias = "no-matrix",
            conflicts_with = "all"
        )]
        summary_only: bool,
        /// Rows shown in the case matrix.
        #[arg(long, default_value_t = 20, value_name = "N")]
        max_rows: usize,
        // The help lists the formats of the report registry.
        #[arg(
            short = 'o',
            long = "output",
            value_name = "FILE",
            help = crate::report::output_help("Also write a report")
        )]
        outputs: Vec<PathBuf>,
    },
    /// What changed cell by cell between two runs: regressions and fixes first.
    #[command(after_help = "Example:\n  prompteval runs diff 20260101-120000-a1b2 latest")]
    Diff {
        /// The older run: a run id, a unique prefix, `latest`, or a run record file.
        a: String,
        /// The newer run.
        b: String,
        /// Changed cells shown in full.
        #[arg(
            long = "max-rows",
            alias = "max-cells",
            default_value_t = 50,
            value_name = "N"
        )]
        max_cells: usize,
        /// Also list unchanged cells, and cells that fail the same way in both runs.
        #[arg(long)]
        all: bool,
    },
    /// Delete stored runs.
    #[command(after_help = "Example:\n  prompteval runs rm 20261127-031502-a1b2")]
    Rm {
        /// Run ids, unique prefixes, or `latest`.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Delete all but the newest N stored runs.
    #[command(after_help = "Example:\n  prompteval runs gc --keep 50")]
    Gc {
        /// How many of the newest runs to keep.
        #[arg(long, value_name = "N")]
        keep: usize,
    },
    /// Merge the runs of every shard (`run --shard K/N`) into one run with one summary.
    #[command(after_help = "Example:\n  prompteval runs merge RUN_1 RUN_2 RUN_3")]
    Merge {
        /// The shard runs' ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Log a stored run to MLflow (once: a run already logged there is skipped).
    #[command(
        after_help = "Example:\n  prompteval runs push latest --mlflow http://127.0.0.1:5000"
    )]
    Push {
        /// The run id, a unique prefix, or `latest`.
        id: String,
        /// The MLflow tracking server (else MLFLOW_TRACKING_URI, else `tracking.mlflow`).
        #[arg(long = "mlflow", value_name = "URI")]
        uri: Option<String>,
        /// One MLflow experiment for every eval (default: one per eval, named after it).
        #[arg(long = "mlflow-experiment", value_name = "NAME")]
        experiment: Option<String>,
    },
}

/// Filters of `runs list`.
#[derive(Debug, Args, Clone, Default)]
pub struct RunFilterArgs {
    /// Only runs of this eval.
    #[arg(long, value_name = "NAME")]
    pub eval: Option<String>,
    /// Only runs of this prompt (`name` for any version, `name@N` for one).
    #[arg(long, value_name = "REF")]
    pub prompt: Option<String>,
    /// Only runs on this model.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Only runs started since this time: a date (`2026-11-01`), an RFC 3339 time, or an
    /// age (`3d`, `12h`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        fn walk(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(help.contains("Example"), "`{path} --help` has no example");
            for sub in cmd.get_subcommands() {
                walk(sub, &path);
            }
        }
        walk(&super::Cli::command(), "");
    }
}
